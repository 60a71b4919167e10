import type { SqlSession } from '../db/client.js';
import { sleep } from '../time/sleep.js';
import type { ThresholdResult } from '../model/load-result.js';
import { evaluateDatabaseThresholds, type DatabaseThresholds } from './database-thresholds.js';
import { describeStage } from './stage-diff.js';
import type { StageDatabase } from '../model/stage-database.js';
import { detect, marked, readSnapshot, resolveRoles, type Capabilities, type Sample, type Snapshot, type WatchedIndex } from './watch-queries.js';

export type { DatabaseThresholds } from './database-thresholds.js';
export type { WatchedIndex } from './watch-queries.js';

/**
 * What PostgreSQL saw during each stage: a snapshot of the statistics views
 * before and after the stage (each one statement, so each reads fresh
 * statistics: a stats snapshot lives until its transaction ends) and
 * pg_stat_activity sampled during it.
 *
 * Queries per HTTP request come from pg_stat_statements call deltas when the
 * extension is installed in the database (no reset: snapshots are diffed),
 * else from pg_stat_database transaction counts (each autocommit statement is
 * one transaction). dbtune's own statements carry a `dbtune-watch` comment and
 * are left out of the first, and subtracted (it counts them) from the second.
 * Statements are counted per role (pg_stat_statements.userid): every role's,
 * or only those of `database.roles`; each stage names the roles it saw.
 *
 * Lost entries: pg_stat_statements_info (14+) tells a reset from evictions,
 * and stats_since (17+) an entry removed and created again during a stage
 * (statement-tracking.ts). Both are read in the snapshot statement itself.
 *
 * Statistics lag: pg_stat_statements is updated as each statement ends, with
 * no lag. The other views are not: a busy backend flushes its counters at most
 * once a second (PostgreSQL 15+) or every 500 ms (13–14), and what it has not
 * flushed when it goes idle waits 10 s (15+) or until its next transaction
 * (13–14). The command waits accordingly after each stage (settleTime).
 *
 * The statements are in watch-queries.ts, the arithmetic of a stage in stage-diff.ts.
 */

const SAMPLE_INTERVAL_MS = 500;

export class DatabaseWatch {
  private ownStatements = 0;
  private before: Snapshot | undefined;
  private samples: Sample[][] = [];
  /** Never rejects: a failed sample ends sampling and is reported with the stage. */
  private sampling: Promise<void> | undefined;
  private samplingError: string | undefined;
  private stopSampling = false;

  private constructor(
    private readonly session: SqlSession,
    private readonly capabilities: Capabilities,
    private readonly indexes: readonly WatchedIndex[],
    private readonly thresholds: DatabaseThresholds,
    /** Oids (as text) of the roles whose statements count, by name; undefined: every role's. */
    private readonly roles: ReadonlyMap<string, string> | undefined,
  ) {}

  /**
   * Connects checks (exit 3 before any load when the database is unreachable) and learns what the server offers.
   * `roles` (database.roles) restricts counting to those roles' statements; a name no role has is exit 2.
   */
  static async start(session: SqlSession, indexes: readonly WatchedIndex[], thresholds: DatabaseThresholds = {}, roles: readonly string[] = []): Promise<DatabaseWatch> {
    const counted = roles.length ? await resolveRoles(session, roles) : undefined;
    const capabilities = await detect(session);
    if (counted && !capabilities.statements) {
      capabilities.notes.push(`database.roles (${roles.join(', ')}) cannot be applied without pg_stat_statements: transactions of every role are counted`);
    }
    return new DatabaseWatch(session, capabilities, indexes, thresholds, counted);
  }

  get notes(): string[] {
    return this.capabilities.notes;
  }

  /** Whether queries are counted from pg_stat_statements (else transactions, from pg_stat_database). */
  get countsStatements(): boolean {
    return this.capabilities.statements !== undefined;
  }

  /**
   * Snapshot, then sample until afterStage. `settleMs` first when load that is
   * not measured (warm-up, a ramp) just ran, so that its counters are flushed
   * before the snapshot instead of counting in the stage.
   */
  async beforeStage(settleMs = 0, signal?: AbortSignal): Promise<void> {
    if (settleMs > 0) await sleep(settleMs, signal);
    this.samplingError = undefined;
    this.before = await this.snapshot();
    this.samples = [];
    this.stopSampling = false;
    this.sampling = this.sampleLoop();
  }

  async afterStage(httpRequests: number, settleMs: number, signal?: AbortSignal): Promise<{ database: StageDatabase; thresholds: ThresholdResult[] }> {
    await this.stopSamplingLoop();
    // Let the application's sessions, now idle, flush their statistics (cut short by Ctrl-C).
    await sleep(settleMs, signal);
    const after = await this.snapshot();
    const database = await describeStage({
      before: this.before!,
      after,
      samples: this.samples,
      httpRequests,
      capabilities: this.capabilities,
      roles: this.roles,
      indexes: this.indexes,
      statementTexts: (queryids) => this.statementTexts(queryids),
    });
    if (this.samplingError) database.notes.push(`sampling pg_stat_activity stopped early: ${this.samplingError}`);
    const known = new Set(after.tables.map((t) => `${t.schemaname}.${t.relname}`));
    return { database, thresholds: evaluateDatabaseThresholds(this.thresholds, database, known) };
  }

  async close(): Promise<void> {
    await this.stopSamplingLoop();
    await this.session.close();
  }

  private async stopSamplingLoop(): Promise<void> {
    this.stopSampling = true;
    await this.sampling;
    this.sampling = undefined;
  }

  private async query<R extends object>(sql: string, params?: unknown[]): Promise<R[]> {
    this.ownStatements++;
    return this.session.query<R>(marked(sql), params);
  }

  private async sampleLoop(): Promise<void> {
    try {
      await this.sampleUntilStopped();
    } catch (error) {
      this.samplingError = (error as Error).message;
    }
  }

  private async sampleUntilStopped(): Promise<void> {
    while (!this.stopSampling) {
      const rows = await this.query<Sample>(
        `SELECT coalesce(state, 'unknown') AS state, wait_event_type, wait_event, count(*)::int AS n
           FROM pg_stat_activity
          -- Without pg_read_all_stats, other roles' sessions show no backend_type (nor state).
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND coalesce(backend_type, 'client backend') = 'client backend'
          GROUP BY 1, 2, 3`,
      );
      this.samples.push(rows);
      const until = Date.now() + SAMPLE_INTERVAL_MS;
      while (!this.stopSampling && Date.now() < until) await sleep(Math.min(50, until - Date.now()));
    }
  }

  private snapshot(): Promise<Snapshot> {
    return readSnapshot((sql, params) => this.query(sql, params), this.capabilities, this.indexes, () => this.ownStatements);
  }

  private async statementTexts(queryids: string[]): Promise<Map<string, string>> {
    if (!queryids.length || !this.capabilities.statements) return new Map();
    const rows = await this.query<{ queryid: string; query: string | null }>(
      `SELECT DISTINCT ON (s.queryid) s.queryid::text AS queryid, coalesce(s.query, '<insufficient privilege>') AS query
         FROM ${this.capabilities.statements}(true) s
        WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.queryid = ANY($1::bigint[])`,
      [queryids],
    );
    return new Map(rows.map((r) => [r.queryid, r.query ?? '<insufficient privilege>']));
  }
}

