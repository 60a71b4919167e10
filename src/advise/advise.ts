import type { SqlSession } from '../db/client.js';
import type { QualifiedName } from '../sql/identifiers.js';
import type { StatementAnalysis } from './access.js';
import { adviseChecks, type AdvisedCheck, type ServedStatement } from './checks.js';
import { generateCandidates, type Candidate, type CandidateKey } from './candidates.js';
import { readIndexes, readTables, readWriteCounts } from './catalog.js';
import { servingIndex } from './coverage.js';
import { analyzeStatement } from './extract.js';
import { referencedTables } from './parse-tree.js';
import { BUILD_PREFIX, BuildPlanner, type BuildPlannerOptions } from './build-planner.js';
import { HypoPgPlanner } from './hypopg-planner.js';
import { createIndexText, indexName } from './index-text.js';
import { selectIndexes, type Selection } from './select.js';
import { TableCatalog } from './table-catalog.js';
import type { ScoringMode, WhatIfPlanner } from './what-if.js';
import type { WorkloadStatement } from './workload.js';

/**
 * advise end to end on one session: parse → catalog (one query each) → candidates → what-if
 * scoring (HypoPG, or real builds with --build: what-if.ts) → the chosen indexes and a verdict
 * for every statement. Hypothetical or built indexes and prepared statements are always removed
 * at the end.
 */

export type StatementStatus = 'improved' | 'served' | 'no_gain' | 'unusable';

export interface StatementOutcome {
  id: number;
  origin: string;
  query: string;
  calls: number;
  totalMs?: number;
  status: StatementStatus;
  /** Why it was not used (unusable), or what limits the advice (no_gain). */
  reason?: string;
  costBefore?: number;
  costAfter?: number;
  /** Advised indexes that serve it. */
  indexes: string[];
  /** Existing indexes that already serve (some of) its candidates. */
  servedBy: string[];
  notes: string[];
}

export interface AdvisedIndex {
  name: string;
  table: QualifiedName;
  keys: CandidateKey[];
  /** INCLUDE columns (a covering index, for index-only scans). */
  include?: string[];
  where?: string;
  /** The CREATE INDEX (without CONCURRENTLY or a name) that was scored. */
  definition: string;
  statements: Array<{ id: number; calls: number; costBefore: number; costAfter: number }>;
  /** Share of the workload's call-weighted cost it saves (0–1). */
  workloadShare: number;
  /** hypopg_relation_size estimate, or the built index's size (--build), bytes. */
  sizeBytes: number;
  /** Rows written to the table since statistics were reset (n_tup_ins + n_tup_upd + n_tup_del): the cost side. */
  tableWrites: number | null;
}

export interface Advice {
  indexes: AdvisedIndex[];
  statements: StatementOutcome[];
  /** The EXPLAIN checks that prove the indexes serve their statements, one per improved statement. */
  checks: AdvisedCheck[];
  candidates: number;
  evaluations: number;
  /** Call-weighted generic-plan cost of the workload before and after the advised indexes. */
  workloadCost: { before: number; after: number };
  /** How candidates were scored, and what that cost. */
  scoring: { mode: ScoringMode; detail: string };
}

export interface AdviseOptions {
  /** Share of a statement's cost an index must save (0–1). */
  minImprovement: number;
  /** Score by really building candidates (a disposable database only): never without the user's --build. */
  build?: BuildPlannerOptions;
}

export async function advise(session: SqlSession, workload: readonly WorkloadStatement[], options: AdviseOptions): Promise<Advice> {
  const names = [...new Set(workload.flatMap((s) => (s.parsed ? referencedTables(s.parsed).map((t) => t.name) : [])))];
  const catalog = new TableCatalog(await readTables(session, names));
  const analyses = new Map<number, StatementAnalysis>();
  for (const s of workload) {
    analyses.set(s.id, s.parsed ? analyzeStatement(s.parsed, catalog) : { ok: false, reason: s.parseError ?? 'not parsed' });
  }
  const usable = workload.filter((s) => analyses.get(s.id)!.ok);
  const tablesOf = (id: number) => {
    const a = analyses.get(id)!;
    return a.ok ? [...new Set(a.accesses.map((x) => `${x.table.schema}.${x.table.name}`))] : [];
  };
  const tables = uniqueTables(usable.flatMap((s) => { const a = analyses.get(s.id)!; return a.ok ? a.accesses.map((x) => x.table) : []; }));
  // A leftover of an advise --build run that was killed is not the user's index: the next --build drops it.
  const existing = (await readIndexes(session, tables)).filter((ix) => !ix.name.startsWith(BUILD_PREFIX));

  const all = generateCandidates(usable.map((s) => { const a = analyses.get(s.id)!; return { id: s.id, accesses: a.ok ? a.accesses : [] }; }), (t, c) => catalog.isNarrow(t, c));
  const servedBy = new Map<number, Set<string>>();
  const candidates: Candidate[] = [];
  for (const c of all) {
    const serving = servingIndex(c, existing);
    if (!serving) candidates.push(c);
    else for (const id of c.statements) (servedBy.get(id) ?? servedBy.set(id, new Set()).get(id)!).add(serving.name);
  }

  const planner: WhatIfPlanner = options.build ? await BuildPlanner.open(session, options.build) : await HypoPgPlanner.open(session);
  try {
    const failures = await planner.prepare(usable.map((s) => { const a = analyses.get(s.id)!; return { id: s.id, query: s.query, paramCount: a.ok ? a.paramCount : 0, tables: tablesOf(s.id) }; }));
    const planned = usable.filter((s) => !failures.has(s.id));
    const plannedIds = new Set(planned.map((s) => s.id));
    const plannable = candidates.filter((c) => c.statements.some((id) => plannedIds.has(id)));
    // A candidate HypoPG cannot create is a finding about its statements, not the end of the run.
    const refused = await planner.refused(plannable);
    const scored = plannable.filter((c) => !refused.has(c.id));
    const selection = await selectIndexes(planner, planned.map((s) => ({ id: s.id, calls: s.calls, tables: tablesOf(s.id) })), scored, options);
    for (const [id, reason] of planner.failures()) refused.set(id, reason);
    const who = planner.mode === 'hypopg' ? 'HypoPG refused' : 'PostgreSQL could not build';
    const refusedNotes = (id: number) =>
      plannable.filter((c) => refused.has(c.id) && c.statements.includes(id)).map((c) => `not scored: ${who} ${createIndexText(c)}: ${refused.get(c.id)!}`);
    const sizes = await planner.sizes(selection.chosen.map((c) => c.candidate));
    const writes = await readWriteCounts(session, uniqueTables(selection.chosen.map((c) => c.candidate.table)));

    const calls = new Map(workload.map((s) => [s.id, s.calls]));
    const weighted = (costs: Map<number, number>) => [...costs].reduce((sum, [id, cost]) => sum + cost * (calls.get(id) ?? 1), 0);
    const before = weighted(selection.baseline);
    const taken = new Set(existing.map((e) => e.name));
    const indexes: AdvisedIndex[] = selection.chosen.map((chosen) => {
      const c = chosen.candidate;
      return {
        name: indexName(c, taken),
        table: c.table,
        keys: c.keys,
        ...(c.include ? { include: c.include } : {}),
        ...(c.where ? { where: c.where } : {}),
        definition: createIndexText(c),
        statements: chosen.serves.map((s) => ({ id: s.statement, calls: calls.get(s.statement) ?? 1, costBefore: s.before, costAfter: s.after })),
        workloadShare: before > 0 ? chosen.saving / before : 0,
        sizeBytes: sizes.get(c.id) ?? 0,
        tableWrites: writes.get(`${c.table.schema}.${c.table.name}`) ?? null,
      };
    });

    const statements = workload.map((s): StatementOutcome => {
      const a = analyses.get(s.id)!;
      const base = { id: s.id, origin: s.origin, query: s.shown, calls: s.calls, ...(s.totalMs !== undefined ? { totalMs: s.totalMs } : {}) };
      const served = [...(servedBy.get(s.id) ?? [])];
      if (!a.ok) return { ...base, status: 'unusable', reason: a.reason, indexes: [], servedBy: [], notes: [] };
      const failure = failures.get(s.id);
      if (failure) return { ...base, status: 'unusable', reason: `PostgreSQL could not plan it: ${failure}`, indexes: [], servedBy: served, notes: a.notes };
      const costBefore = selection.baseline.get(s.id)!;
      const costAfter = selection.final.get(s.id)!;
      const helped = indexes.filter((ix) => ix.statements.some((x) => x.id === s.id)).map((ix) => ix.name);
      const outcome = { ...base, costBefore, costAfter, indexes: helped, servedBy: served, notes: [...a.notes, ...refusedNotes(s.id)] };
      if (helped.length) return { ...outcome, status: 'improved' };
      if (served.length) return { ...outcome, status: 'served', reason: `already served by ${served.join(', ')}` };
      const best = Math.max(0, ...scored.filter((c) => c.statements.includes(s.id)).map((c) => selection.rejected.get(c.id) ?? 0));
      return { ...outcome, status: 'no_gain', reason: `no candidate saves ${Math.round(options.minImprovement * 100)}% of its cost (best: ${Math.round(best * 100)}%)` };
    });
    const checks = await adviseChecks(session, planner, selection.chosen.map((c) => c.candidate), statements.filter((s) => s.status === 'improved').map((s) => servedStatement(s, analyses.get(s.id)!, selection, indexes)));
    return {
      indexes,
      statements,
      checks,
      candidates: scored.length,
      evaluations: selection.evaluations,
      workloadCost: { before, after: weighted(selection.final) },
      scoring: { mode: planner.mode, detail: planner.describe() },
    };
  } finally {
    await planner.close();
  }
}

/** What a check for an improved statement is made from. */
function servedStatement(s: StatementOutcome, analysis: StatementAnalysis, selection: Selection, indexes: readonly AdvisedIndex[]): ServedStatement {
  return {
    id: s.id,
    query: s.query,
    paramCount: analysis.ok ? analysis.paramCount : 0,
    params: analysis.ok ? analysis.params : [],
    finalCost: selection.final.get(s.id)!,
    servedBy: indexes.flatMap((ix, i) => (ix.statements.some((x) => x.id === s.id) ? [{ name: ix.name, candidate: selection.chosen[i]!.candidate }] : [])),
  };
}

function uniqueTables(tables: readonly QualifiedName[]): QualifiedName[] {
  const seen = new Map<string, QualifiedName>();
  for (const t of tables) seen.set(`${t.schema}.${t.name}`, t);
  return [...seen.values()];
}
