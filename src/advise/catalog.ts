import type { SqlSession } from '../db/client.js';
import { quoteQualified, type QualifiedName } from '../sql/identifiers.js';
import type { ExistingIndex } from './coverage.js';
import { NARROW_BYTES, type CatalogTable } from './table-catalog.js';

/**
 * advise's catalog reads: one query each, whatever the number of statements. Each carries the
 * `dbtune-advise` mark so that pg_stat_statements entries of advise's own queries are left out
 * of the workload (workload.ts), like the database watch's.
 */

export const ADVISE_MARK = '/* dbtune-advise */';

/** Tables (with columns) whose names the statements mention, in any schema. */
export async function readTables(session: SqlSession, names: readonly string[]): Promise<CatalogTable[]> {
  if (!names.length) return [];
  const rows = await session.query<CatalogTable>(
    `SELECT ${ADVISE_MARK} n.nspname AS schema, c.relname AS name, pg_table_is_visible(c.oid) AS visible, c.relkind::text AS kind,
            array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns,
            array(SELECT a.attname::text FROM pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                     AND coalesce((SELECT max(s.avg_width) FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname),
                                  nullif(a.attlen, -1)) <= ${NARROW_BYTES}
                   ORDER BY a.attnum) AS narrow
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'm', 'v', 'f')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'`,
    [names],
  );
  return rows;
}

/** Every index on the given tables: keys as PostgreSQL deparses them, validity, predicate, direction. */
export async function readIndexes(session: SqlSession, tables: readonly QualifiedName[]): Promise<ExistingIndex[]> {
  if (!tables.length) return [];
  const rows = await session.query<ExistingIndex>(
    `SELECT ${ADVISE_MARK} n.nspname AS schema, t.relname AS "table", ic.relname AS name, (i.indisvalid AND i.indisready) AS valid,
            i.indpred IS NOT NULL AS partial, am.amname AS method,
            array(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k ORDER BY k) AS keys,
            array(SELECT (i.indoption[k - 1] & 1) = 1 FROM generate_series(1, i.indnkeyatts) k ORDER BY k) AS desc
       FROM pg_index i
       JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
       JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
      WHERE (n.nspname, t.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
      ORDER BY ic.relname`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return rows;
}

/** Rows written (inserted + updated + deleted) per table since statistics were last reset. */
export async function readWriteCounts(session: SqlSession, tables: readonly QualifiedName[]): Promise<Map<string, number>> {
  if (!tables.length) return new Map();
  const rows = await session.query<{ schema: string; name: string; writes: string }>(
    `SELECT ${ADVISE_MARK} schemaname AS schema, relname AS name, (n_tup_ins + n_tup_upd + n_tup_del)::text AS writes
       FROM pg_stat_user_tables WHERE (schemaname, relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return new Map(rows.map((r) => [`${r.schema}.${r.name}`, Number(r.writes)]));
}

/** A column's statistics (pg_stats), values as text: what a check's parameters are taken from. */
export interface ColumnStats {
  /** Most common values, most frequent first. */
  mcv: string[] | null;
  /** Histogram bounds (values other than the most common ones), ascending. */
  histogram: string[] | null;
}

export const statsKey = (table: QualifiedName, column: string) => `${table.schema}\u0000${table.name}\u0000${column}`;

/** pg_stats of the given columns (those ANALYZE has seen and the role may read), keyed by {@link statsKey}. */
export async function readColumnStats(session: SqlSession, columns: ReadonlyArray<{ table: QualifiedName; column: string }>): Promise<Map<string, ColumnStats>> {
  if (!columns.length) return new Map();
  // anyarray → text → text[]: every element type reads as its text form, which a parameter accepts.
  const rows = await session.query<{ schema: string; name: string; column: string } & ColumnStats>(
    `SELECT ${ADVISE_MARK} schemaname AS schema, tablename AS name, attname AS column,
            most_common_vals::text::text[] AS mcv, histogram_bounds::text::text[] AS histogram
       FROM pg_stats WHERE (schemaname, tablename, attname) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))
      ORDER BY inherited DESC`,
    [columns.map((c) => c.table.schema), columns.map((c) => c.table.name), columns.map((c) => c.column)],
  );
  // A partitioned or inherited table's statistics of the whole hierarchy come first and win.
  const out = new Map<string, ColumnStats>();
  for (const r of rows) {
    const key = statsKey({ schema: r.schema, name: r.name }, r.column);
    if (!out.has(key)) out.set(key, { mcv: r.mcv, histogram: r.histogram });
  }
  return out;
}

/**
 * One non-null value of a column or expression read from the table: for a key pg_stats has nothing
 * on (an expression before its index exists). Within 2 s: a table where it is mostly NULL is not
 * read through for it.
 */
export async function sampleValue(session: SqlSession, table: QualifiedName, termSql: string): Promise<string | undefined> {
  await session.query('BEGIN READ ONLY');
  try {
    await session.query(`SELECT ${ADVISE_MARK} set_config('statement_timeout', '2s', true)`);
    const rows = await session.query<{ v: string }>(`SELECT ${ADVISE_MARK} (${termSql})::text AS v FROM ${quoteQualified(table)} WHERE (${termSql}) IS NOT NULL LIMIT 1`);
    return rows[0]?.v;
  } finally {
    await session.query('ROLLBACK');
  }
}
