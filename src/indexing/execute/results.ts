import type { QualifiedName } from '../../sql/identifiers.js';
import type { PgErrorFields } from '../../text/safe-error.js';
import type { BlockingSession, BuildSnapshot } from '../build-monitor.js';
import type { IndexPlan, PlannedStatement } from '../plan.js';

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
