import type { SqlSession } from '../../db/client.js';
import { tableKey } from '../../model/declaration.js';
import { displayQualified } from '../../sql/identifiers.js';
import type { IndexPlan } from '../plan.js';
import { chooseBuildParallelism, type BuildGroup } from './build-parallelism.js';
import type { AppliedIndex, BuildSchedule } from './results.js';
import { readServerCapacity, unknownCapacity } from './server-capacity.js';
import type { BuildSettings } from './settings.js';

/**
 * Indexes on one table build one after another (a group); groups build in
 * parallel, one per build session. Longest work first (pages × indexes), so
 * parallel workers finish close together.
 */
export function groupByTable(plans: readonly IndexPlan[], tablePages: ReadonlyMap<string, number> = new Map()): IndexPlan[][] {
  const groups = new Map<string, IndexPlan[]>();
  for (const plan of plans) {
    const key = tableKey(plan.declaration.table);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(plan);
  }
  const work = (group: IndexPlan[]) => (tablePages.get(tableKey(group[0]!.declaration.table)) ?? 0) * group.length + group.length;
  return [...groups.values()].sort((a, b) => work(b) - work(a));
}

/**
 * How many builds at once and how many parallel workers each, for groups that
 * build an index (a drop needs neither: undefined). What the server tells
 * (cores, worker limits) is read on the control session; a server that will
 * not answer gets the rule for an unknown core count, not a failed run.
 */
export async function chooseSchedule(
  control: SqlSession,
  groups: readonly IndexPlan[][],
  settings: Pick<BuildSettings, 'jobs' | 'maxParallelMaintenanceWorkers' | 'serverCores'>,
  tablePages: ReadonlyMap<string, number> = new Map(),
): Promise<BuildSchedule | undefined> {
  const builds = (plan: IndexPlan) => plan.statements.some((s) => s.purpose === 'create');
  if (!groups.some((g) => g.some(builds))) return undefined;
  const capacity = await readServerCapacity(control, settings.serverCores).catch(() => unknownCapacity(settings.serverCores));
  const buildGroups: BuildGroup[] = groups.map((group) => ({
    table: displayQualified(group[0]!.declaration.table),
    pages: tablePages.get(tableKey(group[0]!.declaration.table)) ?? 0,
    indexes: Math.max(1, group.filter(builds).length),
  }));
  const choice = chooseBuildParallelism(buildGroups, capacity, {
    ...(settings.jobs !== undefined ? { jobs: settings.jobs } : {}),
    ...(settings.maxParallelMaintenanceWorkers !== undefined ? { workers: settings.maxParallelMaintenanceWorkers } : {}),
  });
  const workersByTable = new Map(groups.map((group, i) => [tableKey(group[0]!.declaration.table), choice.workers[i]!]));
  return { choice, capacity, groups: buildGroups, workersByTable, refused: [] };
}

/**
 * Opens up to `wanted` build sessions before any build starts: a role's
 * connection limit or a full server then means fewer parallel builds, not
 * failed ones, and no worker can quit while another still connects. The first
 * opens alone: PostgreSQL counts a new backend against the role's connection
 * limit before it checks the limit (documented as approximate), so sessions
 * opening at the same moment can all be refused where one would fit.
 */
export async function openBuildSessions(open: () => Promise<SqlSession>, wanted: number): Promise<{ sessions: SqlSession[]; error: unknown }> {
  const first = await Promise.allSettled(wanted ? [open()] : []);
  const rest = first[0]?.status === 'fulfilled' ? await Promise.allSettled(Array.from({ length: wanted - 1 }, open)) : [];
  const opened = [...first, ...rest];
  return {
    sessions: opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : [])),
    error: opened.find((o): o is PromiseRejectedResult => o.status === 'rejected')?.reason,
  };
}

export interface WorkerPool {
  /** Groups not started yet; a worker that lost its session hands the rest of its group back here. */
  groups: IndexPlan[][];
  signal: AbortSignal;
  /** Opens and configures a replacement for a session whose connection died. */
  open: () => Promise<SqlSession>;
  /** A replacement session could not be opened. */
  onSessionError: (error: unknown) => void;
  /** A replacement session was opened (its pid is one of dbtune's own). */
  onSessionOpened: (session: SqlSession) => void;
  runPlan: (session: SqlSession, plan: IndexPlan) => Promise<AppliedIndex>;
  finish: (result: AppliedIndex) => void;
  /** After the last index of a group, on the same session (ANALYZE, overlapping the builds still running). */
  afterGroup?: (session: SqlSession, group: readonly IndexPlan[]) => Promise<void>;
}

/** One worker per session: each takes the next group until none is left, and closes its session. */
export function startWorkers(sessions: readonly SqlSession[], pool: WorkerPool): Array<Promise<void>> {
  const { groups, signal } = pool;
  return sessions.map(async (first) => {
    let session: SqlSession | undefined = first;
    try {
      while (groups.length) {
        const group = groups.shift()!;
        for (let i = 0; i < group.length; i++) {
          const plan = group[i]!;
          if (signal.aborted) {
            pool.finish({ plan, action: 'skipped', reason: 'interrupted before it started', executed: [], durationMs: 0 });
            continue;
          }
          if (session.broken) {
            // The connection died (network, a terminated backend): carry on with a new one, or hand the work back.
            await session.close();
            session = await pool.open().catch((error: unknown) => {
              pool.onSessionError(error);
              return undefined;
            });
            if (!session) {
              groups.unshift(group.slice(i));
              return;
            }
            pool.onSessionOpened(session);
          }
          pool.finish(await pool.runPlan(session, plan));
        }
        if (!signal.aborted && !session.broken) await pool.afterGroup?.(session, group);
      }
    } finally {
      await session?.close();
    }
  });
}
