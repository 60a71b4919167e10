import type { MixShare } from '../model/load-result.js';
import { round } from '../report/round.js';

/**
 * The request mix a stage actually sent, and whether two stages' mixes
 * differ by more than sampling noise. Pure functions over counts.
 */

/** Per request name: sent, its share of the stage, and the share its weight declares. */
export function stageMix(names: readonly string[], weights: readonly number[], sent: readonly number[]): MixShare[] {
  const total = sent.reduce((a, b) => a + b, 0);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  return names.map((name, i) => ({
    name,
    sent: sent[i] ?? 0,
    share: total ? round((sent[i] ?? 0) / total, 4) : 0,
    declared: weightSum ? round((weights[i] ?? 0) / weightSum, 4) : 0,
  }));
}

export interface MixDifference {
  /** Pearson's chi-square statistic of the 2×k table (before/after × request). */
  chiSquare: number;
  degreesOfFreedom: number;
  /** The value chi-square must exceed for the difference to be beyond noise (p < ALPHA). */
  critical: number;
  differs: boolean;
  /** The request whose share moved most, with both shares (0..1). */
  largest?: { name: string; before: number; after: number };
}

/** False alarms wanted: about one stage in a thousand with identical mixes. */
export const ALPHA = 0.001;
/** The standard normal quantile of 1 - ALPHA. */
const Z = 3.0902;
/** Pearson's approximation needs about this many expected in each cell. */
const MIN_EXPECTED = 5;

/**
 * Chi-square test of homogeneity between two stages' counts per request name
 * (`before[i]`, `after[i]` are the same request). Requests too rare for the
 * test (fewer than MIN_EXPECTED expected in a cell) are pooled into one
 * column, and dropped if even that is too small. Undefined when there is
 * nothing to test (fewer than two usable columns, or an empty stage).
 */
export function compareMixes(names: readonly string[], before: readonly number[], after: readonly number[]): MixDifference | undefined {
  const b = before.reduce((x, y) => x + y, 0);
  const a = after.reduce((x, y) => x + y, 0);
  if (!b || !a) return undefined;
  const n = a + b;
  // The smaller row decides whether a column has enough expected counts.
  const smaller = Math.min(a, b);
  const columns: Array<[number, number]> = [];
  const pooled: [number, number] = [0, 0];
  for (let i = 0; i < names.length; i++) {
    const column = (before[i] ?? 0) + (after[i] ?? 0);
    if (column === 0) continue;
    if ((smaller * column) / n >= MIN_EXPECTED) columns.push([before[i] ?? 0, after[i] ?? 0]);
    else {
      pooled[0] += before[i] ?? 0;
      pooled[1] += after[i] ?? 0;
    }
  }
  if ((smaller * (pooled[0] + pooled[1])) / n >= MIN_EXPECTED) columns.push(pooled);
  if (columns.length < 2) return undefined;
  let chiSquare = 0;
  for (const [ob, oa] of columns) {
    const column = ob + oa;
    const eb = (b * column) / n;
    const ea = (a * column) / n;
    chiSquare += (ob - eb) ** 2 / eb + (oa - ea) ** 2 / ea;
  }
  const degreesOfFreedom = columns.length - 1;
  const critical = chiSquareCritical(degreesOfFreedom);
  let largest: MixDifference['largest'];
  for (let i = 0; i < names.length; i++) {
    const shareBefore = (before[i] ?? 0) / b;
    const shareAfter = (after[i] ?? 0) / a;
    if (!largest || Math.abs(shareAfter - shareBefore) > Math.abs(largest.after - largest.before)) largest = { name: names[i]!, before: shareBefore, after: shareAfter };
  }
  return { chiSquare: round(chiSquare, 4), degreesOfFreedom, critical: round(critical, 4), differs: chiSquare > critical, ...(largest ? { largest } : {}) };
}

/**
 * The chi-square quantile at 1 - ALPHA by the Wilson–Hilferty approximation:
 * within 3% of the exact value from 1 degree of freedom up (10.83 exact vs
 * 11.15 at 1 df), erring towards fewer warnings.
 */
export function chiSquareCritical(degreesOfFreedom: number): number {
  const k = degreesOfFreedom;
  const c = 2 / (9 * k);
  return k * (1 - c + Z * Math.sqrt(c)) ** 3;
}
