import { describe, expect, it } from 'vitest';
import { compareIndexes, describeKeyColumn, formatDifference, type Difference } from '../../src/indexing/compare.js';
import type { IndexDeclaration } from '../../src/model/declaration.js';
import type { LiveIndex, LiveIndexColumn } from '../../src/indexing/live-catalog.js';
import { declaration, keyColumn, liveIndex } from './support/fixtures.js';

const included = (definition: string): LiveIndexColumn => ({ definition, isExpression: false });

interface Case {
  what: string;
  /** The declaration as PostgreSQL normalised it (shadow build). */
  declared?: Partial<LiveIndex>;
  live?: Partial<LiveIndex>;
  index?: Partial<IndexDeclaration>;
  expected: Difference[];
}

describe('compareIndexes', () => {
  it.each<Case>([
    { what: 'identical', expected: [] },
    { what: 'method', declared: { method: 'hash' }, expected: [{ field: 'using', declared: 'hash', live: 'btree' }] },
    { what: 'unique', declared: { unique: true }, expected: [{ field: 'unique', declared: 'true', live: 'false' }] },
    {
      what: 'nulls not distinct',
      declared: { unique: true, nullsNotDistinct: true },
      live: { unique: true },
      expected: [{ field: 'nulls_not_distinct', declared: 'true', live: 'false' }],
    },
    {
      what: 'number of key columns',
      declared: { keyColumns: [keyColumn(), keyColumn({ definition: 'created_at', opclass: 'timestamptz_ops' })] },
      expected: [{ field: 'columns', declared: 'customer_id, created_at', live: 'customer_id' }],
    },
    {
      what: 'column order (which column comes first)',
      declared: { keyColumns: [keyColumn({ definition: 'a' }), keyColumn({ definition: 'b' })] },
      live: { keyColumns: [keyColumn({ definition: 'b' }), keyColumn({ definition: 'a' })] },
      expected: [
        { field: 'columns[0]', declared: 'a', live: 'b' },
        { field: 'columns[1]', declared: 'b', live: 'a' },
      ],
    },
    {
      what: 'sort order',
      declared: { keyColumns: [keyColumn({ desc: true, nullsFirst: true })] },
      live: { keyColumns: [keyColumn({ desc: false, nullsFirst: true })] },
      expected: [{ field: 'columns[0].order', declared: 'desc', live: 'asc' }],
    },
    {
      what: 'order flipped, nulls where each order puts them by default: one difference',
      declared: { keyColumns: [keyColumn({ desc: true, nullsFirst: true })] },
      live: { keyColumns: [keyColumn({ desc: false, nullsFirst: false })] },
      expected: [{ field: 'columns[0].order', declared: 'desc', live: 'asc' }],
    },
    {
      what: 'order flipped, nulls last on both',
      declared: { keyColumns: [keyColumn({ desc: true, nullsFirst: false })] },
      live: { keyColumns: [keyColumn({ desc: false, nullsFirst: false })] },
      expected: [{ field: 'columns[0].order', declared: 'desc', live: 'asc' }],
    },
    {
      what: 'order flipped and nulls moved against the default',
      declared: { keyColumns: [keyColumn({ desc: true, nullsFirst: false })] },
      live: { keyColumns: [keyColumn({ desc: false, nullsFirst: true })] },
      expected: [
        { field: 'columns[0].order', declared: 'desc', live: 'asc' },
        { field: 'columns[0].nulls', declared: 'last', live: 'first' },
      ],
    },
    {
      what: 'nulls position, same order',
      declared: { keyColumns: [keyColumn({ desc: true, nullsFirst: false })] },
      live: { keyColumns: [keyColumn({ desc: true, nullsFirst: true })] },
      expected: [{ field: 'columns[0].nulls', declared: 'last', live: 'first' }],
    },
    {
      what: 'nulls position',
      declared: { keyColumns: [keyColumn({ nullsFirst: true })] },
      expected: [{ field: 'columns[0].nulls', declared: 'first', live: 'last' }],
    },
    {
      what: 'operator class',
      declared: { keyColumns: [keyColumn({ definition: 'email', opclass: 'text_pattern_ops', opclassDefault: false })] },
      live: { keyColumns: [keyColumn({ definition: 'email', opclass: 'text_ops' })] },
      expected: [{ field: 'columns[0].opclass', declared: 'text_pattern_ops', live: 'text_ops' }],
    },
    {
      what: 'collation',
      declared: { keyColumns: [keyColumn({ definition: 'email', collation: 'C' })] },
      live: { keyColumns: [keyColumn({ definition: 'email', collation: 'default' })] },
      expected: [{ field: 'columns[0].collate', declared: 'C', live: 'default' }],
    },
    {
      what: 'an expression key deparsed differently',
      declared: { keyColumns: [keyColumn({ definition: 'lower(handle)', isExpression: true })] },
      live: { keyColumns: [keyColumn({ definition: 'upper(handle)', isExpression: true })] },
      expected: [{ field: 'columns[0]', declared: 'lower(handle)', live: 'upper(handle)' }],
    },
    {
      what: 'include columns',
      declared: { includeColumns: [included('total')] },
      expected: [{ field: 'include', declared: 'total', live: '(none)' }],
    },
    {
      what: 'include columns in another order',
      declared: { includeColumns: [included('a'), included('b')] },
      live: { includeColumns: [included('b'), included('a')] },
      expected: [{ field: 'include', declared: 'a, b', live: 'b, a' }],
    },
    {
      what: 'predicate',
      declared: { predicate: "(status <> 'closed'::text)" },
      expected: [{ field: 'where', declared: "(status <> 'closed'::text)", live: '(none)' }],
    },
    {
      what: 'storage parameters',
      declared: { storage: ['fillfactor=90'] },
      live: { storage: ['fillfactor=70'] },
      expected: [{ field: 'with', declared: 'fillfactor=90', live: 'fillfactor=70' }],
    },
    {
      what: 'tablespace, not declared: ignored',
      declared: { tablespace: 'pg_default' },
      live: { tablespace: 'fast' },
      expected: [],
    },
    {
      what: 'tablespace, declared and different',
      index: { tablespace: 'fast' },
      live: { tablespace: 'pg_default' },
      expected: [{ field: 'tablespace', declared: 'fast', live: 'pg_default' }],
    },
    {
      what: 'tablespace, declared and the same',
      index: { tablespace: 'fast' },
      live: { tablespace: 'fast' },
      expected: [],
    },
    {
      what: 'several fields at once, in a stable order',
      declared: { method: 'hash', predicate: 'x', storage: ['fillfactor=90'] },
      expected: [
        { field: 'using', declared: 'hash', live: 'btree' },
        { field: 'where', declared: 'x', live: '(none)' },
        { field: 'with', declared: 'fillfactor=90', live: '(none)' },
      ],
    },
  ])('$what', ({ declared, live, index, expected }) => {
    expect(compareIndexes(declaration(index), liveIndex(declared), liveIndex(live))).toEqual(expected);
  });
});

describe('describeKeyColumn', () => {
  it.each<[Partial<LiveIndexColumn>, string]>([
    [{}, 'customer_id'],
    [{ desc: true, nullsFirst: true }, 'customer_id DESC'],
    [{ desc: true, nullsFirst: false }, 'customer_id DESC NULLS LAST'],
    [{ nullsFirst: true }, 'customer_id NULLS FIRST'],
    [{ definition: 'lower(handle)', isExpression: true }, '(lower(handle))'],
    [{ definition: 'email', collation: 'C', opclass: 'text_pattern_ops', opclassDefault: false }, 'email COLLATE C text_pattern_ops'],
    [{ collation: 'default' }, 'customer_id'],
  ])('%o → %s', (column, expected) => {
    expect(describeKeyColumn(keyColumn(column))).toBe(expected);
  });
});

it('formatDifference', () => {
  expect(formatDifference({ field: 'using', declared: 'hash', live: 'btree' })).toBe('using: declared hash, live btree');
});
