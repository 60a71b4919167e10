import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';

/**
 * The demo's HTTP API, run in a worker thread so that it has an event loop of
 * its own (the load generator runs on the main thread). It stands for the
 * user's application, so it talks to PostgreSQL with a plain `pg` pool like
 * an app would. Endpoints, each with a query shape real apps get slow on:
 *
 *   GET /api/profiles/:handle               profile by lower(handle)
 *   GET /api/conversations?user_id=         conversation list + last message of each (an N+1)
 *   GET /api/expenses?user_id=&days=        a user's expenses over a date range
 *   GET /api/leads?tenant_id=&status=       a tenant's leads by status, newest first
 *   GET /api/events?user_id=                a user's recent events (JSONB payload)
 *
 * Its pool closes idle sessions after 500 ms: a closing session flushes its
 * statistics at once, which lets the demo's scenario use a short
 * database.settle (see scenarios/demo.yaml).
 */

interface DemoApiData {
  databaseUrl: string;
  poolSize: number;
}

const { databaseUrl, poolSize } = workerData as DemoApiData;
const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, idleTimeoutMillis: 500, application_name: 'dbtune demo api' });
pool.on('error', () => {});

type Handler = (params: URLSearchParams, match: RegExpExecArray) => Promise<unknown>;

const routes: Array<[RegExp, Handler]> = [
  [
    /^\/api\/profiles\/([^/]+)$/,
    async (_params, match) => (await pool.query('SELECT id, handle, email, created_at FROM users WHERE lower(handle) = lower($1)', [decodeURIComponent(match[1]!)])).rows[0] ?? null,
  ],
  [
    /^\/api\/conversations$/,
    async (params) => {
      const { rows } = await pool.query<{ id: string; title: string }>('SELECT id, title, updated_at FROM conversations WHERE user_id = $1 ORDER BY updated_at DESC LIMIT 10', [params.get('user_id')]);
      // An N+1: one query per conversation for its last message.
      for (const row of rows) {
        const last = await pool.query('SELECT body, created_at FROM messages WHERE conversation_id = $1 ORDER BY created_at DESC LIMIT 1', [row.id]);
        Object.assign(row, { last_message: last.rows[0] ?? null });
      }
      return rows;
    },
  ],
  [
    /^\/api\/expenses$/,
    async (params) =>
      (await pool.query("SELECT id, spent_on, category, amount FROM expenses WHERE user_id = $1 AND spent_on >= current_date - $2::int ORDER BY spent_on DESC", [params.get('user_id'), params.get('days') ?? '90'])).rows,
  ],
  [
    /^\/api\/leads$/,
    async (params) =>
      (await pool.query('SELECT id, email, score, created_at FROM leads WHERE tenant_id = $1 AND status = $2 ORDER BY created_at DESC LIMIT 50', [params.get('tenant_id'), params.get('status') ?? 'new'])).rows,
  ],
  [
    /^\/api\/events$/,
    async (params) => (await pool.query('SELECT id, kind, payload, created_at FROM events WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20', [params.get('user_id')])).rows,
  ],
];

const server = http.createServer((req, res) => {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://demo');
  } catch {
    // A malformed request line must not take the API (a worker thread) down.
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{"error":"bad request"}');
    return;
  }
  for (const [pattern, handler] of routes) {
    const match = pattern.exec(url.pathname);
    if (!match) continue;
    handler(url.searchParams, match).then(
      (body) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      },
      (error: Error) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: error.message }));
      },
    );
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"error":"not found"}');
});
server.keepAliveTimeout = 30_000;

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  parentPort!.postMessage({ port: typeof address === 'object' && address ? address.port : 0 });
});

parentPort!.on('message', (message: unknown) => {
  if (message === 'stop') {
    server.closeAllConnections();
    server.close(() => void pool.end().finally(() => parentPort!.close()));
  }
});
