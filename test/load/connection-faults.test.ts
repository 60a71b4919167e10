import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { LoadResult, StageResult } from '../../src/model/load-result.js';
import { runCli, writeTempFile } from '../support/cli.js';
import { respondAfter, startRawTarget, startTarget } from '../support/http-target.js';

/**
 * What the load tester counts when connections end in unusual ways: each
 * response, timeout and lost request is counted as what it is, and what
 * happened on one connection never leaks into the next. Real servers on
 * loopback, port 0; 1–2 s stages.
 */

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function runStage(scenario: string): Promise<{ code: number | null; stderr: string; stage: StageResult }> {
  const file = await writeTempFile('scenario.yaml', scenario);
  const out = path.join(path.dirname(file), 'result.json');
  const run = await runCli(['loadtest', file, '--out', out]);
  const result = JSON.parse(await readFile(out, 'utf8')) as LoadResult;
  return { code: run.code, stderr: run.stderr, stage: result.stages[0]! };
}

describe('connection faults', () => {
  it('counts a response delimited by the server closing the connection as the complete response it is, with its status', async () => {
    // HTTP/1.1 without Content-Length or chunked encoding: the body ends when the server closes.
    const body = 'close-delimited body';
    const server = await startRawTarget((socket, head) => {
      const status = head.startsWith('GET /missing') ? '404 Not Found' : '200 OK';
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\n\r\n${body}`);
    });
    closers.push(server.close);
    const { code, stderr, stage } = await runStage(`scenario: close-delimited
target: ${server.url}
requests: [{ name: ok, path: /ok, weight: 3 }, { name: missing, path: /missing }]
stages: [{ users: 2, duration: 1s }]
thresholds: { success_rate: 50% }
`);
    expect(code, stderr).toBe(0);
    const byName = Object.fromEntries(stage.by_request.map((r) => [r.name, r]));
    expect(byName.ok!.requests).toBeGreaterThan(20);
    expect(byName.ok!.successes).toBe(byName.ok!.requests);
    expect(byName.missing!.requests).toBeGreaterThan(0);
    expect(stage.errors).toEqual({ http_404: byName.missing!.requests });
    // Every request the server answered is counted once, bytes included.
    expect(stage.requests).toBe(server.heads.length);
    expect(stage.bytes).toBeGreaterThanOrEqual(stage.requests * body.length);
  });

  it('a timeout after a partial body is a timeout, and the next response on a fresh connection is clean', async () => {
    // The first request gets its headers and 10 of 1000 promised bytes, then nothing: it times out.
    let n = 0;
    const server = await startTarget((_req, res) => {
      if (++n === 1) {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
        res.write('x'.repeat(10));
        return;
      }
      respondAfter(res, 1);
    });
    closers.push(server.close);
    const { code, stderr, stage } = await runStage(`scenario: partial-body
target: ${server.url}
timeout: 1s
requests: [{ name: a, path: / }]
stages: [{ users: 1, duration: 2s }]
thresholds: { success_rate: 50% }
`);
    expect(code, stderr).toBe(0);
    expect(stage.errors).toEqual({ timeout: 1 });
    expect(stage.successes).toBe(stage.requests - 1);
    expect(stage.successes).toBeGreaterThan(10);
    expect(stage.requests).toBe(server.received.length);
  });

  it('no stale timings after a lost connection', async () => {
    // Every 4th request is held, then its connection is dropped unanswered; the rest are answered
    // at once. A lost request left in the client's queue would time the next response from the
    // lost request's start: a fast response would read as slower than the whole hold.
    let n = 0;
    const holds: number[] = [];
    const server = await startTarget((req, res) => {
      if (++n % 4 === 0) {
        const started = performance.now();
        setTimeout(() => {
          holds.push(performance.now() - started);
          req.socket.destroy();
        }, 300);
        return;
      }
      respondAfter(res, 0);
    });
    closers.push(server.close);
    const { code, stderr, stage } = await runStage(`scenario: lost-connections
target: ${server.url}
requests: [{ name: a, path: / }]
stages: [{ users: 2, duration: 2s }]
thresholds: { success_rate: 50% }
`);
    expect(code, stderr).toBe(0);
    expect(stage.errors.connection_closed).toBeGreaterThanOrEqual(2);
    expect(Object.keys(stage.errors)).toEqual(['connection_closed']);
    expect(stage.successes).toBeGreaterThan(4);
    // The control is the hold the server measured in this run: no answered request took half of it.
    expect(stage.latency.max).toBeLessThan(Math.min(...holds) / 2);
  });

  it('reconnects at once after a reset from a live server, as after a clean close; waits only when refused', async () => {
    // One user. Of every 3 requests the server resets one connection (RST), closes one cleanly
    // (FIN), and answers one. The time from each reset to the user's next request is compared with
    // the time from each clean close to the next request, measured in the same run.
    let n = 0;
    let lastDrop: { kind: 'reset' | 'close'; at: number } | undefined;
    const gaps = { reset: [] as number[], close: [] as number[] };
    const server = await startTarget((req, res) => {
      const now = performance.now();
      if (lastDrop) gaps[lastDrop.kind].push(now - lastDrop.at);
      lastDrop = undefined;
      const turn = ++n % 3;
      if (turn === 1) {
        lastDrop = { kind: 'reset', at: now };
        req.socket.resetAndDestroy();
      } else if (turn === 2) {
        lastDrop = { kind: 'close', at: now };
        req.socket.destroy();
      } else respondAfter(res, 0);
    });
    closers.push(server.close);
    const { code, stderr, stage } = await runStage(`scenario: resets
target: ${server.url}
requests: [{ name: a, path: / }]
stages: [{ users: 1, duration: 1500ms }]
thresholds: { success_rate: 10% }
`);
    expect(code, stderr).toBe(0);
    expect(stage.errors.connection_reset).toBeGreaterThan(5);
    expect(stage.errors.connection_closed).toBeGreaterThan(5);
    expect(gaps.reset.length).toBeGreaterThan(5);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    // With a 100 ms wait after each reset, the reset gap was ~100× the close gap.
    expect(median(gaps.reset)).toBeLessThan(5 * median(gaps.close) + 1);
    expect(stage.generator!.reconnect_waits).toBe(0);
  });
});
