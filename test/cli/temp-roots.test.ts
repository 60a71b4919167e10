import { spawn } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.js';

/**
 * The suite's own temp roots (support/temp-root.ts): a vitest run whose files run no test leaves
 * none behind. A real vitest on one small unit file, with TMPDIR pointing at a directory of this
 * test's own.
 */

const VITEST = path.join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs');

function vitest(args: string[], tmp: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VITEST, ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: tmp, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('the test temp roots', () => {
  it('are removed when a file runs no test: `vitest list`, and a run whose -t matches nothing', async () => {
    const tmp = await mkdtemp(path.join(tmpdir(), 'roots-'));
    const file = 'test/unit/thousands.test.ts';
    const listed = await vitest(['list', '--project', 'unit', file], tmp);
    expect(listed.code, listed.output).toBe(0);
    expect(listed.output).toContain('withThousands');
    expect(await readdir(tmp)).toEqual([]);

    const none = await vitest(['run', '--project', 'unit', file, '-t', 'no test has this name', '--passWithNoTests'], tmp);
    expect(none.code, none.output).toBe(0);
    expect(await readdir(tmp)).toEqual([]);
  });
});
