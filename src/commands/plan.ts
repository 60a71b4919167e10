import { loadIndexSets } from '../config/load-index-sets.js';
import { plannedTables } from '../indexing/execute/analyze-touched.js';
import { tryReadTableStatistics } from '../indexing/execute/table-statistics.js';
import { inspectIndexes } from '../indexing/inspect.js';
import { planIndexes } from '../indexing/plan.js';
import { assertPlannedStatements } from '../indexing/statement-check.js';
import { planReport, planSqlScript } from '../indexing/index-report.js';
import { emitReport, write } from '../report/emit.js';
import { analyzeMode } from './apply.js';
import type { CommandHandler } from './context.js';
import { connectionOptions, loadConfig, openSession, outputFormat, refuseBrokenConcurrentBuilds, throwIfRejected, type CommonOptions } from './shared.js';

export interface PlanOptions extends CommonOptions {
  rebuildDrift?: boolean;
  analyze?: boolean;
  alwaysAnalyze?: boolean;
}

/** `dbtune plan`: states and the exact SQL apply would run; changes nothing. */
export const run: CommandHandler<PlanOptions> = async (files, options, { io }) => {
  const config = await loadConfig(options);
  const format = outputFormat(options, config, ['sql'] as const);
  const analyze = analyzeMode(options, config);
  const sets = await loadIndexSets(files);
  const session = await openSession(connectionOptions(options, config, io.env), 'dbtune plan');
  try {
    const notes: string[] = [];
    try {
      refuseBrokenConcurrentBuilds(session);
    } catch (error) {
      notes.push(`warning: ${(error as Error).message}; apply will refuse to run`);
    }
    const inspection = await inspectIndexes(session, sets.flatMap((s) => s.indexes));
    throwIfRejected(inspection);
    const plans = planIndexes(inspection.indexes, { rebuildDrift: options.rebuildDrift ?? false });
    await assertPlannedStatements(plans);
    if (format === 'sql') {
      // The same single catalog query apply runs before its builds, so the script analyzes what apply would.
      const statistics =
        analyze === 'when-useful'
          ? await tryReadTableStatistics(session, [...plannedTables(plans).values()].map((t) => t.table), (message) => void write(io.stderr, `note: ${message}\n`))
          : undefined;
      await write(io.stdout, planSqlScript(plans, { mode: analyze, ...(statistics ? { statistics } : {}) }));
      return 'ok';
    }
    const report = planReport(plans, { version: session.serverVersion }, [...notes, ...inspection.notes]);
    await emitReport(report, format, io);
    return report.passed ? 'ok' : 'failed';
  } finally {
    await session.close();
  }
};
