import type { RunContext } from '../report/run-context.js';

/** The saved result of `dbtune explain --save`: what `compare` reads. */

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
