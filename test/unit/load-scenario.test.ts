import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/config/load-scenario.js';
import { InputProblemsError } from '../../src/config/problems.js';
import { renderTemplate } from '../../src/scenario/template.js';

const root = new URL('../../', import.meta.url);

async function scenarioFile(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-scenario-'));
  const file = path.join(dir, 'scenario.yaml');
  await writeFile(file, text);
  return file;
}

async function problemsOf(text: string, env: NodeJS.ProcessEnv = {}) {
  const error = await loadScenario(await scenarioFile(text), env).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InputProblemsError);
  return (error as InputProblemsError).problems.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`);
}

describe('loadScenario', () => {
  it('loads the demo scenario with the variables dbtune demo sets', async () => {
    const loaded = await loadScenario(new URL('scenarios/demo.yaml', root).pathname, { DEMO_USERS: '10000', DEMO_ACTIVE_USERS: '1000', DEMO_TENANTS: '200' });
    expect(loaded.requests.map((r) => r.name)).toEqual(['profile', 'conversations', 'expenses', 'leads', 'events']);
    expect(loaded.spec.database?.indexes).toEqual(['../indexes/demo.yaml']);
    expect(loaded.spec.stages.map((s) => s.users)).toEqual([10, 50, 100]);
    // Durations are read once, here: the command gets milliseconds.
    expect(loaded.times).toEqual({ warmupMs: 0, timeoutMs: 10_000, settleMs: 1500, stages: [10, 50, 100].map(() => ({ durationMs: 15_000, rampMs: 0 })) });
  });

  it('reads every duration into milliseconds: warm-up, ramps, stages', async () => {
    const loaded = await loadScenario(
      await scenarioFile('scenario: t\ntarget: http://127.0.0.1:1\nrequests: [{ name: a, path: /a }]\nwarmup: 2.5s\nstages:\n  - { users: 1, duration: 1m }\n  - { users: 2, duration: 1500ms, ramp: 500ms }\n'),
      {},
    );
    expect(loaded.times).toEqual({ warmupMs: 2500, stages: [{ durationMs: 60_000, rampMs: 0 }, { durationMs: 1500, rampMs: 500 }] });
  });

  it('loads the example in scenarios/ with its environment filled and templates compiled', async () => {
    const loaded = await loadScenario(new URL('scenarios/week3-staged.yaml', root).pathname, { API_TOKEN: 'secret-token' });
    expect(loaded.spec.stages.map((s) => s.users)).toEqual([10, 50, 100]);
    expect(loaded.spec.stop_on_failure).toBe(true);
    const [history, expense] = loaded.requests;
    expect(history!.weight).toBe(3);
    expect(history!.method).toBe('GET');
    const context = { random: () => 0, nextSeq: () => 1, uuid: () => 'u' };
    expect(renderTemplate(history!.path, context)).toBe('/api/conversations?user_id=1');
    expect(expense!.headers.map(([k, t]) => [k, renderTemplate(t, context)])).toEqual([['authorization', 'Bearer secret-token']]);
  });

  it('says which environment variable is missing, where, instead of sending an empty token', async () => {
    const problems = await problemsOf(
      'scenario: s\ntarget: http://127.0.0.1:3000\nrequests:\n  - name: r\n    path: /x\n    headers: { authorization: "Bearer ${API_TOKEN}" }\nstages: [{ users: 1, duration: 1s }]\n',
    );
    expect(problems).toEqual(['6:31 requests[0].headers.authorization: environment variable API_TOKEN is not set']);
  });

  it('reports every problem at once, with positions', async () => {
    const problems = await problemsOf(`scenario: s
target: ftp://example
requests:
  - name: r
    path: x/{{int 1}}
    method: FETCH
    json: { a: 1 }
    body: "b"
  - name: q
    path: /ok/{{nope}}
stages:
  - { users: 0, duration: 60 }
thresholds: { success_rate: 199%, p95: fast }
unknown: 1
`);
    expect(problems).toEqual([
      expect.stringMatching(/^2:9 target: an http:\/\/ or https:\/\/ base URL/),
      expect.stringMatching(/^5:11 requests\[0\]\.path: a path starting with \//),
      // Template problems are listed along with the schema's, in the same run.
      '5:11 requests[0].path: {{int min max}} takes two numbers, got {{int 1}} (at character 3)',
      expect.stringMatching(/^6:13 requests\[0\]\.method: expected one of "GET"/),
      '10:11 requests[1].path: unknown generator {{nope}}: expected int, float, pick, uuid, seq or row.<column> (at character 5)',
      '12:14 stages[0].users: expected number to be >=1',
      '12:27 stages[0].duration: expected string, got number 60',
      expect.stringMatching(/^13:29 thresholds\.success_rate: a percentage is at most 100%/),
      expect.stringMatching(/^13:40 thresholds\.p95: a duration like 500ms/),
      expect.stringMatching(/^14:1 unknown: unknown key "unknown" \(expected one of: scenario, /),
    ]);
  });

  it('refuses what would break or mislead the request: HEAD, raw spaces, multi-line headers, empty stages', async () => {
    const problems = await problemsOf(
      'scenario: s\ntarget: http://127.0.0.1:3000\nrequests:\n  - { name: a, method: HEAD, path: "/x?q={{pick a b}}" }\n  - { name: b, path: "/search?q=hello world" }\n  - { name: c, path: /c, headers: { "x bad": v, x-ok: "line\\nbreak" } }\nstages: [{ users: 1, duration: 0s }]\n',
    );
    expect(problems).toEqual([
      expect.stringMatching(/^4:24 requests\[0\]\.method: expected one of "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"/),
      expect.stringMatching(/^5:22 requests\[1\]\.path: a path without spaces or control characters/),
      expect.stringMatching(/^6:\d+ requests\[2\]\.headers.*a header name/),
      expect.stringMatching(/^6:\d+ requests\[2\]\.headers\.x-ok: a header value on one line/),
      expect.stringMatching(/^7:\d+ stages\[0\]\.duration: a stage of at least 1s/),
    ]);
  });

  it('wants json or body, not both', async () => {
    const problems = await problemsOf('scenario: s\ntarget: http://127.0.0.1:3000\nrequests:\n  - name: r\n    path: /x\n    method: POST\n    json: { a: 1 }\n    body: b\nstages: [{ users: 1, duration: 1s }]\n');
    expect(problems).toEqual(['8:11 requests[0].body: give `json` or `body`, not both']);
  });

  it('checks templates, and {{row.…}} needs data:', async () => {
    const problems = await problemsOf(
      'scenario: s\ntarget: http://127.0.0.1:3000\nrequests:\n  - name: r\n    path: /u/{{int 5 1}}\n    json: { id: "{{row.user_id}}", n: "{{bogus}}" }\n  - name: q\n    path: /u/{{row.user_id}}\nstages: [{ users: 1, duration: 1s }]\n',
    );
    expect(problems).toEqual([
      '4:3 requests: a template uses {{row.…}} but the scenario has no `data:` CSV file',
      '5:11 requests[0].path: {{int 5 1}}: min is greater than max (at character 4)',
      expect.stringMatching(/^6:39 requests\[0\]\.json\.n: unknown generator \{\{bogus\}\}/),
    ]);
  });
});

describe('loadScenario: values from the environment are secret, literal text', () => {
  const head = 'scenario: s\ntarget: http://127.0.0.1:3000\nrequests:\n';
  const stages = 'stages: [{ users: 1, duration: 1s }]\n';
  const context = { random: () => 0, nextSeq: () => 1, uuid: () => 'u' };

  it('a token holding {{…}} is sent as written, never read as a template (regression: "unknown generator {{live_SECRETPART}}")', async () => {
    const file = await scenarioFile(`${head}  - name: r\n    path: /x?q={{int 1 1}}\n    headers: { authorization: "Bearer \${API_TOKEN}" }\n    json: { token: "\${API_TOKEN}", n: "{{int 2 2}}" }\n${stages}`);
    const loaded = await loadScenario(file, { API_TOKEN: '{{live_SECRETPART}}' });
    const [request] = loaded.requests;
    expect(request!.headers.map(([k, t]) => [k, renderTemplate(t, context)])).toEqual([['authorization', 'Bearer {{live_SECRETPART}}']]);
    const { buildRequestMix } = await import('../../src/load/request-mix.js');
    expect(JSON.parse(buildRequestMix(loaded.requests, { random: () => 0 })[0]!.body!)).toEqual({ token: '{{live_SECRETPART}}', n: 2 });
    expect(loaded.envValues.get('requests[0].headers.authorization')).toBe('Bearer ${API_TOKEN}');
  });

  it('the demo form {{int 1 ${N}}} still takes N as an argument', async () => {
    const loaded = await loadScenario(await scenarioFile(`${head}  - name: r\n    path: /u/{{int 1 \${N}}}\n${stages}`), { N: '1' });
    expect(renderTemplate(loaded.requests[0]!.path, context)).toBe('/u/1');
  });

  it('a message about a field from ${X} names the variable, never the value', async () => {
    const secret = 'live_SECRETPART';
    const problems = await problemsOf(
      `${head}  - name: \${NAME}\n    path: /a\n  - name: \${NAME}\n    path: /b/{{int 1 \${MAX}}}\n  - name: c\n    path: /c/\${SEGMENT}\n${stages}data: \${DATA}\n`,
      { NAME: secret, MAX: secret, SEGMENT: `${secret} x`, DATA: `${secret}.csv` },
    );
    expect(problems.join('\n')).not.toContain(secret);
    expect(problems).toEqual([
      '6:11 requests[1].name: request name the value of ${NAME} is used twice: results are reported per name',
      '7:11 requests[1].path: {{int min max}} takes two numbers, got {{int 1 ${MAX}}} (at character 4)',
      '9:11 requests[2].path: the value of ${SEGMENT} has a space or control character, which would break the request line (encode a space as %20)',
    ]);
  });

  it('a data file named by ${DATA} is not shown', async () => {
    const problems = await problemsOf(`${head}  - name: r\n    path: /u/{{row.id}}\n${stages}data: \${DATA}\n`, { DATA: 'live_SECRETPART.csv' });
    expect(problems).toEqual(['7:7 data: the data file (the value of ${DATA}): file not found']);
  });

  it('positions of template problems count in the text as written', async () => {
    const problems = await problemsOf(`${head}  - name: r\n    path: /\${LONG}/{{nope}}\n${stages}`, { LONG: 'x'.repeat(30) });
    expect(problems).toEqual(['5:11 requests[0].path: unknown generator {{nope}}: expected int, float, pick, uuid, seq or row.<column> (at character 10)']);
  });
});
