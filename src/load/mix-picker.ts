/**
 * Which request a user sends next: an independent weighted random pick per
 * request, from a seeded generator of the user's own.
 *
 * Why not a shared cycle: autocannon starts every connection at position 0
 * of its `requests` list, so users walking one weighted cycle march in
 * lockstep; in a stage shorter than a few cycles, or with a slow request in
 * it, what is sent is the head of the cycle, not the weights. Independent
 * picks make every request sent a draw from the declared weights, so the
 * shares converge to them for any number of users, latency and stage length.
 *
 * Seeds are fixed per stage and user, so a scenario sends the same sequence
 * of requests run after run: before/after comparisons differ by the target,
 * not by the draw.
 */
export class WeightedPicker {
  /** Cumulative weights, scaled to 0..2^32 so a pick is one integer draw and a scan. */
  private readonly bounds: Float64Array;
  private state: number;

  constructor(weights: readonly number[], seed: number) {
    const total = weights.reduce((a, b) => a + b, 0);
    if (!(total > 0) || weights.some((w) => !(w >= 0))) throw new RangeError('weights must be non-negative with a positive sum');
    const bounds = new Float64Array(weights.length);
    let sum = 0;
    for (let i = 0; i < weights.length; i++) {
      sum += weights[i]!;
      bounds[i] = (sum / total) * 2 ** 32;
    }
    // The last bound is the whole range, whatever the rounding.
    bounds[weights.length - 1] = 2 ** 32;
    this.bounds = bounds;
    this.state = seed >>> 0;
  }

  /** The next request index; allocates nothing (called once per request sent). */
  next(): number {
    const draw = this.nextUint32();
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length - 1; i++) if (draw < bounds[i]!) return i;
    return bounds.length - 1;
  }

  /** mulberry32: small, fast, and good enough to spread requests (not for secrets). */
  private nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}

/** The seed of user `user` (0-based) in the stage seeded `stageSeed`: distinct, well-mixed streams. */
export function userSeed(stageSeed: number, user: number): number {
  // splitmix-style mixing of the pair, so neighbouring users do not get correlated streams.
  let h = (Math.imul(stageSeed >>> 0, 0x9e3779b1) ^ Math.imul(user + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
