import type { SqlSession } from '../db/client.js';
import { DbtuneError, pgErrorFields } from '../errors.js';
import type { Candidate } from './candidates.js';
import { createIndexText } from './index-text.js';
import type { WhatIfPlanner } from './select.js';

/**
 * What-if costs from HypoPG: hypothetical indexes, and each statement's generic plan through a
 * prepared statement under plan_cache_mode = force_generic_plan (the plan an application's
 * prepared statement gets; it needs no parameter values). One path for every major: 16's
 * EXPLAIN (GENERIC_PLAN) plans the same way.
 *
 * hypopg 1.3.1 on PostgreSQL 15: a cached generic plan is not invalidated when hypothetical
 * indexes change — it keeps the old plan, and after hypopg_drop_index/hypopg_reset fails with
 * "cache lookup failed for index" — hence DISCARD PLANS after every change.
 */

export interface PlannableStatement {
  id: number;
  query: string;
  paramCount: number;
}

export class HypoPgPlanner implements WhatIfPlanner {
  private readonly present = new Map<string, number>();
  private readonly names = new Map<number, { name: string; paramCount: number }>();
  private readonly memo = new Map<string, number>();
  private static counter = 0;

  private constructor(private readonly session: SqlSession) {}

  /** Loads hypopg (CREATE EXTENSION IF NOT EXISTS) and prepares the session; SERVER_UNSUPPORTED when it cannot. */
  static async open(session: SqlSession): Promise<HypoPgPlanner> {
    try {
      await session.query('CREATE EXTENSION IF NOT EXISTS hypopg');
    } catch (error) {
      const e = pgErrorFields(error);
      throw new DbtuneError('SERVER_UNSUPPORTED', `dbtune advise needs the HypoPG extension to score indexes, and CREATE EXTENSION hypopg failed: ${e.message}`, {
        hint: 'install it on the server (Debian/Ubuntu: apt-get install postgresql-15-hypopg, for your major) and let the role run CREATE EXTENSION hypopg, or ask your provider to enable hypopg',
        cause: error,
      });
    }
    // Marked as dbtune's own: the next advise run leaves them out of the workload.
    await session.query('SELECT /* dbtune-advise */ hypopg_reset()');
    await session.query("SELECT /* dbtune-advise */ set_config('plan_cache_mode', 'force_generic_plan', false)");
    // Nothing here writes: statements are only planned. Belt and braces against a planner-time side effect.
    await session.query("SELECT /* dbtune-advise */ set_config('default_transaction_read_only', 'on', false)");
    return new HypoPgPlanner(session);
  }

  /** Prepares each statement once; the ones PostgreSQL refuses to plan come back with the error. */
  async prepare(statements: readonly PlannableStatement[]): Promise<Map<number, string>> {
    const failures = new Map<number, string>();
    for (const s of statements) {
      const name = `dbtune_advise_${process.pid}_${++HypoPgPlanner.counter}`;
      try {
        await this.session.query(`PREPARE ${name} AS ${s.query}`);
        this.names.set(s.id, { name, paramCount: s.paramCount });
      } catch (error) {
        failures.set(s.id, pgErrorFields(error).message);
      }
    }
    return failures;
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

  async costs(indexes: readonly Candidate[], statements: readonly number[]): Promise<Map<number, number>> {
    const setKey = indexes.map((c) => c.id).sort().join('\u0000');
    const out = new Map<number, number>();
    const todo = statements.filter((id) => {
      const hit = this.memo.get(`${setKey}\u0001${id}`);
      if (hit !== undefined) out.set(id, hit);
      return hit === undefined;
    });
    if (!todo.length) return out;
    await this.use(indexes);
    for (const id of todo) {
      const cost = await this.cost(id);
      this.memo.set(`${setKey}\u0001${id}`, cost);
      out.set(id, cost);
    }
    return out;
  }

  /** hypopg_relation_size of each candidate, created together (one query for the sizes). */
  async sizes(indexes: readonly Candidate[]): Promise<Map<string, number>> {
    await this.use(indexes);
    const rows = await this.session.query<{ oid: number; size: string }>('SELECT h.indexrelid::int8 AS oid, hypopg_relation_size(h.indexrelid)::int8 AS size FROM hypopg() h');
    const byOid = new Map(rows.map((r) => [Number(r.oid), Number(r.size)]));
    return new Map(indexes.map((c) => [c.id, byOid.get(this.present.get(c.id)!) ?? 0]));
  }

  /** Drops every hypothetical index and prepared statement of this run. */
  async close(): Promise<void> {
    await this.session.query('SELECT hypopg_reset()');
    for (const { name } of this.names.values()) await this.session.query(`DEALLOCATE ${name}`).catch(() => undefined);
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
    if (changed) await this.session.query('DISCARD PLANS');
  }

  private async cost(id: number): Promise<number> {
    const prepared = this.names.get(id);
    if (!prepared) throw new Error(`internal: statement ${id} was not prepared`);
    const args = prepared.paramCount ? `(${Array.from({ length: prepared.paramCount }, () => 'NULL').join(', ')})` : '';
    const rows = await this.session.query<{ 'QUERY PLAN': Array<{ Plan: { 'Total Cost': number } }> }>(`EXPLAIN (FORMAT JSON) EXECUTE ${prepared.name}${args}`);
    return rows[0]!['QUERY PLAN'][0]!.Plan['Total Cost'];
  }
}
