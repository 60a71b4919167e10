import type { SqlSession } from '../db/client.js';
import { displayQualified, qualifiedKey } from '../sql/identifiers.js';
import { indexKey, indexQualifiedName, tableKey, type IndexDeclaration } from '../model/declaration.js';
import { readCatalog } from './catalog.js';
import type { CatalogSnapshot, LiveIndex } from './live-catalog.js';
import { indexState, type IndexState } from './index-state.js';
import { shadowBuild } from './shadow.js';
import { uncoveredPartitions, type PartitionChild } from './partitions.js';
import { rebuildName } from './rebuild-name.js';
import { compareIndexes } from './compare.js';
import { comparableFromCatalog, declaredFromCatalog, matchesFromCatalog } from './structural.js';

export interface InspectedIndex {
  declaration: IndexDeclaration;
  state: IndexState;
  /** On a partitioned table: the partitions still needing an index (absent or invalid parent index). */
  partitions?: PartitionChild[];
  /** The copy an interrupted `--rebuild-drift` left (`<name>_dbtune_new`), if there is one. */
  rebuildLeftover?: LiveIndex;
  /** That copy is valid, ready and matches the declaration: the swap can be finished instead of rebuilt. */
  rebuildLeftoverUsable?: boolean;
}

export interface Inspection {
  indexes: InspectedIndex[];
  catalog: CatalogSnapshot;
  /** Things the user should know about this inspection (e.g. no shadow build possible). */
  notes: string[];
}

/**
 * Reads the live state of every declared index: one catalog statement for
 * all of them, plus the shadow build (constant round trips) that normalises
 * and validates the declarations. With `compareOnly`, a declaration the
 * catalog alone proves matched (structural.ts) is not shadow-built, and when
 * none is left the shadow build sends nothing.
 */
export async function inspectIndexes(
  session: SqlSession,
  declarations: readonly IndexDeclaration[],
  options: {
    /** Also read every index of the declared tables (verify --strict). */
    tableIndexes?: boolean;
    /**
     * Shadow-build only the declarations that have a live index to compare with
     * (verify: a missing index needs no normalising). Default false: every
     * declaration is built, which also validates it before apply builds anything.
     */
    compareOnly?: boolean;
  } = {},
): Promise<Inspection> {
  const tables = new Map(declarations.map((d) => [tableKey(d.table), d.table]));
  const catalog = await readCatalog(session, {
    // Also the names an interrupted rebuild leaves behind, in the same statement.
    indexes: declarations.flatMap((d) => [indexQualifiedName(d), { schema: d.table.schema, name: rebuildName(d.name) }]),
    tables: [...tables.values()],
    tableIndexes: options.tableIndexes ?? false,
  });
  const versionProblems = new Map<string, { message: string; code?: string }>();
  for (const d of declarations) {
    if (d.nullsNotDistinct && session.serverVersionNum < 150000) {
      versionProblems.set(indexKey(d), { message: `nulls_not_distinct needs PostgreSQL 15 or later (server is ${session.serverVersion})` });
    }
  }
  const onItsTable = (d: IndexDeclaration) => {
    const live = catalog.indexes.get(indexKey(d));
    return live !== undefined && live.table?.schema === d.table.schema && live.table.name === d.table.name;
  };
  // verify takes a plain-column index that matches from the catalog alone (structural.ts); one that
  // differs is shadow-built like the rest, so its differences are named as PostgreSQL resolves them.
  // apply and plan shadow-build every declaration, which also validates it before anything is built.
  const matched = new Set(
    options.compareOnly === true
      ? declarations.filter((d) => onItsTable(d) && matchesFromCatalog(d, catalog.indexes.get(indexKey(d))!, catalog)).map(indexKey)
      : [],
  );
  const fromCatalog = (d: IndexDeclaration) => matched.has(indexKey(d));
  const needsShadow = (d: IndexDeclaration) => {
    if (versionProblems.has(indexKey(d))) return false;
    if (!options.compareOnly) return true;
    // verify: a missing index needs no normalising, and a plain one is compared from the catalog.
    return onItsTable(d) && !fromCatalog(d);
  };
  const shadow = await shadowBuild(session, declarations.filter(needsShadow));
  const indexes: InspectedIndex[] = declarations.map((declaration) => {
    const key = indexKey(declaration);
    const live = catalog.indexes.get(key);
    // Without a shadow build (no TEMP, a standby), a plain index is still compared from the catalog:
    // its differences are then named as the catalog has them.
    const structural = comparableFromCatalog(declaration) && live?.relkind === 'i' && onItsTable(declaration);
    const declared = fromCatalog(declaration) ? declaredFromCatalog(declaration, live!) : (shadow.normalized.get(key) ?? (structural ? declaredFromCatalog(declaration, live!) : undefined));
    const state = indexState(declaration, live, declared, versionProblems.get(key) ?? shadow.rejected.get(key));
    if (state.status === 'absent' && catalog.tables.get(tableKey(declaration.table))?.oid === null) {
      state.reason = `table ${displayQualified(declaration.table)} does not exist`;
    }
    const leftover = catalog.indexes.get(qualifiedKey({ schema: declaration.table.schema, name: rebuildName(declaration.name) }));
    const inspected: InspectedIndex = { declaration, state };
    // Rebuilds never run on partitioned indexes ('I'): only a plain index is a rebuild's copy.
    if (leftover?.relkind === 'i' && leftover.table?.name === declaration.table.name && leftover.table.schema === declaration.table.schema) {
      inspected.rebuildLeftover = leftover;
      const normalized = shadow.normalized.get(key);
      inspected.rebuildLeftoverUsable = leftover.relkind === 'i' && leftover.valid && leftover.ready && leftover.live && normalized !== undefined && compareIndexes(declaration, normalized, leftover).length === 0;
    }
    return inspected;
  });
  await inspectPartitions(session, indexes, catalog);
  return { catalog, indexes, notes: shadow.unavailable ? [`note: ${shadow.unavailable}`] : [] };
}

/**
 * For indexes on partitioned tables, finds the partitions that still need an
 * index and what already stands under the names dbtune would give them: one
 * more catalog statement, and only when a partitioned table is involved.
 */
async function inspectPartitions(session: SqlSession, indexes: InspectedIndex[], catalog: CatalogSnapshot): Promise<void> {
  const pending: Array<{ inspected: InspectedIndex; children: Omit<PartitionChild, 'live'>[] }> = [];
  for (const inspected of indexes) {
    const table = catalog.tables.get(tableKey(inspected.declaration.table));
    if (table?.relkind !== 'p') continue;
    if (!['absent', 'invalid', 'drift'].includes(inspected.state.status)) continue;
    pending.push({ inspected, children: uncoveredPartitions(inspected.declaration, table, inspected.state.live) });
  }
  if (pending.length === 0) return;
  const names = pending.flatMap((p) => p.children.map((c) => c.index));
  const children = names.length ? await readCatalog(session, { indexes: names, tables: [] }) : undefined;
  for (const { inspected, children: uncovered } of pending) {
    inspected.partitions = uncovered.map((child) => {
      const live = children?.indexes.get(qualifiedKey(child.index));
      return live ? { ...child, live } : child;
    });
  }
}
