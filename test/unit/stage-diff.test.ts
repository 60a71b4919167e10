import { describe, expect, it } from 'vitest';
import { describeStage, summarizeSamples, type StageDiffInput } from '../../src/observe/stage-diff.js';
import { MARK, type Capabilities, type Snapshot, type StatementRow } from '../../src/observe/watch-queries.js';

/** The arithmetic of a stage from two snapshots, without a server: what the watch would have read. */

const API = '16384';
const BATCH = '16385';

function row(queryid: string, userid: string, calls: number, totalMs = calls, since: string | null = null): StatementRow {
  return { key: `${userid}:${queryid}`, queryid, userid, role: userid === API ? 'api' : 'batch', calls, total_ms: totalMs, io_ms: 0, since };
}

function snapshot(statements: StatementRow[], extra: Partial<Snapshot> = {}): Snapshot {
  return { xact_commit: 0, xact_rollback: 0, blks_read: 0, blks_hit: 0, temp_bytes: 0, deadlocks: 0, tables: [], indexes: [], statements, ownStatements: 0, ...extra };
}

const capabilities: Capabilities = { statements: 'public.pg_stat_statements', ioColumns: [], toplevel: false, statsSince: true, info: 'public.pg_stat_statements_info', notes: [] };
const info = { dealloc: 0, stats_reset: '2026-12-01 00:00:00+00' };

const TEXTS: Record<string, string> = {
  '1': 'SELECT id FROM customers WHERE id = $1',
  '2': 'SELECT count(*) FROM orders WHERE customer_id = $1',
  '3': `SELECT ${MARK} 1`,
  '4': 'BEGIN',
  '5': 'SELECT * FROM batch_jobs',
};

function input(before: Snapshot, after: Snapshot, overrides: Partial<StageDiffInput> = {}): StageDiffInput {
  return {
    before: { infoFirst: info, ...before },
    after: { infoLast: info, ...after },
    samples: [],
    httpRequests: 100,
    capabilities,
    roles: undefined,
    indexes: [],
    statementTexts: async (ids) => new Map(ids.filter((id) => TEXTS[id]).map((id) => [id, TEXTS[id]!])),
    ...overrides,
  };
}

describe('describeStage', () => {
  it("counts the stage's calls per statement, leaving out dbtune's own statements and transaction control", async () => {
    const before = snapshot([row('1', API, 10), row('2', API, 50), row('3', API, 4)]);
    const after = snapshot([row('1', API, 110, 210), row('2', API, 550, 1550), row('3', API, 9), row('4', API, 100)]);
    const stage = await describeStage(input(before, after));
    expect(stage.source).toBe('pg_stat_statements');
    expect(stage.queries).toBe(600);
    expect(stage.queries_per_request).toBe(6);
    expect(stage.no_data).toBe(false);
    expect(stage.top_statements.map((s) => [s.query, s.calls, s.calls_per_request])).toEqual([
      ['SELECT count(*) FROM orders WHERE customer_id = $1', 500, 5],
      ['SELECT id FROM customers WHERE id = $1', 100, 1],
    ]);
    expect(stage.top_statements[0]!.mean_ms).toBe(3);
    // Every counted statement, most total time first, in full: what advise --from reads.
    expect(stage.statements).toEqual([
      { query: 'SELECT count(*) FROM orders WHERE customer_id = $1', calls: 500, total_ms: 1500 },
      { query: 'SELECT id FROM customers WHERE id = $1', calls: 100, total_ms: 200 },
    ]);
  });

  it('keeps every statement in full for advise, though the top statements are shortened', async () => {
    const long = `SELECT id FROM customers WHERE ${Array.from({ length: 60 }, (_, i) => `c${i} = $${i + 1}`).join(' AND ')}`;
    const stage = await describeStage(input(snapshot([]), snapshot([row('9', API, 3)]), { statementTexts: async () => new Map([['9', long]]) }));
    expect(stage.top_statements[0]!.query).toHaveLength(300);
    expect(stage.statements).toEqual([{ query: long, calls: 3, total_ms: 3 }]);
  });

  it('counts only the roles of database.roles and names the ones left out', async () => {
    const before = snapshot([row('1', API, 0), row('5', BATCH, 0)]);
    const after = snapshot([row('1', API, 100), row('5', BATCH, 40)]);
    const stage = await describeStage(input(before, after, { roles: new Map([['api', API]]) }));
    expect(stage.queries).toBe(100);
    expect(stage.roles).toEqual([
      { role: 'api', statements: 100, counted: true },
      { role: 'batch', statements: 40, counted: false },
    ]);
    expect(stage.notes.join('\n')).toMatch(/left out \(not in database\.roles\): 40 statements of batch/);
  });

  it('counts an entry evicted and created again during the stage from its new entry (a later stats_since)', async () => {
    const before = snapshot([row('1', API, 500, 500, '2026-12-01 10:00:00+00')]);
    const after = snapshot([row('1', API, 80, 80, '2026-12-01 10:00:05+00')], { infoLast: { ...info, dealloc: 1 } });
    const stage = await describeStage(input(before, after));
    expect(stage.queries).toBe(80);
    expect(stage.statement_tracking).toMatchObject({ reset: false, evicted: 1, recreated: 1 });
    expect(stage.notes.join('\n')).toMatch(/evicted entries 1 time .* counted from the new entry/);
  });

  it('gives no figure after a reset, and says NO DATA when requests were sent but nothing ran here', async () => {
    const reset = await describeStage(input(snapshot([row('1', API, 500)]), snapshot([row('1', API, 20)], { infoLast: { dealloc: 0, stats_reset: '2026-12-01 10:00:03+00' } })));
    expect(reset.statement_tracking?.reset).toBe(true);
    expect(reset.queries_per_request).toBeNull();
    expect(reset.no_data).toBe(false);

    const idle = await describeStage(input(snapshot([row('3', API, 1)]), snapshot([row('3', API, 5)])));
    expect(idle.no_data).toBe(true);
    expect(idle.queries_per_request).toBe(0);
    expect(idle.notes[0]).toMatch(/^NO DATA: 100 requests were sent/);
  });

  it('diffs tables and the watched indexes, and the cache hit ratio', async () => {
    const table = { schemaname: 'public', relname: 'orders', seq_scan: 3, seq_tup_read: 3000, idx_scan: 10, idx_tup_fetch: 10 };
    const before = snapshot([], { blks_hit: 100, blks_read: 10, tables: [table], indexes: [{ schemaname: 'public', indexrelname: 'idx_orders_customer', idx_scan: 10 }] });
    const after = snapshot([], {
      blks_hit: 190,
      blks_read: 20,
      tables: [{ ...table, seq_scan: 5, seq_tup_read: 5000, idx_scan: 60, idx_tup_fetch: 70 }],
      indexes: [{ schemaname: 'public', indexrelname: 'idx_orders_customer', idx_scan: 60 }],
    });
    const watched = [
      { schema: 'public', name: 'idx_orders_customer', table: 'public.orders' },
      { schema: 'public', name: 'idx_not_built', table: 'public.orders' },
    ];
    const stage = await describeStage(input(before, after, { indexes: watched, capabilities: { ...capabilities, statements: undefined } }));
    expect(stage.source).toBe('pg_stat_database');
    expect(stage.tables).toEqual([{ table: 'public.orders', seq_scans: 2, seq_rows_read: 2000, index_scans: 50, index_rows_fetched: 60 }]);
    expect(stage.indexes).toEqual([
      { index: 'public.idx_orders_customer', table: 'public.orders', scans: 50, used: true, exists: true },
      { index: 'public.idx_not_built', table: 'public.orders', scans: 0, used: false, exists: false },
    ]);
    expect(stage.cache_hit_ratio).toBe(0.9);
  });
});

describe('summarizeSamples', () => {
  it('gives the peak and mean of sessions, by state, and the wait events of sessions not idle', () => {
    const summary = summarizeSamples([
      [
        { state: 'active', wait_event_type: 'Lock', wait_event: 'relation', n: 3 },
        { state: 'idle', wait_event_type: 'Client', wait_event: 'ClientRead', n: 1 },
      ],
      [{ state: 'active', wait_event_type: null, wait_event: null, n: 2 }],
    ]);
    expect(summary).toEqual({
      peak: 4,
      mean: 3,
      byState: { active: { peak: 3, mean: 2.5 }, idle: { peak: 1, mean: 0.5 } },
      waitEvents: { 'Lock:relation': 1 },
      unknownStates: false,
    });
  });
});
