/**
 * A whole number with comma thousands separators, as `toLocaleString('en-US')`
 * writes it (1,500,000), without it: the first call of toLocaleString loads
 * ICU's locale data, ~25 ms of CPU in a short command.
 */
export function withThousands(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const digits = String(Math.abs(Math.round(n)));
  return `${n < 0 && Math.round(n) !== 0 ? '-' : ''}${digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
}
