import { readFile, writeFile } from 'node:fs/promises';
import { DbtuneError } from '../errors.js';
import type { LoadResult } from '../load/result.js';
import type { RunContext } from '../report/run-context.js';

/** The kinds of result `dbtune compare` knows; the JSON says which it is. */
export const SAVED_KINDS = ['dbtune.explain', 'dbtune.loadtest'] as const;
export type SavedKind = (typeof SAVED_KINDS)[number];
export type SavedResult = SavedExplain | LoadResult;

const HINT = 'compare reads files written by explain --save or loadtest --out (e.g. dbtune loadtest scenario.yaml --out before.json)';

/** A check as saved (the `checks[]` of `explain --json`, plus the query that identifies it). */
export interface SavedCheck {
  name: string;
  query?: string;
  params?: unknown[];
  status: string;
  passed: boolean;
  summary?: string;
  timings?: { p50_ms: number; p95_ms: number; runs_ms: number[] };
  buffers?: number;
}

export interface SavedExplain {
  kind: 'dbtune.explain';
  format_version: 1;
  context: RunContext;
  passed: boolean;
  checks: SavedCheck[];
}

export async function saveResult(file: string, result: SavedExplain): Promise<void> {
  try {
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  } catch (error) {
    throw new DbtuneError('USAGE', `cannot write --save file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** Reads a saved result of any kind; anything else is bad input (exit 2), said plainly. */
export async function readSavedResult(file: string): Promise<SavedResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new DbtuneError('USAGE', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(error)}`);
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
  return value as SavedResult;
}

/** Reads a saved result that must be of one kind (e.g. a loadtest --baseline). */
export async function readSavedResultOfKind<K extends SavedKind>(file: string, kind: K, flag: string): Promise<Extract<SavedResult, { kind: K }>> {
  const result = await readSavedResult(file);
  if (result.kind !== kind) throw new DbtuneError('INPUT_INVALID', `${flag} ${file} is a ${result.kind} result, not ${kind}`);
  return result as Extract<SavedResult, { kind: K }>;
}
