import type { SqlSession } from '../db/client.js';
import { quoteIdent } from '../sql/identifiers.js';
import { reportableQuery } from '../sql/reportable-query.js';
import { sleep } from '../time/sleep.js';
import type { ThresholdResult } from '../model/load-result.js';
import { evaluateDatabaseThresholds, type DatabaseThresholds } from './database-thresholds.js';
import type { IndexUse, StageDatabase, TableActivity, TopStatement } from './stage-database.js';

export type { DatabaseThresholds } from './database-thresholds.js';
export type { IndexUse, StageDatabase, TableActivity, TopStatement } from './stage-database.js';

/**
 * What PostgreSQL saw during each stage: a snapshot of the statistics views
 * before and after the stage (each one statement, so each reads fresh
 * statistics: a stats snapshot lives until its transaction ends) and
 * pg_stat_activity sampled during it.
 *
 * Queries per HTTP request come from pg_stat_statements call deltas when the
 * extension is installed in the database (no reset: snapshots are diffed),
 * else from pg_stat_database transaction counts (each autocommit statement is
 * one transaction). dbtune's own statements carry a `dbtune-watch` comment and
 * are left out of the first, and subtracted (it counts them) from the second.
 *
 * Statistics lag: pg_stat_statements is updated as each statement ends, with
 * no lag. The other views are not: a busy backend flushes its counters at most
 * once a second (PostgreSQL 15+) or every 500 ms (13–14), and what it has not
 * flushed when it goes idle waits 10 s (15+) or until its next transaction
 * (13–14). The command waits accordingly after each stage (settleTime).
 */

const MARK = '/* dbtune-watch */';

/** Puts the mark inside the statement: pg_stat_statements keeps no comment that comes before it. */
function marked(sql: string): string {
  return sql.replace(/^\s*SELECT\b/, `SELECT ${MARK}`);
}



/** An index of the given index sets, whose use under load is reported. */
export interface WatchedIndex {
  schema: string;
  name: string;
  /** `schema.table`. */
  table: string;
}

interface Capabilities {
  /** Schema-qualified pg_stat_statements function, when usable in this database. */
  statements?: string;
  /** Columns of pg_stat_statements whose names differ by version. */
  ioColumns: string[];
  toplevel: boolean;
  notes: string[];
}

interface StatementRow {
  key: string;
  queryid: string;
  calls: number;
  total_ms: number;
  io_ms: number;
}

interface Snapshot {
  xact_commit: number;
  xact_rollback: number;
  blks_read: number;
  blks_hit: number;
  temp_bytes: number;
  deadlocks: number;
  tables: Array<{ schemaname: string; relname: string; seq_scan: number; seq_tup_read: number; idx_scan: number; idx_tup_fetch: number }>;
  indexes: Array<{ schemaname: string; indexrelname: string; idx_scan: number }>;
  statements: StatementRow[];
  /** dbtune's own statements run when this snapshot was read. */
  ownStatements: number;
}

interface Sample {
  state: string;
  wait_event_type: string | null;
  wait_event: string | null;
  n: number;
}

const SAMPLE_INTERVAL_MS = 500;
const TOP = 5;

export class DatabaseWatch {
  private ownStatements = 0;
  private before: Snapshot | undefined;
  private samples: Sample[][] = [];
  /** Never rejects: a failed sample ends sampling and is reported with the stage. */
  private sampling: Promise<void> | undefined;
  private samplingError: string | undefined;
  private stopSampling = false;

  private constructor(
    private readonly session: SqlSession,
    private readonly capabilities: Capabilities,
    private readonly indexes: readonly WatchedIndex[],
    private readonly thresholds: DatabaseThresholds,
  ) {}

  /** Connects checks (exit 3 before any load when the database is unreachable) and learns what the server offers. */
  static async start(session: SqlSession, indexes: readonly WatchedIndex[], thresholds: DatabaseThresholds = {}): Promise<DatabaseWatch> {
    const capabilities = await detect(session);
    return new DatabaseWatch(session, capabilities, indexes, thresholds);
  }

  get notes(): string[] {
    return this.capabilities.notes;
  }

  /** Whether queries are counted from pg_stat_statements (else transactions, from pg_stat_database). */
  get countsStatements(): boolean {
    return this.capabilities.statements !== undefined;
  }

  /**
   * Snapshot, then sample until afterStage. `settleMs` first when load that is
   * not measured (warm-up, a ramp) just ran, so that its counters are flushed
   * before the snapshot instead of counting in the stage.
   */
  async beforeStage(settleMs = 0, signal?: AbortSignal): Promise<void> {
    if (settleMs > 0) await sleep(settleMs, signal);
    this.samplingError = undefined;
    this.before = await this.snapshot();
    this.samples = [];
    this.stopSampling = false;
    this.sampling = this.sampleLoop();
  }

  async afterStage(httpRequests: number, settleMs: number, signal?: AbortSignal): Promise<{ database: StageDatabase; thresholds: ThresholdResult[] }> {
    await this.stopSamplingLoop();
    // Let the application's sessions, now idle, flush their statistics (cut short by Ctrl-C).
    await sleep(settleMs, signal);
    const after = await this.snapshot();
    const database = await this.describe(this.before!, after, httpRequests);
    if (this.samplingError) database.notes.push(`sampling pg_stat_activity stopped early: ${this.samplingError}`);
    const known = new Set(after.tables.map((t) => `${t.schemaname}.${t.relname}`));
    return { database, thresholds: evaluateDatabaseThresholds(this.thresholds, database, known) };
  }

  async close(): Promise<void> {
    await this.stopSamplingLoop();
    await this.session.close();
  }

  private async stopSamplingLoop(): Promise<void> {
    this.stopSampling = true;
    await this.sampling;
    this.sampling = undefined;
  }

  private async query<R extends object>(sql: string, params?: unknown[]): Promise<R[]> {
    this.ownStatements++;
    return this.session.query<R>(marked(sql), params);
  }

  private async sampleLoop(): Promise<void> {
    try {
      await this.sampleUntilStopped();
    } catch (error) {
      this.samplingError = (error as Error).message;
    }
  }

  private async sampleUntilStopped(): Promise<void> {
    while (!this.stopSampling) {
      const rows = await this.query<Sample>(
        `SELECT coalesce(state, 'unknown') AS state, wait_event_type, wait_event, count(*)::int AS n
           FROM pg_stat_activity
          -- Without pg_read_all_stats, other roles' sessions show no backend_type (nor state).
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND coalesce(backend_type, 'client backend') = 'client backend'
          GROUP BY 1, 2, 3`,
      );
      this.samples.push(rows);
      const until = Date.now() + SAMPLE_INTERVAL_MS;
      while (!this.stopSampling && Date.now() < until) await sleep(Math.min(50, until - Date.now()));
    }
  }

  private async snapshot(): Promise<Snapshot> {
    const indexNames = this.indexes.map((i) => `${i.schema}.${i.name}`);
    const statements = this.capabilities.statements;
    const io = this.capabilities.ioColumns.length ? this.capabilities.ioColumns.map((c) => `s.${quoteIdent(c)}`).join(' + ') : '0';
    const key = this.capabilities.toplevel ? `s.userid || ':' || s.queryid || ':' || s.toplevel` : `s.userid || ':' || s.queryid`;
    const statementsSql = statements
      ? // Without pg_read_all_stats, other roles' rows have no queryid: they are summed per role.
        `(SELECT coalesce(json_agg(json_build_object('key', k.key, 'queryid', k.queryid, 'calls', k.calls, 'total_ms', k.total_ms, 'io_ms', k.io_ms)), '[]')
            FROM (SELECT coalesce(${key}, 'hidden:' || s.userid) AS key, coalesce(s.queryid::text, 'hidden:' || s.userid) AS queryid,
                         sum(s.calls) AS calls, sum(s.total_exec_time) AS total_ms, sum(${io}) AS io_ms
                    FROM ${statements}(false) s WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                   GROUP BY 1, 2) k)`
      : `'[]'::json`;
    const [row] = await this.query<{ db: Record<string, number>; tables: Snapshot['tables']; indexes: Snapshot['indexes']; statements: StatementRow[] }>(
      `SELECT (SELECT json_build_object('xact_commit', xact_commit, 'xact_rollback', xact_rollback, 'blks_read', blks_read, 'blks_hit', blks_hit, 'temp_bytes', temp_bytes, 'deadlocks', deadlocks)
                 FROM pg_stat_database WHERE datname = current_database()) AS db,
              (SELECT coalesce(json_agg(json_build_object('schemaname', schemaname, 'relname', relname, 'seq_scan', coalesce(seq_scan, 0), 'seq_tup_read', coalesce(seq_tup_read, 0),
                                                          'idx_scan', coalesce(idx_scan, 0), 'idx_tup_fetch', coalesce(idx_tup_fetch, 0))), '[]')
                 FROM pg_stat_user_tables) AS tables,
              (SELECT coalesce(json_agg(json_build_object('schemaname', schemaname, 'indexrelname', indexrelname, 'idx_scan', idx_scan)), '[]')
                 FROM pg_stat_user_indexes WHERE schemaname || '.' || indexrelname = ANY($1::text[])) AS indexes,
              ${statementsSql} AS statements`,
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
      ownStatements: this.ownStatements,
    };
  }

  private async describe(before: Snapshot, after: Snapshot, httpRequests: number): Promise<StageDatabase> {
    const notes: string[] = [];
    const transactions = after.xact_commit - before.xact_commit + (after.xact_rollback - before.xact_rollback);
    // Our own transactions in the window: the before-snapshot (it commits after reading) and the samples.
    const ownTransactions = after.ownStatements - before.ownStatements;
    const appTransactions = Math.max(0, transactions - ownTransactions);

    let source: StageDatabase['source'] = 'pg_stat_database';
    let uncertainCalls = false;
    let queries = appTransactions;
    let top: TopStatement[] = [];
    let topByTime: TopStatement[] = [];
    if (this.capabilities.statements) {
      source = 'pg_stat_statements';
      const previous = new Map(before.statements.map((s) => [s.key, s]));
      const deltas = new Map<string, { calls: number; total_ms: number; io_ms: number }>();
      let shrank = false;
      // Calls that may have been the API's but cannot be counted (text evicted, per-role sums that shrank).
      let uncertain = false;
      for (const s of after.statements) {
        const p = previous.get(s.key);
        let calls = s.calls - (p?.calls ?? 0);
        // Fewer calls than before: the entry was evicted (pg_stat_statements.max) and created again
        // during the stage, so all its calls are new. A per-role sum of hidden rows can shrink the
        // same way; its own new calls are then unknown and counted as none (said in a note).
        if (calls < 0) {
          shrank = true;
          if (s.queryid.startsWith('hidden:')) uncertain = true;
          calls = s.queryid.startsWith('hidden:') ? 0 : s.calls;
        }
        if (calls <= 0) continue;
        const d = deltas.get(s.queryid) ?? { calls: 0, total_ms: 0, io_ms: 0 };
        d.calls += calls;
        d.total_ms += s.total_ms - (p?.total_ms ?? 0);
        d.io_ms += s.io_ms - (p?.io_ms ?? 0);
        deltas.set(s.queryid, d);
      }
      const texts = await this.statementTexts([...deltas.keys()].filter((id) => !id.startsWith('hidden:')));
      for (const id of deltas.keys()) if (id.startsWith('hidden:')) texts.set(id, '<insufficient privilege>');
      let hidden = false;
      const counted: Array<TopStatement & { queryid: string }> = [];
      for (const [queryid, d] of deltas) {
        const text = texts.get(queryid);
        if (text === undefined) {
          uncertain = true;
          continue;
        }
        if (text.startsWith(MARK) || text.includes(MARK)) continue;
        if (text === '<insufficient privilege>') hidden = true;
        else if (isSessionControl(text)) continue;
        // pg_stat_statements normalises plannable statements itself, but not utility statements
        // before PostgreSQL 16 (CALL, CREATE … AS, ALTER ROLE … PASSWORD), and comments stay:
        // the text goes to public summaries and the HTML report only through reportableQuery.
        const query = await reportableQuery(text);
        counted.push({
          queryid,
          query: query.length > 300 ? `${query.slice(0, 297)}...` : query,
          calls: d.calls,
          calls_per_request: httpRequests ? round(d.calls / httpRequests, 2) : 0,
          total_ms: round(d.total_ms, 1),
          mean_ms: round(d.total_ms / d.calls, 3),
          ...(this.capabilities.ioColumns.length ? { io_ms: round(d.io_ms, 1) } : {}),
        });
      }
      queries = counted.reduce((n, s) => n + s.calls, 0);
      const strip = ({ queryid: _queryid, ...rest }: TopStatement & { queryid: string }) => rest;
      top = [...counted].sort((a, b) => b.calls - a.calls).slice(0, TOP).map(strip);
      topByTime = [...counted].sort((a, b) => b.total_ms - a.total_ms).slice(0, TOP).map(strip);
      uncertainCalls = uncertain;
      if (shrank) notes.push('pg_stat_statements evicted entries during the stage (pg_stat_statements.max): statement counts may be low');
      if (hidden) {
        notes.push(
          "other roles' statements are hidden (no pg_read_all_stats): they are counted together, transaction control included, and not named; grant pg_read_all_stats to dbtune's role to see them",
        );
      }
    }

    const tablesBefore = new Map(before.tables.map((t) => [`${t.schemaname}.${t.relname}`, t]));
    const tables: TableActivity[] = after.tables
      .map((t) => {
        const p = tablesBefore.get(`${t.schemaname}.${t.relname}`);
        return {
          table: `${t.schemaname}.${t.relname}`,
          seq_scans: t.seq_scan - (p?.seq_scan ?? 0),
          seq_rows_read: t.seq_tup_read - (p?.seq_tup_read ?? 0),
          index_scans: t.idx_scan - (p?.idx_scan ?? 0),
          index_rows_fetched: t.idx_tup_fetch - (p?.idx_tup_fetch ?? 0),
        };
      })
      .filter((t) => t.seq_scans > 0 || t.index_scans > 0)
      .sort((a, b) => b.seq_rows_read - a.seq_rows_read || b.seq_scans - a.seq_scans || b.index_scans - a.index_scans);

    const indexBefore = new Map(before.indexes.map((i) => [`${i.schemaname}.${i.indexrelname}`, i.idx_scan]));
    const indexAfter = new Map(after.indexes.map((i) => [`${i.schemaname}.${i.indexrelname}`, i.idx_scan]));
    const indexes: IndexUse[] = this.indexes.map((i) => {
      const name = `${i.schema}.${i.name}`;
      const scans = (indexAfter.get(name) ?? 0) - (indexBefore.get(name) ?? 0);
      return { index: name, table: i.table, scans, used: scans > 0, exists: indexAfter.has(name) };
    });

    const hits = after.blks_hit - before.blks_hit;
    const reads = after.blks_read - before.blks_read;
    const connections = summarizeSamples(this.samples);
    // Nothing attributable, and nothing that might have been: a database the API did not use.
    const noData = httpRequests > 0 && queries === 0 && !uncertainCalls;
    if (noData) {
      notes.unshift(
        `NO DATA: ${httpRequests} requests were sent, but this database saw no ${source === 'pg_stat_statements' ? 'statements' : 'transactions'} besides dbtune's own: is database.url the database the API uses? Database thresholds count as failed`,
      );
    }
    if (connections.unknownStates) notes.push("other roles' sessions show no state: grant pg_read_all_stats to dbtune's role to see it");
    return {
      source,
      queries_per_request: httpRequests ? round(queries / httpRequests, 2) : null,
      no_data: noData,
      queries,
      transactions: appTransactions,
      rollbacks: after.xact_rollback - before.xact_rollback,
      connections_peak: connections.peak,
      connections_mean: connections.mean,
      connections_by_state: connections.byState,
      wait_events: connections.waitEvents,
      samples: this.samples.length,
      cache_hit_ratio: hits + reads ? round(hits / (hits + reads), 4) : null,
      temp_bytes: after.temp_bytes - before.temp_bytes,
      deadlocks: after.deadlocks - before.deadlocks,
      top_statements: top,
      top_statements_by_time: topByTime,
      tables,
      indexes,
      notes: [...notes],
    };
  }

  private async statementTexts(queryids: string[]): Promise<Map<string, string>> {
    if (!queryids.length || !this.capabilities.statements) return new Map();
    const rows = await this.query<{ queryid: string; query: string | null }>(
      `SELECT DISTINCT ON (s.queryid) s.queryid::text AS queryid, coalesce(s.query, '<insufficient privilege>') AS query
         FROM ${this.capabilities.statements}(true) s
        WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.queryid = ANY($1::bigint[])`,
      [queryids],
    );
    return new Map(rows.map((r) => [r.queryid, r.query ?? '<insufficient privilege>']));
  }
}

/** What the server offers: pg_stat_statements in this database (and loaded), and its version's column names. */
async function detect(session: SqlSession): Promise<Capabilities> {
  const notes: string[] = [];
  const [ext] = await session.query<{ schema: string | null }>(
    marked(`SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`),
  );
  const capabilities: Capabilities = { ioColumns: [], toplevel: false, notes };
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
  const columns = await session.query<{ name: string }>(
    marked(`SELECT a.attname AS name FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = 'pg_stat_statements' AND a.attnum > 0 AND NOT a.attisdropped`),
    [ext.schema],
  );
  const names = new Set(columns.map((c) => c.name));
  capabilities.ioColumns = ioTimeColumns(names);
  capabilities.toplevel = names.has('toplevel');
  capabilities.statements = fn;
  return capabilities;
}

/** The block read/write time columns of pg_stat_statements under this version's names. */
export function ioTimeColumns(columns: ReadonlySet<string>): string[] {
  if (columns.has('shared_blk_read_time')) return ['shared_blk_read_time', 'shared_blk_write_time', 'local_blk_read_time', 'local_blk_write_time'].filter((c) => columns.has(c));
  return ['blk_read_time', 'blk_write_time'].filter((c) => columns.has(c));
}

/** Transaction control and session settings: not the application's queries. */
export function isSessionControl(query: string): boolean {
  return /^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END|SAVEPOINT|RELEASE|SET|RESET|SHOW|DISCARD|DEALLOCATE)\b/i.test(query);
}

function summarizeSamples(samples: Sample[][]): { peak: number; mean: number; byState: Record<string, { peak: number; mean: number }>; waitEvents: Record<string, number>; unknownStates: boolean } {
  const byState: Record<string, { peak: number; sum: number }> = {};
  const waitEvents: Record<string, number> = {};
  let peak = 0;
  let sum = 0;
  let unknownStates = false;
  for (const sample of samples) {
    const total = sample.reduce((n, r) => n + r.n, 0);
    peak = Math.max(peak, total);
    sum += total;
    const states = new Map<string, number>();
    for (const r of sample) {
      states.set(r.state, (states.get(r.state) ?? 0) + r.n);
      if (r.state === 'unknown') unknownStates = true;
      if (r.wait_event_type && r.wait_event && r.state !== 'idle') {
        const key = `${r.wait_event_type}:${r.wait_event}`;
        waitEvents[key] = (waitEvents[key] ?? 0) + 1;
      }
    }
    for (const [state, n] of states) {
      const s = (byState[state] ??= { peak: 0, sum: 0 });
      s.peak = Math.max(s.peak, n);
      s.sum += n;
    }
  }
  const count = samples.length || 1;
  return {
    peak,
    mean: round(sum / count, 1),
    byState: Object.fromEntries(Object.entries(byState).map(([state, s]) => [state, { peak: s.peak, mean: round(s.sum / count, 1) }])),
    waitEvents,
    unknownStates,
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
