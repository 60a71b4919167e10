/**
 * How apply spends the server's CPUs: several builds at once (one per table),
 * parallel workers inside each build, or both. Pure: the facts come in, the
 * choice and its reason go out.
 *
 * Why builds in parallel first: a `CREATE INDEX CONCURRENTLY` is only partly
 * a sort. Its two table scans, the validation pass and the waits for older
 * transactions run in the leader alone, and a parallel sort pays for
 * launching and merging its workers; several single-process builds on
 * different tables keep every core busy through all phases. Measured on 2
 * cores, 4 tables × 1.5M rows (PostgreSQL 18): 4 builds with no workers each
 * took 0.55× of the sequential time, builds with 2 workers each 0.72×.
 * Workers pay off where there are fewer tables than cores, or where one
 * table's build would outlast all the others.
 */

/** What the server tells about its CPUs and worker limits (see server-capacity.ts). */
export interface ServerCapacity {
  /** CPUs the server's processes may use, when known; see `coresSource`. */
  cores?: number;
  /** `server`: read by the server from its own /proc and cgroup files; `option`: --server-cores; `unknown`: neither. */
  coresSource: 'server' | 'option' | 'unknown';
  /** `max_worker_processes`: every background worker, parallel ones included, comes out of these slots. */
  maxWorkerProcesses: number;
  /** `max_parallel_workers`: parallel workers of all sessions at once. */
  maxParallelWorkers: number;
  /** The session's `max_parallel_maintenance_workers` before dbtune sets it: the server's (or role's) own choice for one build. */
  maxParallelMaintenanceWorkers: number;
  /** `min_parallel_table_scan_size` in pages: PostgreSQL gives a smaller table's build no workers. */
  minParallelTableScanPages: number;
}

/** One table's builds, which run one after another in one session. */
export interface BuildGroup {
  /** The table, as the report names it. */
  table: string;
  /** `pg_class.relpages`; 0 or less when unknown (never vacuumed or analyzed, or a partitioned parent). */
  pages: number;
  /** Indexes to build on it. */
  indexes: number;
}

export interface ParallelismRequest {
  /** `--jobs`, when given: builds at once. */
  jobs?: number;
  /** `--max-parallel-maintenance-workers`, when given: workers of every build. */
  workers?: number;
}

export type ParallelismMode = 'builds in parallel' | 'workers per build' | 'builds in parallel with workers' | 'one build at a time';

export interface ParallelismChoice {
  mode: ParallelismMode;
  /** Build sessions to open. */
  buildsAtOnce: number;
  /** `max_parallel_maintenance_workers` for each group's builds, in the order of the groups given. */
  workers: number[];
  /** The CPUs the choice was made for. */
  cores: number;
  /** Where `cores` came from; `assumed` is the rule for an unknown count (see assumedCores). */
  coresSource: 'server' | 'option' | 'assumed';
  /** Which parts the user fixed with flags. */
  given: { jobs: boolean; workers: boolean };
  /** One line: why. */
  reason: string;
}

/**
 * Builds at once, when not given: one per table up to twice the cores. Two
 * per core because a concurrent build spends part of its time off the CPU
 * (waiting for older transactions, writing the index): measured on 2 cores,
 * 4 builds beat 2. Only one per core when the cores are assumed, and never
 * more than this, because each build session may take up to
 * maintenance_work_mem.
 */
export const MAX_AUTO_BUILDS = 8;

/**
 * With no core count (a managed server, a role that may not read server
 * files), assume the server may spend on apply what its own settings let one
 * index build use: the leader plus `max_parallel_maintenance_workers` (2 by
 * default, so 3). `max_worker_processes` and `max_parallel_workers` are
 * upper bounds that default to 8 whatever the hardware (RDS raises them with
 * the instance size, but not one for one), so they cap workers instead of
 * standing for cores.
 */
export function assumedCores(capacity: ServerCapacity): number {
  return Math.max(1, 1 + capacity.maxParallelMaintenanceWorkers);
}

/**
 * Workers PostgreSQL itself gives a build on a table this big, whatever the
 * setting allows (compute_parallel_worker: none below
 * min_parallel_table_scan_size, then one more each time the table triples).
 */
export function sizeLimitedWorkers(pages: number, minParallelTableScanPages: number): number {
  let threshold = Math.max(minParallelTableScanPages, 1);
  if (pages < threshold) return 0;
  let workers = 1;
  while (pages >= threshold * 3) {
    workers++;
    threshold *= 3;
  }
  return workers;
}

/**
 * The choice. Each group deserves cores in proportion to its work (pages ×
 * indexes), and at least its share of the cores when fewer builds run than
 * there are cores; a build's workers are those cores minus its leader,
 * limited by what PostgreSQL would launch for the table's size and by the
 * free worker slots.
 */
export function chooseBuildParallelism(groups: readonly BuildGroup[], capacity: ServerCapacity, request: ParallelismRequest = {}): ParallelismChoice {
  const known = capacity.cores !== undefined && capacity.cores >= 1 && capacity.coresSource !== 'unknown';
  const cores = known ? Math.floor(capacity.cores!) : assumedCores(capacity);
  const coresSource = known ? (capacity.coresSource as 'server' | 'option') : 'assumed';
  const given = { jobs: request.jobs !== undefined, workers: request.workers !== undefined };
  const buildsAtOnce = groups.length ? Math.min(groups.length, request.jobs ?? Math.min(known ? 2 * cores : cores, MAX_AUTO_BUILDS)) : 0;

  // Unknown sizes count as the average known size (or all alike when none is known).
  const knownPages = groups.filter((g) => g.pages > 0).map((g) => g.pages);
  const fallbackPages = knownPages.length ? knownPages.reduce((a, b) => a + b, 0) / knownPages.length : 1;
  const work = groups.map((g) => (g.pages > 0 ? g.pages : fallbackPages) * Math.max(1, g.indexes));
  const total = work.reduce((a, b) => a + b, 0);
  // Worker slots: max_worker_processes less the logical replication launcher, which holds one.
  const slots = Math.max(0, Math.min(capacity.maxParallelWorkers, capacity.maxWorkerProcesses - 1));
  const slotsPerBuild = buildsAtOnce ? Math.floor(slots / buildsAtOnce) : 0;

  const workers = groups.map((group, i) => {
    if (request.workers !== undefined) return request.workers;
    const deserved = Math.max((cores * work[i]!) / total, cores / buildsAtOnce);
    const wanted = Math.min(Math.round(deserved) - 1, cores - 1);
    const bySize = group.pages > 0 ? sizeLimitedWorkers(group.pages, capacity.minParallelTableScanPages) : Infinity;
    return Math.max(0, Math.min(wanted, bySize, slotsPerBuild));
  });

  const withWorkers = workers.filter((w) => w > 0).length;
  const mode: ParallelismMode =
    buildsAtOnce > 1 ? (withWorkers ? 'builds in parallel with workers' : 'builds in parallel') : withWorkers ? 'workers per build' : 'one build at a time';
  const small = groups.filter((g) => g.pages > 0 && sizeLimitedWorkers(g.pages, capacity.minParallelTableScanPages) === 0).length;
  return { mode, buildsAtOnce, workers, cores, coresSource, given, reason: reasonFor(groups, small, { buildsAtOnce, workers, cores, coresSource, given }) };
}

function reasonFor(groups: readonly BuildGroup[], small: number, choice: Omit<ParallelismChoice, 'mode' | 'reason'>): string {
  const { buildsAtOnce, workers, cores, coresSource, given } = choice;
  const coreText =
    coresSource === 'assumed'
      ? `${cores} cores assumed (the server did not tell its core count: 1 + its max_parallel_maintenance_workers; --server-cores sets it)`
      : `${cores} ${cores === 1 ? 'core' : 'cores'} (${coresSource === 'server' ? 'read from the server' : '--server-cores'})`;
  const tables = `${groups.length} ${groups.length === 1 ? 'table' : 'tables'}`;
  const parts = [coreText, tables];
  if (given.jobs) parts.push(`--jobs ${buildsAtOnce < groups.length ? buildsAtOnce : 'given'}`);
  if (given.workers) parts.push('--max-parallel-maintenance-workers given');
  else if (workers.some((w) => w > 0) && buildsAtOnce >= cores) parts.push('the biggest tables get workers so they do not outlast the rest');
  else if (workers.every((w) => w === 0) && buildsAtOnce > 1) parts.push('one single-process build per table keeps the cores busier than parallel workers');
  else if (workers.some((w) => w > 0)) parts.push('fewer builds than cores: the spare cores become parallel workers');
  if (!given.workers && small) parts.push(`${small === groups.length ? 'every table is' : `${small} of them are`} under min_parallel_table_scan_size, which PostgreSQL builds without workers`);
  return parts.join('; ');
}

/**
 * The choice in one line, as apply prints it: "builds in parallel: 4 at a
 * time, no parallel workers (2 cores (read from the server); 4 tables; …)".
 */
export function describeChoice(choice: ParallelismChoice, groups: readonly BuildGroup[]): string {
  const distinct = [...new Set(choice.workers)];
  const workers =
    distinct.length === 1
      ? distinct[0] === 0
        ? 'no parallel workers'
        : `${distinct[0]} parallel ${distinct[0] === 1 ? 'worker' : 'workers'} per build`
      : `parallel workers per build: ${groups.map((g, i) => `${g.table} ${choice.workers[i]}`).join(', ')}`;
  return `${choice.mode}: ${choice.buildsAtOnce} at a time, ${workers} (${choice.reason})`;
}
