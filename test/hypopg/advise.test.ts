import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { loadIndexSets } from '../../src/config/load-index-sets.js';
import { runCli, useTestDatabase, writeTempFile } from '../support/database.js';

const SECRET = `sk_live_${randomBytes(6).toString('hex')}`;

/**
 * `dbtune advise` on realistic data (100k–200k rows) and a workload run through the database,
 * scored with HypoPG on Debian's PostgreSQL 15 (global-setup.ts). Skipped, with a warning from
 * the global setup, where that server or hypopg is not installed.
 */

const unavailable = inject('hypopgUnavailable');

interface AdviceJson {
  indexes: Array<{ name: string; table: string; keys: Array<{ column?: string; expression?: string; order: string }>; where?: string; statements: Array<{ id: number }>; size_bytes: number; table_writes: number | null }>;
  statements: Array<{ id: number; query: string; status: string; reason?: string; indexes: string[]; served_by: string[]; notes: string[]; cost_before?: number; cost_after?: number }>;
}

describe.skipIf(Boolean(unavailable))('dbtune advise with HypoPG', () => {
  const db = useTestDatabase();
  const env = () => ({ DATABASE_URL: db.url });

  beforeAll(async () => {
    for (const sql of [
      'CREATE EXTENSION IF NOT EXISTS pg_stat_statements',
      `CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, created_at timestamptz NOT NULL)`,
      `INSERT INTO users SELECT g, 'User' || g || '@Example.com', now() - g * interval '1 minute' FROM generate_series(1, 100000) g`,
      `CREATE TABLE conversations (id bigint PRIMARY KEY, user_id bigint NOT NULL, created_at timestamptz NOT NULL, title text)`,
      `INSERT INTO conversations SELECT g, g % 5000, now() - g * interval '1 second', 'title ' || g FROM generate_series(1, 200000) g`,
      `CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL, total numeric NOT NULL)`,
      `INSERT INTO orders SELECT g, g % 20000, CASE WHEN g % 50 = 0 THEN 'open' ELSE 'closed' END, g % 500 FROM generate_series(1, 200000) g`,
      'CREATE INDEX orders_customer_idx ON orders (customer_id)',
      'ANALYZE',
      'SELECT pg_stat_statements_reset()',
    ]) {
      await db.query(sql);
    }
    // The workload, with parameters, several times: what pg_stat_statements then reports.
    const s = await db.session();
    for (let i = 1; i <= 8; i++) {
      await s.query('SELECT * FROM conversations WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20', [i * 7]);
      await s.query('SELECT id FROM users WHERE lower(email) = $1', [`user${i}@example.com`]);
      await s.query('SELECT * FROM orders WHERE customer_id = $1', [i]);
      // PostgreSQL 15 cannot plan its own normalised text of this one (`interval $1`).
      await s.query(`SELECT count(*) FROM users WHERE created_at > now() - interval '1 day'`);
      // A comment as ORMs add them, carrying what must never be printed.
      await s.query(`SELECT /* token=${SECRET} */ id FROM users WHERE id = $1`, [i]);
    }
  });

  it('advises a composite in sort direction and an expression index, says what is already served, and the set it writes loads and applies', async () => {
    const out = path.join(path.dirname(await writeTempFile('x', '')), 'advised.yaml');
    const result = await runCli(['advise', '--format', 'json', '--out', out], env());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const advice = JSON.parse(result.stdout) as AdviceJson;

    const byQuery = (fragment: string) => advice.statements.find((s) => s.query.includes(fragment))!;
    const history = byQuery('FROM conversations');
    const email = byQuery('lower(email)');
    const orders = byQuery('FROM orders');
    const interval = byQuery('interval');
    expect(advice.statements.some((s) => /pg_backend_pid|dbtune-/.test(s.query))).toBe(false);
    // pg_stat_statements keeps comments: reported texts go through reportableQuery, as the watch's do.
    expect(advice.statements.some((s) => /^SELECT\s+id FROM users WHERE id = \$1$/.test(s.query))).toBe(true);
    expect(result.stdout).not.toContain(SECRET);
    expect(await readFile(out, 'utf8')).not.toContain(SECRET);

    const composite = advice.indexes.find((ix) => ix.table === 'public.conversations')!;
    expect(composite.keys).toEqual([{ column: 'user_id', order: 'asc' }, { column: 'created_at', order: 'desc' }]);
    expect(history).toMatchObject({ status: 'improved', indexes: [composite.name] });
    expect(history.cost_after!).toBeLessThan(history.cost_before! / 2);
    expect(composite.size_bytes).toBeGreaterThan(0);
    expect(composite.table_writes).toBe(200000);

    const expression = advice.indexes.find((ix) => ix.table === 'public.users')!;
    expect(expression.keys).toEqual([{ expression: 'lower(email)', order: 'asc' }]);
    expect(email).toMatchObject({ status: 'improved', indexes: [expression.name] });

    expect(advice.indexes.some((ix) => ix.table === 'public.orders')).toBe(false);
    expect(orders).toMatchObject({ status: 'served', served_by: ['orders_customer_idx'] });

    expect(interval.status).toBe('unusable');
    expect(interval.reason).toMatch(/could not plan it: syntax error/);

    // The set loads as any index set does, and apply makes the statements use the indexes.
    const yaml = await readFile(out, 'utf8');
    expect(yaml).toMatch(/# idx_conversations_user_id_created_at: saves \d+% of the workload's cost/);
    const [set] = await loadIndexSets([out]);
    expect(set!.indexes.map((ix) => ix.name).sort()).toEqual(advice.indexes.map((ix) => ix.name).sort());
    const applied = await runCli(['apply', out], env());
    expect(applied.code, applied.stderr).toBe(0);
    const plan = async (sql: string, params: unknown[]) => JSON.stringify(await db.query(`EXPLAIN ${sql}`, params));
    expect(await plan('SELECT * FROM conversations WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20', [42])).toContain(composite.name);
    expect(await plan('SELECT id FROM users WHERE lower(email) = $1', ['user5@example.com'])).toContain(expression.name);

    // Its checks (one per improved statement, values from pg_stats or, for lower(email), read from the table) pass.
    expect(yaml).toMatch(/# #\d+: \$1: users\.lower\(email\): a value read from the table/);
    const verified = await runCli(['verify', out, '--format', 'json', '--runs', '1'], env());
    expect(verified.code, verified.stdout).toBe(0);
    const checks = (JSON.parse(verified.stdout) as { checks: Array<{ passed: boolean; status: string }> }).checks;
    expect(checks.map((c) => c.status)).toEqual(['pass', 'pass']);
  });

  it('writes no --out file when nothing is advised (statements on the primary key), and says why', async () => {
    const file = await writeTempFile('served.sql', 'SELECT email FROM users WHERE id = $1;\n');
    const out = path.join(path.dirname(file), 'advised.yaml');
    const result = await runCli(['advise', '--statements', file, '--format', 'json', '--out', out], env());
    expect(result.code, result.stderr).toBe(0);
    expect(await readdir(path.dirname(file))).toEqual(['served.sql']);
    const advice = JSON.parse(result.stdout) as AdviceJson & { out_written: boolean; out_skipped: string };
    expect(advice.statements.map((s) => s.status)).toEqual(['served']);
    expect(advice).toMatchObject({ indexes: [], out, out_written: false, out_skipped: expect.stringMatching(/no index was advised/) });
    expect(result.stderr).toContain(`--out ${out} not written: no index was advised`);
  });

  it('reads a check parameter from the table through a chosen index key only, never through a function of the statement (it may have side effects)', async () => {
    // A VOLATILE function with a side effect READ ONLY does not stop: it ends the victim's session.
    const victim = await db.session();
    const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
    await db.query(`CREATE FUNCTION side_effect(v bigint) RETURNS bigint VOLATILE LANGUAGE sql AS $$ SELECT CASE WHEN pg_terminate_backend(${Number(pid)}) THEN v ELSE v END $$`);
    const file = await writeTempFile('side.sql', 'SELECT id FROM users WHERE created_at = $1 AND side_effect(id) = $2;\n');
    const out = path.join(path.dirname(file), 'side.yaml');
    const result = await runCli(['advise', '--statements', file, '--format', 'json', '--out', out], env());
    expect(result.code, result.stderr).toBe(0);
    const advice = JSON.parse(result.stdout) as AdviceJson;
    expect(advice.statements.map((s) => s.status)).toEqual(['improved']);
    expect(await readFile(out, 'utf8')).toMatch(/no statistics or value for \$2/);
    // The victim's session is still there: side_effect() never ran.
    await expect(victim.query('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
  });

  it('advises a partial index from --statements, lists what it cannot use, and refuses a file with a syntax error', async () => {
    const file = await writeTempFile('hot.sql', [
      '-- hot paths',
      "SELECT count(*) FROM orders WHERE status = 'open';",
      "INSERT INTO orders VALUES (0, 1, 'open', 1);",
      'SELECT * FROM no_such_table WHERE id = 1;',
      // date() of a timestamptz is STABLE, not IMMUTABLE: HypoPG refuses the expression index.
      "SELECT id FROM users WHERE date(created_at) = '2026-01-01';",
    ].join('\n'));
    const result = await runCli(['advise', '--statements', file, '--format', 'json'], env());
    expect(result.code, result.stderr).toBe(0);
    const advice = JSON.parse(result.stdout) as AdviceJson;
    expect(advice.indexes).toHaveLength(1);
    expect(advice.indexes[0]).toMatchObject({ table: 'public.orders', where: "status = 'open'" });
    expect(advice.statements.map((s) => s.status)).toEqual(['improved', 'unusable', 'unusable', 'no_gain']);
    expect(advice.statements[3]!.notes.join('\n')).toMatch(/not scored: HypoPG refused CREATE INDEX ON "public"\."users" \(\(date\(created_at\)\)\): .*must be marked IMMUTABLE/);
    expect(advice.statements[1]!.reason).toMatch(/INSERT … VALUES/);
    expect(advice.statements[2]!.reason).toMatch(/no_such_table not found/);

    // An index set is a file people edit: --out replaces one only with --force.
    const out = path.join(path.dirname(file), 'hot.yaml');
    await writeFile(out, '# edited by hand\n');
    const kept = await runCli(['advise', '--statements', file, '--out', out], env());
    expect(kept.code).toBe(2);
    expect(kept.stderr).toMatch(/exists; nothing was written/);
    expect(await readFile(out, 'utf8')).toBe('# edited by hand\n');
    const markdown = await runCli(['advise', '--statements', file, '--format', 'markdown', '--out', out, '--force'], env());
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toContain(advice.indexes[0]!.name);
    expect(await readFile(out, 'utf8')).toContain(advice.indexes[0]!.name);

    const bad = await writeTempFile('bad.sql', 'SELECT 1;\nSELEC * FROM orders;\n');
    const refused = await runCli(['advise', '--statements', bad], env());
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/bad\.sql:2:1 .*syntax error/);
    const usage = await runCli(['advise', '--min-improvement', '0%'], env());
    expect(usage.code).toBe(2);
  });
});
