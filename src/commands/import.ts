import path from 'node:path';
import { InputProblemsError, type Problem } from '../config/problems.js';
import { DbtuneError } from '../errors.js';
import { describeReadError, readInputFile } from '../files/input-file.js';
import { checkEditableOutput, writeOutputFile } from '../files/output-file.js';
import { importIndexStatements, type SqlSource } from '../import/import-sql.js';
import { importNotes, renderImportedSet } from '../import/render-index-set.js';
import { write } from '../report/emit.js';
import { loadPgDeparser } from '../sql/pg-deparser.js';
import { loadPgParser } from '../sql/pg-parser.js';
import { stripControl, stripControlReplacer } from '../text/safe-text.js';
import type { CommandHandler } from './context.js';

export interface ImportOptions {
  out?: string;
  force?: boolean;
  set?: string;
  description?: string;
  format?: string;
  json?: boolean;
}

/**
 * `dbtune import <file.sql…>`: CREATE INDEX statements → one index set (YAML on
 * stdout, or --out). Nothing touches a database. Bad input (a syntax error, a
 * feature the format cannot express, a duplicate name) is exit 2 with every
 * problem listed and nothing written.
 */
export const run: CommandHandler<ImportOptions> = async (files, options, { io }) => {
  if (files.length === 0) throw new DbtuneError('USAGE', 'import takes one or more SQL files');
  const format = options.json ? 'json' : (options.format ?? 'yaml');
  if (format !== 'yaml' && format !== 'json') throw new DbtuneError('USAGE', `unknown --format ${JSON.stringify(format)}: expected yaml or json`);
  // An index set is a file people edit, as init's scaffold is: never replaced without --force.
  if (options.out) await checkEditableOutput(options.out, '--out', options.force ?? false);

  const problems: Problem[] = [];
  const sources: SqlSource[] = [];
  for (const file of files) {
    try {
      sources.push({ file, text: await readInputFile(file) });
    } catch (error) {
      problems.push({ file, line: 0, col: 0, path: '', message: describeReadError(error) });
    }
  }
  if (problems.length) throw new InputProblemsError(problems);

  const [parser, deparser] = await Promise.all([loadPgParser(), loadPgDeparser()]);
  const result = importIndexStatements(sources, parser, deparser);
  if (result.problems.length) throw new InputProblemsError(result.problems, 'fix the SQL or write those indexes into the set by hand; nothing was written');
  if (result.indexes.length === 0) {
    throw new InputProblemsError(files.map((file) => ({ file, line: 0, col: 0, path: '', message: 'no CREATE INDEX statement' })));
  }

  const yaml = renderImportedSet(result, {
    set: options.set ?? path.basename(files[0]!).replace(/\.[^.]*$/, ''),
    ...(options.description !== undefined ? { description: options.description } : {}),
  });
  const notes = importNotes(result);
  for (const s of result.skipped) await write(io.stderr, stripControl(`skipped ${s.file}:${s.line}:${s.col} ${s.statement} (not CREATE INDEX)\n`));
  for (const note of notes) await write(io.stderr, stripControl(`note: ${note}\n`));
  if (options.out) {
    await writeOutputFile(options.out, yaml, '--out');
    await write(io.stderr, stripControl(`wrote ${result.indexes.length} ${result.indexes.length === 1 ? 'index' : 'indexes'} to ${options.out}\n`));
  }
  if (format === 'json') {
    const document = {
      passed: true,
      files: result.files,
      ...(options.out ? { out: options.out } : { yaml }),
      indexes: result.indexes.map((i) => ({ ...i.entry, source: i.source, derived_name: i.derivedName, dropped: i.dropped })),
      skipped: result.skipped,
      notes,
    };
    await write(io.stdout, `${JSON.stringify(document, stripControlReplacer, 2)}\n`);
  } else if (!options.out) {
    await write(io.stdout, yaml);
  }
  return 'ok';
};
