import { displayQualified } from '../sql/identifiers.js';
import type { PgErrorFields } from '../text/safe-error.js';
import type { BuildProgress, LiveIndex } from './live-catalog.js';
import { compareIndexes, formatDifference, type Difference } from './compare.js';
import type { IndexDeclaration } from '../model/declaration.js';

/**
 * An index has a state, not a yes/no. `CREATE INDEX CONCURRENTLY IF NOT
 * EXISTS` reports success on an `invalid` leftover; dbtune does not.
 */
export type IndexStatus =
  /** No relation of that name in the schema. */
  | 'absent'
  /** Another session is building it (pg_stat_progress_create_index). */
  | 'building'
  /** Left invalid (or not ready) by a failed or cancelled concurrent build. */
  | 'invalid'
  /** Valid, same name, different definition. */
  | 'drift'
  /** The name is taken by an index on another table, or by another kind of relation. */
  | 'wrong_table'
  /** PostgreSQL refused the declaration itself (missing table or column, bad expression…). */
  | 'rejected'
  /** Valid, ready, and matching its declaration. */
  | 'ok';

export interface IndexState {
  status: IndexStatus;
  /** One line for people: why this state. */
  reason: string;
  live?: LiveIndex;
  differences?: Difference[];
  /** `ok` only: valid and ready, but its definition could not be compared (no TEMP privilege, a standby). */
  definitionNotCompared?: true;
  progress?: BuildProgress;
  error?: PgErrorFields;
}

const RELKIND_NAMES: Record<string, string> = {
  r: 'table',
  p: 'partitioned table',
  v: 'view',
  m: 'materialized view',
  S: 'sequence',
  f: 'foreign table',
  c: 'composite type',
  t: 'TOAST table',
};

/** Decides an index's state from what the catalog says. Pure. */
export function indexState(
  declaration: IndexDeclaration,
  live: LiveIndex | undefined,
  shadow: LiveIndex | undefined,
  rejection: PgErrorFields | undefined,
): IndexState {
  if (rejection) return { status: 'rejected', reason: rejection.message, error: rejection };
  if (!live) return { status: 'absent', reason: 'does not exist' };
  if (live.relkind !== 'i' && live.relkind !== 'I') {
    return { status: 'wrong_table', live, reason: `the name is taken by a ${RELKIND_NAMES[live.relkind] ?? `relation (relkind ${live.relkind})`}` };
  }
  if (!live.table || live.table.schema !== declaration.table.schema || live.table.name !== declaration.table.name) {
    return { status: 'wrong_table', live, reason: `an index of that name exists on ${live.table ? displayQualified(live.table) : 'another table'}` };
  }
  if (live.progress) {
    const phase = live.progress.phase ?? 'in progress';
    return { status: 'building', live, progress: live.progress, reason: `being built by pid ${live.progress.pid} (${phase})` };
  }
  const valid = isValid(live);
  if (!valid && live.hiddenBuilderPid !== null) {
    return {
      status: 'building',
      live,
      reason: `not yet valid, and pid ${live.hiddenBuilderPid} is building an index on this table; which one is hidden from this role (pg_read_all_stats shows it), so it is never taken for a leftover`,
    };
  }
  if (!valid && live.tableMaintenanceLocked) {
    return { status: 'building', live, reason: 'not yet valid, and another session holds SHARE UPDATE EXCLUSIVE on the table (a concurrent build in progress?)' };
  }
  if (!valid) return { status: 'invalid', live, reason: invalidReason(live) };
  if (!shadow) return { status: 'ok', live, definitionNotCompared: true, reason: 'valid (definition not compared)' };
  const differences = compareIndexes(declaration, shadow, live);
  if (differences.length) {
    return { status: 'drift', live, differences, reason: differences.map(formatDifference).join('; ') };
  }
  return { status: 'ok', live, reason: 'valid and matches its declaration' };
}

/**
 * A partitioned index is as good as its partitions' indexes: PostgreSQL marks
 * the parent valid once every partition has a valid, attached index.
 */
function isValid(live: LiveIndex): boolean {
  if (live.relkind === 'I') {
    if (live.valid) return true;
    const p = live.partitions;
    return p !== null && p.leafTables > 0 && p.leafIndexes === p.leafTables && p.validLeafIndexes === p.leafTables;
  }
  return live.valid && live.ready && live.live;
}

function invalidReason(live: LiveIndex): string {
  if (live.relkind === 'I' && live.partitions) {
    const p = live.partitions;
    return `partitioned index not valid: ${p.validLeafIndexes} of ${p.leafTables} partitions have a valid attached index`;
  }
  if (!live.ready) return 'not ready: leftover of a concurrent build that failed or was cancelled early';
  return 'INVALID: leftover of a concurrent build that failed or was cancelled (CREATE INDEX ... IF NOT EXISTS would skip it)';
}
