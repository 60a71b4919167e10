import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Socket } from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { chiSquareCritical } from '../../src/load/mix-stats.js';
import type { LoadResult } from '../../src/model/load-result.js';
import { runCli, writeTempFile } from '../support/cli.js';
import { respondAfter, startTarget, type TestTarget } from '../support/http-target.js';

/** The mix of requests a load test sends: the declared weights, whatever the users, latencies and stage length. */

const targets: TestTarget[] = [];
afterEach(async () => {
  await Promise.all(targets.splice(0).map((t) => t.close()));
});

describe('request mix', () => {
  it('users do not march in lockstep: a slow request gets its declared share in a short stage, and the mix sent is reported', async () => {
    // Weights 3:2:2:2:1; the weight-1 request takes most of the stage. When every user walked one
    // shared cycle from its head, 20 users all sent the same first request and the slow one took
    // ~29% of what was sent instead of 10%.
    const firstOnConnection: string[] = [];
    const seen = new WeakSet<Socket>();
    const server = await startTarget((req, res) => {
      if (!seen.has(req.socket)) {
        seen.add(req.socket);
        firstOnConnection.push(req.url!);
      }
      respondAfter(res, req.url === '/slow' ? 1800 : 2);
    });
    targets.push(server);
    const file = await writeTempFile(
      'scenario.yaml',
      `scenario: mix
target: ${server.url}
requests:
  - { name: a, path: /a, weight: 3 }
  - { name: b, path: /b, weight: 2 }
  - { name: c, path: /c, weight: 2 }
  - { name: d, path: /d, weight: 2 }
  - { name: slow, path: /slow, weight: 1 }
stages: [{ users: 20, duration: 2s }]
thresholds: { success_rate: 99% }
`,
    );
    const out = path.join(path.dirname(file), 'result.json');
    const run = await runCli(['loadtest', file, '--out', out, '--format', 'junit']);
    expect(run.code, run.stderr).toBe(0);
    const stage = (JSON.parse(await readFile(out, 'utf8')) as LoadResult).stages[0]!;

    // Each request sent is a draw from the weights: what the server received has the slow
    // request's declared 10% within binomial noise, and users start at different requests.
    const received = (name: string) => server.received.filter((r) => r.url === `/${name}`).length;
    const total = server.received.length;
    expect(Math.abs(received('slow') / total - 0.1)).toBeLessThan(4 * Math.sqrt((0.1 * 0.9) / total));
    expect(firstOnConnection).toHaveLength(20);
    const mostCommonFirst = Math.max(...['/a', '/b', '/c', '/d', '/slow'].map((u) => firstOnConnection.filter((f) => f === u).length));
    expect(mostCommonFirst).toBeLessThan(15);

    // What the result says was sent is what the server received, per name.
    expect(stage.mix!.map((m) => [m.name, m.sent])).toEqual(['a', 'b', 'c', 'd', 'slow'].map((n) => [n, received(n)]));
    expect(stage.mix!.map((m) => m.declared)).toEqual([0.3, 0.2, 0.2, 0.2, 0.1]);
    const slow = stage.mix!.find((m) => m.name === 'slow')!;
    expect(slow.share).toBeCloseTo(received('slow') / total, 3);

    // JUnit carries the mix as properties of the thresholds suite.
    const xml = new XMLParser({ ignoreAttributes: false }).parse(run.stdout);
    const properties = [xml.testsuites.testsuite.properties.property].flat() as Array<{ '@_name': string; '@_value': string }>;
    expect(properties.find((p) => p['@_name'] === 'stage 1 (20 users): mix: slow')?.['@_value']).toMatch(new RegExp(`^${slow.sent} sent, [\\d.]+% \\(10%\\)$`));

    // The table shows the share sent and the share declared.
    const table = await runCli(['loadtest', file, '--stages', '2', '--duration', '1s']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/share \(declared\)/);
    expect(table.stdout).toMatch(/│ slow\s+│ \d+\s+│ [\d.]+% \(10%\)/);
  });

  it('a short stage of slow requests sends the declared mix, not the head of a cycle', async () => {
    // Every request takes 300 ms and the stage lasts 1 s: each of 50 users sends about 4. Users
    // walking one cycle (a b c d a slow …) all sent its first 4: a at 50%, slow never.
    const server = await startTarget((_req, res) => respondAfter(res, 300));
    targets.push(server);
    const weights = { a: 3, b: 2, c: 2, d: 2, slow: 1 };
    const file = await writeTempFile(
      'scenario.yaml',
      `scenario: short-stage\ntarget: ${server.url}\nrequests:\n${Object.entries(weights)
        .map(([name, weight]) => `  - { name: ${name}, path: /${name}, weight: ${weight} }`)
        .join('\n')}\nstages: [{ users: 50, duration: 1s }]\n`,
    );
    const run = await runCli(['loadtest', file]);
    expect(run.code, run.stderr).toBe(0);
    const total = server.received.length;
    expect(total).toBeGreaterThan(100);
    // Pearson's goodness of fit of what the server received against the weights, at p = 0.001.
    const chiSquare = Object.entries(weights).reduce((sum, [name, weight]) => {
      const expected = (total * weight) / 10;
      const observed = server.received.filter((r) => r.url === `/${name}`).length;
      return sum + (observed - expected) ** 2 / expected;
    }, 0);
    expect(chiSquare).toBeLessThan(chiSquareCritical(4));
  });
});
