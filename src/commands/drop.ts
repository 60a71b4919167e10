import { loadIndexSets } from '../config/load-index-sets.js';
import { readCatalog } from '../indexing/catalog.js';
import { indexKey, indexQualifiedName, type IndexDeclaration } from '../indexing/declaration.js';
import { createApplyProgress } from '../indexing/apply-progress.js';
import { acquireRunLock } from '../indexing/advisory-lock.js';
import { executePlans } from '../indexing/execute-plan.js';
import { executionReport, planReport, planSqlScript } from '../indexing/index-report.js';
import { indexState } from '../indexing/index-state.js';
import { planDrop } from '../indexing/plan.js';
import { colorWanted, emitReport, write } from '../report/emit.js';
import { ansiPaint, plainPaint } from '../report/render-table.js';
import { buildSettings, lockWaitOption, type ApplyOptions } from './apply.js';
import { connectionOptions, loadConfig, openSession, outputFormat, type CommandHandler } from './shared.js';

export interface DropOptions extends Pick<ApplyOptions, 'databaseUrl' | 'format' | 'json' | 'config' | 'lockTimeout' | 'maxWait' | 'lockWait'> {
  dryRun?: boolean;
}

/** `dbtune drop`: roll a set back with DROP INDEX CONCURRENTLY IF EXISTS. */
export const run: CommandHandler<DropOptions> = async (files, options, { io, signal }) => {
  const config = await loadConfig(options);
  const format = outputFormat(options, config, ['sql'] as const);
  const settings = { ...buildSettings({ ...options, jobs: '1' }, config), analyze: false };
  const sets = await loadIndexSets(files);
  const declarations = sets.flatMap((s) => s.indexes);
  const connection = connectionOptions(options, config, io.env);
  const control = await openSession(connection, 'dbtune drop');
  const server = { version: control.serverVersion, versionNum: control.serverVersionNum };
  try {
    const plans = await planDrops(control, declarations);
    if (options.dryRun || format === 'sql') {
      if (format === 'sql') await write(io.stdout, planSqlScript(plans, false));
      else await emitReport(planReport(plans, server, ['dry run: nothing was dropped']), format, io);
      return 'ok';
    }
    const release = await acquireRunLock(control, { waitMs: lockWaitOption(options, config), signal });
    try {
      const progress = createApplyProgress(io.stderr, { tty: Boolean(io.stderr.isTTY), paint: colorWanted(io.stderr, io.env) ? ansiPaint : plainPaint });
      const run = await executePlans(control, () => openSession(connection, 'dbtune drop'), plans, settings, { signal, onEvent: progress });
      const report = executionReport('drop', run, server, {});
      await emitReport(report, format, io);
      return run.interrupted ? 'interrupted' : report.passed ? 'ok' : 'failed';
    } finally {
      await release();
    }
  } finally {
    await control.close();
  }
};

async function planDrops(session: Parameters<typeof readCatalog>[0], declarations: readonly IndexDeclaration[]) {
  const catalog = await readCatalog(session, { indexes: declarations.map(indexQualifiedName), tables: [] });
  return declarations.map((d) => planDrop(d, indexState(d, catalog.indexes.get(indexKey(d)), undefined, undefined)));
}
