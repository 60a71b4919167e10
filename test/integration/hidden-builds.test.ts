import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SqlSession } from '../../src/db/client.js';
import { indexDef, runCli, useTestDatabase, writeTempFile } from '../support/database.js';
import { waitFor } from '../support/wait-for.js';

const db = useTestDatabase();

/**
 * A role without pg_read_all_stats cannot see which index another role's
 * session is building (pg_stat_progress_create_index hides relid and
 * index_relid, pg_stat_activity hides backend_type). A DBA's live concurrent
 * build must still read as `building`, never as an invalid leftover that
 * apply would drop.
 */
describe("another role's concurrent build, seen by a role that cannot see its details", () => {
  it('is building, not invalid, and apply does not drop it', async () => {
    const role = `own_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(9).toString('hex');
    const database = new URL(db.url).pathname.slice(1);
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' NOSUPERUSER`);
    await db.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${database} TO ${role}`);
    await db.query(`GRANT CREATE, USAGE ON SCHEMA public TO ${role}`);
    await db.query('CREATE TABLE dba_items (id int, v int)');
    await db.query(`ALTER TABLE dba_items OWNER TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = password;

    // A writer's open transaction holds the superuser's concurrent build in its first wait.
    const writer: SqlSession = await db.session();
    const dba: SqlSession = await db.session();
    await writer.query('BEGIN');
    await writer.query('INSERT INTO dba_items VALUES (1, 1)');
    const build = dba.query('CREATE INDEX CONCURRENTLY idx_dba_items_v ON dba_items (v)');
    build.catch(() => undefined);
    try {
      await waitFor(
        async () => {
          const rows = await db.query<{ n: string }>(
            "SELECT count(*) AS n FROM pg_stat_progress_create_index p JOIN pg_class c ON c.oid = p.index_relid WHERE c.relname = 'idx_dba_items_v'",
          );
          return Number(rows[0]!.n) === 1;
        },
        { what: 'the superuser build of idx_dba_items_v to wait for the writer' },
      );
      expect((await indexDef(db, 'idx_dba_items_v'))?.valid).toBe(false);

      const file = await writeTempFile('dba.yaml', 'set: dba\nindexes:\n  - { name: idx_dba_items_v, table: dba_items, columns: [v] }\n');
      const plan = await runCli(['plan', file, '--json'], { DATABASE_URL: url.toString() });
      const planned = (JSON.parse(plan.stdout) as { indexes: Array<{ state: string; reason: string; action: string }> }).indexes[0]!;
      expect(planned.state, planned.reason).toBe('building');
      expect(planned.reason).toMatch(/pid \d+/);

      const apply = await runCli(['apply', file, '--json', '--max-wait', '1s'], { DATABASE_URL: url.toString() });
      expect(apply.code, apply.stderr).toBe(1);
      const applied = (JSON.parse(apply.stdout) as { indexes: Array<{ action: string; state_before: string; statements: unknown[] }> }).indexes[0]!;
      expect(applied).toMatchObject({ action: 'skipped', state_before: 'building', statements: [] });
      // The DBA's build is still there, still being built.
      const still = await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_progress_create_index p JOIN pg_class c ON c.oid = p.index_relid WHERE c.relname = 'idx_dba_items_v'",
      );
      expect(Number(still[0]!.n)).toBe(1);
    } finally {
      await writer.query('COMMIT');
      await build;
    }
    expect((await indexDef(db, 'idx_dba_items_v'))?.valid).toBe(true);
  });
});
