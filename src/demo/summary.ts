import type { SavedExplain } from '../model/explain-result.js';
import { stageDatabase } from '../model/stage-database.js';
import type { LoadResult } from '../model/load-result.js';
import { formatLatency, formatPercent } from '../report/figures.js';
import { columns, type Report, type ReportRow } from '../report/model.js';

/**
 * The demo's closing table: per stage, p95, rps, success rate and queries per
 * request before → after; per check, the plan and time before → after. Every
 * figure is read from the saved results of the runs the demo just made.
 */
/** The scan nodes of a plan summary (`Limit → Sort → Seq Scan on messages` → `Seq Scan on messages`). */
function scans(summary: string | undefined): string | undefined {
  if (!summary) return undefined;
  const nodes = summary.split(' → ').filter((node) => node.includes('Scan'));
  return nodes.length ? nodes.join(', ') : summary;
}

export function demoSummary(explainBefore: SavedExplain, explainAfter: SavedExplain, loadBefore: LoadResult, loadAfter: LoadResult): Report {
  const arrow = (a: string, b: string) => `${a} → ${b}`;
  const qpr = (stage: LoadResult['stages'][number]) => {
    const db = stageDatabase(stage);
    return db?.queries_per_request === null || db?.queries_per_request === undefined ? '–' : String(db.queries_per_request);
  };
  const stageRows: ReportRow[] = loadAfter.stages.map((after, i) => {
    const before = loadBefore.stages[i];
    const measured = before && !before.skipped && !after.skipped && before.requests > 0 && after.requests > 0;
    const faster = measured ? before.latency.p95 / after.latency.p95 : undefined;
    return {
      id: `stage ${after.stage} (${after.users} users)`,
      status: !measured ? 'skip' : after.latency.p95 < before.latency.p95 ? 'pass' : 'warn',
      cells: {
        stage: `${after.users} users`,
        p95: measured ? arrow(formatLatency(before.latency.p95), formatLatency(after.latency.p95)) : '–',
        change: faster === undefined ? '' : faster >= 1 ? `${faster.toFixed(1)}× faster` : `${(1 / faster).toFixed(1)}× slower`,
        rps: measured ? arrow(before.rps.toFixed(0), after.rps.toFixed(0)) : '–',
        success: measured ? arrow(formatPercent(before.success_rate), formatPercent(after.success_rate)) : '–',
        qpr: before ? arrow(qpr(before), qpr(after)) : '–',
        status: arrow(before?.passed ? 'passed' : 'failed', after.passed ? 'passed' : 'failed'),
      },
    };
  });
  const afterChecks = new Map(explainAfter.checks.map((c) => [c.name, c]));
  const checkRows: ReportRow[] = explainBefore.checks.map((before) => {
    const after = afterChecks.get(before.name);
    const time = (c: typeof before | undefined) => (c?.timings ? formatLatency(c.timings.p50_ms) : '–');
    return {
      id: before.name,
      status: after?.passed ? 'pass' : 'fail',
      cells: {
        check: before.name,
        plan: arrow(scans(before.summary) ?? before.status, scans(after?.summary) ?? after?.status ?? '–'),
        time: arrow(time(before), time(after)),
        status: arrow(before.status, after?.status ?? '–'),
      },
    };
  });
  const last = (r: LoadResult) => r.stages.filter((s) => !s.skipped).at(-1);
  const lastBefore = last(loadBefore);
  const lastAfter = last(loadAfter);
  const headline = lastBefore && lastAfter ? `; p95 at ${lastAfter.users} users ${formatLatency(lastBefore.latency.p95)} → ${formatLatency(lastAfter.latency.p95)}` : '';
  return {
    command: 'demo',
    title: 'dbtune demo: before → after indexes/demo.yaml',
    passed: true,
    sections: [
      {
        title: 'Load, per stage',
        columns: columns('stage', 'p95', 'change', 'rps', 'success', ['qpr', 'queries/request'], ['status', 'thresholds']),
        rows: stageRows,
      },
      {
        title: 'Checks',
        columns: columns('check', 'plan', ['time', 'p50'], 'status'),
        rows: checkRows,
      },
    ],
    summary: `max sustained users ${loadBefore.max_sustained_users} → ${loadAfter.max_sustained_users}${headline}`,
    notes: ['queries/request stays high where the API has an N+1 (conversations: 1 + 10 queries): an index makes each query fast, only a code change removes them'],
    document: {
      max_sustained_users: { before: loadBefore.max_sustained_users, after: loadAfter.max_sustained_users },
      stages: loadAfter.stages.map((after, i) => {
        const before = loadBefore.stages[i];
        return {
          users: after.users,
          p95_ms: { before: before?.latency.p95 ?? null, after: after.latency.p95 },
          rps: { before: before?.rps ?? null, after: after.rps },
          success_rate: { before: before?.success_rate ?? null, after: after.success_rate },
          queries_per_request: { before: before ? stageDatabase(before)?.queries_per_request ?? null : null, after: stageDatabase(after)?.queries_per_request ?? null },
        };
      }),
      checks: explainBefore.checks.map((b) => ({ name: b.name, before: { status: b.status, plan: b.summary ?? null }, after: { status: afterChecks.get(b.name)?.status ?? null, plan: afterChecks.get(b.name)?.summary ?? null } })),
    },
  };
}
