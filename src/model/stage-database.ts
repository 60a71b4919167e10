/** What the database watch reports for one stage: part of the saved load result. */

export interface TopStatement {
  query: string;
  calls: number;
  calls_per_request: number;
  total_ms: number;
  mean_ms: number;
  /** Time reading and writing blocks (track_io_timing), ms; absent when the server does not track it. */
  io_ms?: number;
}

/** A statement the watched database ran during a stage: the workload `dbtune advise --from` reads. */
export interface WatchedStatement {
  /** As the top statements' (constants as `$n`, comments dropped, control characters stripped), but never shortened. */
  query: string;
  calls: number;
  total_ms: number;
}

export interface TableActivity {
  table: string;
  seq_scans: number;
  seq_rows_read: number;
  index_scans: number;
  index_rows_fetched: number;
}

export interface IndexUse {
  index: string;
  table: string;
  /** idx_scan delta over the stage. */
  scans: number;
  used: boolean;
  exists: boolean;
}

/** One role's statements in the watched database during a stage (pg_stat_statements.userid, by name). */
export interface RoleStatements {
  role: string;
  /** Statements of this role in the stage (transaction control and SET/SHOW left out, dbtune's own too). */
  statements: number;
  /** Whether they count toward queries per request: every role's do, unless `database.roles` names the API's. */
  counted: boolean;
}

/**
 * Whether pg_stat_statements lost entries during the stage.
 * Detection needs pg_stat_statements_info (PostgreSQL 14+) for resets and
 * evictions, and each entry's `stats_since` (17+) for an entry removed and
 * created again within the stage.
 */
export interface StatementTracking {
  /**
   * `entries`: dealloc, stats_reset and per-entry stats_since (17+);
   * `global`: dealloc and stats_reset only (14–16); `unavailable`: PostgreSQL 13
   * (no pg_stat_statements_info): lost entries are seen only when a count shrank.
   */
  detection: 'entries' | 'global' | 'unavailable';
  /**
   * pg_stat_statements was reset during the stage: all of it (stats_reset
   * changed), or entries of this database removed without an eviction
   * (pg_stat_statements_reset with arguments). The stage's statement counts
   * are not trustworthy: queries_per_request is null and its threshold fails.
   */
  reset: boolean;
  /** Times pg_stat_statements evicted its least-used entries (pg_stat_statements.max reached, any database) during the stage: the dealloc delta; null when unknown. */
  evicted: number | null;
  /** Entries of this database seen before the stage and gone after it. */
  removed: number;
  /** Entries of this database removed and created again during the stage (a later stats_since; 17+, else a shrunken count): counted from their new entry. */
  recreated: number;
}

export interface StageDatabase {
  /** Where queries_per_request came from. */
  source: 'pg_stat_statements' | 'pg_stat_database';
  /**
   * Statements (pg_stat_statements, transaction control and SET/SHOW left out;
   * of the `database.roles` when given, else of every role) or transactions
   * per HTTP request. Null without requests, or when pg_stat_statements was
   * reset during the stage.
   */
  queries_per_request: number | null;
  /**
   * The stage sent requests but this database saw none of their work (no
   * statements, or no transactions, but dbtune's own): most likely not the
   * database the API uses. Every database threshold then fails as "no data".
   */
  no_data: boolean;
  queries: number;
  /**
   * Whose statements the watched database ran during the stage, by role, most
   * first (pg_stat_statements only; absent in results saved before it was
   * recorded). Roles not counted are left out of queries and the top statements.
   */
  roles?: RoleStatements[];
  /** What pg_stat_statements says about lost entries during the stage (pg_stat_statements only). */
  statement_tracking?: StatementTracking;
  transactions: number;
  rollbacks: number;
  connections_peak: number;
  connections_mean: number;
  /** Peak and mean sessions by state (active, idle, idle in transaction, …) over the samples. */
  connections_by_state: Record<string, { peak: number; mean: number }>;
  /** Wait events seen (`type:event`) and in how many samples. */
  wait_events: Record<string, number>;
  samples: number;
  cache_hit_ratio: number | null;
  temp_bytes: number;
  deadlocks: number;
  top_statements: TopStatement[];
  top_statements_by_time: TopStatement[];
  /**
   * Every statement counted in the stage, most total time first, at most {@link WATCHED_STATEMENTS}
   * (pg_stat_statements only; absent in results saved before it was recorded).
   */
  statements?: WatchedStatement[];
  tables: TableActivity[];
  indexes: IndexUse[];
  notes: string[];
}

/** How many statements a stage keeps in `statements`. */
export const WATCHED_STATEMENTS = 100;

/** Names (`schema.table`) of every user table the statistics know, to tell "no scans" from "no such table". */
export type KnownTables = ReadonlySet<string>;

/** A stage whose database watch failed: its load figures stand; this says why it has no database figures. */
export interface StageDatabaseFailure {
  error: string;
}

/** What a watched stage carries: the figures, or why there are none. */
export type StageDatabaseOutcome = StageDatabase | StageDatabaseFailure;

/** The stage's database figures; undefined when it was not watched or the watch failed. */
export function stageDatabase(stage: { database?: StageDatabaseOutcome }): StageDatabase | undefined {
  const db = stage.database;
  return db && !('error' in db) ? db : undefined;
}
