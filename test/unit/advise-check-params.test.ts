import { describe, expect, it } from 'vitest';
import type { ParamUse } from '../../src/advise/access.js';
import { statsKey, type ColumnStats } from '../../src/advise/catalog.js';
import { paramValues, sampleKey, samplesNeeded } from '../../src/advise/check-params.js';

/** A check's parameters from the table's statistics: which value each kind of use gets. */

const orders = { schema: 'public', name: 'orders' };
const col = (column: string) => ({ kind: 'column' as const, column });
const histogram = Array.from({ length: 101 }, (_, i) => String(i * 10));
const stats = new Map<string, ColumnStats>([
  [statsKey(orders, 'customer_id'), { mcv: ['7', '8'], histogram }],
  [statsKey(orders, 'status'), { mcv: ['closed', 'open', 'held'], histogram: null }],
  [statsKey(orders, 'empty'), { mcv: null, histogram: null }],
]);
const use = (param: number, u: ParamUse['use'], column?: string, extra: Partial<ParamUse> = {}): ParamUse => ({ param, use: u, ...(column ? { table: orders, term: col(column) } : {}), ...extra });

describe('check parameters from pg_stats', () => {
  it.each([
    ['equality: the histogram median', [use(1, 'equality', 'customer_id')], ['500']],
    ['no histogram: the least common of the most common values', [use(1, 'equality', 'status')], ['held']],
    ['a range above the value: the highest 1%', [use(1, 'range', 'customer_id', { bound: 'lower' })], ['990']],
    ['a range below the value: the lowest 1%', [use(1, 'range', 'customer_id', { bound: 'upper' })], ['10']],
    ['= ANY($1): a one-element array', [use(1, 'equality', 'status', { array: true })], ['{"held"}']],
    ['LIMIT and OFFSET', [use(1, 'limit'), use(2, 'offset')], [20, 0]],
    ['a parameter used twice takes its first usable value', [use(1, 'equality', 'empty'), use(1, 'equality', 'customer_id')], ['500']],
  ])('%s', (_name, params, values) => {
    const picked = paramValues(params, values.length, { stats, samples: new Map() });
    expect('values' in picked && picked.values).toEqual(values);
  });

  it('takes an expression’s value, and a column’s without statistics, from a value read from the table', () => {
    const lower = { kind: 'expression' as const, expression: 'lower(email)' };
    const params: ParamUse[] = [{ param: 1, use: 'equality', table: orders, term: lower }, use(2, 'equality', 'empty'), use(3, 'equality', 'customer_id')];
    expect(samplesNeeded(params, stats)).toEqual([{ table: orders, term: lower }, { table: orders, term: col('empty') }]);
    const samples = new Map([[sampleKey(orders, lower), 'a@example.com']]);
    const picked = paramValues(params.slice(0, 1), 1, { stats, samples });
    expect(picked).toEqual({ values: ['a@example.com'], sources: ['$1: orders.lower(email): a value read from the table (no statistics on it)'] });
    expect(paramValues(params, 3, { stats, samples })).toEqual({ missing: 'no statistics or value for $2 (orders.empty)' });
  });

  it('says so when a parameter is not compared with a column', () => {
    expect(paramValues([use(1, 'equality', 'customer_id')], 2, { stats, samples: new Map() })).toEqual({ missing: '$2 is not compared with a table\'s column, so no value can be taken from statistics' });
  });
});
