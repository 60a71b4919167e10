import type { SqlSession } from '../../db/client.js';
import type { ServerCapacity } from './build-parallelism.js';

/**
 * The server's worker limits and, where the role may read server files, its
 * core count, in one statement. PostgreSQL has no setting or function for
 * the core count; a superuser or a member of `pg_read_server_files` can read
 * what the kernel tells the backend itself: the CPUs it may run on
 * (`Cpus_allowed_list` in /proc/self/status, which a container's cpuset
 * narrows) and a cgroup v2 CPU quota (/sys/fs/cgroup/cpu.max, which
 * `docker --cpus` sets). The privilege is checked first, so a role without
 * it causes no error in the server log; a missing file (not Linux) reads as
 * NULL. The client's own core count says nothing: the server may be remote.
 */
const CAPACITY_SQL = `
SELECT current_setting('max_worker_processes')::int AS max_worker_processes,
       current_setting('max_parallel_workers')::int AS max_parallel_workers,
       current_setting('max_parallel_maintenance_workers')::int AS max_parallel_maintenance_workers,
       (SELECT setting::int FROM pg_settings WHERE name = 'min_parallel_table_scan_size') AS min_parallel_table_scan_pages,
       CASE WHEN readable THEN pg_read_file('/proc/self/status', 0, 65536, true) END AS proc_status,
       CASE WHEN readable THEN pg_read_file('/sys/fs/cgroup/cpu.max', 0, 256, true) END AS cpu_max
FROM (SELECT has_function_privilege('pg_catalog.pg_read_file(text, bigint, bigint, boolean)', 'EXECUTE')
             AND pg_has_role(current_user, 'pg_read_server_files', 'USAGE') AS readable) AS r`;

interface CapacityRow {
  max_worker_processes: number;
  max_parallel_workers: number;
  max_parallel_maintenance_workers: number;
  min_parallel_table_scan_pages: number;
  proc_status: string | null;
  cpu_max: string | null;
}

/** PostgreSQL's defaults and no core count: what the scheduler assumes when the server would not say. */
export function unknownCapacity(serverCores?: number): ServerCapacity {
  return {
    ...(serverCores !== undefined ? { cores: serverCores } : {}),
    coresSource: serverCores !== undefined ? 'option' : 'unknown',
    maxWorkerProcesses: 8,
    maxParallelWorkers: 8,
    maxParallelMaintenanceWorkers: 2,
    minParallelTableScanPages: 1024,
  };
}

/** Reads the server's capacity; `serverCores` (--server-cores) wins over what the server's files say. */
export async function readServerCapacity(session: SqlSession, serverCores?: number): Promise<ServerCapacity> {
  const [row] = await session.query<CapacityRow>(CAPACITY_SQL);
  const read = row ? coresFromFiles(row.proc_status, row.cpu_max) : undefined;
  const defaults = unknownCapacity(serverCores);
  if (!row) return defaults;
  const cores = serverCores ?? read;
  return {
    ...(cores !== undefined ? { cores } : {}),
    coresSource: serverCores !== undefined ? 'option' : read !== undefined ? 'server' : 'unknown',
    maxWorkerProcesses: row.max_worker_processes ?? defaults.maxWorkerProcesses,
    maxParallelWorkers: row.max_parallel_workers ?? defaults.maxParallelWorkers,
    maxParallelMaintenanceWorkers: row.max_parallel_maintenance_workers ?? defaults.maxParallelMaintenanceWorkers,
    minParallelTableScanPages: row.min_parallel_table_scan_pages ?? defaults.minParallelTableScanPages,
  };
}

/**
 * CPUs from /proc/self/status (`Cpus_allowed_list: 0-3,8-11`), lowered by a
 * cgroup v2 quota (`200000 100000` is 2 CPUs; `max 100000` is none). Pure.
 */
export function coresFromFiles(procStatus: string | null, cpuMax: string | null): number | undefined {
  const list = procStatus?.match(/^Cpus_allowed_list:\s*(\S+)/m)?.[1];
  let cores: number | undefined;
  if (list) {
    cores = 0;
    for (const part of list.split(',')) {
      const [from, to] = part.split('-').map(Number);
      if (from === undefined || !Number.isInteger(from)) return undefined;
      cores += to === undefined ? 1 : Number.isInteger(to) && to >= from ? to - from + 1 : NaN;
    }
    if (!Number.isFinite(cores) || cores < 1) cores = undefined;
  }
  const quota = cpuMax?.trim().match(/^(\d+)\s+(\d+)$/);
  if (quota) {
    const byQuota = Math.max(1, Math.ceil(Number(quota[1]) / Number(quota[2])));
    cores = cores === undefined ? byQuota : Math.min(cores, byQuota);
  }
  return cores;
}
