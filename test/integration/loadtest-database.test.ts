import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageDatabase } from '../../src/model/stage-database.js';
import type { LoadResult } from '../../src/model/load-result.js';
import { runCli, startCli, useTestDatabase, withDatabase, writeTempFile } from '../support/database.js';
import { startTarget, type TestTarget } from '../support/http-target.js';
import { waitForBackends, waitForBackendsGone } from '../support/server-state.js';

/**
 * The database watch against real PostgreSQL: a test HTTP API on port 0
 * queries the test database through a pg pool, and `dbtune loadtest` reports
 * what PostgreSQL saw per stage.
 */

const db = useTestDatabase();
const N = 5;
const WATCH_SECRET = `sk_live_${randomBytes(6).toString('hex')}`;

let pool: pg.Pool;
let api: TestTarget;

/** The API: /customers does 1 + N queries (N+1), /customers-joined does 1, /orders?customer=… looks up by customer_id. */
async function startApi(url: string, poolSize: number): Promise<{ api: TestTarget; pool: pg.Pool }> {
  const appPool = new pg.Pool({ connectionString: url, max: poolSize, application_name: 'test-api' });
  // An idle client terminated when a test drops its database is expected, not a failure.
  appPool.on('error', () => {});
  const server = await startTarget((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const answer = async () => {
      if (u.pathname === '/customers') {
        const { rows } = await appPool.query<{ id: number }>('SELECT id FROM customers ORDER BY id LIMIT $1', [N]);
        for (const row of rows) await appPool.query('SELECT count(*) FROM orders WHERE customer_id = $1', [row.id]);
      } else if (u.pathname === '/customers-joined') {
        await appPool.query('SELECT c.id, count(o.id) FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE c.id <= $1 GROUP BY c.id', [N]);
      } else if (u.pathname === '/orders') {
        await appPool.query('SELECT id, total FROM orders WHERE customer_id = $1', [Number(u.searchParams.get('customer'))]);
      } else if (u.pathname === '/slow') {
        await appPool.query('SELECT pg_sleep(0.05)');
      } else if (u.pathname === '/secrets') {
        // pg_stat_statements keeps a utility statement's literals (DO's body) and comments as sent.
        await appPool.query(`DO $$ BEGIN PERFORM '${WATCH_SECRET}'; END $$`);
        await appPool.query('SELECT /* \u001b]0;pwned\u0007 */ count(*) FROM customers');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    };
    answer().catch((error: Error) => {
      res.writeHead(500);
      res.end(error.message);
    });
  });
  return { api: server, pool: appPool };
}

beforeAll(async () => {
  await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await db.query('CREATE TABLE customers (id int PRIMARY KEY, name text)');
  await db.query('CREATE TABLE orders (id serial PRIMARY KEY, customer_id int, total numeric)');
  await db.query("INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 2000) g");
  await db.query('INSERT INTO orders (customer_id, total) SELECT (g % 2000) + 1, g FROM generate_series(1, 60000) g');
  await db.query('ANALYZE customers');
  await db.query('ANALYZE orders');
  ({ api, pool } = await startApi(db.url, 4));
});

afterAll(async () => {
  await api?.close();
  await pool?.end();
});

async function loadtest(requests: string, extra: string[] = [], databaseUrl = db.url, scenarioExtra = ''): Promise<{ result: LoadResult; run: Awaited<ReturnType<typeof runCli>> }> {
  const file = await writeTempFile(
    'scenario.yaml',
    `scenario: db-watch\ntarget: ${api.url}\nrequests: ${requests}\nstages: [{ users: 4, duration: 1500ms }]\nthresholds: { success_rate: 99% }\n${scenarioExtra}`,
  );
  const out = path.join(path.dirname(file), 'result.json');
  const run = await runCli(['loadtest', file, '--database-url', databaseUrl, '--out', out, ...extra]);
  return { result: JSON.parse(await readFile(out, 'utf8')) as LoadResult, run };
}

const dbOf = (result: LoadResult) => result.stages[0]!.database as StageDatabase;

// On 15+ a run waits 10.5 s after its stage for the table, index and database statistics to be
// flushed (settleTime). pg_stat_statements and pg_stat_activity have no such lag, so a run whose
// assertions read only those passes PGSS_ONLY (a short database.settle); the runs that assert on
// scans, cache hits or transactions keep the default wait.
const PGSS_ONLY = 'database: { settle: 100ms }\n';
describe('loadtest with a database to watch', { timeout: 180_000 }, () => {
  it('reports 1 + N queries per request for an N+1 endpoint, with the repeated statement on top, and 1 for the joined one', async () => {
    const { result, run } = await loadtest('[{ name: customers, path: /customers }]', [], db.url, PGSS_ONLY);
    expect(run.code, run.stderr).toBe(0);
    const n1 = dbOf(result);
    expect(n1.source).toBe('pg_stat_statements');
    expect(n1.queries_per_request).toBeGreaterThanOrEqual(1 + N - 0.1);
    expect(n1.queries_per_request).toBeLessThanOrEqual(1 + N + 0.3);
    expect(n1.top_statements[0]!.query).toMatch(/SELECT count\(\*\) FROM orders WHERE customer_id = \$1/);
    expect(n1.top_statements[0]!.calls_per_request).toBeCloseTo(N, 0);
    // Block I/O time is read under this version's column names (blk_* before 17, shared_blk_* since).
    expect(typeof n1.top_statements[0]!.io_ms).toBe('number');
    // dbtune's own statements are not counted.
    expect(n1.top_statements.some((s) => s.query.includes('dbtune-watch'))).toBe(false);
    expect(run.stdout).toMatch(/Database/);
    expect(run.stdout).toMatch(/5(\.\d+)?× SELECT count\(\*\) FROM orders/);

    const joined = dbOf((await loadtest('[{ name: joined, path: /customers-joined }]', [], db.url, PGSS_ONLY)).result);
    expect(joined.queries_per_request).toBeGreaterThanOrEqual(0.95);
    expect(joined.queries_per_request).toBeLessThanOrEqual(1.3);
  });

  it('fails a stage on database thresholds, in the same report and exit code', async () => {
    const { result, run } = await loadtest('[{ name: customers, path: /customers }]', [], db.url, 'database:\n  thresholds: { queries_per_request: 2, connections: 50, cache_hit_ratio: 50% }\n');
    expect(run.code, run.stderr).toBe(1);
    const thresholds = result.stages[0]!.thresholds;
    expect(thresholds.find((t) => t.name === 'queries_per_request')).toMatchObject({ passed: false, limit: '≤ 2' });
    expect(thresholds.find((t) => t.name === 'connections')).toMatchObject({ passed: true });
    expect(thresholds.find((t) => t.name === 'cache_hit_ratio')).toMatchObject({ passed: true });
    expect(result.max_sustained_users).toBe(0);
  });

  it("reports other sessions' statements normalised and without control characters, in every output", async () => {
    const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp(path.join(os.tmpdir(), 'dbtune-texts-')));
    const [html, summary] = [path.join(dir, 'report.html'), path.join(dir, 'summary.md')];
    const file = await writeTempFile('texts.yaml', `scenario: texts\ntarget: ${api.url}\nrequests: [{ name: secrets, path: /secrets }]\nstages: [{ users: 2, duration: 1500ms }]\n${PGSS_ONLY}`);
    const out = path.join(path.dirname(file), 'r.json');
    const run = await runCli(['loadtest', file, '--database-url', db.url, '--out', out, '--report', html, '--format', 'markdown'], { GITHUB_STEP_SUMMARY: summary });
    expect(run.code, run.stderr).toBe(0);
    const watched = dbOf(JSON.parse(await readFile(out, 'utf8')) as LoadResult);
    const texts = watched.top_statements.map((t) => t.query);
    expect(texts).toContain('DO $1');
    // Comments are dropped (they may carry anything), leaving a blank.
    expect(texts.map((t) => t.replace(/\s+/g, ' '))).toContain('SELECT count(*) FROM customers');
    for (const text of [run.stdout, run.stderr, await readFile(out, 'utf8'), await readFile(html, 'utf8'), await readFile(summary, 'utf8')]) {
      expect(text).not.toContain(WATCH_SECRET);
      expect(text).not.toContain('pwned');
      expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    }
  });

  it('shows connections peaking at the pool size of the API', async () => {
    // The sessions of earlier CLI runs end a moment after their process: counted now and gone
    // during the stage, they would make the expected peak wrong.
    await waitForBackendsGone(db, 'the sessions of earlier dbtune runs to end', "application_name NOT IN ('test-api', 'dbtune test')");
    // Other sessions on this database besides the API's pool (the test's own).
    const [{ others }] = (await db.query<{ others: number }>(
      "SELECT count(*)::int AS others FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND application_name <> 'test-api'",
    )) as [{ others: number }];
    // 12 users on a pool of 4: all 4 sessions stay busy through the stage.
    const file = await writeTempFile('pool.yaml', `scenario: pool\ntarget: ${api.url}\nrequests: [{ name: slow, path: /slow }]\nstages: [{ users: 12, duration: 2s }]\n${PGSS_ONLY}`);
    const out = path.join(path.dirname(file), 'r.json');
    const run = await runCli(['loadtest', file, '--database-url', db.url, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const watched = dbOf(JSON.parse(await readFile(out, 'utf8')) as LoadResult);
    // The watch's own session is not counted; the test's sessions (others) are there throughout.
    expect(watched.connections_peak).toBe(4 + others);
    // Sessions are briefly idle between queries, so a sample may catch fewer than all 4 active.
    expect(watched.connections_by_state.active!.peak).toBeGreaterThanOrEqual(2);
    expect(watched.connections_by_state.active!.peak).toBeLessThanOrEqual(4);
    expect(watched.samples).toBeGreaterThanOrEqual(3);
  });

  it('reports whether the indexes of a set were used under load, before and after apply', async () => {
    const set = await writeTempFile('orders.yaml', 'set: orders\nindexes:\n  - { name: idx_orders_customer, table: orders, columns: [customer_id] }\n');
    const requests = '[{ name: orders, path: "/orders?customer={{int 1 2000}}" }]';
    const beforeRun = await loadtest(requests, ['--indexes', set]);
    const before = dbOf(beforeRun.result);
    expect(before.indexes).toEqual([{ index: 'public.idx_orders_customer', table: 'public.orders', scans: 0, used: false, exists: false }]);
    const ordersBefore = before.tables.find((t) => t.table === 'public.orders')!;
    expect(ordersBefore.seq_scans).toBeGreaterThan(0);

    const applied = await runCli(['apply', set], { DATABASE_URL: db.url });
    expect(applied.code, applied.stderr).toBe(0);
    // PostgreSQL 13-14 flush a session's last counters only with its next transaction: without
    // new sessions, the seq scans of the run before could count in the next run's stage. A backend
    // flushes them when it exits, which is after pool.end() resolves: wait until it has.
    await api.close();
    await pool.end();
    await waitForBackendsGone(db, "the API pool's sessions to exit (flushing their statistics)", "application_name = 'test-api'");
    ({ api, pool } = await startApi(db.url, 4));
    const { result, run } = await loadtest(requests, ['--indexes', set], db.url, 'database:\n  thresholds: { seq_scans: { orders: 0 } }\n');
    expect(run.code, `${run.stderr}\n${run.stdout}`).toBe(0);
    const after = dbOf(result);
    expect(after.indexes[0]).toMatchObject({ used: true, exists: true });
    expect(after.indexes[0]!.scans).toBeGreaterThan(10);
    expect(after.tables.find((t) => t.table === 'public.orders')?.seq_scans ?? 0).toBe(0);
    expect(result.stages[0]!.thresholds.find((t) => t.name === 'seq_scans public.orders')).toMatchObject({ passed: true, observed: '0' });

    // compare shows the change in what PostgreSQL did: the seq scans are gone.
    const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp(path.join(os.tmpdir(), 'dbtune-cmp-')));
    const [beforeFile, afterFile] = [path.join(dir, 'before.json'), path.join(dir, 'after.json')];
    await writeFile(beforeFile, JSON.stringify(beforeRun.result));
    await writeFile(afterFile, JSON.stringify(result));
    const compared = await runCli(['compare', beforeFile, afterFile, '--json']);
    expect(compared.code, compared.stderr).toBe(0);
    const database = (JSON.parse(compared.stdout) as { database: Array<{ metric: string; before: number; after: number; verdict: string }> }).database;
    expect(database.find((d) => d.metric === 'seq_scans')).toMatchObject({ after: 0, verdict: 'better' });
    expect(database.find((d) => d.metric === 'queries_per_request')!.verdict).toBe('no significant change');
  });

  it('works as a role without superuser or pg_read_all_stats, saying what it cannot see', async () => {
    const role = `watcher_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(9).toString('hex');
    const database = new URL(db.url).pathname.slice(1);
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' NOSUPERUSER`);
    await db.query(`GRANT CONNECT ON DATABASE ${database} TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    const { result, run } = await loadtest('[{ name: customers, path: /customers }]', [], url.toString(), PGSS_ONLY);
    expect(run.code, run.stderr).toBe(0);
    const watched = dbOf(result);
    // Counts are visible to everyone; statement text and session state of other roles are not.
    expect(watched.queries_per_request).toBeGreaterThanOrEqual(N);
    expect(watched.connections_peak).toBeGreaterThan(0);
    expect(watched.notes.join('\n')).toMatch(/pg_read_all_stats/);
    expect(run.stderr + run.stdout).not.toContain(password);
  });

  it('falls back to transactions per request on a database without pg_stat_statements', async () => {
    const name = `dbtune_nopss_${randomBytes(3).toString('hex')}`;
    await db.query(`CREATE DATABASE ${name}`);
    const url = withDatabase(db.url, name);
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    const other = await startApi(url, 4);
    try {
      await setup.query('CREATE TABLE customers (id int PRIMARY KEY, name text)');
      await setup.query('CREATE TABLE orders (id serial PRIMARY KEY, customer_id int, total numeric)');
      await setup.query("INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 100) g");
      await setup.end();
      const file = await writeTempFile('fallback.yaml', `scenario: fallback\ntarget: ${other.api.url}\nrequests: [{ name: customers, path: /customers }]\nstages: [{ users: 4, duration: 3s }]\n`);
      const out = path.join(path.dirname(file), 'r.json');
      const run = await runCli(['loadtest', file, '--database-url', url, '--out', out]);
      expect(run.code, run.stderr).toBe(0);
      const result = JSON.parse(await readFile(out, 'utf8')) as LoadResult;
      const watched = dbOf(result);
      expect(watched.source).toBe('pg_stat_database');
      // Each autocommit statement is one transaction: 1 + N per request. On 15+ dbtune waits for the
      // idle sessions' flush; on 13-14 up to 0.5 s of the 3 s stage may still be held back.
      const major = Number((await db.query<{ v: string }>('SHOW server_version_num'))[0]!.v) / 10000;
      expect(watched.queries_per_request).toBeGreaterThanOrEqual((1 + N) * (major >= 15 ? 0.95 : 0.75));
      expect(watched.queries_per_request).toBeLessThanOrEqual((1 + N) * 1.05);
      expect(watched.top_statements).toEqual([]);
      expect(result.warnings.join('\n')).toMatch(/pg_stat_statements is not installed/);
    } finally {
      await other.api.close();
      await other.pool.end();
      await db.query(`DROP DATABASE ${name} WITH (FORCE)`);
    }
  });

  it('keeps the load result when the watch session dies mid-stage, saying so', async () => {
    const file = await writeTempFile('killed.yaml', `scenario: killed\ntarget: ${api.url}\nrequests: [{ name: a, path: /customers-joined }]\nstages: [{ users: 2, duration: 3s }]\n`);
    const out = path.join(path.dirname(file), 'r.json');
    const watchSession = "application_name = 'dbtune loadtest (database watch)'";
    // An earlier run's watch session may still be exiting: only this run's is to be killed.
    await waitForBackendsGone(db, 'the watch sessions of earlier runs to end', watchSession);
    const cli = startCli(['loadtest', file, '--database-url', db.url, '--out', out]);
    await cli.waitForStderr(/stage 1\/1: 2 users/);
    const [watch] = await waitForBackends(db, 'the database watch session', watchSession);
    expect((await db.query<{ done: boolean }>('SELECT pg_terminate_backend($1) AS done', [watch!.pid]))[0]!.done).toBe(true);
    const run = await cli.done;
    // No database thresholds: the stage stands on its HTTP figures; the watch's failure is reported.
    expect(run.code, run.stderr).toBe(0);
    const stage = (JSON.parse(await readFile(out, 'utf8')) as LoadResult).stages[0]!;
    expect(stage.requests).toBeGreaterThan(0);
    expect((stage.database as { error?: string }).error).toMatch(/the database watch failed/);
  });

  it('exits 3 before any load when the database to watch is unreachable', async () => {
    const file = await writeTempFile('unreachable.yaml', `scenario: x\ntarget: ${api.url}\nrequests: [{ name: a, path: /customers-joined }]\nstages: [{ users: 2, duration: 10s }]\n`);
    const before = api.received.length;
    const run = await runCli(['loadtest', file, '--database-url', 'postgresql://nobody@127.0.0.1:9/none?connect_timeout=3']);
    expect(run.code).toBe(3);
    expect(api.received.length).toBe(before);
  });
});
