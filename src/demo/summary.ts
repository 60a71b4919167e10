import type { SavedExplain } from '../model/explain-result.js';
import { stageDatabase } from '../model/stage-database.js';
import type { LoadResult } from '../model/load-result.js';
import { formatLatency, formatPercent } from '../report/figures.js';
import { columns, type Report, type ReportRow } from '../report/model.js';
import { describeIndexKeys, type AdviceComparison } from './advice-match.js';

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

/** What advise found, and which set the demo applied. */
export interface DemoAdvice {
  comparison: AdviceComparison;
  appliesAdvised: boolean;
}

export function demoSummary(explainBefore: SavedExplain, explainAfter: SavedExplain, loadBefore: LoadResult, loadAfter: LoadResult, advice?: DemoAdvice): Report {
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
  const applied = advice?.appliesAdvised ? "advise's index set" : 'indexes/demo.yaml';
  return {
    command: 'demo',
    title: `dbtune demo: before → after ${applied}`,
    passed: true,
    sections: [
      ...(advice ? [adviceSection(advice)] : []),
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
    summary: `${advice ? `advise found ${advice.comparison.found} of indexes/demo.yaml's ${advice.comparison.matches.length} indexes; applied ${applied}; ` : ''}max sustained users ${loadBefore.max_sustained_users} → ${loadAfter.max_sustained_users}${headline}`,
    notes: ['queries/request stays high where the API has an N+1 (conversations: 1 + 10 queries): an index makes each query fast, only a code change removes them'],
    document: {
      ...(advice ? { advice: adviceDocument(advice) } : {}),
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

/** advise's set next to indexes/demo.yaml: which of its indexes advise found, and what else it advised. */
export function adviceSection({ comparison }: DemoAdvice): Report['sections'][number] {
  const rows: ReportRow[] = comparison.matches.map((m) => ({
    id: m.demo.name,
    status: m.match === 'missing' ? 'fail' : 'pass',
    cells: {
      demo: `${m.demo.table.name} ${describeIndexKeys(m.demo)}`,
      advised: m.advised ? `${m.advised.name} ${describeIndexKeys(m.advised)}` : '–',
      match: m.match,
    },
  }));
  for (const extra of comparison.extra) rows.push({ id: extra.name, status: 'info', cells: { demo: '–', advised: `${extra.name} ${describeIndexKeys(extra)}`, match: 'advise only' } });
  return { title: 'advise --build vs indexes/demo.yaml', columns: columns(['demo', 'indexes/demo.yaml'], ['advised', "advise's set"], 'match'), rows };
}

function adviceDocument({ comparison, appliesAdvised }: DemoAdvice) {
  return {
    applied: appliesAdvised ? 'advised' : 'indexes/demo.yaml',
    found: comparison.found,
    of: comparison.matches.length,
    matches: comparison.matches.map((m) => ({ demo: m.demo.name, advised: m.advised?.name ?? null, match: m.match })),
    advise_only: comparison.extra.map((e) => e.name),
  };
}

/** Printed right after advise: its set next to indexes/demo.yaml, and which the demo applies. */
export function adviceReport(advice: DemoAdvice): Report {
  const { found, matches } = advice.comparison;
  return {
    command: 'demo',
    title: 'advise vs indexes/demo.yaml',
    passed: true,
    sections: [adviceSection(advice)],
    summary: `advise found ${found} of the ${matches.length} indexes of indexes/demo.yaml (or equivalent ones): ${advice.appliesAdvised ? "the demo applies advise's set, and the checks after ask for its indexes" : 'too few; the demo applies indexes/demo.yaml'}`,
    notes: ['equivalent: the same keys with only the last one, or every one, sorted the other way (a btree is read in both directions), or more keys after the same leading ones'],
    document: adviceDocument(advice),
  };
}
