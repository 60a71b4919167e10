import { constants } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDuration } from '../config/duration.js';
import { loadScenario, type LoadedScenario } from '../config/load-scenario.js';
import { DbtuneError } from '../errors.js';
import { loadReport } from '../load/load-report.js';
import { createLoadProgress } from '../load/load-progress.js';
import type { LoadResult } from '../load/result.js';
import { runScenario, type StagePlan } from '../load/run-scenario.js';
import { readSavedResultOfKind } from '../explain/saved-result.js';
import { checkTarget, parseTarget } from '../load/target.js';
import { stageThresholds } from '../load/thresholds.js';
import { colorWanted, emitReport } from '../report/emit.js';
import { ansiPaint, plainPaint } from '../report/render-table.js';
import { runContext } from '../report/run-context.js';
import { loadConfig, outputFormat, type CommandHandler, type CommonOptions } from './shared.js';

export interface LoadtestOptions extends CommonOptions {
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
  const target = parseTarget(options.target ?? scenario.spec.target, options.target ? '--target' : 'target');
  const stages = stagePlans(scenario, options);
  const timeoutMs = timeoutOf(scenario, options);
  const baseline = options.baseline ? await readSavedResultOfKind(options.baseline, 'dbtune.loadtest', '--baseline') : undefined;
  if (options.out) await ensureWritable(options.out, '--out');
  if (options.report) await ensureWritable(options.report, '--report');

  await checkTarget(target, { insecure: options.insecure ?? false });

  const paint = colorWanted(io.stderr, io.env) ? ansiPaint : plainPaint;
  const startedAt = new Date().toISOString();
  const outcome = await runScenario({
    scenario,
    target,
    stages,
    timeoutMs,
    warmupMs: scenario.spec.warmup ? parseDuration(scenario.spec.warmup)! : 0,
    stopOnFailure: scenario.spec.stop_on_failure,
    signal,
    onEvent: createLoadProgress(io.stderr, { tty: Boolean(io.stderr.isTTY), paint }),
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
      target: target.href.replace(/\/$/, ''),
      started_at: startedAt,
      timeout_ms: timeoutMs,
    },
    warnings: outcome.warnings,
  };
  if (options.out) await writeOutput(options.out, `${JSON.stringify(result, null, 2)}\n`, '--out');
  if (options.report) {
    const { renderHtmlReport } = await import('../load/html-report.js');
    await writeOutput(options.report, renderHtmlReport(result, baseline), '--report');
  }
  await emitReport(loadReport(result), format, io);
  if (options.report && format !== 'json') io.stderr.write(`HTML report: ${options.report}\n`);
  return outcome.interrupted ? 'interrupted' : outcome.passed ? 'ok' : 'failed';
};

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
    const source = spec.stages[Math.min(i, spec.stages.length - 1)]!;
    return {
      users: count,
      durationMs: duration ?? parseDuration(source.duration)!,
      rampMs: source.ramp ? parseDuration(source.ramp)! : 0,
      thresholds: stageThresholds(spec.thresholds, i < spec.stages.length ? source.thresholds : undefined),
    };
  });
}

function timeoutOf(scenario: LoadedScenario, options: Pick<LoadtestOptions, 'timeout'>): number {
  const text = options.timeout ?? scenario.spec.timeout;
  if (text === undefined) return DEFAULT_TIMEOUT_MS;
  const ms = parseDuration(text);
  // autocannon refuses timeouts under 1 s (the scenario schema says so with a position).
  if (ms === undefined || ms < 1000) throw new DbtuneError('USAGE', `--timeout must be a duration of at least 1s, got ${JSON.stringify(text)}`);
  return ms;
}

/** Refuses an output file that cannot be written before any load is sent, not after. */
async function ensureWritable(file: string, flag: string): Promise<void> {
  try {
    await access(dirname(resolve(file)), constants.W_OK);
  } catch {
    throw new DbtuneError('USAGE', `cannot write ${flag} file ${file}: its directory does not exist or is not writable`);
  }
}

async function writeOutput(file: string, text: string, flag: string): Promise<void> {
  try {
    await writeFile(file, text);
  } catch (error) {
    throw new DbtuneError('INTERNAL', `cannot write ${flag} file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}
