import { MAX_IDENTIFIER_BYTES } from '../db/identifiers.js';
import { indexQualifiedName, type IndexDeclaration } from './declaration.js';
import { createIndexSql, dropIndexSql, renameIndexSql } from './index-sql.js';
import type { IndexState } from './index-state.js';
import type { InspectedIndex } from './inspect.js';

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
  purpose: 'create' | 'drop-leftover' | 'drop-old' | 'rename';
  sql: string;
}

export interface IndexPlan {
  declaration: IndexDeclaration;
  state: IndexState;
  action: PlannedAction;
  statements: PlannedStatement[];
  /** Name the index is built under (differs from the declared name for rebuilds). */
  buildName: string;
}

export interface PlanOptions {
  /** Rebuild drifted indexes instead of reporting them. Default false. */
  rebuildDrift?: boolean;
}

/** Decides, per index, what to do. Pure: tested by table. */
export function planIndexes(inspected: readonly InspectedIndex[], options: PlanOptions = {}): IndexPlan[] {
  return inspected.map(({ declaration, state }) => planIndex(declaration, state, options));
}

export function planIndex(declaration: IndexDeclaration, state: IndexState, options: PlanOptions = {}): IndexPlan {
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

/**
 * For `dbtune drop`: drop what is there under the declared name, but never an
 * index of that name on another table, nor a relation that is not an index.
 */
export function planDrop(declaration: IndexDeclaration, state: IndexState): IndexPlan {
  const base = { declaration, state, buildName: declaration.name };
  if (state.status === 'absent') return { ...base, action: 'none', statements: [] };
  if (state.status === 'wrong_table') return { ...base, action: 'blocked', statements: [] };
  if (state.status === 'building') return { ...base, action: 'wait', statements: [] };
  return { ...base, action: 'drop', statements: [{ purpose: 'drop-old', sql: dropIndexSql(indexQualifiedName(declaration)) }] };
}

/** `<name>_dbtune_new`, shortened so PostgreSQL does not truncate it. */
export function rebuildName(name: string): string {
  const suffix = '_dbtune_new';
  // Shorten by whole characters (code points), never half a surrogate pair.
  const chars = [...name];
  while (Buffer.byteLength(chars.join('') + suffix) > MAX_IDENTIFIER_BYTES) chars.pop();
  return chars.join('') + suffix;
}
