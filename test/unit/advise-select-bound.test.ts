import { describe, expect, it } from 'vitest';
import type { Candidate } from '../../src/advise/candidates.js';
import { cannotQualify, selectIndexes, type CostSource } from '../../src/advise/select.js';

const cand = (id: string, table: string): Candidate => ({ id, table: { schema: 'public', name: table }, keys: [{ term: { kind: 'column', column: id }, order: 'asc' }], statements: [1] });

describe('later rounds plan only candidates that could still qualify', () => {
  it.each([
    { own: 40, current: 60, tables: ['public.a'], skip: true },
    { own: 25, current: 60, tables: ['public.a'], skip: false },
    { own: 40, current: 60, tables: ['public.a', 'public.b'], skip: false },
  ])('alone $own, now $current, tables $tables: skipped $skip', ({ own, current, tables, skip }) => {
    expect(cannotQualify(new Map([[1, own]]), [1], new Map([[1, current]]), new Map([[1, tables]]), 0.5)).toBe(skip);
  });

  it('asks the planner again only for what could still cut a statement by --min-improvement', async () => {
    const asked: string[][] = [];
    const alone: Record<string, number> = { best: 10, weak: 40, second: 4 };
    const planner: CostSource = {
      async costs(indexes, statements) {
        asked.push(indexes.map((c) => c.id));
        return new Map(statements.map((id) => [id, Math.min(100, ...indexes.map((c) => alone[c.id]!))]));
      },
    };
    const s = await selectIndexes(planner, [{ id: 1, calls: 1, tables: ['public.a'] }], [cand('best', 'a'), cand('weak', 'a'), cand('second', 'a')], { minImprovement: 0.5 });
    expect(s.chosen.map((c) => c.candidate.id)).toEqual(['second']);
    // Round 1: baseline and each alone; round 2 (cost now 4): none of the others can halve it: not planned.
    expect(asked).toEqual([[], ['best'], ['weak'], ['second']]);
  });
});
