#!/usr/bin/env node
/**
 * `dbtune apply` against the same CREATE INDEX CONCURRENTLY statements run
 * one by one through psql with server defaults, on an embedded PostgreSQL
 * with four app-shaped tables. Target: dbtune / psql ≤ 0.6 (median of the
 * per-round ratios: each round's arms ran minutes apart at most, on a shared machine).
 *
 * Both arms build the same 4 btree indexes; both are timed as whole
 * processes, from spawn to exit. psql's arm then runs ANALYZE on the 4
 * tables, as a hand-written migration does. dbtune's arm does not: the
 * tables were VACUUM ANALYZEd at load and their indexes are plain-column
 * ones, so ANALYZE would add no statistics and dbtune skips it (reporting
 * each table as not analyzed, with why). So the arms no longer do the same
 * work: psql's includes 4 ANALYZEs that dbtune's leaves out, as dbtune would
 * on any database whose statistics are current; what each dbtune arm
 * analyzed is printed at the end. BENCH_DBTUNE_ARGS="--always-analyze" adds
 * an arm that analyzes all 4 as psql's does. dbtune runs with its defaults (session
 * maintenance_work_mem 512MB; builds at once and parallel workers per build
 * chosen from the server's cores and the table sizes, printed at the end);
 * psql gets nothing but the server's defaults, which is what a hand-written
 * migration runs with.
 *
 * Server defaults already build btrees in parallel (PostgreSQL 11+): each
 * participant needs 32MB of maintenance_work_mem, so the default 64MB allows
 * the leader plus one worker. On a 2-core machine psql's arm already keeps
 * both cores busy during the sort; dbtune's gain there comes from building
 * the 4 tables at once, one process each: no parallel sort to launch and
 * merge, and one build's single-threaded phases (validation scan, snapshot
 * waits) overlap another's sort.
 *
 * The builds are CPU-bound, so the bench also prints the CPU seconds the
 * machine spent during each arm and the floor that implies: no schedule of
 * an arm's work finishes in less than its CPU seconds / cores.
 *
 * Arms are interleaved and their order rotates each round, so that drift on a
 * shared, noisy machine (and cache warmth) hits all arms alike; only ratios
 * from one run are comparable. The ratio depends on the core count, the
 * server version and the table size, so all three are printed.
 *
 *   npm run build && node bench/apply-vs-psql.js [--rows 1500000] [--rounds 5] [--no-jobs4]
 *   (or BENCH_ROWS, BENCH_ROUNDS, BENCH_JOBS4=0)
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { boolOption, intOption } from './lib/options.js';
import { assertExitedOk, runTimed } from './lib/run-timed.js';
import { formatRatio, median } from './lib/stats.js';
import { formatTable } from './lib/table.js';

const TARGET_RATIO = 0.6;
const cli = fileURLToPath(new URL('../bin/dbtune.js', import.meta.url));

/**
 * Four tables shaped like an app's, loaded with random (unsorted) keys so
 * each build really sorts. `setseed` makes every run load the same data.
 */
const TABLES = [
  {
    name: 'conversations',
    ddl: `CREATE TABLE conversations (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id int NOT NULL,
            title text NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL)`,
    load: `INSERT INTO conversations (user_id, title, status, created_at)
           SELECT (random() * 50000)::int, 'conversation ' || g, (ARRAY['open','archived','closed'])[1 + (g % 3)],
                  now() - random() * interval '365 days'
           FROM generate_series(1, $1::int) g`,
  },
  {
    name: 'expenses',
    ddl: `CREATE TABLE expenses (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id int NOT NULL,
            date date NOT NULL, amount numeric(12,2) NOT NULL, category text NOT NULL)`,
    load: `INSERT INTO expenses (user_id, date, amount, category)
           SELECT (random() * 50000)::int, current_date - (random() * 730)::int, round((random() * 500)::numeric, 2),
                  (ARRAY['food','travel','rent','office','other'])[1 + (g % 5)]
           FROM generate_series(1, $1::int) g`,
  },
  {
    name: 'leads',
    ddl: `CREATE TABLE leads (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant_id int NOT NULL,
            status text NOT NULL, email text NOT NULL, created_at timestamptz NOT NULL)`,
    load: `INSERT INTO leads (tenant_id, status, email, created_at)
           SELECT (random() * 2000)::int, (ARRAY['new','contacted','qualified','won','lost'])[1 + (random() * 4)::int],
                  'lead' || g || '@example.com', now() - random() * interval '365 days'
           FROM generate_series(1, $1::int) g`,
  },
  {
    name: 'messages',
    ddl: `CREATE TABLE messages (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, conversation_id bigint NOT NULL,
            created_at timestamptz NOT NULL, body text NOT NULL)`,
    load: `INSERT INTO messages (conversation_id, created_at, body)
           SELECT 1 + (random() * 200000)::bigint, now() - random() * interval '365 days', md5(g::text)
           FROM generate_series(1, $1::int) g`,
  },
];

/** One index per table, written twice: as the index-set YAML dbtune reads, and as the SQL psql runs. */
const INDEXES = [
  { name: 'idx_bench_conv_user_created', table: 'conversations', yamlColumns: '[user_id, created_at desc]', sqlColumns: 'user_id, created_at DESC' },
  { name: 'idx_bench_exp_user_date', table: 'expenses', yamlColumns: '[user_id, date desc]', sqlColumns: 'user_id, date DESC' },
  { name: 'idx_bench_leads_tenant_status', table: 'leads', yamlColumns: '[tenant_id, status, created_at desc]', sqlColumns: 'tenant_id, status, created_at DESC' },
  { name: 'idx_bench_msg_conv_created', table: 'messages', yamlColumns: '[conversation_id, created_at]', sqlColumns: 'conversation_id, created_at' },
];

function indexSetYaml() {
  const entries = INDEXES.map((i) => `  - name: ${i.name}\n    table: ${i.table}\n    columns: ${i.yamlColumns}\n`);
  return `set: bench\ndescription: bench/apply-vs-psql.js\nindexes:\n${entries.join('')}`;
}

/** What a hand-written migration runs: each statement alone, in autocommit, no SET. */
function psqlScript() {
  const creates = INDEXES.map((i) => `CREATE INDEX CONCURRENTLY ${i.name} ON public.${i.table} USING btree (${i.sqlColumns});`);
  const analyzes = INDEXES.map((i) => `ANALYZE public.${i.table};`);
  return `${[...creates, ...analyzes].join('\n')}\n`;
}

async function main() {
  const argv = process.argv.slice(2);
  const rows = intOption(argv, { flag: '--rows', env: 'BENCH_ROWS', fallback: 1_500_000 });
  const rounds = intOption(argv, { flag: '--rounds', env: 'BENCH_ROUNDS', fallback: 5 });
  const withJobs4 = boolOption(argv, { flag: '--jobs4', env: 'BENCH_JOBS4', fallback: true });
  if (!existsSync(new URL('../dist/db/embedded-server.js', import.meta.url))) {
    process.stderr.write('dist/ is missing: run `npm run build` first.\n');
    return 1;
  }
  const { startEmbeddedServer } = await import('../dist/db/embedded-server.js');

  const work = await mkdtemp(path.join(tmpdir(), 'dbtune-bench-'));
  try {
    const setFile = path.join(work, 'bench.yaml');
    const sqlFile = path.join(work, 'bench.sql');
    await writeFile(setFile, indexSetYaml());
    await writeFile(sqlFile, psqlScript());
    // No `settings`: the comparison is against the server's defaults
    // (maintenance_work_mem, max_parallel_maintenance_workers untouched).
    const server = await startEmbeddedServer();
    try {
      return await compare(server, { rows, rounds, withJobs4, work, setFile, sqlFile });
    } finally {
      await server.stop();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function compare(server, { rows, rounds, withJobs4, work, setFile, sqlFile }) {
  // Ctrl-C reaches postgres too (same process group), but only stop() removes its data directory.
  const onSigint = () => void server.stop().finally(() => process.exit(130));
  process.once('SIGINT', onSigint);
  const client = new pg.Client({ connectionString: server.url });
  try {
    await client.connect();
    const facts = await serverFacts(client);
    console.log(`apply-vs-psql: PostgreSQL ${facts.server_version}, ${rows.toLocaleString('en')} rows × ${TABLES.length} tables, ` +
      `${availableParallelism()} cores, ${rounds} rounds, node ${process.version}`);
    console.log(`server defaults: maintenance_work_mem ${facts.maintenance_work_mem}, max_parallel_maintenance_workers ` +
      `${facts.max_parallel_maintenance_workers}, max_parallel_workers ${facts.max_parallel_workers}, max_worker_processes ${facts.max_worker_processes}`);

    const loadStarted = performance.now();
    await loadTables(server.url, rows);
    console.log(`loaded in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s; table sizes: ${await tableSizes(client)}`);

    const arms = [
      { label: 'psql', run: () => runPsql(server.url, sqlFile) },
      { label: 'dbtune', run: () => runDbtune(server.url, setFile, work, [], schedules, 'dbtune') },
      ...(withJobs4 ? [{ label: 'dbtune -j4', run: () => runDbtune(server.url, setFile, work, ['--jobs', '4'], schedules, 'dbtune -j4') }] : []),
      // For tuning experiments: BENCH_DBTUNE_ARGS="--jobs 4 --max-parallel-maintenance-workers 0" adds an arm;
      // several arms are separated by `;` ("--jobs 2 --max-parallel-maintenance-workers 0; --jobs 4").
      ...(process.env.BENCH_DBTUNE_ARGS ?? '')
        .split(';')
        .map((a) => a.trim())
        .filter(Boolean)
        .map((extra) => ({ label: `dbtune ${extra}`, run: () => runDbtune(server.url, setFile, work, extra.split(/\s+/), schedules, `dbtune ${extra}`) })),
    ];
    const times = arms.map(() => []);
    const cpu = arms.map(() => []); // CPU seconds the whole machine spent during each arm (Linux), see machineCpuSeconds
    const schedules = new Map(); // what each dbtune arm's apply chose (its JSON `schedule`), once per arm
    let reference; // index definitions the psql arm produced: every arm must build exactly these
    const perRound = [];
    for (let round = 0; round < rounds; round++) {
      const order = arms.map((_, k) => (round + k) % arms.length);
      const row = [String(round + 1), order.map((i) => arms[i].label).join(' → ')];
      for (const i of order) {
        await resetState(client);
        const cpuBefore = machineCpuSeconds();
        const ms = await arms[i].run();
        const cpuAfter = machineCpuSeconds();
        if (cpuBefore !== undefined && cpuAfter !== undefined) cpu[i].push(cpuAfter - cpuBefore);
        const definitions = await builtIndexes(client);
        if (arms[i].label === 'psql') reference ??= definitions;
        if (reference && definitions !== reference) throw new Error(`${arms[i].label} built different indexes:\n${definitions}\npsql built:\n${reference}`);
        times[i].push(ms);
        process.stderr.write(`  round ${round + 1}: ${arms[i].label} ${(ms / 1000).toFixed(2)} s${cpu[i].length > round ? `, ${cpu[i][round].toFixed(1)} CPU s` : ''}\n`);
      }
      row.push(...arms.map((_, i) => seconds(times[i][round])), ...arms.slice(1).map((_, j) => formatRatio(times[j + 1][round] / times[0][round])));
      perRound.push(row);
    }
    await resetState(client);

    const ratioHeaders = arms.slice(1).map((a) => `${a.label}/psql`);
    const medians = arms.map((_, i) => median(times[i]));
    perRound.push(['median', '', ...medians.map(seconds), ...medians.slice(1).map((m) => formatRatio(m / medians[0]))]);
    console.log();
    console.log(formatTable(['round', 'order', ...arms.map((a) => a.label), ...ratioHeaders], perRound));
    const ratio = medians[1] / medians[0];
    // Same-round pairs cancel drift between rounds (the machine is shared): the figure the target is for.
    const perRoundRatios = times[1].map((ms, round) => ms / times[0][round]);
    const paired = median(perRoundRatios);
    console.log();
    for (const [label, schedule] of schedules) console.log(`${label} schedule: ${schedule}`);
    if (cpu.every((c) => c.length === rounds)) {
      // The work each arm makes the machine do, whoever does it (postgres backends and workers, psql, node).
      // On N cores an arm cannot finish in less than its CPU seconds / N: with the psql arm's wall time
      // that bounds the ratio any scheduling of the same work can reach on this machine.
      const cores = availableParallelism();
      const cpuMedians = cpu.map((c) => median(c));
      console.log(`CPU seconds per arm, machine-wide (medians): ${arms.map((a, i) => `${a.label} ${cpuMedians[i].toFixed(1)}`).join(', ')}; ` +
        `psql's arm kept ${(cpuMedians[0] / (medians[0] / 1000)).toFixed(2)} of ${cores} cores busy`);
      console.log(`floor on ${cores} cores, all busy with ${arms[1].label}'s work: ${formatRatio(cpuMedians[1] / cores / (medians[0] / 1000))} of psql's time`);
    }
    console.log(
      `dbtune / psql, median of per-round ratios: ${formatRatio(paired)} (target ≤ ${TARGET_RATIO}×) ${paired <= TARGET_RATIO ? 'OK' : 'OVER TARGET'}; ` +
        `per-round ratios ${formatRange(perRoundRatios)}; ratio of medians ${formatRatio(ratio)}`,
    );
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    await client.end().catch(() => undefined);
  }
}

/** Settings the ratio depends on, as a person writes them (64MB, not 8192 × 8kB). */
async function serverFacts(client) {
  const names = ['server_version', 'maintenance_work_mem', 'max_parallel_maintenance_workers', 'max_parallel_workers', 'max_worker_processes'];
  const { rows } = await client.query('SELECT name, current_setting(name) AS value FROM unnest($1::text[]) AS name', [names]);
  return Object.fromEntries(rows.map((r) => [r.name, r.value]));
}

/** Loads the tables in parallel (one connection each), then VACUUM ANALYZE. */
async function loadTables(url, rows) {
  await Promise.all(
    TABLES.map(async (table, n) => {
      const loader = new pg.Client({ connectionString: url });
      await loader.connect();
      try {
        await loader.query(`DROP TABLE IF EXISTS ${table.name}`);
        await loader.query(table.ddl);
        await loader.query('SELECT setseed($1)', [(n + 1) / 10]);
        await loader.query(table.load, [rows]);
      } finally {
        await loader.end();
      }
    }),
  );
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // VACUUM sets hint bits and the visibility map now, so the first timed
    // build does not pay for them and the later ones get them for free.
    await client.query(`VACUUM ANALYZE ${TABLES.map((t) => t.name).join(', ')}`);
  } finally {
    await client.end();
  }
}

async function tableSizes(client) {
  const { rows } = await client.query(
    `SELECT relname, pg_size_pretty(pg_table_size(oid)) AS size FROM pg_class WHERE relname = ANY($1) ORDER BY relname`,
    [TABLES.map((t) => t.name)],
  );
  return rows.map((r) => `${r.relname} ${r.size}`).join(', ');
}

/**
 * Untimed, before each arm: drop the bench indexes (and any leftover of a
 * failed build), then CHECKPOINT so that a checkpoint forced by the previous
 * arm's WAL does not land inside the next arm's timing.
 */
async function resetState(client) {
  const { rows } = await client.query(
    `SELECT i.indexrelid::regclass::text AS name FROM pg_index i
     WHERE i.indrelid = ANY($1::regclass[]) AND NOT i.indisprimary`,
    [TABLES.map((t) => `public.${t.name}`)],
  );
  for (const { name } of rows) await client.query(`DROP INDEX IF EXISTS ${name}`);
  await client.query('CHECKPOINT');
}

/** The bench indexes' definitions, one line each, checked valid and complete. */
async function builtIndexes(client) {
  const { rows } = await client.query(
    `SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def, i.indisvalid
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE i.indrelid = ANY($1::regclass[]) AND NOT i.indisprimary ORDER BY c.relname`,
    [TABLES.map((t) => `public.${t.name}`)],
  );
  const invalid = rows.filter((r) => !r.indisvalid).map((r) => r.relname);
  if (invalid.length || rows.length !== INDEXES.length) {
    throw new Error(`expected ${INDEXES.length} valid indexes, found ${rows.map((r) => r.relname).join(', ') || 'none'}${invalid.length ? ` (invalid: ${invalid})` : ''}`);
  }
  return rows.map((r) => r.def).join('\n');
}

async function runPsql(url, sqlFile) {
  // -X: ignore ~/.psqlrc, which could SET things; ON_ERROR_STOP: a failed statement fails the run.
  const result = await runTimed('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', sqlFile]);
  assertExitedOk('psql', result);
  return result.ms;
}

async function runDbtune(url, setFile, cwd, extraArgs, schedules, label) {
  // cwd = the bench's temp dir, so no dbtune.yaml of the checkout changes the defaults.
  const args = [cli, 'apply', setFile, '--database-url', url, '--format', 'json', ...extraArgs];
  const result = await runTimed(process.execPath, args, { cwd, captureStdout: true });
  assertExitedOk('dbtune apply', result);
  const report = JSON.parse(result.stdout);
  const s = report.schedule;
  if (s && !schedules.has(label)) {
    const workers = s.tables.map((t) => `${t.table.replace(/^public\./, '')} ${t.max_parallel_maintenance_workers}`).join(', ');
    const skipped = report.analyze_skipped ?? [];
    const analyzed = `ANALYZE of ${report.analyzed.length} of ${INDEXES.length} tables${skipped.length ? `, skipped for ${skipped.length} (${[...new Set(skipped.map((k) => k.reason.replace(/:.*/, '')))].join(', ')})` : ''}`;
    schedules.set(label, `${s.mode}, ${s.builds_at_once} at a time, workers per build: ${workers} (${s.cores} cores, ${s.cores_source}); ${analyzed}`);
  }
  const created = report.indexes.filter((i) => i.action === 'created').length;
  if (created !== INDEXES.length) {
    throw new Error(`dbtune apply created ${created} of ${INDEXES.length} indexes: ${report.indexes.map((i) => `${i.name} ${i.action}`).join(', ')}`);
  }
  return result.ms;
}

/**
 * CPU seconds all processes of the machine have used so far (user, nice,
 * system, irq, softirq, steal from /proc/stat; not idle or I/O wait), or
 * undefined where there is no /proc. Machine-wide on purpose: the arms'
 * work runs in postgres processes the bench does not own.
 */
function machineCpuSeconds() {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

function formatRange(values) {
  return `${formatRatio(Math.min(...values))}–${formatRatio(Math.max(...values))}`;
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(2)} s`;
}

main().then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
