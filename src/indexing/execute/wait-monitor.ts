import type { SqlSession } from '../../db/client.js';
import { formatMs } from '../../config/duration.js';
import { sleep } from '../../time/sleep.js';
import { describeBlocker, snapshotBuilds, type BuildSnapshot } from '../build-monitor.js';
import type { ApplyEvent, RunningBuild } from './results.js';
import type { BuildSettings } from './settings.js';

export interface WaitMonitorOptions {
  /** The control session: reads progress and cancels, never builds. */
  control: SqlSession;
  /** Statements running now, by the pid of their session. */
  running: ReadonlyMap<number, RunningBuild>;
  /** dbtune's own sessions: waiting for them (parallel builds) is expected and spends no budget. */
  ownPids: ReadonlySet<number>;
  settings: BuildSettings;
  onEvent: (event: ApplyEvent) => void;
  /** Aborted when the last build has ended: the monitor stops without waiting out its poll interval. */
  done: AbortSignal;
}

/**
 * Polls the running builds every `pollIntervalMs` until `done`: reports
 * progress and whom each build waits for, and cancels a build whose waits on
 * other sessions exceed --max-wait (its budget spans all of an index's statements).
 */
export async function monitorWaits({ control, running, ownPids, settings, onEvent, done }: WaitMonitorOptions): Promise<void> {
  while (!done.aborted) {
    await sleep(settings.pollIntervalMs, done);
    if (done.aborted || running.size === 0) continue;
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
        await cancelStatement(control, pid, snapshot.queryStart);
      }
    }
  }
}

/** Cancels only if the session still runs the statement the snapshot saw, never the one after it. */
async function cancelStatement(control: SqlSession, pid: number, queryStart: string | null): Promise<void> {
  if (queryStart === null) return;
  await control
    .query('SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND query_start = $2::timestamptz', [pid, queryStart])
    .catch(() => undefined);
}
