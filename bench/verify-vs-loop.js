#!/usr/bin/env node
/**
 * `dbtune verify` on 1,000 declared indexes (10 on each of 100 tables)
 * against the loop people hand-write: one catalog query per index
 * (lib/naive-verify-loop.js). Targets (ratios of medians): loop / dbtune
 * ≥ 20× with `--rtt-ms 10`, ≥ 2× on loopback; verify of all the indexes ≤ 1.5×
 * verify of the first 2 tables' (12 plain); dbtune sending a constant number
 * of statements — one catalog read and its connection-time query, plus the
 * batched shadow build (BEGIN, CREATE FUNCTION, one call, one catalog read,
 * ROLLBACK) when a declaration needs PostgreSQL's normaliser or differs.
 *
 * Three measurements, each interleaved A B / B A with the order alternating
 * every round, after one warm-up round (the scale pair is spawned too):
 *
 *   spawned     both arms as whole processes, spawn to exit (process start,
 *               module loading and connecting included): what a CI step costs.
 *   in-process  dbtune's loadIndexSets + connect + inspectIndexes + verifyIndex
 *               from dist/, against the same loop function, in this process:
 *               no process start, no config lookup, no report rendering.
 *
 * Both arms connect with sslmode=disable (the embedded server has no TLS),
 * so each opens one connection.
 *
 * On loopback a round trip costs well under a millisecond, which flatters
 * the loop; `--rtt-ms N` routes both arms through a proxy that adds N ms to
 * each round trip (lib/latency-proxy.js), as a database across a network would.
 *
 * Statements are counted twice: by pg_stat_statements (server side, the
 * bench database only, one dbtune run; the bench's own queries go to the
 * `postgres` database) and by wrapping dbtune's SqlSession in-process, which
 * also gives each statement's time.
 *
 * Only ratios from one run are comparable: the machine is shared and noisy.
 *
 *   npm run build && node bench/verify-vs-loop.js [--rounds 7] [--in-process-rounds 3] [--tables 100] [--rtt-ms 0] [--shapes mixed|plain]
 *   (or BENCH_ROUNDS, BENCH_IN_PROCESS_ROUNDS (0 skips), BENCH_TABLES (10 indexes each; 6 with --shapes plain), BENCH_RTT_MS, BENCH_SHAPES)
 *   --shapes plain keeps only plain-column indexes, which verify compares from the catalog without a shadow build.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startLatencyProxy } from './lib/latency-proxy.js';
import { intOption } from './lib/options.js';
import { checkOneByOne, PER_INDEX_QUERY, runLoop } from './lib/naive-verify-loop.js';
import { assertExitedOk, runTimed } from './lib/run-timed.js';
import { formatMs, formatRatio, median } from './lib/stats.js';
import { formatTable } from './lib/table.js';

/** loop / dbtune: at least this through a proxy adding round-trip time (issue 13 states it for 10 ms), and on loopback. */
const TARGET_RATIO_RTT = 20;
const TARGET_RATIO_LOOPBACK = 2;
/** verify of the whole set / verify of the first SMALL_TABLES tables' indexes (12 plain, 20 mixed): at most this. */
const SCALE_TARGET = 1.5;
const SMALL_TABLES = 2;
const WARMUP_ROUNDS = 1;
const DATABASE = 'dbtune_bench';
const ROWS_PER_TABLE = 300;

const cli = fileURLToPath(new URL('../bin/dbtune.js', import.meta.url));
const loopScript = fileURLToPath(new URL('./lib/naive-verify-loop.js', import.meta.url));

/**
 * The ten index shapes every table gets: multi-column with DESC, expression,
 * partial, INCLUDE, and mixes. Each is written twice: as index-set YAML
 * (flow-mapping fields) and as the SQL that builds the real index.
 */
const SHAPES = [
  { yaml: 'columns: [user_id, created_at desc]', sql: '(user_id, created_at DESC)' },
  { yaml: `columns: [{ expression: lower(handle) }], where: "status <> 'closed'"`, sql: `(lower(handle)) WHERE status <> 'closed'` },
  { yaml: 'columns: [user_id], include: [status]', sql: '(user_id) INCLUDE (status)' },
  { yaml: 'columns: [status, created_at]', sql: '(status, created_at)' },
  { yaml: `columns: [created_at desc], where: "status <> 'closed'"`, sql: `(created_at DESC) WHERE status <> 'closed'` },
  { yaml: 'columns: [{ expression: lower(handle) }, user_id]', sql: '(lower(handle), user_id)' },
  { yaml: 'columns: [user_id, status], include: [handle]', sql: '(user_id, status) INCLUDE (handle)' },
  { yaml: 'columns: [id]', sql: '(id)' },
  { yaml: `columns: [handle desc], include: [created_at], where: "user_id > 100"`, sql: '(handle DESC) INCLUDE (created_at) WHERE user_id > 100' },
  { yaml: 'columns: [user_id desc, id], include: [created_at]', sql: '(user_id DESC, id) INCLUDE (created_at)' },
];

/** `--shapes plain`: only plain columns (order, INCLUDE), which verify compares from the catalog alone. */
const PLAIN = (shape) => !/expression|where/.test(shape.yaml);

function benchIndexes(tables, shapes) {
  const indexes = [];
  for (let t = 0; t < tables; t++) {
    // Names keep the shape's number: the setup builds every shape under these names.
    SHAPES.forEach((shape, k) => {
      if (shapes === 'mixed' || PLAIN(shape)) indexes.push({ name: `bench_t${t}_i${k}`, table: `bench_t${t}`, shape });
    });
  }
  return indexes;
}

function indexSetYaml(indexes) {
  const entries = indexes.map((i) => `  - { name: ${i.name}, table: ${i.table}, ${i.shape.yaml} }\n`);
  return `set: bench\ndescription: bench/verify-vs-loop.js\nindexes:\n${entries.join('')}`;
}

async function main() {
  const argv = process.argv.slice(2);
  const rounds = intOption(argv, { flag: '--rounds', env: 'BENCH_ROUNDS', fallback: 7 });
  // Fewer by default: the in-process pair is the second opinion, and the run should stay near 2 minutes.
  const inProcessRounds = intOption(argv, { flag: '--in-process-rounds', env: 'BENCH_IN_PROCESS_ROUNDS', fallback: 3, min: 0 });
  const rttMs = intOption(argv, { flag: '--rtt-ms', env: 'BENCH_RTT_MS', fallback: 0, min: 0 });
  const shapesAt = argv.indexOf('--shapes');
  const shapes = shapesAt >= 0 ? argv[shapesAt + 1] : (process.env.BENCH_SHAPES ?? 'mixed');
  if (shapes !== 'plain' && shapes !== 'mixed') {
    process.stderr.write('--shapes takes plain or mixed\n');
    return 2;
  }
  // About 1,000 indexes either way: 10 shapes per table, 6 of them plain.
  const tables = intOption(argv, { flag: '--tables', env: 'BENCH_TABLES', fallback: shapes === 'plain' ? 167 : 100 });
  if (!existsSync(new URL('../dist/db/embedded-server.js', import.meta.url))) {
    process.stderr.write('dist/ is missing: run `npm run build` first.\n');
    return 1;
  }
  const { startEmbeddedServer } = await import('../dist/db/embedded-server.js');
  const indexes = benchIndexes(tables, shapes);

  const work = await mkdtemp(path.join(tmpdir(), 'dbtune-bench-'));
  try {
    const setFile = path.join(work, 'bench.yaml');
    const smallSetFile = path.join(work, 'bench-small.yaml');
    const namesFile = path.join(work, 'names.json');
    await writeFile(setFile, indexSetYaml(indexes));
    const smallIndexes = benchIndexes(Math.min(SMALL_TABLES, tables), shapes);
    await writeFile(smallSetFile, indexSetYaml(smallIndexes));
    await writeFile(namesFile, JSON.stringify(indexes.map((i) => ['public', i.name])));
    const server = await startEmbeddedServer({ settings: { shared_preload_libraries: 'pg_stat_statements' } });
    try {
      return await compare(server, { rounds, inProcessRounds, tables, rttMs, indexes, smallIndexes, work, setFile, smallSetFile, namesFile });
    } finally {
      await server.stop();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function compare(server, { rounds, inProcessRounds, tables, rttMs, indexes, smallIndexes, work, setFile, smallSetFile, namesFile }) {
  // Ctrl-C reaches postgres too (same process group), but only stop() removes its data directory.
  const onSigint = () => void server.stop().finally(() => process.exit(130));
  process.once('SIGINT', onSigint);
  // The admin connection stays on `postgres`; every arm connects to DATABASE, so
  // pg_stat_statements rows of DATABASE are the arms' statements and nothing else.
  const admin = new pg.Client({ connectionString: server.url });
  let proxy;
  try {
    await admin.connect();
    const { rows: [facts] } = await admin.query("SELECT current_setting('server_version') AS version");
    console.log(`verify-vs-loop: PostgreSQL ${facts.version}, ${indexes.length.toLocaleString('en')} indexes on ${tables} tables ` +
      `(${ROWS_PER_TABLE} rows each), ${availableParallelism()} cores, ${rounds} rounds spawned + ${inProcessRounds} in-process ` +
      `(+${WARMUP_ROUNDS} warm-up each), node ${process.version}`);
    await admin.query(`CREATE DATABASE ${DATABASE}`);
    const direct = server.urlFor(DATABASE);
    const setupStarted = performance.now();
    await createTablesAndIndexes(direct, tables);
    console.log(`setup: ${tables} tables, ${indexes.length} indexes in ${formatMs(performance.now() - setupStarted)}`);

    let url = direct;
    if (rttMs > 0) {
      proxy = await startLatencyProxy({ host: '127.0.0.1', port: server.port, oneWayMs: rttMs / 2 });
      const proxied = new URL(direct);
      proxied.port = String(proxy.port);
      url = proxied.href;
    }
    // Both arms connect the same way: in plain text, as the loop's client does by default. Under
    // dbtune's default (sslmode=prefer) a server without TLS costs it a second connection, since
    // node-postgres cannot go on in plain text on the one the server declined, as libpq does.
    const plain = new URL(url);
    plain.searchParams.set('sslmode', 'disable');
    url = plain.href;
    console.log(`network: ${rttMs > 0 ? `both arms through a proxy adding ${rttMs} ms per round trip` : 'loopback, direct (add --rtt-ms N to simulate a network)'}`);

    const stats = await enableStatementStats(admin);
    const dist = await importDist();

    const arms = {
      spawned: [
        { label: 'dbtune verify', run: () => spawnDbtune(url, setFile, work, indexes.length) },
        { label: 'loop', run: () => spawnLoop(url, namesFile, indexes.length) },
      ],
      // The same command on a few indexes: how verify's time grows with the index count.
      scale: [
        { label: `verify ${smallIndexes.length}`, run: () => spawnDbtune(url, smallSetFile, work, smallIndexes.length) },
        { label: `verify ${indexes.length}`, run: () => spawnDbtune(url, setFile, work, indexes.length) },
      ],
      inProcess: [
        { label: 'dbtune verify', run: () => timed(() => verifyInProcess(dist, url, setFile, indexes.length)) },
        { label: 'loop', run: () => timed(() => loopInProcess(url, indexes)) },
      ],
    };
    const spawned = await interleave(arms.spawned, rounds, 'spawned');
    const scale = await interleave(arms.scale, rounds, 'scale');
    const inProcess = inProcessRounds > 0 ? await interleave(arms.inProcess, inProcessRounds, 'in-process') : undefined;

    console.log();
    console.log('spawned processes (spawn to exit: node start, module loading, connecting, the check; both arms):');
    console.log(roundsTable(arms.spawned, spawned));
    console.log();
    console.log(`scale (spawned dbtune verify, ${smallIndexes.length} indexes vs ${indexes.length}, same database):`);
    console.log(roundsTable(arms.scale, scale, arms.scale[0].label));
    if (inProcess) {
      console.log();
      console.log('in-process (no process start; dbtune = loadIndexSets + connect + inspectIndexes + verifyIndex, loop = connect + 1 query per index):');
      console.log(roundsTable(arms.inProcess, inProcess));
    }

    console.log();
    await reportStatements(admin, stats, { dist, url, setFile, namesFile, indexes });

    const scaleRatio = median(scale[1]) / median(scale[0]);
    console.log();
    console.log(`verify ${indexes.length} / verify ${smallIndexes.length} (medians), spawned: ${formatRatio(scaleRatio)} (target ≤ ${SCALE_TARGET}×) ${scaleRatio <= SCALE_TARGET ? 'OK' : 'ABOVE TARGET'}`);
    const spawnedRatio = median(spawned[1]) / median(spawned[0]);
    console.log();
    const target = rttMs > 0 ? TARGET_RATIO_RTT : TARGET_RATIO_LOOPBACK;
    console.log(`loop / dbtune (medians), spawned processes: ${formatRatio(spawnedRatio)} (target ≥ ${target}×) ${verdict(spawnedRatio, target)}`);
    if (inProcess) {
      const inProcessRatio = median(inProcess[1]) / median(inProcess[0]);
      console.log(`loop / dbtune (medians), in-process:        ${formatRatio(inProcessRatio)} (target ≥ ${target}×) ${verdict(inProcessRatio, target)}`);
    }
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    await proxy?.close();
    await admin.end().catch(() => undefined);
  }
}

function verdict(ratio, target) {
  if (ratio >= target) return 'OK';
  return ratio >= 1 ? `BELOW TARGET (dbtune faster, but not ${target}×)` : 'BELOW TARGET (the loop is faster)';
}

/**
 * Each round runs both arms once, the order alternating (A B, then B A), so
 * drift on a shared machine and cache warmth hit both alike. Returns the
 * kept samples per arm (warm-up rounds dropped).
 */
async function interleave(arms, rounds, what) {
  const samples = arms.map(() => []);
  for (let round = 0; round < WARMUP_ROUNDS + rounds; round++) {
    const order = round % 2 ? [1, 0] : [0, 1];
    for (const i of order) {
      const ms = await arms[i].run();
      if (round >= WARMUP_ROUNDS) samples[i].push(ms);
      const tag = round < WARMUP_ROUNDS ? 'warm-up' : `round ${round - WARMUP_ROUNDS + 1}`;
      process.stderr.write(`  ${what} ${tag}: ${arms[i].label} ${formatMs(ms)}\n`);
    }
  }
  return samples;
}

/** The last column is arms[1] / arms[0], headed `<arms[1]>/<baseLabel>`. */
function roundsTable(arms, samples, baseLabel = 'dbtune') {
  const rows = samples[0].map((_, r) => [
    String(r + 1),
    (r + WARMUP_ROUNDS) % 2 ? `${arms[1].label} → ${arms[0].label}` : `${arms[0].label} → ${arms[1].label}`,
    formatMs(samples[0][r]),
    formatMs(samples[1][r]),
    formatRatio(samples[1][r] / samples[0][r]),
  ]);
  const medians = samples.map(median);
  rows.push(['median', '', formatMs(medians[0]), formatMs(medians[1]), formatRatio(medians[1] / medians[0])]);
  return formatTable(['round', 'order', arms[0].label, arms[1].label, `${arms[1].label}/${baseLabel}`], rows);
}

/** Setup only (untimed): plain CREATE INDEX, one simple-protocol batch per table. */
async function createTablesAndIndexes(url, tables) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT setseed(0.42)');
    for (let t = 0; t < tables; t++) {
      const table = `bench_t${t}`;
      const statements = [
        `CREATE TABLE ${table} (id int, user_id int, created_at timestamptz, status text, handle text)`,
        `INSERT INTO ${table} SELECT g, (random() * 1000)::int, now() - random() * interval '365 days',
           (ARRAY['open','pending','closed'])[1 + g % 3], 'User' || (random() * 100000)::int
         FROM generate_series(1, ${ROWS_PER_TABLE}) g`,
        ...SHAPES.map((shape, k) => `CREATE INDEX bench_t${t}_i${k} ON ${table} ${shape.sql}`),
      ];
      await client.query(statements.join(';\n'));
    }
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}

/** pg_stat_statements if the library loaded; else `{ unavailable: why }` and the in-process count stands alone. */
async function enableStatementStats(admin) {
  try {
    await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await admin.query('SELECT pg_stat_statements_reset()');
    return { available: true };
  } catch (error) {
    return { available: false, why: error.message };
  }
}

/** The statements the arms' database saw since the last reset (the admin connection's go to `postgres`). */
async function statementsSinceReset(admin) {
  const { rows } = await admin.query(
    `SELECT s.calls::int AS calls, s.query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
     WHERE d.datname = $1 ORDER BY s.calls DESC, s.query`,
    [DATABASE],
  );
  return rows;
}

async function importDist() {
  const [{ loadIndexSets }, { inspectIndexes }, { verifyIndex }, { connect }, { resolveConnectionOptions }] = await Promise.all([
    import('../dist/config/load-index-sets.js'),
    import('../dist/indexing/inspect.js'),
    import('../dist/indexing/verify.js'),
    import('../dist/db/client.js'),
    import('../dist/db/connection-options.js'),
  ]);
  return { loadIndexSets, inspectIndexes, verifyIndex, connect, resolveConnectionOptions };
}

async function spawnDbtune(url, setFile, cwd, expected) {
  // cwd = the bench's temp dir, so no dbtune.yaml of the checkout changes the defaults.
  const result = await runTimed(process.execPath, [cli, 'verify', setFile, '--database-url', url, '--format', 'json'], { cwd, captureStdout: true });
  assertExitedOk('dbtune verify', result);
  assertAllOk('dbtune verify', JSON.parse(result.stdout).indexes, expected);
  return result.ms;
}

async function spawnLoop(url, namesFile, expected) {
  const result = await runTimed(process.execPath, [loopScript, url, namesFile], { captureStdout: true });
  assertExitedOk('loop', result);
  assertLoopOk(JSON.parse(result.stdout), expected);
  return result.ms;
}

/** What `dbtune verify` does between parsing its flags and rendering its report (src/commands/verify.ts). */
/** `phases`, if given, receives the milliseconds of each step. */
async function verifyInProcess(dist, url, setFile, expected, wrapSession = (s) => s, phases = {}) {
  let mark = performance.now();
  const lap = (name) => {
    const now = performance.now();
    phases[name] = now - mark;
    mark = now;
  };
  const sets = await dist.loadIndexSets([setFile]);
  lap('read the index set (YAML, validation)');
  const session = await dist.connect(dist.resolveConnectionOptions({ databaseUrl: url, env: {} }), { applicationName: 'dbtune verify (bench)' });
  lap('connect');
  try {
    const inspection = await dist.inspectIndexes(wrapSession(session), sets.flatMap((s) => s.indexes), { tableIndexes: false, compareOnly: true });
    lap('inspect (statements, comparing)');
    const verified = inspection.indexes.map(({ declaration, state }) => dist.verifyIndex(declaration, state));
    assertAllOk('dbtune verify (in-process)', verified, expected);
  } finally {
    await session.close();
  }
}

async function loopInProcess(url, indexes) {
  assertLoopOk(await runLoop(url, indexes.map((i) => ['public', i.name])), indexes.length);
}

async function timed(fn) {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

function assertAllOk(label, verified, expected) {
  const notOk = verified.filter((v) => v.status !== 'ok');
  if (verified.length !== expected || notOk.length) {
    const sample = notOk.slice(0, 5).map((v) => `${v.name ?? v.declaration?.name} ${v.status}: ${v.reason}`).join('\n  ');
    throw new Error(`${label}: expected ${expected} indexes all ok, got ${verified.length} with ${notOk.length} not ok:\n  ${sample}`);
  }
}

function assertLoopOk(result, expected) {
  if (result.checked !== expected || result.ok !== expected) {
    throw new Error(`loop: expected ${expected} indexes ok, got ${result.ok} of ${result.checked} (bad: ${result.bad.slice(0, 5).join(', ')})`);
  }
}

/**
 * Statement counts: pg_stat_statements around one spawned run of each arm,
 * and dbtune's SqlSession wrapped in-process (which sees every statement but
 * the connection-time one, and times each).
 */
async function reportStatements(admin, stats, { dist, url, setFile, namesFile, indexes }) {
  if (stats.available) {
    await admin.query('SELECT pg_stat_statements_reset()');
    await spawnDbtune(url, setFile, path.dirname(setFile), indexes.length);
    const dbtune = await statementsSinceReset(admin);
    await admin.query('SELECT pg_stat_statements_reset()');
    await spawnLoop(url, namesFile, indexes.length);
    const loop = await statementsSinceReset(admin);
    const total = (rows) => sum(rows.map((r) => r.calls));
    console.log(`statements seen by the server (pg_stat_statements, database ${DATABASE}, one spawned run each; track = top, so not the DDL inside the shadow function):`);
    console.log(`  dbtune verify: ${total(dbtune)} statements for ${indexes.length} indexes`);
    console.log(formatTable(['statement', 'calls'], dbtune.map((r) => [oneLine(r.query), String(r.calls)])).replace(/^/gm, '    '));
    console.log(`  loop: ${total(loop)} statements for ${indexes.length} indexes`);
    console.log(formatTable(['statement', 'calls'], loop.map((r) => [oneLine(r.query), String(r.calls)])).replace(/^/gm, '    '));
  } else {
    console.log(`pg_stat_statements unavailable (${stats.why}): in-process count only`);
  }

  const sent = [];
  const recording = (session) => ({
    get pid() { return session.pid; },
    get serverVersionNum() { return session.serverVersionNum; },
    get serverVersion() { return session.serverVersion; },
    get broken() { return session.broken; },
    async query(sql, params) {
      const started = performance.now();
      try {
        return await session.query(sql, params);
      } finally {
        sent.push({ sql, ms: performance.now() - started });
      }
    },
    close: () => session.close(),
  });
  const phases = {};
  const ms = await timed(() => verifyInProcess(dist, url, setFile, indexes.length, recording, phases));
  console.log();
  console.log(`where dbtune's time goes (one in-process run, ${formatMs(ms)}; statements through its SqlSession, connection-time query not included):`);
  console.log(formatTable(['statement', 'ms'], sent.map((s) => [oneLine(s.sql), s.ms.toFixed(1)])).replace(/^/gm, '    '));
  const catalogMs = sum(sent.filter((s) => /^\s*WITH wanted AS/.test(s.sql)).map((s) => s.ms));
  const statementsMs = sum(sent.map((s) => s.ms));
  console.log(`  catalog reads (live indexes + shadow copies) ${formatMs(catalogMs)}, rest of the shadow build ${formatMs(statementsMs - catalogMs)}`);
  console.log(`  by step: ${Object.entries(phases).map(([name, phaseMs]) => `${name} ${formatMs(phaseMs)}`).join(', ')}`);

  // The loop's per-query cost on a warm connection, for scale.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const names = indexes.map((i) => ['public', i.name]);
    const loopMs = await timed(() => checkOneByOne(client, names));
    console.log(`  for scale: the loop's ${names.length} queries on an open connection took ${formatMs(loopMs)} (${(loopMs / names.length).toFixed(3)} ms each: ${oneLine(PER_INDEX_QUERY).slice(0, 40)}…)`);
  } finally {
    await client.end();
  }
}

function sum(values) {
  return values.reduce((total, v) => total + v, 0);
}

function oneLine(sql) {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 90 ? `${flat.slice(0, 87)}...` : flat;
}

main().then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
