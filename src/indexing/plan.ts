import type { QualifiedName } from '../sql/identifiers.js';
import { rebuildName } from './rebuild-name.js';
export { rebuildName } from './rebuild-name.js';
import { planPartitionedBuild, type PartitionChild } from './partitions.js';
import { indexQualifiedName, type IndexDeclaration } from '../model/declaration.js';
import { createIndexSql, dropIndexSql, renameIndexSql } from './index-sql.js';
import type { IndexState } from './index-state.js';
import type { InspectedIndex } from './inspect.js';
import type { LiveIndex } from './live-catalog.js';

/** What `apply` will do about one index. */
export type PlannedAction =
  /** Absent: build it. */
  | 'create'
  /** Invalid leftover: drop it concurrently, then build it. */
  | 'repair'
  /** Drift, and rebuilding was asked for: build under a temporary name, drop the old one, rename. */
  | 'rebuild'
  /** Already valid and matching. */
  | 'none'
  /** Drift, left untouched (a failure unless --rebuild-drift). */
  | 'drift'
  /** Another session is building it. */
  | 'wait'
  /** Cannot be built: name taken, or PostgreSQL refused the declaration. */
  | 'blocked'
  /** `dbtune drop`: remove it concurrently. */
  | 'drop';

/** One statement of a plan; each runs alone, outside any transaction. */
export interface PlannedStatement {
  purpose: 'create' | 'drop-leftover' | 'drop-old' | 'rename' | 'create-parent' | 'attach';
  sql: string;
  /** The index a `create` builds, when not the plan's `buildName` (partitions); its leftover is dropped on failure. */
  builds?: QualifiedName;
  /**
   * Takes a lock that would queue writers behind it while it waits (ON ONLY,
   * ATTACH PARTITION, dropping a partitioned index): runs under a short
   * lock_timeout so it fails fast instead of stalling the table.
   */
  briefLock?: boolean;
}

export interface IndexPlan {
  declaration: IndexDeclaration;
  state: IndexState;
  action: PlannedAction;
  statements: PlannedStatement[];
  /** Name the index is built under (differs from the declared name for rebuilds). */
  buildName: string;
  /** Why the plan is `blocked` or `drift` when that is not the state's own reason. */
  note?: string;
}

export interface PlanOptions {
  /** Rebuild drifted indexes instead of reporting them. Default false. */
  rebuildDrift?: boolean;
}

/** Decides, per index, what to do. Pure: tested by table. */
export function planIndexes(inspected: readonly InspectedIndex[], options: PlanOptions = {}): IndexPlan[] {
  return inspected.map(({ declaration, state, partitions, rebuildLeftover, rebuildLeftoverUsable }) =>
    withRebuildLeftover(planIndex(declaration, state, options, partitions), rebuildLeftover, rebuildLeftoverUsable ?? false),
  );
}

/**
 * The copy an interrupted `--rebuild-drift` left behind (`<name>_dbtune_new`).
 * Valid and matching the declaration, it is the finished rebuild: the swap is
 * completed (drop the drifted index if any, rename the copy) rather than built
 * again. Otherwise it is an extra index every write pays for: drop it first,
 * whatever else is done.
 */
function withRebuildLeftover(plan: IndexPlan, leftover: LiveIndex | undefined, usable: boolean): IndexPlan {
  if (!leftover || plan.action === 'blocked' || plan.action === 'wait') return plan;
  const schema = plan.declaration.table.schema;
  const rename: PlannedStatement = { purpose: 'rename', sql: renameIndexSql({ schema, name: leftover.name }, plan.declaration.name) };
  const finishing = `finished the swap of an interrupted rebuild: ${leftover.name}, valid and matching, took the declared name`;
  if (usable && plan.state.status === 'absent') {
    return { ...plan, action: 'repair', statements: [rename], note: finishing };
  }
  if (usable && plan.state.status === 'invalid') {
    // Stopped while dropping the drifted index (DROP INDEX CONCURRENTLY leaves it invalid): finish with the copy.
    return { ...plan, action: 'repair', statements: [{ purpose: 'drop-leftover', sql: dropIndexSql(indexQualifiedName(plan.declaration)) }, rename], note: finishing };
  }
  if (usable && plan.action === 'rebuild') {
    const dropOld: PlannedStatement = { purpose: 'drop-old', sql: dropIndexSql(indexQualifiedName(plan.declaration)) };
    return { ...plan, action: 'repair', statements: [dropOld, rename], note: finishing };
  }
  if (plan.action === 'rebuild') return plan;
  const drop: PlannedStatement = { purpose: 'drop-leftover', sql: dropIndexSql({ schema, name: leftover.name }) };
  if (plan.action === 'drift') {
    const copy = usable ? `${leftover.name} is a valid copy that matches the declaration, left by an interrupted rebuild: --rebuild-drift finishes the swap with it` : `${leftover.name} is the copy an interrupted rebuild left`;
    return { ...plan, note: `${plan.note ?? `${plan.state.reason} (left untouched; --rebuild-drift rebuilds it)`}; ${copy}` };
  }
  if (plan.action === 'none') {
    return { ...plan, action: 'repair', statements: [drop], note: `dropped ${leftover.name}, left by an interrupted rebuild` };
  }
  return { ...plan, statements: [drop, ...plan.statements] };
}

/**
 * @param partitions for an index on a partitioned table: the partitions that
 * still need their index built or attached (see partitions.ts).
 */
export function planIndex(declaration: IndexDeclaration, state: IndexState, options: PlanOptions = {}, partitions?: readonly PartitionChild[]): IndexPlan {
  if (partitions && (state.status === 'absent' || state.status === 'invalid' || state.status === 'drift')) {
    return planPartitioned(declaration, state, options, partitions);
  }
  const name = indexQualifiedName(declaration);
  const create = (buildName = declaration.name): PlannedStatement => ({
    purpose: 'create',
    sql: createIndexSql(declaration, { concurrently: true, name: buildName }),
  });
  const base = { declaration, state, buildName: declaration.name };
  switch (state.status) {
    case 'absent':
      return { ...base, action: 'create', statements: [create()] };
    case 'invalid':
      return { ...base, action: 'repair', statements: [{ purpose: 'drop-leftover', sql: dropIndexSql(name) }, create()] };
    case 'drift': {
      if (!options.rebuildDrift) return { ...base, action: 'drift', statements: [] };
      if (state.live?.backsConstraint) {
        // Dropping it would need the constraint dropped too: not something to do behind a flag.
        return { ...base, action: 'drift', statements: [], note: `${state.reason}; it backs a constraint, so dbtune will not rebuild it: use ALTER TABLE … ADD CONSTRAINT … USING INDEX with a new index` };
      }
      const temporary = rebuildName(declaration.name);
      return {
        ...base,
        action: 'rebuild',
        buildName: temporary,
        statements: [
          { purpose: 'drop-leftover', sql: dropIndexSql({ schema: name.schema, name: temporary }) },
          create(temporary),
          { purpose: 'drop-old', sql: dropIndexSql(name) },
          { purpose: 'rename', sql: renameIndexSql({ schema: name.schema, name: temporary }, declaration.name) },
        ],
      };
    }
    case 'ok':
      return { ...base, action: 'none', statements: [] };
    case 'building':
      return { ...base, action: 'wait', statements: [] };
    case 'wrong_table':
    case 'rejected':
      return { ...base, action: 'blocked', statements: [] };
  }
}

function planPartitioned(declaration: IndexDeclaration, state: IndexState, options: PlanOptions, partitions: readonly PartitionChild[]): IndexPlan {
  const base = { declaration, state, buildName: declaration.name };
  if (state.status === 'drift') {
    const note = options.rebuildDrift
      ? `${state.reason}; a partitioned index cannot be rebuilt without locking the table (DROP INDEX on it is not concurrent): left untouched`
      : `${state.reason} (left untouched; --rebuild-drift rebuilds it)`;
    return { ...base, action: 'drift', statements: [], note };
  }
  const built = planPartitionedBuild(declaration, state.status !== 'absent', partitions);
  if (!built.ok) return { ...base, action: 'blocked', statements: [], note: built.reason };
  return { ...base, action: state.status === 'absent' ? 'create' : 'repair', statements: built.statements };
}

/**
 * For `dbtune drop`: drop what is there under the declared name, but never an
 * index of that name on another table, nor a relation that is not an index.
 */
export function planDrop(declaration: IndexDeclaration, state: IndexState, rebuildLeftover?: LiveIndex): IndexPlan {
  const plan = planDropDeclared(declaration, state);
  // The copy an interrupted rebuild left is part of the rollback too (never one on another table: the caller checks).
  if (!rebuildLeftover || plan.action === 'blocked' || plan.action === 'wait') return plan;
  const drop: PlannedStatement = { purpose: 'drop-leftover', sql: dropIndexSql({ schema: declaration.table.schema, name: rebuildLeftover.name }) };
  return { ...plan, action: 'drop', statements: [drop, ...plan.statements], note: `also dropped ${rebuildLeftover.name}, left by an interrupted rebuild` };
}

function planDropDeclared(declaration: IndexDeclaration, state: IndexState): IndexPlan {
  const base = { declaration, state, buildName: declaration.name };
  if (state.status === 'absent') return { ...base, action: 'none', statements: [] };
  if (state.status === 'wrong_table') return { ...base, action: 'blocked', statements: [] };
  if (state.status === 'building') return { ...base, action: 'wait', statements: [] };
  if (state.live?.relkind === 'I') {
    // DROP INDEX CONCURRENTLY refuses partitioned indexes: a plain drop (catalog-only, brief exclusive lock).
    return { ...base, action: 'drop', statements: [{ purpose: 'drop-old', sql: dropIndexSql(indexQualifiedName(declaration), false), briefLock: true }] };
  }
  return { ...base, action: 'drop', statements: [{ purpose: 'drop-old', sql: dropIndexSql(indexQualifiedName(declaration)) }] };
}

