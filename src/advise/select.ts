import { keyText, type Candidate } from './candidates.js';
import { foldLeadingPrefixes } from './redundant.js';
import type { WhatIfPlanner } from './what-if.js';

/**
 * Greedy selection over what-if costs (pure; the costs come from a {@link WhatIfPlanner}).
 * Each round adds the candidate that saves the most call-weighted cost given those already
 * chosen — so one index that serves several statements beats one per statement — and only if
 * it cuts some statement's cost by at least `minImprovement` of what it was before it.
 */

/** All selection needs of a planner: costs with a given set of candidates present (hypothetical or built). */
export type CostSource = Pick<WhatIfPlanner, 'costs'>;

export interface WeightedStatement {
  id: number;
  calls: number;
  /** Tables it reads, as `schema.name`: only indexes on these can change its plan. */
  tables: string[];
}

export interface Chosen {
  candidate: Candidate;
  /** Statements whose cost it lowered when added, with cost before → after it. */
  serves: Array<{ statement: number; before: number; after: number }>;
  /** Call-weighted cost saved when it was added. */
  saving: number;
}

export interface Selection {
  /** Cost of each statement with no hypothetical index. */
  baseline: Map<number, number>;
  /** Cost with all chosen indexes. */
  final: Map<number, number>;
  chosen: Chosen[];
  /** Per candidate not chosen: the largest share of one statement's cost it would have cut. */
  rejected: Map<string, number>;
  /** What-if evaluations run (plans asked for). */
  evaluations: number;
}

export interface SelectOptions {
  /** Share of a statement's cost an index must cut (0.5 = 50%). */
  minImprovement: number;
  /** At most this many indexes. Default 20. */
  maxIndexes?: number;
}

const tableOf = (c: Candidate) => `${c.table.schema}.${c.table.name}`;

export async function selectIndexes(planner: CostSource, statements: readonly WeightedStatement[], candidates: readonly Candidate[], options: SelectOptions): Promise<Selection> {
  const ids = statements.map((s) => s.id);
  let evaluations = ids.length;
  const baseline = await planner.costs([], ids);
  const current = new Map(baseline);
  const chosen: Chosen[] = [];
  const rejected = new Map<string, number>();
  let remaining = [...candidates];
  const calls = new Map(statements.map((s) => [s.id, s.calls]));
  const maxIndexes = options.maxIndexes ?? 20;
  const tablesOf = new Map(statements.map((s) => [s.id, s.tables]));
  /** Each candidate's costs alone (the first round): what bounds it in later rounds. */
  const alone = new Map<string, Map<number, number>>();

  while (remaining.length && chosen.length < maxIndexes) {
    const qualifying: Array<{ candidate: Candidate; costs: Map<number, number>; saving: number; serves: Chosen['serves'] }> = [];
    for (const candidate of remaining) {
      const affected = statements.filter((s) => s.tables.includes(tableOf(candidate))).map((s) => s.id);
      if (!affected.length) continue;
      if (chosen.length && cannotQualify(alone.get(candidate.id), affected, current, tablesOf, options.minImprovement)) continue;
      const costs = await planner.costs([...chosen.map((c) => c.candidate), candidate], affected);
      evaluations += affected.length;
      if (!chosen.length) alone.set(candidate.id, costs);
      let saving = 0;
      let bestShare = 0;
      const serves: Chosen['serves'] = [];
      for (const id of affected) {
        const before = current.get(id)!;
        const after = costs.get(id)!;
        if (!(after < before)) continue;
        saving += (before - after) * (calls.get(id) ?? 1);
        const share = before > 0 ? (before - after) / before : 0;
        bestShare = Math.max(bestShare, share);
        if (share >= options.minImprovement) serves.push({ statement: id, before, after });
      }
      rejected.set(candidate.id, Math.max(rejected.get(candidate.id) ?? 0, bestShare));
      if (serves.length) qualifying.push({ candidate, costs, saving, serves });
    }
    const best = pickBest(qualifying);
    if (!best) break;
    rejected.delete(best.candidate.id);
    remaining = remaining.filter((c) => c !== best.candidate);
    const covered = chosen.findIndex((c) => isCoveringVariant(best.candidate, c.candidate));
    if (covered < 0) {
      chosen.push({ candidate: best.candidate, serves: best.serves, saving: best.saving });
      for (const [id, cost] of best.costs) current.set(id, cost);
      continue;
    }
    // The INCLUDE variant of a chosen index that still pays on top of it replaces it: one index, not both.
    const replaced = chosen[covered]!;
    chosen[covered] = { candidate: best.candidate, serves: [], saving: replaced.saving + best.saving };
    const ids = [...new Set([...replaced.serves, ...best.serves].map((x) => x.statement))];
    const costs = await planner.costs(chosen.map((c) => c.candidate), ids);
    evaluations += ids.length;
    for (const id of ids) current.set(id, costs.get(id)!);
    chosen[covered]!.serves = ids.map((id) => ({ statement: id, before: (replaced.serves.find((x) => x.statement === id) ?? best.serves.find((x) => x.statement === id))!.before, after: costs.get(id)! }));
  }
  return { baseline, final: current, chosen: foldLeadingPrefixes(chosen), rejected, evaluations };
}

/**
 * Whether a candidate need not be planned again in a later round: alone, it left each statement
 * it affects above the cost it would now have to reach. Taken to hold for statements on one table
 * only, where an index beside the chosen ones is not expected to beat its own best plan (a
 * BitmapAnd of two could: then the composite candidate serves that statement). A join can use
 * indexes on two tables at once, so statements on several tables are always planned. With HypoPG
 * this saves plans; with --build, index builds.
 */
export function cannotQualify(own: ReadonlyMap<number, number> | undefined, affected: readonly number[], current: ReadonlyMap<number, number>, tablesOf: ReadonlyMap<number, readonly string[]>, minImprovement: number): boolean {
  if (!own) return false;
  return affected.every((id) => (tablesOf.get(id)?.length ?? 0) === 1 && own.has(id) && own.get(id)! > current.get(id)! * (1 - minImprovement));
}

/** Whether `c` is `base` with INCLUDE columns added: same table, keys and predicate. */
function isCoveringVariant(c: Candidate, base: Candidate): boolean {
  const keys = (x: Candidate) => x.keys.map(keyText).join(', ');
  return Boolean(c.include) && !base.include && tableOf(c) === tableOf(base) && keys(c) === keys(base) && c.where === base.where;
}

/** Near-equal savings (within 2%): the smaller index wins — a partial one, then fewer keys, then no INCLUDE. */
export function pickBest<T extends { candidate: Candidate; saving: number }>(options: readonly T[]): T | undefined {
  const top = Math.max(...options.map((o) => o.saving));
  const close = options.filter((o) => o.saving >= top * 0.98);
  const rank = (o: T) => (o.candidate.where ? 0 : 10) + o.candidate.keys.length + (o.candidate.include ? 0.5 : 0);
  return [...close].sort((a, b) => rank(a) - rank(b) || b.saving - a.saving)[0];
}
