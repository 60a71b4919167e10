import type { SqlSession } from '../db/client.js';
import { DbtuneError, pgErrorFields } from '../errors.js';
import type { Candidate } from './candidates.js';
import { CostMemo } from './cost-memo.js';
import { createIndexText } from './index-text.js';
import { GenericPlans } from './generic-plan.js';
import type { PlannableStatement, WhatIfPlanner } from './what-if.js';

/**
 * What-if costs from HypoPG: hypothetical indexes, and each statement's generic plan
 * (generic-plan.ts). Nothing is built and no statement is executed.
 */

export class HypoPgPlanner implements WhatIfPlanner {
  readonly mode = 'hypopg' as const;
  private readonly present = new Map<string, number>();
  private readonly memo = new CostMemo((id, c) => this.tablesOf.get(id)?.has(`${c.table.schema}.${c.table.name}`) ?? true);
  private readonly tablesOf = new Map<number, Set<string>>();

  private constructor(
    private readonly session: SqlSession,
    private readonly plans: GenericPlans,
  ) {}

  /** Whether CREATE EXTENSION hypopg works here: undefined when it does, else PostgreSQL's reason. */
  static async unavailable(session: SqlSession): Promise<string | undefined> {
    try {
      await session.query('CREATE EXTENSION IF NOT EXISTS hypopg');
      return undefined;
    } catch (error) {
      return pgErrorFields(error).message;
    }
  }

  /** Loads hypopg (CREATE EXTENSION IF NOT EXISTS) and prepares the session; SERVER_UNSUPPORTED when it cannot. */
  static async open(session: SqlSession): Promise<HypoPgPlanner> {
    const why = await HypoPgPlanner.unavailable(session);
    if (why !== undefined) {
      throw new DbtuneError('SERVER_UNSUPPORTED', `dbtune advise needs the HypoPG extension to score indexes, and CREATE EXTENSION hypopg failed: ${why}`, {
        hint: 'install it on the server (Debian/Ubuntu: apt-get install postgresql-15-hypopg, for your major) and let the role run CREATE EXTENSION hypopg, or ask your provider to enable hypopg; on a disposable copy of the database (never production), --build scores candidates by building them instead',
      });
    }
    // Marked as dbtune's own: the next advise run leaves them out of the workload.
    await session.query('SELECT /* dbtune-advise */ hypopg_reset()');
    const plans = new GenericPlans(session);
    await plans.open();
    // Nothing here writes: statements are only planned. Belt and braces against a planner-time side effect.
    await session.query("SELECT /* dbtune-advise */ set_config('default_transaction_read_only', 'on', false)");
    return new HypoPgPlanner(session, plans);
  }

  prepare(statements: readonly PlannableStatement[]): Promise<Map<number, string>> {
    for (const s of statements) this.tablesOf.set(s.id, new Set(s.tables));
    return this.plans.prepare(statements);
  }

  /**
   * The candidates HypoPG refuses to create, with its reason: a key or predicate that is not
   * IMMUTABLE (date() of a timestamptz, say), a key too wide for a btree. Each is tried once on
   * its own; the rest are scored.
   */
  async refused(candidates: readonly Candidate[]): Promise<Map<string, string>> {
    const refused = new Map<string, string>();
    for (const c of candidates) {
      try {
        const rows = await this.session.query<{ oid: number }>('SELECT /* dbtune-advise */ indexrelid::int8 AS oid FROM hypopg_create_index($1)', [createIndexText(c)]);
        await this.session.query('SELECT /* dbtune-advise */ hypopg_drop_index($1)', [rows[0]!.oid]);
      } catch (error) {
        refused.set(c.id, pgErrorFields(error).message);
      }
    }
    return refused;
  }

  /** Remembered per statement and the indexes on the tables it reads: only those change its plan. */
  async costs(indexes: readonly Candidate[], statements: readonly number[]): Promise<Map<number, number>> {
    return this.memo.costs(indexes, statements, () => this.use(indexes), (id) => this.plans.cost(id));
  }

  /** hypopg_relation_size of each candidate, created together (one query for the sizes). */
  async sizes(indexes: readonly Candidate[]): Promise<Map<string, number>> {
    await this.use(indexes);
    const rows = await this.session.query<{ oid: number; size: string }>('SELECT h.indexrelid::int8 AS oid, hypopg_relation_size(h.indexrelid)::int8 AS size FROM hypopg() h');
    const byOid = new Map(rows.map((r) => [Number(r.oid), Number(r.size)]));
    return new Map(indexes.map((c) => [c.id, byOid.get(this.present.get(c.id)!) ?? 0]));
  }

  failures(): Map<string, string> {
    return new Map();
  }

  describe(): string {
    return `scored with HypoPG (hypothetical indexes, nothing built): ${this.memo.planned} plans`;
  }

  /** Drops every hypothetical index and prepared statement of this run. */
  async close(): Promise<void> {
    await this.session.query('SELECT hypopg_reset()');
    await this.plans.close();
    this.present.clear();
  }

  /** Makes exactly these hypothetical indexes exist. */
  private async use(indexes: readonly Candidate[]): Promise<void> {
    const wanted = new Set(indexes.map((c) => c.id));
    let changed = false;
    for (const [id, oid] of [...this.present]) {
      if (wanted.has(id)) continue;
      await this.session.query('SELECT hypopg_drop_index($1)', [oid]);
      this.present.delete(id);
      changed = true;
    }
    for (const c of indexes) {
      if (this.present.has(c.id)) continue;
      const rows = await this.session.query<{ oid: number }>('SELECT indexrelid::int8 AS oid FROM hypopg_create_index($1)', [createIndexText(c)]);
      this.present.set(c.id, Number(rows[0]!.oid));
      changed = true;
    }
    if (changed) await this.plans.discard();
  }
}
