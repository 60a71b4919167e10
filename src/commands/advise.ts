import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { DbtuneError } from '../errors.js';
import { describeReadError, readInputFile } from '../files/input-file.js';
import { checkEditableOutput, writeOutputFile } from '../files/output-file.js';
import { InputProblemsError } from '../config/problems.js';
import { emitReport, write } from '../report/emit.js';
import { loadPgParser } from '../sql/pg-parser.js';
import { stripControl } from '../text/safe-text.js';
import type { OutFile } from '../advise/advise-report.js';
import type { CommandHandler } from './context.js';
import { connectionOptions, loadConfig, openSession, outputFormat, parseIntOption, type CommonOptions } from './shared.js';

export interface AdviseCommandOptions extends CommonOptions {
  top?: string;
  statements?: string;
  from?: string;
  minImprovement?: string;
  out?: string;
  force?: boolean;
  build?: boolean;
}

/** `--min-improvement 50%` (or `50`) → 0.5; from 1% to 100%. */
export function parseShare(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(value);
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 1 && n <= 100)) throw new DbtuneError('USAGE', `--min-improvement must be a percentage from 1% to 100%, got ${JSON.stringify(value)}`);
  return n / 100;
}

/** `dbtune advise`: indexes for the measured workload, scored with HypoPG (or, with --build, by building them); optionally written as an index set. */
export const run: CommandHandler<AdviseCommandOptions> = async (_args, options, { io, signal }) => {
  const config = await loadConfig(options);
  const format = outputFormat(options, config);
  if (format === 'junit') throw new DbtuneError('USAGE', '--format junit is not available for advise: expected one of table, json, markdown');
  const top = parseIntOption('--top', options.top, 1, 10_000) ?? 20;
  const minImprovement = parseShare(options.minImprovement, 0.5);
  // An index set is a file people edit: never replaced without --force.
  if (options.out) await checkEditableOutput(options.out, '--out', options.force ?? false);
  if (options.statements && options.from) throw new DbtuneError('USAGE', '--statements and --from are two sources of statements: give one');
  const parser = await loadPgParser();
  const { statementsFromFile, readPgStatStatements } = await import('../advise/workload.js');

  let fileStatements;
  const sourceNotes: string[] = [];
  if (options.from) {
    const { readSavedResultOfKind } = await import('../model/saved-result.js');
    const { statementsFromLoadResult } = await import('../advise/saved-workload.js');
    const saved = statementsFromLoadResult(options.from, await readSavedResultOfKind(options.from, 'dbtune.loadtest', '--from'), parser, top);
    fileStatements = saved.statements;
    sourceNotes.push(...saved.notes);
  } else if (options.statements) {
    let text: string;
    try {
      text = await readInputFile(options.statements);
    } catch (error) {
      throw new InputProblemsError([{ file: options.statements, line: 0, col: 0, path: '', message: describeReadError(error) }]);
    }
    fileStatements = statementsFromFile(options.statements, text, parser);
    if (!fileStatements.length) throw new InputProblemsError([{ file: options.statements, line: 0, col: 0, path: '', message: 'no SQL statement in the file' }]);
  }

  const connection = connectionOptions(options, config, io.env);
  const session = await openSession(connection, 'dbtune advise');
  try {
    const workload = fileStatements ?? (await readPgStatStatements(session, parser, top));
    const { advise } = await import('../advise/advise.js');
    // --build: the user declared the database disposable; candidates are really built, then dropped.
    const build = options.build
      ? { openSession: () => openSession(connection, 'dbtune advise --build'), connection, signal, onNotice: (line: string) => void io.stderr.write(`${line}\n`) }
      : undefined;
    const advice = await advise(session, workload, { minImprovement, ...(build ? { build } : {}) });
    const { adviseReport } = await import('../advise/advise-report.js');
    let out: OutFile | undefined;
    if (options.out) {
      // An index set needs at least one index (config/index-set-schema.ts): with none advised, a
      // file dbtune itself would refuse is not written; an existing one (--force) is left as it was.
      if (advice.indexes.length === 0) {
        const existed = await lstat(options.out).then(() => true, () => false);
        const skipped = `no index was advised, and an index set needs at least one${existed ? `; the existing ${options.out} was left as it was` : ''}`;
        out = { file: options.out, written: false, skipped };
        await write(io.stderr, stripControl(`--out ${options.out} not written: ${skipped}\n`));
      } else {
        const { renderIndexSet } = await import('../advise/set-yaml.js');
        const setName = path.basename(options.out).replace(/\.ya?ml$/i, '') || 'advised';
        await writeOutputFile(options.out, renderIndexSet(advice, setName), 'index-set');
        out = { file: options.out, written: true };
      }
    }
    const source = options.from
      ? `the statements watched in ${options.from}, top ${top} by total time`
      : options.statements
        ? `statements in ${options.statements}`
        : `pg_stat_statements, top ${top} by total time`;
    await emitReport(adviseReport(advice, { source, minImprovement, notes: sourceNotes, ...(out ? { out } : {}) }), format, io);
    return 'ok';
  } finally {
    await session.close();
  }
};
