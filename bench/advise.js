#!/usr/bin/env node
/**
 * `dbtune advise --top 50`: how long advise takes for the top 50 statements of a workload, and
 * how many candidate indexes it evaluated (and plans it asked for) to get there.
 *
 * The workload: 10 tables of `--rows` rows each, 5 statement shapes per table (equality, equality
 * + sort with LIMIT, an expression, a range with a constant predicate, two equalities + sort): 50
 * distinct statements, run through the database with parameters so that pg_stat_statements holds
 * them (reset after seeding). Then `dbtune advise --top 50 --format json` is timed as a spawned
 * process (start-up, parsing, catalog reads, scoring, report), `--rounds` times, in two setups.
 * Printed per run: candidates scored, evaluations (statement costs the greedy selection asked
 * for), plans (those PostgreSQL really planned; the rest were remembered) and builds (--build):
 *
 *   hypopg  Debian's PostgreSQL 15 with hypopg (/usr/lib/postgresql/15/bin, or BENCH_HYPOPG_BIN):
 *           hypothetical indexes; skipped with a note when not installed.
 *   build   the newest embedded PostgreSQL, advise --build: each candidate needed really built
 *           (CREATE INDEX CONCURRENTLY) and dropped; its time grows with --rows.
 *
 * A single arm per setup: the figures are times, not ratios, so they only compare within a run
 * on the same machine.
 *
 *   npm run build && node bench/advise.js [--rounds 3] [--rows 50000]
 *   (or BENCH_ROUNDS, BENCH_ROWS)
 */
import { existsSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { intOption } from './lib/options.js';
import { assertExitedOk, runTimed } from './lib/run-timed.js';
import { formatMs, median } from './lib/stats.js';
import { formatTable } from './lib/table.js';
import { newestMajor } from './lib/newest-major.js';

const TABLES = 10;
const CALLS = 5;
const DATABASE = 'dbtune_bench_advise';
const cli = fileURLToPath(new URL('../bin/dbtune.js', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));
const HYPOPG_BIN = process.env.BENCH_HYPOPG_BIN ?? '/usr/lib/postgresql/15/bin';

/** The 5 statement shapes of table `t`, each with the parameters of one call. */
const shapes = (t) => [
  [`SELECT * FROM ${t} WHERE a = $1`, (i) => [i]],
  [`SELECT id, c FROM ${t} WHERE a = $1 ORDER BY c DESC LIMIT 10`, (i) => [i * 3]],
  [`SELECT id FROM ${t} WHERE lower(s) = $1`, (i) => [`name${i}`]],
  [`SELECT count(*) FROM ${t} WHERE b BETWEEN $1 AND $2 AND e = 'rare'`, (i) => [i, i + 100]],
  [`SELECT id FROM ${t} WHERE b = $1 AND a = $2 ORDER BY c LIMIT 5`, (i) => [i, i * 7]],
];

async function main() {
  const argv = process.argv.slice(2);
  const rounds = intOption(argv, { flag: '--rounds', env: 'BENCH_ROUNDS', fallback: 3 });
  const rows = intOption(argv, { flag: '--rows', env: 'BENCH_ROWS', fallback: 50_000 });
  if (!existsSync(new URL('../dist/db/embedded-server.js', import.meta.url))) {
    console.error('advise bench: build first (npm run build)');
    return 1;
  }
  const { resolveBinaries, startEmbeddedServer } = await import('../dist/db/embedded-server.js');
  console.log(`advise bench: ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown cpu'}), node ${process.version}`);
  console.log(`${TABLES} tables × ${rows.toLocaleString('en')} rows, ${TABLES * 5} distinct statements × ${CALLS} calls each; dbtune advise --top 50 --format json, ${rounds} rounds per setup`);

  const setups = [];
  if (hypopgInstalled()) setups.push({ label: 'hypopg', start: () => startEmbeddedServer({ binDir: HYPOPG_BIN, settings: { shared_preload_libraries: 'pg_stat_statements' } }), args: [] });
  else console.log(`hypopg: skipped (no PostgreSQL with hypopg in ${HYPOPG_BIN}; BENCH_HYPOPG_BIN names another bin dir)`);
  setups.push({ label: 'build', start: () => startEmbeddedServer({ major: newestMajor(resolveBinaries), settings: { shared_preload_libraries: 'pg_stat_statements' } }), args: ['--build'] });

  const table = [];
  const summary = [];
  for (const setup of setups) {
    const server = await setup.start();
    try {
      const url = await prepare(server, rows);
      const times = [];
      for (let round = 1; round <= rounds; round++) {
        const result = await runTimed(process.execPath, [cli, 'advise', '--top', '50', '--format', 'json', ...setup.args], { cwd: root, env: { ...process.env, DATABASE_URL: url }, captureStdout: true });
        assertExitedOk(`advise (${setup.label})`, result);
        const advice = JSON.parse(result.stdout);
        const builds = /(\d+) builds in/.exec(advice.scoring_detail ?? '')?.[1] ?? '–';
        // Plans PostgreSQL made (the rest of the evaluations were remembered: same indexes on the statement's tables).
        const plans = /(\d+) plans$/.exec(advice.scoring_detail ?? '')?.[1] ?? '–';
        const improved = advice.statements.filter((s) => s.status === 'improved').length;
        times.push(result.ms);
        table.push([setup.label, `${server.major}`, String(round), formatMs(result.ms), String(advice.statements.length), String(improved), String(advice.candidates), String(advice.evaluations), plans, builds, String(advice.indexes.length)]);
      }
      summary.push([setup.label, formatMs(median(times)), formatMs(median(times) / 50)]);
    } finally {
      await server.stop();
    }
  }
  console.log(formatTable(['setup', 'PostgreSQL', 'round', 'time', 'statements', 'improved', 'candidates', 'evaluations', 'plans', 'builds', 'indexes'], table));
  console.log('medians over rounds');
  console.log(formatTable(['setup', 'advise --top 50', 'per statement'], summary));
  return 0;
}

/** Seeds the tables, resets pg_stat_statements, and runs the workload through the database. */
async function prepare(server, rows) {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  await admin.end();
  const url = server.urlFor(DATABASE);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    for (let t = 0; t < TABLES; t++) {
      await client.query(`CREATE TABLE t${t} (id bigint PRIMARY KEY, a int NOT NULL, b int NOT NULL, c timestamptz NOT NULL, s text NOT NULL, e text NOT NULL)`);
      await client.query(
        `INSERT INTO t${t} SELECT g, g % 1000, g % 5000, now() - g * interval '1 minute', 'Name' || (g % 20000), CASE WHEN g % 100 = 0 THEN 'rare' ELSE 'common' END
           FROM generate_series(1, ${rows}) g`,
      );
    }
    await client.query('ANALYZE');
    await client.query('SELECT pg_stat_statements_reset()');
    for (let i = 1; i <= CALLS; i++) {
      for (let t = 0; t < TABLES; t++) for (const [sql, params] of shapes(`t${t}`)) await client.query(sql, params(i));
    }
  } finally {
    await client.end();
  }
  return url;
}

function hypopgInstalled() {
  if (!existsSync(path.join(HYPOPG_BIN, 'postgres'))) return false;
  try {
    const share = execFileSync(path.join(HYPOPG_BIN, 'pg_config'), ['--sharedir']).toString().trim();
    return existsSync(path.join(share, 'extension', 'hypopg.control'));
  } catch {
    return false;
  }
}

process.exitCode = await main();
