import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startCli, type CliResult, type CliRun } from '../support/cli.js';

/**
 * Every way a run can end stops the embedded PostgreSQL dbtune started and
 * removes its data directory: SIGTERM (what CI runners send on cancel),
 * SIGHUP (terminal closed), a second Ctrl-C, an uncaught exception and an
 * unhandled rejection. `demo` is the cheapest command that starts a server;
 * each test signals it as soon as the server is ready.
 *
 * Each run gets a TMPDIR of its own, so the server found there is this run's
 * (other runs on the machine have servers of their own, never touched here).
 */

const THROW_ON_TRIGGER = fileURLToPath(new URL('../support/throw-on-trigger.mjs', import.meta.url));

interface StartedDemo {
  run: CliRun;
  tmp: string;
  /** The server's temp root (data dir and all). */
  root: string;
  /** The postmaster's PID, from postmaster.pid. */
  pid: number;
}

const started: Array<{ run: CliRun; tmp: string; pid?: number }> = [];

afterEach(async () => {
  // A failing test must not leave its server behind: stop what this file started, by PID.
  for (const { run, tmp, pid } of started.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGKILL');
      await run.done;
    }
    if (pid !== undefined && exists(pid)) {
      process.kill(pid, 'SIGQUIT');
      await until(() => (exists(pid) ? undefined : true), 15_000, `postmaster ${pid} to exit`);
    }
    await rm(tmp, { recursive: true, force: true });
  }
});

function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Polls every 25 ms until `probe` returns a value; fails after `timeoutMs`. */
async function until<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The server's root and PID once its postmaster.pid says "ready" (line 8, PostgreSQL 10+). */
async function readyServer(tmp: string): Promise<{ root: string; pid: number } | undefined> {
  for (const name of await readdir(tmp)) {
    if (!name.startsWith('dbtune-pg')) continue;
    const root = path.join(tmp, name);
    const lines = await readFile(path.join(root, 'data', 'postmaster.pid'), 'utf8').then((t) => t.split('\n'), () => []);
    if (lines[7]?.trim() === 'ready') return { root, pid: Number(lines[0]) };
  }
  return undefined;
}

async function startDemo(env: Record<string, string> = {}): Promise<StartedDemo> {
  const tmp = await mkdtemp(path.join(tmpdir(), 'dbtune-cleanup-test-'));
  // As root, the server runs as the `postgres` OS user, which must reach its data dir in here.
  await chmod(tmp, 0o755);
  const run = startCli(['demo', '--quick', '--rows', '10000', '--dir', path.join(tmp, 'results')], { TMPDIR: tmp, ...env });
  const entry: (typeof started)[number] = { run, tmp };
  started.push(entry);
  const server = await until(async () => {
    if (run.child.exitCode !== null) throw new Error(`the demo ended before its server was ready: ${(await run.done).stderr}`);
    return readyServer(tmp);
  }, 60_000, 'the embedded server to be ready');
  entry.pid = server.pid;
  return { run, tmp, ...server };
}

async function ended(run: CliRun): Promise<CliResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the CLI did not exit within 60 s')), 60_000)));
  try {
    return await Promise.race([run.done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function expectCleanedUp(demo: StartedDemo): Promise<void> {
  // Once the CLI has exited, its postmaster has too (the OS may take a moment to reap it) and the data is gone.
  await until(() => (exists(demo.pid) ? undefined : true), 10_000, `postmaster ${demo.pid} to be gone`);
  await expect(stat(demo.root)).rejects.toMatchObject({ code: 'ENOENT' });
}

describe('the embedded server is stopped and its data removed however the run ends', () => {
  it('SIGTERM (a CI cancel): the run stops as on Ctrl-C, exit 143', async () => {
    const demo = await startDemo();
    demo.run.child.kill('SIGTERM');
    const result = await ended(demo.run);
    expect(result.code, result.stderr).toBe(143);
    await expectCleanedUp(demo);
  });

  it('SIGHUP (the terminal closed): exit 129', async () => {
    const demo = await startDemo();
    demo.run.child.kill('SIGHUP');
    const result = await ended(demo.run);
    expect(result.code, result.stderr).toBe(129);
    await expectCleanedUp(demo);
  });

  it('a second Ctrl-C quits at once and still stops the server: exit 130', async () => {
    const demo = await startDemo();
    demo.run.child.kill('SIGINT');
    await demo.run.waitForStderr(/interrupted: stopping/);
    demo.run.child.kill('SIGINT');
    const result = await ended(demo.run);
    expect(result.code, result.stderr).toBe(130);
    await expectCleanedUp(demo);
  });

  it.each(['uncaught exception', 'unhandled rejection'])('an %s: reported as an internal error, exit 1', async (what) => {
    const fault = what.split(' ')[1]!;
    const tmp = await mkdtemp(path.join(tmpdir(), 'dbtune-trigger-'));
    const trigger = path.join(tmp, 'now');
    try {
      const demo = await startDemo({ NODE_OPTIONS: `--import=${THROW_ON_TRIGGER}`, DBTUNE_TEST_TRIGGER: trigger, DBTUNE_TEST_FAULT: fault });
      await writeFile(trigger, '');
      const result = await ended(demo.run);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`internal error: Error: injected ${what}`));
      await expectCleanedUp(demo);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
