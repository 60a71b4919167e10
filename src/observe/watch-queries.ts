import type { SqlSession } from '../db/client.js';
import { quoteIdent } from '../sql/identifiers.js';
import { DbtuneError } from '../errors.js';
import type { StatementsInfo } from './statement-tracking.js';

/**
 * The database watch's statements: what the server offers (detect), the roles
 * of database.roles, and the one snapshot statement read before and after each
 * stage. Every statement carries the watch's mark, so that pg_stat_statements
 * shows which calls were dbtune's own.
 */

export const MARK = '/* dbtune-watch */';

/** Puts the mark inside the statement: pg_stat_statements keeps no comment that comes before it. */
export function marked(sql: string): string {
  return sql.replace(/^\s*SELECT\b/, `SELECT ${MARK}`);
}

/** Runs one of the watch's statements (marked, and counted as its own). */
export type WatchQuery = <R extends object>(sql: string, params?: unknown[]) => Promise<R[]>;

/** An index of the given index sets, whose use under load is reported. */
export interface WatchedIndex {
  schema: string;
  name: string;
  /** `schema.table`. */
  table: string;
}

export interface Capabilities {
  /** Schema-qualified pg_stat_statements function, when usable in this database. */
  statements?: string;
  /** Columns of pg_stat_statements whose names differ by version. */
  ioColumns: string[];
  toplevel: boolean;
  /** Schema-qualified pg_stat_statements_info (PostgreSQL 14+, extension 1.9+). */
  info?: string;
  /** pg_stat_statements has stats_since (PostgreSQL 17+, extension 1.11+). */
  statsSince: boolean;
  notes: string[];
}

export interface StatementRow {
  key: string;
  queryid: string;
  /** pg_stat_statements.userid, and its role's name (null for a dropped role). */
  userid: string;
  role: string | null;
  calls: number;
  total_ms: number;
  io_ms: number;
  /** When the entry was created (stats_since, 17+), as text; the latest of a hidden per-role sum. */
  since: string | null;
}

export interface Snapshot {
  xact_commit: number;
  xact_rollback: number;
  blks_read: number;
  blks_hit: number;
  temp_bytes: number;
  deadlocks: number;
  tables: Array<{ schemaname: string; relname: string; seq_scan: number; seq_tup_read: number; idx_scan: number; idx_tup_fetch: number }>;
  indexes: Array<{ schemaname: string; indexrelname: string; idx_scan: number }>;
  statements: StatementRow[];
  /** pg_stat_statements_info read before the entries, and after them (14+). */
  infoFirst?: StatementsInfo;
  infoLast?: StatementsInfo;
  /** dbtune's own statements run when this snapshot was read. */
  ownStatements: number;
}

export interface Sample {
  state: string;
  wait_event_type: string | null;
  wait_event: string | null;
  n: number;
}

export async function readSnapshot(query: WatchQuery, capabilities: Capabilities, indexes: readonly WatchedIndex[], ownStatements: () => number): Promise<Snapshot> {
  const indexNames = indexes.map((i) => `${i.schema}.${i.name}`);
  const statements = capabilities.statements;
  const io = capabilities.ioColumns.length ? capabilities.ioColumns.map((c) => `s.${quoteIdent(c)}`).join(' + ') : '0';
  const key = capabilities.toplevel ? `s.userid || ':' || s.queryid || ':' || s.toplevel` : `s.userid || ':' || s.queryid`;
  const since = capabilities.statsSince ? 'max(s.stats_since)::text' : 'NULL';
  const statementsSql = statements
    ? // Without pg_read_all_stats, other roles' rows have no queryid: they are summed per role.
      `(SELECT coalesce(json_agg(json_build_object('key', k.key, 'queryid', k.queryid, 'userid', k.userid, 'role', r.rolname, 'calls', k.calls, 'total_ms', k.total_ms, 'io_ms', k.io_ms, 'since', k.since)), '[]')
          FROM (SELECT coalesce(${key}, 'hidden:' || s.userid) AS key, coalesce(s.queryid::text, 'hidden:' || s.userid) AS queryid, s.userid,
                       sum(s.calls) AS calls, sum(s.total_exec_time) AS total_ms, sum(${io}) AS io_ms, ${since} AS since
                  FROM ${statements}(false) s WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                 GROUP BY 1, 2, 3) k
          LEFT JOIN pg_roles r ON r.oid = k.userid)`
    : `'[]'::json`;
  // Read before and after the entries (target-list subqueries run in order): see judgeStatementTracking.
  const info = capabilities.info ? `(SELECT json_build_object('dealloc', dealloc, 'stats_reset', stats_reset::text) FROM ${capabilities.info})` : 'NULL::json';
  const [row] = await query<{ info_first: StatementsInfo | null; db: Record<string, number>; tables: Snapshot['tables']; indexes: Snapshot['indexes']; statements: StatementRow[]; info_last: StatementsInfo | null }>(
    `SELECT ${info} AS info_first,
            (SELECT json_build_object('xact_commit', xact_commit, 'xact_rollback', xact_rollback, 'blks_read', blks_read, 'blks_hit', blks_hit, 'temp_bytes', temp_bytes, 'deadlocks', deadlocks)
               FROM pg_stat_database WHERE datname = current_database()) AS db,
            (SELECT coalesce(json_agg(json_build_object('schemaname', schemaname, 'relname', relname, 'seq_scan', coalesce(seq_scan, 0), 'seq_tup_read', coalesce(seq_tup_read, 0),
                                                        'idx_scan', coalesce(idx_scan, 0), 'idx_tup_fetch', coalesce(idx_tup_fetch, 0))), '[]')
               FROM pg_stat_user_tables) AS tables,
            (SELECT coalesce(json_agg(json_build_object('schemaname', schemaname, 'indexrelname', indexrelname, 'idx_scan', idx_scan)), '[]')
               FROM pg_stat_user_indexes WHERE schemaname || '.' || indexrelname = ANY($1::text[])) AS indexes,
            ${statementsSql} AS statements,
            ${info} AS info_last`,
    [indexNames],
  );
  const db = row!.db;
  return {
    xact_commit: Number(db.xact_commit),
    xact_rollback: Number(db.xact_rollback),
    blks_read: Number(db.blks_read),
    blks_hit: Number(db.blks_hit),
    temp_bytes: Number(db.temp_bytes),
    deadlocks: Number(db.deadlocks),
    tables: row!.tables,
    indexes: row!.indexes,
    statements: row!.statements,
    ...(row!.info_first ? { infoFirst: { dealloc: Number(row!.info_first.dealloc), stats_reset: String(row!.info_first.stats_reset) } } : {}),
    ...(row!.info_last ? { infoLast: { dealloc: Number(row!.info_last.dealloc), stats_reset: String(row!.info_last.stats_reset) } } : {}),
    ownStatements: ownStatements(),
  };
}

/** What the server offers: pg_stat_statements in this database (and loaded), and its version's column names. */
export async function detect(session: SqlSession): Promise<Capabilities> {
  const notes: string[] = [];
  const [ext] = await session.query<{ schema: string | null }>(
    marked(`SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`),
  );
  const capabilities: Capabilities = { ioColumns: [], toplevel: false, statsSince: false, notes };
  if (!ext?.schema) {
    notes.push('pg_stat_statements is not installed in this database: queries per request are transactions per request (pg_stat_database); CREATE EXTENSION pg_stat_statements for statement counts and the top statements');
    return capabilities;
  }
  const fn = `${quoteIdent(ext.schema)}.pg_stat_statements`;
  try {
    await session.query(marked(`SELECT 1 FROM ${fn}(false) LIMIT 1`));
  } catch (error) {
    // Installed but not in shared_preload_libraries: the function refuses to run.
    notes.push(`pg_stat_statements is installed but not usable (${(error as Error).message}): falling back to transactions per request (pg_stat_database)`);
    return capabilities;
  }
  // Block I/O time columns were renamed in PostgreSQL 17 (blk_read_time → shared_blk_read_time, …).
  const columns = await session.query<{ relation: string; name: string }>(
    marked(`SELECT c.relname AS relation, a.attname AS name FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname IN ('pg_stat_statements', 'pg_stat_statements_info') AND a.attnum > 0 AND NOT a.attisdropped`),
    [ext.schema],
  );
  const names = new Set(columns.filter((c) => c.relation === 'pg_stat_statements').map((c) => c.name));
  capabilities.ioColumns = ioTimeColumns(names);
  capabilities.toplevel = names.has('toplevel');
  capabilities.statements = fn;
  const tracking = trackingCapabilities(session.serverVersionNum, names, columns.some((c) => c.relation === 'pg_stat_statements_info'));
  if (tracking.info) capabilities.info = `${quoteIdent(ext.schema)}.pg_stat_statements_info`;
  capabilities.statsSince = tracking.statsSince;
  if (tracking.note) notes.push(tracking.note);
  return capabilities;
}

/**
 * What this server's pg_stat_statements can tell about lost entries: resets and
 * evictions from pg_stat_statements_info (PostgreSQL 14+), an entry removed and
 * created again from stats_since (17+). The extension's objects may lag the
 * server's version until ALTER EXTENSION … UPDATE, so both are also looked up.
 */
export function trackingCapabilities(serverVersionNum: number, columns: ReadonlySet<string>, hasInfo: boolean): { info: boolean; statsSince: boolean; note?: string } {
  const info = serverVersionNum >= 140000 && hasInfo;
  const statsSince = info && serverVersionNum >= 170000 && columns.has('stats_since');
  if (serverVersionNum < 140000) {
    return { info, statsSince, note: 'PostgreSQL 13 has no pg_stat_statements_info: a reset or eviction of pg_stat_statements during a stage cannot be detected (only a statement count that shrank shows one)' };
  }
  if (!info || (serverVersionNum >= 170000 && !statsSince)) {
    return { info, statsSince, note: 'pg_stat_statements in this database is older than the server: ALTER EXTENSION pg_stat_statements UPDATE to detect resets and evictions during a stage' };
  }
  return { info, statsSince };
}

/** Oids of the roles named in database.roles, by name; a name no role has is bad input (exit 2), before any load. */
export async function resolveRoles(session: SqlSession, names: readonly string[]): Promise<Map<string, string>> {
  const rows = await session.query<{ name: string; oid: string }>(marked(`SELECT rolname AS name, oid::text AS oid FROM pg_roles WHERE rolname = ANY($1::text[])`), [names]);
  const found = new Map(rows.map((r) => [r.name, r.oid]));
  const missing = names.filter((n) => !found.has(n));
  if (missing.length) {
    throw new DbtuneError('INPUT_INVALID', `database.roles: no role named ${missing.map((n) => JSON.stringify(n)).join(', ')} on this server`, {
      hint: 'name the role(s) the API connects as, e.g. from SELECT DISTINCT usename FROM pg_stat_activity',
    });
  }
  return new Map(names.map((n) => [n, found.get(n)!]));
}

/** The block read/write time columns of pg_stat_statements under this version's names. */
export function ioTimeColumns(columns: ReadonlySet<string>): string[] {
  if (columns.has('shared_blk_read_time')) return ['shared_blk_read_time', 'shared_blk_write_time', 'local_blk_read_time', 'local_blk_write_time'].filter((c) => columns.has(c));
  return ['blk_read_time', 'blk_write_time'].filter((c) => columns.has(c));
}
