#!/usr/bin/env node
/**
 * What watching PostgreSQL costs the load: the same `dbtune loadtest` stage
 * with and without a database to watch, against an HTTP API backed by an
 * embedded PostgreSQL. Target: rps with the watch / rps without ≥ 0.97
 * (median of per-round ratios).
 *
 * Arms, each a spawned process (one stage, same users and duration):
 *
 *   A  no watch  node bin/dbtune.js loadtest <scenario> --stages U --duration Ds --out <json>
 *   B  watch     the same + --database-url <url>: one snapshot statement before
 *                and after the stage, pg_stat_activity sampled every 500 ms on
 *                one session, and a settle wait after the stage (10.5 s on
 *                PostgreSQL 15+, 0.7 s before) before the after-snapshot
 *
 * rps is requests over the stage's own measured seconds, so neither process
 * start-up nor B's settle wait (after the stage ends) counts; the wall time
 * of each arm is printed to show what the watch costs a person waiting.
 *
 * The target: node:http + a pg Pool (max 10) in its own process, one indexed
 * lookup per request (`SELECT … FROM items WHERE id = $1`, id from the query
 * string, `{{int 1 200000}}` in the scenario), on an embedded PostgreSQL (the
 * newest major installed, pg_stat_statements preloaded and created, so B
 * counts statements). On 2 cores generator, API and postgres share the CPU:
 * anything the watch's session burns is taken from the load.
 *
 * Arms are interleaved and the order alternates each round (A B, B A, …) so
 * drift on a shared machine hits both alike; only ratios from one run are
 * comparable. One unmeasured 2 s run warms the API's JIT, its pool and the
 * buffer cache first. CPU per request of postgres (every server process,
 * exited backends included) and of the API process are read from /proc
 * around each arm (Linux only): the watch's own statements would show up
 * there. So are the CPU seconds of every other process on the machine and
 * the steal time: on a shared 2-core VM they, not the watch, decide most of
 * a round's ratio, and the output says when they were high.
 *
 *   npm run build && node bench/database-watch-overhead.js [--rounds 4] [--users 50] [--duration 10]
 *   (or BENCH_ROUNDS, BENCH_USERS, BENCH_DURATION)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newestMajor } from './lib/newest-major.js';
import pg from 'pg';
import { intOption } from './lib/options.js';
import { median } from './lib/stats.js';
import { fmtMs as fmt, killAll, runBounded, startScriptServer } from './lib/children.js';
import { formatTable } from './lib/table.js';

const TARGET_RATIO = 0.97;
const ROWS = 200_000;
const POOL_MAX = 10;
const WARMUP_SECONDS = 2;
/** Each arm is killed if it runs this long past its duration (B's settle wait included). */
const OVERRUN_MS = 45_000;
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux port that matters). */
const CLOCK_TICKS = 100;
/** CPU seconds of other processes, or steal, during one arm above which the output flags a shared machine. */
const BUSY_CPU_S = 1;

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = fileURLToPath(new URL('../bin/dbtune.js', import.meta.url));

/** The API: one indexed lookup per request; DATABASE_URL from the environment (never argv); prints its port. */
const API_SCRIPT = `
import http from 'node:http';
import { createRequire } from 'node:module';
const pg = createRequire(process.argv[1])('pg');
// idleTimeoutMillis 0: B's settle wait outlasts pg's default 10 s, which would make the next arm reconnect the whole pool.
const pool = new pg.Pool({ connectionString: process.env.BENCH_DATABASE_URL, max: ${POOL_MAX}, idleTimeoutMillis: 0, application_name: 'bench-api' });
pool.on('error', () => {});
const server = http.createServer((req, res) => {
  const id = Number(new URL(req.url, 'http://x').searchParams.get('id'));
  pool.query('SELECT id, account_id, status, amount, created_at FROM items WHERE id = $1', [id]).then(
    ({ rows }) => {
      const body = JSON.stringify(rows[0] ?? null);
      res.writeHead(rows.length ? 200 : 404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
    (error) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(error.message);
    },
  );
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
`;


async function main() {
  const argv = process.argv.slice(2);
  const rounds = intOption(argv, { flag: '--rounds', env: 'BENCH_ROUNDS', fallback: 4 });
  const users = intOption(argv, { flag: '--users', env: 'BENCH_USERS', fallback: 50 });
  const duration = intOption(argv, { flag: '--duration', env: 'BENCH_DURATION', fallback: 10 });
  if (!existsSync(new URL('../dist/db/embedded-server.js', import.meta.url)) || !existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
    process.stderr.write('dist/ is missing: run `npm run build` first.\n');
    return 1;
  }
  const { resolveBinaries, startEmbeddedServer } = await import('../dist/db/embedded-server.js');

  const work = await mkdtemp(path.join(tmpdir(), 'dbtune-bench-watch-'));
  let server;
  const onSigint = () => {
    killAll();
    void Promise.resolve(server?.stop())
      .finally(() => rm(work, { recursive: true, force: true }))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  try {
    server = await startEmbeddedServer({ major: newestMajor(resolveBinaries), settings: { shared_preload_libraries: 'pg_stat_statements' } });
    const url = await prepareDatabase(server);
    const version = await serverVersion(url);
    console.log(`database-watch-overhead: ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown cpu'}), node ${process.version}, PostgreSQL ${version}`);
    console.log(`${rounds} rounds × ${users} users × ${duration} s; API: node:http + pg Pool (max ${POOL_MAX}) in its own process on 127.0.0.1, ` +
      `one lookup by primary key per request over ${ROWS.toLocaleString('en')} rows`);

    const { port, pid: apiPid } = await startScriptServer(API_SCRIPT, { args: [cli], cwd: root, env: { ...process.env, BENCH_DATABASE_URL: url } });
    const target = `http://127.0.0.1:${port}`;
    const scenario = path.join(work, 'scenario.yaml');
    await writeFile(scenario, scenarioYaml(target, users, duration));
    await runLoadtest({ scenario, users, duration: WARMUP_SECONDS, out: path.join(work, 'warmup.json') });

    const arms = [
      { label: 'A no watch', databaseUrl: undefined },
      { label: 'B watch', databaseUrl: url },
    ];
    const samples = arms.map(() => []);
    const rows = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const out = path.join(work, `r${round}-${i}.json`);
        const before = cpuTicks(server.pid, apiPid);
        const run = await runLoadtest({ scenario, users, duration, out, databaseUrl: arms[i].databaseUrl });
        const after = cpuTicks(server.pid, apiPid);
        const stage = JSON.parse(await readFile(out, 'utf8')).stages[0];
        samples[i][round] = { ...summarizeStage(stage), wallMs: run.ms, cpu: cpuPerRequest(before, after, stage.requests) };
        process.stderr.write(`  round ${round + 1}: ${arms[i].label} ${stage.rps.toFixed(0)} rps, ${(run.ms / 1000).toFixed(1)} s wall\n`);
      }
      const ratio = samples[1][round].rps / samples[0][round].rps;
      for (const i of [0, 1]) rows.push(roundRow(round, order, arms, i, samples[i][round], i === 1 ? ratio : undefined));
    }
    console.log();
    console.log(formatTable(['round', 'arm', 'rps', 'requests', 'p50', 'p99', 'fail', 'wall', 'pg cpu/1k req', 'api cpu/1k req', 'other cpu', 'steal', 'queries/req', 'samples', 'B/A'], rows));
    summarize(arms, samples, duration);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    killAll();
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** A `bench` database: pg_stat_statements, and `items` with ROWS rows, vacuumed so lookups are index(-only) hot. */
async function prepareDatabase(server) {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query('CREATE DATABASE bench');
  } finally {
    await admin.end();
  }
  const url = server.urlFor('bench');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE EXTENSION pg_stat_statements');
    await client.query(`CREATE TABLE items (id int PRIMARY KEY, account_id int NOT NULL, status text NOT NULL,
                          amount numeric(12,2) NOT NULL, created_at timestamptz NOT NULL)`);
    await client.query('SELECT setseed(0.42)');
    await client.query(
      `INSERT INTO items SELECT g, (random() * 20000)::int, (ARRAY['open','paid','void'])[1 + g % 3],
              round((random() * 500)::numeric, 2), now() - random() * interval '365 days'
         FROM generate_series(1, $1::int) g`,
      [ROWS],
    );
    await client.query('VACUUM ANALYZE items');
  } finally {
    await client.end();
  }
  return url;
}

async function serverVersion(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query('SHOW server_version')).rows[0].server_version;
  } finally {
    await client.end();
  }
}

function scenarioYaml(target, users, duration) {
  return [
    'scenario: database-watch-overhead',
    `target: ${target}`,
    'requests: [{ name: item, path: "/items?id={{int 1 ' + ROWS + '}}" }]',
    `stages: [{ users: ${users}, duration: ${duration}s }]`,
    'thresholds: { success_rate: 0% }',
    '',
  ].join('\n');
}

function summarizeStage(stage) {
  const db = stage.database;
  return {
    rps: stage.rps,
    requests: stage.requests,
    p50: stage.latency.p50,
    p99: stage.latency.p99,
    failures: stage.failures,
    measuredS: stage.measured_s,
    queriesPerRequest: db?.queries_per_request,
    samples: db?.samples,
    watchError: db?.error,
  };
}

function roundRow(round, order, arms, i, s, ratio) {
  const first = order[0] === i ? '1st' : '2nd';
  return [
    i === 0 ? String(round + 1) : '',
    `${arms[i].label} (${first})`,
    s.rps.toFixed(0),
    String(s.requests),
    `${fmt(s.p50)} ms`,
    `${fmt(s.p99)} ms`,
    String(s.failures),
    `${(s.wallMs / 1000).toFixed(1)} s`,
    s.cpu ? `${s.cpu.postgresMs.toFixed(0)} ms` : 'n/a',
    s.cpu ? `${s.cpu.apiMs.toFixed(0)} ms` : 'n/a',
    s.cpu ? `${s.cpu.otherS.toFixed(1)} s` : 'n/a',
    s.cpu ? `${s.cpu.stealS.toFixed(1)} s` : 'n/a',
    s.watchError ? 'watch failed' : s.queriesPerRequest === undefined ? '' : String(s.queriesPerRequest),
    s.samples === undefined ? '' : String(s.samples),
    ratio === undefined ? '' : ratio.toFixed(3),
  ];
}

function summarize(arms, samples, duration) {
  const med = (i, pick) => median(samples[i].map(pick));
  console.log();
  console.log('medians over rounds');
  console.log(formatTable(['arm', 'rps', 'p50', 'p99', 'wall', 'pg cpu/1k req', 'api cpu/1k req'], arms.map((arm, i) => [
    arm.label,
    med(i, (s) => s.rps).toFixed(0),
    `${fmt(med(i, (s) => s.p50))} ms`,
    `${fmt(med(i, (s) => s.p99))} ms`,
    `${(med(i, (s) => s.wallMs) / 1000).toFixed(1)} s`,
    samples[i].every((s) => s.cpu) ? `${med(i, (s) => s.cpu.postgresMs).toFixed(0)} ms` : 'n/a',
    samples[i].every((s) => s.cpu) ? `${med(i, (s) => s.cpu.apiMs).toFixed(0)} ms` : 'n/a',
  ])));
  console.log();
  // Same-round pairs cancel drift between rounds; the ratio of medians is the second opinion.
  const perRound = median(samples[1].map((s, r) => s.rps / samples[0][r].rps));
  const ofMedians = med(1, (s) => s.rps) / med(0, (s) => s.rps);
  console.log(`watch rps / no-watch rps: median of per-round ratios ${perRound.toFixed(3)} (target ≥ ${TARGET_RATIO}) ` +
    `${perRound >= TARGET_RATIO ? 'OK' : 'UNDER TARGET'}; ratio of medians ${ofMedians.toFixed(3)}`);
  const watched = samples[1];
  console.log(`watch: queries/request ${med(1, (s) => s.queriesPerRequest ?? NaN)} (pg_stat_statements), ` +
    `${med(1, (s) => s.samples ?? NaN)} pg_stat_activity samples per ${duration} s stage (medians)`);
  const failed = watched.filter((s) => s.watchError);
  if (failed.length) console.log(`watch failed in ${failed.length} rounds: ${failed[0].watchError}`);
  const busy = samples.flat().filter((s) => s.cpu && (s.cpu.otherS > BUSY_CPU_S || s.cpu.stealS > BUSY_CPU_S)).length;
  if (busy) {
    console.log(`other processes or the hypervisor took > ${BUSY_CPU_S} s of CPU during ${busy} of ${samples.flat().length} arms ('other cpu', 'steal'): ` +
      'the machine was shared, and those rounds measure the other job as much as the watch');
  }
  console.log(`wall time per arm: A ${(med(0, (s) => s.wallMs) / 1000).toFixed(1)} s, B ${(med(1, (s) => s.wallMs) / 1000).toFixed(1)} s (medians): ` +
    `B's settle wait after the stage is outside the measured ${duration} s window and does not change its rps`);
}

/** Starts the API process and waits for the port it prints. */

/**
 * One `dbtune loadtest` stage to completion, timed from spawn to close; killed
 * by PID (SIGKILL) if it runs past `duration` + OVERRUN_MS.
 * @returns {Promise<{ ms: number }>}
 */
function runLoadtest({ scenario, users, duration, out, databaseUrl }) {
  const args = [cli, 'loadtest', scenario, '--stages', String(users), '--duration', `${duration}s`, '--out', out, '--format', 'json',
    ...(databaseUrl ? ['--database-url', databaseUrl] : [])];
  const label = databaseUrl ? 'dbtune loadtest --database-url' : 'dbtune loadtest';
  return runBounded(process.execPath, args, { cwd: root, seconds: duration, graceMs: OVERRUN_MS, label }).then(({ ms }) => ({ ms }));
}

/**
 * CPU ticks so far of postgres (the postmaster, its live children, and the
 * children it has reaped: exited backends such as the watch's session), of
 * the API process, of this process with its reaped children (the dbtune
 * runs), and of the whole machine (user + nice + system + irq + softirq of
 * /proc/stat: a process's times include the softirqs run on its behalf, such
 * as loopback TCP), and the machine's steal time (the hypervisor ran someone
 * else on our vCPUs). undefined without /proc.
 */
function cpuTicks(postmasterPid, apiPid) {
  try {
    const stat = (pid) => {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command (field 2) is in parentheses and may hold spaces: split after it.
      return text.slice(text.lastIndexOf(')') + 2).split(' ');
    };
    // Fields after the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    const own = (f) => Number(f[11]) + Number(f[12]);
    const master = stat(postmasterPid);
    let postgres = own(master) + Number(master[13]) + Number(master[14]);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const f = stat(entry);
        if (Number(f[1]) === postmasterPid) postgres += own(f);
      } catch {
        // Exited between readdir and read.
      }
    }
        const self = stat('self');
    const machine = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    return {
      postgres,
      api: apiPid ? own(stat(apiPid)) : 0,
      self: own(self) + Number(self[13]) + Number(self[14]),
      machine: machine[1] + machine[2] + machine[3] + machine[6] + machine[7],
      steal: machine[8],
    };
  } catch {
    return undefined;
  }
}

/**
 * Between two cpuTicks readings: CPU ms per 1,000 requests of postgres and of
 * the API; CPU seconds of every other process on the machine and steal
 * seconds (another job sharing the cores, in this VM or on its host: that
 * round's ratio is noise).
 */
function cpuPerRequest(before, after, requests) {
  if (!before || !after || !requests) return undefined;
  const delta = (key) => after[key] - before[key];
  const perK = (ticks) => ((ticks * 1000) / CLOCK_TICKS / requests) * 1000;
  const others = delta('machine') - delta('postgres') - delta('api') - delta('self');
  return { postgresMs: perK(delta('postgres')), apiMs: perK(delta('api')), otherS: Math.max(0, others) / CLOCK_TICKS, stealS: delta('steal') / CLOCK_TICKS };
}



main().then(
  (code) => (process.exitCode = code),
  (error) => {
    killAll();
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
