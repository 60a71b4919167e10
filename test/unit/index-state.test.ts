import { describe, expect, it } from 'vitest';
import { indexState, type IndexStatus } from '../../src/indexing/index-state.js';
import type { BuildProgress, LiveIndex } from '../../src/indexing/catalog.js';
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
  liveIndex({ relkind: 'I', valid, ready: true, live: true, tableRelkind: 'p', partitions: { leafTables, leafIndexes, validLeafIndexes } });

describe('indexState', () => {
  const index = declaration();
  // Without a shadow, a valid index is ok without comparing definitions.
  it.each<[string, LiveIndex | undefined, IndexStatus]>([
    ['nothing of that name', undefined, 'absent'],
    ['the name is taken by a table', liveIndex({ relkind: 'r', table: null, method: 'heap' }), 'wrong_table'],
    ['the name is taken by a view', liveIndex({ relkind: 'v', table: null, method: null }), 'wrong_table'],
    ['an index of that name on another table', liveIndex({ table: { schema: 'public', name: 'customers' } }), 'wrong_table'],
    ['an index of that name on a table of the same name in another schema', liveIndex({ table: { schema: 'archive', name: 'orders' } }), 'wrong_table'],
    ['an index with no table', liveIndex({ table: null }), 'wrong_table'],
    ['another session is building it', liveIndex({ valid: false, ready: false, progress }), 'building'],
    ['invalid, the table locked by a build', liveIndex({ valid: false, tableMaintenanceLocked: true }), 'building'],
    ['invalid', liveIndex({ valid: false }), 'invalid'],
    ['not ready', liveIndex({ valid: false, ready: false }), 'invalid'],
    ['valid but not ready', liveIndex({ ready: false }), 'invalid'],
    ['valid but not live (being dropped)', liveIndex({ live: false }), 'invalid'],
    ['valid and ready', liveIndex(), 'ok'],
    ['partitioned, parent flag valid', partitioned(true, 3, 3, 3), 'ok'],
    ['partitioned, parent flag false, every leaf partition has a valid index', partitioned(false, 3, 3, 3), 'ok'],
    ['partitioned, 2 of 3 leaf indexes valid', partitioned(false, 3, 3, 2), 'invalid'],
    ['partitioned, one leaf partition without an index', partitioned(false, 3, 2, 2), 'invalid'],
    ['partitioned, no leaf partitions', partitioned(false, 0, 0, 0), 'invalid'],
    ['partitioned, no partition info', liveIndex({ relkind: 'I', valid: false, partitions: null }), 'invalid'],
  ])('%s → %s', (_what, live, status) => {
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
    const shadow = liveIndex({ keyColumns: [keyColumn({ desc: true, nullsFirst: true })] });
    const state = indexState(index, liveIndex(), shadow, undefined);
    expect(state.status).toBe('drift');
    expect(state.differences?.map((d) => d.field)).toEqual(['columns[0].order', 'columns[0].nulls']);
  });

  it('an invalid index is invalid even when it also drifts', () => {
    const shadow = liveIndex({ unique: true });
    expect(indexState(index, liveIndex({ valid: false }), shadow, undefined).status).toBe('invalid');
  });
});
