import { DbtuneError } from '../errors.js';
import { compareChecks, compareReport } from '../explain/compare-report.js';
import { readSavedResult } from '../explain/saved-result.js';
import { emitReport } from '../report/emit.js';
import { loadConfig, outputFormat, type CommandHandler, type CommonOptions } from './shared.js';

export interface CompareOptions extends CommonOptions {
  force?: boolean;
}

/** `dbtune compare before.json after.json`: before/after of two saved results. */
export const run: CommandHandler<CompareOptions> = async (files, options, { io }) => {
  if (files.length !== 2) throw new DbtuneError('USAGE', `compare takes two saved results (before.json after.json), got ${files.length}`);
  const config = await loadConfig(options);
  const format = outputFormat(options, config);
  const [before, after] = await Promise.all([readSavedResult(files[0]!), readSavedResult(files[1]!)]);
  const report = compareReport(before, after, compareChecks(before, after, options.force ?? false));
  await emitReport(report, format, io);
  return 'ok';
};
