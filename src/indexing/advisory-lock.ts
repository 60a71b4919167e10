import type { SqlSession } from '../db/client.js';
import { DbtuneError } from '../errors.js';
import { sleep } from '../time/sleep.js';

/**
 * One dbtune run changing indexes per database at a time: a session-level
 * advisory lock, released when the session ends (even if dbtune is killed).
 * The two keys are fixed, so runs from any machine see each other.
 */
const LOCK_CLASS = 0x64627475; // "dbtu"
const LOCK_OBJECT = 1;

export interface LockHolder {
  pid: number;
  applicationName: string | null;
  user: string | null;
  client: string | null;
  sinceSeconds: number | null;
}

export async function acquireRunLock(
  session: SqlSession,
  options: { waitMs: number; signal?: AbortSignal; onWait?: (holder: LockHolder | undefined) => void },
): Promise<() => Promise<void>> {
  const deadline = Date.now() + options.waitMs;
  let announced = false;
  for (;;) {
    const [row] = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS locked', [LOCK_CLASS, LOCK_OBJECT]);
    if (row?.locked) {
      return async () => {
        await session.query('SELECT pg_advisory_unlock($1::int, $2::int)', [LOCK_CLASS, LOCK_OBJECT]).catch(() => undefined);
      };
    }
    const holder = await lockHolder(session);
    if (!announced) {
      options.onWait?.(holder);
      announced = true;
    }
    if (Date.now() >= deadline || options.signal?.aborted) {
      const who = holder
        ? `pid ${holder.pid}${holder.applicationName ? ` (${holder.applicationName}` : ' ('}${holder.user ? `, user ${holder.user}` : ''}${holder.client ? `, from ${holder.client}` : ''}${holder.sinceSeconds !== null ? `, connected ${Math.round(holder.sinceSeconds)}s ago` : ''})`
        : 'another session';
      throw new DbtuneError('LOCK_HELD', `another dbtune run is changing indexes on this database: ${who}`, {
        hint: 'wait for it to finish, or pass --lock-wait 10m to wait for it',
      });
    }
    await sleep(Math.min(1000, Math.max(0, deadline - Date.now())), options.signal);
  }
}

async function lockHolder(session: SqlSession): Promise<LockHolder | undefined> {
  const [row] = await session.query<{ pid: number; application_name: string | null; usename: string | null; client: string | null; since: number | null }>(
    `SELECT l.pid, a.application_name, a.usename, a.client_addr::text AS client,
            extract(epoch FROM now() - a.backend_start)::float8 AS since
       FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.classid = $1::int::oid AND l.objid = $2::int::oid AND l.objsubid = 2 AND l.granted
        -- advisory locks are per database; pg_locks shows every database's
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      LIMIT 1`,
    [LOCK_CLASS, LOCK_OBJECT],
  );
  return row ? { pid: row.pid, applicationName: row.application_name, user: row.usename, client: row.client, sinceSeconds: row.since } : undefined;
}
