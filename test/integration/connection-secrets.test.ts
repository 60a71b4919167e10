import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, useTestDatabase, writeTempFile, type CliResult } from '../support/database.js';
import { startTarget, type TestTarget } from '../support/http-target.js';

/**
 * "A password never appears in any output, log or error", for the database
 * URL: the real CLI with a right and a wrong password, by DATABASE_URL and by
 * --database-url; every byte it prints or writes is searched for them.
 */

const db = useTestDatabase();
const WRONG = 'Wr0ngS3cretPw';
let api: TestTarget;
let setFile = '';

const passwordOf = (url: string) => decodeURIComponent(new URL(url).password);
const withPassword = (url: string, password: string) => {
  const u = new URL(url);
  u.password = password;
  return u.toString();
};

beforeAll(async () => {
  await db.query('CREATE TABLE secrets_items (id int PRIMARY KEY, owner int)');
  setFile = await writeTempFile('set.yaml', 'set: secrets\nindexes:\n  - { name: idx_secrets_items_owner, table: secrets_items, columns: [owner] }\n');
  api = await startTarget((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});

afterAll(async () => {
  await api?.close();
});

async function everything(run: CliResult, dir?: string): Promise<string> {
  const files = dir ? await Promise.all((await readdir(dir)).map((f) => readFile(path.join(dir, f), 'utf8'))) : [];
  return [run.stdout, run.stderr, ...files].join('\n');
}

describe('the database password is in no output', () => {
  it.each<[string, (url: string) => { args: string[]; env: Record<string, string> }]>([
    ['DATABASE_URL', (url) => ({ args: [], env: { DATABASE_URL: url } })],
    ['--database-url', (url) => ({ args: ['--database-url', url], env: {} })],
    ['PGPASSWORD', (url) => {
      const u = new URL(url);
      return { args: [], env: { PGHOST: u.hostname, PGPORT: u.port, PGUSER: decodeURIComponent(u.username), PGDATABASE: u.pathname.slice(1), PGPASSWORD: decodeURIComponent(u.password) } };
    }],
  ])('a wrong password by %s: exit 3, the password nowhere', async (_how, given) => {
    const { args, env } = given(withPassword(db.url, WRONG));
    for (const command of ['plan', 'verify']) {
      const run = await runCli([command, setFile, '--format', 'json', ...args], env);
      expect(run.code, run.stderr).toBe(3);
      expect(JSON.parse(run.stdout).error.code).toBe('CONNECTION_FAILED');
      expect(await everything(run)).not.toContain(WRONG);
    }
  });

  it('a password with an unencoded / is refused before connecting, and not shown as a port or database (regression: "postgres://root@app:123/S3cret%40…")', async () => {
    const u = new URL(db.url);
    const run = await runCli(['plan', setFile, '--format', 'json'], { DATABASE_URL: `postgres://${u.username}:123/${WRONG}@${u.host}${u.pathname}` });
    expect(run.code, run.stderr).toBe(2);
    expect(JSON.parse(run.stdout).error.code).toBe('CONNECTION_CONFIG');
    expect(await everything(run)).not.toMatch(new RegExp(`123|${WRONG}`));
  });

  it('the right password: plan, apply, verify and a loadtest watching the database never print it, nor write it to a result or report', async () => {
    const password = passwordOf(db.url);
    const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-secrets-'));
    const scenario = await writeTempFile('scenario.yaml', `scenario: s\ntarget: ${api.url}\nrequests: [{ name: r, path: /x }]\nstages: [{ users: 1, duration: 1s }]\ndatabase: { settle: 100ms }\n`);
    const env = { DATABASE_URL: db.url, GITHUB_STEP_SUMMARY: path.join(dir, 'summary.md') };
    const runs = [
      await runCli(['plan', setFile, '--format', 'json'], env),
      await runCli(['apply', setFile, '--format', 'junit'], env),
      await runCli(['verify', setFile, '--format', 'json'], env),
      await runCli(['loadtest', scenario, '--indexes', setFile, '--format', 'json', '--out', path.join(dir, 'result.json'), '--report', path.join(dir, 'report.html')], env),
      await runCli(['loadtest', scenario, '--database-url', db.url, '--format', 'markdown'], {}),
    ];
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(await readFile(path.join(dir, 'result.json'), 'utf8')).context.database).toMatch(/^127\.0\.0\.1:\d+\/dbtune_test_/);
    for (const run of runs) expect(await everything(run)).not.toContain(password);
    expect(await everything(runs[0]!, dir)).not.toContain(password);
  });
});
