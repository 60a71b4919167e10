import type { QualifiedName } from '../../sql/identifiers.js';
import type { PgErrorFields } from '../../text/safe-error.js';
import type { BlockingSession, BuildSnapshot } from '../build-monitor.js';
import type { IndexPlan, PlannedStatement } from '../plan.js';
import type { BuildGroup, ParallelismChoice, ServerCapacity } from './build-parallelism.js';
import type { RefusedSetting } from './settings.js';

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
  /** The build session's `max_parallel_maintenance_workers` when this index was built, read back from the session. */
  parallelWorkers?: number;
}

/** How apply spread its builds over the server, and why (see build-parallelism.ts). */
export interface BuildSchedule {
  choice: ParallelismChoice;
  capacity: ServerCapacity;
  /** The tables with builds, in the order the choice's `workers` follow. */
  groups: BuildGroup[];
  /** The chosen `max_parallel_maintenance_workers` by `tableKey`. */
  workersByTable: ReadonlyMap<string, number>;
  /** Settings the server would not set for the build sessions. */
  refused: RefusedSetting[];
}

export type ApplyEvent =
  | { type: 'statement'; plan: IndexPlan; statement: PlannedStatement; pid: number }
  | { type: 'progress'; plan: IndexPlan; snapshot: BuildSnapshot; elapsedMs: number }
  | { type: 'waiting'; plan: IndexPlan; blockers: BlockingSession[]; waitedMs: number; onOwnBuilds: boolean }
  | { type: 'cancelling'; plan: IndexPlan; reason: string }
  | { type: 'done'; result: AppliedIndex }
  /** ANALYZE of a table that got an index is starting, or (`skipped`) not needed, and why. */
  | { type: 'analyze'; table: QualifiedName; reason: string; skipped: boolean }
  | { type: 'notice'; message: string };

export interface ExecutionResult {
  indexes: AppliedIndex[];
  analyzed: QualifiedName[];
  /** Tables that got an index but no ANALYZE, since it would add no statistics (analyze-need.ts). */
  analyzeSkipped: Array<{ table: QualifiedName; reason: string }>;
  /** Tables whose ANALYZE failed (a warning: the indexes themselves are fine). */
  analyzeFailures: Array<{ table: QualifiedName; error: PgErrorFields }>;
  interrupted: boolean;
  /** Absent when nothing was built (a drop, or every index in place). */
  schedule?: BuildSchedule;
}

/** A statement on its way: what the wait monitor reads and the failure classification uses. */
export interface RunningBuild {
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
