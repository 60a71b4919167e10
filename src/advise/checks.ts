import type { SqlSession } from '../db/client.js';
import type { ParamUse } from './access.js';
import type { Candidate } from './candidates.js';
import { readColumnStats, sampleValue } from './catalog.js';
import { paramValues, sampleKey, samplesNeeded, type CheckParam } from './check-params.js';
import { termSql } from './index-text.js';
import type { WhatIfPlanner } from './what-if.js';

/**
 * The EXPLAIN checks an advised set carries: one per statement its indexes serve, asserting
 * `uses_index` for the advised indexes that statement's plan needs, with parameters taken from
 * the table's statistics (check-params.ts). `dbtune verify` runs them after `apply`.
 */

export interface AdvisedCheck {
  statement: number;
  /** The statement as reported (no comments), planned with the values below. */
  query: string;
  usesIndex: string[];
  params: CheckParam[];
  /** Where each parameter's value came from. */
  sources: string[];
  /** Also check the generic plan (what the advice was scored on): when the statement has parameters. */
  generic: boolean;
  /** Why no check could be written for this statement (then nothing else is set). */
  skipped?: string;
}

export interface ServedStatement {
  id: number;
  /** Reported text (shown): what goes into the file. */
  query: string;
  paramCount: number;
  params: readonly ParamUse[];
  /** Its cost with every chosen index. */
  finalCost: number;
  /** The chosen indexes that cut its cost when added, by name. */
  servedBy: ReadonlyArray<{ name: string; candidate: Candidate }>;
}

export async function adviseChecks(session: SqlSession, planner: WhatIfPlanner, chosen: readonly Candidate[], statements: readonly ServedStatement[]): Promise<AdvisedCheck[]> {
  const allParams = statements.flatMap((s) => s.params);
  const columns = allParams.flatMap((p) => (p.table && p.term?.kind === 'column' ? [{ table: p.table, column: p.term.column }] : []));
  const stats = await readColumnStats(session, columns);
  const samples = new Map<string, string>();
  // An expression is evaluated only when it is a chosen index's key: PostgreSQL built (or HypoPG
  // accepted) it, so it is IMMUTABLE. Any other expression comes from a statement's text and may
  // call a function with side effects (pg_terminate_backend(…)), which READ ONLY does not stop.
  const indexed = new Set(chosen.flatMap((c) => c.keys.filter((k) => k.term.kind === 'expression').map((k) => sampleKey(c.table, k.term))));
  const safe = samplesNeeded(allParams, stats).filter(({ table, term }) => term.kind === 'column' || indexed.has(sampleKey(table, term)));
  for (const { table, term } of safe) {
    const value = await sampleValue(session, table, termSql(term)).catch(() => undefined);
    if (value !== undefined) samples.set(sampleKey(table, term), value);
  }
  const checks: AdvisedCheck[] = [];
  for (const s of statements) {
    const base = { statement: s.id, query: s.query, usesIndex: await neededIndexes(planner, chosen, s), params: [], sources: [], generic: false };
    // pg_stat_statements' text, with comments dropped: a constant it kept (rare) would now be one more $n.
    if (maxParam(s.query) !== s.paramCount) {
      checks.push({ ...base, skipped: 'the reported text has other parameters than the statement that was planned' });
      continue;
    }
    const values = paramValues(s.params, s.paramCount, { stats, samples });
    if ('missing' in values) checks.push({ ...base, skipped: values.missing });
    else checks.push({ ...base, params: values.values, sources: values.sources, generic: s.paramCount > 0 });
  }
  return checks;
}

/**
 * The indexes a statement served by several chosen ones still needs with all of them present:
 * a later, wider index can take over from an earlier one, whose uses_index would then fail.
 * One what-if plan per index left out.
 */
async function neededIndexes(planner: WhatIfPlanner, chosen: readonly Candidate[], s: ServedStatement): Promise<string[]> {
  if (s.servedBy.length < 2) return s.servedBy.map((x) => x.name);
  const needed: string[] = [];
  for (const x of s.servedBy) {
    const without = await planner.costs(chosen.filter((c) => c !== x.candidate), [s.id]);
    if (without.get(s.id)! > s.finalCost * 1.000001) needed.push(x.name);
  }
  return needed.length ? needed : s.servedBy.map((x) => x.name);
}

function maxParam(query: string): number {
  return Math.max(0, ...[...query.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
}
