import { DbtuneError } from '../errors.js';
import { describeReadError, readInputFile } from '../files/input-file.js';
import { writeOutputFile } from '../files/output-file.js';
import type { SavedExplain } from './explain-result.js';
import { savedLoadShape, type LoadResult } from './load-result.js';

/** The kinds of result `dbtune compare` knows; the JSON says which it is. */
export const SAVED_KINDS = ['dbtune.explain', 'dbtune.loadtest'] as const;
export type SavedKind = (typeof SAVED_KINDS)[number];
export type SavedResult = SavedExplain | LoadResult;

const HINT = 'compare reads files written by explain --save or loadtest --out (e.g. dbtune loadtest scenario.yaml --out before.json)';

export async function saveResult(file: string, result: SavedExplain): Promise<void> {
  await writeOutputFile(file, `${JSON.stringify(result, null, 2)}\n`, '--save');
}

/** Reads a saved result of any kind; anything else is bad input (exit 2), said plainly. */
export async function readSavedResult(file: string): Promise<SavedResult> {
  let text: string;
  try {
    text = await readInputFile(file);
  } catch (error) {
    throw new DbtuneError('USAGE', `${file}: ${describeReadError(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DbtuneError('INPUT_INVALID', `${file} is not JSON`, { hint: HINT });
  }
  const kind = (value as { kind?: unknown })?.kind;
  const list = kind === 'dbtune.loadtest' ? (value as { stages?: unknown }).stages : (value as { checks?: unknown }).checks;
  if (!SAVED_KINDS.includes(kind as SavedKind) || !Array.isArray(list)) {
    throw new DbtuneError('INPUT_INVALID', `${file} is not a saved dbtune result (kind ${JSON.stringify(kind ?? null)})`, { hint: HINT });
  }
  if (kind === 'dbtune.loadtest') {
    // What compare and the HTML report read: checked here, so a damaged file is exit 2 up front, not a crash later.
    const checked = savedLoadShape.safeParse(value);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      throw new DbtuneError('INPUT_INVALID', `${file} is not a complete loadtest result: ${issue.path.join('.') || '(top)'}: ${issue.message}`, { hint: HINT });
    }
    return checked.data as unknown as LoadResult;
  }
  return value as SavedResult;
}

/** Reads a saved result that must be of one kind (e.g. a loadtest --baseline). */
export async function readSavedResultOfKind<K extends SavedKind>(file: string, kind: K, flag: string): Promise<Extract<SavedResult, { kind: K }>> {
  const result = await readSavedResult(file);
  if (result.kind !== kind) throw new DbtuneError('INPUT_INVALID', `${flag} ${file} is a ${result.kind} result, not ${kind}`);
  return result as Extract<SavedResult, { kind: K }>;
}
