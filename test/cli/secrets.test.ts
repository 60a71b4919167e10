import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LoadResult } from '../../src/model/load-result.js';
import { runCli, writeTempFile, type CliResult } from '../support/cli.js';
import { respondAfter, startTarget, type TestTarget } from '../support/http-target.js';

/**
 * "A password never appears in any output, log or error": the real CLI with
 * secrets in the target, the environment and the requests; every byte it
 * prints or writes is searched for them.
 */

const PASSWORD = 'S3cretPw';
const TOKEN = 'live_SECRETPART';

const targets: TestTarget[] = [];
afterEach(async () => {
  await Promise.all(targets.splice(0).map((t) => t.close()));
});

async function everything(run: CliResult, dir?: string): Promise<string> {
  const files = dir ? await Promise.all((await readdir(dir)).map((f) => readFile(path.join(dir, f), 'utf8'))) : [];
  return [run.stdout, run.stderr, ...files].join('\n');
}

const scenarioText = (target: string, extra = '') => `
scenario: secrets
target: ${target}
requests:
  - name: r
    path: /api/items?token=\${PATH_TOKEN}${extra}
    headers: { authorization: "Bearer \${API_TOKEN}" }
stages: [{ users: 2, duration: 1s }]
`;

describe('secrets never printed', () => {
  it.each<[string, string, string[], Record<string, string>, RegExp]>([
    ['written in the scenario', `http://alice:${PASSWORD}@127.0.0.1:9/?token=${TOKEN}`, [], {}, /got "http:\/\/alice:\*\*\*@127\.0\.0\.1:9\/\?token=\*\*\*"/],
    ['from ${TARGET}', '${TARGET}', [], { TARGET: `http://alice:${PASSWORD}@127.0.0.1:9/?token=${TOKEN}` }, /target is a base URL without \?query or #fragment, got the value of \$\{TARGET\}/],
    ['given as --target', 'http://127.0.0.1:9', ['--target', `https://alice:${PASSWORD}@127.0.0.1:9/#access_token=${TOKEN}`], {}, /--target is a base URL.*got "https:\/\/alice:\*\*\*@127\.0\.0\.1:9\/#\*\*\*"/],
    ['not even a URL', `http://alice:${PASSWORD} x@127.0.0.1:9/?token=${TOKEN}`, [], {}, /got "http:\/\/alice:\*\*\*@127\.0\.0\.1:9\/\?token=\*\*\*"/],
  ])('a target with a password or a query token, %s, is refused without echoing them (regression: printed in full)', async (_case, target, args, env, message) => {
    const file = await writeTempFile('scenario.yaml', scenarioText(target));
    for (const format of ['table', 'json']) {
      const run = await runCli(['loadtest', file, '--format', format, ...args], { PATH_TOKEN: 'p', API_TOKEN: 'a', ...env });
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(await everything(run)).not.toMatch(new RegExp(`${PASSWORD}|${TOKEN}`));
    }
  });

  it('a token holding {{…}} is sent as written and is in no output, report or saved result (regression: "unknown generator {{live_SECRETPART}}")', async () => {
    const seen: string[] = [];
    const server = await startTarget((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization}`);
      respondAfter(res, 1);
    });
    targets.push(server);
    const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-secrets-'));
    const file = path.join(dir, 'scenario.yaml');
    await writeFile(file, scenarioText('${TARGET}', '&n={{int 1 3}}'));
    const env = { TARGET: server.url, PATH_TOKEN: TOKEN, API_TOKEN: `{{${TOKEN}}}`, GITHUB_STEP_SUMMARY: path.join(dir, 'summary.md') };
    const out = path.join(dir, 'result.json');
    const junit = await runCli(['loadtest', file, '--format', 'junit', '--out', out, '--report', path.join(dir, 'report.html')], env);
    expect(junit.code, junit.stderr).toBe(0);
    const json = await runCli(['loadtest', file, '--format', 'json'], env);
    expect(json.code, json.stderr).toBe(0);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toMatch(new RegExp(`^/api/items\\?token=${TOKEN}&n=[123] Bearer \\{\\{${TOKEN}\\}\\}$`));

    expect((await readdir(dir)).sort()).toEqual(['report.html', 'result.json', 'scenario.yaml', 'summary.md']);
    // The scenario file in dir holds only `${PATH_TOKEN}` and `${API_TOKEN}`.
    expect(await everything(junit, dir)).not.toContain(TOKEN);
    expect(await everything(json)).not.toContain(TOKEN);
  });

  it('compare and the HTML baseline show a saved target with credentials redacted', async () => {
    const server = await startTarget((_req, res) => respondAfter(res, 1));
    targets.push(server);
    const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-secrets-'));
    const file = path.join(dir, 'scenario.yaml');
    await writeFile(file, scenarioText(server.url));
    const before = path.join(dir, 'before.json');
    const run = await runCli(['loadtest', file, '--out', before], { PATH_TOKEN: 'p', API_TOKEN: 'a' });
    expect(run.code, run.stderr).toBe(0);
    // A result written by hand or by another tool, with the secrets in its target.
    const saved = JSON.parse(await readFile(before, 'utf8')) as LoadResult;
    saved.context.target = `http://alice:${PASSWORD}@127.0.0.1:${server.port}/?token=${TOKEN}`;
    await writeFile(before, JSON.stringify(saved));

    const compare = await runCli(['compare', before, before, '--format', 'markdown']);
    expect(compare.code, compare.stderr).toBe(0);
    // Markdown output keeps links and @mentions inert with zero-width joiners (render-markdown.ts).
    expect(compare.stdout.replaceAll('\u200d', '')).toContain(`http://alice:***@127.0.0.1:${server.port}/?token=***`);
    const html = path.join(dir, 'report.html');
    const withBaseline = await runCli(['loadtest', file, '--report', html, '--baseline', before, '--format', 'json'], { PATH_TOKEN: 'p', API_TOKEN: 'a' });
    expect(withBaseline.code, withBaseline.stderr).toBe(0);
    for (const text of [await everything(compare), await everything(withBaseline), await readFile(html, 'utf8')]) {
      expect(text).not.toMatch(new RegExp(`${PASSWORD}|${TOKEN}`));
    }
  });
});

describe('help steers passwords away from the command line', () => {
  it.each(['plan', 'apply', 'verify', 'explain', 'drop', 'loadtest'])('%s --help prefers DATABASE_URL/PGPASSWORD and no example passes --database-url (regression: the loadtest example did)', async (command) => {
    const run = await runCli([command, '--help']);
    expect(run.code).toBe(0);
    const flat = run.stdout.replace(/\s+/g, ' ');
    expect(flat).toMatch(/--database-url <url> [^-]*Prefer DATABASE_URL or PGPASSWORD: a command line is visible to other users \(ps\)/);
    const examples = run.stdout.split('\n').filter((line) => line.trim().startsWith('$ '));
    expect(examples.length).toBeGreaterThan(0);
    expect(examples.filter((line) => line.includes('--database-url'))).toEqual([]);
  });

  it('dbtune --help says how to connect without a password on the command line', async () => {
    const run = await runCli(['--help']);
    expect(run.stdout.replace(/\s+/g, ' ')).toContain('other users of the machine can read a command line (ps, /proc), password included: keep it in the environment');
  });
});
