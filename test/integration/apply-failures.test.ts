import { describe, expect, it } from 'vitest';
import { indexDef, runCli, startCli, useTestDatabase, writeTempFile } from '../support/database.js';
import { waitForBackends, waitForBuildPhase } from '../support/server-state.js';

const db = useTestDatabase();

interface ApplyJson {
  passed: boolean;
  indexes: Array<{
    name: string;
    action: string;
    state_before: string;
    reason: string;
    error?: { code?: string; message: string; detail?: string };
    blockers?: Array<{ pid: number }>;
    leftover?: string;
    differences?: Array<{ field: string; declared: string; live: string }>;
  }>;
}

const byName = (report: ApplyJson, name: string) => report.indexes.find((i) => i.name === name)!;

describe('apply when builds fail or wait', () => {
  it('reports a unique build over duplicates with PostgreSQL\'s error, drops its leftover, and still builds the rest', async () => {
    await db.query('CREATE TABLE users (id serial PRIMARY KEY, email text, plan text)');
    await db.query("INSERT INTO users (email, plan) SELECT 'u' || (g % 900) || '@example.com', 'free' FROM generate_series(1, 1000) g");
    const file = await writeTempFile(
      'users.yaml',
      `set: users
indexes:
  - name: idx_users_email_unique
    table: users
    columns: [email]
    unique: true
  - name: idx_users_plan
    table: users
    columns: [plan]
`,
    );
    const result = await runCli(['apply', file, '--json'], { DATABASE_URL: db.url });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as ApplyJson;
    expect(report.passed).toBe(false);
    const failed = byName(report, 'idx_users_email_unique');
    expect(failed.action).toBe('failed');
    expect(failed.error?.code).toBe('23505');
    // The key's columns, never its values (an email in a public job summary): see report-text.test.ts.
    expect(failed.error?.detail).toBe('Key (email)=(…) is duplicated.');
    expect(failed.leftover).toBe('dropped');
    expect(await indexDef(db, 'idx_users_email_unique')).toBeUndefined();
    expect(byName(report, 'idx_users_plan').action).toBe('created');
    expect((await indexDef(db, 'idx_users_plan'))?.valid).toBe(true);
  });

  it('repairs an invalid leftover that CREATE INDEX CONCURRENTLY IF NOT EXISTS would report as success', async () => {
    await db.query('CREATE TABLE accounts (id serial PRIMARY KEY, handle text)');
    await db.query("INSERT INTO accounts (handle) SELECT 'h' || (g % 50) FROM generate_series(1, 200) g");
    // A failed concurrent build outside dbtune leaves an INVALID index behind.
    await expect(db.query('CREATE UNIQUE INDEX CONCURRENTLY idx_accounts_handle ON accounts (handle)')).rejects.toMatchObject({ code: '23505' });
    expect((await indexDef(db, 'idx_accounts_handle'))?.valid).toBe(false);
    // The trap dbtune exists for: IF NOT EXISTS "succeeds" and leaves the invalid index in place.
    await db.query('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_accounts_handle ON accounts (handle)');
    expect((await indexDef(db, 'idx_accounts_handle'))?.valid).toBe(false);

    await db.query('DELETE FROM accounts a USING accounts b WHERE a.handle = b.handle AND a.id > b.id');
    const file = await writeTempFile(
      'accounts.yaml',
      `set: accounts
indexes:
  - name: idx_accounts_handle
    table: accounts
    columns: [handle]
    unique: true
`,
    );
    const plan = await runCli(['plan', file, '--json'], { DATABASE_URL: db.url });
    expect((JSON.parse(plan.stdout) as { indexes: Array<{ state: string; action: string; statements: string[] }> }).indexes[0]).toMatchObject({
      state: 'invalid',
      action: 'repair',
      statements: [expect.stringMatching(/^DROP INDEX CONCURRENTLY IF EXISTS "public"."idx_accounts_handle"$/), expect.stringMatching(/^CREATE UNIQUE INDEX CONCURRENTLY/)],
    });
    const result = await runCli(['apply', file, '--json'], { DATABASE_URL: db.url });
    expect(result.code, result.stderr).toBe(0);
    expect(byName(JSON.parse(result.stdout) as ApplyJson, 'idx_accounts_handle')).toMatchObject({ action: 'repaired', state_before: 'invalid' });
    expect((await indexDef(db, 'idx_accounts_handle'))?.valid).toBe(true);
  });

  it('names the session that blocks a build, and cancels it cleanly when --max-wait runs out', async () => {
    await db.query('CREATE TABLE invoices (id serial PRIMARY KEY, customer_id int)');
    await db.query('CREATE TABLE audit (id serial PRIMARY KEY)');
    await db.query('INSERT INTO invoices (customer_id) SELECT g % 10 FROM generate_series(1, 500) g');
    // An old snapshot anywhere in the database holds CREATE INDEX CONCURRENTLY in "waiting for old snapshots".
    const blocker = await db.session();
    await blocker.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await blocker.query('SELECT count(*) FROM audit');
    try {
      const file = await writeTempFile(
        'invoices.yaml',
        `set: invoices
indexes:
  - name: idx_invoices_customer
    table: invoices
    columns: [customer_id]
`,
      );
      const run = startCli(['apply', file, '--json', '--max-wait', '2s'], { DATABASE_URL: db.url });
      await run.waitForStderr(new RegExp(`waiting for session[^\\n]*\\n\\s+pid ${blocker.pid} \\(idle in transaction`));
      const result = await run.done;
      expect(result.code).toBe(1);
      const index = byName(JSON.parse(result.stdout) as ApplyJson, 'idx_invoices_customer');
      expect(index.action).toBe('failed');
      expect(index.reason).toMatch(/cancelled after waiting .* \(--max-wait 2\.0s\) for pid \d+/);
      expect(index.blockers?.map((b) => b.pid)).toContain(blocker.pid);
      expect(index.leftover).toBe('dropped');
      expect(await indexDef(db, 'idx_invoices_customer')).toBeUndefined();
    } finally {
      await blocker.query('ROLLBACK');
    }
  });

  it('gives up a lock wait after --lock-timeout, then drops the leftover once the writer is gone', async () => {
    await db.query('CREATE TABLE payments (id serial PRIMARY KEY, amount int)');
    const writer = await db.session();
    await writer.query('BEGIN');
    await writer.query('INSERT INTO payments (amount) VALUES (1)');
    const file = await writeTempFile(
      'payments.yaml',
      `set: payments
indexes:
  - name: idx_payments_amount
    table: payments
    columns: [amount]
`,
    );
    // 4 s leaves the 0.5 s progress poll ample time to name the writer, even on a loaded machine.
    const run = startCli(['apply', file, '--json', '--lock-timeout', '4s'], { DATABASE_URL: db.url });
    // The open writer makes the build wait ("waiting for writers before build"), until lock_timeout.
    await run.waitForStderr(new RegExp(`pid ${writer.pid} \\(idle in transaction`));
    // Commit only once the build gave up and its cleanup (DROP INDEX CONCURRENTLY) waits on the writer too.
    await waitForBackends(db, 'the cleanup of the build that gave up', "query LIKE 'DROP INDEX CONCURRENTLY%idx_payments_amount%'");
    await writer.query('COMMIT');
    const result = await run.done;
    expect(result.code).toBe(1);
    const index = byName(JSON.parse(result.stdout) as ApplyJson, 'idx_payments_amount');
    expect(index.error?.code).toBe('55P03');
    expect(index.reason).toMatch(/lock_timeout \(4\.0s\)/);
    expect(index.leftover).toBe('dropped');
    expect(await indexDef(db, 'idx_payments_amount')).toBeUndefined();
  });

  it('reports drift and leaves the index alone, and rebuilds it only with --rebuild-drift', async () => {
    await db.query('CREATE TABLE messages (id serial PRIMARY KEY, conversation_id int, created_at timestamptz)');
    await db.query('CREATE INDEX idx_messages_conv ON messages (conversation_id, created_at)');
    const [{ oid: before }] = (await db.query<{ oid: number }>("SELECT 'idx_messages_conv'::regclass::oid::int AS oid")) as [{ oid: number }];
    const file = await writeTempFile(
      'messages.yaml',
      `set: messages
indexes:
  - name: idx_messages_conv
    table: messages
    columns: [conversation_id, created_at desc]
`,
    );
    const result = await runCli(['apply', file, '--json'], { DATABASE_URL: db.url });
    expect(result.code).toBe(1);
    const index = byName(JSON.parse(result.stdout) as ApplyJson, 'idx_messages_conv');
    expect(index.action).toBe('drift');
    expect(index.differences).toEqual([{ field: 'columns[1].order', declared: 'desc', live: 'asc' }]);
    const [{ oid: untouched }] = (await db.query<{ oid: number }>("SELECT 'idx_messages_conv'::regclass::oid::int AS oid")) as [{ oid: number }];
    expect(untouched).toBe(before);

    const rebuilt = await runCli(['apply', file, '--json', '--rebuild-drift'], { DATABASE_URL: db.url });
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(byName(JSON.parse(rebuilt.stdout) as ApplyJson, 'idx_messages_conv').action).toBe('repaired');
    expect((await indexDef(db, 'idx_messages_conv'))!.def).toMatch(/\(conversation_id, created_at DESC\)$/);
    expect(await indexDef(db, 'idx_messages_conv_dbtune_new')).toBeUndefined();
  });

  it('refuses to run while another dbtune run holds the database, naming it', async () => {
    await db.query('CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text)');
    const other = await db.session();
    await other.query('SELECT pg_advisory_lock($1::int, $2::int)', [0x64627475, 1]);
    try {
      const file = await writeTempFile('notes.yaml', 'set: notes\nindexes:\n  - { name: idx_notes_body, table: notes, columns: [body] }\n');
      const result = await runCli(['apply', file, '--json'], { DATABASE_URL: db.url });
      expect(result.code).toBe(1);
      expect((JSON.parse(result.stdout) as { error: { code: string } }).error.code).toBe('LOCK_HELD');
      expect(result.stderr).toContain(`pid ${other.pid}`);
      expect(await indexDef(db, 'idx_notes_body')).toBeUndefined();
    } finally {
      await other.query('SELECT pg_advisory_unlock($1::int, $2::int)', [0x64627475, 1]);
    }
  });

  it('drops the copy an interrupted --rebuild-drift left, and never rebuilds an index behind a constraint', async () => {
    await db.query('CREATE TABLE rebuilt (id int CONSTRAINT rebuilt_id_key UNIQUE, v int)');
    await db.query('CREATE INDEX idx_rebuilt_v ON rebuilt (v)');
    // What an interrupted rebuild leaves: a valid copy next to the index it was to replace.
    await db.query('CREATE INDEX idx_rebuilt_v_dbtune_new ON rebuilt (v)');
    const file = await writeTempFile(
      'rebuilt.yaml',
      'set: r\nindexes:\n  - { name: idx_rebuilt_v, table: rebuilt, columns: [v] }\n  - { name: rebuilt_id_key, table: rebuilt, columns: [id desc], unique: true }\n',
    );
    const result = await runCli(['apply', file, '--json', '--rebuild-drift'], { DATABASE_URL: db.url });
    const report = JSON.parse(result.stdout) as ApplyJson;
    expect(byName(report, 'idx_rebuilt_v')).toMatchObject({ action: 'repaired', reason: 'dropped idx_rebuilt_v_dbtune_new, left by an interrupted rebuild' });
    expect(await indexDef(db, 'idx_rebuilt_v_dbtune_new')).toBeUndefined();
    expect((await indexDef(db, 'idx_rebuilt_v'))?.valid).toBe(true);
    const constrained = byName(report, 'rebuilt_id_key');
    expect(constrained.action).toBe('drift');
    expect(constrained.reason).toMatch(/backs a constraint, so dbtune will not rebuild it/);
    expect(result.code).toBe(1);
    expect((await indexDef(db, 'rebuilt_id_key'))!.def).toMatch(/\(id\)$/);
  });

  it('carries on with a new session when a build session dies, and the next apply repairs what it left', async () => {
    await db.query(`CREATE OR REPLACE FUNCTION slow_id(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.005); RETURN x; END $$`);
    await db.query('CREATE TABLE fragile (id int, v int)');
    await db.query('INSERT INTO fragile SELECT g, g FROM generate_series(1, 2000) g');
    const file = await writeTempFile(
      'fragile.yaml',
      'set: f\nindexes:\n  - { name: idx_fragile_slow, table: fragile, columns: [{ expression: slow_id(id) }] }\n  - { name: idx_fragile_v, table: fragile, columns: [v] }\n',
    );
    const run = startCli(['apply', file, '--json'], { DATABASE_URL: db.url });
    const line = await run.waitForStderr(/idx_fragile_slow: CREATE INDEX CONCURRENTLY .*\(pid (\d+)\)/);
    const pid = Number(/\(pid (\d+)\)/.exec(line)![1]);
    // Killed while the table scan runs, the build leaves its unfinished index for the next apply to repair.
    expect((await waitForBuildPhase(db, 'fragile', /^building index/)).pid).toBe(pid);
    await db.query('SELECT pg_terminate_backend($1)', [pid]);
    const result = await run.done;
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as ApplyJson;
    expect(byName(report, 'idx_fragile_slow')).toMatchObject({ action: 'failed', leftover: 'remains' });
    expect(byName(report, 'idx_fragile_v').action).toBe('created');
    expect((await indexDef(db, 'idx_fragile_v'))?.valid).toBe(true);

    // The repair is what is tested now, not a slow build: the same values, without the 10 s of sleeps.
    await db.query('CREATE OR REPLACE FUNCTION slow_id(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN RETURN x; END $$');
    const again = await runCli(['apply', file, '--json'], { DATABASE_URL: db.url });
    expect(again.code, again.stderr).toBe(0);
    expect(byName(JSON.parse(again.stdout) as ApplyJson, 'idx_fragile_slow')).toMatchObject({ action: 'repaired', state_before: 'invalid' });
  });
});
