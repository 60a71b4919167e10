import { DbtuneError } from '../errors.js';
import { compareChecks, compareReport } from '../explain/compare-report.js';
import { readSavedResult } from '../model/saved-result.js';
import { compareLoadResults, loadCompareReport } from '../load/load-compare.js';
import { emitReport } from '../report/emit.js';
import type { CommandHandler } from './context.js';
import { loadConfig, outputFormat, type CommonOptions } from './shared.js';

export interface CompareOptions extends CommonOptions {
  force?: boolean;
}

/** `dbtune compare before.json after.json`: before/after of two saved results (explain --save or loadtest --out). */
export const run: CommandHandler<CompareOptions> = async (files, options, { io }) => {
  if (files.length !== 2) throw new DbtuneError('USAGE', `compare takes two saved results (before.json after.json), got ${files.length}`);
  const config = await loadConfig(options);
  const format = outputFormat(options, config);
  const [before, after] = await Promise.all([readSavedResult(files[0]!), readSavedResult(files[1]!)]);
  const force = options.force ?? false;
  if (before.kind === 'dbtune.explain' && after.kind === 'dbtune.explain') {
    await emitReport(compareReport(before, after, compareChecks(before, after, force)), format, io);
  } else if (before.kind === 'dbtune.loadtest' && after.kind === 'dbtune.loadtest') {
    await emitReport(loadCompareReport(before, after, compareLoadResults(before, after, force)), format, io);
  } else {
    throw new DbtuneError('INPUT_INVALID', `cannot compare a ${before.kind} result with a ${after.kind} result`, { hint: 'compare two explain --save files, or two loadtest --out files' });
  }
  return 'ok';
};
