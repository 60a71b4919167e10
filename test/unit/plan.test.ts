import { describe, expect, it } from 'vitest';
import { planDrop, planIndex, planIndexes, rebuildName, type PlannedAction, type PlannedStatement } from '../../src/indexing/plan.js';
import type { IndexState, IndexStatus } from '../../src/indexing/index-state.js';
import { MAX_IDENTIFIER_BYTES } from '../../src/sql/identifiers.js';
import { declaration, liveIndex } from './support/fixtures.js';

const state = (status: IndexStatus): IndexState => ({ status, reason: `test: ${status}` });
const purposes = (statements: PlannedStatement[]) => statements.map((s) => s.purpose);

const index = declaration({ name: 'idx_orders_customer', table: { schema: 'app', name: 'orders' } });
const CREATE = 'CREATE INDEX CONCURRENTLY "idx_orders_customer" ON "app"."orders" USING btree ("customer_id")';
const DROP = 'DROP INDEX CONCURRENTLY IF EXISTS "app"."idx_orders_customer"';

describe('planIndex', () => {
  it.each<[IndexStatus, boolean, PlannedAction, PlannedStatement['purpose'][]]>([
    ['absent', false, 'create', ['create']],
    ['invalid', false, 'repair', ['drop-leftover', 'create']],
    ['drift', false, 'drift', []],
    ['drift', true, 'rebuild', ['drop-leftover', 'create', 'drop-old', 'rename']],
    ['ok', false, 'none', []],
    ['ok', true, 'none', []],
    ['building', false, 'wait', []],
    ['wrong_table', false, 'blocked', []],
    ['wrong_table', true, 'blocked', []],
    ['rejected', false, 'blocked', []],
  ])('%s (rebuildDrift %s) → %s %j', (status, rebuildDrift, action, expectedPurposes) => {
    const plan = planIndex(index, state(status), { rebuildDrift });
    expect(plan.action).toBe(action);
    expect(purposes(plan.statements)).toEqual(expectedPurposes);
    expect(plan.declaration).toBe(index);
    expect(plan.state.status).toBe(status);
  });

  it('absent: builds concurrently under the declared name', () => {
    const plan = planIndex(index, state('absent'));
    expect(plan.statements).toEqual([{ purpose: 'create', sql: CREATE }]);
    expect(plan.buildName).toBe('idx_orders_customer');
  });

  it('invalid: drops the leftover concurrently, then builds', () => {
    expect(planIndex(index, state('invalid')).statements).toEqual([
      { purpose: 'drop-leftover', sql: DROP },
      { purpose: 'create', sql: CREATE },
    ]);
  });

  it('drift with rebuildDrift: builds under a temporary name in the same schema, swaps it in', () => {
    const plan = planIndex(index, state('drift'), { rebuildDrift: true });
    expect(plan.buildName).toBe('idx_orders_customer_dbtune_new');
    expect(plan.statements.map((s) => s.sql)).toEqual([
      'DROP INDEX CONCURRENTLY IF EXISTS "app"."idx_orders_customer_dbtune_new"',
      'CREATE INDEX CONCURRENTLY "idx_orders_customer_dbtune_new" ON "app"."orders" USING btree ("customer_id")',
      DROP,
      'ALTER INDEX "app"."idx_orders_customer_dbtune_new" RENAME TO "idx_orders_customer"',
    ]);
  });

  it('planIndexes plans each inspected index with the options given', () => {
    const plans = planIndexes(
      [
        { declaration: index, state: state('absent') },
        { declaration: index, state: state('drift') },
      ],
      { rebuildDrift: true },
    );
    expect(plans.map((p) => p.action)).toEqual(['create', 'rebuild']);
  });
});

describe('planIndexes with the copy an interrupted rebuild left (<name>_dbtune_new)', () => {
  const copy = liveIndex({ name: 'idx_orders_customer_dbtune_new', table: { schema: 'app', name: 'orders' } });
  const RENAME = 'ALTER INDEX "app"."idx_orders_customer_dbtune_new" RENAME TO "idx_orders_customer"';
  const DROP_COPY = 'DROP INDEX CONCURRENTLY IF EXISTS "app"."idx_orders_customer_dbtune_new"';

  it.each<[string, IndexStatus, boolean, boolean, PlannedAction, string[]]>([
    // Stopped after the old index was dropped: rename the valid copy, build nothing.
    ['usable copy, declared index gone', 'absent', true, false, 'repair', [RENAME]],
    ['usable copy, drifted index still there, --rebuild-drift', 'drift', true, true, 'repair', [DROP, RENAME]],
    ['usable copy, drifted index still there, no flag', 'drift', true, false, 'drift', []],
    ['usable copy, declared index ok', 'ok', true, false, 'repair', [DROP_COPY]],
    // Stopped while dropping the drifted index (left invalid): drop it, rename the copy.
    ['usable copy, declared index left invalid', 'invalid', true, false, 'repair', [DROP, RENAME]],
    ['unusable copy, declared index gone', 'absent', false, false, 'create', [DROP_COPY, CREATE]],
    ['unusable copy, --rebuild-drift rebuilds (its first statement drops the copy)', 'drift', false, true, 'rebuild', [DROP_COPY]],
    ['any copy while another session builds', 'building', true, false, 'wait', []],
  ])('%s', (_label, status, usable, rebuildDrift, action, firstStatements) => {
    const [plan] = planIndexes([{ declaration: index, state: state(status), rebuildLeftover: copy, rebuildLeftoverUsable: usable }], { rebuildDrift });
    expect(plan!.action).toBe(action);
    expect(plan!.statements.slice(0, firstStatements.length).map((s) => s.sql)).toEqual(firstStatements);
    if (action === 'repair' && usable && status !== 'ok') expect(plan!.note).toMatch(/finished the swap/);
  });
});

describe('planDrop', () => {
  it.each<[IndexStatus, PlannedAction]>([
    ['absent', 'none'],
    ['wrong_table', 'blocked'],
    ['building', 'wait'],
    ['ok', 'drop'],
    ['invalid', 'drop'],
    ['drift', 'drop'],
  ])('%s → %s', (status, action) => {
    const plan = planDrop(index, state(status));
    expect(plan.action).toBe(action);
    expect(plan.statements).toEqual(action === 'drop' ? [{ purpose: 'drop-old', sql: DROP }] : []);
  });

  it('drops the copy an interrupted rebuild left too, also when the declared index is gone', () => {
    const copy = liveIndex({ name: 'idx_orders_customer_dbtune_new', table: { schema: 'app', name: 'orders' } });
    const DROP_COPY = 'DROP INDEX CONCURRENTLY IF EXISTS "app"."idx_orders_customer_dbtune_new"';
    expect(planDrop(index, state('ok'), copy).statements.map((s) => s.sql)).toEqual([DROP_COPY, DROP]);
    expect(planDrop(index, state('absent'), copy)).toMatchObject({ action: 'drop', statements: [{ purpose: 'drop-leftover', sql: DROP_COPY }] });
    expect(planDrop(index, state('building'), copy)).toMatchObject({ action: 'wait', statements: [] });
  });
});

describe('rebuildName', () => {
  const bytes = (s: string) => Buffer.byteLength(s);

  it.each([
    ['idx', 'idx_dbtune_new'],
    ['a'.repeat(52), `${'a'.repeat(52)}_dbtune_new`],
    ['a'.repeat(53), `${'a'.repeat(52)}_dbtune_new`],
    ['a'.repeat(63), `${'a'.repeat(52)}_dbtune_new`],
    // 17 three-byte characters = 51 bytes; the 18th would make 54 + 11 > 63.
    ['€'.repeat(21), `${'€'.repeat(17)}_dbtune_new`],
  ])('%s → %s', (name, expected) => {
    const result = rebuildName(name);
    expect(result).toBe(expected);
    expect(bytes(result)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
  });

  // A 4-byte character is two UTF-16 code units; trimming one unit at a time can
  // stop after half of it: 'a'×49 + '\uD83D' is 49 + 3 = 52 bytes by Buffer.byteLength
  // (the lone surrogate counts as U+FFFD), which fits, so the name keeps half an emoji.
  it('does not cut a character in half (regression: left a lone surrogate)', () => {
    const result = rebuildName(`${'a'.repeat(49)}😀${'b'.repeat(10)}`);
    expect(Buffer.from(result, 'utf8').toString('utf8')).toBe(result);
  });
});
