import type { SqlSession } from '../db/client.js';
import type { ConnectionOptions } from '../db/connection-options.js';
import { acquireRunLock } from '../indexing/advisory-lock.js';
import { createApplyProgress } from '../indexing/apply-progress.js';
import { executePlans } from '../indexing/execute/execute-plans.js';
import type { BuildSettings } from '../indexing/execute/settings.js';
import { executionReport } from '../indexing/index-report.js';
import type { IndexPlan } from '../indexing/plan.js';
import type { OutputFormat } from '../report/model.js';
import { colorWanted, emitReport, write } from '../report/emit.js';
import { ansiPaint, plainPaint } from '../report/render-table.js';
import type { CommandContext, CommandOutcome } from './context.js';
import { openSession } from './shared.js';

/** Runs `body` holding the database's dbtune run lock (see advisory-lock.ts). */
export async function withRunLock<T>(control: SqlSession, waitMs: number, context: CommandContext, body: () => Promise<T>): Promise<T> {
  const release = await acquireRunLock(control, {
    waitMs,
    signal: context.signal,
    onWait: (holder) => void write(context.io.stderr, `waiting for another dbtune run to finish (pid ${holder?.pid ?? '?'})…\n`),
  });
  try {
    return await body();
  } finally {
    await release();
  }
}

export interface RunPlansOptions {
  command: 'apply' | 'drop';
  control: SqlSession;
  connection: ConnectionOptions;
  plans: readonly IndexPlan[];
  settings: BuildSettings;
  format: OutputFormat;
  /** Shown on stderr before the first build. */
  notices?: string[];
  tablePages?: ReadonlyMap<string, number>;
  /** The settings as the JSON report shows them. */
  settingsDocument?: Record<string, unknown>;
}

/** apply and drop alike: execute the plans with progress on stderr, then the report on stdout. */
export async function runPlansAndReport(options: RunPlansOptions, context: CommandContext): Promise<CommandOutcome> {
  const { io, signal } = context;
  const { control, connection, command } = options;
  const progress = createApplyProgress(io.stderr, { tty: Boolean(io.stderr.isTTY), paint: colorWanted(io.stderr, io.env) ? ansiPaint : plainPaint });
  for (const message of options.notices ?? []) progress({ type: 'notice', message });
  const run = await executePlans(control, () => openSession(connection, `dbtune ${command} build`), options.plans, options.settings, {
    signal,
    onEvent: progress,
    ...(options.tablePages ? { tablePages: options.tablePages } : {}),
  });
  const report = executionReport(command, run, { version: control.serverVersion }, options.settingsDocument ?? {});
  await emitReport(report, options.format, io);
  return run.interrupted ? 'interrupted' : report.passed ? 'ok' : 'failed';
}
