import type { LoadedScenario } from '../config/load-scenario.js';
import { DbtuneError } from '../errors.js';
import type { LiveFigures, LoadEnd, LoadEngine, LoadRequests } from './engine/load-engine.js';
import { stageMix } from './mix-stats.js';
import { buildRequestMix } from './request-mix.js';
import type { StageResult, ThresholdResult } from '../model/load-result.js';
import type { StageDatabaseOutcome } from '../model/stage-database.js';
import { round } from '../report/round.js';
import { evaluateThresholds, maxSustainedUsers, type Thresholds } from './thresholds.js';

/**
 * Runs a scenario's stages in order, each a run of the load engine at a
 * fixed number of users, and judges each against its thresholds. With
 * stop_on_failure, the stages after a failed one are skipped. Warm-up and
 * ramps are load that is not measured.
 */

export interface StagePlan {
  users: number;
  durationMs: number;
  rampMs: number;
  thresholds: Thresholds;
}

export type LoadEvent =
  | { type: 'phase'; stage: number; stages: number; users: number; phase: 'warmup' | 'ramp' | 'measure'; durationMs: number }
  | { type: 'progress'; stage: number; users: number; durationMs: number; live: LiveFigures }
  | { type: 'stage'; result: StageResult; stages: number };

/** Hooks around each measured stage: the database watch plugs in here. */
export interface StageObserver {
  /** `afterUnmeasuredLoad`: a warm-up or ramp just ran, whose statistics must settle first. */
  beforeStage(stage: number, afterUnmeasuredLoad: boolean): Promise<void>;
  /** What to attach as `database` to the stage result, and thresholds judged on it; `requests` counts those the target received. */
  afterStage(stage: number, requests: number): Promise<{ database: StageDatabaseOutcome; thresholds: ThresholdResult[] }>;
}

export interface ScenarioRunOptions {
  scenario: LoadedScenario;
  /** What sends the load (engine/load-engine.ts). */
  engine: LoadEngine;
  target: URL;
  stages: StagePlan[];
  timeoutMs: number;
  warmupMs: number;
  stopOnFailure: boolean;
  /** `--insecure`: accept any TLS certificate on the load connections. */
  insecure?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: LoadEvent) => void;
  observer?: StageObserver;
}

export interface ScenarioRun {
  stages: StageResult[];
  passed: boolean;
  interrupted: boolean;
  maxSustainedUsers: number;
  warnings: string[];
}

export async function runScenario(options: ScenarioRunOptions): Promise<ScenarioRun> {
  const { scenario, stages, signal } = options;
  const requestNames = scenario.requests.map((r) => r.name);
  const entries = buildRequestMix(scenario.requests, { rows: scenario.rows });
  const expectedStatuses = scenario.requests.map((r) => new Set(r.expectStatus));
  const weights = scenario.requests.map((r) => r.weight);
  const requests: LoadRequests = { target: options.target, entries, requestNames, weights, expectedStatuses, timeoutMs: options.timeoutMs, insecure: options.insecure ?? false, ...(signal ? { signal } : {}) };
  const { engine } = options;
  const emit = options.onEvent ?? (() => {});
  const results: StageResult[] = [];
  const warnings: string[] = [];
  let interrupted = false;
  let stopped = false;
  engine.preflight();
  await engine.prepare?.();

  if (options.warmupMs > 0 && stages.length) {
    emit({ type: 'phase', stage: 1, stages: stages.length, users: stages[0]!.users, phase: 'warmup', durationMs: options.warmupMs });
    const users = stages[0]!.users;
    interrupted = refuseUntrusted(options.target, await engine.unmeasured(requests, { fromUsers: users, users, durationMs: options.warmupMs })).interrupted;
  }

  for (const [i, plan] of stages.entries()) {
    const number = i + 1;
    // Ctrl-C may come between stages (say, during the database watch's settle wait).
    if (signal?.aborted) interrupted = true;
    if (interrupted || stopped) {
      results.push(skippedStage(number, plan, requestNames, interrupted ? 'interrupted' : 'an earlier stage failed'));
      continue;
    }
    const previousUsers = i === 0 ? 0 : stages[i - 1]!.users;
    if (plan.rampMs > 0) {
      emit({ type: 'phase', stage: number, stages: stages.length, users: plan.users, phase: 'ramp', durationMs: plan.rampMs });
      interrupted = refuseUntrusted(options.target, await engine.unmeasured(requests, { fromUsers: previousUsers, users: plan.users, durationMs: plan.rampMs })).interrupted;
      if (interrupted) {
        results.push(skippedStage(number, plan, requestNames, 'interrupted'));
        continue;
      }
    }
    emit({ type: 'phase', stage: number, stages: stages.length, users: plan.users, phase: 'measure', durationMs: plan.durationMs });
    await options.observer?.beforeStage(number, plan.rampMs > 0 || (i === 0 && options.warmupMs > 0));
    if (signal?.aborted) {
      interrupted = true;
      results.push(skippedStage(number, plan, requestNames, 'interrupted'));
      continue;
    }
    const measurement = await engine.measure(requests, {
      users: plan.users,
      durationMs: plan.durationMs,
      seed: number,
      onProgress: (live) => emit({ type: 'progress', stage: number, users: plan.users, durationMs: plan.durationMs, live }),
    });
    const { total, byRequest, timeline, seconds } = measurement.recording.results();
    measurement.recording.destroy();
    refuseUntrusted(options.target, measurement);
    // The requests that reached the target: not those refused before connecting, plus any still in flight.
    const unreached = (total.errors.connection_refused ?? 0) + (total.errors.tls ?? 0) + (total.errors.connection_error ?? 0);
    const watched = await options.observer?.afterStage(number, total.requests - unreached + measurement.inFlightAtStop);
    const thresholds = [...evaluateThresholds(plan.thresholds, total), ...(watched?.thresholds ?? [])];
    const passed = !measurement.interrupted && !measurement.workersLost && thresholds.every((t) => t.passed);
    const result: StageResult = {
      stage: number,
      users: plan.users,
      duration_s: plan.durationMs / 1000,
      measured_s: round(seconds, 3),
      passed,
      skipped: false,
      ...total,
      thresholds,
      by_request: byRequest,
      mix: stageMix(requestNames, weights, byRequest.map((r) => r.requests)),
      timeline,
      generator: measurement.generator,
    };
    if (measurement.interrupted) result.interrupted = true;
    if (measurement.endedEarly) result.ended_early = measurement.endedEarly;
    if (measurement.workersLost) result.worker_lost = measurement.workersLost;
    if (watched) result.database = watched.database;
    if (measurement.generator.saturated) {
      const busy =
        engine.name === 'autocannon'
          ? `event loop ${Math.round(measurement.generator.event_loop_utilization * 100)}% busy, timers late by up to ${measurement.generator.timers_late_p99_ms} ms at p99`
          : `its busiest ${engine.name} worker used ${Math.round(measurement.generator.event_loop_utilization * 100)}% of a core`;
      warnings.push(
        `stage ${number} (${plan.users} users): the load generator was busy (${busy}, against a median latency of ${total.latency.p50} ms); its figures may describe dbtune's limit, or this machine's, rather than the target's`,
      );
    }
    results.push(result);
    emit({ type: 'stage', result, stages: stages.length });
    interrupted = measurement.interrupted;
    if (!passed && options.stopOnFailure) stopped = true;
  }

  const passed = !interrupted && results.every((r) => r.passed);
  return { stages: results, passed, interrupted, maxSustainedUsers: maxSustainedUsers(results), warnings };
}

/**
 * A load connection whose certificate was not trusted ends the run as the
 * pre-flight check would have (exit 3): the target is not the one verified,
 * or not the same on every connection (a load balancer with one bad node).
 */
function refuseUntrusted(target: URL, end: LoadEnd): LoadEnd {
  if (end.untrustedCertificate === undefined) return end;
  throw new DbtuneError('CONNECTION_FAILED', `cannot reach the target ${target.origin}: its TLS certificate is not trusted on a load connection (${end.untrustedCertificate})`, {
    hint: 'for a test server with a self-signed certificate, pass --insecure; or add its CA with NODE_EXTRA_CA_CERTS',
  });
}

function skippedStage(stage: number, plan: StagePlan, names: string[], reason: string): StageResult {
  const latency = { min: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  const empty = { requests: 0, successes: 0, failures: 0, rps: 0, success_rate: 0, latency, errors: {}, bytes: 0 };
  return {
    stage,
    users: plan.users,
    duration_s: plan.durationMs / 1000,
    measured_s: 0,
    passed: false,
    skipped: true,
    ended_early: `skipped: ${reason}`,
    ...empty,
    thresholds: [],
    by_request: names.map((name) => ({ name, ...empty, latency: { ...latency } })),
    timeline: [],
  };
}
