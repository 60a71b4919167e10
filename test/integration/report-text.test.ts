import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli, useTestDatabase, writeTempFile } from '../support/database.js';

/**
 * Text from the database in dbtune's output: another session's query (its
 * literals, escape sequences in it), the row values PostgreSQL quotes in
 * errors. It goes to stdout, stderr and $GITHUB_STEP_SUMMARY — public on
 * public repositories.
 */

const db = useTestDatabase();

/** Any control character a terminal acts on (tab and newline aside). */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

async function summaryFile(): Promise<string> {
  return path.join(await mkdtemp(path.join(tmpdir(), 'dbtune-summary-')), 'summary.md');
}

describe("another session's query text in apply's reports", () => {
  it('is normalised and stripped: a blocking session cut off inside a secret literal, with an OSC sequence in a comment', async () => {
    await db.query('CREATE TABLE invoices (id serial PRIMARY KEY, customer_id int)');
    await db.query('CREATE TABLE audit (id serial PRIMARY KEY, note text)');
    await db.query('INSERT INTO invoices (customer_id) SELECT g % 10 FROM generate_series(1, 500) g');
    const secret = `sk_live_${randomBytes(6).toString('hex')}`;
    // Longer than track_activity_query_size (1 kB): pg_stat_activity cuts it inside the literal, so the parser cannot read it.
    const blockerSql = `SELECT /* \u001b]0;pwned\u0007 */ count(*) FROM audit WHERE note <> '${secret}${'x'.repeat(2000)}'`;
    const blocker = await db.session();
    await blocker.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await blocker.query(blockerSql);
    try {
      const [{ query: seen }] = (await db.query<{ query: string }>('SELECT query FROM pg_stat_activity WHERE pid = $1', [blocker.pid])) as [{ query: string }];
      expect(seen.length).toBeLessThan(blockerSql.length);
      expect(seen).toContain(secret);

      const file = await writeTempFile('invoices.yaml', 'set: invoices\nindexes:\n  - { name: idx_invoices_customer, table: invoices, columns: [customer_id] }\n');
      for (const format of ['json', 'junit', 'table']) {
        const summary = await summaryFile();
        const run = startCli(['apply', file, '--format', format, '--max-wait', '2s'], { DATABASE_URL: db.url, GITHUB_STEP_SUMMARY: summary });
        await run.waitForStderr(new RegExp(`pid ${blocker.pid} \\(idle in transaction`));
        const result = await run.done;
        expect(result.code, result.stderr).toBe(1);
        const markdown = await readFile(summary, 'utf8');
        for (const [where, text] of [['stdout', result.stdout], ['stderr', result.stderr], ['summary', markdown]]) {
          expect(text, `${format} ${where}`).not.toContain(secret);
          expect(text, `${format} ${where}`).not.toContain('pwned');
          expect(text, `${format} ${where}`).not.toMatch(CONTROL);
        }
        // The comment (with its escape sequence) is dropped, literals are $n.
        expect(markdown).toMatch(/blocked by pid \d+ .*: SELECT\s+count\(\*\) FROM audit WHERE note <> \$1/);
        if (format === 'json') {
          const report = JSON.parse(result.stdout) as { indexes: Array<{ blockers?: Array<{ pid: number; query: string }> }> };
          const blockers = report.indexes[0]!.blockers!;
          expect(blockers.find((b) => b.pid === blocker.pid)!.query).toBe('SELECT   count(*) FROM audit WHERE note <> $1');
        }
      }
    } finally {
      await blocker.query('ROLLBACK');
    }
  });

  it('a blocking query the parser reads keeps its shape, with every literal replaced', async () => {
    await db.query('CREATE TABLE payments (id serial PRIMARY KEY, amount int)');
    await db.query('CREATE TABLE cards (id serial PRIMARY KEY, number text)');
    // An old snapshot (on another table) holds the build in "waiting for old snapshots"; the cleanup does not wait on it.
    const reader = await db.session();
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await reader.query("SELECT count(*) FROM cards WHERE number = '4111111111111111' AND id > 4200");
    try {
      const file = await writeTempFile('payments.yaml', 'set: payments\nindexes:\n  - { name: idx_payments_amount, table: payments, columns: [amount] }\n');
      const summary = await summaryFile();
      const run = startCli(['apply', file, '--json', '--max-wait', '2s'], { DATABASE_URL: db.url, GITHUB_STEP_SUMMARY: summary });
      await run.waitForStderr(new RegExp(`pid ${reader.pid} \\(idle in transaction`));
      const result = await run.done;
      expect(result.code, result.stderr).toBe(1);
      const report = JSON.parse(result.stdout) as { indexes: Array<{ blockers?: Array<{ pid: number; query: string }> }> };
      expect(report.indexes[0]!.blockers!.find((b) => b.pid === reader.pid)!.query).toBe('SELECT count(*) FROM cards WHERE number = $1 AND id > $2');
      for (const text of [result.stdout, result.stderr, await readFile(summary, 'utf8')]) {
        expect(text).not.toContain('4111111111111111');
        expect(text).not.toContain('4200');
      }
    } finally {
      await reader.query('ROLLBACK');
    }
  });
});

describe('row values in errors', () => {
  it("keep the unique key's columns and drop its values, in every format and the step summary", async () => {
    await db.query('CREATE TABLE users (id serial PRIMARY KEY, email text)');
    await db.query("INSERT INTO users (email) SELECT 'person' || (g % 900) || '@example.com' FROM generate_series(1, 1000) g");
    const file = await writeTempFile('users.yaml', 'set: users\nindexes:\n  - { name: idx_users_email_unique, table: users, columns: [email], unique: true }\n');
    for (const format of ['json', 'junit', 'markdown', 'table']) {
      const summary = await summaryFile();
      const result = await runCli(['apply', file, '--format', format], { DATABASE_URL: db.url, GITHUB_STEP_SUMMARY: summary });
      expect(result.code).toBe(1);
      const markdown = await readFile(summary, 'utf8');
      for (const text of [result.stdout, result.stderr, markdown]) expect(text, format).not.toContain('@example.com');
      expect(markdown).toContain('Key (email)=(…) is duplicated.');
      if (format === 'json') {
        const report = JSON.parse(result.stdout) as { indexes: Array<{ error?: { code?: string; detail?: string } }> };
        expect(report.indexes[0]!.error).toMatchObject({ code: '23505', detail: 'Key (email)=(…) is duplicated.' });
      }
    }
  });

  it('of a failed explain check: the summary has the SQLSTATE and message, without control characters, and no detail', async () => {
    await db.query('CREATE TABLE accounts (id serial PRIMARY KEY, email text UNIQUE, note text)');
    await db.query("INSERT INTO accounts (email, note) VALUES ('alice@example.com', E'\\u001b]52;c;cHduZWQ=\\u0007 hello')");
    const checks = await writeTempFile(
      'checks.yaml',
      `checks:
  - name: duplicate signup
    query: INSERT INTO accounts (email) SELECT email FROM accounts
    expect: { max_ms: 1000 }
  - name: note as a number
    query: SELECT note::int FROM accounts
    expect: { max_ms: 1000 }
`,
    );
    const summary = await summaryFile();
    const result = await runCli(['explain', checks, '--json', '--runs', '1'], { DATABASE_URL: db.url, GITHUB_STEP_SUMMARY: summary });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { checks: Array<{ status: string; error?: { code?: string; message: string; detail?: string } }> };
    expect(report.checks.map((c) => [c.status, c.error?.code])).toEqual([
      ['error', '23505'],
      ['error', '22P02'],
    ]);
    expect(report.checks[0]!.error!.detail).toBe('Key (email)=(…) already exists.');
    expect(report.checks[1]!.error!.message).not.toMatch(CONTROL);
    const markdown = await readFile(summary, 'utf8');
    expect(markdown).toContain('error 23505: duplicate key value violates unique constraint');
    expect(markdown).toContain('error 22P02: invalid input syntax for type integer');
    expect(markdown).not.toContain('Key (email)');
    expect(markdown).not.toContain('alice@example.com');
    expect(markdown).not.toMatch(CONTROL);
    expect(result.stderr).not.toMatch(CONTROL);
  });
});
