import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runCli, useTestDatabase, writeTempFile } from '../support/database.js';

const db = useTestDatabase();

interface VerifyJson {
  passed: boolean;
  indexes: Array<{ name: string; status: string; reason: string }>;
}

/**
 * Without the TEMP privilege (or on a standby) verify cannot let PostgreSQL
 * normalise the declaration, so it cannot compare definitions. That is not
 * "ok": it is its own status in every format, and --strict fails it.
 */
describe('verify where definitions cannot be compared', () => {
  it('reports unverified, passes by default and fails under --strict', async () => {
    const role = `ro_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(9).toString('hex');
    const database = new URL(db.url).pathname.slice(1);
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' NOSUPERUSER`);
    await db.query(`REVOKE TEMPORARY ON DATABASE ${database} FROM PUBLIC`);
    await db.query(`GRANT CONNECT ON DATABASE ${database} TO ${role}`);
    await db.query('CREATE TABLE uv_items (id int, v int, title text)');
    await db.query('CREATE INDEX idx_uv_items_v ON uv_items (v)');
    await db.query('CREATE INDEX idx_uv_items_title ON uv_items (lower(title))');
    const url = new URL(db.url);
    url.username = role;
    url.password = password;
    // An expression needs PostgreSQL's normaliser (a shadow build); plain columns compare from the catalog.
    const file = await writeTempFile(
      'uv.yaml',
      'set: uv\nindexes:\n  - { name: idx_uv_items_title, table: uv_items, columns: [{ expression: lower(title) }] }\n  - { name: idx_uv_items_v, table: uv_items, columns: [v] }\n',
    );

    const loose = await runCli(['verify', file, '--json'], { DATABASE_URL: url.toString() });
    expect(loose.code, loose.stderr).toBe(0);
    const report = JSON.parse(loose.stdout) as VerifyJson;
    expect(report.passed).toBe(true);
    expect(report.indexes[0]).toMatchObject({ name: 'idx_uv_items_title', status: 'unverified', reason: 'valid (definition not compared)' });
    expect(report.indexes[1]).toMatchObject({ name: 'idx_uv_items_v', status: 'ok', reason: 'valid and matches its declaration' });

    const table = await runCli(['verify', file], { DATABASE_URL: url.toString() });
    expect(table.stdout).toMatch(/idx_uv_items_title.*unverified.*definition not compared/);

    const strict = await runCli(['verify', file, '--strict', '--json'], { DATABASE_URL: url.toString() });
    expect(strict.code, strict.stderr).toBe(1);
    const strictReport = JSON.parse(strict.stdout) as VerifyJson;
    expect(strictReport.passed).toBe(false);
    expect(strictReport.indexes.map((i) => i.status)).toEqual(['unverified', 'ok']);

    const junit = await runCli(['verify', file, '--strict', '--format', 'junit'], { DATABASE_URL: url.toString() });
    // A plain index is still compared from the catalog: a drifted one fails even without TEMP.
    await db.query('CREATE INDEX idx_uv_items_id ON uv_items (id)');
    const drifted = await writeTempFile('drift.yaml', 'set: uv\nindexes:\n  - { name: idx_uv_items_id, table: uv_items, columns: [id, v] }\n');
    const drift = await runCli(['verify', drifted, '--json'], { DATABASE_URL: url.toString() });
    expect(drift.code, drift.stderr).toBe(1);
    expect((JSON.parse(drift.stdout) as VerifyJson).indexes[0]).toMatchObject({ name: 'idx_uv_items_id', status: 'drift' });

    expect(junit.stdout).toMatch(/<testcase[^>]*idx_uv_items_title[^>]*>\s*<failure[^>]*message="unverified: valid \(definition not compared\)"/);
  });
});
