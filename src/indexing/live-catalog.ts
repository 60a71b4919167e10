import type { QualifiedName } from '../sql/identifiers.js';

/** The catalog as dbtune reads it (catalog.ts): live indexes and tables, field for field. */

/** One key or INCLUDE column of a live index, as the catalog has it. */
export interface LiveIndexColumn {
  /** Column name or deparsed expression (`pg_get_indexdef(oid, n, true)`). */
  definition: string;
  isExpression: boolean;
  /** Key columns only (INCLUDE columns have no ordering, opclass or collation). */
  desc?: boolean;
  nullsFirst?: boolean;
  opclass?: string;
  opclassDefault?: boolean;
  collation?: string | null;
  /** Plain columns: the table column's name (unquoted) and its own collation. */
  columnName?: string;
  columnCollation?: string | null;
}

/** Progress of a running CREATE INDEX / REINDEX, from pg_stat_progress_create_index. */
export interface BuildProgress {
  pid: number;
  command: string | null;
  phase: string | null;
  lockersTotal: number | null;
  lockersDone: number | null;
  currentLockerPid: number | null;
  blocksTotal: number | null;
  blocksDone: number | null;
  tuplesTotal: number | null;
  tuplesDone: number | null;
  partitionsTotal: number | null;
  partitionsDone: number | null;
}

/** A relation found under a declared index's name. */
export interface LiveIndex {
  schema: string;
  name: string;
  oid: number;
  /** pg_class.relkind: 'i' index, 'I' partitioned index; anything else means the name is taken by another kind of relation. */
  relkind: string;
  table: QualifiedName | null;
  tableRelkind: string | null;
  method: string | null;
  unique: boolean;
  nullsNotDistinct: boolean;
  valid: boolean;
  ready: boolean;
  live: boolean;
  keyColumns: LiveIndexColumn[];
  includeColumns: LiveIndexColumn[];
  predicate: string | null;
  storage: string[];
  tablespace: string | null;
  progress: BuildProgress | null;
  /** Another client session holds SHARE UPDATE EXCLUSIVE on the table (a concurrent build or a manual VACUUM). */
  tableMaintenanceLocked: boolean;
  /**
   * A session that runs CREATE INDEX / REINDEX on the table, whose details this
   * role may not see (another role's, without pg_read_all_stats): it may be
   * building this very index, so an invalid index is not taken for a leftover.
   */
  hiddenBuilderPid: number | null;
  /** Backs a primary key, unique or exclusion constraint: never redundant, whatever its columns. */
  backsConstraint: boolean;
  /** For partitioned indexes: leaf partitions of the table, and the indexes attached below this one. */
  partitions: {
    leafTables: number;
    leafIndexes: number;
    validLeafIndexes: number;
    /** Tables (at any level below the root) that have an index attached in this index's tree. */
    attached: Array<QualifiedName & { valid: boolean }>;
  } | null;
}

/** One table below a partitioned table's root. */
export interface PartitionNode {
  table: QualifiedName;
  parent: QualifiedName;
  /** 'r' table, 'p' partitioned table, 'f' foreign table. */
  relkind: string;
  isLeaf: boolean;
  level: number;
}

export interface LiveTable {
  schema: string;
  name: string;
  oid: number | null;
  relkind: string | null;
  pages: number;
  tuples: number;
  /** For partitioned tables: every table below the root, parents before children. */
  partitions: PartitionNode[] | null;
  /** Every index of the table, when asked for (`tableIndexes`). */
  indexes: LiveIndex[] | null;
}

export interface CatalogSnapshot {
  /** Keyed by `schema\0name` of the index. */
  indexes: Map<string, LiveIndex>;
  /** Keyed by `schema\0name` of the table. */
  tables: Map<string, LiveTable>;
  /** Unqualified opclass and collation names resolve in `pg_catalog` first (it leads the session's search path). */
  pgCatalogFirst: boolean;
}

export interface CatalogRequest {
  indexes: readonly QualifiedName[];
  tables: readonly QualifiedName[];
  /** Also list every index of the requested tables (`LiveTable.indexes`), for redundancy checks. */
  tableIndexes?: boolean;
}

/** Schema name that stands for the session's own temporary schema (shadow indexes). */
export const TEMP_SCHEMA = 'pg_temp';
