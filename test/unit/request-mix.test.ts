import { describe, expect, it } from 'vitest';
import { WeightedPicker, userSeed } from '../../src/load/mix-picker.js';
import { chiSquareCritical, compareMixes, stageMix } from '../../src/load/mix-stats.js';

describe('weighted picks per user', () => {
  const shares = (weights: number[], seed: number, n: number) => {
    const picker = new WeightedPicker(weights, seed);
    const counts = weights.map(() => 0);
    for (let i = 0; i < n; i++) counts[picker.next()]!++;
    return counts.map((c) => c / n);
  };

  it.each([
    { weights: [3, 2, 2, 2, 1] },
    { weights: [1] },
    { weights: [1000, 1] },
    { weights: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
  ])('converges to the declared weights $weights', ({ weights }) => {
    const total = weights.reduce((a, b) => a + b, 0);
    const n = 200_000;
    const got = shares(weights, userSeed(1, 0), n);
    weights.forEach((w, i) => {
      const p = w / total;
      // Five standard errors of a binomial share.
      expect(Math.abs(got[i]! - p)).toBeLessThanOrEqual(5 * Math.sqrt((p * (1 - p)) / n) + 1e-9);
    });
  });

  it('gives each user its own sequence, the same on every run', () => {
    const firsts = Array.from({ length: 20 }, (_, user) => new WeightedPicker([3, 2, 2, 2, 1], userSeed(1, user)).next());
    // 20 users do not all start with the same request (they all did with one shared cycle).
    expect(new Set(firsts).size).toBeGreaterThan(2);
    const again = Array.from({ length: 20 }, (_, user) => new WeightedPicker([3, 2, 2, 2, 1], userSeed(1, user)).next());
    expect(again).toEqual(firsts);
    expect(new Set(Array.from({ length: 100 }, (_, u) => userSeed(7, u))).size).toBe(100);
  });

  it('refuses weights that are not a distribution', () => {
    expect(() => new WeightedPicker([0, 0], 1)).toThrow(RangeError);
    expect(() => new WeightedPicker([1, -1], 1)).toThrow(RangeError);
  });
});

describe('request mix statistics', () => {
  it('reports what was sent next to what the weights declare', () => {
    expect(stageMix(['a', 'b'], [3, 1], [60, 40])).toEqual([
      { name: 'a', sent: 60, share: 0.6, declared: 0.75 },
      { name: 'b', sent: 40, share: 0.4, declared: 0.25 },
    ]);
    expect(stageMix(['a'], [1], [0])).toEqual([{ name: 'a', sent: 0, share: 0, declared: 1 }]);
  });

  it('approximates the chi-square quantile at p = 0.001 within a few percent, erring high', () => {
    // Exact values from tables.
    for (const [df, exact] of [[1, 10.828], [2, 13.816], [4, 18.467], [9, 27.877], [30, 59.703]] as const) {
      const approx = chiSquareCritical(df);
      expect(approx).toBeGreaterThanOrEqual(exact * 0.99);
      expect(approx).toBeLessThanOrEqual(exact * 1.04);
    }
  });

  it.each([
    // Same shares, any size: no difference.
    { before: [300, 200, 200, 200, 100], after: [300, 200, 200, 200, 100], differs: false },
    // Binomial noise around 3:2:2:2:1 at ~1000 requests.
    { before: [300, 200, 200, 200, 100], after: [310, 190, 205, 185, 110], differs: false },
    // The lockstep case: the slow request 10% → 28.6%.
    { before: [300, 200, 200, 200, 100], after: [200, 150, 150, 100, 240], differs: true },
    // A small shift is noise at 100 requests but not at 100 000.
    { before: [50, 50], after: [56, 44], differs: false },
    { before: [50_000, 50_000], after: [56_000, 44_000], differs: true },
    // Too few to test: undefined.
    { before: [3, 1], after: [1, 3], differs: undefined },
    { before: [0, 0], after: [5, 5], differs: undefined },
  ])('$before vs $after: differs $differs', ({ before, after, differs }) => {
    const names = before.map((_, i) => `r${i}`);
    expect(compareMixes(names, before, after)?.differs).toBe(differs);
  });

  it('pools rare requests instead of letting them decide, and names the request that moved most', () => {
    // r2 has 2 requests in all: pooled with r3 (also rare), not a 1-request cell of its own.
    const result = compareMixes(['r0', 'r1', 'r2', 'r3'], [500, 500, 2, 0], [500, 500, 0, 1])!;
    expect(result.degreesOfFreedom).toBe(1);
    expect(result.differs).toBe(false);
    const moved = compareMixes(['fast', 'slow'], [900, 100], [714, 286])!;
    expect(moved.differs).toBe(true);
    expect(moved.largest).toMatchObject({ name: 'fast' });
    expect(moved.largest!.after - moved.largest!.before).toBeCloseTo(-0.186, 3);
  });
});
