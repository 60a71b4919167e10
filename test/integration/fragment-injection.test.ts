import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/client.js';
import { resolveConnectionOptions } from '../../src/db/connection-options.js';
import { indexDef, runCli, useTestDatabase, writeTempFile } from '../support/database.js';

/**
 * Raw SQL in an index set (`where`, `expression`) must never run as anything
 * but one expression in dbtune's own statement: not in `plan`'s shadow build,
 * not in `apply`, not in `verify`, not in the script `plan --format sql`
 * prints. A canary sequence and a `COPY … TO PROGRAM` file prove that nothing
 * of a payload ran.
 */
const db = useTestDatabase();

/** Each test has its own canaries, so one payload that ran cannot fail the tests after it. */
function canary() {
  const id = randomBytes(6).toString('hex');
  const sequence = `canary_${id}`;
  const marker = path.join(tmpdir(), `dbtune-canary-${id}`);
  return {
    run: `COPY (SELECT 1) TO PROGRAM 'touch ${marker}'; SELECT nextval('${sequence}')`,
    create: () => db.query(`CREATE SEQUENCE ${sequence}`),
    async untouched(index: string) {
      const rows = await db.query<{ is_called: boolean }>(`SELECT is_called FROM ${sequence}`);
      expect(rows[0]!.is_called, 'canary sequence advanced: payload SQL ran').toBe(false);
      expect(existsSync(marker), 'COPY TO PROGRAM ran').toBe(false);
      if (index) expect(await indexDef(db, index), 'an index was built').toBeUndefined();
    },
  };
}

function indexSet(entry: Record<string, unknown>): string {
  return stringify({ set: 'evil', indexes: [{ name: 'idx_evil', table: 't', columns: ['v'], ...entry }] });
}

beforeAll(async () => {
  await db.query('CREATE TABLE t (id int, v text)');
});

describe('a crafted fragment is refused by every command, and nothing of it runs', () => {
  it.each<[string, (run: string) => Record<string, unknown>]>([
    ['an E-string continued on the next line (the lexical guard read it as closed)', (run) => ({ where: `E'a'\n'\\' ' = 'a'); ${run}; --'` })],
    ['the same, as a one-statement breakout with dbtune\'s parenthesis commented out', (run) => ({ where: `E'a'\n'\\' ' = 'a') --'` })],
    ['an expression breakout through a continuation line', (run) => ({ columns: [{ expression: `E'a'\n'\\' ' = 'a')); ${run}; --'` }] })],
    ['a dollar quote with a tag that never closes', (run) => ({ where: `v = $x$ a $X$); ${run}; --` })],
    ['nested comments hiding a parenthesis', (run) => ({ where: `v = 'a' /* /* */ ); ${run}; -- */` })],
    ['a U& string with a custom escape', (run) => ({ where: `v = U&'!0027' UESCAPE '!' ); ${run}; --` })],
    ['a semicolon after a string that holds one', (run) => ({ where: `v = 'a;b'); ${run}; --` })],
    ['two statements without breaking out of anything', (run) => ({ where: `true; ${run}` })],
  ])('%s', async (_label, payload) => {
    const c = canary();
    await c.create();
    const file = await writeTempFile('evil.yaml', indexSet(payload(c.run)));
    const env = { DATABASE_URL: db.url };
    const runs = await Promise.all([
      runCli(['plan', file], env),
      runCli(['plan', file, '--format', 'sql'], env),
      runCli(['apply', file], env),
      runCli(['verify', file], env),
    ]);
    for (const result of runs) {
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/evil\.yaml:\d+:\d+ indexes\[0\]\.(where|columns\[0\]\.expression): /);
      expect(result.stdout).not.toMatch(/TO PROGRAM/);
    }
    await c.untouched('idx_evil');
  });
});

describe('on a server whose standard_conforming_strings is off', () => {
  const c = canary();
  const run = c.run;
  // Read with backslash escapes, this predicate would close early and run a second statement;
  // read as the parser read it (standard strings), it is one harmless expression.
  const where = `v = 'a\\' OR v = ') ; ${run.replaceAll("'", "''")} ; --'`;

  beforeAll(async () => {
    await c.create();
    const name = new URL(db.url).pathname.slice(1);
    await db.query(`ALTER DATABASE ${name} SET standard_conforming_strings = off`);
    const probe = await connect(resolveConnectionOptions({ databaseUrl: db.url, env: {} }));
    try {
      // dbtune's own sessions force it on; a raw connection shows the database's setting.
      expect((await probe.query<{ v: string }>("SELECT current_setting('standard_conforming_strings') AS v"))[0]!.v).toBe('on');
    } finally {
      await probe.close();
    }
    const raw = await db.query<{ setconfig: string[] }>(
      "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = $1",
      [name],
    );
    expect(raw[0]!.setconfig).toContain('standard_conforming_strings=off');
  });

  it('plan, apply and verify read the predicate as the parser did, and the script sets standard strings first', async () => {
    const file = await writeTempFile('standard.yaml', indexSet({ name: 'idx_standard', where }).replace('idx_evil', 'idx_standard'));
    const env = { DATABASE_URL: db.url };

    const script = await runCli(['plan', file, '--format', 'sql'], env);
    expect(script.code, script.stderr).toBe(0);
    const lines = script.stdout.split('\n');
    const set = lines.indexOf('SET standard_conforming_strings = on;');
    const create = lines.findIndex((l) => l.startsWith('CREATE INDEX CONCURRENTLY'));
    expect(set).toBeGreaterThanOrEqual(0);
    expect(create).toBeGreaterThan(set);

    const apply = await runCli(['apply', file], env);
    expect(apply.code, apply.stderr).toBe(0);
    expect((await indexDef(db, 'idx_standard'))?.valid).toBe(true);
    const verify = await runCli(['verify', file], env);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    await c.untouched('');
  });
});
