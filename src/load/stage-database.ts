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

export interface StageDatabase {
  /** Where queries_per_request came from. */
  source: 'pg_stat_statements' | 'pg_stat_database';
  /** Statements (pg_stat_statements, transaction control and SET/SHOW left out) or transactions per HTTP request. */
  queries_per_request: number | null;
  /**
   * The stage sent requests but this database saw none of their work (no
   * statements, or no transactions, but dbtune's own): most likely not the
   * database the API uses. Every database threshold then fails as "no data".
   */
  no_data: boolean;
  queries: number;
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
  tables: TableActivity[];
  indexes: IndexUse[];
  notes: string[];
}

/** Names (`schema.table`) of every user table the statistics know, to tell "no scans" from "no such table". */
export type KnownTables = ReadonlySet<string>;
