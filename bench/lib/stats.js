/** Order statistics for small samples of timings (ms). */

/**
 * Nearest-rank percentile (p in 0–100): always a value that was measured,
 * which keeps p90 of 20 samples honest instead of interpolated.
 * @param {number[]} samples
 * @param {number} p
 */
export function percentile(samples, p) {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/**
 * Median; the mean of the two middle values for an even count.
 * @param {number[]} samples
 */
export function median(samples) {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `2.31×` */
export function formatRatio(value) {
  return `${value.toFixed(2)}×`;
}

/** Milliseconds with one decimal below 10 s, seconds with two above. */
export function formatMs(ms) {
  return ms < 10_000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
