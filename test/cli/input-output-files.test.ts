import { lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startTarget, type TestTarget } from '../support/http-target.js';

/**
 * The files dbtune reads and writes, through the real CLI: output never goes
 * through a symbolic link (refused, exit 2, before anything runs) and replaces
 * the destination whole; an input file over 10 MB or a YAML alias bomb is bad
 * input (exit 2), found before anything connects.
 */

const targets: TestTarget[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(targets.splice(0).map((t) => t.close()));
  // Some hold files over 10 MB: never left behind in the temp dir.
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const UNREACHABLE_DB = 'postgresql://nobody@127.0.0.1:9/none?connect_timeout=2';
const MB = 1024 * 1024;

async function workDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-files-'));
  dirs.push(dir);
  return dir;
}

async function okTarget(): Promise<TestTarget> {
  const target = await startTarget((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  targets.push(target);
  return target;
}

function scenarioText(target: string, extra = ''): string {
  return `scenario: files
target: ${target}
requests: [{ name: one, path: /x }]
stages: [{ users: 1, duration: 1s }]
${extra}`;
}

/** A file that a link points at, and must stay as it is. */
async function victim(dir: string): Promise<string> {
  const file = path.join(dir, 'victim.txt');
  await writeFile(file, 'precious\n');
  return file;
}

describe('output files are never written through a symbolic link', () => {
  it.each(['--out', '--report'])('loadtest %s at a link: exit 2 before any request, the linked file untouched', async (flag) => {
    const dir = await workDir();
    const target = await okTarget();
    const scenario = path.join(dir, 'scenario.yaml');
    await writeFile(scenario, scenarioText(target.url));
    const link = path.join(dir, 'result');
    await symlink(await victim(dir), link);

    const run = await runCli(['loadtest', scenario, flag, link]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/symbolic link/);
    expect(target.received).toHaveLength(0);
    expect(await readFile(path.join(dir, 'victim.txt'), 'utf8')).toBe('precious\n');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
  });

  it('a dangling link too (writing through it would create the file it names)', async () => {
    const dir = await workDir();
    const target = await okTarget();
    const scenario = path.join(dir, 'scenario.yaml');
    await writeFile(scenario, scenarioText(target.url));
    await symlink(path.join(dir, 'created-through-link.json'), path.join(dir, 'out.json'));

    const run = await runCli(['loadtest', scenario, '--out', path.join(dir, 'out.json')]);
    expect(run.code, run.stderr).toBe(2);
    expect(await readdir(dir)).not.toContain('created-through-link.json');
  });

  it('explain --save at a link: exit 2 before connecting', async () => {
    const dir = await workDir();
    const checks = path.join(dir, 'checks.yaml');
    await writeFile(checks, 'checks:\n  - name: one\n    query: SELECT 1\n    expect: { max_ms: 100 }\n');
    const link = path.join(dir, 'saved.json');
    await symlink(await victim(dir), link);

    const run = await runCli(['explain', checks, '--save', link], { DATABASE_URL: UNREACHABLE_DB });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/symbolic link/);
    expect(await readFile(path.join(dir, 'victim.txt'), 'utf8')).toBe('precious\n');
  });

  it('an existing --out file is replaced whole, keeps its mode, and no temp file is left', async () => {
    const dir = await workDir();
    const target = await okTarget();
    const scenario = path.join(dir, 'scenario.yaml');
    await writeFile(scenario, scenarioText(target.url));
    const out = path.join(dir, 'out.json');
    await writeFile(out, 'old', { mode: 0o640 });

    const run = await runCli(['loadtest', scenario, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8'))).toMatchObject({ kind: 'dbtune.loadtest' });
    expect((await stat(out)).mode & 0o777).toBe(0o640);
    expect((await readdir(dir)).sort()).toEqual(['out.json', 'scenario.yaml']);
  });
});

/** Billion laughs: each level an array of 9 aliases of the level before. */
function aliasBomb(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (const [prev, name] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f'], ['f', 'g'], ['g', 'h'], ['h', 'i']] as const) {
    lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  return `${lines.join('\n')}\n`;
}

describe('a YAML alias bomb is bad input', () => {
  it('in an index set: exit 2 with a file:line:col problem, not an internal error', async () => {
    const dir = await workDir();
    const file = path.join(dir, 'bomb.yaml');
    await writeFile(file, `set: bomb\nindexes: []\n${aliasBomb()}`);
    const run = await runCli(['plan', file], { DATABASE_URL: UNREACHABLE_DB });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:\\d+ .*alias`));
    expect(run.stderr).not.toMatch(/internal error/);
  });

  it('in a scenario: exit 2', async () => {
    const dir = await workDir();
    const file = path.join(dir, 'bomb.yaml');
    await writeFile(file, `${scenarioText('http://127.0.0.1:9')}${aliasBomb()}`);
    const run = await runCli(['loadtest', file]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/alias/);
  });
});

describe('input files over 10 MB are refused (exit 2) before anything runs', () => {
  const padding = `# ${'x'.repeat(100)}\n`.repeat(Math.ceil((10 * MB) / 102) + 10);

  it('an index set', async () => {
    const dir = await workDir();
    const file = path.join(dir, 'big.yaml');
    await writeFile(file, `set: big\nindexes: [{ name: idx_t_a, table: t, columns: [a] }]\n${padding}`);
    const run = await runCli(['plan', file], { DATABASE_URL: UNREACHABLE_DB });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/big\.yaml larger than 10 MB/);
  });

  it('dbtune.yaml', async () => {
    const dir = await workDir();
    const set = path.join(dir, 'set.yaml');
    await writeFile(set, 'set: small\nindexes: [{ name: idx_t_a, table: t, columns: [a] }]\n');
    const config = path.join(dir, 'dbtune.yaml');
    await writeFile(config, `format: table\n${padding}`);
    const run = await runCli(['plan', set, '--config', config], { DATABASE_URL: UNREACHABLE_DB });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/larger than 10 MB/);
  });

  it('a scenario, and its CSV data file', async () => {
    const dir = await workDir();
    const target = await okTarget();
    const big = path.join(dir, 'big.yaml');
    await writeFile(big, `${scenarioText(target.url)}${padding}`);
    const scenarioRun = await runCli(['loadtest', big]);
    expect(scenarioRun.code, scenarioRun.stderr).toBe(2);
    expect(scenarioRun.stderr).toMatch(/larger than 10 MB/);

    await writeFile(path.join(dir, 'rows.csv'), `id\n${'12345678\n'.repeat(Math.ceil((10 * MB) / 9) + 10)}`);
    const withData = path.join(dir, 'with-data.yaml');
    await writeFile(withData, `scenario: files\ntarget: ${target.url}\ndata: rows.csv\nrequests: [{ name: one, path: "/x/{{row.id}}" }]\nstages: [{ users: 1, duration: 1s }]\n`);
    const dataRun = await runCli(['loadtest', withData]);
    expect(dataRun.code, dataRun.stderr).toBe(2);
    expect(dataRun.stderr).toMatch(/rows\.csv: larger than 10 MB/);
    expect(target.received).toHaveLength(0);
  });

  it('a saved result read by compare', async () => {
    const dir = await workDir();
    const saved = { kind: 'dbtune.explain', format_version: 1, context: {}, passed: true, checks: [] };
    const before = path.join(dir, 'before.json');
    await writeFile(before, `${JSON.stringify(saved)}${' '.repeat(10 * MB + 1)}`);
    const after = path.join(dir, 'after.json');
    await writeFile(after, JSON.stringify(saved));
    const run = await runCli(['compare', before, after]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/before\.json: larger than 10 MB/);
  });
});
