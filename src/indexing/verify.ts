import { qualifiedKey, type QualifiedName } from '../sql/identifiers.js';
import type { LiveIndex, LiveIndexColumn, LiveTable } from './live-catalog.js';
import type { Difference } from './compare.js';
import { indexKey, tableKey, type IndexDeclaration } from '../model/declaration.js';
import type { IndexState } from './index-state.js';
import type { InspectedIndex } from './inspect.js';

/** What `dbtune verify` says of one declared index. */
/** `unverified`: valid and ready, but its definition was not compared (no TEMP privilege, a standby); fails under --strict. */
export type VerifyStatus = 'ok' | 'unverified' | 'missing' | 'invalid' | 'building' | 'drift' | 'wrong_table';

export interface VerifiedIndex {
  declaration: IndexDeclaration;
  status: VerifyStatus;
  reason: string;
  differences?: Difference[];
}

/** `--strict`: an index that a managed one makes unnecessary, or two identical indexes. */
export interface RedundancyFinding {
  kind: 'redundant' | 'duplicate';
  index: QualifiedName;
  table: QualifiedName;
  /** The managed index that makes it unnecessary (or that it duplicates). */
  coveredBy: QualifiedName;
  /** Whether `index` is itself declared in the sets. */
  managed: boolean;
  reason: string;
}

/** Maps an index's state to verify's vocabulary. Pure. */
export function verifyIndex(declaration: IndexDeclaration, state: IndexState): VerifiedIndex {
  const base = { declaration, reason: state.reason };
  switch (state.status) {
    case 'ok':
      return { ...base, status: state.definitionNotCompared ? 'unverified' : 'ok' };
    case 'absent':
      return { ...base, status: 'missing' };
    case 'rejected':
      // Only a missing table reaches here (other rejections are input errors): its index is missing too.
      return { ...base, status: 'missing' };
    case 'invalid':
      return { ...base, status: 'invalid' };
    case 'building':
      return { ...base, status: 'building' };
    case 'wrong_table':
      return { ...base, status: 'wrong_table' };
    case 'drift':
      return { ...base, status: 'drift', differences: state.differences ?? [] };
  }
}

/**
 * Unmanaged indexes on managed tables that a managed index makes redundant
 * (a btree whose keys are a leading prefix of the managed one's, same
 * predicate, nothing it alone covers), and exact duplicates anywhere among
 * them. Indexes backing a constraint are never called redundant, and unique
 * indexes are never a redundant prefix: they enforce something. Pure.
 */
export function findRedundancy(inspected: readonly InspectedIndex[], tables: ReadonlyMap<string, LiveTable>): RedundancyFinding[] {
  const findings: RedundancyFinding[] = [];
  const managedNames = new Set(inspected.map((i) => indexKey(i.declaration)));
  const byTable = new Map<string, LiveIndex[]>();
  for (const { declaration, state } of inspected) {
    if (!state.live || state.status === 'wrong_table' || !state.live.valid) continue;
    const key = tableKey(declaration.table);
    byTable.set(key, [...(byTable.get(key) ?? []), state.live]);
  }
  const reportedPairs = new Set<string>();
  const reportedRedundant = new Set<number>();
  for (const [key, managed] of byTable) {
    const table = tables.get(key);
    if (!table?.indexes) continue;
    const tableName = { schema: table.schema, name: table.name };
    for (const candidate of table.indexes) {
      if (!candidate.valid || (candidate.relkind !== 'i' && candidate.relkind !== 'I')) continue;
      const candidateName = { schema: table.schema, name: candidate.name };
      const candidateManaged = managedNames.has(qualifiedKey({ schema: table.schema, name: candidate.name }));
      for (const keeper of managed) {
        if (keeper.oid === candidate.oid) continue;
        const keeperName = { schema: table.schema, name: keeper.name };
        if (sameDefinition(candidate, keeper)) {
          const pair = [candidate.name, keeper.name].sort().join('\u0000');
          if (reportedPairs.has(pair)) continue;
          reportedPairs.add(pair);
          findings.push({
            kind: 'duplicate',
            index: candidateName,
            table: tableName,
            coveredBy: keeperName,
            managed: candidateManaged,
            reason: `same definition as ${keeper.name}${candidate.backsConstraint ? ` (${candidate.name} backs a constraint: drop the other one)` : ''}`,
          });
        } else if (!candidateManaged && !reportedRedundant.has(candidate.oid) && isRedundantPrefix(candidate, keeper)) {
          reportedRedundant.add(candidate.oid);
          findings.push({
            kind: 'redundant',
            index: candidateName,
            table: tableName,
            coveredBy: keeperName,
            managed: false,
            reason: `its keys (${candidate.keyColumns.map((c) => c.definition).join(', ')}) lead ${keeper.name}, which serves the same lookups`,
          });
        }
      }
    }
  }
  return findings;
}

function sameColumn(a: LiveIndexColumn, b: LiveIndexColumn): boolean {
  return a.definition === b.definition && a.desc === b.desc && a.nullsFirst === b.nullsFirst && a.opclass === b.opclass && a.collation === b.collation;
}

function sameDefinition(a: LiveIndex, b: LiveIndex): boolean {
  return (
    a.method === b.method &&
    a.unique === b.unique &&
    a.nullsNotDistinct === b.nullsNotDistinct &&
    a.predicate === b.predicate &&
    a.keyColumns.length === b.keyColumns.length &&
    a.keyColumns.every((c, i) => sameColumn(c, b.keyColumns[i]!)) &&
    a.includeColumns.map((c) => c.definition).join('\u0000') === b.includeColumns.map((c) => c.definition).join('\u0000')
  );
}

function isRedundantPrefix(candidate: LiveIndex, keeper: LiveIndex): boolean {
  if (candidate.method !== 'btree' || keeper.method !== 'btree') return false;
  if (candidate.unique || candidate.backsConstraint) return false;
  if (candidate.predicate !== keeper.predicate) return false;
  if (candidate.keyColumns.length > keeper.keyColumns.length) return false;
  if (!candidate.keyColumns.every((c, i) => sameColumn(c, keeper.keyColumns[i]!))) return false;
  // INCLUDE columns the keeper does not carry would make the candidate still useful for index-only scans.
  const carried = new Set([...keeper.keyColumns, ...keeper.includeColumns].map((c) => c.definition));
  return candidate.includeColumns.every((c) => carried.has(c.definition));
}
