import { formatMs } from '../../config/duration.js';
import type { PgErrorFields } from '../../text/safe-error.js';
import { describeBlocker, type BlockingSession } from '../build-monitor.js';
import type { PlannedStatement } from '../plan.js';
import { briefLockTimeoutMs, type BuildSettings } from './settings.js';

export interface FailedStatement {
  /** PostgreSQL's error, as pgErrorFields read it. */
  error: PgErrorFields;
  statement: PlannedStatement;
  /** Why dbtune cancelled the statement itself, if it did (`interrupted`, or the --max-wait message). */
  cancelReason?: string;
  /** Sessions the build was last seen waiting for. */
  blockers: readonly BlockingSession[];
  /** Ctrl-C was pressed. */
  aborted: boolean;
}

/** Why a build statement failed, in the words of apply's report: pure. */
export function failureReason(failure: FailedStatement, settings: BuildSettings): string {
  const { error, statement, cancelReason, blockers } = failure;
  // 57014 query_canceled: our own cancel on Ctrl-C.
  if (cancelReason === 'interrupted' || (error.code === '57014' && failure.aborted)) return 'interrupted';
  if (cancelReason) return cancelReason;
  if (error.code === '55P03') {
    // lock_not_available: the lock_timeout ran out.
    const limit = statement.briefLock ? briefLockTimeoutMs(settings) : settings.lockTimeoutMs;
    const what = statement.briefLock
      ? `the brief lock for ${statement.purpose === 'attach' ? 'ATTACH PARTITION' : 'this catalog change'} was not granted within ${formatMs(limit)} (sessions are using the table; try again later)`
      : `lock_timeout (${formatMs(limit)}) ran out waiting for a lock`;
    return `${what}${blockers.length ? `; held by ${blockers.map(describeBlocker).join('; ')}` : ''}`;
  }
  return error.message + (error.detail ? ` (${error.detail})` : '');
}
