import { describe, expect, it } from 'vitest';
import {
  assumedCores,
  chooseBuildParallelism,
  sizeLimitedWorkers,
  type BuildGroup,
  type ServerCapacity,
} from '../../src/indexing/execute/build-parallelism.js';
import { coresFromFiles } from '../../src/indexing/execute/server-capacity.js';

/** PostgreSQL's defaults: 8 worker processes, 8 parallel workers, 2 per maintenance command, 8MB (1024 pages). */
function server(cores: number | undefined, overrides: Partial<ServerCapacity> = {}): ServerCapacity {
  return {
    ...(cores === undefined ? { coresSource: 'unknown' as const } : { cores, coresSource: 'server' as const }),
    maxWorkerProcesses: 8,
    maxParallelWorkers: 8,
    maxParallelMaintenanceWorkers: 2,
    minParallelTableScanPages: 1024,
    ...overrides,
  };
}

const MB100 = 12_800; // pages of a 100 MB table
const tables = (...pages: number[]): BuildGroup[] => pages.map((p, i) => ({ table: `t${i}`, pages: p, indexes: 1 }));

describe('chooseBuildParallelism', () => {
  it.each([
    // [what, groups, cores, request, builds at once, workers per group, mode]
    ['4 like tables on 2 cores: one build per table, no workers (the bench)', tables(MB100, MB100, MB100, MB100), 2, {}, 4, [0, 0, 0, 0], 'builds in parallel'],
    ['2 like tables on 2 cores: both at once, no workers', tables(MB100, MB100), 2, {}, 2, [0, 0], 'builds in parallel'],
    ['one table on 2 cores: a worker beside the leader', tables(MB100), 2, {}, 1, [1], 'workers per build'],
    ['one table on 8 cores: as many workers as its size allows (3 for 100 MB)', tables(MB100), 8, {}, 1, [3], 'workers per build'],
    ['one huge table on 8 cores: every core', tables(100 * MB100), 8, {}, 1, [7], 'workers per build'],
    ['2 like tables on 8 cores: 4 cores each', tables(10 * MB100, 10 * MB100), 8, {}, 2, [3, 3], 'builds in parallel with workers'],
    ['one table 10× the others on 2 cores: it alone gets a worker', tables(10 * MB100, MB100, MB100, MB100), 2, {}, 4, [1, 0, 0, 0], 'builds in parallel with workers'],
    ['tiny tables: no workers whatever the cores', tables(50, 80), 8, {}, 2, [0, 0], 'builds in parallel'],
    ['12 tables on 2 cores: at most twice the cores at once', tables(...Array<number>(12).fill(MB100)), 2, {}, 4, Array<number>(12).fill(0), 'builds in parallel'],
    ['20 tables on 16 cores: capped at 8 at once; 7 worker slots do not give each a worker', tables(...Array<number>(20).fill(MB100)), 16, {}, 8, Array<number>(20).fill(0), 'builds in parallel'],
    ['--jobs 1 with 4 tables on 8 cores: each build gets the cores', tables(100 * MB100, 100 * MB100, 100 * MB100, 100 * MB100), 8, { jobs: 1 }, 1, [7, 7, 7, 7], 'workers per build'],
    ['--jobs 2 with 4 tables on 2 cores: two at a time, no workers', tables(MB100, MB100, MB100, MB100), 2, { jobs: 2 }, 2, [0, 0, 0, 0], 'builds in parallel'],
    ['--max-parallel-maintenance-workers given: used for every build', tables(MB100, 50), 2, { workers: 2 }, 2, [2, 2], 'builds in parallel with workers'],
    ['both given: as given', tables(MB100, MB100, MB100), 2, { jobs: 1, workers: 0 }, 1, [0, 0, 0], 'one build at a time'],
    ['a single core: one build at a time per core, twice', tables(MB100, MB100, MB100), 1, {}, 2, [0, 0, 0], 'builds in parallel'],
  ] as const)('%s', (_what, groups, cores, request, builds, workers, mode) => {
    const choice = chooseBuildParallelism(groups, server(cores), request);
    expect({ builds: choice.buildsAtOnce, workers: choice.workers, mode: choice.mode }).toEqual({ builds, workers, mode });
  });

  it('unknown sizes (relpages 0 or -1) count as the average known size and are not size-limited', () => {
    const choice = chooseBuildParallelism([{ table: 'a', pages: -1, indexes: 1 }], server(4));
    expect(choice.workers).toEqual([3]);
    expect(chooseBuildParallelism([{ table: 'a', pages: 0, indexes: 1 }, { table: 'b', pages: 10 * MB100, indexes: 1 }], server(4)).workers).toEqual([1, 1]);
  });

  it('counts every index of a table: a table with 3 indexes is 3 builds long', () => {
    expect(chooseBuildParallelism([{ table: 'a', pages: MB100, indexes: 3 }, ...tables(MB100)], server(2)).workers).toEqual([1, 0]);
  });

  it('never asks for more workers than the free worker slots allow', () => {
    const choice = chooseBuildParallelism(tables(100 * MB100, 100 * MB100), server(16, { maxWorkerProcesses: 5, maxParallelWorkers: 8 }));
    expect(choice.workers).toEqual([2, 2]); // (5 - 1 launcher) / 2 builds
    expect(chooseBuildParallelism(tables(100 * MB100), server(16, { maxParallelWorkers: 0 })).workers).toEqual([0]);
  });

  it('with no core count assumes 1 + the server max_parallel_maintenance_workers, builds one per core, and says so', () => {
    expect(assumedCores(server(undefined))).toBe(3);
    const choice = chooseBuildParallelism(tables(MB100, MB100, MB100, MB100), server(undefined));
    // One build per assumed core, not two: each session may use maintenance_work_mem on a server of unknown size.
    expect(choice).toMatchObject({ cores: 3, coresSource: 'assumed', buildsAtOnce: 3, workers: [0, 0, 0, 0] });
    expect(choice.reason).toContain('assumed');
    expect(chooseBuildParallelism(tables(MB100), server(undefined, { maxParallelMaintenanceWorkers: 0 }))).toMatchObject({ cores: 1, workers: [0] });
  });

  it('--server-cores is named as the source', () => {
    const choice = chooseBuildParallelism(tables(MB100), { ...server(4), coresSource: 'option' });
    expect(choice).toMatchObject({ cores: 4, coresSource: 'option' });
    expect(choice.reason).toContain('--server-cores');
  });

  it('no groups: nothing to open', () => {
    expect(chooseBuildParallelism([], server(2))).toMatchObject({ buildsAtOnce: 0, workers: [], mode: 'one build at a time' });
  });
});

describe('sizeLimitedWorkers: what PostgreSQL launches for a table of this size', () => {
  it.each([
    [1023, 0],
    [1024, 1],
    [3072, 2],
    [9216, 3],
    [27_648, 4],
    [MB100, 3],
  ])('%i pages: %i', (pages, workers) => {
    expect(sizeLimitedWorkers(pages, 1024)).toBe(workers);
  });
});

describe("coresFromFiles: the server backend's CPUs from its /proc and cgroup files", () => {
  it.each([
    ['Name:\tpostgres\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n', null, 2],
    ['Cpus_allowed_list:\t0-3,8-11\n', null, 8],
    ['Cpus_allowed_list:\t5\n', null, 1],
    ['Cpus_allowed_list:\t0-15\n', '200000 100000\n', 2],
    ['Cpus_allowed_list:\t0-15\n', '150000 100000\n', 2],
    ['Cpus_allowed_list:\t0-3\n', 'max 100000\n', 4],
    [null, null, undefined],
    ['Name:\tpostgres\n', null, undefined],
    ['Cpus_allowed_list:\tgarbage\n', null, undefined],
  ])('%j with cpu.max %j: %s', (status, cpuMax, cores) => {
    expect(coresFromFiles(status, cpuMax)).toBe(cores);
  });

  // /proc/self/cgroup names the backend's own cgroup; the statement reads cpu.max at the mount root and in
  // that cgroup and its parent (v2), and cpu.cfs_quota_us / cpu.cfs_period_us in it and at the root (v1).
  const allCpus = 'Cpus_allowed_list:\t0-15\n';
  it.each<[string, Array<string | null>, Array<[string | null, string | null]>, number | undefined]>([
    ['v2 at the root (docker --cpus, cgroup namespace)', ['300000 100000\n', null, null], [], 3],
    ['v2 nested (systemd CPUQuota=200%, no namespace): the root file is absent', [null, '200000 100000\n', 'max 100000\n'], [], 2],
    ['v2 nested, the parent slice the tighter', [null, '400000 100000\n', '100000 100000\n'], [], 1],
    ['v2, no quota anywhere', [null, 'max 100000\n', 'max 100000\n'], [], 16],
    ['v1 in its own cgroup', [null, null, null], [['150000\n', '100000\n'], ['-1\n', '100000\n']], 2],
    ['v1 at the root (docker --cpus on v1)', [null, null, null], [[null, null], ['400000\n', '100000\n']], 4],
    ['v1, no quota (-1)', [null, null, null], [['-1\n', '100000\n'], ['-1\n', '100000\n']], 16],
    ['v1, a quota without its period', [null, null, null], [['200000\n', null]], 16],
  ])('%s', (_what, cpuMax, cfs, cores) => {
    expect(coresFromFiles(allCpus, cpuMax, cfs)).toBe(cores);
  });
  it('a quota without Cpus_allowed_list still counts', () => {
    expect(coresFromFiles(null, [null], [['250000', '100000']])).toBe(3);
  });
});
