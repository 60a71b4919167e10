/** How rates and latencies are read from a scenario and shown in every report. */

/** `99%` or `0.99` → 0.99. */
export function parseRate(value: string | number): number {
  return typeof value === 'number' ? value : Number.parseFloat(value) / 100;
}

/** A rate as a percentage that never rounds a failure into a pass. */
export function formatPercent(rate: number): string {
  const pct = rate * 100;
  if (Number.isInteger(Math.round(pct * 1e6) / 1e6)) return `${Math.round(pct)}%`;
  // Enough digits that 99.96% never shows as a passing-looking "100%".
  // Rounded down: 98.96% must not read as a passing-looking 99.0%.
  return `${pct >= 99 ? (Math.floor(pct * 100) / 100).toFixed(2) : (Math.floor(pct * 10) / 10).toFixed(1)}%`;
}

export function formatLatency(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)}s`;
  return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)}ms`;
}
