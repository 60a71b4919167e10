import { execFileSync, spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';
import { respondAfter } from '../support/http-target.js';
import { readResult, scenario, useTargets } from '../support/load-run.js';
import { waitFor } from '../support/wait-for.js';

/**
 * `dbtune loadtest --engine locust` end to end: a real Locust master and
 * workers (Debian's python3-locust 2.12.1 here) against HTTP servers started
 * here on port 0. Stages are 1–2 s. Without `locust` on the PATH the tests
 * that run it skip with a warning, unless DBTUNE_TEST_REQUIRE_LOCUST=1 (CI).
 */

function locustMissing(): string {
  try {
    execFileSync('locust', ['--version'], { stdio: 'ignore', timeout: 30_000 });
    return '';
  } catch (error) {
    return `cannot run \`locust --version\` (${(error as Error).message.split('\n')[0]}): install it with \`apt-get install -y python3-locust\``;
  }
}
const missing = locustMissing();
if (missing) {
  if (process.env.DBTUNE_TEST_REQUIRE_LOCUST === '1') throw new Error(`${missing} (DBTUNE_TEST_REQUIRE_LOCUST=1 requires it)`);
  process.stderr.write(`\nwarning: the Locust engine tests are skipped: ${missing}\n\n`);
}

const target = useTargets();

/** The Locust processes a dbtune run started (its children), by PID. */
async function locustChildren(pid: number): Promise<Array<{ pid: number; args: string }>> {
  const children: Array<{ pid: number; args: string }> = [];
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    const listed = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    for (const child of listed.split(' ').filter(Boolean).map(Number)) {
      const args = (await readFile(`/proc/${child}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ');
      if (args.includes('locust')) children.push({ pid: child, args });
    }
  }
  return children;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function gone(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat === '' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

describe('dbtune loadtest --engine locust: before anything runs', () => {
  it('exits 3 with the install command when locust is not on the PATH', async () => {
    const { file } = await scenario('scenario: s\ntarget: http://127.0.0.1:9\nrequests: [{ name: x, path: /x }]\nstages: [{ users: 1, duration: 1s }]\n');
    const run = await runCli(['loadtest', file, '--engine', 'locust', '--format', 'json'], { PATH: '/nonexistent' });
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toContain('apt-get install python3-locust');
    expect(run.stderr).toContain('pip install locust');
  });

  it('exits 3 naming the version when the locust given is one the locustfile was not tested with, or prints none', async () => {
    const { file } = await scenario('scenario: s\ntarget: http://127.0.0.1:9\nrequests: [{ name: x, path: /x }]\nstages: [{ users: 1, duration: 1s }]\n');
    const dir = path.dirname(file);
    for (const [printed, message] of [
      ['locust 2.31.8', /version 2\.31\.8.*tested with 2\.12\.x/],
      // An empty version from a script no Debian package owns: nothing to read the version from.
      ['locust ', /reports no version/],
    ] as const) {
      const fake = path.join(dir, 'locust');
      await writeFile(fake, `#!/bin/sh\necho '${printed}'\n`, { mode: 0o755 });
      const run = await runCli(['loadtest', file, '--engine', 'locust', '--locust', fake]);
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr).toMatch(message);
    }
  });

  it('exits 2 naming a scenario option the locust engine cannot honour', async () => {
    const { file } = await scenario('scenario: s\ntarget: http://127.0.0.1:9\nrequests: [{ name: x, path: /x, headers: { connection: close } }]\nstages: [{ users: 1, duration: 1s }]\n');
    const run = await runCli(['loadtest', file, '--engine', 'locust']);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('requests[0].headers.connection');
  });
});

describe.skipIf(missing !== '')('dbtune loadtest --engine locust', () => {
  it('runs each stage at its users, with every request the target received in the result once, p50 and p95 of a known latency, and the verdicts of the autocannon engine', async () => {
    // /x: every 10th request takes 40 ms, the rest 2 ms; /zero answers at once: its p50 is the
    // overhead the same run adds (Python's client per request, loopback, scheduling on 2 busy cores).
    // Past 8 requests in flight the server sheds load with 503: 6 users hold, 12 cannot.
    let n = 0;
    const server = await target((req, res, _body, t) => respondAfter(res, req.url!.startsWith('/zero') ? 0 : ++n % 10 === 0 ? 40 : 2, t.inFlight > 8 ? 503 : 200));
    const { file, out } = await scenario(`
scenario: known-latency
target: ${server.url}
requests: [{ name: x, path: "/x?s={{seq}}", weight: 3 }, { name: zero, path: /zero }]
stages: [{ users: 2, duration: 1s }, { users: 6, duration: 1s }, { users: 12, duration: 1s }]
`);
    const run = await runCli(['loadtest', file, '--engine', 'locust', '--workers', '2', '--out', out]);
    expect(run.code, run.stderr).toBe(1);
    const result = await readResult(out);
    const { stages } = result;
    expect(stages.map((s) => [s.users, s.passed])).toEqual([
      [2, true],
      [6, true],
      [12, false],
    ]);
    expect(result.max_sustained_users).toBe(6);
    expect(stages[2]!.errors.http_503).toBeGreaterThan(0);
    // Exactly what the target received: nothing lost when a stage ended, nothing counted twice,
    // nothing sent between stages.
    const sent = (name: string) => stages.reduce((sum, s) => sum + s.by_request.find((r) => r.name === name)!.requests, 0);
    expect(stages.reduce((sum, s) => sum + s.requests, 0)).toBe(server.received.length);
    expect(sent('x')).toBe(server.received.filter((r) => r.url.startsWith('/x')).length);
    expect(sent('zero')).toBe(server.received.filter((r) => r.url === '/zero').length);
    // {{seq}} is unique across the two workers, and both workers sent.
    const seqs = server.received.filter((r) => r.url.startsWith('/x')).map((r) => Number(new URL(r.url, server.url).searchParams.get('s')));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.some((s) => s % 2 === 0) && seqs.some((s) => s % 2 === 1)).toBe(true);
    for (const s of stages) {
      // Closed-loop users: by Little's law a stage's mean concurrency (rps × mean latency) is its users.
      const concurrency = (s.requests / s.measured_s) * (s.latency.mean / 1000);
      expect(concurrency, `stage at ${s.users} users`).toBeGreaterThan(s.users * 0.7);
      expect(concurrency, `stage at ${s.users} users`).toBeLessThan(s.users * 1.1);
    }
    expect(server.peakInFlight).toBeLessThanOrEqual(12);
    const first = stages[0]!;
    const x = first.by_request.find((r) => r.name === 'x')!;
    const zero = first.by_request.find((r) => r.name === 'zero')!;
    expect(first.failures).toBe(0);
    expect(x.requests).toBeGreaterThan(50);
    // Truth: p50 2 ms, p95 40 ms (Node's timers: up to 1 ms either way). Tolerance, with the /zero
    // overhead taken off: p50 within (1, 5) ms, p95 within (37, 48) ms. The buckets are within
    // 0.4 %; the rest is the per-request overhead, which varies with two Python workers on a busy CPU.
    expect(x.latency.p50 - zero.latency.p50).toBeGreaterThan(1);
    expect(x.latency.p50 - zero.latency.p50).toBeLessThan(5);
    expect(x.latency.p95 - zero.latency.p50).toBeGreaterThan(37);
    expect(x.latency.p95 - zero.latency.p50).toBeLessThan(48);
    expect(x.latency.p90).toBeLessThan(x.latency.p95);
    // Microseconds, not Locust's whole milliseconds.
    expect([x.latency.p50, x.latency.min, x.latency.mean].some((v) => !Number.isInteger(v))).toBe(true);

    // The autocannon engine on the same scenario and server: the same verdicts.
    const other = await runCli(['loadtest', file, '--out', out]);
    expect(other.code, other.stderr).toBe(1);
    const autocannon = await readResult(out);
    expect(autocannon.stages.map((s) => [s.users, s.passed])).toEqual(stages.map((s) => [s.users, s.passed]));
    expect(autocannon.max_sustained_users).toBe(result.max_sustained_users);
  });

  it('refuses a control connection that does not present this run\'s token (exit 1, whatever else connects), and leaves no Locust process behind', async () => {
    const server = await target((_req, res) => respondAfter(res, 0));
    const { file, out } = await scenario(`scenario: token\ntarget: ${server.url}\nrequests: [{ name: x, path: /x }]\nstages: [{ users: 1, duration: 1s }]\n`);
    // --locust runs this script for the master: it plays another local process that reaches the
    // loopback control port first, with a token of its own, and opens a second connection that
    // sends a line and closes, then runs the real master (which connects last, with the right
    // token). It records the PIDs that become Locust processes.
    const dir = path.dirname(file);
    const wrapper = path.join(dir, 'locust');
    await writeFile(wrapper, [
      '#!/bin/bash',
      // dbtune reads the version first: Debian's locust prints none, and dpkg vouches only for its own script.
      'if [ "$1" = --version ]; then echo "locust 2.12.1"; exit 0; fi',
      `echo $$ >> ${JSON.stringify(path.join(dir, 'pids'))}`,
      'if [ -n "$DBTUNE_CONTROL" ]; then',
      '  exec 3<>"/dev/tcp/${DBTUNE_CONTROL%:*}/${DBTUNE_CONTROL##*:}"',
      '  printf \'{"event":"hello","version":"2.12.1","token":"%s"}\\n\' 0123456789abcdef0123456789abcdef >&3',
      '  exec 4<>"/dev/tcp/${DBTUNE_CONTROL%:*}/${DBTUNE_CONTROL##*:}"',
      '  printf \'{"event":"hello"}\\n\' >&4',
      '  exec 3>&- 4>&-',
      'fi',
      'exec locust "$@"',
    ].join('\n'), { mode: 0o755 });
    // No local worker (one remote expected, never started): the run stops at the handshake, before any.
    const started = Date.now();
    const run = await runCli(['loadtest', file, '--engine', 'locust', '--locust', wrapper, '--workers', '0', '--expect-workers', '1', '--master-bind', `127.0.0.1:${await freePort()}`, '--out', out]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('the first connection to the Locust control port was not the master dbtune started (wrong token)');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(server.received).toHaveLength(0);
    const pids = (await readFile(path.join(dir, 'pids'), 'utf8')).split('\n').filter(Boolean).map(Number);
    expect(pids).toHaveLength(1);
    for (const pid of pids) expect(await gone(pid), `Locust master ${pid}`).toBe(true);
  });

  it('a Locust master that goes away after its handshake is an error naming it (exit 1), not an internal error', async () => {
    const server = await target((_req, res) => respondAfter(res, 0));
    const { file, out } = await scenario(`scenario: master-exits\ntarget: ${server.url}\nrequests: [{ name: x, path: /x }]\nstages: [{ users: 1, duration: 1s }]\n`);
    const wrapper = path.join(path.dirname(file), 'locust');
    // --version as Debian's locust cannot answer it; the "master" greets dbtune with this run's token, then exits.
    await writeFile(wrapper, [
      '#!/bin/bash',
      'if [ "$1" = --version ]; then echo "locust 2.12.1"; exit 0; fi',
      'exec 3<>"/dev/tcp/${DBTUNE_CONTROL%:*}/${DBTUNE_CONTROL##*:}"',
      'printf \'{"event":"hello","version":"2.12.1","token":"%s"}\\n\' "$DBTUNE_CONTROL_TOKEN" >&3',
      'sleep 0.3',
      'exit 3',
    ].join('\n'), { mode: 0o755 });
    const run = await runCli(['loadtest', file, '--engine', 'locust', '--locust', wrapper, '--workers', '0', '--expect-workers', '1', '--master-bind', `127.0.0.1:${await freePort()}`, '--out', out]);
    expect(run.code, run.stderr).toBe(1);
    // Which of the three dbtune sees first depends on the timing of the reset, the close and the exit.
    expect(run.stderr).toMatch(/error: the Locust master( exited|'s control connection failed| closed its control connection)/);
    expect(run.stderr).not.toContain('internal error');
    expect(server.received).toHaveLength(0);
  });

  it('runs on a worker started from the exported locustfile beside a local one; a worker killed mid-stage is worker_lost; Ctrl-C stops every Locust process and writes the partial stage (exit 130)', async () => {
    const server = await target((_req, res) => respondAfter(res, 5));
    const { file, out } = await scenario(`
scenario: workers
target: ${server.url}
stop_on_failure: false
requests: [{ name: x, path: /x }]
stages: [{ users: 4, duration: 2s, ramp: 1s }, { users: 4, duration: 30s }]
`);
    // --export-locustfile writes the file and the README's exact worker command, and sends nothing.
    const dir = path.join(path.dirname(file), 'export');
    const port = await freePort();
    const exported = await runCli(['loadtest', file, '--engine', 'locust', '--export-locustfile', dir, '--master-bind', `127.0.0.1:${port}`]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(server.received).toHaveLength(0);
    const readme = await readFile(path.join(dir, 'README.md'), 'utf8');
    const command = /^ {4}(locust -f locustfile\.py --worker .*)$/m.exec(readme)![1]!;
    expect(command).toBe(`locust -f locustfile.py --worker --master-host 127.0.0.1 --master-port ${port}`);
    expect(readme).toContain('image: locustio/locust:2.12');
    // The locustfile holds the scenario's header values: only its owner reads it, and an existing one
    // (perhaps readable by others) is never written into.
    expect((await stat(path.join(dir, 'locustfile.py'))).mode & 0o777).toBe(0o600);
    const again = await runCli(['loadtest', file, '--engine', 'locust', '--export-locustfile', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/locustfile\.py exists; dbtune creates it anew/);

    // The "remote" worker, as a user would start it on another machine, and one local worker.
    const remote = spawn('locust', command.split(' ').slice(1), { cwd: dir, stdio: 'ignore' });
    try {
      const cli = startCli(['loadtest', file, '--engine', 'locust', '--workers', '1', '--expect-workers', '1', '--master-bind', `127.0.0.1:${port}`, '--out', out]);
      await cli.waitForStderr(/stage 1\/2: 4 users/);
      let seen = server.received.length;
      await waitFor(() => server.received.length > seen + 50, { what: 'stage 1 to send requests', timeoutMs: 10_000 });
      const children = await locustChildren(cli.child.pid!);
      expect(children.length).toBe(2);
      process.kill(children.find((c) => c.args.includes('--worker'))!.pid, 'SIGKILL');
      // Stage 2 runs its 4 users on the worker left.
      await cli.waitForStderr(/stage 2\/2: 4 users/, 30_000);
      seen = server.received.length;
      await waitFor(() => server.received.length > seen + 50, { what: 'stage 2 to send requests', timeoutMs: 10_000 });
      cli.child.kill('SIGINT');
      const run = await cli.done;
      expect(run.code, run.stderr).toBe(130);
      const [first, second] = (await readResult(out)).stages;
      expect(first!.worker_lost).toEqual({ workers: 1, users: 2 });
      expect(first!.passed).toBe(false);
      expect(first!.requests).toBeGreaterThan(0);
      expect(second!.interrupted).toBe(true);
      expect(second!.requests).toBeGreaterThan(50);
      expect(second!.measured_s).toBeLessThan(20);
      for (const c of children) expect(await gone(c.pid), c.args).toBe(true);
      // The master told the remote worker to quit.
      await waitFor(() => remote.exitCode !== null, { what: 'the remote worker to quit', timeoutMs: 10_000 });
    } finally {
      if (remote.exitCode === null) remote.kill('SIGKILL');
    }
  });
});
