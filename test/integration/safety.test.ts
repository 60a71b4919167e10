import { createServer } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { indexDef, runCli, startCli, useTestDatabase, writeTempFile } from '../support/database.js';
import { waitForBuildPhase } from '../support/server-state.js';

const db = useTestDatabase();

async function canaryExists(): Promise<boolean> {
  const rows = await db.query<{ exists: boolean }>("SELECT to_regclass('public.canary') IS NOT NULL AS exists");
  return rows[0]!.exists;
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      server.close(() => resolve(address.port));
    });
  });
}

describe('no YAML field can smuggle SQL', () => {
  beforeAll(async () => {
    await db.query('CREATE TABLE canary (id int)');
  });

  it('quotes a table whose real name contains "; DROP TABLE …; --', async () => {
    await db.query('CREATE TABLE "x""; DROP TABLE canary; --" (id int, v text)');
    const file = await writeTempFile(
      'quoted.yaml',
      `set: quoted
indexes:
  - name: '"idx_x; DROP TABLE canary; --"'
    table: '"x""; DROP TABLE canary; --"'
    columns: ['"v"']
`,
    );
    const result = await runCli(['apply', file], { DATABASE_URL: db.url });
    expect(result.code, result.stderr).toBe(0);
    expect((await indexDef(db, 'idx_x; DROP TABLE canary; --'))?.valid).toBe(true);
    expect(await canaryExists()).toBe(true);
  });

  it.each([
    ['an unquoted table name with SQL in it', 'table: orders; DROP TABLE canary; --', /indexes\[0\]\.table: not a valid unquoted name/],
    ['a where that closes the statement', "where: 'true); DROP TABLE canary; --'", /indexes\[0\]\.where: where closes a parenthesis it did not open/],
    ['an expression with a second statement', "columns: [{ expression: 'lower(v)); DROP TABLE canary; --' }]", /indexes\[0\]\.columns\[0\]\.expression: expression closes a parenthesis/],
    ['a storage parameter name with SQL in it', 'with: { "fillfactor = 10); DROP TABLE canary; --": 1 }', /indexes\[0\]\.with\..*storage parameter name/],
    ['an operator class with SQL in it', "columns: [{ column: v, opclass: 'text_ops; DROP TABLE canary' }]", /indexes\[0\]\.columns\[0\]\.opclass: not a valid unquoted name/],
  ])('rejects %s with exit 2 and a position, before connecting', async (_label, line, message) => {
    const base = { table: 'table: t', columns: 'columns: [v]' };
    const key = line.split(':')[0]!;
    const fields = [`name: idx_evil`, key === 'table' ? line : base.table, key === 'columns' ? line : base.columns, ...(key !== 'table' && key !== 'columns' ? [line] : [])];
    const file = await writeTempFile('evil.yaml', `set: evil\nindexes:\n  - ${fields.join('\n    ')}\n`);
    // A database URL that cannot be reached: exit 2, not 3, proves nothing was attempted.
    const result = await runCli(['apply', file], { DATABASE_URL: `postgres://nobody@127.0.0.1:${await closedPort()}/x` });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/evil\.yaml:\d+:\d+ /);
    expect(result.stderr).toMatch(message);
    expect(await canaryExists()).toBe(true);
  });

  it('lets PostgreSQL reject what it would never index (a subquery, an unknown collation), before building anything', async () => {
    await db.query('CREATE TABLE IF NOT EXISTS t (id int, v text)');
    const file = await writeTempFile(
      'rejected.yaml',
      `set: rejected
indexes:
  - name: idx_t_id
    table: t
    columns: [id]
  - name: idx_t_sub
    table: t
    columns: [id]
    where: (SELECT count(*) FROM canary) > 0
  - name: idx_t_coll
    table: t
    columns: [{ column: v, collate: 'C"; DROP TABLE canary; --' }]
  - name: idx_nope
    table: no_such_table
    columns: [id]
`,
    );
    const result = await runCli(['apply', file, '--json'], { DATABASE_URL: db.url });
    expect(result.code).toBe(2);
    const { error } = JSON.parse(result.stdout) as { error: { code: string; problems: Array<{ line: number; path: string; message: string }> } };
    expect(error.code).toBe('INPUT_INVALID');
    expect(error.problems.map((p) => [p.line, p.path])).toEqual([
      [6, 'idx_t_sub'],
      [10, 'idx_t_coll'],
      [13, 'idx_nope'],
    ]);
    expect(error.problems[0]!.message).toMatch(/cannot use subquery in index predicate/);
    expect(error.problems[1]!.message).toMatch(/collation .* does not exist/);
    expect(error.problems[2]!.message).toMatch(/table public\.no_such_table does not exist/);
    expect(await indexDef(db, 'idx_t_id')).toBeUndefined();
    expect(await canaryExists()).toBe(true);
  });
});

describe('bad input files', () => {
  it('reports every problem of every file with file:line:col, exits 2 and touches nothing', async () => {
    const bad = await writeTempFile(
      'bad.yaml',
      `set: bad
indexes:
  - name: idx_a
    tabel: t
    columns: [v dsc]
  - name: idx_b
    table: t
    columns: []
`,
    );
    const dupA = await writeTempFile('a.yaml', 'set: a\nindexes:\n  - { name: idx_same, table: t, columns: [v] }\n');
    const dupB = await writeTempFile('b.yaml', 'set: b\nindexes:\n  - { name: idx_same, table: t, columns: [id] }\n');
    const syntax = await writeTempFile('syntax.yaml', 'set: s\nindexes:\n  - name: [\n');
    const result = await runCli(['apply', bad, dupA, dupB, syntax, '/nonexistent/missing.yaml'], { DATABASE_URL: `postgres://nobody@127.0.0.1:${await closedPort()}/x` });
    expect(result.code).toBe(2);
    const lines = result.stderr.split('\n');
    const expectLine = (pattern: RegExp) => expect(lines.some((l) => pattern.test(l)), `${pattern}\n${result.stderr}`).toBe(true);
    expectLine(/bad\.yaml:4:5 indexes\[0\]\.tabel: unknown key "tabel"; did you mean "table"\?/);
    expectLine(/bad\.yaml:3:5 indexes\[0\]\.table: is required/);
    expectLine(/bad\.yaml:5:15 indexes\[0\]\.columns\[0\]: bad order word "dsc"/);
    expectLine(/bad\.yaml:8:14 indexes\[1\]\.columns: /);
    expectLine(/b\.yaml:3:\d+ .*duplicate index name public\.idx_same \(first declared at .*a\.yaml:3:\d+\)/);
    expectLine(/syntax\.yaml:\d+:\d+ YAML syntax error/);
    expectLine(/missing\.yaml file not found/);
    expect(result.stdout).toBe('');
  });
});

describe('the password never shows', () => {
  const secret = 'Sup3r-Secret-pw';

  it('is not in the output when authentication fails (exit 3)', async () => {
    const url = new URL(db.url);
    url.password = secret;
    const file = await writeTempFile('any.yaml', 'set: any\nindexes:\n  - { name: idx_any, table: t, columns: [id] }\n');
    for (const format of ['table', 'json']) {
      const result = await runCli(['plan', file, '--format', format], { DATABASE_URL: url.toString() });
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/password authentication failed/);
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
  });

  it('is not in the output when the host is unreachable, the URL is malformed, or PGPASSWORD is used', async () => {
    const file = await writeTempFile('any.yaml', 'set: any\nindexes:\n  - { name: idx_any, table: t, columns: [id] }\n');
    const port = await closedPort();
    const unreachable = await runCli(['plan', file, '--json', '--database-url', `postgres://app:${secret}@127.0.0.1:${port}/db`]);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/connection refused/);
    const malformed = await runCli(['plan', file, '--json'], { DATABASE_URL: `postgres://app:${secret}@[::1/db` });
    expect(malformed.code).toBe(2);
    const viaEnv = await runCli(['plan', file, '--json'], { PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'app', PGPASSWORD: secret });
    expect(viaEnv.code).toBe(3);
    for (const r of [unreachable, malformed, viaEnv]) expect(r.stdout + r.stderr).not.toContain(secret);
  });

  it('is not in a successful report', async () => {
    await db.query('CREATE TABLE IF NOT EXISTS t (id int, v text)');
    const password = new URL(db.url).password;
    const file = await writeTempFile('ok.yaml', 'set: ok\nindexes:\n  - { name: idx_t_v, table: t, columns: [v] }\n');
    for (const format of ['table', 'json', 'junit', 'markdown']) {
      const result = await runCli(['apply', file, '--format', format], { DATABASE_URL: db.url });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(password);
    }
  });
});

describe('apply never blocks writes', () => {
  it('lets inserts through while the index is being built, where a plain CREATE INDEX makes them wait', async () => {
    // A deliberately slow (but immutable) expression makes each build take seconds, so writes can be timed against it.
    await db.query(`CREATE OR REPLACE FUNCTION slow_key(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.005); RETURN x; END $$`);
    await db.query('CREATE TABLE busy (id serial PRIMARY KEY, k int)');
    await db.query('CREATE TABLE busy_plain (id serial PRIMARY KEY, k int)');
    await db.query('INSERT INTO busy (k) SELECT g FROM generate_series(1, 600) g');
    await db.query('INSERT INTO busy_plain (k) SELECT g FROM generate_series(1, 600) g');
    const file = await writeTempFile('busy.yaml', 'set: busy\nindexes:\n  - { name: idx_busy_slow, table: busy, columns: [{ expression: slow_key(k) }] }\n');

    const writer = await db.session();
    await writer.query("SET lock_timeout = '500ms'");

    const run = startCli(['apply', file], { DATABASE_URL: db.url });
    await waitForBuildPhase(db, 'busy', /^building index/);
    let worstMs = 0;
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      await writer.query('INSERT INTO busy (k) VALUES ($1)', [1000 + i]);
      worstMs = Math.max(worstMs, performance.now() - started);
    }
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect((await indexDef(db, 'idx_busy_slow'))?.valid).toBe(true);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM busy'))[0]!.n).toBe(610);

    // The contrast: a plain CREATE INDEX holds SHARE on the table for the whole build.
    const builder = await db.session();
    const plain = builder.query('CREATE INDEX idx_busy_plain ON busy_plain (slow_key(k))');
    await waitForBuildPhase(db, 'busy_plain', /^building index/);
    await expect(writer.query('INSERT INTO busy_plain (k) VALUES (1)')).rejects.toMatchObject({ code: '55P03' });
    await plain;
    console.log(`worst insert latency during dbtune apply: ${worstMs.toFixed(1)} ms (lock_timeout 500 ms never hit)`);
  });
});

describe('Ctrl-C', () => {
  it('cancels the build, drops its leftover, prints the partial report and exits 130', async () => {
    await db.query(`CREATE OR REPLACE FUNCTION slow_key(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.005); RETURN x; END $$`);
    await db.query('CREATE TABLE interrupted (id serial PRIMARY KEY, k int)');
    await db.query('INSERT INTO interrupted (k) SELECT g FROM generate_series(1, 3000) g');
    const file = await writeTempFile('int.yaml', 'set: int\nindexes:\n  - { name: idx_interrupted, table: interrupted, columns: [{ expression: slow_key(k) }] }\n');
    const run = startCli(['apply', file, '--json'], { DATABASE_URL: db.url });
    await run.waitForStderr(/idx_interrupted: CREATE INDEX CONCURRENTLY/);
    // Interrupted while the table scan runs, the build has an unfinished index in the catalog to drop.
    await waitForBuildPhase(db, 'interrupted', /^building index/);
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code).toBe(130);
    const report = JSON.parse(result.stdout) as { interrupted: boolean; indexes: Array<{ action: string; reason: string; leftover?: string }> };
    expect(report.interrupted).toBe(true);
    expect(report.indexes[0]).toMatchObject({ action: 'skipped', reason: 'interrupted', leftover: 'dropped' });
    expect(await indexDef(db, 'idx_interrupted')).toBeUndefined();
  });
});
