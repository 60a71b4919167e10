import { describe, expect, it } from 'vitest';
import type { TableAccess } from '../../src/advise/access.js';
import { candidatesFor, generateCandidates, keyLists, keyText, type Candidate } from '../../src/advise/candidates.js';
import { sameKey, servingIndex, type ExistingIndex } from '../../src/advise/coverage.js';
import { createIndexText, indexName } from '../../src/advise/index-text.js';
import { pickBest, selectIndexes, type CostSource } from '../../src/advise/select.js';

const table = { schema: 'public', name: 'orders' };
const col = (column: string) => ({ kind: 'column' as const, column });
const access = (a: Partial<TableAccess>): TableAccess => ({ table, equality: [], ranges: [], sort: [], groupBy: [], constants: [], ...a });
const lists = (a: TableAccess) => keyLists(a).map((l) => l.map(keyText).join(', '));

describe('candidate key order', () => {
  it.each([
    { a: access({ equality: [col('customer_id')], sort: [{ term: col('created_at'), order: 'desc' }] }), first: 'customer_id, created_at DESC' },
    { a: access({ equality: [col('tenant_id'), col('status')], ranges: [col('total')], sort: [{ term: col('created_at'), order: 'desc' }] }), first: 'tenant_id, status, total' },
    { a: access({ ranges: [col('total')], equality: [col('customer_id')] }), first: 'customer_id, total' },
    { a: access({ equality: [{ kind: 'expression', expression: 'lower(email)' }] }), first: 'lower(email)' },
    { a: access({ equality: [col('customer_id')], groupBy: [col('status')] }), first: 'customer_id' },
  ])('equality → range → sort, at most three keys: $first', ({ a, first }) => {
    const got = lists(a);
    expect(got[0]).toBe(first);
    expect(new Set(got).size).toBe(got.length);
    expect(keyLists(a).every((l) => l.length <= 3)).toBe(true);
  });

  it('offers eq → sort and eq → range separately, and the single columns', () => {
    expect(lists(access({ equality: [col('a')], ranges: [col('b')], sort: [{ term: col('c'), order: 'desc' }] }))).toEqual(['a, b, c DESC', 'a, c DESC', 'a, b', 'a', 'b', 'c DESC']);
  });

  it('makes partial variants from constant predicates, without keys for the pinned column', () => {
    const made = candidatesFor(access({ equality: [col('status'), col('customer_id')], constants: [{ sql: "status = 'open'", fixes: 'status' }, { sql: 'deleted_at IS NULL' }] }), 1);
    const partial = made.filter((c) => c.where);
    expect(partial.every((c) => c.where === "status = 'open' AND deleted_at IS NULL")).toBe(true);
    expect(partial.map((c) => c.keys.map(keyText).join(', '))).toEqual(['customer_id']);
    const onlyConstants = candidatesFor(access({ equality: [col('status')], constants: [{ sql: "status = 'open'", fixes: 'status' }] }), 1);
    expect(onlyConstants.find((c) => c.where)?.keys.map(keyText)).toEqual(['status']);
  });

  it('offers INCLUDE variants of the most specific candidates when the statement reads few other columns', () => {
    const made = candidatesFor(access({ equality: [col('customer_id')], constants: [{ sql: 'deleted_at IS NULL' }], reads: ['id', 'total', 'customer_id', 'deleted_at'] }), 1);
    expect(made.filter((c) => c.include).map((c) => createIndexText(c))).toEqual([
      'CREATE INDEX ON "public"."orders" ("customer_id") INCLUDE ("id", "total", "deleted_at")',
      'CREATE INDEX ON "public"."orders" ("customer_id") INCLUDE ("id", "total", "deleted_at") WHERE deleted_at IS NULL',
    ]);
    expect(candidatesFor(access({ equality: [col('customer_id')], reads: ['a', 'b', 'c', 'd', 'customer_id'] }), 1).some((c) => c.include)).toBe(false);
    expect(candidatesFor(access({ equality: [col('customer_id')], reads: ['customer_id'] }), 1).some((c) => c.include)).toBe(false);
    expect(candidatesFor(access({ equality: [col('customer_id')] }), 1).some((c) => c.include)).toBe(false);
    // A wide column (a text body) is never included.
    const wide = access({ equality: [col('customer_id')], reads: ['customer_id', 'total', 'note'] });
    expect(candidatesFor(wide, 1, (_t, column) => column !== 'note').some((c) => c.include)).toBe(false);
  });

  it('merges identical candidates of several statements', () => {
    const a = access({ equality: [col('customer_id')] });
    const merged = generateCandidates([{ id: 1, accesses: [a] }, { id: 2, accesses: [a] }]);
    expect(merged).toHaveLength(1);
    expect(merged[0]!.statements).toEqual([1, 2]);
  });
});

describe('existing-index coverage', () => {
  const existing = (keys: string[], desc: boolean[], extra: Partial<ExistingIndex> = {}): ExistingIndex => ({ schema: 'public', table: 'orders', name: 'ix', valid: true, partial: false, method: 'btree', keys, desc, ...extra });
  const cand = (keys: Array<[string, 'asc' | 'desc']>): Candidate => ({ id: 'x', table, keys: keys.map(([c, order]) => ({ term: col(c), order })), statements: [1] });

  it.each([
    { ix: existing(['customer_id', 'created_at'], [false, true]), c: cand([['customer_id', 'asc']]), served: true },
    { ix: existing(['customer_id', 'created_at'], [false, true]), c: cand([['customer_id', 'asc'], ['created_at', 'desc']]), served: true },
    { ix: existing(['customer_id', 'created_at'], [false, true]), c: cand([['customer_id', 'desc'], ['created_at', 'asc']]), served: true },
    { ix: existing(['customer_id', 'created_at'], [false, false]), c: cand([['customer_id', 'asc'], ['created_at', 'desc']]), served: false },
    { ix: existing(['created_at', 'customer_id'], [false, false]), c: cand([['customer_id', 'asc']]), served: false },
    { ix: existing(['customer_id'], [false], { valid: false }), c: cand([['customer_id', 'asc']]), served: false },
    { ix: existing(['customer_id'], [false], { partial: true }), c: cand([['customer_id', 'asc']]), served: false },
    { ix: existing(['customer_id'], [false], { method: 'hash' }), c: cand([['customer_id', 'asc']]), served: false },
  ])('a leading prefix of a valid, non-partial btree in the same (or reversed) directions: $served', ({ ix, c, served }) => {
    expect(Boolean(servingIndex(c, [ix]))).toBe(served);
  });

  it('compares expressions as PostgreSQL deparses them', () => {
    expect(sameKey('lower(email)', 'lower((email)::text)')).toBe(true);
    expect(sameKey('lower(email)', 'upper(email)')).toBe(false);
  });
});

describe('what-if selection', () => {
  const c = (id: string, keys = 1, where?: string): Candidate => ({ id, table, keys: Array.from({ length: keys }, (_, i) => ({ term: col(`k${i}`), order: 'asc' as const })), ...(where ? { where } : {}), statements: [1, 2] });
  /** Costs from a table: a statement's cost is the lowest any present index gives it. */
  const planner = (base: Record<number, number>, with_: Record<string, Record<number, number>>): CostSource => ({
    async costs(indexes, statements) {
      return new Map(statements.map((id) => [id, Math.min(base[id]!, ...indexes.map((ix) => with_[ix.id]?.[id] ?? Infinity))]));
    },
  });
  const stmts = [{ id: 1, calls: 10, tables: ['public.orders'] }, { id: 2, calls: 10, tables: ['public.orders'] }];

  it('prefers one index that serves two statements to one per statement', async () => {
    const p = planner({ 1: 100, 2: 100 }, { both: { 1: 10, 2: 10 }, one: { 1: 8 }, two: { 2: 8 } });
    const s = await selectIndexes(p, stmts, [c('one'), c('two'), c('both')], { minImprovement: 0.5 });
    expect(s.chosen.map((x) => x.candidate.id)).toEqual(['both']);
  });

  it('keeps nothing that saves less than --min-improvement of some statement, and reports its best share', async () => {
    const p = planner({ 1: 100, 2: 100 }, { weak: { 1: 60, 2: 70 } });
    const s = await selectIndexes(p, stmts, [c('weak')], { minImprovement: 0.5 });
    expect(s.chosen).toEqual([]);
    expect(s.rejected.get('weak')).toBeCloseTo(0.4);
  });

  it('adds a second index only for what the first left', async () => {
    const p = planner({ 1: 100, 2: 100 }, { a: { 1: 10 }, b: { 2: 10 }, a2: { 1: 9 } });
    const s = await selectIndexes(p, stmts, [c('a'), c('b'), c('a2', 2)], { minImprovement: 0.5 });
    expect(s.chosen.map((x) => x.candidate.id).sort()).toEqual(['a', 'b']);
    expect(s.final.get(1)).toBe(10);
  });

  it('lets an INCLUDE variant that still pays on top of its plain index replace it, and keeps the plain one when it does not', async () => {
    const covering = { ...c('covering'), include: ['total'] };
    // Near-equal savings of the whole cost: the plain index wins the tie, then its variant cuts what is left by 90%.
    const pays = planner({ 1: 1000, 2: 1000 }, { plain: { 1: 50 }, covering: { 1: 5 } });
    const s = await selectIndexes(pays, stmts, [c('plain'), covering], { minImprovement: 0.5 });
    expect(s.chosen.map((x) => [x.candidate.id, x.serves])).toEqual([['covering', [{ statement: 1, before: 1000, after: 5 }]]]);
    expect(s.final.get(1)).toBe(5);
    const little = planner({ 1: 1000, 2: 1000 }, { plain: { 1: 50 }, covering: { 1: 40 } });
    expect((await selectIndexes(little, stmts, [c('plain'), covering], { minImprovement: 0.5 })).chosen.map((x) => x.candidate.id)).toEqual(['plain']);
  });

  it('breaks near ties towards the smaller index: partial, then fewer keys', () => {
    const best = pickBest([{ candidate: c('wide', 2), saving: 100 }, { candidate: c('partial', 1, "status = 'open'"), saving: 99 }, { candidate: c('narrow', 1), saving: 99.5 }]);
    expect(best?.candidate.id).toBe('partial');
    expect(pickBest([{ candidate: c('wide', 2), saving: 100 }, { candidate: c('narrow', 1), saving: 50 }])?.candidate.id).toBe('wide');
  });
});

describe('index text', () => {
  it('quotes identifiers, keeps expressions and directions, and names within 63 bytes uniquely', () => {
    const cand: Candidate = { id: 'x', table, keys: [{ term: col('Customer'), order: 'asc' }, { term: { kind: 'expression', expression: 'lower(email)' }, order: 'desc' }], where: "status = 'open'", statements: [1] };
    expect(createIndexText(cand)).toBe(`CREATE INDEX ON "public"."orders" ("Customer", (lower(email)) DESC) WHERE status = 'open'`);
    const taken = new Set(['idx_orders_customer_lower_email_partial']);
    expect(indexName(cand, taken)).toBe('idx_orders_customer_lower_email_partial_2');
    const long: Candidate = { ...cand, keys: [{ term: col('x'.repeat(80)), order: 'asc' }] };
    expect(Buffer.byteLength(indexName(long, new Set()))).toBeLessThanOrEqual(63);
  });
});
