import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../src/model/load-result.js';
import { runCli, startCli, useTestDatabase, writeTempFile } from '../support/database.js';
import { waitForBackends, waitForBackendsGone } from '../support/server-state.js';
import { dbOf, N, PGSS_ONLY, useWatchedApi } from '../support/watched-api.js';

/**
 * The database watch's cases that do not depend on the server's major (run on
 * the oldest and newest): thresholds on its figures, sessions at the pool size,
 * a role without pg_read_all_stats, the watch session dying, an unreachable
 * database.
 */

const db = useTestDatabase();
const shop = useWatchedApi(db);
const loadtest = shop.loadtest;

describe('loadtest with a database to watch', { timeout: 180_000 }, () => {
  it('fails a stage on database thresholds, in the same report and exit code', async () => {
    const { result, run } = await loadtest('[{ name: customers, path: /customers }]', [], db.url, 'database:\n  thresholds: { queries_per_request: 2, connections: 50, cache_hit_ratio: 50% }\n');
    expect(run.code, run.stderr).toBe(1);
    const thresholds = result.stages[0]!.thresholds;
    expect(thresholds.find((t) => t.name === 'queries_per_request')).toMatchObject({ passed: false, limit: '≤ 2' });
    expect(thresholds.find((t) => t.name === 'connections')).toMatchObject({ passed: true });
    expect(thresholds.find((t) => t.name === 'cache_hit_ratio')).toMatchObject({ passed: true });
    expect(result.max_sustained_users).toBe(0);
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
    const file = await writeTempFile('pool.yaml', `scenario: pool\ntarget: ${shop.api.url}\nrequests: [{ name: slow, path: /slow }]\nstages: [{ users: 12, duration: 2s }]\n${PGSS_ONLY}`);
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

  it('keeps the load result when the watch session dies mid-stage, saying so', async () => {
    const file = await writeTempFile('killed.yaml', `scenario: killed\ntarget: ${shop.api.url}\nrequests: [{ name: a, path: /customers-joined }]\nstages: [{ users: 2, duration: 3s }]\n`);
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
    const file = await writeTempFile('unreachable.yaml', `scenario: x\ntarget: ${shop.api.url}\nrequests: [{ name: a, path: /customers-joined }]\nstages: [{ users: 2, duration: 10s }]\n`);
    const before = shop.api.received.length;
    const run = await runCli(['loadtest', file, '--database-url', 'postgresql://nobody@127.0.0.1:9/none?connect_timeout=3']);
    expect(run.code).toBe(3);
    expect(shop.api.received.length).toBe(before);
  });
});
