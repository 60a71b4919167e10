import type { SqlSession } from '../../db/client.js';
import { pgErrorFields } from '../../errors.js';
import type { AnalyzeMode } from './analyze-need.js';

/** Session settings and budgets for builds. */
export interface BuildSettings {
  /** Builds running at once, never two on one table. Default: chosen from the server's cores and the tables (build-parallelism.ts). */
  jobs?: number;
  /** Session `maintenance_work_mem` of every build session, when given. Default: {@link sessionMaintenanceWorkMem}. */
  maintenanceWorkMem?: string;
  /** Session `max_parallel_maintenance_workers` of every build. Default: chosen per table with `jobs` (build-parallelism.ts). */
  maxParallelMaintenanceWorkers?: number;
  /** The server's CPU count, for when the server cannot tell it (a managed service). Default: read from the server, else assumed. */
  serverCores?: number;
  /** `lock_timeout` of build sessions, ms; 0 waits as long as it takes. Default 0. */
  lockTimeoutMs: number;
  /** Longest a build may wait on other sessions in all, ms, before it is cancelled; 0 for no limit. */
  maxWaitMs: number;
  /** `lock_timeout` while dropping the leftover of a failed build, ms. Default 60 s. */
  cleanupTimeoutMs: number;
  /** ANALYZE of the tables that got a new index: where it adds statistics (default), always, or never. */
  analyze: AnalyzeMode;
  /** How often to read progress, ms. Default 500. */
  pollIntervalMs: number;
}

export const DEFAULT_BUILD_SETTINGS: BuildSettings = {
  lockTimeoutMs: 0,
  maxWaitMs: 15 * 60_000,
  cleanupTimeoutMs: 60_000,
  analyze: 'when-useful',
  pollIntervalMs: 500,
};

/** What all build sessions together may take for maintenance_work_mem by default, MB. */
export const MAINTENANCE_MEMORY_BUDGET_MB = 1024;
/** What one build session takes at most by default, MB: more does not speed up a btree sort much. */
const SESSION_MAINTENANCE_MEMORY_MB = 512;
/** PostgreSQL's own default: the budget never lowers a session below it. */
const SERVER_DEFAULT_MAINTENANCE_MEMORY_MB = 64;

/**
 * `maintenance_work_mem` of each build session: the one given, else a share of
 * a fixed budget. Every session may use all of it at once (and its parallel
 * workers share it), so the scheduler's choice of more builds at once must not
 * multiply the memory a server is asked for: 512MB each for up to 2 builds,
 * 256MB for 4, 128MB for 8 — never over 1GB in all unless the user says so.
 */
export function sessionMaintenanceWorkMem(given: string | undefined, buildsAtOnce: number): string {
  if (given !== undefined) return given;
  const share = Math.floor(MAINTENANCE_MEMORY_BUDGET_MB / Math.max(1, buildsAtOnce));
  return `${Math.max(SERVER_DEFAULT_MAINTENANCE_MEMORY_MB, Math.min(SESSION_MAINTENANCE_MEMORY_MB, share))}MB`;
}

/** Locks that queue writers while they wait get a short budget: the configured lock_timeout, else 5 s. */
export function briefLockTimeoutMs(settings: BuildSettings): number {
  return settings.lockTimeoutMs > 0 ? settings.lockTimeoutMs : 5000;
}

export async function setLockTimeout(session: SqlSession, ms: number): Promise<void> {
  await session.query("SELECT set_config('lock_timeout', $1, false)", [`${Math.round(ms)}ms`]);
}

/** A session setting the server refused (a role or a managed service may forbid one): the build goes on with the server's value. */
export interface RefusedSetting {
  name: string;
  wanted: string;
  /** PostgreSQL's message. */
  error: string;
}

/**
 * The budgets are required (a build must not outlive --max-wait's meaning or be
 * cut short by a role's statement_timeout); maintenance_work_mem only makes it
 * faster, so a refusal is reported, not fatal.
 */
export async function configureBuildSession(session: SqlSession, settings: BuildSettings, maintenanceWorkMem: string): Promise<RefusedSetting[]> {
  // set_config takes values as parameters: no quoting of user input into SQL.
  await session.query("SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', '0', false)", [`${Math.round(settings.lockTimeoutMs)}ms`]);
  const refused = await trySetting(session, 'maintenance_work_mem', maintenanceWorkMem);
  return refused ? [refused] : [];
}

/**
 * Sets `max_parallel_maintenance_workers` for the session's next builds and
 * returns the value the session then holds (read back: that is what the
 * builds use), with the refusal if the server would not set it. Never
 * throws: a session lost meanwhile fails its next build, which reports it.
 */
export async function setParallelWorkers(session: SqlSession, workers: number): Promise<{ value?: number; refused?: RefusedSetting }> {
  const refused = await trySetting(session, 'max_parallel_maintenance_workers', String(workers)).catch(() => undefined);
  const [row] = await session
    .query<{ value: string }>("SELECT current_setting('max_parallel_maintenance_workers') AS value")
    .catch(() => [] as Array<{ value: string }>);
  const value = row ? Number(row.value) : undefined;
  return { ...(value !== undefined && Number.isFinite(value) ? { value } : {}), ...(refused ? { refused } : {}) };
}

async function trySetting(session: SqlSession, name: string, wanted: string): Promise<RefusedSetting | undefined> {
  try {
    await session.query('SELECT set_config($1, $2, false)', [name, wanted]);
    return undefined;
  } catch (error) {
    if (session.broken) throw error;
    return { name, wanted, error: pgErrorFields(error).message };
  }
}
