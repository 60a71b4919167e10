import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SqlSession } from '../../src/db/client.js';
import { runCli, startCli, useTestDatabase, writeTempFile } from '../support/database.js';
import { waitFor } from '../support/wait-for.js';

const db = useTestDatabase();

interface ScheduleDocument {
  mode: string;
  builds_at_once: number;
  cores: number;
  cores_source: string;
  tables: Array<{ table: string; max_parallel_maintenance_workers: number }>;
  refused: Array<{ name: string }>;
}
interface ApplyDocument {
  schedule?: ScheduleDocument;
  indexes: Array<{ name: string; action: string; max_parallel_maintenance_workers?: number }>;
}

/**
 * Two tables, one 15 pages and one 1, so that on 2 cores the scheduler builds both
 * at once and gives the big one a parallel worker and the small one none
 * (server default: 2 each). Their indexes are on an expression that reads a
 * gate table, so that a test transaction holding the gate keeps each build's
 * leader and workers in the table scan, where pg_stat_activity shows the
 * workers (leader_pid). min_parallel_table_scan_size 0 lets PostgreSQL give
 * workers to tables this small, so the table sizes stay cheap.
 */
async function gatedTables(): Promise<string> {
  const database = new URL(db.url).pathname.slice(1);
  await db.query(`ALTER DATABASE ${database} SET min_parallel_table_scan_size = 0`);
  await db.query('CREATE TABLE IF NOT EXISTS sched_gate (x int)');
  // Schema-qualified: from PostgreSQL 17 an index build runs its functions with search_path = pg_catalog, pg_temp.
  await db.query(
    'CREATE OR REPLACE FUNCTION sched_gated(v int) RETURNS int LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$ BEGIN PERFORM 1 FROM public.sched_gate LIMIT 1; RETURN v; END $$',
  );
  for (const [table, rows] of [['sched_big', 3_000], ['sched_small', 100]] as const) {
    await db.query(`CREATE TABLE IF NOT EXISTS ${table} (id int, v int)`);
    await db.query(`INSERT INTO ${table} SELECT g, g % 101 FROM generate_series(1, ${rows}) g`);
    await db.query(`VACUUM ANALYZE ${table}`);
  }
  return writeTempFile(
    'gated.yaml',
    `set: sched\nindexes:\n` +
      `  - { name: idx_sched_big, table: sched_big, columns: [{ expression: sched_gated(v) }] }\n` +
      `  - { name: idx_sched_small, table: sched_small, columns: [{ expression: sched_gated(v) }] }\n`,
  );
}

/** Parallel workers of each running build of ours, by the index it builds. */
async function workersByIndex(): Promise<Record<string, number>> {
  const rows = await db.query<{ index: string; workers: string }>(
    `SELECT substring(l.query FROM 'idx_sched_[a-z]+') AS index, count(w.pid) AS workers
     FROM pg_stat_activity l LEFT JOIN pg_stat_activity w ON w.leader_pid = l.pid
     WHERE l.datname = current_database() AND l.application_name = 'dbtune apply build' AND l.query LIKE 'CREATE INDEX CONCURRENTLY%'
     GROUP BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.index, Number(r.workers)]));
}

describe("apply's schedule: builds in parallel or parallel workers per build", () => {
  it('sets each build session to the workers it chose (seen as the builds running), and says so in JSON and the table', async () => {
    const file = await gatedTables();
    const gate: SqlSession = await db.session();
    await gate.query('BEGIN');
    await gate.query('LOCK TABLE sched_gate IN ACCESS EXCLUSIVE MODE');
    const run = startCli(['apply', file, '--json', '--server-cores', '2'], { DATABASE_URL: db.url });
    try {
      // Both leaders and their workers wait on the gate in the table scan.
      const seen = await waitFor(
        async () => {
          const workers = await workersByIndex();
          const waiting = await db.query<{ n: string }>(
            "SELECT count(*) AS n FROM pg_locks WHERE relation = 'sched_gate'::regclass AND NOT granted",
          );

          // A worker shows in pg_stat_activity a moment after its leader is already waiting: wait for the big build's.
          const all = 2 + (workers.idx_sched_big ?? 0) + (workers.idx_sched_small ?? 0);
          return Object.keys(workers).length === 2 && (workers.idx_sched_big ?? 0) > 0 && Number(waiting[0]!.n) === all && workers;
        },
        { what: 'both builds (leaders and workers) to wait on the gate', timeoutMs: 20_000 },
      );
      expect(seen).toEqual({ idx_sched_big: 1, idx_sched_small: 0 });
    } finally {
      await gate.query('COMMIT');
    }
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout) as ApplyDocument;
    expect(document.schedule).toMatchObject({
      mode: 'builds in parallel with workers',
      builds_at_once: 2,
      cores: 2,
      cores_source: 'option',
      tables: [
        { table: 'public.sched_big', max_parallel_maintenance_workers: 1 },
        { table: 'public.sched_small', max_parallel_maintenance_workers: 0 },
      ],
      refused: [],
    });
    // Read back from each build session after setting it.
    expect(document.indexes.map((i) => [i.name, i.action, i.max_parallel_maintenance_workers])).toEqual([
      ['idx_sched_big', 'created', 1],
      ['idx_sched_small', 'created', 0],
    ]);
    expect(result.stderr).toContain('schedule: builds in parallel with workers: 2 at a time, parallel workers per build: public.sched_big 1, public.sched_small 0');
    // Two build sessions share the default 1GB budget: 512MB each (more builds get less each: unit test).
    expect(result.stderr).toMatch(/; maintenance_work_mem 512MB per build session \(a share of 1GB\)/);

    // The table format too (Markdown and JUnit render the same notes and properties: report-schedule unit test).
    await db.query('DROP INDEX idx_sched_big, idx_sched_small');
    const table = await runCli(['apply', file, '--server-cores', '2'], { DATABASE_URL: db.url, NO_COLOR: '1' });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/schedule: builds in parallel with workers: 2 at a time, parallel workers per build: public\.sched_big 1, public\.sched_small 0 \(2 cores \(--server-cores\)/);
  });

  it('reads the core count where the role may read server files, assumes one where it may not, and builds on when the server refuses a setting', async () => {
    await db.query('CREATE TABLE IF NOT EXISTS sched_plain (id int, v int)');
    const file = await writeTempFile('plain.yaml', 'set: plain\nindexes:\n  - { name: idx_sched_plain_v, table: sched_plain, columns: [v] }\n');

    // The test server is local, so the superuser's backend tells its own CPUs; 4TB is over maintenance_work_mem's maximum.
    const asSuperuser = await runCli(['apply', file, '--json', '--maintenance-work-mem', '4TB'], { DATABASE_URL: db.url });
    expect(asSuperuser.code, asSuperuser.stderr).toBe(0);
    const first = JSON.parse(asSuperuser.stdout) as ApplyDocument;
    expect(first.indexes[0]!.action).toBe('created');
    if (process.platform === 'linux') expect(first.schedule).toMatchObject({ cores_source: 'server' });
    expect(first.schedule!.cores).toBeGreaterThanOrEqual(1);
    expect(first.schedule!.refused.map((r) => r.name)).toEqual(['maintenance_work_mem']);
    expect(asSuperuser.stderr).toMatch(/the server refused maintenance_work_mem = 4TB/);

    const role = `sched_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(9).toString('hex');
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' NOSUPERUSER`);
    await db.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${role}`);
    await db.query(`ALTER TABLE sched_plain OWNER TO ${role}`);
    await db.query('DROP INDEX idx_sched_plain_v');
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    const asOwner = await runCli(['apply', file, '--json'], { DATABASE_URL: url.toString() });
    expect(asOwner.code, asOwner.stderr).toBe(0);
    const second = JSON.parse(asOwner.stdout) as ApplyDocument;
    const defaults = await db.query<{ workers: string }>("SELECT current_setting('max_parallel_maintenance_workers') AS workers");
    expect(second.schedule).toMatchObject({ cores_source: 'assumed', cores: 1 + Number(defaults[0]!.workers) });
    expect(second.indexes[0]!.action).toBe('created');
  });
});
