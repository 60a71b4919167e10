import type { SqlSession } from '../../db/client.js';
import { pgErrorFields } from '../../errors.js';
import { tableKey } from '../../model/declaration.js';
import type { IndexPlan, PlannedStatement } from '../plan.js';
import { assertPlannedStatements } from '../statement-check.js';
import { analyzeTouched, plannedTables, type Analysis, type AnalyzeContext } from './analyze-touched.js';
import { describeChoice } from './build-parallelism.js';
import { failureReason } from './classify-failure.js';
import { dropLeftover, settlePartialRebuild } from './cleanup.js';
import type { AppliedAction, AppliedIndex, ApplyEvent, BuildSchedule, ExecutionResult, RunningBuild } from './results.js';
import { chooseSchedule, groupByTable, openBuildSessions, startWorkers } from './scheduler.js';
import { briefLockTimeoutMs, configureBuildSession, sessionMaintenanceWorkMem, setLockTimeout, setParallelWorkers, type BuildSettings, type RefusedSetting } from './settings.js';
import { tryReadTableStatistics } from './table-statistics.js';
import { monitorWaits } from './wait-monitor.js';

const SUCCESS_REASONS: Partial<Record<IndexPlan['action'], string>> = {
  create: 'built',
  repair: 'invalid leftover dropped and rebuilt',
  rebuild: 'drift rebuilt under a temporary name, then swapped in',
  drop: 'dropped concurrently',
};

/**
 * Runs plans: each statement alone on its session, never in a transaction.
 * Indexes on different tables build in parallel (`jobs`), those on one table
 * one after another. A failed build is a result row, not an exception: its
 * leftover is dropped and the others go on.
 */
export async function executePlans(
  control: SqlSession,
  openBuildSession: () => Promise<SqlSession>,
  plans: readonly IndexPlan[],
  settings: BuildSettings,
  hooks: {
    signal: AbortSignal;
    onEvent: (event: ApplyEvent) => void;
    /** Table sizes (pages, by `tableKey`): the biggest tables start first, so parallel builds end together. */
    tablePages?: ReadonlyMap<string, number>;
  },
): Promise<ExecutionResult> {
  const { signal, onEvent } = hooks;
  await assertPlannedStatements(plans);
  const results = new Map<IndexPlan, AppliedIndex>();
  const finish = (result: AppliedIndex) => {
    results.set(result.plan, result);
    onEvent({ type: 'done', result });
  };

  for (const plan of plans) {
    if (plan.statements.length) continue;
    const base = { plan, executed: [], durationMs: 0 };
    if (plan.action === 'none') finish({ ...base, action: plan.state.status === 'absent' ? 'absent' : 'exists', reason: plan.state.reason });
    else if (plan.action === 'drift') finish({ ...base, action: 'drift', reason: plan.note ?? `${plan.state.reason} (left untouched; --rebuild-drift rebuilds it)` });
    else if (plan.action === 'wait') finish({ ...base, action: 'skipped', reason: `${plan.state.reason}; run apply again once it finishes` });
    else finish({ ...base, action: 'failed', reason: plan.note ?? plan.state.reason, ...(plan.state.error ? { error: plan.state.error } : {}) });
  }

  const groups = groupByTable(plans.filter((p) => p.statements.length > 0), hooks.tablePages);
  const running = new Map<number, RunningBuild>();
  // Our own sessions: the monitor's brief queries and parallel builds are waits we expect.
  const ownPids = new Set<number>([control.pid]);
  const schedule = await chooseSchedule(control, groups, settings, hooks.tablePages);
  const wanted = groups.length ? Math.min(Math.max(1, schedule?.choice.buildsAtOnce ?? settings.jobs ?? 1), groups.length) : 0;
  const maintenanceWorkMem = sessionMaintenanceWorkMem(settings.maintenanceWorkMem, wanted);
  if (schedule) onEvent({ type: 'notice', message: `schedule: ${describeChoice(schedule.choice, schedule.groups)}; maintenance_work_mem ${maintenanceWorkMem} per build session${settings.maintenanceWorkMem === undefined ? ' (a share of 1GB)' : ''}` });
  const refusedSettings = new Map<string, RefusedSetting>();
  const refuse = (refused: RefusedSetting) => {
    if (refusedSettings.has(refused.name)) return;
    refusedSettings.set(refused.name, refused);
    onEvent({ type: 'notice', message: `the server refused ${refused.name} = ${refused.wanted} (${refused.error}): builds use its own value` });
  };
  // What each build session's max_parallel_maintenance_workers holds (read back after setting it).
  const sessionWorkers = new Map<SqlSession, number | undefined>();

  if ((schedule?.choice.buildsAtOnce ?? settings.jobs ?? 1) > 1 && groups.length > 1) {
    const waitsForOthers = control.serverVersionNum < 140000 || groups.some((g) => g.some((p) => p.declaration.where !== undefined || p.declaration.keys.some((k) => k.kind === 'expression')));
    if (waitsForOthers) {
      onEvent({
        type: 'notice',
        message:
          control.serverVersionNum < 140000
            ? 'PostgreSQL 13: concurrent index builds wait for each other to finish their phases, so parallel builds overlap only partly'
            : 'expression and partial indexes: concurrent builds wait for each other (PostgreSQL 14+ lets only plain-column builds skip that wait), so they overlap only partly',
      });
    }
  }

  // Whether ANALYZE adds statistics depends on them as they were before the builds: read now, in one query.
  const analysis: Analysis = { analyzed: [], analyzeSkipped: [], analyzeFailures: [] };
  const analyzeContext: AnalyzeContext = {
    mode: settings.analyze,
    statistics: settings.analyze === 'when-useful' ? await tryReadTableStatistics(control, [...plannedTables(plans).values()].map((t) => t.table), (message) => onEvent({ type: 'notice', message })) : undefined,
    analysis,
    onEvent,
    signal,
  };

  // A role-level statement_timeout (common on managed services) must not cut ANALYZE of a big table short.
  await control.query("SELECT set_config('statement_timeout', '0', false)");

  // --max-wait is a budget per index, across all its statements (a partitioned build has many).
  const waitedByPlan = new Map<IndexPlan, number>();
  const onAbort = () => {
    for (const [pid, build] of running) {
      build.cancelReason ??= 'interrupted';
      void control.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
    }
  };
  signal.addEventListener('abort', onAbort);

  const runPlan = async (session: SqlSession, plan: IndexPlan): Promise<AppliedIndex> => {
    const startedAt = Date.now();
    const executed: string[] = [];
    const workers = schedule?.workersByTable.get(tableKey(plan.declaration.table));
    if (workers !== undefined && sessionWorkers.get(session) !== workers) {
      const set = await setParallelWorkers(session, workers);
      if (set.refused) refuse(set.refused);
      sessionWorkers.set(session, set.value);
    }
    const parallel = workers !== undefined && sessionWorkers.get(session) !== undefined ? { parallelWorkers: sessionWorkers.get(session)! } : {};
    for (const statement of plan.statements) {
      if (signal.aborted) {
        const result: AppliedIndex = {
          plan,
          action: 'skipped',
          reason: executed.length ? `interrupted after ${executed.length} of ${plan.statements.length} statements` : 'interrupted before it started',
          executed,
          durationMs: Date.now() - startedAt,
        };
        if (plan.action === 'rebuild' && executed.length >= 2) await settlePartialRebuild(session, plan, result, settings.cleanupTimeoutMs);
        return result;
      }
      const build: RunningBuild = { plan, statement, startedAt: Date.now(), waitedMs: waitedByPlan.get(plan) ?? 0, lastPoll: Date.now(), lastWaitReport: 0, lastBlockerKey: '', blockers: [] };
      running.set(session.pid, build);
      onEvent({ type: 'statement', plan, statement, pid: session.pid });
      try {
        if (statement.briefLock) await setLockTimeout(session, briefLockTimeoutMs(settings));
        await session.query(statement.sql);
        executed.push(statement.sql);
        if (statement.briefLock) await setLockTimeout(session, settings.lockTimeoutMs);
      } catch (error) {
        if (statement.briefLock) await setLockTimeout(session, settings.lockTimeoutMs).catch(() => undefined);
        running.delete(session.pid);
        return { ...(await failed(session, plan, statement, build, error, executed, startedAt)), ...parallel };
      } finally {
        running.delete(session.pid);
        waitedByPlan.set(plan, build.waitedMs);
      }
    }
    const action: AppliedAction = plan.action === 'create' ? 'created' : plan.action === 'drop' ? 'dropped' : 'repaired';
    const reason = plan.note ?? SUCCESS_REASONS[plan.action] ?? 'done';
    return { plan, action, reason, executed, durationMs: Date.now() - startedAt, ...parallel };
  };

  const failed = async (session: SqlSession, plan: IndexPlan, statement: PlannedStatement, build: RunningBuild, error: unknown, executed: string[], startedAt: number): Promise<AppliedIndex> => {
    const fields = pgErrorFields(error);
    const reason = failureReason({ error: fields, statement, blockers: build.blockers, aborted: signal.aborted, ...(build.cancelReason ? { cancelReason: build.cancelReason } : {}) }, settings);
    const result: AppliedIndex = { plan, action: signal.aborted ? 'skipped' : 'failed', reason, executed, durationMs: Date.now() - startedAt, error: fields };
    if (build.blockers.length) result.blockers = build.blockers;
    if (plan.action === 'rebuild' && (statement.purpose === 'drop-old' || statement.purpose === 'rename')) {
      await settlePartialRebuild(session, plan, result, settings.cleanupTimeoutMs);
    } else if (statement.purpose === 'create' && fields.code !== '42P07') {
      // A failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind; drop it (but never one we did not create).
      const built = statement.builds ?? { schema: plan.declaration.table.schema, name: plan.buildName };
      const leftover = await dropLeftover(session, built, settings.cleanupTimeoutMs);
      if (leftover) {
        result.leftover = leftover;
        result.leftoverIndex = built.name;
      }
      if (leftover === 'remains') {
        result.reason += `; its unfinished index ${built.name} could not be dropped yet (a session still holds a lock on the table): the next apply repairs it`;
      }
    }
    return result;
  };

  const openConfigured = async () => {
    const session = await openBuildSession();
    try {
      for (const refused of await configureBuildSession(session, settings, maintenanceWorkMem)) refuse(refused);
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  };
  const { sessions, error: openError } = await openBuildSessions(openConfigured, wanted);
  let sessionError: unknown = openError;
  for (const session of sessions) ownPids.add(session.pid);
  if (sessions.length && sessions.length < wanted) {
    onEvent({ type: 'notice', message: `could open only ${sessions.length} of ${wanted} build sessions (${pgErrorFields(sessionError).message}): building ${sessions.length} at a time` });
  }

  const workers = startWorkers(sessions, {
    groups,
    signal,
    open: openConfigured,
    onSessionError: (error) => {
      sessionError = error;
    },
    onSessionOpened: (session) => ownPids.add(session.pid),
    runPlan,
    finish,
    // A table's ANALYZE runs as soon as its last build ends, beside the builds still running, instead of all at the end.
    afterGroup: settings.analyze !== 'never' ? (session, group) => analyzeTouched(session, group.flatMap((p) => results.get(p) ?? []), analyzeContext) : undefined,
  });

  // Wakes the monitor the moment the last build ends, instead of after a full poll interval.
  const buildsFinished = new AbortController();
  const monitor = monitorWaits({ control, running, ownPids, settings, onEvent, done: buildsFinished.signal });

  try {
    // allSettled: one worker's failure must not end the run while another's build is still going.
    await Promise.allSettled(workers);
  } finally {
    buildsFinished.abort();
    await monitor;
    signal.removeEventListener('abort', onAbort);
  }

  for (const group of groups.splice(0)) {
    for (const plan of group) {
      finish({ plan, action: 'failed', reason: `could not open a build session: ${pgErrorFields(sessionError).message}`, executed: [], durationMs: 0 });
    }
  }

  // Tables whose group did not finish on its session (a lost connection) are analyzed here.
  if (settings.analyze !== 'never' && !signal.aborted) await analyzeTouched(control, results.values(), analyzeContext);
  return {
    indexes: plans.map((p) => results.get(p)!),
    ...analysis,
    interrupted: signal.aborted,
    ...(schedule ? { schedule: { ...schedule, refused: [...refusedSettings.values()] } } : {}),
  };
}
