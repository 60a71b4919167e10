import { displayQualified } from '../sql/identifiers.js';
import { columns, countLabels, type Report, type RowStatus } from '../report/model.js';
import type { Advice, StatementStatus } from './advise.js';
import { describeKeys, fmtBytes, fmtCost, pct } from './set-yaml.js';

/** advise's reasoning as a report: the advised indexes, then a verdict for every statement. */

/** What became of --out: written, or not and why (nothing advised). */
export interface OutFile {
  file: string;
  written: boolean;
  skipped?: string;
}

const STATUS: Record<StatementStatus, RowStatus> = { improved: 'pass', served: 'info', no_gain: 'skip', unusable: 'warn' };

export function adviseReport(advice: Advice, context: { source: string; minImprovement: number; notes?: string[]; out?: OutFile }): Report {
  const short = (q: string) => {
    const one = q.replace(/\s+/g, ' ').trim();
    return one.length > 90 ? `${one.slice(0, 87)}…` : one;
  };
  const indexRows = advice.indexes.map((ix) => ({
    id: ix.name,
    status: 'pass' as const,
    cells: {
      index: ix.name,
      table: displayQualified(ix.table),
      keys: `(${describeKeys(ix)})${ix.include ? ` INCLUDE (${ix.include.join(', ')})` : ''}${ix.where ? ` WHERE ${ix.where}` : ''}`,
      statements: ix.statements.map((s) => `#${s.id}`).join(' '),
      cost: ix.statements.map((s) => `${fmtCost(s.costBefore)} → ${fmtCost(s.costAfter)}`).join('; '),
      saved: pct(ix.workloadShare),
      size: fmtBytes(ix.sizeBytes),
      writes: ix.tableWrites === null ? '?' : String(ix.tableWrites),
    },
  }));
  const statementRows = advice.statements.map((s) => ({
    id: `#${s.id}`,
    status: STATUS[s.status],
    cells: {
      statement: `#${s.id}`,
      status: s.status.replace('_', ' '),
      calls: String(s.calls),
      cost: s.costBefore === undefined ? '' : `${fmtCost(s.costBefore)} → ${fmtCost(s.costAfter ?? s.costBefore)}`,
      verdict: s.status === 'improved' ? `by ${s.indexes.join(', ')}` : (s.reason ?? ''),
      query: short(s.query),
    },
    ...(s.reason ? { message: s.reason } : {}),
    ...(s.notes.length || s.origin !== 'pg_stat_statements' ? { details: [...(s.origin !== 'pg_stat_statements' ? [`from ${s.origin}`] : []), ...s.notes.map((n) => `note: ${n}`)] } : {}),
  }));
  const labels = advice.statements.map((s) => s.status.replace('_', ' '));
  const notes = [
    `source: ${context.source}; an index is kept when it saves at least ${pct(context.minImprovement)} of some statement's generic-plan cost (${advice.scoring.mode === 'hypopg' ? 'HypoPG estimates' : 'planner estimates with each candidate really built: --build'})`,
    `${advice.candidates} candidate indexes scored in ${advice.evaluations} plans; workload cost ${fmtCost(advice.workloadCost.before)} → ${fmtCost(advice.workloadCost.after)}`,
    ...(context.notes ?? []),
    advice.scoring.detail,
  ];
  const out = context.out;
  if (out?.written) notes.push(`index set written to ${out.file}: review it, then dbtune plan / apply / verify`);
  else if (out) notes.push(`--out ${out.file} not written: ${out.skipped ?? 'nothing to write'}`);
  return {
    command: 'advise',
    title: 'dbtune advise',
    passed: true,
    sections: [
      { title: 'Advised indexes', columns: columns('index', 'table', 'keys', ['statements', 'serves'], ['cost', 'cost before → after'], ['saved', 'workload saved'], ['size', 'est. size'], ['writes', 'table writes']), rows: indexRows, junit: false },
      { title: 'Statements', columns: columns('statement', 'status', 'calls', ['cost', 'cost before → after'], 'verdict', 'query'), rows: statementRows, junit: false },
    ],
    summary: `${advice.indexes.length} index${advice.indexes.length === 1 ? '' : 'es'} advised; ${advice.statements.length} statements: ${countLabels(labels)}`,
    notes,
    document: {
      command: 'advise',
      source: context.source,
      min_improvement: context.minImprovement,
      indexes: advice.indexes.map((ix) => ({
        name: ix.name,
        table: displayQualified(ix.table),
        keys: ix.keys.map((k) => (k.term.kind === 'column' ? { column: k.term.column, order: k.order } : { expression: k.term.expression, order: k.order })),
        ...(ix.include ? { include: ix.include } : {}),
        ...(ix.where ? { where: ix.where } : {}),
        definition: ix.definition,
        statements: ix.statements.map((s) => ({ id: s.id, calls: s.calls, cost_before: s.costBefore, cost_after: s.costAfter })),
        workload_share: ix.workloadShare,
        size_bytes: ix.sizeBytes,
        table_writes: ix.tableWrites,
      })),
      statements: advice.statements.map((s) => ({
        id: s.id,
        origin: s.origin,
        query: s.query,
        calls: s.calls,
        ...(s.totalMs !== undefined ? { total_ms: s.totalMs } : {}),
        status: s.status,
        ...(s.reason ? { reason: s.reason } : {}),
        ...(s.costBefore !== undefined ? { cost_before: s.costBefore, cost_after: s.costAfter } : {}),
        indexes: s.indexes,
        served_by: s.servedBy,
        notes: s.notes,
      })),
      checks: advice.checks.map((c) => ({ statement: c.statement, uses_index: c.usesIndex, ...(c.skipped ? { skipped: c.skipped } : {}) })),
      scoring: advice.scoring.mode,
      scoring_detail: advice.scoring.detail,
      candidates: advice.candidates,
      evaluations: advice.evaluations,
      workload_cost: advice.workloadCost,
      ...(out ? { out: out.file, out_written: out.written, ...(out.skipped ? { out_skipped: out.skipped } : {}) } : {}),
    },
  };
}
