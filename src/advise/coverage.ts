import type { Candidate } from './candidates.js';

/** A live index, as one catalog query reads it (catalog.ts). */
export interface ExistingIndex {
  schema: string;
  table: string;
  name: string;
  /** Usable: indisvalid and indisready. */
  valid: boolean;
  partial: boolean;
  method: string;
  /** Key columns or expressions as pg_get_indexdef(oid, k, true) prints them. */
  keys: string[];
  /** Per key: DESC. */
  desc: boolean[];
}

/**
 * The existing index that already serves a candidate: a valid, non-partial btree whose leading keys
 * are the candidate's, in the same directions or all reversed (a btree scans both ways).
 */
export function servingIndex(candidate: Candidate, existing: readonly ExistingIndex[]): ExistingIndex | undefined {
  return existing.find((ix) => {
    if (ix.schema !== candidate.table.schema || ix.table !== candidate.table.name) return false;
    if (!ix.valid || ix.partial || ix.method !== 'btree' || ix.keys.length < candidate.keys.length) return false;
    const same = candidate.keys.every((k, i) => sameKey(k.term.kind === 'column' ? k.term.column : k.term.expression, ix.keys[i]!));
    if (!same) return false;
    const forward = candidate.keys.every((k, i) => (k.order === 'desc') === ix.desc[i]);
    const backward = candidate.keys.every((k, i) => (k.order === 'desc') !== ix.desc[i]);
    return forward || backward;
  });
}

/**
 * Compares a key as dbtune wrote it with PostgreSQL's deparsed form: quotes, spaces and case
 * aside, and the casts PostgreSQL adds to arguments (`lower((email)::text)` for a varchar column).
 */
export function sameKey(ours: string, theirs: string): boolean {
  const norm = (s: string) =>
    s
      .replace(/\(\(([^()]+)\)::[a-z ]+(\[\])?\)/gi, '($1)')
      .replace(/::[a-z ]+(\[\])?/gi, '')
      .replace(/["\s]/g, '')
      .toLowerCase();
  return norm(ours) === norm(theirs);
}
