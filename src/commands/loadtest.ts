import { dirname, resolve } from 'node:path';
import { parseDuration } from '../config/duration.js';
import { loadScenario, type LoadedScenario } from '../config/load-scenario.js';
import { DbtuneError } from '../errors.js';
import { checkOutputFile, writeOutputFile } from '../files/output-file.js';
import { loadReport } from '../load/load-report.js';
import { createLoadProgress } from '../load/load-progress.js';
import type { LoadResult } from '../model/load-result.js';
import { chooseEngine, createEngine, exportForWorkers, type EngineChoice, type EngineFlags } from '../load/engine/choose-engine.js';
import type { LoadEngine } from '../load/engine/load-engine.js';
import { runScenario, type StagePlan } from '../load/run-scenario.js';
import { readSavedResultOfKind } from '../model/saved-result.js';
import { describeEnvValue } from '../scenario/env-refs.js';
import { checkTarget, parseTarget } from '../load/target.js';
import { redactUrl } from '../redact-url.js';
import { stageThresholds } from '../load/thresholds.js';
import { colorWanted, emitReport } from '../report/emit.js';
import { ansiPaint, plainPaint } from '../report/render-table.js';
import { runContext } from '../report/run-context.js';
import { loadIndexSets } from '../config/load-index-sets.js';
import type { ProjectConfig } from '../config/project-config.js';
import { resolveConnectionOptions, type ConnectionOptions } from '../db/connection-options.js';
import type { DatabaseThresholds, DatabaseWatch, WatchedIndex } from '../observe/database-watch.js';
import type { StageObserver } from '../load/run-scenario.js';
import type { OutputFormat } from '../report/model.js';
import type { CommandContext, CommandHandler, CommandOutcome } from './context.js';
import { connectionOptions, loadConfig, openSession, outputFormat, type CommonOptions } from './shared.js';

export interface LoadtestOptions extends CommonOptions, EngineFlags {
  indexes?: string[];
  target?: string;
  duration?: string;
  stages?: string;
  timeout?: string;
  out?: string;
  report?: string;
  baseline?: string;
  insecure?: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** `dbtune loadtest scenario.yaml`: staged load against an HTTP API, thresholds per stage. */
export const run: CommandHandler<LoadtestOptions> = async (files, options, { io, signal }) => {
  if (files.length !== 1) throw new DbtuneError('USAGE', `loadtest takes one scenario file, got ${files.length}`);
  const config = await loadConfig(options);
  const format = outputFormat(options, config);
  // Everything the user gave is checked before any traffic is sent.
  const scenario = await loadScenario(files[0]!, io.env);
  const targetFromEnv = options.target ? undefined : scenario.envValues.get('target');
  const target = parseTarget(options.target ?? scenario.spec.target, options.target ? '--target' : 'target', targetFromEnv ? describeEnvValue(targetFromEnv) : undefined);
  const stages = stagePlans(scenario, options);
  const timeoutMs = timeoutOf(scenario, options);
  const engineChoice = chooseEngine(options, scenario);
  if (options.exportLocustfile !== undefined) {
    const written = await exportForWorkers(engineChoice, { scenario, scenarioFile: files[0]!, target, timeoutMs, insecure: options.insecure ?? false, env: io.env }, options.exportLocustfile);
    io.stderr.write(`${written.map((f) => `wrote ${f}`).join('\n')}\n`);
    return 'ok';
  }
  const watchSetup = await prepareDatabaseWatch(scenario, options, config, io.env);
  const baseline = options.baseline ? await readSavedResultOfKind(options.baseline, 'dbtune.loadtest', '--baseline') : undefined;
  if (options.out) await checkOutputFile(options.out, '--out');
  if (options.report) await checkOutputFile(options.report, '--report');

  const { engine, close } = createEngine(engineChoice, { scenario, target, timeoutMs, insecure: options.insecure ?? false, env: io.env });
  try {
    // A missing engine (locust not installed) is exit 3 before the target is even tried.
    engine.preflight();
    await checkTarget(target, { insecure: options.insecure ?? false });
    // Connect to the database before any load too: unreachable is exit 3 now, not after the stages.
    const watch = watchSetup ? await startDatabaseWatch(watchSetup, signal) : undefined;
    try {
      return await runAndReport({ scenario, engine, engineChoice, target, stages, timeoutMs, baseline, watch, format, options, io, signal });
    } finally {
      await watch?.close();
    }
  } finally {
    await close();
  }
};

interface RunInputs {
  scenario: LoadedScenario;
  engine: LoadEngine;
  engineChoice: EngineChoice;
  target: URL;
  stages: StagePlan[];
  timeoutMs: number;
  baseline: LoadResult | undefined;
  watch: StartedWatch | undefined;
  format: OutputFormat;
  options: LoadtestOptions;
  io: CommandContext['io'];
  signal: AbortSignal;
}

async function runAndReport({ scenario, engine, engineChoice, target, stages, timeoutMs, baseline, watch, format, options, io, signal }: RunInputs): Promise<CommandOutcome> {
  const paint = colorWanted(io.stderr, io.env) ? ansiPaint : plainPaint;
  const startedAt = new Date().toISOString();
  const outcome = await runScenario({
    scenario,
    engine,
    target,
    stages,
    timeoutMs,
    warmupMs: scenario.times.warmupMs,
    stopOnFailure: scenario.spec.stop_on_failure,
    insecure: options.insecure ?? false,
    signal,
    onEvent: createLoadProgress(io.stderr, { tty: Boolean(io.stderr.isTTY), paint }),
    ...(watch ? { observer: watch.observer } : {}),
  });

  const result: LoadResult = {
    kind: 'dbtune.loadtest',
    format_version: 1,
    passed: outcome.passed,
    interrupted: outcome.interrupted,
    max_sustained_users: outcome.maxSustainedUsers,
    stages: outcome.stages,
    context: {
      ...(await runContext()),
      scenario: scenario.spec.scenario,
      scenario_file: scenario.file,
      target: redactUrl(target.href.replace(/\/$/, '')),
      started_at: startedAt,
      timeout_ms: timeoutMs,
      engine: engine.name,
      ...(engineChoice.kind === 'locust' ? { workers: engineChoice.localWorkers + engineChoice.remoteWorkers } : {}),
      ...(watch ? { server_version: watch.serverVersion, database: watch.database } : {}),
    },
    warnings: [...(watch?.notes ?? []), ...outcome.warnings],
  };
  if (options.out) await writeOutputFile(options.out, `${JSON.stringify(result, null, 2)}\n`, '--out');
  if (options.report) {
    const { renderHtmlReport } = await import('../load/html-report.js');
    await writeOutputFile(options.report, renderHtmlReport(result, baseline), '--report');
  }
  await emitReport(loadReport(result), format, io);
  if (options.report && format !== 'json') io.stderr.write(`HTML report: ${options.report}\n`);
  return outcome.interrupted ? 'interrupted' : outcome.passed ? 'ok' : 'failed';
}

interface WatchSetup {
  connection: ConnectionOptions;
  /** From database.settle; else settleTime() for the server's version. */
  settleMs?: number;
  indexes: WatchedIndex[];
  thresholds: DatabaseThresholds;
  /** database.roles: count only these roles' statements. */
  roles: string[];
}

interface StartedWatch {
  observer: StageObserver;
  notes: string[];
  serverVersion: string;
  database: string;
  close(): Promise<void>;
}

/**
 * How long to wait after a stage before reading the statistics. Table, index
 * and database counters reach the views when backends flush them: at most
 * every second on PostgreSQL 15+, and what a backend holds when it goes idle
 * is flushed 10 s later; without that wait the last second of a stage (say,
 * the seq scans before an index existed) lands in the next one. On 13-14 the
 * collector gets them within 500 ms, or with the backend's next transaction.
 * pg_stat_statements has no such lag.
 */
export function settleTime(serverVersionNum: number): number {
  return serverVersionNum >= 150000 ? 10_500 : 700;
}

/**
 * The database watch runs when the scenario has `database:` or --database-url
 * is given. Index sets (--indexes, database.indexes) are read here, with the
 * scenario: bad input is exit 2 before anything connects.
 */
async function prepareDatabaseWatch(scenario: LoadedScenario, options: LoadtestOptions, config: ProjectConfig, env: NodeJS.ProcessEnv): Promise<WatchSetup | undefined> {
  const spec = scenario.spec.database;
  if (!spec && !options.databaseUrl) {
    if (options.indexes?.length) throw new DbtuneError('USAGE', '--indexes reports index use under load: it needs a database to watch (--database-url, or database: in the scenario)');
    return undefined;
  }
  const files = [...(options.indexes ?? []), ...(spec?.indexes ?? []).map((f) => resolve(dirname(scenario.file), f))];
  const sets = files.length ? await loadIndexSets(files) : [];
  const indexes = sets.flatMap((set) => set.indexes.map((i) => ({ schema: i.table.schema, name: i.name, table: `${i.table.schema}.${i.table.name}` })));
  const databaseUrl = options.databaseUrl ?? spec?.url;
  const connection = databaseUrl ? resolveConnectionOptions({ databaseUrl, env }) : connectionOptions(options, config, env);
  return { connection, indexes, thresholds: spec?.thresholds ?? {}, roles: spec?.roles ?? [], ...(scenario.times.settleMs !== undefined ? { settleMs: scenario.times.settleMs } : {}) };
}

async function startDatabaseWatch(setup: WatchSetup, signal: AbortSignal): Promise<StartedWatch> {
  const { DatabaseWatch: Watch } = await import('../observe/database-watch.js');
  const session = await openSession(setup.connection, 'dbtune loadtest (database watch)');
  let watch: DatabaseWatch;
  try {
    watch = await Watch.start(session, setup.indexes, setup.thresholds, setup.roles);
  } catch (error) {
    await session.close();
    throw error;
  }
  const settleMs = setup.settleMs ?? settleTime(session.serverVersionNum);
  if (setup.settleMs === undefined) {
    watch.notes.push(
      session.serverVersionNum >= 150000
        ? 'after each stage dbtune waits 10 s before reading table, index and transaction statistics: PostgreSQL 15+ flushes what a session holds when it goes idle only that much later (database.settle changes the wait)'
        : "on PostgreSQL 13-14 up to the last 0.5 s of each session's table, index and transaction counters reach the statistics only with its next transaction, so they may count in the next stage",
    );
  }
  const thresholdNames = Object.keys(setup.thresholds).length;
  // A failing watch (the session killed, the server restarted) never stops the load test: the
  // stage's load result stands, its database part says what failed, and its database limits fail.
  let failure: string | undefined;
  const failed = (error: unknown) => `the database watch failed: ${(error as Error).message}`;
  const observer: StageObserver = {
    beforeStage: async (_stage, afterUnmeasuredLoad) => {
      failure = undefined;
      try {
        await watch.beforeStage(afterUnmeasuredLoad ? settleMs : 0, signal);
      } catch (error) {
        failure = failed(error);
      }
    },
    afterStage: async (_stage, requests) => {
      try {
        if (failure) throw new Error(failure);
        return await watch.afterStage(requests, settleMs, signal);
      } catch (error) {
        const message = failure ?? failed(error);
        return { database: { error: message }, thresholds: thresholdNames ? [{ name: 'database', limit: 'measured', observed: message, passed: false }] : [] };
      }
    },
  };
  return {
    observer,
    notes: watch.notes,
    serverVersion: session.serverVersion,
    database: `${setup.connection.host}:${setup.connection.port}/${setup.connection.database}`,
    // Closing never turns the run's outcome into an error.
    close: () => watch.close().catch(() => {}),
  };
}

/** The scenario's stages, with --stages (users) and --duration (every stage) applied. */
export function stagePlans(scenario: LoadedScenario, options: Pick<LoadtestOptions, 'stages' | 'duration'>): StagePlan[] {
  const { spec } = scenario;
  const duration = options.duration === undefined ? undefined : parseDuration(options.duration);
  if (options.duration !== undefined && (duration === undefined || duration < 1000)) {
    throw new DbtuneError('USAGE', `--duration must be a duration of at least 1s, like 5s or 2m, got ${JSON.stringify(options.duration)}`);
  }
  let users = spec.stages.map((s) => s.users);
  if (options.stages !== undefined) {
    const parts = options.stages.split(',').map((p) => p.trim());
    if (!parts.length || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 10_000)) {
      throw new DbtuneError('USAGE', `--stages must be user counts separated by commas, like 10,50,100 (each 1 to 10000), got ${JSON.stringify(options.stages)}`);
    }
    users = parts.map(Number);
  }
  return users.map((count, i) => {
    // With --stages, a stage takes the settings of the scenario's stage at the same position (or the last one).
    const at = Math.min(i, spec.stages.length - 1);
    const source = spec.stages[at]!;
    const times = scenario.times.stages[at]!;
    return {
      users: count,
      durationMs: duration ?? times.durationMs,
      rampMs: times.rampMs,
      thresholds: stageThresholds(spec.thresholds, i < spec.stages.length ? source.thresholds : undefined),
    };
  });
}

function timeoutOf(scenario: LoadedScenario, options: Pick<LoadtestOptions, 'timeout'>): number {
  if (options.timeout === undefined) return scenario.times.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const text = options.timeout;
  const ms = parseDuration(text);
  // autocannon refuses timeouts under 1 s (the scenario schema says so with a position).
  if (ms === undefined || ms < 1000) throw new DbtuneError('USAGE', `--timeout must be a duration of at least 1s, got ${JSON.stringify(text)}`);
  return ms;
}
