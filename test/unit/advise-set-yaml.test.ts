import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { Advice } from '../../src/advise/advise.js';
import { renderIndexSet } from '../../src/advise/set-yaml.js';
import { loadIndexSets } from '../../src/config/load-index-sets.js';
import { writeTempFile } from '../support/cli.js';

/** The index set advise writes: it loads as any index set does, and its comments say why each index and check is there. */

const table = { schema: 'public', name: 'Orders' };
const advice: Advice = {
  indexes: [
    {
      name: 'idx_orders_customer_id',
      table,
      keys: [{ term: { kind: 'column', column: 'customer_id' }, order: 'asc' }, { term: { kind: 'expression', expression: 'lower(note)' }, order: 'desc' }],
      include: ['Total'],
      where: "status = 'open'",
      definition: 'CREATE INDEX …',
      statements: [{ id: 1, calls: 40, costBefore: 4019.4, costAfter: 4.35 }],
      workloadShare: 0.93,
      sizeBytes: 3 * 1024 * 1024,
      tableWrites: 120,
    },
  ],
  statements: [
    { id: 1, origin: 'r.json stages 1, 2', query: 'SELECT "Total" FROM "Orders"\nWHERE customer_id = $1 AND lower(note) = $2 LIMIT $3', calls: 40, totalMs: 1234.5, status: 'improved', indexes: ['idx_orders_customer_id'], servedBy: [], notes: [] },
    { id: 2, origin: 'r.json stage 1', query: 'SELECT 1 FROM "Orders" WHERE customer_id = $1 AND $2', calls: 3, status: 'improved', indexes: ['idx_orders_customer_id'], servedBy: [], notes: [] },
  ],
  checks: [
    { statement: 1, query: 'SELECT "Total" FROM "Orders"\nWHERE customer_id = $1 AND lower(note) = $2 LIMIT $3', usesIndex: ['idx_orders_customer_id'], params: ['42', 'it\'s "quoted"', 20], sources: ['$1: Orders.customer_id: the histogram\'s median', '$2: …', '$3: a page of 20 rows'], generic: true },
    { statement: 2, query: 'SELECT 1 FROM "Orders" WHERE customer_id = $1 AND $2', usesIndex: ['idx_orders_customer_id'], params: [], sources: [], generic: false, skipped: "$2 is not compared with a table's column" },
  ],
  candidates: 4,
  evaluations: 12,
  workloadCost: { before: 160776, after: 174 },
  scoring: { mode: 'hypopg', detail: 'scored with HypoPG' },
};

describe('the index set advise writes', () => {
  it('loads as an index set, with INCLUDE, WHERE and a check per statement whose values came from the statistics', async () => {
    const text = renderIndexSet(advice, 'advised');
    const file = await writeTempFile('advised.yaml', text);
    const [set] = await loadIndexSets([file]);
    expect(set!.indexes[0]).toMatchObject({ name: 'idx_orders_customer_id', include: ['Total'], where: "status = 'open'" });
    expect(set!.checks).toEqual([
      expect.objectContaining({ query: advice.checks[0]!.query, params: ['42', 'it\'s "quoted"', 20], generic: true, expect: { uses_index: 'idx_orders_customer_id' } }),
    ]);
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('says in comments why each index is there: statement, calls, time, cost before → after, size, INCLUDE and WHERE', () => {
    const comments = renderIndexSet(advice, 'advised').split('\n').filter((l) => l.trimStart().startsWith('#'));
    expect(comments).toEqual(expect.arrayContaining([
      "  # idx_orders_customer_id: saves 93% of the workload's cost; about 3.0 MB; table writes since stats reset: 120",
      '  #   INCLUDE (Total): the other columns its statements read, for an index-only scan',
      "  #   partial: only the rows its statements ask for (WHERE status = 'open')",
      '  #   #1 (r.json stages 1, 2, 40 calls, 1,235 ms in total) cost 4,019 → 4.35: SELECT "Total" FROM "Orders" WHERE customer_id = $1 AND lower(note) = $2 LIMIT $3',
      "  # #1: $1: Orders.customer_id: the histogram's median; $2: …; $3: a page of 20 rows",
      "# no check for #2: $2 is not compared with a table's column",
    ]));
  });

  it('refuses to render a set without an index, which dbtune could not read back', () => {
    expect(() => renderIndexSet({ ...advice, indexes: [], checks: [] }, 'advised')).toThrow(/no index was advised/);
  });
});
