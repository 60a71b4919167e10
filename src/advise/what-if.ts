import type { Candidate } from './candidates.js';

/**
 * What-if scoring, whatever does it: hypothetical indexes (HypoPG, hypopg-planner.ts) or indexes
 * really built and dropped on a disposable database (build-planner.ts). advise.ts and select.ts
 * only see this interface.
 */

/** How the candidates were scored: shown in every output. */
export type ScoringMode = 'hypopg' | 'build';

export interface PlannableStatement {
  id: number;
  query: string;
  paramCount: number;
  /** Tables it reads, as `schema.name`: only indexes on these can change its plan. */
  tables: string[];
}

export interface WhatIfPlanner {
  readonly mode: ScoringMode;
  /** Readies each statement for planning; the ones PostgreSQL refuses to plan come back with the error. */
  prepare(statements: readonly PlannableStatement[]): Promise<Map<number, string>>;
  /** Candidates that cannot be created, with PostgreSQL's reason (checked before scoring). */
  refused(candidates: readonly Candidate[]): Promise<Map<string, string>>;
  /** Generic-plan cost of statements with exactly `indexes` of the candidates present. */
  costs(indexes: readonly Candidate[], statements: readonly number[]): Promise<Map<number, number>>;
  /** Size of each candidate, bytes (estimated, or measured when built). */
  sizes(indexes: readonly Candidate[]): Promise<Map<string, number>>;
  /** Candidates that failed while being scored (a build error), with the reason: they saved nothing. */
  failures(): Map<string, string>;
  /** What the scoring cost, for the report (e.g. "12 indexes built in 3.1 s"). */
  describe(): string;
  /** Removes every index and prepared statement of this run. */
  close(): Promise<void>;
}
