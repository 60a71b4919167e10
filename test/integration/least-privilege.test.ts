import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { indexDef, runCli, useTestDatabase, writeTempFile } from '../support/database.js';
import { waitForBackendsGone } from '../support/server-state.js';

const db = useTestDatabase();

/**
 * Managed services give no superuser: an application role that owns its
 * tables must be able to plan and apply. Without the TEMP privilege (some
 * hardened setups revoke it) the shadow build is skipped with a note instead
 * of failing.
 */
describe('as a non-superuser table owner', () => {
  it('plans and applies; without TEMP it says definitions are not compared, and still builds', async () => {
    const role = `app_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(9).toString('hex');
    const database = new URL(db.url).pathname.slice(1);
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' NOSUPERUSER NOCREATEDB NOCREATEROLE`);
    await db.query(`GRANT CONNECT ON DATABASE ${database} TO ${role}`);
    await db.query(`GRANT CREATE, USAGE ON SCHEMA public TO ${role}`);
    await db.query(`CREATE TABLE app_items (id serial, owner_id int, title text)`);
    await db.query(`ALTER TABLE app_items OWNER TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    const file = await writeTempFile(
      'app.yaml',
      'set: app\nindexes:\n  - { name: idx_app_items_owner, table: app_items, columns: [owner_id] }\n  - { name: idx_app_items_title, table: app_items, columns: [{ expression: lower(title) }] }\n',
    );

    const applied = await runCli(['apply', file, '--json'], { DATABASE_URL: url.toString() });
    expect(applied.code, applied.stderr).toBe(0);
    expect((await indexDef(db, 'idx_app_items_owner'))?.valid).toBe(true);

    await db.query(`REVOKE TEMPORARY ON DATABASE ${database} FROM PUBLIC`);
    await db.query('DROP INDEX idx_app_items_title');
    const plan = await runCli(['plan', file], { DATABASE_URL: url.toString() });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/note: cannot create temporary objects .*definitions are not compared/);
    // A plain-column index is still compared from the catalog without the shadow build.
    expect(plan.stdout).toMatch(/idx_app_items_owner\s+│.*│ ok\s+│ none\s+│ valid and matches its declaration/);
    const again = await runCli(['apply', file, '--json'], { DATABASE_URL: url.toString() });
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { indexes: Array<{ action: string }> }).indexes.map((i) => i.action)).toEqual(['exists', 'created']);
  });

  it('builds everything on the sessions it can open when the role hits its connection limit', async () => {
    const role = `lim_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(9).toString('hex');
    const database = new URL(db.url).pathname.slice(1);
    // One control session and one build session fit; the other --jobs sessions are refused.
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' CONNECTION LIMIT 2`);
    await db.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${database} TO ${role}`);
    await db.query(`GRANT CREATE, USAGE ON SCHEMA public TO ${role}`);
    const tables = ['lim_a', 'lim_b', 'lim_c'];
    for (const t of tables) {
      await db.query(`CREATE TABLE ${t} (id int, v int)`);
      await db.query(`ALTER TABLE ${t} OWNER TO ${role}`);
    }
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    const file = await writeTempFile('lim.yaml', `set: lim\nindexes:\n${tables.map((t) => `  - { name: idx_${t}_v, table: ${t}, columns: [v] }`).join('\n')}\n`);
    // The limit counts every backend of the role, one still exiting too: the run starts from none.
    await waitForBackendsGone(db, `the sessions of ${role} to end`, 'usename = $1', [role]);
    const result = await runCli(['apply', file, '--json', '--jobs', '3'], { DATABASE_URL: url.toString() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/could open only 1 of 3 build sessions \(.*too many connections for role.*\): building 1 at a time/);
    expect((JSON.parse(result.stdout) as { indexes: Array<{ action: string }> }).indexes.map((i) => i.action)).toEqual(['created', 'created', 'created']);
    for (const t of tables) expect((await indexDef(db, `idx_${t}_v`))?.valid).toBe(true);
  });
});
