import { describe, expect, it } from 'vitest';
import { chooseEngine } from '../../src/load/engine/choose-engine.js';
import { findLocust, judgeLocustVersion } from '../../src/load/engine/locust/install.js';
import { locustConfig, unsupportedByLocust } from '../../src/load/engine/locust/locustfile.js';
import { bucketBounds, histogramOf, mergeTallies, statsOf, type TallyReport } from '../../src/load/engine/locust/period-report.js';
import { parseTemplate } from '../../src/scenario/template.js';
import { DbtuneError } from '../../src/errors.js';

/** The locust engine's pure parts: version judgement, option checks, bucket arithmetic and merging. */

function template(text: string) {
  const parsed = parseTemplate(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.template;
}

function request(over: { headers?: Array<[string, string]> } = {}) {
  return { name: 'x', method: 'GET', path: template('/x'), headers: (over.headers ?? []).map(([k, v]) => [k, template(v)] as [string, ReturnType<typeof template>]), weight: 1, expectStatus: [] };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as DbtuneError).code;
  }
  return undefined;
}

describe('judgeLocustVersion', () => {
  it.each([
    ['locust 2.12.1\n', undefined, { version: '2.12.1' }],
    ['locust 2.12.2', undefined, { version: '2.12.2' }],
    // Debian's python3-locust prints an empty version: dpkg's is used, and handed to the runners.
    ['locust \n', 'python3-locust 2.12.1-1', { version: '2.12.1', emptyVersionIs: '2.12.1' }],
  ])('accepts %j (dpkg: %j)', (versionOutput, debianPackage, expected) => {
    expect(judgeLocustVersion({ versionOutput, ...(debianPackage ? { debianPackage } : {}) })).toEqual(expected);
  });

  it.each([
    ['locust 2.31.8', undefined, /version 2\.31\.8.*tested with 2\.12\.x/],
    ['locust 1.6.0', undefined, /version 1\.6\.0/],
    ['locust ', undefined, /reports no version/],
    ['locust ', 'python3-locust 2.20.0-1', /version 2\.20\.0/],
  ])('refuses %j (dpkg: %j)', (versionOutput, debianPackage, problem) => {
    const judged = judgeLocustVersion({ versionOutput, ...(debianPackage ? { debianPackage } : {}) });
    expect('problem' in judged && judged.problem).toMatch(problem);
  });

  it('is exit 3 (unreachable) when the script named is not there', () => {
    expect(codeOf(() => findLocust('/nonexistent/locust', process.env))).toBe('LOAD_ENGINE_UNAVAILABLE');
    expect(codeOf(() => findLocust(undefined, { PATH: '/nonexistent' }))).toBe('LOAD_ENGINE_UNAVAILABLE');
  });

  it('takes a relative --locust (or PATH entry) as an absolute path: Locust runs from the locustfile\'s directory', async () => {
    const { chmod, mkdtemp, rm, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-locust-path-'));
    try {
      const script = path.join(dir, 'locust');
      await writeFile(script, '#!/bin/sh\necho "locust 2.12.1"\n');
      await chmod(script, 0o755);
      const relative = path.relative(process.cwd(), script);
      expect(path.isAbsolute(relative)).toBe(false);
      expect(findLocust(relative, process.env).path).toBe(script);
      expect(findLocust(undefined, { PATH: path.relative(process.cwd(), dir) }).path).toBe(script);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('chooseEngine', () => {
  const scenario = { requests: [request()] };
  it.each([
    [{}, { kind: 'autocannon' }],
    [{ engine: 'locust' }, { kind: 'locust', localWorkers: 4, remoteWorkers: 0 }],
    [{ engine: 'locust', workers: '2', locust: '/opt/locust' }, { kind: 'locust', localWorkers: 2, remoteWorkers: 0, locustPath: '/opt/locust' }],
    [{ engine: 'locust', expectWorkers: '8', masterBind: '0.0.0.0:5557' }, { kind: 'locust', localWorkers: 0, remoteWorkers: 8, bind: { host: '0.0.0.0', port: 5557 } }],
  ])('reads %j', (flags, expected) => {
    expect(chooseEngine(flags, scenario, 4)).toEqual(expected);
  });

  it.each([
    [{ engine: 'k6' }, '--engine'],
    [{ workers: '2' }, '--workers'],
    [{ engine: 'locust', workers: '0' }, '--workers'],
    [{ engine: 'locust', workers: 'many' }, '--workers'],
    [{ engine: 'locust', expectWorkers: '2' }, '--master-bind'],
    [{ engine: 'locust', expectWorkers: '2', masterBind: 'nowhere' }, '--master-bind'],
  ])('refuses %j naming %s (exit 2)', (flags, named) => {
    try {
      chooseEngine(flags, scenario, 4);
      expect.unreachable();
    } catch (error) {
      expect((error as DbtuneError).code).toBe('USAGE');
      expect((error as Error).message).toContain(named);
    }
  });

  it('names every header the Python client owns', () => {
    const problems = unsupportedByLocust({ requests: [request({ headers: [['Host', 'a'], ['x-ok', 'b'], ['content-length', '3']] })] });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('requests[0].headers.Host');
    expect(problems[1]).toContain('requests[0].headers.content-length');
  });

  it('gives the locustfile the target prefix, the timeout and a JSON content type', () => {
    const config = locustConfig({ requests: [{ ...request(), json: { kind: 'literal', value: { a: 1 } } }], rows: [] }, { target: new URL('http://127.0.0.1:3000/api/'), timeoutMs: 2000, insecure: false }) as Record<string, unknown>;
    expect(config).toMatchObject({ origin: 'http://127.0.0.1:3000', prefix: '/api', timeout_ms: 2000, empty_version_is: null });
    expect((config.requests as Array<{ headers: unknown }>)[0]!.headers).toEqual([['content-type', [{ kind: 'text', text: 'application/json' }]]]);
  });
});

describe('log-linear buckets (the same arithmetic as engines/locust/locustfile.py bucket_of)', () => {
  /** bucket_of, as the locustfile computes it. */
  const bucketOf = (micros: number) => {
    if (micros < 256) return micros;
    const e = Math.floor(Math.log2(micros)) + 1 - 8;
    return 256 + (e - 1) * 128 + (Math.floor(micros / 2 ** e) - 128);
  };

  it.each([1, 255, 256, 257, 511, 512, 1000, 2047, 40_000, 1_000_000, 59_999_999])('holds %i µs in its bucket, within 1/256 of the middle', (micros) => {
    const [low, high] = bucketBounds(bucketOf(micros));
    expect(micros).toBeGreaterThanOrEqual(low);
    expect(micros).toBeLessThanOrEqual(high);
    expect(Math.abs((low + high) / 2 - micros) / micros).toBeLessThanOrEqual(1 / 256);
  });

  it('tiles the values: each bucket starts right after the previous one ends', () => {
    for (let index = 1; index < 256 + 128 * 20; index++) expect(bucketBounds(index)[0]).toBe(bucketBounds(index - 1)[1] + 1);
  });
});

describe('merging worker tallies', () => {
  const tally = (latencies: number[], errors: Record<string, number> = {}): TallyReport => {
    const buckets: Record<string, number> = {};
    for (const v of latencies) {
      const key = String(v < 256 ? v : 256 + (Math.floor(Math.log2(v)) - 8) * 128 + (Math.floor(v / 2 ** (Math.floor(Math.log2(v)) - 7)) - 128));
      buckets[key] = (buckets[key] ?? 0) + 1;
    }
    const failures = Object.values(errors).reduce((a, b) => a + b, 0);
    return { requests: latencies.length + failures, successes: latencies.length, failures, bytes: latencies.length * 10, errors, buckets, min: Math.min(...latencies), max: Math.max(...latencies), sum: latencies.reduce((a, b) => a + b, 0), timed: latencies.length };
  };

  it('adds counts, buckets and failures exactly, keeping the min and max of all', () => {
    const merged = mergeTallies([tally([2000, 2100, 40_000], { timeout: 1 }), tally([1900, 2050], { http_500: 2, timeout: 1 }), mergeTallies([])]);
    expect(merged).toMatchObject({ requests: 9, successes: 5, failures: 4, errors: { timeout: 2, http_500: 2 }, min: 1900, max: 40_000, timed: 5, bytes: 50 });
    expect(Object.values(merged.buckets).reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('gives percentiles within 0.4 % and the exact min, max and mean', () => {
    const latencies = Array.from({ length: 1000 }, (_, i) => (i % 10 === 9 ? 40_000 + i : 2000 + i));
    const stats = statsOf(mergeTallies([tally(latencies.slice(0, 400)), tally(latencies.slice(400))]), 2);
    expect(stats.latency.min).toBe(2);
    expect(stats.latency.max).toBe(40.999);
    expect(stats.latency.mean).toBeCloseTo(latencies.reduce((a, b) => a + b, 0) / 1000 / 1000, 3);
    // The truth (nearest rank), against the buckets' 1/256 and the HDR histogram's 3 digits.
    const sorted = [...latencies].sort((a, b) => a - b);
    for (const [p, key] of [[50, 'p50'], [90, 'p90'], [95, 'p95'], [99, 'p99']] as const) {
      const truth = sorted[Math.ceil((p / 100) * sorted.length) - 1]! / 1000;
      expect(Math.abs(stats.latency[key] - truth) / truth, key).toBeLessThan(1 / 256 + 0.001);
    }
    expect(stats.rps).toBe(500);
    const histogram = histogramOf(tally(latencies));
    expect(histogram.totalCount).toBe(1000);
    histogram.destroy();
  });
});
