/** `value` rounded to `digits` decimals, for figures in results and reports. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
