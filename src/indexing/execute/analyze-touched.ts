import type { SqlSession } from '../../db/client.js';
import { pgErrorFields } from '../../errors.js';
import { tableKey } from '../../model/declaration.js';
import type { QualifiedName } from '../../sql/identifiers.js';
import { analyzeSql } from '../index-sql.js';
import type { IndexPlan } from '../plan.js';
import { analyzeDecision, type AnalyzeMode, type TableStatistics } from './analyze-need.js';
import type { AppliedIndex, ApplyEvent, ExecutionResult } from './results.js';

/** What ANALYZE did so far, table by table; filled by the build sessions and the control session's last pass. */
export type Analysis = Pick<ExecutionResult, 'analyzed' | 'analyzeSkipped' | 'analyzeFailures'>;

export interface AnalyzeContext {
  mode: AnalyzeMode;
  /** Read before the builds (table-statistics.ts); undefined when they could not be read. */
  statistics: ReadonlyMap<string, TableStatistics> | undefined;
  analysis: Analysis;
  onEvent: (event: ApplyEvent) => void;
  signal: AbortSignal;
}

/**
 * ANALYZE each table that got a new index and is not decided yet, where it
 * adds statistics (analyze-need.ts); the others are reported as skipped.
 */
export async function analyzeTouched(session: SqlSession, results: Iterable<AppliedIndex>, context: AnalyzeContext): Promise<void> {
  const { analysis, onEvent, signal } = context;
  const done = new Set([...analysis.analyzed, ...analysis.analyzeSkipped.map((s) => s.table), ...analysis.analyzeFailures.map((f) => f.table)].map(tableKey));
  // Only indexes that were built count: a failed expression build leaves no expression to analyze.
  const built = [...results].filter((r) => (r.action === 'created' || r.action === 'repaired') && !done.has(tableKey(r.plan.declaration.table)));
  const touched = tablesOf(built.map((r) => r.plan));
  for (const [key, { table, expression }] of touched) {
    if (signal.aborted) break;
    const decision = analyzeDecision(context.mode, context.statistics?.get(key), expression);
    if (!decision) continue;
    onEvent({ type: 'analyze', table, reason: decision.reason, skipped: !decision.analyze });
    if (!decision.analyze) {
      analysis.analyzeSkipped.push({ table, reason: decision.reason });
      continue;
    }
    try {
      await session.query(analyzeSql(table));
      analysis.analyzed.push(table);
    } catch (error) {
      // A lost build session leaves the table to the control session's pass at the end.
      if (session.broken) break;
      // The indexes are built; stale statistics are worth a warning, not a failed run.
      analysis.analyzeFailures.push({ table, error: pgErrorFields(error) });
    }
  }
}

/** The tables the plans may leave with a new index (not a drop), by `tableKey`: what ANALYZE is decided for. */
export function plannedTables(plans: readonly IndexPlan[]): Map<string, TouchedTable> {
  return tablesOf(plans.filter((p) => p.statements.length > 0 && p.action !== 'drop'));
}

export interface TouchedTable {
  table: QualifiedName;
  /** An index with an expression key is among the table's builds. */
  expression: boolean;
}

function tablesOf(plans: readonly IndexPlan[]): Map<string, TouchedTable> {
  const tables = new Map<string, TouchedTable>();
  for (const plan of plans) {
    const key = tableKey(plan.declaration.table);
    const entry = tables.get(key) ?? { table: plan.declaration.table, expression: false };
    entry.expression ||= plan.declaration.keys.some((k) => k.kind === 'expression');
    tables.set(key, entry);
  }
  return tables;
}
