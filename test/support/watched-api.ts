import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { LoadResult } from '../../src/model/load-result.js';
import type { StageDatabase } from '../../src/model/stage-database.js';
import { afterAll, beforeAll } from 'vitest';
import { runCli, writeTempFile, type TestDatabase } from './database.js';
import { startTarget, type TestTarget } from './http-target.js';

/**
 * The database-watch tests' API: a test HTTP server on port 0 that queries the
 * test database through a pg pool, and `dbtune loadtest` run against it.
 */

export const N = 5;
/** What the /secrets endpoint hides in a statement: it must never be printed. */
export const WATCH_SECRET = `sk_live_${randomBytes(6).toString('hex')}`;

/**
 * On 15+ a run waits 10.5 s after its stage for the table, index and database statistics to be
 * flushed (settleTime). pg_stat_statements and pg_stat_activity have no such lag, so a run whose
 * assertions read only those passes PGSS_ONLY (a short database.settle); the runs that assert on
 * scans, cache hits or transactions keep the default wait.
 */
export const PGSS_ONLY = 'database: { settle: 100ms }\n';

/** The API: /customers does 1 + N queries (N+1), /customers-joined does 1, /orders?customer=… looks up by customer_id. */
export async function startApi(url: string, poolSize: number): Promise<{ api: TestTarget; pool: pg.Pool }> {
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

/** customers (2,000) and orders (60,000, no index on customer_id), analysed, and pg_stat_statements. */
export async function seedShop(db: TestDatabase): Promise<void> {
  await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await db.query('CREATE TABLE customers (id int PRIMARY KEY, name text)');
  await db.query('CREATE TABLE orders (id serial PRIMARY KEY, customer_id int, total numeric)');
  await db.query("INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 2000) g");
  await db.query('INSERT INTO orders (customer_id, total) SELECT (g % 2000) + 1, g FROM generate_series(1, 60000) g');
  await db.query('ANALYZE customers');
  await db.query('ANALYZE orders');
}

/** A one-stage loadtest (4 users, 1.5 s) of `requests` against the API, watching `databaseUrl`; the saved result and the run. */
export async function watchedLoadtest(
  api: TestTarget,
  databaseUrl: string,
  requests: string,
  extra: string[] = [],
  scenarioExtra = '',
): Promise<{ result: LoadResult; run: Awaited<ReturnType<typeof runCli>> }> {
  const file = await writeTempFile(
    'scenario.yaml',
    `scenario: db-watch\ntarget: ${api.url}\nrequests: ${requests}\nstages: [{ users: 4, duration: 1500ms }]\nthresholds: { success_rate: 99% }\n${scenarioExtra}`,
  );
  const out = path.join(path.dirname(file), 'result.json');
  const run = await runCli(['loadtest', file, '--database-url', databaseUrl, '--out', out, ...extra]);
  return { result: JSON.parse(await readFile(out, 'utf8')) as LoadResult, run };
}

export const dbOf = (result: LoadResult) => result.stages[0]!.database as StageDatabase;

export interface WatchedApi {
  /** The running API (a new one after restart). */
  readonly api: TestTarget;
  /** Stops the API and ends its pool's sessions, then starts a new one. */
  stop(): Promise<void>;
  start(): Promise<void>;
  loadtest(requests: string, extra?: string[], databaseUrl?: string, scenarioExtra?: string): ReturnType<typeof watchedLoadtest>;
}

/** Seeds the file's database and runs the API on it (pool of 4) for the file's tests. */
export function useWatchedApi(db: TestDatabase): WatchedApi {
  let running: { api: TestTarget; pool: pg.Pool } | undefined;
  const watched: WatchedApi = {
    get api() {
      return running!.api;
    },
    async stop() {
      await running?.api.close();
      await running?.pool.end();
      running = undefined;
    },
    async start() {
      running = await startApi(db.url, 4);
    },
    loadtest: (requests, extra = [], databaseUrl = db.url, scenarioExtra = '') => watchedLoadtest(running!.api, databaseUrl, requests, extra, scenarioExtra),
  };
  beforeAll(async () => {
    await seedShop(db);
    await watched.start();
  });
  afterAll(() => watched.stop());
  return watched;
}
