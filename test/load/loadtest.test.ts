import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { runCli, startCli, writeTempFile } from '../support/cli.js';
import { respondAfter, startTarget } from '../support/http-target.js';
import { readResult, scenario, useTargets } from '../support/load-run.js';
import { waitFor } from '../support/wait-for.js';

/**
 * `dbtune loadtest` end to end: the real CLI against HTTP servers started
 * here on port 0. Stages are 1–2 s; every run ends by itself.
 */

const target = useTargets();

describe('dbtune loadtest', () => {
  it('finds the highest stage that holds on a server that degrades past 20 concurrent requests', async () => {
    // Past 20 requests in flight the server sheds load with 503: 10 users hold, 40 cannot.
    const server = await target((_req, res, _body, t) => respondAfter(res, 5, t.inFlight > 20 ? 503 : 200));
    const { file, out } = await scenario(`
scenario: degrading
target: ${server.url}
requests: [{ name: list, path: /api/list }]
stages:
  - { users: 5, duration: 1s }
  - { users: 10, duration: 1s }
  - { users: 40, duration: 1s }
  - { users: 80, duration: 1s }
thresholds: { success_rate: 99% }
`);
    const run = await runCli(['loadtest', file, '--out', out, '--format', 'json']);
    expect(run.code, run.stderr).toBe(1);
    const result = await readResult(out);
    expect(JSON.parse(run.stdout)).toEqual(result);
    expect(result.passed).toBe(false);
    expect(result.max_sustained_users).toBe(10);
    expect(result.stages.map((s) => [s.users, s.passed, s.skipped])).toEqual([
      [5, true, false],
      [10, true, false],
      [40, false, false],
      [80, false, true],
    ]);
    const third = result.stages[2]!;
    expect(third.errors.http_503).toBeGreaterThan(0);
    expect(third.success_rate).toBeLessThan(0.99);
    expect(third.thresholds).toEqual([expect.objectContaining({ name: 'success_rate', passed: false })]);
    expect(result.stages[0]!.success_rate).toBe(1);
    // Every attempt is accounted for.
    for (const s of result.stages.slice(0, 3)) expect(s.successes + s.failures).toBe(s.requests);
    expect(run.stderr).toMatch(/stage 3\/4 \(40 users\) failed/);
  });

  it('reports p50 and p95 that match a server with known latency, at sub-millisecond resolution', async () => {
    // /x: every 10th request takes 40 ms, the rest 4 ms, so p50 is a fast one and p95 a slow one.
    // /zero answers at once: its p50 is the overhead (loopback, scheduling) the same run adds.
    let n = 0;
    const server = await target((req, res) => respondAfter(res, req.url === '/zero' ? 0 : ++n % 10 === 0 ? 40 : 4));
    const { file, out } = await scenario(`
scenario: known-latency
target: ${server.url}
requests: [{ name: x, path: /x, weight: 3 }, { name: zero, path: /zero }]
stages: [{ users: 4, duration: 2s }]
`);
    const run = await runCli(['loadtest', file, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const stage = (await readResult(out)).stages[0]!;
    const x = stage.by_request.find((r) => r.name === 'x')!;
    const overhead = stage.by_request.find((r) => r.name === 'zero')!.latency.p50;
    expect(x.requests).toBeGreaterThan(150);
    // Node's timers run on a millisecond clock: one may fire up to 1 ms early.
    expect(x.latency.p50).toBeGreaterThanOrEqual(3);
    expect(x.latency.p95).toBeGreaterThanOrEqual(39);
    expect(x.latency.p50 - overhead).toBeGreaterThan(2);
    expect(x.latency.p50 - overhead).toBeLessThan(7);
    expect(x.latency.p95 - overhead).toBeGreaterThan(37);
    expect(x.latency.p95 - overhead).toBeLessThan(46);
    expect(x.latency.p90).toBeLessThan(x.latency.p95);
    expect(x.latency.min).toBeGreaterThanOrEqual(3);
    // Not rounded to whole milliseconds.
    expect([x.latency.p50, x.latency.p95, x.latency.mean].some((v) => !Number.isInteger(v))).toBe(true);
    expect(stage.timeline.length).toBeGreaterThanOrEqual(2);
  });

  it('waits for the requests in flight when a stage ends instead of dropping the slowest', async () => {
    // 800 ms per request, 1 s stage: each user's second request is still in flight at the end.
    const server = await target((_req, res) => respondAfter(res, 800));
    const { file, out } = await scenario(`scenario: drain\ntarget: ${server.url}\nrequests: [{ name: slow, path: / }]\nstages: [{ users: 4, duration: 1s }]\nthresholds: { p95: 2s }\n`);
    const run = await runCli(['loadtest', file, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const stage = (await readResult(out)).stages[0]!;
    expect(stage.requests).toBe(8);
    expect(server.received).toHaveLength(8);
    expect(stage.latency.min).toBeGreaterThanOrEqual(799);
    // The rate is over the stage's 1 s of sending, not the drain after it.
    expect(stage.measured_s).toBeLessThan(1.2);
  });

  it('counts a request that times out while the stage drains', async () => {
    // Never answers: one user times out at 1 s (in the stage) and at 2 s (sent at 1 s, drained).
    const server = await target(() => {});
    const { file, out } = await scenario(`scenario: drain-timeout\ntarget: ${server.url}\ntimeout: 1s\nrequests: [{ name: hang, path: / }]\nstages: [{ users: 1, duration: 1500ms }]\nthresholds: { success_rate: 0% }\n`);
    const run = await runCli(['loadtest', file, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const stage = (await readResult(out)).stages[0]!;
    expect(server.received).toHaveLength(2);
    expect(stage.errors).toEqual({ timeout: 2 });
    expect(stage.requests).toBe(2);
  });

  it('counts timeouts and dropped connections as failures, and timeouts at the timeout in the percentiles', async () => {
    let n = 0;
    const server = await target((req, res) => {
      n++;
      if (req.url === '/hang') return; // never answers
      if (req.url === '/drop' && n % 3 === 0) {
        req.socket.destroy();
        return;
      }
      respondAfter(res, 2);
    });
    const { file, out } = await scenario(`
scenario: faults
target: ${server.url}
timeout: 1s
requests:
  - { name: ok, path: /ok, weight: 4 }
  - { name: hang, path: /hang }
  - { name: drop, path: /drop, weight: 2 }
stages: [{ users: 6, duration: 2500ms }]
thresholds: { success_rate: 50% }
`);
    const run = await runCli(['loadtest', file, '--out', out]);
    const result = await readResult(out);
    const stage = result.stages[0]!;
    expect(stage.errors.timeout).toBeGreaterThan(0);
    expect((stage.errors.connection_closed ?? 0) + (stage.errors.connection_reset ?? 0)).toBeGreaterThan(0);
    expect(stage.failures).toBe(Object.values(stage.errors).reduce((a, b) => a + b, 0));
    expect(stage.successes + stage.failures).toBe(stage.requests);
    const byName = Object.fromEntries(stage.by_request.map((r) => [r.name, r]));
    expect(byName.hang!.errors).toEqual({ timeout: byName.hang!.requests });
    expect(byName.hang!.latency.p50).toBeGreaterThanOrEqual(1000);
    expect(byName.ok!.failures).toBe(0);
    expect(byName.drop!.successes).toBeGreaterThan(0);
    expect(byName.drop!.failures).toBeGreaterThan(0);
    // ok requests stay fast. (This cannot catch stale timings, the lost requests being dropped at
    // once: 'no stale timings after a lost connection' in connection-faults.test.ts can.)
    expect(byName.ok!.latency.p99).toBeLessThan(200);
    expect(stage.latency.max).toBeGreaterThanOrEqual(1000);
    expect(run.code, run.stderr).toBe(stage.passed ? 0 : 1);
  });

  it('evaluates thresholds per stage, with stage overrides, and runs on past a failure when stop_on_failure is false', async () => {
    const server = await target((_req, res) => respondAfter(res, 3));
    const { file, out } = await scenario(`
scenario: per-stage
target: ${server.url}
requests: [{ name: get, path: / }]
stages:
  - { users: 2, duration: 1s }
  - { users: 4, duration: 1s, thresholds: { p95: 1ms } }
  - { users: 6, duration: 1s, thresholds: { rps: 1 } }
thresholds: { p95: 500ms, success_rate: 0.99 }
stop_on_failure: false
`);
    const run = await runCli(['loadtest', file, '--out', out, '--format', 'junit']);
    expect(run.code, run.stderr).toBe(1);
    const result = await readResult(out);
    expect(result.stages.map((s) => s.passed)).toEqual([true, false, true]);
    expect(result.stages.every((s) => !s.skipped)).toBe(true);
    // The stages after the first failure do not count towards max sustained users.
    expect(result.max_sustained_users).toBe(2);
    const second = result.stages[1]!.thresholds;
    expect(second.find((t) => t.name === 'p95')).toMatchObject({ limit: '≤ 1ms', passed: false });
    expect(second.find((t) => t.name === 'success_rate')).toMatchObject({ passed: true });
    expect(result.stages[2]!.thresholds.map((t) => t.name).sort()).toEqual(['p95', 'rps', 'success_rate']);
    // JUnit: one test case per stage threshold, the breached one failing.
    const xml = new XMLParser({ ignoreAttributes: false }).parse(run.stdout);
    const suites = [xml.testsuites.testsuite].flat();
    expect(suites).toHaveLength(1);
    const cases = [suites[0].testcase].flat();
    expect(cases).toHaveLength(result.stages.reduce((n, s) => n + s.thresholds.length, 0));
    const failed = cases.filter((c: { failure?: unknown }) => c.failure);
    expect(failed.map((c: { '@_name': string }) => c['@_name'])).toEqual(['stage 2 (4 users): p95']);
  });

  it('spreads load over many keys with generators and CSV rows, and sends JSON bodies with numbers', async () => {
    const server = await target((_req, res) => respondAfter(res, 1));
    const dir = path.dirname(await writeTempFile('handles.csv', `handle,plan\n${Array.from({ length: 50 }, (_, i) => `user${i},pro`).join('\n')}\n`));
    const file = path.join(dir, 'scenario.yaml');
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(
        file,
        `
scenario: spread
target: ${server.url}
data: handles.csv
requests:
  - { name: profile, path: "/api/profiles/{{row.handle}}?plan={{row.plan}}" }
  - { name: expense, method: POST, path: /api/expenses, json: { user_id: "{{int 1 100000}}", amount: "{{float 1 500}}", note: "n{{seq}}", tag: "{{pick a b}}" } }
  - { name: event, path: "/api/events/{{uuid}}" }
stages: [{ users: 4, duration: 1s }]
`,
      ),
    );
    const run = await runCli(['loadtest', file]);
    expect(run.code, run.stderr).toBe(0);
    const profiles = server.received.filter((r) => r.url.startsWith('/api/profiles/'));
    const handles = new Set(profiles.map((r) => r.url.split('/')[3]!.split('?')[0]));
    expect(handles.size).toBe(50);
    expect([...handles].every((h) => /^user\d+$/.test(h!))).toBe(true);
    const expenses = server.received.filter((r) => r.url === '/api/expenses').map((r) => JSON.parse(r.body) as Record<string, unknown>);
    expect(expenses.length).toBeGreaterThan(50);
    expect(new Set(expenses.map((e) => e.user_id)).size).toBeGreaterThan(expenses.length * 0.9);
    expect(expenses.every((e) => typeof e.user_id === 'number' && typeof e.amount === 'number' && typeof e.note === 'string')).toBe(true);
    expect(new Set(expenses.map((e) => e.tag))).toEqual(new Set(['a', 'b']));
    const events = server.received.filter((r) => r.url.startsWith('/api/events/'));
    expect(new Set(events.map((r) => r.url)).size).toBe(events.length);
  });

  it('refuses a bad scenario with every problem and its position, and sends nothing (exit 2)', async () => {
    const server = await target((_req, res) => respondAfter(res, 1));
    const { file } = await scenario(`scenario: bad
target: ${server.url}
requests:
  - { name: a, path: "/x?id={{int 5 1}}", headers: { authorization: "Bearer \${DBTUNE_TEST_MISSING_TOKEN}" } }
  - { name: a, path: nope }
stages: [{ users: 0, duration: 1s }]
thresholds: { p95: fast }
`);
    const run = await runCli(['loadtest', file]);
    expect(run.code).toBe(2);
    for (const text of [/:4:\d+.*DBTUNE_TEST_MISSING_TOKEN is not set/, /:4:\d+.*min is greater than max/, /:5:\d+.*used twice/, /:5:\d+.*path starting with \//, /:6:\d+/, /:7:\d+.*duration/]) {
      expect(run.stderr).toMatch(text);
    }
    expect(server.received).toHaveLength(0);
  });

  it('refuses bad flags before sending anything (exit 2)', async () => {
    const server = await target((_req, res) => respondAfter(res, 1));
    const { file } = await scenario(`scenario: ok\ntarget: ${server.url}\nrequests: [{ name: a, path: / }]\nstages: [{ users: 1, duration: 1s }]\n`);
    for (const args of [['--stages', '10,x'], ['--duration', 'soon'], ['--target', 'ftp://host'], ['--timeout', '200ms'], ['--out', '/nonexistent-dir/r.json']]) {
      const run = await runCli(['loadtest', file, ...args]);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
    }
    expect(server.received).toHaveLength(0);
  });

  it('exits 3 within seconds when the target is down at the start', async () => {
    const server = await startTarget((_req, res) => respondAfter(res, 1));
    await server.close();
    const { file, out } = await scenario(`scenario: down\ntarget: ${server.url}\nrequests: [{ name: a, path: / }]\nstages: [{ users: 5, duration: 30s }]\n`);
    const started = Date.now();
    const run = await runCli(['loadtest', file, '--out', out]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/cannot reach the target http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    // Far less than the stage's 30 s: the check comes before the load.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('ends a stage cleanly when the target dies mid-stage: connection errors counted, result written', async () => {
    const server = await target((_req, res) => respondAfter(res, 2));
    const { file, out } = await scenario(`
scenario: dies
target: ${server.url}
requests: [{ name: a, path: / }]
stages: [{ users: 4, duration: 20s }, { users: 8, duration: 20s }]
`);
    const cli = startCli(['loadtest', file, '--out', out]);
    await cli.waitForStderr(/stage 1\/2: 4 users/);
    // A fifth request means a user had its first one answered: the stage has successes to keep.
    await waitFor(() => server.received.length > 4, { what: 'more requests than users' });
    void server.close();
    const run = await cli.done;
    expect(run.code, run.stderr).toBe(1);
    const result = await readResult(out);
    const [first, second] = result.stages;
    expect(first!.successes).toBeGreaterThan(0);
    expect((first!.errors.connection_refused ?? 0) + (first!.errors.connection_closed ?? 0) + (first!.errors.connection_reset ?? 0)).toBeGreaterThan(0);
    expect(first!.ended_early).toMatch(/refused or dropped every connection/);
    // Refused connections make users wait before reconnecting, and the waits are counted.
    expect(first!.generator!.reconnect_waits).toBeGreaterThan(0);
    expect(first!.measured_s).toBeLessThan(15);
    expect(second!.skipped).toBe(true);
    expect(result.max_sustained_users).toBe(0);
  });

  it('stops at Ctrl-C, writes what was measured and exits 130', async () => {
    const server = await target((_req, res) => respondAfter(res, 2));
    const { file, out } = await scenario(`scenario: long\ntarget: ${server.url}\nrequests: [{ name: a, path: / }]\nstages: [{ users: 3, duration: 60s }, { users: 6, duration: 60s }]\n`);
    const cli = startCli(['loadtest', file, '--out', out, '--format', 'json']);
    await cli.waitForStderr(/stage 1\/2: 3 users/);
    // A fourth request means a user had its first one answered: there is something measured to write.
    await waitFor(() => server.received.length > 3, { what: 'more requests than users' });
    cli.child.kill('SIGINT');
    const run = await cli.done;
    expect(run.code).toBe(130);
    const result = await readResult(out);
    expect(JSON.parse(run.stdout)).toEqual(result);
    expect(result.interrupted).toBe(true);
    expect(result.passed).toBe(false);
    expect(result.stages[0]).toMatchObject({ interrupted: true, skipped: false });
    expect(result.stages[0]!.requests).toBeGreaterThan(0);
    expect(result.stages[0]!.measured_s).toBeLessThan(30);
    expect(result.stages[1]!.skipped).toBe(true);
  });

  it('does not follow redirects: a 3xx is a failure unless expected, and only the target gets traffic', async () => {
    const elsewhere = await target((_req, res) => respondAfter(res, 1));
    const server = await target((req, res) => {
      res.writeHead(302, { location: `${elsewhere.url}/landing` });
      res.end();
    });
    const { file, out } = await scenario(`
scenario: redirects
target: ${server.url}
requests:
  - { name: moved, path: /old }
  - { name: moved-expected, path: /old2, expect_status: [302] }
stages: [{ users: 2, duration: 1s }]
thresholds: { success_rate: 10% }
`);
    const run = await runCli(['loadtest', file, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const byName = Object.fromEntries((await readResult(out)).stages[0]!.by_request.map((r) => [r.name, r]));
    expect(byName.moved!.errors).toEqual({ http_302: byName.moved!.requests });
    expect(byName['moved-expected']!.failures).toBe(0);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('handles large responses and counts their bytes', async () => {
    const big = 'x'.repeat(2 * 1024 * 1024);
    const server = await target((_req, res) => respondAfter(res, 0, 200, big));
    const { file, out } = await scenario(`scenario: big\ntarget: ${server.url}\nrequests: [{ name: big, path: / }]\nstages: [{ users: 2, duration: 1s }]\n`);
    const run = await runCli(['loadtest', file, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const stage = (await readResult(out)).stages[0]!;
    expect(stage.requests).toBeGreaterThan(2);
    expect(stage.bytes).toBeGreaterThanOrEqual(stage.requests * big.length);
  });

  it('applies --target, --stages and --duration, and prefixes paths with the target path', async () => {
    const server = await target((_req, res) => respondAfter(res, 1));
    const { file, out } = await scenario(`scenario: overrides\ntarget: http://127.0.0.1:9\nrequests: [{ name: a, path: /users }]\nstages: [{ users: 1, duration: 60s }]\n`);
    const run = await runCli(['loadtest', file, '--target', `${server.url}/api/v2`, '--stages', '1,3', '--duration', '1s', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const result = await readResult(out);
    expect(result.stages.map((s) => [s.users, s.duration_s])).toEqual([
      [1, 1],
      [3, 1],
    ]);
    expect(result.context.target).toBe(`${server.url}/api/v2`);
    expect(new Set(server.received.map((r) => r.url))).toEqual(new Set(['/api/v2/users']));
  });

  it('compares two runs: a slower server reads as worse, and different stages are refused without --force', async () => {
    let delay = 1;
    const server = await target((_req, res) => respondAfter(res, delay));
    const { file } = await scenario(`scenario: cmp\ntarget: ${server.url}\nrequests: [{ name: a, path: / }]\nstages: [{ users: 4, duration: 2s }]\n`);
    const dir = path.dirname(file);
    expect((await runCli(['loadtest', file, '--out', path.join(dir, 'before.json')])).code).toBe(0);
    delay = 80;
    expect((await runCli(['loadtest', file, '--out', path.join(dir, 'after.json')])).code).toBe(0);
    const compare = await runCli(['compare', path.join(dir, 'before.json'), path.join(dir, 'after.json'), '--json']);
    expect(compare.code, compare.stderr).toBe(0);
    const doc = JSON.parse(compare.stdout) as { stages: Array<{ request?: string; metrics: Array<{ metric: string; verdict: string }> }>; max_sustained_users: unknown };
    const stage = doc.stages.find((s) => !s.request)!;
    expect(stage.metrics.find((m) => m.metric === 'p95')!.verdict).toBe('worse');
    expect(stage.metrics.find((m) => m.metric === 'rps')!.verdict).toBe('worse');
    expect(stage.metrics.find((m) => m.metric === 'success_rate')!.verdict).toBe('no significant change');
    const table = await runCli(['compare', path.join(dir, 'before.json'), path.join(dir, 'after.json')]);
    expect(table.stdout).toMatch(/p95.*→.*worse/);

    // A run with other stages is not comparable.
    const other = await runCli(['loadtest', file, '--stages', '2,4', '--duration', '1s', '--out', path.join(dir, 'other.json')]);
    expect(other.code).toBe(0);
    const refused = await runCli(['compare', path.join(dir, 'before.json'), path.join(dir, 'other.json')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not the same load test: stages/);
    expect((await runCli(['compare', path.join(dir, 'before.json'), path.join(dir, 'other.json'), '--force'])).code).toBe(0);
  });

  it('verifies an https target\'s certificate: a self-signed one is refused (exit 3) unless --insecure', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-tls-'));
    const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const server = await target((_req, res) => respondAfter(res, 1), { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') });
    const { file, out } = await scenario(`scenario: tls\ntarget: ${server.url}\nrequests: [{ name: a, path: / }]\nstages: [{ users: 2, duration: 1s }]\n`);
    const refused = await runCli(['loadtest', file]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/certificate is not trusted/);
    expect(refused.stderr).toMatch(/--insecure/);
    expect(server.received).toHaveLength(0);
    const insecure = await runCli(['loadtest', file, '--insecure', '--out', out]);
    expect(insecure.code, insecure.stderr).toBe(0);
    expect((await readResult(out)).stages[0]!.successes).toBeGreaterThan(0);
    // Trusting its CA is the other way in.
    const trusted = await runCli(['loadtest', file], { NODE_EXTRA_CA_CERTS: cert });
    expect(trusted.code, trusted.stderr).toBe(0);
  });
});
