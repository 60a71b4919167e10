import { DbtuneError } from '../errors.js';

/** One thing wrong with an input file, with where it is. */
export interface Problem {
  file: string;
  /** 1-based; 0 when the problem is with the file as a whole (e.g. missing). */
  line: number;
  col: number;
  /** Path inside the document, e.g. `indexes[2].columns[0]`; empty for the whole file. */
  path: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  return p.path ? `${where} ${p.path}: ${p.message}` : `${where} ${p.message}`;
}

/** Path segments as shown to users: `indexes[2].columns[0].order`. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

/** Bad input files: every problem of every file, reported at once. Exit 2. */
export class InputProblemsError extends DbtuneError {
  readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[], hint?: string) {
    const noun = problems.length === 1 ? 'problem' : 'problems';
    super('INPUT_INVALID', `${problems.length} ${noun} in the input; nothing was executed:\n${problems.map(formatProblem).join('\n')}`, {
      ...(hint ? { hint } : {}),
    });
    this.problems = problems;
  }
}
