import { loadIndexSets } from '../config/load-index-sets.js';
import { parseDuration } from '../config/duration.js';
import type { ProjectConfig } from '../config/project-config.js';
import { DbtuneError } from '../errors.js';
import type { AnalyzeMode } from '../indexing/execute/analyze-need.js';
import { DEFAULT_BUILD_SETTINGS, type BuildSettings } from '../indexing/execute/settings.js';
import { inspectIndexes } from '../indexing/inspect.js';
import { planIndexes } from '../indexing/plan.js';
import type { CommandHandler } from './context.js';
import { runPlansAndReport, withRunLock } from './run-plans.js';
import {
  connectionOptions,
  loadConfig,
  openSession,
  outputFormat,
  parseIntOption,
  refuseBrokenConcurrentBuilds,
  throwIfRejected,
  type CommonOptions,
} from './shared.js';

export interface ApplyOptions extends CommonOptions {
  jobs?: string;
  maintenanceWorkMem?: string;
  maxParallelMaintenanceWorkers?: string;
  serverCores?: string;
  lockTimeout?: string;
  maxWait?: string;
  lockWait?: string;
  /** false with --no-analyze, true with --analyze (the default, over dbtune.yaml's `analyze: false`), unset without either. */
  analyze?: boolean;
  alwaysAnalyze?: boolean;
  rebuildDrift?: boolean;
}

/** `dbtune apply`: build what is missing, repair leftovers, never block writes. */
export const run: CommandHandler<ApplyOptions> = async (files, options, context) => {
  const config = await loadConfig(options);
  const format = outputFormat(options, config);
  const settings = buildSettings(options, config);
  const lockWaitMs = lockWaitOption(options, config);
  const sets = await loadIndexSets(files);
  const connection = connectionOptions(options, config, context.io.env);
  const control = await openSession(connection, 'dbtune apply');
  try {
    refuseBrokenConcurrentBuilds(control);
    return await withRunLock(control, lockWaitMs, context, async () => {
      const inspection = await inspectIndexes(control, sets.flatMap((s) => s.indexes));
      throwIfRejected(inspection);
      return runPlansAndReport(
        {
          command: 'apply',
          control,
          connection,
          plans: planIndexes(inspection.indexes, { rebuildDrift: options.rebuildDrift ?? false }),
          settings,
          format,
          notices: inspection.notes.map((note) => note.replace(/^note: /, '')),
          tablePages: new Map([...inspection.catalog.tables].map(([key, table]) => [key, table.pages])),
          settingsDocument: {
            // 'auto': chosen by the scheduler; the run's `schedule` has what it chose.
            jobs: settings.jobs ?? 'auto',
            // 'auto': a share of 1GB across the build sessions (settings.ts).
            maintenance_work_mem: settings.maintenanceWorkMem ?? 'auto',
            max_parallel_maintenance_workers: settings.maxParallelMaintenanceWorkers ?? 'auto',
            ...(settings.serverCores !== undefined ? { server_cores: settings.serverCores } : {}),
            lock_timeout_ms: settings.lockTimeoutMs,
            max_wait_ms: settings.maxWaitMs,
            analyze: settings.analyze !== 'never',
            always_analyze: settings.analyze === 'always',
          },
        },
        context,
      );
    });
  } finally {
    await control.close();
  }
};

/** Flags override dbtune.yaml, which overrides the defaults; bad values are usage errors (exit 2). */
export function buildSettings(options: ApplyOptions, config: ProjectConfig): BuildSettings {
  const fromConfig = config.apply ?? {};
  const memory = options.maintenanceWorkMem ?? fromConfig.maintenance_work_mem;
  if (memory !== undefined && !/^\d+\s*(kB|MB|GB|TB)$/.test(memory)) {
    throw new DbtuneError('USAGE', `--maintenance-work-mem must be a size like 512MB or 2GB, got ${JSON.stringify(memory)}`);
  }
  const jobs = parseIntOption('--jobs', options.jobs ?? fromConfig.jobs, 1, 64);
  const workers = parseIntOption('--max-parallel-maintenance-workers', options.maxParallelMaintenanceWorkers ?? fromConfig.max_parallel_maintenance_workers, 0, 64);
  const serverCores = parseIntOption('--server-cores', options.serverCores ?? fromConfig.server_cores, 1, 1024);
  return {
    ...DEFAULT_BUILD_SETTINGS,
    ...(jobs !== undefined ? { jobs } : {}),
    ...(memory !== undefined ? { maintenanceWorkMem: memory.replace(/\s+/g, '') } : {}),
    ...(workers !== undefined ? { maxParallelMaintenanceWorkers: workers } : {}),
    ...(serverCores !== undefined ? { serverCores } : {}),
    lockTimeoutMs: durationOption('--lock-timeout', options.lockTimeout ?? fromConfig.lock_timeout, DEFAULT_BUILD_SETTINGS.lockTimeoutMs),
    maxWaitMs: durationOption('--max-wait', options.maxWait ?? fromConfig.max_wait, DEFAULT_BUILD_SETTINGS.maxWaitMs),
    analyze: analyzeMode(options, config),
  };
}

/**
 * --no-analyze (never), --always-analyze, or --analyze (where it adds
 * statistics) override dbtune.yaml's `analyze` and `always_analyze`; the
 * default is where it adds statistics.
 */
export function analyzeMode(options: Pick<ApplyOptions, 'analyze' | 'alwaysAnalyze'>, config: ProjectConfig): AnalyzeMode {
  if (options.analyze === false && options.alwaysAnalyze) throw new DbtuneError('USAGE', '--no-analyze and --always-analyze contradict each other: give one of them');
  if (options.analyze === false) return 'never';
  if (options.alwaysAnalyze) return 'always';
  if (options.analyze === true) return 'when-useful';
  const fromConfig = config.apply ?? {};
  if (fromConfig.analyze === false) return 'never';
  if (fromConfig.always_analyze) return 'always';
  return DEFAULT_BUILD_SETTINGS.analyze;
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
