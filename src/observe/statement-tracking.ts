import type { StatementTracking } from '../model/stage-database.js';

/** pg_stat_statements_info (PostgreSQL 14+): evictions since the last full reset, and when that was. */
export interface StatementsInfo {
  dealloc: number;
  /** As the server printed it: compared for equality only. */
  stats_reset: string;
}

/** What happened to this database's pg_stat_statements entries between two snapshots. */
export interface EntryChanges {
  /** Seen before, gone after. */
  removed: number;
  /** Seen before and after, but created again in between (a later stats_since, or fewer calls than before). */
  recreated: number;
}

/**
 * Tells a reset from an eviction (pure). An entry leaves pg_stat_statements in
 * two ways: evicted when pg_stat_statements.max is reached (dealloc counts
 * it), or removed by pg_stat_statements_reset(), which zeroes dealloc and
 * sets stats_reset only when it removes every entry (PostgreSQL 14+). So:
 * stats_reset changed, or dealloc went down, is a full reset; entries of this
 * database lost while dealloc did not move were removed by a reset with
 * arguments (a user, a database, a statement); dealloc went up is evictions.
 *
 * `before` must be read before the entries of the first snapshot and `after`
 * after those of the second: an eviction between the two reads then counts in
 * the stage instead of passing for a reset.
 */
export function judgeStatementTracking(
  detection: StatementTracking['detection'],
  before: StatementsInfo | undefined,
  after: StatementsInfo | undefined,
  changes: EntryChanges,
): StatementTracking {
  const { removed, recreated } = changes;
  if (detection === 'unavailable' || !before || !after) return { detection: 'unavailable', reset: false, evicted: null, removed, recreated };
  const fullReset = before.stats_reset !== after.stats_reset || after.dealloc < before.dealloc;
  if (fullReset) return { detection, reset: true, evicted: null, removed, recreated };
  const evicted = after.dealloc - before.dealloc;
  return { detection, reset: evicted === 0 && removed + recreated > 0, evicted, removed, recreated };
}

/** The note a stage carries when entries were lost, or undefined when none were (or none could be seen). */
export function trackingNote(tracking: StatementTracking): string | undefined {
  const lost = tracking.removed + tracking.recreated;
  const entries = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`;
  const recreated = tracking.recreated
    ? `; removed and created again during the stage: ${entries(tracking.recreated)} of this database, counted from the new entry (calls made before the removal are lost)`
    : '';
  if (tracking.reset) {
    const how = tracking.evicted === null ? 'all of pg_stat_statements (stats_reset changed)' : `${entries(lost)} of this database (pg_stat_statements_reset with arguments: no eviction was counted)`;
    return `RESET: pg_stat_statements was reset during the stage, ${how}: the stage's statement counts are not trustworthy, queries per request is not reported and its threshold counts as failed${recreated}`;
  }
  if (tracking.evicted) {
    const times = `${tracking.evicted} ${tracking.evicted === 1 ? 'time' : 'times'}`;
    return `pg_stat_statements evicted entries ${times} during the stage (pg_stat_statements.max reached, in any database; each time its least-used 5%), ${lost ? `${entries(lost)} of this database among them` : 'none of those seen before in this database'}: statements evicted before they were read are not counted, so counts may be low${recreated}`;
  }
  if (lost && tracking.detection === 'unavailable') {
    return `${entries(lost)} of this database left pg_stat_statements during the stage (evicted or reset: PostgreSQL 13 cannot tell which): counts may be low${recreated}`;
  }
  return undefined;
}
