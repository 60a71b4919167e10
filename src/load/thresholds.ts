import { durationMs } from '../config/duration.js';
import type { ScenarioFile } from '../config/scenario-schema.js';
import type { RequestStats, ThresholdResult } from '../model/load-result.js';
import { formatLatency, formatPercent, parseRate } from '../report/figures.js';

/**
 * Thresholds of a stage: the scenario's, overridden key by key by the stage's
 * own. When neither names a success or error rate, a stage must still answer
 * 99% of requests successfully (`success_rate (default)`): a stage where every
 * request failed must not pass because nobody wrote a limit.
 */

export type Thresholds = NonNullable<ScenarioFile['thresholds']>;

export const DEFAULT_SUCCESS_RATE = '99%';

export function stageThresholds(global: Thresholds | undefined, stage: Thresholds | undefined): Thresholds {
  return { ...global, ...stage };
}

const PERCENTILES = ['p50', 'p90', 'p95', 'p99'] as const;

export function evaluateThresholds(thresholds: Thresholds, stats: RequestStats): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  const attempts = stats.successes + stats.failures;
  const errorRate = attempts ? stats.failures / attempts : 1;
  const successRate = attempts ? stats.success_rate : 0;
  if (thresholds.success_rate === undefined && thresholds.max_error_rate === undefined) {
    results.push({ ...rateThreshold('success_rate', DEFAULT_SUCCESS_RATE, successRate, 'min'), default: true });
  }
  if (thresholds.success_rate !== undefined) results.push(rateThreshold('success_rate', thresholds.success_rate, successRate, 'min'));
  if (thresholds.max_error_rate !== undefined) results.push(rateThreshold('max_error_rate', thresholds.max_error_rate, errorRate, 'max'));
  for (const p of PERCENTILES) {
    const limit = thresholds[p];
    if (limit === undefined) continue;
    const limitMs = durationMs(limit);
    const observed = stats.latency[p];
    // No latency measured at all (every request refused, say): nothing holds the limit.
    const measured = stats.latency.max > 0;
    results.push({ name: p, limit: `≤ ${limit}`, observed: measured ? formatLatency(observed) : 'no responses', passed: measured && observed <= limitMs });
  }
  if (thresholds.rps !== undefined) {
    // Failures (refused connections come fast) must not make up a throughput floor.
    const successful = Math.round(stats.rps * (attempts ? stats.successes / attempts : 0) * 10) / 10;
    results.push({ name: 'rps', limit: `≥ ${thresholds.rps} successful`, observed: String(successful), passed: successful >= thresholds.rps });
  }
  return results;
}

function rateThreshold(name: string, limit: string | number, observed: number, direction: 'min' | 'max'): ThresholdResult {
  const rate = parseRate(limit);
  return {
    name,
    limit: `${direction === 'min' ? '≥' : '≤'} ${formatPercent(rate)}`,
    observed: formatPercent(observed),
    passed: direction === 'min' ? observed >= rate : observed <= rate,
  };
}

/** The most users among the unbroken run of passing stages from the first (0 if the first failed). */
export function maxSustainedUsers(stages: ReadonlyArray<{ users: number; passed: boolean; skipped: boolean }>): number {
  let users = 0;
  for (const stage of stages) {
    if (!stage.passed || stage.skipped) break;
    users = Math.max(users, stage.users);
  }
  return users;
}
