import type { SqlSession } from '../db/client.js';
import { DbtuneError, pgErrorFields } from '../errors.js';
import { registerCleanup } from '../process/cleanups.js';
import { quoteIdent, type QualifiedName } from '../sql/identifiers.js';
import { dropBuiltIndexesSync, type CleanupConnection } from './build-cleanup.js';
import type { Candidate } from './candidates.js';
import { CostMemo } from './cost-memo.js';
import { ADVISE_MARK } from './catalog.js';
import { GenericPlans } from './generic-plan.js';
import { createIndexText } from './index-text.js';
import type { PlannableStatement, WhatIfPlanner } from './what-if.js';

/**
 * What-if costs from real indexes, for a database the user declared disposable (advise --build,
 * the demo's): each candidate needed is built with CREATE INDEX CONCURRENTLY under a name of
 * advise's own ({@link BUILD_PREFIX}), the statements' generic plans are read, and it is dropped
 * (DROP INDEX CONCURRENTLY) — always: on success, on error, on Ctrl-C (the first one cancels the
 * build and close() drops; a second one, or any other way out, runs the cleanup registered in
 * process/cleanups.ts), and a leftover of a run that was killed is dropped by the next one.
 *
 * Builds cost time on big tables, so only what a plan needs is built: a statement's plan depends
 * only on the indexes of the tables it reads, so costs are remembered per statement and set of
 * indexes on those tables, and indexes on other tables stay as they are.
 */

/** Indexes advise --build creates are named `dbtune_advise_<backend pid>_<n>`. */
export const BUILD_PREFIX = 'dbtune_advise_';
const OWN_NAME = /^dbtune_advise_(\d+)_\d+$/;

export interface BuildPlannerOptions {
  /** Opens another session on the same database: builds and drops run there, plans on the main one. */
  openSession: () => Promise<SqlSession>;
  /** Where the synchronous cleanup connects from a child process (process/cleanups.ts runs it). */
  connection: CleanupConnection;
  signal: AbortSignal;
  /** A line for stderr: leftovers of an earlier run dropped. */
  onNotice?: (line: string) => void;
}

interface Built {
  name: string;
  table: QualifiedName;
}

export class BuildPlanner implements WhatIfPlanner {
  readonly mode = 'build' as const;
  private readonly present = new Map<string, Built>();
  private readonly memo = new CostMemo((id, c) => this.reads(id, c));
  private readonly tablesOf = new Map<number, Set<string>>();
  private readonly measured = new Map<string, number>();
  private readonly failed = new Map<string, string>();
  private building: Built | undefined;
  private counter = 0;
  private builds = 0;
  private buildMs = 0;
  private readonly forget: () => void;
  private readonly onAbort: () => void;

  private constructor(
    private readonly session: SqlSession,
    private builder: SqlSession,
    private readonly plans: GenericPlans,
    private readonly options: BuildPlannerOptions,
  ) {
    // A second Ctrl-C, SIGTERM twice, an uncaught exception: the process leaves without awaiting close().
    this.forget = registerCleanup({
      what: () => `advise --build's indexes on ${options.connection.database} (${this.leftovers().map((b) => b.name).join(', ') || 'none'})`,
      run: () => {
        const names = this.leftovers();
        if (names.length) dropBuiltIndexesSync(options.connection, this.builder.pid, names);
      },
    });
    // The first Ctrl-C: cancel the running build; costs() then throws and close() drops everything.
    this.onAbort = () => void this.session.query('SELECT pg_cancel_backend($1)', [this.builder.pid]).catch(() => undefined);
    options.signal.addEventListener('abort', this.onAbort);
  }

  static async open(session: SqlSession, options: BuildPlannerOptions): Promise<BuildPlanner> {
    const builder = await options.openSession();
    try {
      // A build must not be cut by a role's statement_timeout; 14+: a build whose client died is cancelled.
      await builder.query(`SELECT ${ADVISE_MARK} set_config('statement_timeout', '0', false)`);
      if (builder.serverVersionNum >= 140000) await builder.query(`SELECT ${ADVISE_MARK} set_config('client_connection_check_interval', '1s', false)`);
      await dropLeftovers(builder, options.onNotice);
      const plans = new GenericPlans(session);
      await plans.open();
      // The planning session only plans: DDL runs on the build session.
      await session.query(`SELECT ${ADVISE_MARK} set_config('default_transaction_read_only', 'on', false)`);
      return new BuildPlanner(session, builder, plans, options);
    } catch (error) {
      await builder.close();
      throw error;
    }
  }

  async prepare(statements: readonly PlannableStatement[]): Promise<Map<number, string>> {
    for (const s of statements) this.tablesOf.set(s.id, new Set(s.tables));
    return this.plans.prepare(statements);
  }

  /** Nothing is refused up front: a candidate PostgreSQL will not build fails when built ({@link failures}). */
  async refused(): Promise<Map<string, string>> {
    return new Map();
  }

  async costs(indexes: readonly Candidate[], statements: readonly number[]): Promise<Map<number, number>> {
    const present = async (todo: readonly number[]) => {
      const tables = new Set(todo.flatMap((id) => [...(this.tablesOf.get(id) ?? [])]));
      await this.use(indexes.filter((c) => tables.has(tableKey(c.table))), tables);
    };
    return this.memo.costs(indexes, statements, present, (id) => this.plans.cost(id));
  }

  /** pg_relation_size measured right after each build. */
  async sizes(indexes: readonly Candidate[]): Promise<Map<string, number>> {
    return new Map(indexes.map((c) => [c.id, this.measured.get(c.id) ?? 0]));
  }

  failures(): Map<string, string> {
    return new Map(this.failed);
  }

  describe(): string {
    return `scored by building each candidate needed (CREATE INDEX CONCURRENTLY, then DROP INDEX CONCURRENTLY): ${this.builds} builds in ${(this.buildMs / 1000).toFixed(1)} s, ${this.memo.planned} plans`;
  }

  /** Drops every index this run built (a cancelled build's leftover included), then the prepared statements. */
  async close(): Promise<void> {
    this.options.signal.removeEventListener('abort', this.onAbort);
    try {
      if (this.builder.broken) {
        await this.builder.close().catch(() => undefined);
        this.builder = await this.options.openSession();
      }
      for (const b of this.leftovers()) await this.drop(b);
      this.building = undefined;
      await this.plans.close().catch(() => undefined);
    } finally {
      // Whatever could not be dropped here is left to the registered cleanup.
      if (!this.leftovers().length) this.forget();
      await this.builder.close();
    }
  }

  private leftovers(): Built[] {
    return [...this.present.values(), ...(this.building ? [this.building] : [])];
  }

  private reads(id: number, c: Candidate): boolean {
    return this.tablesOf.get(id)?.has(tableKey(c.table)) ?? false;
  }

  /** Makes exactly `wanted` of advise's indexes exist on `tables`; those on other tables stay. */
  private async use(wanted: readonly Candidate[], tables: ReadonlySet<string>): Promise<void> {
    const ids = new Set(wanted.map((c) => c.id));
    let changed = false;
    for (const [id, built] of [...this.present]) {
      if (ids.has(id) || !tables.has(tableKey(built.table))) continue;
      await this.drop(built);
      this.present.delete(id);
      changed = true;
    }
    for (const c of wanted) {
      if (this.present.has(c.id) || this.failed.has(c.id)) continue;
      await this.build(c);
      changed = true;
    }
    if (changed) await this.plans.discard();
  }

  private async build(c: Candidate): Promise<void> {
    if (this.options.signal.aborted) throw new DbtuneError('INTERRUPTED', 'interrupted: the indexes advise --build created are being dropped');
    const built: Built = { name: `${BUILD_PREFIX}${this.builder.pid}_${++this.counter}`, table: c.table };
    this.building = built;
    const started = performance.now();
    try {
      await this.builder.query(`${createIndexText(c, built.name)} /* dbtune-advise */`);
      this.present.set(c.id, built);
      this.building = undefined;
      this.builds++;
      const [row] = await this.builder.query<{ size: string }>(`SELECT ${ADVISE_MARK} pg_relation_size(to_regclass($1))::int8::text AS size`, [`${quoteIdent(c.table.schema)}.${quoteIdent(built.name)}`]);
      this.measured.set(c.id, Number(row?.size ?? 0));
    } catch (error) {
      // A failed or cancelled concurrent build can leave an INVALID index: dropped now (until then
      // `building` names it for close() and the registered cleanup). A failed candidate saves nothing.
      if (!this.options.signal.aborted) this.failed.set(c.id, pgErrorFields(error).message);
      await this.drop(built);
      this.building = undefined;
      if (this.options.signal.aborted) throw new DbtuneError('INTERRUPTED', 'interrupted while building a candidate index; what advise --build created was dropped', { cause: error });
    } finally {
      this.buildMs += performance.now() - started;
    }
  }

  private async drop(built: Built): Promise<void> {
    await this.builder.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(built.table.schema)}.${quoteIdent(built.name)} /* dbtune-advise */`);
    for (const [id, b] of this.present) if (b === built) this.present.delete(id);
  }
}

const tableKey = (t: QualifiedName) => `${t.schema}.${t.name}`;

/**
 * Indexes named like advise --build's whose backend is gone: a run that was killed (SIGKILL, a
 * power cut) could not drop them. One of a run still going (its backend alive) is left alone.
 */
async function dropLeftovers(builder: SqlSession, onNotice: ((line: string) => void) | undefined): Promise<void> {
  const rows = await builder.query<{ schema: string; name: string }>(
    `SELECT ${ADVISE_MARK} n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('i', 'I') AND c.relname LIKE 'dbtune\\_advise\\_%'`,
  );
  if (!rows.length) return;
  const alive = new Set((await builder.query<{ pid: number }>(`SELECT ${ADVISE_MARK} pid FROM pg_stat_activity`)).map((r) => Number(r.pid)));
  for (const r of rows) {
    const pid = OWN_NAME.exec(r.name)?.[1];
    if (pid === undefined || alive.has(Number(pid))) continue;
    await builder.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(r.schema)}.${quoteIdent(r.name)} /* dbtune-advise */`);
    onNotice?.(`dropped ${r.schema}.${r.name}, left behind by an advise --build run that was killed`);
  }
}
