import type { SqlSession } from '../db/client.js';
import { qualifiedKey } from '../sql/identifiers.js';
import { indexColumns, type RawColumn, type RawKeyDictionaries } from './catalog-columns.js';
import { catalogSql } from './catalog-sql.js';
import type { BuildProgress, CatalogRequest, CatalogSnapshot, LiveIndex, LiveIndexColumn, LiveTable } from './live-catalog.js';

/**
 * Reads everything dbtune needs about the given indexes and tables in one
 * statement, however many there are: validity and readiness (pg_index), the
 * definition column by column, build progress and partition state.
 */
export async function readCatalog(session: SqlSession, request: CatalogRequest): Promise<CatalogSnapshot> {
  const rows = await session.query<{ snapshot: RawSnapshot }>(catalogSql(session.serverVersionNum), [
    JSON.stringify(request.indexes.map((i) => [i.schema, i.name])),
    JSON.stringify(request.tables.map((t) => [t.schema, t.name])),
    request.tableIndexes ?? false,
  ]);
  const raw = rows[0]!.snapshot;
  const columns = indexColumns(raw);
  const toLiveIndex = (r: RawIndex) => liveIndex(r, columns.get(String(r.oid)) ?? []);
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

/** The catalog statement's one value; each index's columns come as key arrays and dictionaries (catalog-columns.ts). */
interface RawSnapshot extends RawKeyDictionaries {
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

function liveIndex(r: RawIndex, columns: readonly RawColumn[]): LiveIndex {
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
    keyColumns: columns.slice(0, nkey).map(([definition, isExpression, option, opclass, opclassSchema, opclassDefault, collation, columnName, columnCollation]) => {
      const column: LiveIndexColumn = {
        definition,
        isExpression,
        // pg_index.indoption: bit 0 DESC, bit 1 NULLS FIRST.
        desc: option !== null && (option & 1) === 1,
        nullsFirst: option !== null && (option & 2) === 2,
        collation,
      };
      if (columnName !== null) {
        column.columnName = columnName;
        column.columnCollation = columnCollation;
      }
      if (opclass) column.opclass = opclassSchema && opclassSchema !== 'pg_catalog' ? `${opclassSchema}.${opclass}` : opclass;
      if (opclassDefault !== null) column.opclassDefault = opclassDefault;
      return column;
    }),
    includeColumns: columns.slice(nkey).map(([definition, isExpression, , , , , , columnName]) => ({ definition, isExpression, ...(columnName ? { columnName } : {}) })),
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
