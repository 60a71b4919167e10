import { DbtuneError } from '../errors.js';
import { columns, countLabels, type Report, type ReportRow, type RowStatus } from '../report/model.js';
import { stageDatabase, type StageDatabase } from '../model/stage-database.js';
import { ALPHA, compareMixes, type MixDifference } from './mix-stats.js';
import type { LoadResult, StageResult, TimelinePoint } from '../model/load-result.js';
import { formatLatency, formatPercent } from '../report/figures.js';

/**
 * Before/after of two load-test results, per stage and per request name. A
 * change counts only when it is larger than the run-to-run noise: twice the
 * combined standard error of the per-second values of the two runs (and at
 * least 3%); success rates by a two-proportion test. Smaller changes read
 * "no significant change".
 */

export type LoadMetric = 'p95' | 'p99' | 'rps' | 'success_rate';
export type LoadVerdict = 'better' | 'worse' | 'no significant change' | 'not measured';

export interface MetricChange {
  metric: LoadMetric;
  before: number;
  after: number;
  /** after / before - 1 (undefined when before is 0). */
  change?: number;
  verdict: LoadVerdict;
}

export interface StageComparison {
  stage: number;
  users: number;
  /** Undefined for the whole stage; a request name otherwise. */
  request?: string;
  metrics: MetricChange[];
}

const MIN_RELATIVE_CHANGE = 0.03;
/** Used when a run has too few seconds to estimate its own noise. */
const FALLBACK_RELATIVE_NOISE = 0.1;

export function compareLoadResults(before: LoadResult, after: LoadResult, force: boolean): StageComparison[] {
  const differences: string[] = [];
  if (before.context.scenario !== after.context.scenario) differences.push(`scenario ${JSON.stringify(before.context.scenario)} vs ${JSON.stringify(after.context.scenario)}`);
  const shape = (r: LoadResult) => r.stages.map((s) => `${s.users}×${s.duration_s}s`).join(', ');
  if (shape(before) !== shape(after)) differences.push(`stages [${shape(before)}] vs [${shape(after)}]`);
  if (differences.length && !force) {
    throw new DbtuneError('INPUT_INVALID', `not the same load test: ${differences.join('; ')}`, { hint: 'compare runs of the same scenario and stages; --force compares them anyway (stages are paired by position)' });
  }
  const rows: StageComparison[] = [];
  const count = Math.min(before.stages.length, after.stages.length);
  for (let i = 0; i < count; i++) {
    const b = before.stages[i]!;
    const a = after.stages[i]!;
    const measured = !b.skipped && !a.skipped && b.requests > 0 && a.requests > 0;
    const noise = { before: relativeNoise(b.timeline), after: relativeNoise(a.timeline) };
    rows.push({ stage: a.stage, users: a.users, metrics: stageMetrics(b, a, measured, noise) });
    const afterByName = new Map(a.by_request.map((r) => [r.name, r]));
    for (const br of b.by_request) {
      const ar = afterByName.get(br.name);
      if (!ar) continue;
      // A request's noise is its stage's, scaled up for its smaller sample.
      const scale = (stage: StageResult, n: number) => (n > 0 ? Math.sqrt(stage.requests / n) : 1);
      const requestNoise = {
        before: scaleNoise(noise.before, scale(b, br.requests)),
        after: scaleNoise(noise.after, scale(a, ar.requests)),
      };
      rows.push({ stage: a.stage, users: a.users, request: br.name, metrics: stageMetrics(br, ar, measured && br.requests > 0 && ar.requests > 0, requestNoise) });
    }
  }
  return rows;
}

interface Noise {
  rps: number;
  p95: number;
  p99: number;
  seconds: number;
}

type Figures = Pick<StageResult, 'rps' | 'success_rate' | 'latency' | 'successes' | 'failures'>;

function stageMetrics(before: Figures, after: Figures, measured: boolean, noise: { before: Noise; after: Noise }): MetricChange[] {
  const metric = (name: LoadMetric, b: number, a: number, higherIsBetter: boolean, significant: boolean): MetricChange => {
    const change = b !== 0 ? a / b - 1 : undefined;
    if (!measured) return { metric: name, before: b, after: a, verdict: 'not measured' };
    const better = higherIsBetter ? a > b : a < b;
    return { metric: name, before: b, after: a, ...(change !== undefined ? { change } : {}), verdict: significant ? (better ? 'better' : 'worse') : 'no significant change' };
  };
  const relativeSignificant = (key: 'rps' | 'p95' | 'p99', b: number, a: number) => {
    if (b === 0) return a !== 0;
    const relative = Math.abs(a / b - 1);
    const combined = 2 * Math.sqrt(noise.before[key] ** 2 + noise.after[key] ** 2);
    return relative >= MIN_RELATIVE_CHANGE && relative > combined;
  };
  return [
    metric('p95', before.latency.p95, after.latency.p95, false, relativeSignificant('p95', before.latency.p95, after.latency.p95)),
    metric('p99', before.latency.p99, after.latency.p99, false, relativeSignificant('p99', before.latency.p99, after.latency.p99)),
    metric('rps', before.rps, after.rps, true, relativeSignificant('rps', before.rps, after.rps)),
    metric('success_rate', before.success_rate, after.success_rate, true, proportionsDiffer(before, after)),
  ];
}

/** Relative standard error of the mean of per-second values (0.05 = ±5%), per metric. */
export function relativeNoise(timeline: readonly TimelinePoint[]): Noise {
  // The last second is usually partial: leave it out when there are others.
  const points = timeline.length > 2 ? timeline.slice(0, -1) : timeline;
  const rse = (values: number[]) => {
    if (values.length < 3) return FALLBACK_RELATIVE_NOISE;
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    if (mean === 0) return FALLBACK_RELATIVE_NOISE;
    const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1);
    return Math.sqrt(variance / values.length) / mean;
  };
  const withRequests = points.filter((p) => p.requests > 0);
  return {
    rps: rse(points.map((p) => p.requests)),
    p95: rse(withRequests.map((p) => p.p95)),
    p99: rse(withRequests.map((p) => p.p99)),
    seconds: points.length,
  };
}

function scaleNoise(noise: Noise, factor: number): Noise {
  return { rps: noise.rps * factor, p95: noise.p95 * factor, p99: noise.p99 * factor, seconds: noise.seconds };
}

/** Two-proportion z-test on success counts, |z| > 2, and at least 0.1 percentage point apart. */
function proportionsDiffer(before: Figures, after: Figures): boolean {
  const n1 = before.successes + before.failures;
  const n2 = after.successes + after.failures;
  if (!n1 || !n2) return false;
  const p1 = before.successes / n1;
  const p2 = after.successes / n2;
  if (Math.abs(p1 - p2) < 0.001) return false;
  const pooled = (before.successes + after.successes) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  return se === 0 ? p1 !== p2 : Math.abs(p1 - p2) / se > 2;
}

const STATUS: Record<LoadVerdict, RowStatus> = { better: 'pass', worse: 'warn', 'no significant change': 'info', 'not measured': 'skip' };

function formatDatabase(metric: DatabaseChange['metric'], value: number | null): string {
  if (value === null) return '–';
  return metric === 'cache_hit_ratio' ? formatPercent(value) : String(value);
}

function formatMetric(metric: LoadMetric, value: number): string {
  if (metric === 'rps') return value.toFixed(1);
  if (metric === 'success_rate') return formatPercent(value);
  return formatLatency(value);
}

/** What PostgreSQL saw, before → after, per stage: the measured version of "queries per request 41 → 6". */
export interface DatabaseChange {
  stage: number;
  users: number;
  metric: 'queries_per_request' | 'connections_peak' | 'cache_hit_ratio' | 'seq_scans';
  before: number | null;
  after: number | null;
  verdict: LoadVerdict;
}

export function compareDatabase(before: LoadResult, after: LoadResult): DatabaseChange[] {
  const changes: DatabaseChange[] = [];
  const count = Math.min(before.stages.length, after.stages.length);
  for (let i = 0; i < count; i++) {
    const b = stageDatabase(before.stages[i]!);
    const a = stageDatabase(after.stages[i]!);
    if (!b?.source || !a?.source) continue;
    const seq = (d: StageDatabase) => d.tables.reduce((n, t) => n + t.seq_scans, 0);
    const pairs: Array<[DatabaseChange['metric'], number | null, number | null, boolean]> = [
      ['queries_per_request', b.queries_per_request, a.queries_per_request, false],
      ['connections_peak', b.connections_peak, a.connections_peak, false],
      ['cache_hit_ratio', b.cache_hit_ratio, a.cache_hit_ratio, true],
      ['seq_scans', seq(b), seq(a), false],
    ];
    for (const [metric, x, y, higherIsBetter] of pairs) {
      let verdict: LoadVerdict = 'not measured';
      if (x !== null && y !== null) {
        // Counts, not timings: a change of 10% (or 1 point of cache hit ratio) is a change.
        const threshold = metric === 'cache_hit_ratio' ? 0.01 : Math.max(0.1 * Math.abs(x), metric === 'seq_scans' ? 1 : 0.05);
        verdict = Math.abs(y - x) < threshold ? 'no significant change' : (y > x) === higherIsBetter ? 'better' : 'worse';
      }
      changes.push({ stage: after.stages[i]!.stage, users: after.stages[i]!.users, metric, before: x, after: y, verdict });
    }
  }
  return changes;
}

/** A stage whose request mix differs between the runs by more than sampling noise. */
export interface MixChange extends MixDifference {
  stage: number;
  users: number;
  message: string;
}

/**
 * Stages whose mixes differ beyond sampling noise: their latencies and rates
 * average different requests, so a change in them may be the mix's, not the
 * target's. Counts per name are the stage's `by_request` requests (the same
 * numbers as `mix`, and present in older results too).
 */
export function compareLoadMixes(before: LoadResult, after: LoadResult): MixChange[] {
  const changes: MixChange[] = [];
  const count = Math.min(before.stages.length, after.stages.length);
  for (let i = 0; i < count; i++) {
    const b = before.stages[i]!;
    const a = after.stages[i]!;
    if (b.skipped || a.skipped) continue;
    const names = b.by_request.map((r) => r.name);
    const afterCounts = new Map(a.by_request.map((r) => [r.name, r.requests]));
    if (names.length !== a.by_request.length || names.some((n) => !afterCounts.has(n))) continue;
    const difference = compareMixes(names, b.by_request.map((r) => r.requests), names.map((n) => afterCounts.get(n)!));
    if (!difference?.differs) continue;
    const moved = difference.largest ? `: ${difference.largest.name} ${formatPercent(difference.largest.before)} → ${formatPercent(difference.largest.after)} of requests` : '';
    const message = `stage ${a.stage} (${a.users} users): the runs sent different request mixes (chi-square ${difference.chiSquare.toFixed(1)} > ${difference.critical.toFixed(1)}, ${difference.degreesOfFreedom} df, p < ${ALPHA})${moved}; the stage's figures average different requests`;
    changes.push({ stage: a.stage, users: a.users, ...difference, message });
  }
  return changes;
}

export function loadCompareReport(before: LoadResult, after: LoadResult, rows: StageComparison[]): Report {
  const toRow = (row: StageComparison, m: MetricChange): ReportRow => ({
    id: `stage ${row.stage} (${row.users} users)${row.request ? `: ${row.request}` : ''}: ${m.metric}`,
    status: STATUS[m.verdict],
    cells: {
      stage: `${row.stage} (${row.users} users)`,
      request: row.request ?? 'all',
      metric: m.metric,
      change: `${formatMetric(m.metric, m.before)} → ${formatMetric(m.metric, m.after)}`,
      delta: m.change === undefined || m.verdict === 'not measured' ? '' : `${m.change > 0 ? '+' : ''}${(m.change * 100).toFixed(1)}%`,
      status: m.verdict,
    },
  });
  const table = columns('stage', 'request', 'metric', ['change', 'before → after'], ['delta', 'change'], ['status', 'verdict']);
  const stageRows = rows.filter((r) => !r.request).flatMap((r) => r.metrics.map((m) => toRow(r, m)));
  const requestRows = rows.filter((r) => r.request).flatMap((r) => r.metrics.filter((m) => m.metric === 'p95' || m.metric === 'rps').map((m) => toRow(r, m)));
  const describe = (r: LoadResult) => `${r.context.started_at}${r.context.git_commit ? ` @ ${r.context.git_commit.slice(0, 10)}` : ''} against ${r.context.target}`;
  const notes = [`before: ${describe(before)}`, `after:  ${describe(after)}`, 'a change counts only when it exceeds twice the runs\' combined per-second noise (and 3%)'];
  if (before.context.target !== after.context.target) notes.push(`the targets differ: ${before.context.target} vs ${after.context.target}`);
  const mixes = compareLoadMixes(before, after);
  notes.push(...mixes.map((m) => m.message));
  if (before.stages.length !== after.stages.length) notes.push(`stage counts differ (${before.stages.length} vs ${after.stages.length}): only the first ${Math.min(before.stages.length, after.stages.length)} are paired`);
  const stageVerdicts = rows.filter((r) => !r.request).flatMap((r) => r.metrics.map((m) => m.verdict));
  const database = compareDatabase(before, after);
  const databaseRows: ReportRow[] = database.map((d) => ({
    id: `stage ${d.stage} (${d.users} users): ${d.metric}`,
    status: STATUS[d.verdict],
    cells: {
      stage: `${d.stage} (${d.users} users)`,
      request: 'database',
      metric: d.metric.replace(/_/g, ' '),
      change: `${formatDatabase(d.metric, d.before)} → ${formatDatabase(d.metric, d.after)}`,
      delta: d.before && d.after !== null && d.verdict !== 'not measured' ? `${d.after > d.before ? '+' : ''}${((d.after / d.before - 1) * 100).toFixed(1)}%` : '',
      status: d.verdict,
    },
  }));
  return {
    command: 'compare',
    title: `dbtune compare: ${after.context.scenario}`,
    passed: true,
    sections: [
      { title: 'Stages', columns: table, rows: stageRows },
      { title: 'Requests', columns: table, rows: requestRows },
      ...(databaseRows.length ? [{ title: 'Database', columns: table, rows: databaseRows }] : []),
    ],
    summary: `max sustained users ${before.max_sustained_users} → ${after.max_sustained_users}; ${countLabels(stageVerdicts)}`,
    notes,
    document: {
      command: 'compare',
      kind: 'dbtune.loadtest',
      before: before.context,
      after: after.context,
      max_sustained_users: { before: before.max_sustained_users, after: after.max_sustained_users },
      stages: rows,
      database,
      mix_changes: mixes,
    },
  };
}
