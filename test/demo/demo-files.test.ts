import { lstat, mkdtemp, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCli, type CliResult, type CliRun } from '../support/cli.js';

/**
 * The files `dbtune demo` writes are checked before it starts anything: a
 * --report at a symbolic link, or a --keep URL file that exists already (it
 * is created anew, 0600, so a file someone else made and can read is never
 * reused), are bad usage (exit 2). Each run is stopped as soon as it starts
 * seeding, so a regression costs seconds, not a whole demo.
 */

/** How the run ended, or that it went on to seed (then it is stopped here). */
async function exitOrStart(run: CliRun): Promise<{ exited: CliResult } | { started: true }> {
  const started = new Promise<{ started: true }>((resolve) => {
    let stdout = '';
    run.child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (/Seeding/.test(stdout)) resolve({ started: true });
    });
  });
  const first = await Promise.race([run.done.then((exited) => ({ exited })), started]);
  if ('started' in first) {
    run.child.kill('SIGINT');
    await run.done;
  }
  return first;
}

describe('dbtune demo, its files', () => {
  it('--keep refuses a database-url file that is already there, before starting anything (exit 2)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-demo-keep-'));
    const urlFile = path.join(dir, 'database-url');
    await writeFile(urlFile, 'someone else\n', { mode: 0o644 });
    const first = await exitOrStart(startCli(['demo', '--quick', '--keep', '--dir', dir]));
    expect(first).toMatchObject({ exited: { code: 2 } });
    if ('exited' in first) expect(first.exited.stderr).toMatch(/database URL file .*database-url exists/);
    expect(await readFile(urlFile, 'utf8')).toBe('someone else\n');
    expect((await stat(urlFile)).mode & 0o777).toBe(0o644);
  });

  it('refuses a --report that is a symbolic link, before starting anything (exit 2)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-demo-link-'));
    await writeFile(path.join(dir, 'victim'), 'precious\n');
    const report = path.join(dir, 'report.html');
    await symlink(path.join(dir, 'victim'), report);
    const first = await exitOrStart(startCli(['demo', '--quick', '--report', report, '--dir', dir]));
    expect(first).toMatchObject({ exited: { code: 2 } });
    expect(await readFile(path.join(dir, 'victim'), 'utf8')).toBe('precious\n');
    expect((await lstat(report)).isSymbolicLink()).toBe(true);
  });
});
