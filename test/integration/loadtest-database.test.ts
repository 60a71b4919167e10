import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../src/model/load-result.js';
import { runCli, useTestDatabase, withDatabase, writeTempFile } from '../support/database.js';
import { waitForBackendsGone } from '../support/server-state.js';
import { dbOf, N, PGSS_ONLY, startApi, useWatchedApi, WATCH_SECRET } from '../support/watched-api.js';

/**
 * The database watch against real PostgreSQL, on every major: what it reads
 * differs by version (pg_stat_statements' columns and normalisation, when
 * statistics are flushed). The version-independent cases are in
 * loadtest-database-edges.test.ts.
 */

const db = useTestDatabase();
const shop = useWatchedApi(db);
const loadtest = shop.loadtest;

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

  it("reports other sessions' statements normalised and without control characters, in every output", async () => {
    const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp(path.join(os.tmpdir(), 'dbtune-texts-')));
    const [html, summary] = [path.join(dir, 'report.html'), path.join(dir, 'summary.md')];
    const file = await writeTempFile('texts.yaml', `scenario: texts\ntarget: ${shop.api.url}\nrequests: [{ name: secrets, path: /secrets }]\nstages: [{ users: 2, duration: 1500ms }]\n${PGSS_ONLY}`);
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
    await shop.stop();
    await waitForBackendsGone(db, "the API pool's sessions to exit (flushing their statistics)", "application_name = 'test-api'");
    await shop.start();
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
});
