import { describe, expect, it } from 'vitest';
import type { TableStatistics } from '../../src/indexing/execute/analyze-need.js';
import type { ExecutionResult } from '../../src/indexing/execute/results.js';
import { executionReport, planSqlScript } from '../../src/indexing/index-report.js';
import { planIndex } from '../../src/indexing/plan.js';
import { tableKey } from '../../src/model/declaration.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { declaration } from './support/fixtures.js';

const orders = { schema: 'public', name: 'orders' };
const items = { schema: 'public', name: 'items' };
const CURRENT = 'statistics current: 12 changes since the last analyze (autovacuum analyzes after 150,050); plain-column indexes add no statistics';

function current(reltuples: number): TableStatistics {
  return { partitioned: false, reltuples, activity: { modsSinceAnalyze: 12, analyzed: true, autoanalyzed: false }, server: { threshold: 50, scaleFactor: 0.1 }, table: {} };
}

describe("apply's report names each table not analyzed, with why", () => {
  const run: ExecutionResult = {
    indexes: [],
    analyzed: [items],
    analyzeSkipped: [{ table: orders, reason: CURRENT }],
    analyzeFailures: [],
    interrupted: false,
  };

  it('as a note per table (table, Markdown) and as analyze_skipped in JSON, beside analyzed', () => {
    const report = executionReport('apply', run, { version: '18.1' }, {});
    expect(report.notes).toEqual(['analyzed: public.items', `not analyzed: public.orders (${CURRENT})`]);
    expect(renderMarkdown(report)).toContain('> not analyzed: public.orders (statistics current: 12 changes');
    expect(report.document).toMatchObject({ analyzed: ['public.items'], analyze_skipped: [{ table: 'public.orders', reason: CURRENT }] });
  });

  it('keeps analyze_skipped in JSON when empty, like analyzed', () => {
    const report = executionReport('apply', { ...run, analyzed: [], analyzeSkipped: [] }, { version: '18.1' }, {});
    expect(report.document).toMatchObject({ analyzed: [], analyze_skipped: [] });
    expect(report.notes).toEqual([]);
  });
});

describe('plan --format sql analyzes what apply would', () => {
  const plans = [
    planIndex(declaration(), { status: 'absent', reason: 'does not exist' }),
    planIndex(declaration({ name: 'idx_items_lower', table: items, keys: [{ kind: 'expression', expression: 'lower(sku)' }] }), { status: 'absent', reason: 'does not exist' }),
  ];
  const statistics = new Map([
    [tableKey(orders), current(1_500_000)],
    [tableKey(items), current(1_500_000)],
  ]);
  const statementsOf = (script: string) => script.split('\n').filter((l) => l && !l.startsWith('--'));

  it('by default: ANALYZE for the expression index, a comment saying why not for the other', () => {
    const script = planSqlScript(plans, { mode: 'when-useful', statistics });
    expect(statementsOf(script).filter((l) => l.startsWith('ANALYZE'))).toEqual(['ANALYZE "public"."items";']);
    expect(script).toContain(`-- no ANALYZE of public.orders: ${CURRENT}\n`);
    expect(script).toContain('-- public.items: an expression index: ');
  });

  it('analyzes every table when the statistics could not be read, or with --always-analyze; none with --no-analyze', () => {
    const analyzes = (script: string) => statementsOf(script).filter((l) => l.startsWith('ANALYZE'));
    expect(analyzes(planSqlScript(plans, { mode: 'when-useful' }))).toEqual(['ANALYZE "public"."orders";', 'ANALYZE "public"."items";']);
    expect(analyzes(planSqlScript(plans, { mode: 'always', statistics }))).toEqual(['ANALYZE "public"."orders";', 'ANALYZE "public"."items";']);
    expect(planSqlScript(plans, { mode: 'never', statistics })).not.toContain('ANALYZE');
  });
});
