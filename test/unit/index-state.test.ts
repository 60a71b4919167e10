import { describe, expect, it } from 'vitest';
import { indexState, type IndexStatus } from '../../src/indexing/index-state.js';
import type { BuildProgress, LiveIndex } from '../../src/indexing/live-catalog.js';
import { declaration, keyColumn, liveIndex } from './support/fixtures.js';

const progress: BuildProgress = {
  pid: 4242,
  command: 'CREATE INDEX CONCURRENTLY',
  phase: 'building index: scanning table',
  lockersTotal: null,
  lockersDone: null,
  currentLockerPid: null,
  blocksTotal: 100,
  blocksDone: 10,
  tuplesTotal: null,
  tuplesDone: null,
  partitionsTotal: null,
  partitionsDone: null,
};

const partitioned = (valid: boolean, leafTables: number, leafIndexes: number, validLeafIndexes: number): LiveIndex =>
  liveIndex({ relkind: 'I', valid, ready: true, live: true, tableRelkind: 'p', partitions: { leafTables, leafIndexes, validLeafIndexes, attached: [] } });

describe('indexState', () => {
  const index = declaration();
  // Without a shadow, a valid index is ok without comparing definitions.
  it.each<[string, IndexStatus, LiveIndex | undefined]>([
    ['nothing of that name', 'absent', undefined],
    ['the name is taken by a table', 'wrong_table', liveIndex({ relkind: 'r', table: null, method: 'heap' })],
    ['the name is taken by a view', 'wrong_table', liveIndex({ relkind: 'v', table: null, method: null })],
    ['an index of that name on another table', 'wrong_table', liveIndex({ table: { schema: 'public', name: 'customers' } })],
    ['an index of that name on a table of the same name in another schema', 'wrong_table', liveIndex({ table: { schema: 'archive', name: 'orders' } })],
    ['an index with no table', 'wrong_table', liveIndex({ table: null })],
    ['another session is building it', 'building', liveIndex({ valid: false, ready: false, progress })],
    ['invalid, the table locked by a build', 'building', liveIndex({ valid: false, tableMaintenanceLocked: true })],
    ['invalid, the table in use by a build whose details this role cannot see', 'building', liveIndex({ valid: false, ready: false, hiddenBuilderPid: 4242 })],
    ['valid, while a hidden build runs on the table', 'ok', liveIndex({ hiddenBuilderPid: 4242 })],
    ['invalid', 'invalid', liveIndex({ valid: false })],
    ['not ready', 'invalid', liveIndex({ valid: false, ready: false })],
    ['valid but not ready', 'invalid', liveIndex({ ready: false })],
    ['valid but not live (being dropped)', 'invalid', liveIndex({ live: false })],
    ['valid and ready', 'ok', liveIndex()],
    ['partitioned, parent flag valid', 'ok', partitioned(true, 3, 3, 3)],
    ['partitioned, parent flag false, every leaf partition has a valid index', 'ok', partitioned(false, 3, 3, 3)],
    ['partitioned, 2 of 3 leaf indexes valid', 'invalid', partitioned(false, 3, 3, 2)],
    ['partitioned, one leaf partition without an index', 'invalid', partitioned(false, 3, 2, 2)],
    ['partitioned, no leaf partitions', 'invalid', partitioned(false, 0, 0, 0)],
    ['partitioned, no partition info', 'invalid', liveIndex({ relkind: 'I', valid: false, partitions: null })],
  ])('%s → %s', (_what, status, live) => {
    expect(indexState(index, live, undefined, undefined).status).toBe(status);
  });

  it('a rejection wins over everything the catalog says', () => {
    const rejection = { code: '42703', message: 'column "nope" does not exist' };
    const state = indexState(index, liveIndex(), liveIndex(), rejection);
    expect(state).toMatchObject({ status: 'rejected', error: rejection });
  });

  it('building carries the progress of the other session', () => {
    const state = indexState(index, liveIndex({ valid: false, progress }), undefined, undefined);
    expect(state.progress).toEqual(progress);
    expect(state.reason).toContain('4242');
  });

  it('names the relation kind that took the name', () => {
    expect(indexState(index, liveIndex({ relkind: 'm', table: null }), undefined, undefined).reason).toContain('materialized view');
  });

  it('an invalid partitioned index says how many partitions are ready', () => {
    const state = indexState(index, partitioned(false, 3, 3, 2), undefined, undefined);
    expect(state.status).toBe('invalid');
    expect(state.reason).toContain('2 of 3 partitions');
  });

  it('with a shadow that matches: ok, no differences', () => {
    const state = indexState(index, liveIndex(), liveIndex({ schema: 'pg_temp', name: 'shadow_1' }), undefined);
    expect(state.status).toBe('ok');
    expect(state.differences).toBeUndefined();
  });

  it('with a shadow that differs: drift, with the differences', () => {
    const shadow = liveIndex({ unique: true, keyColumns: [keyColumn({ desc: true, nullsFirst: true })] });
    const state = indexState(index, liveIndex(), shadow, undefined);
    expect(state.status).toBe('drift');
    expect(state.differences?.map((d) => d.field)).toEqual(['unique', 'columns[0].order']);
  });

  it('an invalid index is invalid even when it also drifts', () => {
    const shadow = liveIndex({ unique: true });
    expect(indexState(index, liveIndex({ valid: false }), shadow, undefined).status).toBe('invalid');
  });
});
