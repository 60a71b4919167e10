import type { TestDatabase } from './database.js';
import { waitFor, type WaitForOptions } from './wait-for.js';

/**
 * Waits on what the server itself reports (pg_stat_activity,
 * pg_stat_progress_create_index) about the test's own database: sessions and
 * builds start and end asynchronously to the client that caused them.
 */

type Timing = Omit<WaitForOptions, 'what'>;

/** A backend of this database as pg_stat_activity shows it. */
export interface Backend {
  pid: number;
  usename: string | null;
  application_name: string;
  state: string | null;
}

/**
 * Client backends of this database matching `where` (SQL over pg_stat_activity,
 * `$1`… bound to `params`). The caller's own sessions match like any other.
 */
export async function backends(db: TestDatabase, where: string, params: unknown[] = []): Promise<Backend[]> {
  return db.query<Backend>(
    `SELECT pid, usename, application_name, state FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND (${where})`,
    params,
  );
}

/** Waits until at least one backend matches, and returns those that do. */
export function waitForBackends(db: TestDatabase, what: string, where: string, params: unknown[] = [], timing: Timing = {}): Promise<Backend[]> {
  return waitFor(async () => {
    const found = await backends(db, where, params);
    return found.length ? found : undefined;
  }, { ...timing, what });
}

/**
 * Waits until no backend matches. A client that closed its connection is not
 * the end of its backend: the server retires it a moment later, and until then
 * it counts against connection limits and holds its unflushed statistics.
 */
export async function waitForBackendsGone(db: TestDatabase, what: string, where: string, params: unknown[] = [], timing: Timing = {}): Promise<void> {
  let left: Backend[] = [];
  await waitFor(async () => {
    left = await backends(db, where, params);
    return left.length === 0;
  }, { ...timing, what }).catch((error: Error) => {
    throw new Error(`${error.message}; still there: ${JSON.stringify(left)}`, { cause: error });
  });
}

/** A running CREATE INDEX as pg_stat_progress_create_index shows it. */
export interface BuildProgressRow {
  pid: number;
  phase: string;
  index: string | null;
}

/**
 * Waits until a CREATE INDEX on `table` in this database reports a phase
 * matching `phase` (e.g. /^building index/: the index is in the catalog and
 * the table scan is under way), and returns that build.
 */
export function waitForBuildPhase(db: TestDatabase, table: string, phase: RegExp, timing: Timing = {}): Promise<BuildProgressRow> {
  return waitFor(async () => {
    const rows = await db.query<BuildProgressRow>(
      `SELECT p.pid, p.phase, NULLIF(p.index_relid, 0)::regclass::text AS index FROM pg_stat_progress_create_index p
        WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND p.relid = $1::regclass`,
      [table],
    );
    return rows.find((r) => phase.test(r.phase));
  }, { ...timing, what: `a CREATE INDEX on ${table} to reach the phase ${phase}` });
}
