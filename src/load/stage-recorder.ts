import * as hdr from 'hdr-histogram-js';
import type { ErrorCounts, LatencySummary, RequestStats, TimelinePoint } from '../model/load-result.js';
import type { LiveFigures, StageFigures, StageRecording } from './engine/load-engine.js';
import { round } from '../report/round.js';

/**
 * dbtune's own measurements of one stage, fed from every response: an HDR
 * histogram in microseconds (sub-millisecond resolution, 3 significant
 * digits) for the stage and for each request name, a per-second timeline,
 * failures by kind. autocannon's aggregate is not used (no p95, whole
 * milliseconds, timeouts dropped, wrong coordinated-omission correction).
 *
 * Every response's latency counts, whatever its status. A timed-out request
 * counts at the timeout, the least it would have taken: timeouts raise the
 * percentiles instead of vanishing from them. Connection failures have no
 * latency and are only counted.
 */

/** An HDR histogram in microseconds, as every engine's figures use. */
export function newHistogram(significantDigits: 1 | 2 | 3): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: significantDigits,
    autoResize: true,
    useWebAssembly: false,
  });
}

class Tally {
  readonly histogram = newHistogram(3);
  requests = 0;
  successes = 0;
  failures = 0;
  bytes = 0;
  readonly errors: ErrorCounts = {};

  respond(micros: number, bytes: number, status: number, success: boolean): void {
    this.requests++;
    this.bytes += bytes;
    this.histogram.recordValue(micros);
    if (success) this.successes++;
    else this.fail(`http_${status}`);
  }

  /** A request with no response; a timeout counts at `micros`. */
  lose(kind: string, micros: number | undefined): void {
    this.requests++;
    this.fail(kind);
    if (micros !== undefined) this.histogram.recordValue(micros);
  }

  private fail(kind: string): void {
    this.failures++;
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  stats(seconds: number): RequestStats {
    return requestStats(this, seconds, summarize(this.histogram));
  }
}

export class StageRecorder implements StageRecording {
  private readonly total = new Tally();
  private readonly byRequest: Tally[];
  private readonly second = newHistogram(2);
  private secondRequests = 0;
  private secondFailures = 0;
  private readonly timeline: TimelinePoint[] = [];
  private readonly startedAt = performance.now();
  private closedAt: number | undefined;
  private sendingEndedAt: number | undefined;
  private lastResponseAt = performance.now();
  private readonly ticker: NodeJS.Timeout;

  constructor(private readonly requestNames: readonly string[]) {
    this.byRequest = requestNames.map(() => new Tally());
    this.ticker = setInterval(() => this.closeSecond(), 1000);
    this.ticker.unref();
  }

  /** A complete HTTP response: success when 2xx or expected, else `http_<status>`. */
  response(requestIndex: number, status: number, bytes: number, latencyMs: number, success: boolean): void {
    if (this.closedAt !== undefined) return;
    const micros = Math.max(1, Math.round(latencyMs * 1000));
    // Called for every response: no per-call allocation beyond an error's key.
    this.total.respond(micros, bytes, status, success);
    this.byRequest[requestIndex]!.respond(micros, bytes, status, success);
    this.second.recordValue(micros);
    this.secondRequests++;
    if (!success) this.secondFailures++;
    this.lastResponseAt = performance.now();
  }

  /** A request that got no response: timed out (counted at `latencyMs`) or lost with its connection. */
  failure(requestIndex: number, kind: string, latencyMs?: number): void {
    if (this.closedAt !== undefined) return;
    const micros = latencyMs === undefined ? undefined : Math.max(1, Math.round(latencyMs * 1000));
    this.total.lose(kind, micros);
    this.byRequest[requestIndex]!.lose(kind, micros);
    if (micros !== undefined) this.second.recordValue(micros);
    this.secondRequests++;
    this.secondFailures++;
  }

  /** Live figures for progress lines. */
  snapshot(): LiveFigures {
    const now = performance.now();
    return {
      elapsedMs: now - this.startedAt,
      requests: this.total.requests,
      failures: this.total.failures,
      p95: this.total.requests ? this.total.histogram.getValueAtPercentile(95) / 1000 : 0,
      msSinceResponse: now - this.lastResponseAt,
    };
  }

  /** The stage's median latency so far, ms (0 before any). */
  medianMs(): number {
    return this.total.histogram.totalCount ? this.total.histogram.getValueAtPercentile(50) / 1000 : 0;
  }

  /** The stage's time is up: no new request is sent; those in flight are still recorded. Rates count to here. */
  stopSending(): void {
    this.sendingEndedAt ??= performance.now();
  }

  /** Stops recording: responses after this are not counted. Returns the stage's seconds (to the end of sending). */
  close(): number {
    if (this.closedAt === undefined) {
      this.closedAt = performance.now();
      clearInterval(this.ticker);
      if (this.secondRequests) this.closeSecond();
    }
    return ((this.sendingEndedAt ?? this.closedAt) - this.startedAt) / 1000;
  }

  results(): StageFigures {
    const seconds = this.close();
    const byRequest = this.requestNames.map((name, i) => ({ name, ...this.byRequest[i]!.stats(seconds) }));
    return { total: this.total.stats(seconds), byRequest, timeline: this.timeline, seconds };
  }

  /** Frees the histograms' memory. */
  destroy(): void {
    this.close();
    this.total.histogram.destroy();
    for (const t of this.byRequest) t.histogram.destroy();
    this.second.destroy();
  }

  private closeSecond(): void {
    const t = round((performance.now() - this.startedAt) / 1000, 3);
    const empty = this.secondRequests === 0 || this.second.totalCount === 0;
    this.timeline.push({
      t,
      requests: this.secondRequests,
      failures: this.secondFailures,
      p50: empty ? 0 : this.second.getValueAtPercentile(50) / 1000,
      p95: empty ? 0 : this.second.getValueAtPercentile(95) / 1000,
      p99: empty ? 0 : this.second.getValueAtPercentile(99) / 1000,
    });
    this.second.reset();
    this.secondRequests = 0;
    this.secondFailures = 0;
  }
}

/** The latency summary of a histogram in microseconds, ms (the same for every engine). */
export function summarize(histogram: hdr.Histogram): LatencySummary {
  if (histogram.totalCount === 0) return { min: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  // An HDR percentile is the top of its bucket: never report one above the true max.
  const ms = (micros: number) => round(Math.min(micros, histogram.maxValue) / 1000, 3);
  return {
    min: ms(histogram.minNonZeroValue),
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p95: ms(histogram.getValueAtPercentile(95)),
    p99: ms(histogram.getValueAtPercentile(99)),
    max: ms(histogram.maxValue),
    mean: ms(histogram.mean),
  };
}

/** The result's figures for one request name (or a stage) from its counts over `seconds`; any engine's. */
export function requestStats(
  counts: { requests: number; successes: number; failures: number; errors: ErrorCounts; bytes: number },
  seconds: number,
  latency: LatencySummary,
): RequestStats {
  const attempts = counts.successes + counts.failures;
  return {
    requests: counts.requests,
    successes: counts.successes,
    failures: counts.failures,
    rps: seconds > 0 ? round(counts.requests / seconds, 1) : 0,
    success_rate: attempts ? counts.successes / attempts : 0,
    latency,
    errors: { ...counts.errors },
    bytes: counts.bytes,
  };
}
