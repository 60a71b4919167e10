import type { SqlSession } from '../../db/client.js';
import type { ServerCapacity } from './build-parallelism.js';

/**
 * The server's worker limits and, where the role may read server files, its
 * core count, in one statement. PostgreSQL has no setting or function for
 * the core count; a superuser or a member of `pg_read_server_files` can read
 * what the kernel tells the backend itself: the CPUs it may run on
 * (`Cpus_allowed_list` in /proc/self/status, which a container's cpuset
 * narrows) and the CPU quota of its cgroup: cgroup v2's cpu.max at the mount
 * root (what `docker --cpus` sets, seen through a cgroup namespace) and in
 * the backend's own cgroup and its parent (`0::/system.slice/x.service` in
 * /proc/self/cgroup: systemd's CPUQuota=, no namespace), or cgroup v1's
 * cpu.cfs_quota_us / cpu.cfs_period_us in its own cgroup and at the root of
 * the cpu hierarchy. The paths come from /proc/self/cgroup within the same
 * statement. The privilege is checked first, so a role without it causes no
 * error in the server log; a missing file (not Linux, the other cgroup
 * version) reads as NULL. The client's own core count says nothing: the
 * server may be remote.
 */
const CAPACITY_SQL = `
SELECT current_setting('max_worker_processes')::int AS max_worker_processes,
       current_setting('max_parallel_workers')::int AS max_parallel_workers,
       current_setting('max_parallel_maintenance_workers')::int AS max_parallel_maintenance_workers,
       (SELECT setting::int FROM pg_settings WHERE name = 'min_parallel_table_scan_size') AS min_parallel_table_scan_pages,
       CASE WHEN readable THEN pg_read_file('/proc/self/status', 0, 65536, true) END AS proc_status,
       CASE WHEN readable THEN pg_read_file('/sys/fs/cgroup/cpu.max', 0, 256, true) END AS cpu_max,
       CASE WHEN v2 IS NOT NULL THEN pg_read_file('/sys/fs/cgroup' || v2 || '/cpu.max', 0, 256, true) END AS own_cpu_max,
       CASE WHEN v2 IS NOT NULL THEN pg_read_file('/sys/fs/cgroup' || regexp_replace(v2, '/[^/]*$', '') || '/cpu.max', 0, 256, true) END AS parent_cpu_max,
       CASE WHEN v1 IS NOT NULL THEN coalesce(pg_read_file('/sys/fs/cgroup/cpu,cpuacct' || v1 || '/cpu.cfs_quota_us', 0, 64, true),
                                               pg_read_file('/sys/fs/cgroup/cpu' || v1 || '/cpu.cfs_quota_us', 0, 64, true)) END AS own_cfs_quota,
       CASE WHEN v1 IS NOT NULL THEN coalesce(pg_read_file('/sys/fs/cgroup/cpu,cpuacct' || v1 || '/cpu.cfs_period_us', 0, 64, true),
                                               pg_read_file('/sys/fs/cgroup/cpu' || v1 || '/cpu.cfs_period_us', 0, 64, true)) END AS own_cfs_period,
       CASE WHEN v1 IS NOT NULL THEN coalesce(pg_read_file('/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us', 0, 64, true),
                                               pg_read_file('/sys/fs/cgroup/cpu/cpu.cfs_quota_us', 0, 64, true)) END AS root_cfs_quota,
       CASE WHEN v1 IS NOT NULL THEN coalesce(pg_read_file('/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us', 0, 64, true),
                                               pg_read_file('/sys/fs/cgroup/cpu/cpu.cfs_period_us', 0, 64, true)) END AS root_cfs_period
FROM (SELECT has_function_privilege('pg_catalog.pg_read_file(text, bigint, bigint, boolean)', 'EXECUTE')
             AND pg_has_role(current_user, 'pg_read_server_files', 'USAGE') AS readable) AS r
-- /proc/self/cgroup: "0::/path" (v2) and "4:cpu,cpuacct:/path" (v1), one line each; (?n) makes ^ and $ match at lines.
CROSS JOIN LATERAL (SELECT CASE WHEN r.readable THEN pg_read_file('/proc/self/cgroup', 0, 65536, true) END AS cgroup) AS c
CROSS JOIN LATERAL (SELECT substring(c.cgroup FROM '(?n)^0::(/.*)$') AS v2,
                           substring(c.cgroup FROM '(?n)^[0-9]+:(?:[^:]*,)?cpu(?:,[^:]*)?:(/.*)$') AS v1) AS p`;

interface CapacityRow {
  max_worker_processes: number;
  max_parallel_workers: number;
  max_parallel_maintenance_workers: number;
  min_parallel_table_scan_pages: number;
  proc_status: string | null;
  cpu_max: string | null;
  own_cpu_max: string | null;
  parent_cpu_max: string | null;
  own_cfs_quota: string | null;
  own_cfs_period: string | null;
  root_cfs_quota: string | null;
  root_cfs_period: string | null;
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
  const read = row
    ? coresFromFiles(row.proc_status, [row.cpu_max, row.own_cpu_max, row.parent_cpu_max], [
        [row.own_cfs_quota, row.own_cfs_period],
        [row.root_cfs_quota, row.root_cfs_period],
      ])
    : undefined;
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
 * CPUs from /proc/self/status (`Cpus_allowed_list: 0-3,8-11`), lowered by
 * the smallest cgroup quota: v2 cpu.max files (`200000 100000` is 2 CPUs;
 * `max 100000` is none) and v1 pairs of cpu.cfs_quota_us and
 * cpu.cfs_period_us (`-1` is none). Pure.
 */
export function coresFromFiles(
  procStatus: string | null,
  cpuMax: string | null | ReadonlyArray<string | null>,
  cfs: ReadonlyArray<readonly [quotaUs: string | null, periodUs: string | null]> = [],
): number | undefined {
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
  const quotas: Array<[string, string]> = [];
  for (const file of typeof cpuMax === 'string' || cpuMax === null ? [cpuMax] : cpuMax) {
    const quota = file?.trim().match(/^(\d+)\s+(\d+)$/);
    if (quota) quotas.push([quota[1]!, quota[2]!]);
  }
  for (const [quotaUs, periodUs] of cfs) {
    const quota = quotaUs?.trim().match(/^\d+$/)?.[0];
    const period = periodUs?.trim().match(/^\d+$/)?.[0];
    if (quota && period) quotas.push([quota, period]);
  }
  for (const [quota, period] of quotas) {
    if (Number(quota) <= 0 || Number(period) <= 0) continue;
    const byQuota = Math.max(1, Math.ceil(Number(quota) / Number(period)));
    cores = cores === undefined ? byQuota : Math.min(cores, byQuota);
  }
  return cores;
}
