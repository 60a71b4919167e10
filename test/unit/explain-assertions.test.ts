import { describe, expect, it } from 'vitest';
import { evaluateExpectations, type Expectations } from '../../src/explain/assertions.js';
import { parsePlan, percentile, summarizePlan, walk } from '../../src/explain/plan-tree.js';
import { isWrite, toExpectations } from '../../src/explain/run-check.js';

/** A plan as EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON) prints it (trimmed to the fields read). */
function explain(plan: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return [{ Plan: plan, 'Planning Time': 0.5, 'Execution Time': 2.5, ...extra }];
}

const nestedLoop = explain({
  'Node Type': 'Nested Loop',
  'Plan Rows': 10,
  'Actual Rows': 40,
  'Actual Loops': 1,
  'Shared Hit Blocks': 120,
  'Shared Read Blocks': 30,
  'Temp Read Blocks': 0,
  'Temp Written Blocks': 0,
  Plans: [
    { 'Node Type': 'Seq Scan', Schema: 'public', 'Relation Name': 'users', 'Plan Rows': 4, 'Actual Rows': 4, 'Actual Loops': 1, 'Rows Removed by Filter': 996 },
    {
      'Node Type': 'Index Scan',
      Schema: 'public',
      'Relation Name': 'orders',
      'Index Name': 'idx_orders_user',
      'Plan Rows': 1,
      // PostgreSQL 18 prints fractional per-loop averages.
      'Actual Rows': 2.5,
      'Actual Loops': 4,
      'Rows Removed by Filter': 0.75,
    },
    { 'Node Type': 'Index Scan', 'Relation Name': 'refunds', 'Index Name': 'idx_refunds', 'Plan Rows': 100, 'Actual Rows': 0, 'Actual Loops': 0 },
  ],
});

const base: Expectations = { percentile: 95 };

describe('parsePlan', () => {
  it('turns per-loop averages into totals, keeps fractions, and marks never-executed nodes', () => {
    const { root, planningMs, executionMs } = parsePlan(nestedLoop);
    const [, users, orders, refunds] = walk(root);
    expect([planningMs, executionMs]).toEqual([0.5, 2.5]);
    expect(users).toMatchObject({ totalRows: 4, rowsRemoved: 996, relation: { schema: 'public', name: 'users' } });
    expect(orders).toMatchObject({ loops: 4, actualRows: 2.5, totalRows: 10, rowsRemoved: 3, index: 'idx_orders_user' });
    expect(refunds!.executed).toBe(false);
    expect(summarizePlan(root)).toBe('Nested Loop → Seq Scan on users → Index Scan using idx_orders_user → Index Scan using idx_refunds');
  });

  it('reads JIT time and refuses what is not EXPLAIN JSON', () => {
    expect(parsePlan(explain({ 'Node Type': 'Result' }, { JIT: { Timing: { Total: 12.5 } } })).jitMs).toBe(12.5);
    expect(() => parsePlan({ nope: true })).toThrow(/not EXPLAIN/);
  });
});

describe('evaluateExpectations', () => {
  const runs = [parsePlan(nestedLoop)];
  const evaluate = (expectation: Partial<Expectations>, plans = runs, ancestors = new Map<string, string[]>()) =>
    evaluateExpectations({ ...base, ...expectation }, { runs: plans, indexAncestors: ancestors });

  it.each<[string, Partial<Expectations>, boolean, RegExp]>([
    ['uses_index found', { usesIndex: ['idx_orders_user'] }, true, /^yes — Index Scan using idx_orders_user on orders/],
    ['uses_index missing names the scans', { usesIndex: ['idx_users_email'] }, false, /^no — Seq Scan on users \(rows removed by filter 99\.6%\); Index Scan using idx_orders_user/],
    ['no_seq_scan anywhere', { noSeqScan: true }, false, /^Seq Scan on users/],
    ['no_seq_scan on other tables only', { noSeqScan: ['orders', 'public.refunds'] }, true, /^none$/],
    ['no_seq_scan on a schema-qualified table', { noSeqScan: ['public.users'] }, false, /Seq Scan on users/],
    ['max_buffers counts hit + read', { maxBuffers: 100 }, false, /^150 \(hit 120, read 30\)$/],
    ['rows removed ratio', { maxRowsRemovedRatio: 0.5 }, false, /^99\.6% on Seq Scan on users/],
    // The never-executed scan (estimated 100, ran 0 times) would be 100× if it counted.
    ['estimate error: the worst node, per loop, skipping never-executed nodes', { maxEstimateError: 5 }, true, /^4\.0× on Nested Loop \(estimated 10, actual 40 rows per loop\)$/],
    ['estimate error over the limit', { maxEstimateError: 3 }, false, /^4\.0× on Nested Loop/],
  ])('%s', (_label, expectation, passed, observed) => {
    const [result] = evaluate(expectation);
    expect(result!.passed).toBe(passed);
    expect(result!.observed).toMatch(observed);
  });

  it('counts a partition index as its partitioned parent', () => {
    const plans = [parsePlan(explain({ 'Node Type': 'Index Scan', 'Relation Name': 'events_2024', 'Index Name': 'events_2024_idx_user', 'Plan Rows': 1, 'Actual Rows': 1, 'Actual Loops': 1 }))];
    expect(evaluate({ usesIndex: ['idx_user'] }, plans)[0]!.passed).toBe(false);
    expect(evaluate({ usesIndex: ['idx_user'] }, plans, new Map([['events_2024_idx_user', ['idx_user']]]))[0]!.passed).toBe(true);
  });

  it('judges time as a percentile over the timed runs', () => {
    const plans = [1, 2, 3, 4, 50].map((ms) => parsePlan(explain({ 'Node Type': 'Result' }, { 'Execution Time': ms, 'Planning Time': ms / 10 })));
    expect(evaluate({ maxMs: 10 }, plans)[0]).toMatchObject({ name: 'max_ms (p95)', passed: false, observed: '50.0ms' });
    expect(evaluate({ maxMs: 10, percentile: 50 }, plans)[0]).toMatchObject({ name: 'max_ms (p50)', passed: true, observed: '3.00ms' });
    expect(evaluate({ maxPlanningMs: 1, percentile: 80 }, plans)[0]).toMatchObject({ passed: true, observed: '0.40ms' });
  });

  it('finds sorts that spilled to disk and temp blocks', () => {
    const plans = [parsePlan(explain({ 'Node Type': 'Sort', 'Sort Space Type': 'Disk', 'Temp Read Blocks': 10, 'Temp Written Blocks': 10, 'Plan Rows': 1, 'Actual Rows': 1, 'Actual Loops': 1 }))];
    expect(evaluate({ noDiskSort: true, noTempBlocks: true }, plans).map((r) => [r.name, r.passed, r.observed])).toEqual([
      ['no_disk_sort', false, '1 sort(s) spilled to disk'],
      ['no_temp_blocks', false, '20 temp blocks read/written'],
    ]);
  });
});

describe('helpers', () => {
  it.each<[number[], number, number]>([
    [[5, 1, 4, 2, 3], 50, 3],
    [[5, 1, 4, 2, 3], 95, 5],
    [[7], 99, 7],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9],
  ])('percentile(%j, %d) = %d', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  it.each<[string, boolean]>([
    ['SELECT * FROM t WHERE id = $1', false],
    ["SELECT 'delete from x' AS note FROM t", false],
    ['SELECT * FROM t -- update later', false],
    ['DELETE FROM t WHERE id = $1', true],
    ['WITH gone AS (DELETE FROM t RETURNING *) SELECT count(*) FROM gone', true],
    ['SELECT * FROM t FOR UPDATE', true],
    ['  insert into t values (1)', true],
    ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE', true],
  ])('isWrite(%j) = %s', (query, expected) => {
    expect(isWrite(query)).toBe(expected);
  });

  it('maps the YAML expect keys to expectations', () => {
    expect(toExpectations({ uses_index: 'idx_a', no_seq_scan: ['t'], max_ms: 5, percentile: 99, no_disk_sort: true })).toEqual({
      percentile: 99,
      usesIndex: ['idx_a'],
      noSeqScan: ['t'],
      maxMs: 5,
      noDiskSort: true,
    });
  });
});
