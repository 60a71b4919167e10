import type { SqlSession } from '../db/client.js';
import { qualifiedKey } from '../sql/identifiers.js';
import { catalogSql } from './catalog-sql.js';
import type { BuildProgress, CatalogRequest, CatalogSnapshot, LiveIndex, LiveIndexColumn, LiveTable } from './live-catalog.js';

/**
 * Reads everything dbtune needs about the given indexes and tables in one
 * statement, however many there are: validity and readiness (pg_index), the
 * definition column by column, build progress and partition state.
 */
export async function readCatalog(session: SqlSession, request: CatalogRequest): Promise<CatalogSnapshot> {
  const rows = await session.query<{ snapshot: RawSnapshot }>(catalogSql(session.serverVersionNum), [
    request.indexes.map((i) => i.schema),
    request.indexes.map((i) => i.name),
    request.tables.map((t) => t.schema),
    request.tables.map((t) => t.name),
    request.tableIndexes ?? false,
  ]);
  const raw = rows[0]!.snapshot;
  const indexes = new Map<string, LiveIndex>();
  for (const r of raw.indexes ?? []) {
    const index = toLiveIndex(r);
    indexes.set(qualifiedKey(index), index);
  }
  const tables = new Map<string, LiveTable>();
  for (const t of raw.tables ?? []) {
    tables.set(qualifiedKey(t), {
      schema: t.schema,
      name: t.name,
      oid: t.oid,
      relkind: t.relkind,
      pages: t.pages ?? 0,
      tuples: Math.max(0, t.tuples ?? 0),
      partitions: t.partitions
        ? t.partitions.map((p) => ({
            table: { schema: p.schema, name: p.name },
            parent: { schema: p.parent_schema, name: p.parent_name },
            relkind: p.relkind,
            isLeaf: p.is_leaf,
            level: p.level,
          }))
        : null,
      indexes: t.indexes ? t.indexes.map(toLiveIndex) : null,
    });
  }
  return { indexes, tables, pgCatalogFirst: raw.pg_catalog_first === true };
}

interface RawSnapshot {
  pg_catalog_first: boolean | null;
  indexes: RawIndex[] | null;
  tables: Array<{
    schema: string;
    name: string;
    oid: number | null;
    relkind: string | null;
    pages: number | null;
    tuples: number | null;
    partitions: Array<{ schema: string; name: string; relkind: string; is_leaf: boolean; level: number; parent_schema: string; parent_name: string }> | null;
    indexes: RawIndex[] | null;
  }> | null;
}

interface RawIndex {
  schema: string;
  name: string;
  oid: number;
  relkind: string;
  table_schema: string | null;
  table_name: string | null;
  table_relkind: string | null;
  method: string | null;
  unique: boolean | null;
  nulls_not_distinct: boolean | null;
  valid: boolean | null;
  ready: boolean | null;
  live: boolean | null;
  nkeyatts: number | null;
  columns: Array<{
    definition: string;
    is_expression: boolean;
    desc: boolean | null;
    nulls_first: boolean | null;
    opclass: string | null;
    opclass_schema: string | null;
    opclass_default: boolean | null;
    collation: string | null;
    column_name: string | null;
    column_collation: string | null;
  }> | null;
  predicate: string | null;
  storage: string[] | null;
  tablespace: string | null;
  progress: Record<string, number | string | null> | null;
  maintenance_locked: boolean | null;
  hidden_builder_pid: number | null;
  is_primary: boolean | null;
  backs_constraint: boolean | null;
  partitions: { leaf_tables: number; leaf_indexes: number; valid_leaf_indexes: number; attached: Array<{ schema: string; name: string; valid: boolean }> | null } | null;
}

function toLiveIndex(r: RawIndex): LiveIndex {
  const columns = r.columns ?? [];
  const nkey = r.nkeyatts ?? columns.length;
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    schema: r.schema,
    name: r.name,
    oid: r.oid,
    relkind: r.relkind,
    table: r.table_schema && r.table_name ? { schema: r.table_schema, name: r.table_name } : null,
    tableRelkind: r.table_relkind,
    method: r.method,
    unique: r.unique ?? false,
    nullsNotDistinct: r.nulls_not_distinct ?? false,
    valid: r.valid ?? false,
    ready: r.ready ?? false,
    live: r.live ?? false,
    keyColumns: columns.slice(0, nkey).map((c) => {
      const column: LiveIndexColumn = {
        definition: c.definition,
        isExpression: c.is_expression,
        desc: c.desc ?? false,
        nullsFirst: c.nulls_first ?? false,
        collation: c.collation,
      };
      if (c.column_name !== null && c.column_name !== undefined) {
        column.columnName = c.column_name;
        column.columnCollation = c.column_collation;
      }
      if (c.opclass) column.opclass = c.opclass_schema && c.opclass_schema !== 'pg_catalog' ? `${c.opclass_schema}.${c.opclass}` : c.opclass;
      if (c.opclass_default !== null) column.opclassDefault = c.opclass_default;
      return column;
    }),
    includeColumns: columns.slice(nkey).map((c) => ({ definition: c.definition, isExpression: c.is_expression, ...(c.column_name ? { columnName: c.column_name } : {}) })),
    predicate: r.predicate,
    storage: [...(r.storage ?? [])].sort(),
    tablespace: r.tablespace,
    progress: r.progress
      ? {
          pid: Number(r.progress.pid),
          command: (r.progress.command as string | null) ?? null,
          phase: (r.progress.phase as string | null) ?? null,
          lockersTotal: num(r.progress.lockers_total),
          lockersDone: num(r.progress.lockers_done),
          currentLockerPid: num(r.progress.current_locker_pid),
          blocksTotal: num(r.progress.blocks_total),
          blocksDone: num(r.progress.blocks_done),
          tuplesTotal: num(r.progress.tuples_total),
          tuplesDone: num(r.progress.tuples_done),
          partitionsTotal: num(r.progress.partitions_total),
          partitionsDone: num(r.progress.partitions_done),
        }
      : null,
    tableMaintenanceLocked: r.maintenance_locked ?? false,
    hiddenBuilderPid: r.hidden_builder_pid ?? null,
    backsConstraint: Boolean(r.backs_constraint || r.is_primary),
    partitions: r.partitions
      ? {
          leafTables: r.partitions.leaf_tables,
          leafIndexes: r.partitions.leaf_indexes,
          validLeafIndexes: r.partitions.valid_leaf_indexes,
          attached: r.partitions.attached ?? [],
        }
      : null,
  };
}
