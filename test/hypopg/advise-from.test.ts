import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadIndexSets } from '../../src/config/load-index-sets.js';
import type { LoadResult } from '../../src/model/load-result.js';
import type { StageDatabase } from '../../src/model/stage-database.js';
import { runCli, useTestDatabase, writeTempFile } from '../support/database.js';
import { startTarget, type TestTarget } from '../support/http-target.js';

/**
 * `dbtune advise --from`: the workload of a real saved loadtest result (an API on a 150k-row table,
 * watched by the database watch over two stages), scored with HypoPG on Debian's PostgreSQL 15.
 */

const unavailable = inject('hypopgUnavailable');

const FEED = 'SELECT id, kind, created_at FROM events WHERE account_id = $1 ORDER BY created_at DESC LIMIT 10';
/** pg_stat_statements' text of FEED: every constant a parameter. */
const FEED_SEEN = FEED.replace('LIMIT 10', 'LIMIT $2');
const BY_ID = 'SELECT * FROM events WHERE id = $1';

interface AdviceJson {
  indexes: Array<{ name: string; table: string; keys: Array<{ column?: string; order: string }>; include?: string[]; statements: Array<{ id: number; calls: number }> }>;
  statements: Array<{ id: number; origin: string; query: string; calls: number; status: string; served_by: string[]; cost_before?: number; cost_after?: number }>;
}

describe.skipIf(Boolean(unavailable))('dbtune advise --from a saved loadtest result', () => {
  const db = useTestDatabase();
  let api: TestTarget;
  let pool: pg.Pool;
  let saved: string;

  beforeAll(async () => {
    for (const sql of [
      'CREATE EXTENSION IF NOT EXISTS pg_stat_statements',
      'SET synchronous_commit = on',
      'CREATE TABLE events (id bigint PRIMARY KEY, account_id int NOT NULL, ref int NOT NULL, kind text NOT NULL, amount numeric NOT NULL, created_at timestamptz NOT NULL, payload text)',
      `INSERT INTO events SELECT g, g % 3000, g % 10000, 'kind' || (g % 5), g % 700, now() - g * interval '1 minute', repeat('x', 40) FROM generate_series(1, 150000) g`,
      // Vacuumed, so that the visibility map says the pages are all-visible, as autovacuum leaves a table, and
      // index-only scans pay. VACUUM marks a page all-visible only once its rows' hint bits are set, which
      // waits for the inserting commit to be flushed: the test server runs with synchronous_commit off.
      'VACUUM ANALYZE events',
    ]) {
      await db.query(sql);
    }
    expect(await db.query("SELECT relallvisible > 0 AS visible FROM pg_class WHERE relname = 'events'")).toEqual([{ visible: true }]);
    pool = new pg.Pool({ connectionString: db.url, max: 2, application_name: 'test-api' });
    pool.on('error', () => {});
    api = await startTarget((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const account = Number(u.searchParams.get('account'));
      Promise.all([pool.query(FEED, [account]), pool.query(BY_ID, [account * 7])]).then(
        () => res.writeHead(200).end('{}'),
        (error: Error) => res.writeHead(500).end(error.message),
      );
    });
    const scenario = await writeTempFile(
      'feed.yaml',
      `scenario: feed\ntarget: ${api.url}\nrequests: [{ name: feed, path: "/feed?account={{int 1 3000}}" }]\nstages: [{ users: 2, duration: 1s }, { users: 2, duration: 1s }]\ndatabase: { settle: 100ms }\n`,
    );
    saved = path.join(path.dirname(scenario), 'result.json');
    const run = await runCli(['loadtest', scenario, '--database-url', db.url, '--out', saved]);
    expect(run.code, run.stderr).toBe(0);
  });

  afterAll(async () => {
    await api?.close();
    await pool?.end();
  });

  it('advises from the statements the watch saw in every stage, weighted by their calls', async () => {
    const result = JSON.parse(await readFile(saved, 'utf8')) as LoadResult;
    const seen = (stage: number) => (result.stages[stage]!.database as StageDatabase).statements!.find((s) => s.query === FEED_SEEN)!.calls;
    const feedCalls = seen(0) + seen(1);
    expect(seen(0)).toBeGreaterThan(0);
    expect(seen(1)).toBeGreaterThan(0);

    const out = path.join(path.dirname(saved), 'advised.yaml');
    const run = await runCli(['advise', '--from', saved, '--format', 'json', '--out', out], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(0);
    const advice = JSON.parse(run.stdout) as AdviceJson;
    const feed = advice.statements.find((s) => s.query === FEED_SEEN)!;
    expect(feed).toMatchObject({ status: 'improved', calls: feedCalls });
    expect(feed.origin).toMatch(/result\.json stages 1, 2$/);
    expect(advice.statements.find((s) => s.query === BY_ID)).toMatchObject({ status: 'served', served_by: ['events_pkey'] });
    const [index] = advice.indexes;
    expect(advice.indexes).toHaveLength(1);
    expect(index!.keys.map((k) => [k.column, k.order])).toEqual([['account_id', 'asc'], ['created_at', 'desc']]);
    expect(index!.statements).toEqual([{ id: feed.id, calls: feedCalls, cost_before: expect.any(Number), cost_after: expect.any(Number) }]);

    // The set carries a check for the statement, its parameters from pg_stats; after apply, verify runs it and it passes.
    const yaml = await readFile(out, 'utf8');
    expect(yaml).toContain(`expect: { uses_index: ${JSON.stringify(index!.name)} }`);
    expect(yaml).toMatch(/# #\d+: \$1: events\.account_id: the histogram's median; \$2: a page of 20 rows/);
    const [histogram] = await db.query<{ median: string }>("SELECT (histogram_bounds::text::text[])[51] AS median FROM pg_stats WHERE tablename = 'events' AND attname = 'account_id'");
    expect(yaml).toContain(`params: [${JSON.stringify(histogram!.median)}, 20]`);
    const applied = await runCli(['apply', out], { DATABASE_URL: db.url });
    expect(applied.code, applied.stderr).toBe(0);
    const verified = await runCli(['verify', out, '--format', 'json', '--runs', '1'], { DATABASE_URL: db.url });
    expect(verified.code, verified.stdout).toBe(0);
    const checks = (JSON.parse(verified.stdout) as { checks: Array<{ name: string; passed: boolean; generic?: { status: string } }> }).checks;
    expect(checks).toEqual([expect.objectContaining({ passed: true, generic: expect.objectContaining({ status: 'pass' }) })]);
  });

  it('refuses, with exit 2, a file that is not a loadtest result, one without database figures, and one without statements', async () => {
    const result = JSON.parse(await readFile(saved, 'utf8')) as LoadResult;
    const variant = async (name: string, value: unknown) => {
      const file = await writeTempFile(name, JSON.stringify(value));
      return runCli(['advise', '--from', file], { DATABASE_URL: db.url });
    };
    const notResult = await variant('other.json', { kind: 'something', stages: [] });
    expect(notResult.code).toBe(2);
    expect(notResult.stderr).toMatch(/not a saved dbtune result/);
    const unwatched = await variant('unwatched.json', { ...result, stages: result.stages.map(({ database: _database, ...stage }) => stage) });
    expect(unwatched.code).toBe(2);
    expect(unwatched.stderr).toMatch(/no database figures .*no `database:` section/);
    const empty = (db: StageDatabase) => ({ ...db, statements: [], top_statements: [], top_statements_by_time: [] });
    const silent = await variant('silent.json', { ...result, stages: result.stages.map((s) => ({ ...s, database: empty(s.database as StageDatabase) })) });
    expect(silent.code).toBe(2);
    expect(silent.stderr).toMatch(/no statements in this loadtest result/);
    const both = await runCli(['advise', '--from', saved, '--statements', saved], { DATABASE_URL: db.url });
    expect(both.code).toBe(2);
  });

  it('proposes an INCLUDE variant for a statement that reads a few more columns, and keeps it for its index-only scan', async () => {
    const file = await writeTempFile('covering.sql', 'SELECT sum(amount) FROM events WHERE ref = $1;\n');
    const out = path.join(path.dirname(file), 'covering.yaml');
    const run = await runCli(['advise', '--statements', file, '--format', 'json', '--out', out], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(0);
    const advice = JSON.parse(run.stdout) as AdviceJson;
    // One index, not the plain one and its variant: the plain (ref) wins the near-tie on the whole cost, then
    // the variant cuts what is left (the heap fetches) by far more than --min-improvement and replaces it.
    expect(advice.indexes.map((ix) => [ix.keys.map((k) => k.column), ix.include])).toEqual([[['ref'], ['amount']]]);
    expect(advice.statements[0]!.cost_after!).toBeLessThan(advice.statements[0]!.cost_before! / 100);
    const [set] = await loadIndexSets([out]);
    expect(set!.indexes[0]!.include).toEqual(['amount']);
  });
});
