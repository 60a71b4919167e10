import { describe, expect, it } from 'vitest';
import { indexDef, runCli, useTestDatabase, writeTempFile } from '../support/database.js';

const db = useTestDatabase();

interface ApplyJson {
  indexes: Array<{ name: string; action: string; reason: string; statements: string[] }>;
}

/**
 * An interrupted `apply --rebuild-drift` can leave its finished copy
 * (`<name>_dbtune_new`) behind. The next apply finishes the swap with it
 * instead of dropping it and building again, and `drop` removes it too.
 */
describe('the copy an interrupted rebuild left', () => {
  it('is renamed into place when the declared index is gone: nothing is built again', async () => {
    await db.query('CREATE TABLE rl_a (a int, b int)');
    await db.query('CREATE INDEX idx_rl_a_dbtune_new ON rl_a (a)');
    const file = await writeTempFile('a.yaml', 'set: rl\nindexes:\n  - { name: idx_rl_a, table: rl_a, columns: [a] }\n');
    const apply = await runCli(['apply', file, '--json'], { DATABASE_URL: db.url });
    expect(apply.code, apply.stderr).toBe(0);
    const [result] = (JSON.parse(apply.stdout) as ApplyJson).indexes;
    expect(result!.statements).toEqual(['ALTER INDEX "public"."idx_rl_a_dbtune_new" RENAME TO "idx_rl_a"']);
    expect(result!.reason).toMatch(/finished the swap/);
    expect((await indexDef(db, 'idx_rl_a'))?.valid).toBe(true);
    expect(await indexDef(db, 'idx_rl_a_dbtune_new')).toBeUndefined();
    const verify = await runCli(['verify', file], { DATABASE_URL: db.url });
    expect(verify.code, verify.stdout).toBe(0);
  });

  it('replaces a drifted index under --rebuild-drift by dropping it and renaming the copy', async () => {
    await db.query('CREATE TABLE rl_b (a int, b int)');
    await db.query('CREATE INDEX idx_rl_b ON rl_b (a)');
    await db.query('CREATE INDEX idx_rl_b_dbtune_new ON rl_b (b)');
    const file = await writeTempFile('b.yaml', 'set: rl\nindexes:\n  - { name: idx_rl_b, table: rl_b, columns: [b] }\n');
    const plain = await runCli(['apply', file, '--json'], { DATABASE_URL: db.url });
    expect(plain.code).toBe(1);
    expect((JSON.parse(plain.stdout) as ApplyJson).indexes[0]!.reason).toMatch(/idx_rl_b_dbtune_new is a valid copy that matches the declaration/);
    const apply = await runCli(['apply', file, '--json', '--rebuild-drift'], { DATABASE_URL: db.url });
    expect(apply.code, apply.stderr).toBe(0);
    expect((JSON.parse(apply.stdout) as ApplyJson).indexes[0]!.statements).toEqual([
      'DROP INDEX CONCURRENTLY IF EXISTS "public"."idx_rl_b"',
      'ALTER INDEX "public"."idx_rl_b_dbtune_new" RENAME TO "idx_rl_b"',
    ]);
    expect((await indexDef(db, 'idx_rl_b'))?.def).toMatch(/\(b\)$/);
  });

  it('is dropped by dbtune drop together with the declared index', async () => {
    await db.query('CREATE TABLE rl_c (a int)');
    await db.query('CREATE INDEX idx_rl_c ON rl_c (a)');
    await db.query('CREATE INDEX idx_rl_c_dbtune_new ON rl_c (a)');
    const file = await writeTempFile('c.yaml', 'set: rl\nindexes:\n  - { name: idx_rl_c, table: rl_c, columns: [a] }\n');
    const drop = await runCli(['drop', file], { DATABASE_URL: db.url });
    expect(drop.code, drop.stderr).toBe(0);
    expect(await indexDef(db, 'idx_rl_c')).toBeUndefined();
    expect(await indexDef(db, 'idx_rl_c_dbtune_new')).toBeUndefined();
  });
});
