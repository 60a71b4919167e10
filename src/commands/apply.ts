import { loadIndexSets } from '../config/load-index-sets.js';
import { parseDuration } from '../config/duration.js';
import type { ProjectConfig } from '../config/project-config.js';
import { DbtuneError } from '../errors.js';
import { acquireRunLock } from '../indexing/advisory-lock.js';
import { createApplyProgress } from '../indexing/apply-progress.js';
import { DEFAULT_BUILD_SETTINGS, executePlans, type BuildSettings } from '../indexing/execute-plan.js';
import { executionReport } from '../indexing/index-report.js';
import { inspectIndexes } from '../indexing/inspect.js';
import { planIndexes } from '../indexing/plan.js';
import { colorWanted, emitReport, write } from '../report/emit.js';
import { ansiPaint, plainPaint } from '../report/render-table.js';
import {
  connectionOptions,
  loadConfig,
  openSession,
  outputFormat,
  parseIntOption,
  refuseBrokenConcurrentBuilds,
  throwIfRejected,
  type CommandHandler,
  type CommonOptions,
} from './shared.js';

export interface ApplyOptions extends CommonOptions {
  jobs?: string;
  maintenanceWorkMem?: string;
  maxParallelMaintenanceWorkers?: string;
  lockTimeout?: string;
  maxWait?: string;
  lockWait?: string;
  analyze?: boolean;
  rebuildDrift?: boolean;
}

/** `dbtune apply`: build what is missing, repair leftovers, never block writes. */
export const run: CommandHandler<ApplyOptions> = async (files, options, { io, signal }) => {
  const config = await loadConfig(options);
  const format = outputFormat(options, config);
  const settings = buildSettings(options, config);
  const lockWaitMs = lockWaitOption(options, config);
  const sets = await loadIndexSets(files);
  const connection = connectionOptions(options, config, io.env);
  const control = await openSession(connection, 'dbtune apply');
  try {
    refuseBrokenConcurrentBuilds(control);
    const release = await acquireRunLock(control, {
      waitMs: lockWaitMs,
      signal,
      onWait: (holder) => void write(io.stderr, `waiting for another dbtune run to finish (pid ${holder?.pid ?? '?'})…\n`),
    });
    try {
      const inspection = await inspectIndexes(control, sets.flatMap((s) => s.indexes));
      throwIfRejected(inspection);
      const plans = planIndexes(inspection.indexes, { rebuildDrift: options.rebuildDrift ?? false });
      const tty = Boolean(io.stderr.isTTY);
      const progress = createApplyProgress(io.stderr, { tty, paint: colorWanted(io.stderr, io.env) ? ansiPaint : plainPaint });
      for (const note of inspection.notes) progress({ type: 'notice', message: note.replace(/^note: /, '') });
      const tablePages = new Map([...inspection.catalog.tables].map(([key, table]) => [key, table.pages]));
      const run = await executePlans(control, () => openSession(connection, 'dbtune apply build'), plans, settings, { signal, onEvent: progress, tablePages });
      const report = executionReport('apply', run, { version: control.serverVersion, versionNum: control.serverVersionNum }, {
        jobs: settings.jobs,
        maintenance_work_mem: settings.maintenanceWorkMem,
        max_parallel_maintenance_workers: settings.maxParallelMaintenanceWorkers,
        lock_timeout_ms: settings.lockTimeoutMs,
        max_wait_ms: settings.maxWaitMs,
        analyze: settings.analyze,
      });
      await emitReport(report, format, io);
      return run.interrupted ? 'interrupted' : report.passed ? 'ok' : 'failed';
    } finally {
      await release();
    }
  } finally {
    await control.close();
  }
};

/** Flags override dbtune.yaml, which overrides the defaults; bad values are usage errors (exit 2). */
export function buildSettings(options: ApplyOptions, config: ProjectConfig): BuildSettings {
  const fromConfig = config.apply ?? {};
  const memory = options.maintenanceWorkMem ?? fromConfig.maintenance_work_mem ?? DEFAULT_BUILD_SETTINGS.maintenanceWorkMem;
  if (!/^\d+\s*(kB|MB|GB|TB)$/.test(memory)) {
    throw new DbtuneError('USAGE', `--maintenance-work-mem must be a size like 512MB or 2GB, got ${JSON.stringify(memory)}`);
  }
  return {
    ...DEFAULT_BUILD_SETTINGS,
    jobs: parseIntOption('--jobs', options.jobs ?? fromConfig.jobs, 1, 64) ?? DEFAULT_BUILD_SETTINGS.jobs,
    maintenanceWorkMem: memory.replace(/\s+/g, ''),
    maxParallelMaintenanceWorkers:
      parseIntOption('--max-parallel-maintenance-workers', options.maxParallelMaintenanceWorkers ?? fromConfig.max_parallel_maintenance_workers, 0, 64) ??
      DEFAULT_BUILD_SETTINGS.maxParallelMaintenanceWorkers,
    lockTimeoutMs: durationOption('--lock-timeout', options.lockTimeout ?? fromConfig.lock_timeout, DEFAULT_BUILD_SETTINGS.lockTimeoutMs),
    maxWaitMs: durationOption('--max-wait', options.maxWait ?? fromConfig.max_wait, DEFAULT_BUILD_SETTINGS.maxWaitMs),
    analyze: options.analyze ?? fromConfig.analyze ?? DEFAULT_BUILD_SETTINGS.analyze,
  };
}

/** How long to wait for another dbtune run's lock; default 0 (fail at once, naming it). */
export function lockWaitOption(options: Pick<ApplyOptions, 'lockWait'>, config: ProjectConfig): number {
  return durationOption('--lock-wait', options.lockWait ?? config.apply?.lock_wait, 0);
}

function durationOption(name: string, value: string | number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms === undefined) throw new DbtuneError('USAGE', `${name} must be a duration like 500ms, 30s or 10m (0 for none), got ${JSON.stringify(value)}`);
  return ms;
}
