import type { Histogram } from 'hdr-histogram-js';
import type { RequestStats, TimelinePoint } from '../../../model/load-result.js';
import { round } from '../../../report/round.js';
import { newHistogram, requestStats, summarize } from '../../stage-recorder.js';
import type { LiveFigures, StageFigures, StageRecording } from '../load-engine.js';

/**
 * What the Locust master reports for a period (engines/locust/locustfile.py,
 * `run_period`), and its reading into the same figures as the autocannon
 * engine's: the merged buckets go into an HDR histogram (3 significant
 * digits) from which the same code takes the percentiles.
 */

/** One request name's (or one second's) figures, merged over the workers. Latencies in µs. */
export interface TallyReport {
  requests: number;
  successes: number;
  failures: number;
  bytes: number;
  errors: Record<string, number>;
  /** Log-linear bucket index → responses (see {@link bucketBounds}). */
  buckets: Record<string, number>;
  min: number;
  max: number;
  sum: number;
  /** Requests with a latency (responses and timeouts; a lost connection has none). */
  timed: number;
}

export interface PeriodReport {
  period: number;
  stage: number | null;
  /** The master's measured window: "go" to "pause". */
  seconds: number;
  workers: number;
  /** Workers that stopped reporting during the period (their process died, their host went away). */
  lost_workers: number;
  /** The users those workers ran: load the stage lost. */
  lost_users: number;
  /** Per scenario request, in order (measured stages only). */
  by_request?: TallyReport[];
  /** Per second since "go" ("0", "1", …; measured stages only). */
  seconds_tallies?: Record<string, TallyReport>;
  /** Requests the workers still waited on when they gave up draining (after the timeout). */
  in_flight?: number;
  /** Times a user waited 100 ms before its next request because the target refused or was unreachable. */
  reconnect_waits?: number;
}

/** The workers' figures for the running stage so far (merged on the master about every second). */
export interface LiveReport {
  period: number;
  elapsed_ms: number;
  tally: TallyReport;
}

/** Live figures for the progress line from a {@link LiveReport}. */
export function liveFigures(live: LiveReport): LiveFigures {
  const histogram = histogramOf(live.tally, 2);
  const p95 = live.tally.timed ? Math.min(histogram.getValueAtPercentile(95), live.tally.max) / 1000 : 0;
  histogram.destroy();
  return { elapsedMs: live.elapsed_ms, requests: live.tally.requests, failures: live.tally.failures, p95, msSinceResponse: 0 };
}

/**
 * The latencies bucket `index` holds, µs, inclusive: exact below 256, then
 * 128 buckets per power of two (width 2^e from 2^(e+7)): the middle is
 * within 1/256 of any value in it.
 */
export function bucketBounds(index: number): [number, number] {
  if (index < 256) return [index, index];
  const k = index - 256;
  const e = Math.floor(k / 128) + 1;
  const mantissa = 128 + (k % 128);
  return [mantissa * 2 ** e, (mantissa + 1) * 2 ** e - 1];
}

/** An exact sum of tallies: counts and buckets add, min and max are those of all. */
export function mergeTallies(tallies: readonly TallyReport[]): TallyReport {
  const out: TallyReport = { requests: 0, successes: 0, failures: 0, bytes: 0, errors: {}, buckets: {}, min: 0, max: 0, sum: 0, timed: 0 };
  for (const t of tallies) {
    out.requests += t.requests;
    out.successes += t.successes;
    out.failures += t.failures;
    out.bytes += t.bytes;
    out.sum += t.sum;
    for (const [k, v] of Object.entries(t.errors)) out.errors[k] = (out.errors[k] ?? 0) + v;
    for (const [k, v] of Object.entries(t.buckets)) out.buckets[k] = (out.buckets[k] ?? 0) + v;
    if (t.timed) {
      out.min = out.timed ? Math.min(out.min, t.min) : t.min;
      out.max = Math.max(out.max, t.max);
    }
    out.timed += t.timed;
  }
  return out;
}

/** The tally's latencies in an HDR histogram: each bucket at its middle, the exact min and max as themselves. */
export function histogramOf(tally: TallyReport, significantDigits: 2 | 3 = 3): Histogram {
  const histogram = newHistogram(significantDigits);
  let minLeft = tally.timed > 0;
  let maxLeft = tally.timed > 1;
  for (const [key, count] of Object.entries(tally.buckets)) {
    const [low, high] = bucketBounds(Number(key));
    let rest = count;
    if (minLeft && tally.min >= low && tally.min <= high && rest > 0) {
      histogram.recordValue(tally.min);
      rest--;
      minLeft = false;
    }
    if (maxLeft && tally.max >= low && tally.max <= high && rest > 0) {
      histogram.recordValue(tally.max);
      rest--;
      maxLeft = false;
    }
    if (rest > 0) histogram.recordValueWithCount(Math.max(1, Math.round((low + high) / 2)), rest);
  }
  return histogram;
}

export function statsOf(tally: TallyReport, seconds: number): RequestStats {
  const histogram = histogramOf(tally);
  const latency = summarize(histogram);
  histogram.destroy();
  if (tally.timed) {
    // The workers kept the exact min, max and sum: report those, and no percentile above the max.
    const max = round(tally.max / 1000, 3);
    Object.assign(latency, { min: round(tally.min / 1000, 3), max, mean: round(tally.sum / tally.timed / 1000, 3) });
    for (const p of ['p50', 'p90', 'p95', 'p99'] as const) latency[p] = Math.min(latency[p], max);
  }
  return requestStats(tally, seconds, latency);
}

function timelineOf(seconds: Record<string, TallyReport>, windowS: number): TimelinePoint[] {
  return Object.keys(seconds)
    .map(Number)
    .sort((a, b) => a - b)
    .map((second) => {
      const tally = seconds[String(second)]!;
      const histogram = histogramOf(tally, 2);
      const at = (p: number) => (tally.timed ? Math.min(histogram.getValueAtPercentile(p), tally.max) / 1000 : 0);
      const point = { t: round(Math.min(second + 1, Math.max(windowS, second)), 3), requests: tally.requests, failures: tally.failures, p50: at(50), p95: at(95), p99: at(99) };
      histogram.destroy();
      return point;
    });
}

/** A measured period's figures, as a recording the scenario runner reads like the autocannon engine's. */
export function periodRecording(report: PeriodReport, requestNames: readonly string[]): StageRecording {
  return {
    results(): StageFigures {
      const tallies = report.by_request ?? [];
      const byRequest = requestNames.map((name, i) => ({ name, ...statsOf(tallies[i] ?? mergeTallies([]), report.seconds) }));
      return { total: statsOf(mergeTallies(tallies), report.seconds), byRequest, timeline: timelineOf(report.seconds_tallies ?? {}, report.seconds), seconds: report.seconds };
    },
    destroy() {},
  };
}
