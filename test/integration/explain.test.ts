import { describe, expect, it } from 'vitest';
import { runCli, useTestDatabase, writeTempFile } from '../support/database.js';

const db = useTestDatabase();

interface ExplainJson {
  passed: boolean;
  checks: Array<{
    name: string;
    passed: boolean;
    status: string;
    write: boolean;
    reason?: string;
    assertions: Array<{ name: string; passed: boolean; observed: string }>;
    timings?: { p50_ms: number; p95_ms: number; runs_ms: number[] };
    plan?: unknown;
    generic?: { status: string; assertions: Array<{ name: string; passed: boolean; observed: string }> };
  }>;
}

async function explain(yaml: string, ...args: string[]) {
  const file = await writeTempFile('checks.yaml', yaml);
  const result = await runCli(['explain', file, '--json', '--runs', '3', ...args], { DATABASE_URL: db.url });
  return { code: result.code, report: JSON.parse(result.stdout) as ExplainJson, stderr: result.stderr };
}

describe('dbtune explain', () => {
  it('fails uses_index with the seq scan it found before the index exists, and passes after apply', async () => {
    await db.query('CREATE TABLE pam_conversations (id bigserial PRIMARY KEY, user_id int NOT NULL, created_at timestamptz NOT NULL, body text)');
    await db.query("INSERT INTO pam_conversations (user_id, created_at, body) SELECT g % 2000, now() - g * interval '1 second', repeat('x', 50) FROM generate_series(1, 60000) g");
    await db.query('ANALYZE pam_conversations');
    const checks = `checks:
  - name: conversation history page
    query: SELECT * FROM pam_conversations WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20
    params: [42]
    expect: { uses_index: idx_pam_conversations_user_created, no_seq_scan: true, max_ms: 5000 }
`;
    const before = await explain(checks);
    expect(before.code).toBe(1);
    const failed = before.report.checks[0]!;
    expect(failed.status).toBe('fail');
    expect(failed.assertions[0]).toMatchObject({ name: 'uses_index idx_pam_conversations_user_created', passed: false });
    expect(failed.assertions[0]!.observed).toMatch(/^no — (Parallel )?Seq Scan on pam_conversations \(rows removed by filter 9\d(\.\d)?%\)/);
    expect(failed.assertions[1]).toMatchObject({ name: 'no_seq_scan', passed: false });
    expect(failed.timings!.runs_ms).toHaveLength(3);

    const set = await writeTempFile('set.yaml', 'set: s\nindexes:\n  - { name: idx_pam_conversations_user_created, table: pam_conversations, columns: [user_id, created_at desc] }\n');
    expect((await runCli(['apply', set], { DATABASE_URL: db.url })).code).toBe(0);
    const after = await explain(checks);
    expect(after.code, after.stderr).toBe(0);
    expect(after.report.checks[0]!.assertions.map((a) => a.passed)).toEqual([true, true, true]);
    expect(after.report.checks[0]!.assertions[0]!.observed).toMatch(/^yes — Index Scan using idx_pam_conversations_user_created on pam_conversations/);
  });

  it('finds indexes under BitmapOr, and a partition\'s index as its partitioned parent\'s', async () => {
    await db.query('CREATE TABLE tickets (id serial, assignee int, reporter int, body text)');
    await db.query("INSERT INTO tickets (assignee, reporter, body) SELECT g % 5000, (g * 7) % 5000, 'b' FROM generate_series(1, 50000) g");
    await db.query('CREATE INDEX idx_tickets_assignee ON tickets (assignee)');
    await db.query('CREATE INDEX idx_tickets_reporter ON tickets (reporter)');
    await db.query('CREATE TABLE events (id int, user_id int, at date) PARTITION BY RANGE (at)');
    await db.query("CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')");
    await db.query("CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')");
    await db.query("INSERT INTO events SELECT g, g % 3000, date '2024-01-01' + (g % 700) FROM generate_series(1, 60000) g");
    await db.query('ANALYZE tickets');
    await db.query('ANALYZE events');
    const set = await writeTempFile('events.yaml', 'set: e\nindexes:\n  - { name: idx_events_user, table: events, columns: [user_id] }\n');
    expect((await runCli(['apply', set], { DATABASE_URL: db.url })).code).toBe(0);
    const { code, report } = await explain(`checks:
  - name: either side of a ticket
    query: SELECT * FROM tickets WHERE assignee = $1 OR reporter = $2
    params: [7, 11]
    expect: { uses_index: [idx_tickets_assignee, idx_tickets_reporter], no_seq_scan: [tickets] }
  - name: a user's events in 2024
    query: SELECT * FROM events WHERE user_id = $1 AND at < '2025-01-01'
    params: [99]
    expect: { uses_index: idx_events_user, no_seq_scan: true }
`);
    expect(code).toBe(0);
    expect(report.checks[0]!.assertions[0]!.observed).toMatch(/Bitmap Index Scan using idx_tickets_assignee/);
    expect(report.checks[1]!.assertions[0]!.observed).toMatch(/using events_2024_idx_events_user/);
  });

  it('runs a DELETE inside a transaction that is rolled back: the rows are still there', async () => {
    await db.query('CREATE TABLE expenses (id serial PRIMARY KEY, user_id int, amount numeric)');
    await db.query('INSERT INTO expenses (user_id, amount) SELECT g % 100, g FROM generate_series(1, 1000) g');
    const { code, report } = await explain(`checks:
  - name: purge a user's expenses
    query: DELETE FROM expenses WHERE user_id = $1
    params: [5]
    expect: { max_ms: 10000 }
`);
    expect(code).toBe(0);
    expect(report.checks[0]!.write).toBe(true);
    expect(((report.checks[0]!.plan as Array<{ Plan: { 'Node Type': string } }>)[0]!.Plan['Node Type'])).toBe('ModifyTable');
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM expenses WHERE user_id = 5'))[0]!.n).toBe(10);
  });

  it('stops a slow query with the statement timeout and reports it', async () => {
    const { code, report } = await explain(`checks:
  - name: slow
    query: SELECT pg_sleep(5)
    timeout: 300ms
    expect: { max_ms: 100 }
`);
    expect(code).toBe(1);
    expect(report.checks[0]).toMatchObject({ status: 'error', passed: false });
    expect(report.checks[0]!.reason).toMatch(/statement timeout \(300ms\) fired/);
  });

  it('calls a failure on a table of a few pages inconclusive, and a failure with --fail-inconclusive', async () => {
    await db.query('CREATE TABLE user_settings (user_id int PRIMARY KEY, theme text)');
    await db.query("INSERT INTO user_settings SELECT g, 'dark' FROM generate_series(1, 50) g");
    await db.query('ANALYZE user_settings');
    const yaml = `checks:
  - name: settings by theme
    query: SELECT * FROM user_settings WHERE theme = $1
    params: [dark]
    expect: { no_seq_scan: true }
`;
    const lenient = await explain(yaml);
    expect(lenient.code).toBe(0);
    expect(lenient.report.checks[0]).toMatchObject({ status: 'inconclusive', passed: true });
    expect(lenient.report.checks[0]!.reason).toMatch(/table too small: user_settings has 1 page .*Seed realistic data/);
    const strict = await explain(yaml, '--fail-inconclusive');
    expect(strict.code).toBe(1);
    expect(strict.report.checks[0]!.passed).toBe(false);
  });

  it('does not excuse a missed index on a big table because a small joined table was seq-scanned', async () => {
    await db.query('CREATE TABLE order_status (id int PRIMARY KEY, label text)');
    await db.query("INSERT INTO order_status VALUES (1, 'new'), (2, 'paid'), (3, 'shipped')");
    await db.query('CREATE TABLE orders_big (id serial PRIMARY KEY, customer_id int, status_id int)');
    await db.query('INSERT INTO orders_big (customer_id, status_id) SELECT g % 5000, g % 3 + 1 FROM generate_series(1, 60000) g');
    await db.query('CREATE INDEX idx_orders_big_customer ON orders_big (customer_id)');
    await db.query('CREATE INDEX idx_orders_big_status ON orders_big (status_id)');
    await db.query('ANALYZE order_status');
    await db.query('ANALYZE orders_big');
    const { code, report } = await explain(`checks:
  - name: a customer's orders with labels
    query: SELECT * FROM orders_big o JOIN order_status s ON s.id = o.status_id WHERE o.customer_id = $1
    params: [42]
    expect: { uses_index: idx_orders_big_status }
`);
    expect(code).toBe(1);
    expect(report.checks[0]).toMatchObject({ status: 'fail', passed: false });
  });

  it('catches a generic plan that seq-scans a skewed column where the custom plan uses the index', async () => {
    // The usual index for a skewed column: a partial index on its rare value. The custom plan for
    // $1 = 'pending' proves the predicate and uses it; the generic plan (what a prepared statement
    // gets after five runs) cannot, and reads the whole table.
    await db.query('CREATE TABLE jobs (id serial PRIMARY KEY, state text, payload text)');
    await db.query("INSERT INTO jobs (state, payload) SELECT CASE WHEN g % 1000 = 0 THEN 'pending' ELSE 'done' END, 'p' FROM generate_series(1, 100000) g");
    await db.query("CREATE INDEX idx_jobs_pending ON jobs (id) WHERE state = 'pending'");
    await db.query('ANALYZE jobs');
    const { code, report } = await explain(`checks:
  - name: pending jobs
    query: SELECT * FROM jobs WHERE state = $1
    params: [pending]
    generic: true
    expect: { uses_index: idx_jobs_pending }
`);
    expect(code).toBe(1);
    const check = report.checks[0]!;
    expect(check.assertions[0]!.passed).toBe(true);
    expect(check.generic!.status).toBe('fail');
    expect(check.generic!.assertions[0]!.observed).toMatch(/^no — (Parallel )?Seq Scan on jobs/);
    expect(check.status).toBe('fail');
  });

  it('is run by verify for the checks of an index set, in the same report', async () => {
    const set = await writeTempFile(
      'with-checks.yaml',
      `set: s
indexes:
  - { name: idx_pam_conversations_user_created, table: pam_conversations, columns: [user_id, created_at desc] }
checks:
  - name: history uses the index
    query: SELECT * FROM pam_conversations WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20
    params: [7]
    runs: 2
    expect: { uses_index: idx_pam_conversations_user_created }
`,
    );
    const result = await runCli(['verify', set, '--json'], { DATABASE_URL: db.url });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { passed: boolean; indexes: Array<{ status: string }>; checks: ExplainJson['checks'] };
    expect(report.indexes[0]!.status).toBe('ok');
    expect(report.checks).toHaveLength(1);
    expect(report.checks[0]).toMatchObject({ name: 'history uses the index', passed: true, status: 'pass' });
    expect(report.checks[0]!.timings!.runs_ms).toHaveLength(2);
  });

  it('saves results and compares before and after an index: time, buffers and plan, measured', async () => {
    await db.query('CREATE TABLE expenses_by_date (id serial, user_id int, date date, amount numeric)');
    await db.query("INSERT INTO expenses_by_date (user_id, date, amount) SELECT g % 3000, date '2024-01-01' + (g % 365), g FROM generate_series(1, 80000) g");
    await db.query('ANALYZE expenses_by_date');
    const checks = await writeTempFile(
      'cmp.yaml',
      `name: expense reports
checks:
  - name: a user's expenses in a month
    query: SELECT * FROM expenses_by_date WHERE user_id = $1 AND date BETWEEN $2 AND $3
    params: [42, '2024-03-01', '2024-03-31']
    expect: { max_ms: 10000 }
`,
    );
    const dir = checks.replace(/cmp\.yaml$/, '');
    const save = (name: string) => runCli(['explain', checks, '--runs', '5', '--save', `${dir}${name}`], { DATABASE_URL: db.url });
    expect((await save('before.json')).code).toBe(0);
    const set = await writeTempFile('exp.yaml', 'set: x\nindexes:\n  - { name: idx_expenses_user_date, table: expenses_by_date, columns: [user_id, date] }\n');
    expect((await runCli(['apply', set], { DATABASE_URL: db.url })).code).toBe(0);
    expect((await save('after.json')).code).toBe(0);

    const compared = await runCli(['compare', `${dir}before.json`, `${dir}after.json`, '--json']);
    expect(compared.code, compared.stderr).toBe(0);
    const doc = JSON.parse(compared.stdout) as { checks: Array<{ verdict: string; p50_ratio: number; before: { summary: string; buffers: number }; after: { summary: string; buffers: number } }> };
    expect(doc.checks[0]!.verdict).toBe('faster');
    expect(doc.checks[0]!.p50_ratio).toBeLessThan(1);
    expect(doc.checks[0]!.before.summary).toMatch(/Seq Scan on expenses_by_date/);
    expect(doc.checks[0]!.after.summary).toMatch(/idx_expenses_user_date/);
    expect(doc.checks[0]!.after.buffers).toBeLessThan(doc.checks[0]!.before.buffers);

    const table = await runCli(['compare', `${dir}before.json`, `${dir}after.json`]);
    expect(table.stdout).toMatch(/a user's expenses in a month .*→.*× faster/);

    // A result of different checks is refused unless forced; a file that is no result is bad input.
    const other = await writeTempFile('other.yaml', 'checks:\n  - name: "a user\'s expenses in a month"\n    query: SELECT 1\n    expect: { max_ms: 1000 }\n');
    expect((await runCli(['explain', other, '--save', `${dir}other.json`], { DATABASE_URL: db.url })).code).toBe(0);
    const refused = await runCli(['compare', `${dir}before.json`, `${dir}other.json`]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not the same checks: the query or params of "a user's expenses in a month" changed/);
    expect((await runCli(['compare', `${dir}before.json`, `${dir}other.json`, '--force'])).code).toBe(0);
    expect((await runCli(['compare', `${dir}before.json`, checks])).code).toBe(2);
  });
});
