import { z } from 'zod';
import { DbtuneError } from '../errors.js';
import { describeReadError, readInputFile } from '../files/input-file.js';
import { writeOutputFile } from '../files/output-file.js';
import type { LoadResult } from '../load/result.js';
import { redactUrl } from '../redact-url.js';
import type { RunContext } from '../report/run-context.js';

/** The kinds of result `dbtune compare` knows; the JSON says which it is. */
export const SAVED_KINDS = ['dbtune.explain', 'dbtune.loadtest'] as const;
export type SavedKind = (typeof SAVED_KINDS)[number];
export type SavedResult = SavedExplain | LoadResult;

const latencyShape = z.looseObject({ min: z.number(), p50: z.number(), p90: z.number(), p95: z.number(), p99: z.number(), max: z.number() });
const statsShape = {
  requests: z.number(),
  successes: z.number(),
  failures: z.number(),
  rps: z.number(),
  success_rate: z.number(),
  latency: latencyShape,
  errors: z.record(z.string(), z.number()),
};
const savedLoadShape = z.looseObject({
  max_sustained_users: z.number(),
  passed: z.boolean(),
  // A result written by hand or by an older dbtune may hold a target with a password or a query token:
  // every report built from it (compare, the HTML baseline) shows it redacted.
  context: z.looseObject({ scenario: z.string(), target: z.string().transform(redactUrl), started_at: z.string() }),
  stages: z.array(
    z.looseObject({
      stage: z.number(),
      users: z.number(),
      duration_s: z.number(),
      passed: z.boolean(),
      skipped: z.boolean(),
      ...statsShape,
      thresholds: z.array(z.looseObject({ name: z.string(), limit: z.string(), observed: z.string(), passed: z.boolean() })),
      by_request: z.array(z.looseObject({ name: z.string(), ...statsShape })),
      timeline: z.array(z.looseObject({ t: z.number(), requests: z.number(), failures: z.number(), p50: z.number(), p95: z.number(), p99: z.number() })),
    }),
  ),
});

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
