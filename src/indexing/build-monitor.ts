import type { SqlSession } from '../db/client.js';
import { stripControl } from '../text/safe-text.js';
import { reportableQuery } from '../sql/reportable-query.js';

/** A session that a build is waiting for. */
export interface BlockingSession {
  pid: number;
  state: string | null;
  /** Seconds since that session's transaction started. */
  transactionAgeSeconds: number | null;
  /** Its current or last query, literals replaced by `$n` and truncated (another user's text: see reportableQuery). */
  query: string | null;
  applicationName: string | null;
  user: string | null;
}

/** What one build session is doing, read from pg_stat_activity and pg_stat_progress_create_index. */
export interface BuildSnapshot {
  pid: number;
  /** pg_stat_activity.query_start: which statement this snapshot saw (a cancel must not hit the next one). */
  queryStart: string | null;
  /** e.g. "building index: scanning table", "waiting for old snapshots"; null before the build reports progress. */
  phase: string | null;
  /** Waiting on a heavyweight lock (a table lock, or an older transaction's virtual xid). */
  waiting: boolean;
  waitEvent: string | null;
  blocksTotal: number | null;
  blocksDone: number | null;
  tuplesTotal: number | null;
  tuplesDone: number | null;
  lockersTotal: number | null;
  lockersDone: number | null;
  partitionsTotal: number | null;
  partitionsDone: number | null;
  blockers: BlockingSession[];
}

const QUERY_PREVIEW_CHARS = 120;

/**
 * One statement per poll for all running builds: their progress and the
 * sessions blocking them (pg_blocking_pids, and the locker a concurrent
 * build is waiting out, current_locker_pid).
 */
export async function snapshotBuilds(session: SqlSession, pids: readonly number[]): Promise<Map<number, BuildSnapshot>> {
  const snapshots = new Map<number, BuildSnapshot>();
  if (pids.length === 0) return snapshots;
  const rows = await session.query<{
    pid: number;
    query_start: string | null;
    phase: string | null;
    wait_event_type: string | null;
    wait_event: string | null;
    blocks_total: string | null;
    blocks_done: string | null;
    tuples_total: string | null;
    tuples_done: string | null;
    lockers_total: string | null;
    lockers_done: string | null;
    partitions_total: string | null;
    partitions_done: string | null;
    blockers: BlockerRow[] | null;
  }>(
    `SELECT a.pid, a.query_start::text AS query_start, p.phase, a.wait_event_type, a.wait_event,
            p.blocks_total, p.blocks_done, p.tuples_total, p.tuples_done,
            p.lockers_total, p.lockers_done, p.partitions_total, p.partitions_done,
            (SELECT json_agg(json_build_object(
                      'pid', b.pid, 'state', b.state,
                      'xact_age', extract(epoch FROM now() - b.xact_start)::float8,
                      'query', b.query,
                      'application_name', b.application_name, 'usename', b.usename) ORDER BY b.xact_start)
               FROM pg_stat_activity b
              WHERE b.pid <> a.pid
                AND (b.pid = ANY (pg_blocking_pids(a.pid)) OR b.pid = p.current_locker_pid)) AS blockers
       FROM pg_stat_activity a
       LEFT JOIN pg_stat_progress_create_index p ON p.pid = a.pid
      WHERE a.pid = ANY ($1::int[])`,
    [pids],
  );
  const num = (v: string | null) => (v === null ? null : Number(v));
  for (const r of rows) {
    snapshots.set(r.pid, {
      pid: r.pid,
      queryStart: r.query_start,
      phase: r.phase,
      waiting: r.wait_event_type === 'Lock',
      waitEvent: r.wait_event_type ? `${r.wait_event_type}:${r.wait_event}` : null,
      blocksTotal: num(r.blocks_total),
      blocksDone: num(r.blocks_done),
      tuplesTotal: num(r.tuples_total),
      tuplesDone: num(r.tuples_done),
      lockersTotal: num(r.lockers_total),
      lockersDone: num(r.lockers_done),
      partitionsTotal: num(r.partitions_total),
      partitionsDone: num(r.partitions_done),
      blockers: await Promise.all((r.blockers ?? []).map(blockingSession)),
    });
  }
  return snapshots;
}

type BlockerRow = { pid: number; state: string | null; xact_age: number | null; query: string | null; application_name: string | null; usename: string | null };

/**
 * A blocker as reports show it. Its query is another session's, literals and
 * all (a token, an email), and it is printed on stderr and in apply's reports
 * (public job summaries): normalised whole — before truncation, which would
 * cut a literal open — then shortened. Any client can set application_name.
 */
async function blockingSession(b: BlockerRow): Promise<BlockingSession> {
  const query = b.query === null ? null : await reportableQuery(b.query);
  return {
    pid: b.pid,
    state: b.state,
    transactionAgeSeconds: b.xact_age,
    query: query === null ? null : query.length > QUERY_PREVIEW_CHARS ? `${query.slice(0, QUERY_PREVIEW_CHARS)}…` : query,
    applicationName: b.application_name === null ? null : stripControl(b.application_name),
    user: b.usename === null ? null : stripControl(b.usename),
  };
}

export function describeBlocker(b: BlockingSession): string {
  const age = b.transactionAgeSeconds === null ? 'no open transaction' : `transaction open ${Math.round(b.transactionAgeSeconds)}s`;
  const query = b.query ? `: ${b.query.replace(/\s+/g, ' ').trim()}` : '';
  return `pid ${b.pid} (${b.state ?? 'state hidden'}, ${age}${b.applicationName ? `, ${b.applicationName}` : ''})${query}`;
}
