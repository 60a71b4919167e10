import { withThousands } from '../../text/thousands.js';

/**
 * Whether ANALYZE after a build adds statistics the planner would not have
 * otherwise. A new index is visible to the planner at once, and column
 * statistics belong to the table's columns, not to an index: ANALYZE adds
 * something only for index expressions (PostgreSQL gathers their statistics
 * only during ANALYZE), or when the table's own statistics are missing or
 * stale by autovacuum's rule. On a big table ANALYZE reads up to 30,000
 * random pages, so it is skipped where it adds nothing.
 */

/** `never`: --no-analyze; `when-useful`: the default; `always`: --always-analyze. */
export type AnalyzeMode = 'never' | 'when-useful' | 'always';

/** What the catalog says about one table's statistics, before any build (table-statistics.ts). */
export interface TableStatistics {
  /** relkind 'p': autovacuum never analyzes it, and PostgreSQL keeps no change count for it. */
  partitioned: boolean;
  /** `pg_class.reltuples`; -1 (PostgreSQL 14+) or 0 when never vacuumed or analyzed. */
  reltuples: number;
  /** The `pg_stat_all_tables` row; absent when the view has none for the table (PostgreSQL 13 has none for partitioned tables). */
  activity?: {
    modsSinceAnalyze: number;
    analyzed: boolean;
    autoanalyzed: boolean;
  };
  /** The server's `autovacuum_analyze_threshold` and `autovacuum_analyze_scale_factor`. */
  server: AutoanalyzeSettings;
  /** The table's own reloptions of the same names, when set: they override the server's. */
  table: Partial<AutoanalyzeSettings>;
}

export interface AutoanalyzeSettings {
  threshold: number;
  scaleFactor: number;
}

export interface AnalyzeNeed {
  analyze: boolean;
  reason: string;
}

/**
 * What happens to a table that got an index: nothing to report with
 * --no-analyze, ANALYZE with --always-analyze, else {@link analyzeNeed}.
 */
export function analyzeDecision(mode: AnalyzeMode, statistics: TableStatistics | undefined, expressionBuilt: boolean): AnalyzeNeed | undefined {
  if (mode === 'never') return undefined;
  if (mode === 'always') return { analyze: true, reason: 'always (--always-analyze)' };
  return analyzeNeed(statistics, expressionBuilt);
}

/**
 * The decision for one table in the default mode. `statistics` is undefined
 * when the catalog query found no row for the table (or failed): then ANALYZE
 * runs, since nothing shows that it would add nothing.
 */
export function analyzeNeed(statistics: TableStatistics | undefined, expressionBuilt: boolean): AnalyzeNeed {
  if (expressionBuilt) return { analyze: true, reason: 'an expression index: PostgreSQL gathers statistics on index expressions only during ANALYZE' };
  if (!statistics) return { analyze: true, reason: 'statistics could not be read' };
  const activity = statistics.activity;
  if (!activity) return { analyze: true, reason: 'statistics could not be read (no row for it in pg_stat_all_tables)' };
  // Autovacuum never analyzes a partitioned table: only a manual ANALYZE counts.
  if (!activity.analyzed && (statistics.partitioned || !activity.autoanalyzed)) return { analyze: true, reason: 'never analyzed' };
  if (statistics.partitioned) {
    return { analyze: true, reason: 'a partitioned table: PostgreSQL counts no changes for it, so whether its statistics are current cannot be told' };
  }
  const limit = autoanalyzeLimit(statistics);
  const changes = `${count(activity.modsSinceAnalyze)} ${activity.modsSinceAnalyze === 1 ? 'change' : 'changes'} since the last analyze`;
  // Autovacuum's own test (relation_needs_vacanalyze): changes > threshold + scale factor × reltuples.
  if (activity.modsSinceAnalyze > limit) return { analyze: true, reason: `statistics stale: ${changes} (autovacuum analyzes after ${count(limit)})` };
  return { analyze: false, reason: `statistics current: ${changes} (autovacuum analyzes after ${count(limit)}); plain-column indexes add no statistics` };
}

/**
 * Autovacuum's threshold for the table, rounded down: the change count is a
 * whole number, so "more than the threshold" and "more than its floor" agree.
 */
export function autoanalyzeLimit(statistics: Pick<TableStatistics, 'reltuples' | 'server' | 'table'>): number {
  const threshold = statistics.table.threshold ?? statistics.server.threshold;
  const scaleFactor = statistics.table.scaleFactor ?? statistics.server.scaleFactor;
  // A table never vacuumed or analyzed has reltuples -1 (14+); autovacuum counts it as 0.
  const reltuples = Math.max(0, statistics.reltuples);
  // In single precision, as autovacuum computes it: 50 + 0.57 × 100 is 57 there, 56.99… in doubles.
  const f = Math.fround;
  return Math.floor(f(f(threshold) + f(f(scaleFactor) * f(reltuples))));
}

function count(n: number): string {
  return withThousands(n);
}
