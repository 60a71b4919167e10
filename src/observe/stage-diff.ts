import { round } from '../report/round.js';
import { reportableQuery } from '../sql/reportable-query.js';
import { WATCHED_STATEMENTS, type IndexUse, type RoleStatements, type StageDatabase, type StatementTracking, type TableActivity, type TopStatement, type WatchedStatement } from '../model/stage-database.js';
import { judgeStatementTracking, trackingNote } from './statement-tracking.js';
import { MARK, type Capabilities, type Sample, type Snapshot, type StatementRow, type WatchedIndex } from './watch-queries.js';

/**
 * A stage's database figures from the snapshots before and after it and the
 * activity samples taken during it. No statement is run here: the texts of the
 * statements that ran are looked up through `statementTexts`, given by the watch.
 */

const TOP = 5;

export interface StageDiffInput {
  before: Snapshot;
  after: Snapshot;
  samples: Sample[][];
  httpRequests: number;
  capabilities: Capabilities;
  /** Oids (as text) of the roles whose statements count, by name; undefined: every role's. */
  roles: ReadonlyMap<string, string> | undefined;
  indexes: readonly WatchedIndex[];
  /** Texts of the given pg_stat_statements queryids (missing: evicted since). */
  statementTexts(queryids: string[]): Promise<Map<string, string>>;
}

export async function describeStage(input: StageDiffInput): Promise<StageDatabase> {
const { before, after, httpRequests, capabilities, roles: countedRoles, indexes: watched, samples } = input;
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
  let statements: WatchedStatement[] | undefined;
  let roles: RoleStatements[] | undefined;
  let tracking: StatementTracking | undefined;
  if (capabilities.statements) {
    source = 'pg_stat_statements';
    const previous = new Map(before.statements.map((s) => [s.key, s]));
    const present = new Set(after.statements.map((s) => s.key));
    // Per statement, the calls of each role (userid) in the stage.
    const deltas = new Map<string, Map<string, { calls: number; total_ms: number; io_ms: number }>>();
    let removed = 0;
    for (const s of before.statements) if (!present.has(s.key)) removed++;
    let recreated = 0;
    // Calls that may have been the API's but cannot be counted (text evicted, per-role sums that shrank).
    let uncertain = false;
    for (const s of after.statements) {
      const hiddenSum = s.queryid.startsWith('hidden:');
      let p: StatementRow | undefined = previous.get(s.key);
      // Created again during the stage (evicted or reset, then run again): all its calls are new.
      // Known from stats_since (17+), else only when it has fewer calls than before. A per-role sum
      // of hidden rows can shrink the same way; its own new calls are then unknown and counted as none.
      if (p && ((!hiddenSum && s.since !== null && s.since !== p.since) || s.calls < p.calls)) {
        recreated++;
        if (hiddenSum) {
          uncertain = true;
          continue;
        }
        p = undefined;
      }
      const calls = s.calls - (p?.calls ?? 0);
      if (calls <= 0) continue;
      const byRole = deltas.get(s.queryid) ?? new Map<string, { calls: number; total_ms: number; io_ms: number }>();
      const userid = String(s.userid);
      const d = byRole.get(userid) ?? { calls: 0, total_ms: 0, io_ms: 0 };
      d.calls += calls;
      d.total_ms += s.total_ms - (p?.total_ms ?? 0);
      d.io_ms += s.io_ms - (p?.io_ms ?? 0);
      byRole.set(userid, d);
      deltas.set(s.queryid, byRole);
    }
    const roleNames = new Map<string, string>();
    for (const s of [...before.statements, ...after.statements]) roleNames.set(String(s.userid), s.role ?? `role oid ${s.userid}`);
    const countedIds = countedRoles ? new Set(countedRoles.values()) : undefined;
    const isCounted = (userid: string) => !countedIds || countedIds.has(userid);
    const texts = await input.statementTexts([...deltas.keys()].filter((id) => !id.startsWith('hidden:')));
    for (const id of deltas.keys()) if (id.startsWith('hidden:')) texts.set(id, '<insufficient privilege>');
    let hidden = false;
    const perRole = new Map<string, number>();
    const counted: Array<TopStatement & { queryid: string; full: string }> = [];
    for (const [queryid, byRole] of deltas) {
      const text = texts.get(queryid);
      if (text === undefined) {
        uncertain = true;
        continue;
      }
      if (text.includes(MARK)) continue;
      if (text === '<insufficient privilege>') hidden = true;
      else if (isSessionControl(text)) continue;
      const d = { calls: 0, total_ms: 0, io_ms: 0 };
      for (const [userid, r] of byRole) {
        perRole.set(userid, (perRole.get(userid) ?? 0) + r.calls);
        if (!isCounted(userid)) continue;
        d.calls += r.calls;
        d.total_ms += r.total_ms;
        d.io_ms += r.io_ms;
      }
      if (d.calls === 0) continue;
      // pg_stat_statements normalises plannable statements itself, but not utility statements
      // before PostgreSQL 16 (CALL, CREATE … AS, ALTER ROLE … PASSWORD), and comments stay:
      // the text goes to public summaries and the HTML report only through reportableQuery.
      const query = await reportableQuery(text);
      counted.push({
        queryid,
        full: query,
        query: query.length > 300 ? `${query.slice(0, 297)}...` : query,
        calls: d.calls,
        calls_per_request: httpRequests ? round(d.calls / httpRequests, 2) : 0,
        total_ms: round(d.total_ms, 1),
        mean_ms: round(d.total_ms / d.calls, 3),
        ...(capabilities.ioColumns.length ? { io_ms: round(d.io_ms, 1) } : {}),
      });
    }
    queries = counted.reduce((n, s) => n + s.calls, 0);
    const strip = ({ queryid: _queryid, full: _full, ...rest }: TopStatement & { queryid: string; full: string }) => rest;
    top = [...counted].sort((a, b) => b.calls - a.calls).slice(0, TOP).map(strip);
    const byTime = [...counted].sort((a, b) => b.total_ms - a.total_ms);
    topByTime = byTime.slice(0, TOP).map(strip);
    // In full, for advise: a shortened text does not parse.
    statements = byTime.slice(0, WATCHED_STATEMENTS).map((s) => ({ query: s.full, calls: s.calls, total_ms: s.total_ms }));
    uncertainCalls = uncertain;
    roles = [...perRole]
      .map(([userid, statements]) => ({ role: roleNames.get(userid) ?? `role oid ${userid}`, statements, counted: isCounted(userid) }))
      .sort((a, b) => Number(b.counted) - Number(a.counted) || b.statements - a.statements || a.role.localeCompare(b.role));
    // Named roles that ran nothing in the stage are listed too: "0 statements" is the finding.
    for (const [name] of countedRoles ?? []) if (!roles.some((r) => r.role === name)) roles.push({ role: name, statements: 0, counted: true });
    tracking = judgeStatementTracking(capabilities.info ? (capabilities.statsSince ? 'entries' : 'global') : 'unavailable', before.infoFirst, after.infoLast, { removed, recreated });
    const lost = trackingNote(tracking);
    if (lost) notes.push(lost);
    const others = roles.filter((r) => !r.counted && r.statements > 0);
    if (others.length) {
      notes.push(`left out (not in database.roles): ${others.map((r) => `${r.statements} statements of ${r.role}`).join(', ')}`);
    } else if (!countedRoles && roles.length > 1) {
      notes.push(`statements of ${roles.length} roles are counted (${roles.map((r) => r.role).join(', ')}): database.roles counts only the API's`);
    }
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
  const indexes: IndexUse[] = watched.map((i) => {
    const name = `${i.schema}.${i.name}`;
    const scans = (indexAfter.get(name) ?? 0) - (indexBefore.get(name) ?? 0);
    return { index: name, table: i.table, scans, used: scans > 0, exists: indexAfter.has(name) };
  });

  const hits = after.blks_hit - before.blks_hit;
  const reads = after.blks_read - before.blks_read;
  const connections = summarizeSamples(samples);
  // Nothing attributable, and nothing that might have been: a database the API did not use.
  const noData = httpRequests > 0 && queries === 0 && !uncertainCalls && !tracking?.reset;
  if (noData) {
    const whose = countedRoles && source === 'pg_stat_statements' ? ` of ${[...countedRoles.keys()].join(', ')}` : '';
    const hint = whose ? 'are database.url and database.roles the database and role(s) the API uses?' : 'is database.url the database the API uses?';
    notes.unshift(
      `NO DATA: ${httpRequests} requests were sent, but this database saw no ${source === 'pg_stat_statements' ? 'statements' : 'transactions'}${whose} besides dbtune's own: ${hint} Database thresholds count as failed`,
    );
  }
  if (connections.unknownStates) notes.push("other roles' sessions show no state: grant pg_read_all_stats to dbtune's role to see it");
  return {
    source,
    // After a reset the count is a part of the stage's of unknown size: no figure rather than a low one.
    queries_per_request: httpRequests && !tracking?.reset ? round(queries / httpRequests, 2) : null,
    no_data: noData,
    queries,
    ...(roles ? { roles } : {}),
    ...(tracking ? { statement_tracking: tracking } : {}),
    transactions: appTransactions,
    rollbacks: after.xact_rollback - before.xact_rollback,
    connections_peak: connections.peak,
    connections_mean: connections.mean,
    connections_by_state: connections.byState,
    wait_events: connections.waitEvents,
    samples: samples.length,
    cache_hit_ratio: hits + reads ? round(hits / (hits + reads), 4) : null,
    temp_bytes: after.temp_bytes - before.temp_bytes,
    deadlocks: after.deadlocks - before.deadlocks,
    top_statements: top,
    top_statements_by_time: topByTime,
    ...(statements ? { statements } : {}),
    tables,
    indexes,
    notes: [...notes],
  };
}

/** Transaction control and session settings: not the application's queries. */
export function isSessionControl(query: string): boolean {
  return /^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END|SAVEPOINT|RELEASE|SET|RESET|SHOW|DISCARD|DEALLOCATE)\b/i.test(query);
}

export function summarizeSamples(samples: Sample[][]): { peak: number; mean: number; byState: Record<string, { peak: number; mean: number }>; waitEvents: Record<string, number>; unknownStates: boolean } {
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
