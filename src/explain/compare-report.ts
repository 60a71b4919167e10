import { DbtuneError } from '../errors.js';
import { columns, countLabels, type Report, type ReportRow } from '../report/model.js';
import type { SavedCheck, SavedExplain } from '../model/explain-result.js';

export type Verdict = 'faster' | 'slower' | 'no significant change' | 'status changed' | 'only before' | 'only after';

export interface CheckComparison {
  name: string;
  before?: SavedCheck;
  after?: SavedCheck;
  verdict: Verdict;
  /** after p50 / before p50. */
  ratio?: number;
}

/**
 * Pairs checks by name. A change is significant only when the two runs'
 * ranges do not overlap: on shared machines a few percent is noise.
 * Refuses (exit 2) to pair checks whose query or params changed, unless forced.
 */
export function compareChecks(before: SavedExplain, after: SavedExplain, force: boolean): CheckComparison[] {
  const afterByName = new Map(after.checks.map((c) => [c.name, c]));
  const beforeNames = new Set(before.checks.map((c) => c.name));
  const changed = before.checks.filter((b) => {
    const a = afterByName.get(b.name);
    return a && (a.query !== b.query || JSON.stringify(a.params ?? []) !== JSON.stringify(b.params ?? []));
  });
  if (changed.length && !force) {
    throw new DbtuneError('INPUT_INVALID', `not the same checks: the query or params of ${changed.map((c) => JSON.stringify(c.name)).join(', ')} changed between the two results`, {
      hint: 'compare results of the same checks file; --force compares them anyway',
    });
  }
  const rows: CheckComparison[] = before.checks.map((b) => {
    const a = afterByName.get(b.name);
    if (!a) return { name: b.name, before: b, verdict: 'only before' };
    return { name: b.name, before: b, after: a, ...verdictOf(b, a) };
  });
  for (const a of after.checks) if (!beforeNames.has(a.name)) rows.push({ name: a.name, after: a, verdict: 'only after' });
  return rows;
}

function verdictOf(before: SavedCheck, after: SavedCheck): { verdict: Verdict; ratio?: number } {
  if (!before.timings || !after.timings) return { verdict: before.status === after.status ? 'no significant change' : 'status changed' };
  const ratio = after.timings.p50_ms / before.timings.p50_ms;
  const [bMin, bMax] = range(before.timings.runs_ms);
  const [aMin, aMax] = range(after.timings.runs_ms);
  if (aMax < bMin) return { verdict: 'faster', ratio };
  if (aMin > bMax) return { verdict: 'slower', ratio };
  return { verdict: before.status === after.status ? 'no significant change' : 'status changed', ratio };
}

function range(values: number[]): [number, number] {
  return [Math.min(...values), Math.max(...values)];
}

const ms = (v: number | undefined) => (v === undefined ? '–' : `${v.toFixed(v < 10 ? 2 : 1)}ms`);

export function compareReport(before: SavedExplain, after: SavedExplain, rows: CheckComparison[]): Report {
  const tableRows: ReportRow[] = rows.map((r) => ({
    id: r.name,
    status: r.verdict === 'slower' || r.verdict === 'status changed' ? 'warn' : r.verdict === 'faster' ? 'pass' : 'info',
    cells: {
      check: r.name,
      p50: `${ms(r.before?.timings?.p50_ms)} → ${ms(r.after?.timings?.p50_ms)}`,
      change: r.ratio === undefined ? '' : r.ratio < 1 ? `${(1 / r.ratio).toFixed(1)}× faster` : `${r.ratio.toFixed(1)}× slower`,
      p95: `${ms(r.before?.timings?.p95_ms)} → ${ms(r.after?.timings?.p95_ms)}`,
      buffers: `${r.before?.buffers ?? '–'} → ${r.after?.buffers ?? '–'}`,
      status: r.verdict,
    },
    details: [`before: ${r.before?.summary ?? '(not run)'} [${r.before?.status ?? '–'}]`, `after:  ${r.after?.summary ?? '(not run)'} [${r.after?.status ?? '–'}]`],
  }));
  const context = (s: SavedExplain) => `${s.context.saved_at}${s.context.git_commit ? ` @ ${s.context.git_commit.slice(0, 10)}` : ''}${s.context.server_version ? `, PostgreSQL ${s.context.server_version}` : ''}`;
  return {
    command: 'compare',
    title: 'dbtune compare',
    passed: true,
    sections: [
      {
        title: 'checks',
        columns: columns('check', ['p50', 'p50 before → after'], 'change', ['p95', 'p95 before → after'], 'buffers', ['status', 'verdict']),
        rows: tableRows,
      },
    ],
    summary: `${rows.length} ${rows.length === 1 ? 'check' : 'checks'}: ${countLabels(rows.map((r) => r.verdict))}`,
    notes: [`before: ${context(before)}`, `after:  ${context(after)}`, 'a change counts only when the two runs\' time ranges do not overlap'],
    document: {
      command: 'compare',
      kind: before.kind,
      before: before.context,
      after: after.context,
      checks: rows.map((r) => ({
        name: r.name,
        verdict: r.verdict,
        ...(r.ratio !== undefined ? { p50_ratio: r.ratio } : {}),
        before: r.before ?? null,
        after: r.after ?? null,
      })),
    },
  };
}
