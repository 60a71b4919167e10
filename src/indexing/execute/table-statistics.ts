import type { SqlSession } from '../../db/client.js';
import { pgErrorFields } from '../../errors.js';
import { tableKey } from '../../model/declaration.js';
import type { QualifiedName } from '../../sql/identifiers.js';
import type { AutoanalyzeSettings, TableStatistics } from './analyze-need.js';

interface Row {
  schema: string;
  name: string;
  relkind: string;
  reltuples: number;
  has_activity: boolean;
  mods: number | null;
  analyzed: boolean;
  autoanalyzed: boolean;
  server_threshold: string;
  server_scale_factor: string;
  table_threshold: string | null;
  table_scale_factor: string | null;
}

/**
 * Each table's statistics state and autovacuum's analyze settings, for all
 * tables in one query (not one per table). Tables without a
 * `pg_stat_all_tables` row get no `activity`; tables not found are absent.
 */
export async function readTableStatistics(session: SqlSession, tables: readonly QualifiedName[]): Promise<Map<string, TableStatistics>> {
  const statistics = new Map<string, TableStatistics>();
  if (!tables.length) return statistics;
  const rows = await session.query<Row>(
    `SELECT t.schema, t.name, c.relkind::text AS relkind, c.reltuples::float8 AS reltuples,
            s.relid IS NOT NULL AS has_activity, s.n_mod_since_analyze::float8 AS mods,
            s.last_analyze IS NOT NULL AS analyzed, s.last_autoanalyze IS NOT NULL AS autoanalyzed,
            current_setting('autovacuum_analyze_threshold') AS server_threshold,
            current_setting('autovacuum_analyze_scale_factor') AS server_scale_factor,
            (SELECT o.option_value FROM pg_catalog.pg_options_to_table(c.reloptions) o WHERE o.option_name = 'autovacuum_analyze_threshold') AS table_threshold,
            (SELECT o.option_value FROM pg_catalog.pg_options_to_table(c.reloptions) o WHERE o.option_name = 'autovacuum_analyze_scale_factor') AS table_scale_factor
       FROM unnest($1::text[], $2::text[]) AS t(schema, name)
       JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema
       JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.name
       LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = c.oid`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  for (const row of rows) {
    const server: AutoanalyzeSettings = { threshold: Number(row.server_threshold), scaleFactor: Number(row.server_scale_factor) };
    if (!Number.isFinite(server.threshold) || !Number.isFinite(server.scaleFactor)) {
      throw new Error(`unexpected autovacuum_analyze_threshold ${JSON.stringify(row.server_threshold)} or autovacuum_analyze_scale_factor ${JSON.stringify(row.server_scale_factor)}`);
    }
    statistics.set(tableKey({ schema: row.schema, name: row.name }), {
      partitioned: row.relkind === 'p',
      reltuples: Number(row.reltuples),
      ...(row.has_activity && row.mods !== null ? { activity: { modsSinceAnalyze: Number(row.mods), analyzed: row.analyzed, autoanalyzed: row.autoanalyzed } } : {}),
      server,
      table: {
        ...(numeric(row.table_threshold) !== undefined ? { threshold: numeric(row.table_threshold)! } : {}),
        ...(numeric(row.table_scale_factor) !== undefined ? { scaleFactor: numeric(row.table_scale_factor)! } : {}),
      },
    });
  }
  return statistics;
}

/**
 * The statistics, or undefined with a notice when they cannot be read: every
 * table then gets ANALYZE, as if nothing were known about it.
 */
export async function tryReadTableStatistics(
  session: SqlSession,
  tables: readonly QualifiedName[],
  notice: (message: string) => void,
): Promise<Map<string, TableStatistics> | undefined> {
  try {
    return await readTableStatistics(session, tables);
  } catch (error) {
    if (session.broken) throw error;
    notice(`could not read the tables' statistics (${pgErrorFields(error).message}): every table that gets an index is analyzed`);
    return undefined;
  }
}

function numeric(value: string | null): number | undefined {
  if (value === null) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
