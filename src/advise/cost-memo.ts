import type { Candidate } from './candidates.js';

/**
 * Generic-plan costs remembered per statement and the candidates that can change its plan (those
 * on the tables it reads), for both what-if planners: later greedy rounds ask again for sets that
 * differ only on other tables, and a remembered cost needs no plan (nor, with --build, a build).
 */
export class CostMemo {
  private readonly known = new Map<string, number>();
  /** Plans actually made. */
  planned = 0;

  constructor(private readonly affects: (statement: number, candidate: Candidate) => boolean) {}

  /**
   * The costs of `statements` with exactly `indexes` present: remembered ones as they are; for the
   * rest, `present` makes the indexes exist (given the statements left to plan), then `plan` prices
   * each.
   */
  async costs(
    indexes: readonly Candidate[],
    statements: readonly number[],
    present: (todo: readonly number[]) => Promise<void>,
    plan: (statement: number) => Promise<number>,
  ): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    const keyOf = (id: number) => `${indexes.filter((c) => this.affects(id, c)).map((c) => c.id).sort().join('\u0000')}\u0001${id}`;
    const todo = statements.filter((id) => {
      const hit = this.known.get(keyOf(id));
      if (hit !== undefined) out.set(id, hit);
      return hit === undefined;
    });
    if (!todo.length) return out;
    await present(todo);
    for (const id of todo) {
      const cost = await plan(id);
      this.planned++;
      this.known.set(keyOf(id), cost);
      out.set(id, cost);
    }
    return out;
  }
}
