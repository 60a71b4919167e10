import { loadIndexSets } from '../config/load-index-sets.js';
import { readCatalog } from '../indexing/catalog.js';
import { indexKey, indexQualifiedName, type IndexDeclaration } from '../model/declaration.js';
import { planReport, planSqlScript } from '../indexing/index-report.js';
import { indexState } from '../indexing/index-state.js';
import { planDrop } from '../indexing/plan.js';
import { rebuildName } from '../indexing/rebuild-name.js';
import { assertPlannedStatements } from '../indexing/statement-check.js';
import { emitReport, write } from '../report/emit.js';
import { runPlansAndReport, withRunLock } from './run-plans.js';
import { buildSettings, lockWaitOption, type ApplyOptions } from './apply.js';
import type { CommandHandler } from './context.js';
import { connectionOptions, loadConfig, openSession, outputFormat } from './shared.js';

export interface DropOptions extends Pick<ApplyOptions, 'databaseUrl' | 'format' | 'json' | 'config' | 'lockTimeout' | 'maxWait' | 'lockWait'> {
  dryRun?: boolean;
}

/** `dbtune drop`: roll a set back with DROP INDEX CONCURRENTLY IF EXISTS. */
export const run: CommandHandler<DropOptions> = async (files, options, context) => {
  const config = await loadConfig(options);
  const format = outputFormat(options, config, ['sql'] as const);
  const settings = { ...buildSettings({ ...options, jobs: '1' }, config), analyze: 'never' as const };
  const sets = await loadIndexSets(files);
  const declarations = sets.flatMap((s) => s.indexes);
  const connection = connectionOptions(options, config, context.io.env);
  const control = await openSession(connection, 'dbtune drop');
  try {
    if (options.dryRun || format === 'sql') {
      const plans = await planDrops(control, declarations);
      if (format === 'sql') await write(context.io.stdout, planSqlScript(plans, { mode: 'never' }));
      else await emitReport(planReport(plans, { version: control.serverVersion }, ['dry run: nothing was dropped']), format, context.io);
      return 'ok';
    }
    // Decide what to drop only once no other dbtune run can change it.
    return await withRunLock(control, lockWaitOption(options, config), context, async () =>
      runPlansAndReport({ command: 'drop', control, connection, plans: await planDrops(control, declarations), settings, format }, context),
    );
  } finally {
    await control.close();
  }
};

async function planDrops(session: Parameters<typeof readCatalog>[0], declarations: readonly IndexDeclaration[]) {
  const rebuildCopy = (d: IndexDeclaration) => ({ schema: d.table.schema, name: rebuildName(d.name) });
  const catalog = await readCatalog(session, { indexes: declarations.flatMap((d) => [indexQualifiedName(d), rebuildCopy(d)]), tables: [] });
  const plans = declarations.map((d) => {
    const copy = catalog.indexes.get(indexKey({ table: d.table, name: rebuildCopy(d).name }));
    const onTable = copy?.table?.schema === d.table.schema && copy.table.name === d.table.name && copy.relkind === 'i';
    return planDrop(d, indexState(d, catalog.indexes.get(indexKey(d)), undefined, undefined), onTable ? copy : undefined);
  });
  await assertPlannedStatements(plans);
  return plans;
}
