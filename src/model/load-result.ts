import { z } from 'zod';
import { redactUrl } from '../redact-url.js';
import type { RunContext } from '../report/run-context.js';
import type { StageDatabaseOutcome } from './stage-database.js';

/**
 * The saved result of `dbtune loadtest` (`--format json`, `--out`): the
 * contract `compare`, the HTML report and CI scripts read. Times are in
 * milliseconds with sub-millisecond precision; rates are 0..1.
 */

export interface LatencySummary {
  min: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Failures by kind: `http_<status>` for responses outside 2xx (and not
 * expected), `timeout`, `connection_refused`, `connection_reset`,
 * `connection_closed` (closed before answering), `tls`, `connection_error`.
 */
export type ErrorCounts = Record<string, number>;

export interface ThresholdResult {
  /** `success_rate`, `max_error_rate`, `p50`…`p99`, `rps`, and the database ones (`queries_per_request`, `cache_hit_ratio`, …). */
  name: string;
  /** The limit as written, e.g. `99%` or `50ms`. */
  limit: string;
  /** The measured value in the limit's unit, e.g. `98.2%` or `61.3ms`. */
  observed: string;
  passed: boolean;
  /** True when the scenario set no success threshold and dbtune applied its default. */
  default?: boolean;
}

export interface RequestStats {
  requests: number;
  /** Responses counted as success (2xx or declared in expect_status). */
  successes: number;
  failures: number;
  rps: number;
  success_rate: number;
  latency: LatencySummary;
  errors: ErrorCounts;
  bytes: number;
}

/** One second of a stage, for charts and for estimating run-to-run noise. */
export interface TimelinePoint {
  /** Seconds since the stage started (end of the bucket). */
  t: number;
  requests: number;
  failures: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface GeneratorLoad {
  /** CPU of the dbtune process during the stage, in cores (1 = one core busy), all threads. */
  cpu_cores: number;
  /** Share of the stage the load generator's event loop was busy (0..1): near 1, it cannot send faster. */
  event_loop_utilization: number;
  /** Event-loop delay p99 of the dbtune process, ms (as Node's monitor reports it: the 10 ms sampling interval included). */
  event_loop_p99_ms: number;
  /** How late timers ran at p99 beyond that interval, ms: the delay dbtune may add to a measured latency (absent in older results). */
  timers_late_p99_ms?: number;
  /** True when the numbers may describe dbtune rather than the target: event loop ≥ 90% busy, or timers late (p99) by half the stage's p50 (10–190 ms). */
  saturated: boolean;
  /** Times a user waited 100 ms before reconnecting because the target refused or was unreachable (absent in older results). */
  reconnect_waits?: number;
}

/** One request name's part of what a stage sent. */
export interface MixShare {
  name: string;
  /** Requests of this name sent in the stage that had an outcome (a response, a timeout, a lost connection). */
  sent: number;
  /** Its share of all sent in the stage (0..1). */
  share: number;
  /** The share its weight declares: weight / sum of weights (0..1). */
  declared: number;
}

export interface StageResult extends RequestStats {
  /** 1-based, in scenario order. */
  stage: number;
  users: number;
  /** Planned duration. */
  duration_s: number;
  /** Measured window (shorter when interrupted or the target went away). */
  measured_s: number;
  passed: boolean;
  skipped: boolean;
  interrupted?: boolean;
  /** Why the stage ended early, when it did. */
  ended_early?: string;
  /** Locust workers that stopped reporting during the stage, and the users they ran: the stage fails. */
  worker_lost?: { workers: number; users: number };
  thresholds: ThresholdResult[];
  by_request: Array<{ name: string } & RequestStats>;
  /** The request mix the stage sent, per name (absent in results saved before it was recorded). */
  mix?: MixShare[];
  timeline: TimelinePoint[];
  generator?: GeneratorLoad;
  /** What PostgreSQL saw during the stage, when the database was watched (or why the watch failed). */
  database?: StageDatabaseOutcome;
}

export interface LoadContext extends RunContext {
  scenario: string;
  scenario_file: string;
  target: string;
  started_at: string;
  /** Per-request timeout, ms. */
  timeout_ms: number;
  /** What sent the load: `autocannon` or `locust` (absent in results saved before there was a choice). */
  engine?: string;
  /** Locust workers the run waited for (local and remote). */
  workers?: number;
}

export interface LoadResult {
  kind: 'dbtune.loadtest';
  format_version: 1;
  passed: boolean;
  interrupted: boolean;
  max_sustained_users: number;
  stages: StageResult[];
  context: LoadContext;
  warnings: string[];
}

const latencyShape = z.looseObject({ min: z.number(), p50: z.number(), p90: z.number(), p95: z.number(), p99: z.number(), max: z.number() });
const statsShape = {
  requests: z.number(),
  successes: z.number(),
  failures: z.number(),
  rps: z.number(),
  success_rate: z.number(),
  latency: latencyShape,
  errors: z.record(z.string(), z.number()),
};
/**
 * What `compare` and the HTML report read from a saved load result, checked
 * when the file is read back: the fields they need, extra ones kept.
 */
export const savedLoadShape = z.looseObject({
  max_sustained_users: z.number(),
  passed: z.boolean(),
  // A result written by hand or by an older dbtune may hold a target with a password or a query token:
  // every report built from it (compare, the HTML baseline) shows it redacted.
  context: z.looseObject({ scenario: z.string(), target: z.string().transform(redactUrl), started_at: z.string() }),
  stages: z.array(
    z.looseObject({
      stage: z.number(),
      users: z.number(),
      duration_s: z.number(),
      passed: z.boolean(),
      skipped: z.boolean(),
      ...statsShape,
      thresholds: z.array(z.looseObject({ name: z.string(), limit: z.string(), observed: z.string(), passed: z.boolean() })),
      by_request: z.array(z.looseObject({ name: z.string(), ...statsShape })),
      timeline: z.array(z.looseObject({ t: z.number(), requests: z.number(), failures: z.number(), p50: z.number(), p95: z.number(), p99: z.number() })),
    }),
  ),
});
