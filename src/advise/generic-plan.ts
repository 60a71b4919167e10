import type { SqlSession } from '../db/client.js';
import { pgErrorFields } from '../errors.js';
import { ADVISE_MARK } from './catalog.js';
import type { PlannableStatement } from './what-if.js';

/**
 * Each statement's generic plan cost: the plan an application's prepared statement gets, which
 * needs no parameter values. A prepared statement, EXPLAIN EXECUTE with NULLs under
 * plan_cache_mode = force_generic_plan, on every major.
 *
 * Not 16's EXPLAIN (GENERIC_PLAN): dbtune sends every statement with the extended protocol
 * (db/client.ts), where the $n of the explained query become the Bind message's parameters —
 * none supplied is refused ("bind message supplies 0 parameters"), NULLs supplied are planned as
 * constants (measured on 18.1). A prepared statement plans the same way without them.
 *
 * A cached generic plan is not invalidated when hypothetical (HypoPG) indexes change — hypopg
 * 1.3.1 on 15 keeps the old plan, and after hypopg_drop_index fails with "cache lookup failed
 * for index" — so callers run {@link GenericPlans.discard} (DISCARD PLANS) after every change.
 */
export class GenericPlans {
  private readonly prepared = new Map<number, { name: string; paramCount: number }>();
  private static counter = 0;

  constructor(private readonly session: SqlSession) {}

  async open(): Promise<void> {
    await this.session.query(`SELECT ${ADVISE_MARK} set_config('plan_cache_mode', 'force_generic_plan', false)`);
  }

  /** Prepares each statement once; the ones PostgreSQL refuses to plan come back with the error. */
  async prepare(statements: readonly PlannableStatement[]): Promise<Map<number, string>> {
    const failures = new Map<number, string>();
    for (const s of statements) {
      const name = `dbtune_advise_${process.pid}_${++GenericPlans.counter}`;
      try {
        await this.session.query(`PREPARE ${name} AS ${s.query}`);
        this.prepared.set(s.id, { name, paramCount: s.paramCount });
      } catch (error) {
        failures.set(s.id, pgErrorFields(error).message);
      }
    }
    return failures;
  }

  /** Forgets cached plans: after every index change. */
  async discard(): Promise<void> {
    await this.session.query('DISCARD PLANS');
  }

  /** The statement's generic-plan total cost as things are now. */
  async cost(id: number): Promise<number> {
    const p = this.prepared.get(id);
    if (!p) throw new Error(`internal: statement ${id} was not prepared`);
    const args = p.paramCount ? `(${Array.from({ length: p.paramCount }, () => 'NULL').join(', ')})` : '';
    const rows = await this.session.query<{ 'QUERY PLAN': Array<{ Plan: { 'Total Cost': number } }> }>(`EXPLAIN (FORMAT JSON) EXECUTE ${p.name}${args}`);
    return rows[0]!['QUERY PLAN'][0]!.Plan['Total Cost'];
  }

  async close(): Promise<void> {
    for (const { name } of this.prepared.values()) await this.session.query(`DEALLOCATE ${name}`).catch(() => undefined);
    this.prepared.clear();
  }
}
