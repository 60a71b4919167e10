import type { SqlSession } from '../db/client.js';
import { displayQualified, type QualifiedName } from '../sql/identifiers.js';
import { pgErrorFields } from '../errors.js';
import type { PgErrorFields } from '../text/safe-error.js';
import { formatMs } from '../config/duration.js';
import { sleep } from '../time/sleep.js';
import { describeBlocker, snapshotBuilds, type BlockingSession, type BuildSnapshot } from './build-monitor.js';
import { tableKey } from '../model/declaration.js';
import { analyzeSql, dropIndexSql } from './index-sql.js';
import type { IndexPlan, PlannedStatement } from './plan.js';
import { assertPlannedStatements } from './statement-check.js';

/** Session settings and budgets for builds. */
export interface BuildSettings {
  /** Builds running at once, never two on one table. Default 2. */
  jobs: number;
  /** Session `maintenance_work_mem` for builds. Default 512MB. */
  maintenanceWorkMem: string;
  /** Session `max_parallel_maintenance_workers` (btree builds, PG11+). Default 2. */
  maxParallelMaintenanceWorkers: number;
  /** `lock_timeout` of build sessions, ms; 0 waits as long as it takes. Default 0. */
  lockTimeoutMs: number;
  /** Longest a build may wait on other sessions in all, ms, before it is cancelled; 0 for no limit. */
  maxWaitMs: number;
  /** `lock_timeout` while dropping the leftover of a failed build, ms. Default 60 s. */
  cleanupTimeoutMs: number;
  /** ANALYZE each table that got a new index. Default true. */
  analyze: boolean;
  /** How often to read progress, ms. Default 500. */
  pollIntervalMs: number;
}

export const DEFAULT_BUILD_SETTINGS: BuildSettings = {
  jobs: 2,
  maintenanceWorkMem: '512MB',
  maxParallelMaintenanceWorkers: 2,
  lockTimeoutMs: 0,
  maxWaitMs: 15 * 60_000,
  cleanupTimeoutMs: 60_000,
  analyze: true,
  pollIntervalMs: 500,
};

/** What happened to one index (the `action` of apply's JSON output). */
export type AppliedAction = 'created' | 'exists' | 'repaired' | 'failed' | 'drift' | 'skipped' | 'dropped' | 'absent';

export interface AppliedIndex {
  plan: IndexPlan;
  action: AppliedAction;
  reason: string;
  /** Statements that ran to completion, in order. */
  executed: string[];
  durationMs: number;
  error?: PgErrorFields;
  /** Sessions the build was waiting for when it was cancelled. */
  blockers?: BlockingSession[];
  /** The failed build's unfinished index: dropped, or still there (with why). */
  leftover?: 'dropped' | 'remains';
  /** Name of that unfinished index (a partition's index may be named differently from the plan's). */
  leftoverIndex?: string;
}

export type ApplyEvent =
  | { type: 'statement'; plan: IndexPlan; statement: PlannedStatement; pid: number }
  | { type: 'progress'; plan: IndexPlan; snapshot: BuildSnapshot; elapsedMs: number }
  | { type: 'waiting'; plan: IndexPlan; blockers: BlockingSession[]; waitedMs: number; onOwnBuilds: boolean }
  | { type: 'cancelling'; plan: IndexPlan; reason: string }
  | { type: 'done'; result: AppliedIndex }
  | { type: 'analyze'; table: QualifiedName }
  | { type: 'notice'; message: string };

export interface ExecutionResult {
  indexes: AppliedIndex[];
  analyzed: QualifiedName[];
  /** Tables whose ANALYZE failed (a warning: the indexes themselves are fine). */
  analyzeFailures: Array<{ table: QualifiedName; error: PgErrorFields }>;
  interrupted: boolean;
}

const SUCCESS_REASONS: Partial<Record<IndexPlan['action'], string>> = {
  create: 'built',
  repair: 'invalid leftover dropped and rebuilt',
  rebuild: 'drift rebuilt under a temporary name, then swapped in',
  drop: 'dropped concurrently',
};

interface RunningBuild {
  plan: IndexPlan;
  statement: PlannedStatement;
  startedAt: number;
  waitedMs: number;
  lastPoll: number;
  lastWaitReport: number;
  lastBlockerKey: string;
  blockers: BlockingSession[];
  cancelReason?: string;
}

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
  let workersDone = false;

  if (settings.jobs > 1 && groups.length > 1) {
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

  // A role-level statement_timeout (common on managed services) must not cut ANALYZE of a big table short.
  await control.query("SELECT set_config('statement_timeout', '0', false)");

  const cancel = async (pid: number) => {
    await control.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
  };
  /** Cancels only if the session still runs the statement the snapshot saw, never the one after it. */
  const cancelStatement = async (pid: number, queryStart: string | null) => {
    if (queryStart === null) return;
    await control
      .query('SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND query_start = $2::timestamptz', [pid, queryStart])
      .catch(() => undefined);
  };
  // --max-wait is a budget per index, across all its statements (a partitioned build has many).
  const waitedByPlan = new Map<IndexPlan, number>();
  const onAbort = () => {
    for (const [pid, build] of running) {
      build.cancelReason ??= 'interrupted';
      void cancel(pid);
    }
  };
  signal.addEventListener('abort', onAbort);

  const runPlan = async (session: SqlSession, plan: IndexPlan): Promise<AppliedIndex> => {
    const startedAt = Date.now();
    const executed: string[] = [];
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
        return failed(session, plan, statement, build, error, executed, startedAt);
      } finally {
        running.delete(session.pid);
        waitedByPlan.set(plan, build.waitedMs);
      }
    }
    const action: AppliedAction = plan.action === 'create' ? 'created' : plan.action === 'drop' ? 'dropped' : 'repaired';
    const reason = plan.note ?? SUCCESS_REASONS[plan.action] ?? 'done';
    return { plan, action, reason, executed, durationMs: Date.now() - startedAt };
  };

  const failed = async (session: SqlSession, plan: IndexPlan, statement: PlannedStatement, build: RunningBuild, error: unknown, executed: string[], startedAt: number): Promise<AppliedIndex> => {
    const fields = pgErrorFields(error);
    let reason: string;
    if (build.cancelReason === 'interrupted' || (fields.code === '57014' && signal.aborted)) reason = 'interrupted';
    else if (build.cancelReason) reason = build.cancelReason;
    else if (fields.code === '55P03') {
      const limit = statement.briefLock ? briefLockTimeoutMs(settings) : settings.lockTimeoutMs;
      const what = statement.briefLock ? `the brief lock for ${statement.purpose === 'attach' ? 'ATTACH PARTITION' : 'this catalog change'} was not granted within ${formatMs(limit)} (sessions are using the table; try again later)` : `lock_timeout (${formatMs(limit)}) ran out waiting for a lock`;
      reason = `${what}${build.blockers.length ? `; held by ${build.blockers.map(describeBlocker).join('; ')}` : ''}`;
    }
    else reason = fields.message + (fields.detail ? ` (${fields.detail})` : '');
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

  // Open the build sessions first: a role's connection limit or a full server then means fewer
  // parallel builds (said once), not failed ones, and no worker can quit while another still connects.
  const wanted = groups.length ? Math.min(Math.max(1, settings.jobs), groups.length) : 0;
  const openConfigured = async () => {
    const session = await openBuildSession();
    try {
      await configureBuildSession(session, settings);
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  };
  // The first one opens alone: PostgreSQL counts a new backend against the role's connection limit
  // before it checks the limit (documented as approximate), so sessions opening at the same moment
  // can all be refused where one would fit, and the run would build nothing.
  const first = await Promise.allSettled(wanted ? [openConfigured()] : []);
  const rest = first[0]?.status === 'fulfilled' ? await Promise.allSettled(Array.from({ length: wanted - 1 }, openConfigured)) : [];
  const opened = [...first, ...rest];
  const sessions = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  let sessionError: unknown = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected')?.reason;
  for (const session of sessions) ownPids.add(session.pid);
  if (sessions.length && sessions.length < wanted) {
    onEvent({ type: 'notice', message: `could open only ${sessions.length} of ${wanted} build sessions (${pgErrorFields(sessionError).message}): building ${sessions.length} at a time` });
  }

  const workers = sessions.map(async (first) => {
    let session: SqlSession | undefined = first;
    try {
      while (groups.length) {
        const group = groups.shift()!;
        for (let i = 0; i < group.length; i++) {
          const plan = group[i]!;
          if (signal.aborted) {
            finish({ plan, action: 'skipped', reason: 'interrupted before it started', executed: [], durationMs: 0 });
            continue;
          }
          if (session.broken) {
            // The connection died (network, a terminated backend): carry on with a new one, or hand the work back.
            await session.close();
            session = await openConfigured().catch((error: unknown) => {
              sessionError = error;
              return undefined;
            });
            if (!session) {
              groups.unshift(group.slice(i));
              return;
            }
            ownPids.add(session.pid);
          }
          finish(await runPlan(session, plan));
        }
      }
    } finally {
      await session?.close();
    }
  });

  // Wakes the monitor the moment the last build ends, instead of after a full poll interval.
  const buildsFinished = new AbortController();
  const monitor = (async () => {
    while (!workersDone) {
      await sleep(settings.pollIntervalMs, buildsFinished.signal);
      if (workersDone || running.size === 0) continue;
      let snapshots: Map<number, BuildSnapshot>;
      try {
        snapshots = await snapshotBuilds(control, [...running.keys()]);
      } catch {
        continue; // a missed poll only delays a progress line
      }
      const now = Date.now();
      for (const [pid, build] of running) {
        const snapshot = snapshots.get(pid);
        const elapsed = now - build.lastPoll;
        build.lastPoll = now;
        if (!snapshot) continue;
        onEvent({ type: 'progress', plan: build.plan, snapshot, elapsedMs: now - build.startedAt });
        if (!snapshot.waiting || snapshot.blockers.length === 0) continue;
        build.blockers = snapshot.blockers;
        const onOwnBuilds = snapshot.blockers.every((b) => ownPids.has(b.pid));
        // Waiting for our own parallel builds is expected and does not spend the budget.
        if (!onOwnBuilds) build.waitedMs += elapsed;
        const blockerKey = snapshot.blockers.map((b) => b.pid).join(',');
        if (blockerKey !== build.lastBlockerKey || now - build.lastWaitReport > 10_000) {
          build.lastBlockerKey = blockerKey;
          build.lastWaitReport = now;
          onEvent({ type: 'waiting', plan: build.plan, blockers: snapshot.blockers, waitedMs: build.waitedMs, onOwnBuilds });
        }
        if (settings.maxWaitMs > 0 && build.waitedMs > settings.maxWaitMs && !build.cancelReason && running.get(pid) === build) {
          build.cancelReason = `cancelled after waiting ${formatMs(build.waitedMs)} (--max-wait ${formatMs(settings.maxWaitMs)}) for ${snapshot.blockers.map(describeBlocker).join('; ')}`;
          onEvent({ type: 'cancelling', plan: build.plan, reason: build.cancelReason });
          await cancelStatement(pid, snapshot.queryStart);
        }
      }
    }
  })();

  try {
    // allSettled: one worker's failure must not end the run while another's build is still going.
    await Promise.allSettled(workers);
  } finally {
    workersDone = true;
    buildsFinished.abort();
    await monitor;
    signal.removeEventListener('abort', onAbort);
  }

  for (const group of groups.splice(0)) {
    for (const plan of group) {
      finish({ plan, action: 'failed', reason: `could not open a build session: ${pgErrorFields(sessionError).message}`, executed: [], durationMs: 0 });
    }
  }

  const analyzed: QualifiedName[] = [];
  const analyzeFailures: Array<{ table: QualifiedName; error: PgErrorFields }> = [];
  if (settings.analyze && !signal.aborted) {
    const touched = new Map<string, QualifiedName>();
    for (const r of results.values()) {
      if (r.action === 'created' || r.action === 'repaired') touched.set(tableKey(r.plan.declaration.table), r.plan.declaration.table);
    }
    for (const table of touched.values()) {
      if (signal.aborted) break;
      onEvent({ type: 'analyze', table });
      try {
        await control.query(analyzeSql(table));
        analyzed.push(table);
      } catch (error) {
        // The indexes are built; stale statistics are worth a warning, not a failed run.
        analyzeFailures.push({ table, error: pgErrorFields(error) });
      }
    }
  }
  return { indexes: plans.map((p) => results.get(p)!), analyzed, analyzeFailures, interrupted: signal.aborted };
}

/** Locks that queue writers while they wait get a short budget: the configured lock_timeout, else 5 s. */
function briefLockTimeoutMs(settings: BuildSettings): number {
  return settings.lockTimeoutMs > 0 ? settings.lockTimeoutMs : 5000;
}

async function setLockTimeout(session: SqlSession, ms: number): Promise<void> {
  await session.query("SELECT set_config('lock_timeout', $1, false)", [`${Math.round(ms)}ms`]);
}

async function configureBuildSession(session: SqlSession, settings: BuildSettings): Promise<void> {
  // set_config takes values as parameters: no quoting of user input into SQL.
  await session.query(
    `SELECT set_config('maintenance_work_mem', $1, false), set_config('max_parallel_maintenance_workers', $2, false),
            set_config('lock_timeout', $3, false), set_config('statement_timeout', '0', false)`,
    [settings.maintenanceWorkMem, String(settings.maxParallelMaintenanceWorkers), `${Math.round(settings.lockTimeoutMs)}ms`],
  );
}

/**
 * A rebuild stopped after its copy was built: if the old index still stands
 * valid, drop the copy (back to plain drift); otherwise the copy is the good
 * one, and the next `apply` finishes the swap (plan.ts, withRebuildLeftover).
 */
async function settlePartialRebuild(session: SqlSession, plan: IndexPlan, result: AppliedIndex, cleanupTimeoutMs: number): Promise<void> {
  const schema = plan.declaration.table.schema;
  const rows = await session
    .query<{ valid: boolean }>(
      `SELECT i.indisvalid AS valid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_index i ON i.indexrelid = c.oid
        WHERE n.nspname = $1 AND c.relname = $2`,
      [schema, plan.declaration.name],
    )
    .catch(() => undefined);
  if (rows && rows[0]?.valid) {
    const dropped = await dropIndex(session, { schema, name: plan.buildName }, cleanupTimeoutMs);
    result.leftover = dropped ? 'dropped' : 'remains';
    result.leftoverIndex = plan.buildName;
    result.reason += dropped
      ? `; the rebuilt copy ${plan.buildName} was dropped, the drifted index is untouched`
      : `; the rebuilt copy ${plan.buildName} could not be dropped yet: the next apply --rebuild-drift finishes the swap with it, and dbtune drop removes it`;
  } else {
    result.leftover = 'remains';
    result.leftoverIndex = plan.buildName;
    result.reason += `; the rebuilt index is in place as ${plan.buildName}: the next apply finishes the swap (renames it, nothing is built again)`;
  }
}

/** Drops an index concurrently under the cleanup budget; false if it could not. */
async function dropIndex(session: SqlSession, index: QualifiedName, timeoutMs: number): Promise<boolean> {
  try {
    const [setting] = await session.query<{ lock_timeout: string }>("SELECT current_setting('lock_timeout') AS lock_timeout");
    await session.query("SELECT set_config('lock_timeout', $1, false)", [`${timeoutMs}ms`]);
    try {
      await session.query(dropIndexSql(index));
    } finally {
      await session.query("SELECT set_config('lock_timeout', $1, false)", [setting!.lock_timeout]).catch(() => undefined);
    }
    return true;
  } catch {
    return false;
  }
}

/** Drops the invalid index a failed concurrent build left, if there is one (never a valid one). */
async function dropLeftover(session: SqlSession, index: QualifiedName, timeoutMs: number): Promise<'dropped' | 'remains' | undefined> {
  let rows: Array<{ valid: boolean }>;
  try {
    rows = await session.query<{ valid: boolean }>(
      `SELECT i.indisvalid AS valid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_index i ON i.indexrelid = c.oid WHERE n.nspname = $1 AND c.relname = $2`,
      [index.schema, index.name],
    );
  } catch {
    return 'remains';
  }
  if (rows.length === 0 || rows[0]!.valid) return undefined;
  return (await dropIndex(session, index, timeoutMs)) ? 'dropped' : 'remains';
}

function groupByTable(plans: readonly IndexPlan[], tablePages: ReadonlyMap<string, number> = new Map()): IndexPlan[][] {
  const groups = new Map<string, IndexPlan[]>();
  for (const plan of plans) {
    const key = tableKey(plan.declaration.table);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(plan);
  }
  // Longest work first (pages × indexes): parallel workers then finish close together.
  const work = (group: IndexPlan[]) => (tablePages.get(tableKey(group[0]!.declaration.table)) ?? 0) * group.length + group.length;
  return [...groups.values()].sort((a, b) => work(b) - work(a));
}
