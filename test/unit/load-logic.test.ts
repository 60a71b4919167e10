import { describe, expect, it } from 'vitest';
import { stagePlans } from '../../src/commands/loadtest.js';
import type { LoadedScenario } from '../../src/config/load-scenario.js';
import { compareLoadMixes, compareLoadResults, loadCompareReport, relativeNoise } from '../../src/load/load-compare.js';
import type { LoadResult, RequestStats, StageResult, TimelinePoint } from '../../src/model/load-result.js';
import { rampSteps } from '../../src/load/engine/ramp-steps.js';
import { formatPercent } from '../../src/report/figures.js';
import { evaluateThresholds, maxSustainedUsers, stageThresholds } from '../../src/load/thresholds.js';

function stats(over: Partial<RequestStats> = {}): RequestStats {
  return {
    requests: 1000,
    successes: 995,
    failures: 5,
    rps: 500,
    success_rate: 0.995,
    latency: { min: 1, p50: 10, p90: 30, p95: 40, p99: 90, max: 120, mean: 15 },
    errors: { http_500: 5 },
    bytes: 1,
    ...over,
  };
}

describe('thresholds', () => {
  it.each([
    [{ p95: '50ms' }, 'p95', true],
    [{ p95: '40ms' }, 'p95', true],
    [{ p95: '39.9ms' }, 'p95', false],
    [{ p99: '0.1s' }, 'p99', true],
    [{ success_rate: '99%' }, 'success_rate', true],
    [{ success_rate: '99.6%' }, 'success_rate', false],
    [{ success_rate: 0.995 }, 'success_rate', true],
    [{ max_error_rate: '0.5%' }, 'max_error_rate', true],
    [{ max_error_rate: 0.004 }, 'max_error_rate', false],
    // rps floors count successful requests: 500 rps at 99.5% success is 497.5.
    [{ rps: 497 }, 'rps', true],
    [{ rps: 498 }, 'rps', false],
  ] as const)('%j → %s passed=%s', (thresholds, name, passed) => {
    const result = evaluateThresholds(thresholds, stats()).find((t) => t.name === name && !t.default);
    expect(result?.passed).toBe(passed);
  });

  it('applies a default success rate of 99% only when no rate is given', () => {
    expect(evaluateThresholds({ p95: '1s' }, stats({ success_rate: 0.5, successes: 500, failures: 500 }))).toEqual([
      expect.objectContaining({ name: 'success_rate', default: true, passed: false }),
      expect.objectContaining({ name: 'p95', passed: true }),
    ]);
    expect(evaluateThresholds({ max_error_rate: '60%' }, stats({ success_rate: 0.5, successes: 500, failures: 500 })).some((t) => t.default)).toBe(false);
  });

  it('fails latency limits when every request failed to connect (no latency measured)', () => {
    const refused = stats({ requests: 50, successes: 0, failures: 50, success_rate: 0, errors: { connection_refused: 50 }, latency: { min: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0 } });
    expect(evaluateThresholds({ p95: '50ms', max_error_rate: '100%' }, refused).find((t) => t.name === 'p95')).toMatchObject({ passed: false, observed: 'no responses' });
  });

  it('fails latency limits when nothing answered, instead of passing on zeros', () => {
    const none = stats({ requests: 0, successes: 0, failures: 0, success_rate: 0, latency: { min: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0 } });
    const results = evaluateThresholds({ p95: '50ms', success_rate: '0%' }, none);
    expect(results.find((t) => t.name === 'p95')).toMatchObject({ passed: false, observed: 'no responses' });
  });

  it('lets a stage override the global thresholds key by key', () => {
    expect(stageThresholds({ p95: '50ms', success_rate: '99%' }, { p95: '200ms' })).toEqual({ p95: '200ms', success_rate: '99%' });
  });

  it('never shows a failing rate as 100%', () => {
    expect(formatPercent(0.99999)).toBe('99.99%');
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(0.5)).toBe('50%');
    expect(formatPercent(0.99)).toBe('99%');
    expect(formatPercent(0.123)).toBe('12.3%');
    expect(formatPercent(0.9896)).toBe('98.9%');
  });

  it('max sustained users: the last passing stage of the unbroken run from the first', () => {
    const s = (users: number, passed: boolean, skipped = false) => ({ users, passed, skipped });
    expect(maxSustainedUsers([s(10, true), s(50, true), s(100, false)])).toBe(50);
    expect(maxSustainedUsers([s(10, false), s(50, true)])).toBe(0);
    expect(maxSustainedUsers([s(10, true), s(50, false), s(100, true)])).toBe(10);
    expect(maxSustainedUsers([s(10, true), s(50, true), s(100, true)])).toBe(100);
    expect(maxSustainedUsers([])).toBe(0);
    expect(maxSustainedUsers([s(100, true), s(10, true)])).toBe(100);
  });
});

describe('request mix', () => {
  it('ramps in even steps between stages', () => {
    expect(rampSteps(0, 100)).toEqual([17, 33, 50, 67, 83]);
    expect(rampSteps(10, 12)).toEqual([11]);
    expect(rampSteps(0, 1)).toEqual([]);
  });
});

describe('stage plans', () => {
  const scenario = {
    file: 's.yaml',
    rows: [],
    requests: [],
    spec: {
      scenario: 's',
      target: 'http://127.0.0.1:1',
      requests: [],
      stop_on_failure: true,
      stages: [
        { users: 10, duration: '60s' },
        { users: 50, duration: '30s', ramp: '10s', thresholds: { p95: '80ms' } },
      ],
      thresholds: { p95: '50ms' },
    },
    times: { warmupMs: 0, stages: [{ durationMs: 60_000, rampMs: 0 }, { durationMs: 30_000, rampMs: 10_000 }] },
  } as unknown as LoadedScenario;

  it('keeps the scenario stages, with per-stage thresholds merged', () => {
    expect(stagePlans(scenario, {})).toEqual([
      { users: 10, durationMs: 60_000, rampMs: 0, thresholds: { p95: '50ms' } },
      { users: 50, durationMs: 30_000, rampMs: 10_000, thresholds: { p95: '80ms' } },
    ]);
  });

  it('--stages and --duration override users and durations', () => {
    const plans = stagePlans(scenario, { stages: '5, 20,40', duration: '2s' });
    expect(plans.map((p) => [p.users, p.durationMs])).toEqual([
      [5, 2000],
      [20, 2000],
      [40, 2000],
    ]);
    // The third stage has no scenario stage at its position: global thresholds only.
    expect(plans[2]!.thresholds).toEqual({ p95: '50ms' });
  });

  it.each([['0'], ['10,,20'], ['ten'], ['20000']])('refuses --stages %s', (stages) => {
    expect(() => stagePlans(scenario, { stages })).toThrow(/--stages/);
  });
});

describe('load compare', () => {
  const timeline = (values: number[], p95: number): TimelinePoint[] => values.map((requests, i) => ({ t: i + 1, requests, failures: 0, p50: p95 / 2, p95, p99: p95 * 2 }));
  const stage = (rps: number[], p95: number, over: Partial<StageResult> = {}): StageResult => {
    const requests = rps.reduce((a, b) => a + b, 0);
    return {
      stage: 1,
      users: 10,
      duration_s: rps.length,
      measured_s: rps.length,
      passed: true,
      skipped: false,
      ...stats({ requests, successes: requests, failures: 0, success_rate: 1, rps: requests / rps.length, latency: { min: 1, p50: p95 / 2, p90: p95, p95, p99: p95 * 2, max: p95 * 3, mean: p95 / 2 } }),
      thresholds: [],
      by_request: [],
      timeline: timeline(rps, p95),
      ...over,
    };
  };
  const result = (s: StageResult[]): LoadResult => ({
    kind: 'dbtune.loadtest',
    format_version: 1,
    passed: true,
    interrupted: false,
    max_sustained_users: 10,
    stages: s,
    warnings: [],
    context: { saved_at: '', dbtune_version: '0', scenario: 's', scenario_file: 's.yaml', target: 'http://x', started_at: '', timeout_ms: 10_000 },
  });

  it('calls a change within the per-second noise "no significant change"', () => {
    const noisy = [900, 1100, 950, 1050, 1000, 980, 1020, 1000];
    const rows = compareLoadResults(result([stage(noisy, 40)]), result([stage(noisy.map((v) => v * 1.02), 40)]), false);
    expect(rows[0]!.metrics.find((m) => m.metric === 'rps')!.verdict).toBe('no significant change');
  });

  it('calls a large steady change better or worse', () => {
    const steady = [1000, 1010, 990, 1005, 995, 1000, 1002, 998];
    const rows = compareLoadResults(result([stage(steady, 40)]), result([stage(steady.map((v) => v * 2), 12)]), false);
    const verdicts = Object.fromEntries(rows[0]!.metrics.map((m) => [m.metric, m.verdict]));
    expect(verdicts).toEqual({ p95: 'better', p99: 'better', rps: 'better', success_rate: 'no significant change' });
  });

  it('estimates relative noise from per-second values, ignoring the partial last second', () => {
    expect(relativeNoise(timeline([1000, 1000, 1000, 1000, 3], 10)).rps).toBe(0);
    expect(relativeNoise(timeline([10, 20], 10)).rps).toBe(0.1);
  });

  it('warns when the runs sent request mixes that differ beyond sampling noise, and only then', () => {
    const steady = [1000, 1000, 1000];
    const withMix = (counts: number[]) => stage(steady, 40, { by_request: counts.map((requests, i) => ({ name: ['fast', 'slow'][i]!, ...stats({ requests, successes: requests }) })) });
    const before = result([withMix([900, 100])]);
    expect(compareLoadMixes(before, result([withMix([890, 110])]))).toEqual([]);
    const shifted = result([withMix([714, 286])]);
    const changes = compareLoadMixes(before, shifted);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ stage: 1, users: 10, differs: true, largest: { name: 'fast' } });
    expect(changes[0]!.message).toMatch(/stage 1 \(10 users\): the runs sent different request mixes .*fast 90% → 71\.\d%/);
    const report = loadCompareReport(before, shifted, compareLoadResults(before, shifted, false));
    expect(report.notes).toContain(changes[0]!.message);
    expect((report.document as { mix_changes: unknown[] }).mix_changes).toHaveLength(1);
  });

  it('refuses different scenarios or stages unless forced', () => {
    const other = result([stage([1000, 1000, 1000], 40, { users: 20 })]);
    expect(() => compareLoadResults(result([stage([1000, 1000, 1000], 40)]), other, false)).toThrow(/not the same load test: stages/);
    expect(compareLoadResults(result([stage([1000, 1000, 1000], 40)]), other, true)).toHaveLength(1);
  });
});

describe('database watch helpers', () => {
  it('fails a seq_scans limit on a table the statistics do not know, instead of passing on 0', async () => {
    const { evaluateDatabaseThresholds } = await import('../../src/observe/database-thresholds.js');
    const db = { tables: [{ table: 'public.orders', seq_scans: 2, seq_rows_read: 10, index_scans: 0, index_rows_fetched: 0 }] } as unknown as Parameters<typeof evaluateDatabaseThresholds>[1];
    const results = evaluateDatabaseThresholds({ seq_scans: { orders: 5, ordrs: 0, 'public.items': 0 } }, db, new Set(['public.orders', 'public.items']));
    expect(results.map((r) => [r.name, r.observed, r.passed])).toEqual([
      ['seq_scans public.orders', '2', true],
      ['seq_scans public.ordrs', 'no such table', false],
      ['seq_scans public.items', '0', true],
    ]);
  });

  it('fails every database threshold as "no data" when the stage had requests but the database saw nothing of them', async () => {
    const { evaluateDatabaseThresholds } = await import('../../src/observe/database-thresholds.js');
    type Db = Parameters<typeof evaluateDatabaseThresholds>[1];
    const quiet = { no_data: true, queries_per_request: 0, connections_peak: 0, cache_hit_ratio: null, tables: [] } as unknown as Db;
    const thresholds = { queries_per_request: 2, connections: 20, cache_hit_ratio: '99%', seq_scans: { orders: 0 } };
    expect(evaluateDatabaseThresholds(thresholds, quiet, new Set(['public.orders'])).map((r) => [r.name, r.observed, r.passed])).toEqual([
      ['queries_per_request', 'no data', false],
      ['connections', 'no data', false],
      ['cache_hit_ratio', 'no data', false],
      ['seq_scans public.orders', 'no data', false],
    ]);
    // The same figures from a database that did the work pass.
    const busy = { ...quiet, no_data: false } as Db;
    expect(evaluateDatabaseThresholds(thresholds, busy, new Set(['public.orders'])).every((r) => r.passed)).toBe(true);
  });

  it('reads block I/O time under each version\'s column names (renamed in PostgreSQL 17)', async () => {
    const { ioTimeColumns } = await import('../../src/observe/watch-queries.js');
    expect(ioTimeColumns(new Set(['calls', 'blk_read_time', 'blk_write_time']))).toEqual(['blk_read_time', 'blk_write_time']);
    expect(ioTimeColumns(new Set(['calls', 'shared_blk_read_time', 'shared_blk_write_time', 'local_blk_read_time', 'local_blk_write_time', 'temp_blk_read_time']))).toEqual([
      'shared_blk_read_time',
      'shared_blk_write_time',
      'local_blk_read_time',
      'local_blk_write_time',
    ]);
    expect(ioTimeColumns(new Set(['calls']))).toEqual([]);
  });

  it.each([
    ['BEGIN', true],
    ['commit', true],
    ['SET statement_timeout = $1', true],
    ['SAVEPOINT a', true],
    ['SELECT 1', false],
    ['WITH x AS (SELECT 1) SELECT * FROM x', false],
    ['settings_update()', false],
  ])('%s is session control: %s', async (query, expected) => {
    const { isSessionControl } = await import('../../src/observe/stage-diff.js');
    expect(isSessionControl(query)).toBe(expected);
  });
});

describe('pg_stat_statements resets and evictions (judgeStatementTracking)', () => {
  const info = (dealloc: number, reset = '2025-01-01 00:00:00+00') => ({ dealloc, stats_reset: reset });
  it.each([
    ['nothing lost', 'global', info(3), info(3), { removed: 0, recreated: 0 }, { reset: false, evicted: 0 }],
    ['evictions elsewhere, none of ours', 'global', info(3), info(5), { removed: 0, recreated: 0 }, { reset: false, evicted: 2 }],
    ['our entries evicted', 'entries', info(3), info(5), { removed: 2, recreated: 1 }, { reset: false, evicted: 2 }],
    ['a full reset: stats_reset changed', 'entries', info(3), info(0, '2025-01-02 00:00:00+00'), { removed: 4, recreated: 0 }, { reset: true, evicted: null }],
    ['a full reset: dealloc went down', 'global', info(3), info(1), { removed: 0, recreated: 0 }, { reset: true, evicted: null }],
    ['entries of this database gone without an eviction: a reset with arguments', 'global', info(3), info(3), { removed: 2, recreated: 0 }, { reset: true, evicted: 0 }],
    ['one entry created again without an eviction (17+): a reset of that entry', 'entries', info(0), info(0), { removed: 0, recreated: 1 }, { reset: true, evicted: 0 }],
    ['PostgreSQL 13: no pg_stat_statements_info', 'unavailable', undefined, undefined, { removed: 1, recreated: 0 }, { reset: false, evicted: null }],
  ] as const)('%s', async (_name, detection, before, after, changes, expected) => {
    const { judgeStatementTracking } = await import('../../src/observe/statement-tracking.js');
    expect(judgeStatementTracking(detection, before, after, changes)).toEqual({ detection, ...changes, ...expected });
  });

  it.each([
    [130015, new Set(['calls']), false, { info: false, statsSince: false }, /PostgreSQL 13 has no pg_stat_statements_info/],
    [140010, new Set(['calls']), true, { info: true, statsSince: false }, undefined],
    [160004, new Set(['calls']), true, { info: true, statsSince: false }, undefined],
    [170002, new Set(['calls', 'stats_since']), true, { info: true, statsSince: true }, undefined],
    [180000, new Set(['calls', 'stats_since']), true, { info: true, statsSince: true }, undefined],
    // The server was upgraded, the extension's objects were not.
    [170002, new Set(['calls']), true, { info: true, statsSince: false }, /ALTER EXTENSION pg_stat_statements UPDATE/],
    [150000, new Set(['calls']), false, { info: false, statsSince: false }, /ALTER EXTENSION pg_stat_statements UPDATE/],
  ] as const)('server %i: detection from pg_stat_statements_info and stats_since', async (version, columns, hasInfo, expected, note) => {
    const { trackingCapabilities } = await import('../../src/observe/watch-queries.js');
    const got = trackingCapabilities(version, columns, hasInfo);
    expect({ info: got.info, statsSince: got.statsSince }).toEqual(expected);
    if (note) expect(got.note).toMatch(note);
    else expect(got.note).toBeUndefined();
  });

  it('fails queries_per_request as no data after a reset, and leaves the limits pg_stat_statements does not feed', async () => {
    const { evaluateDatabaseThresholds } = await import('../../src/observe/database-thresholds.js');
    type Db = Parameters<typeof evaluateDatabaseThresholds>[1];
    const db = {
      no_data: false,
      queries_per_request: null,
      connections_peak: 3,
      cache_hit_ratio: 1,
      tables: [],
      statement_tracking: { detection: 'global', reset: true, evicted: 0, removed: 2, recreated: 0 },
    } as unknown as Db;
    expect(evaluateDatabaseThresholds({ queries_per_request: 2, connections: 20 }, db).map((r) => [r.name, r.observed, r.passed])).toEqual([
      ['queries_per_request', 'no data (pg_stat_statements reset)', false],
      ['connections', '3', true],
    ]);
  });
});
