import { readFile, writeFile } from 'node:fs/promises';
import { DbtuneError } from '../errors.js';
import type { RunContext } from '../report/run-context.js';

/** The kinds of result `dbtune compare` knows; the JSON says which it is. */
export const SAVED_KINDS = ['dbtune.explain'] as const;
export type SavedKind = (typeof SAVED_KINDS)[number];

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

/** Reads a saved result; anything else is bad input (exit 2), said plainly. */
export async function readSavedResult(file: string): Promise<SavedExplain> {
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
    throw new DbtuneError('INPUT_INVALID', `${file} is not JSON`, { hint: 'compare reads files written by --save (e.g. dbtune explain … --save before.json)' });
  }
  const kind = (value as { kind?: unknown })?.kind;
  if (!SAVED_KINDS.includes(kind as SavedKind) || !Array.isArray((value as { checks?: unknown }).checks)) {
    throw new DbtuneError('INPUT_INVALID', `${file} is not a saved dbtune result (kind ${JSON.stringify(kind ?? null)})`, {
      hint: 'compare reads files written by --save (e.g. dbtune explain … --save before.json)',
    });
  }
  return value as SavedExplain;
}
