import type { SqlSession } from '../../db/client.js';

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

/** Locks that queue writers while they wait get a short budget: the configured lock_timeout, else 5 s. */
export function briefLockTimeoutMs(settings: BuildSettings): number {
  return settings.lockTimeoutMs > 0 ? settings.lockTimeoutMs : 5000;
}

export async function setLockTimeout(session: SqlSession, ms: number): Promise<void> {
  await session.query("SELECT set_config('lock_timeout', $1, false)", [`${Math.round(ms)}ms`]);
}

export async function configureBuildSession(session: SqlSession, settings: BuildSettings): Promise<void> {
  // set_config takes values as parameters: no quoting of user input into SQL.
  await session.query(
    `SELECT set_config('maintenance_work_mem', $1, false), set_config('max_parallel_maintenance_workers', $2, false),
            set_config('lock_timeout', $3, false), set_config('statement_timeout', '0', false)`,
    [settings.maintenanceWorkMem, String(settings.maxParallelMaintenanceWorkers), `${Math.round(settings.lockTimeoutMs)}ms`],
  );
}
