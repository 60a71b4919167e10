import { describe, expect, it } from 'vitest';
import { comparableFromCatalog, matchesFromCatalog } from '../../src/indexing/structural.js';
import type { IndexDeclaration, IndexKey } from '../../src/model/declaration.js';
import type { LiveIndex } from '../../src/indexing/live-catalog.js';
import { declaration, keyColumn, liveIndex } from './support/fixtures.js';

/** customer_id as the catalog reports a plain key column: its table column and that column's collation. */
const column = (overrides: Parameters<typeof keyColumn>[0] = {}) => keyColumn({ columnName: 'customer_id', columnCollation: null, ...overrides });
const key = (overrides: Partial<IndexKey> = {}): IndexKey => ({ kind: 'column', column: 'customer_id', ...overrides }) as IndexKey;
const text = (overrides: Parameters<typeof keyColumn>[0] = {}) =>
  keyColumn({ definition: 'email', columnName: 'email', opclass: 'text_ops', collation: 'default', columnCollation: 'default', ...overrides });
const email = (overrides: Partial<IndexKey> = {}): IndexKey => ({ kind: 'column', column: 'email', ...overrides }) as IndexKey;

interface Case {
  what: string;
  index?: Partial<IndexDeclaration>;
  live?: Partial<LiveIndex>;
  pgCatalogFirst?: boolean;
  matches: boolean;
}

describe('matchesFromCatalog: the catalog alone proves a match, or the shadow build decides', () => {
  it.each<Case>([
    { what: 'plain column, same', matches: true },
    { what: 'method differs', live: { method: 'hash' }, matches: false },
    { what: 'unique differs', live: { unique: true }, matches: false },
    { what: 'nulls not distinct differs', index: { unique: true, nullsNotDistinct: true }, live: { unique: true }, matches: false },
    { what: 'direction differs', index: { keys: [key({ order: 'desc' })] }, matches: false },
    { what: 'desc, nulls first by default', index: { keys: [key({ order: 'desc' })] }, live: { keyColumns: [column({ desc: true, nullsFirst: true })] }, matches: true },
    { what: 'nulls order differs', index: { keys: [key({ nulls: 'first' })] }, matches: false },
    { what: 'another column', index: { keys: [key({ column: 'total' })] }, matches: false },
    { what: 'a key column more', index: { keys: [key(), key({ column: 'total' })] }, matches: false },
    { what: 'live has a non-default opclass', live: { keyColumns: [column({ opclass: 'int4_minmax_ops', opclassDefault: false })] }, matches: false },
    // opcdefault alone would call oid_ops default (for oid): the catalog reports the column type's (int4) default only.
    { what: 'live has a binary-coercible opclass, the default of another type', live: { keyColumns: [column({ opclass: 'oid_ops', opclassDefault: false })] }, matches: false },
    { what: 'live has the binary-coercible default of its type (text_ops on varchar)', index: { keys: [email()] }, live: { keyColumns: [text({ opclassDefault: true })] }, matches: true },
    { what: 'live has a collation other than the column\'s', index: { keys: [email()] }, live: { keyColumns: [text({ collation: 'C' })] }, matches: false },
    { what: 'INCLUDE same', index: { include: ['total'] }, live: { includeColumns: [{ definition: 'total', isExpression: false, columnName: 'total' }] }, matches: true },
    { what: 'INCLUDE differs', index: { include: ['total'] }, matches: false },
    { what: 'storage as kept', index: { storage: { fillfactor: '70' } }, live: { storage: ['fillfactor=70'] }, matches: true },
    { what: 'storage value differs', index: { storage: { fillfactor: '90' } }, live: { storage: ['fillfactor=70'] }, matches: false },
    { what: 'storage declared, none live', index: { storage: { fillfactor: '90' } }, matches: false },
    { what: 'tablespace differs', index: { tablespace: 'fast' }, matches: false },
    { what: 'tablespace same', index: { tablespace: 'pg_default' }, matches: true },
    { what: 'opclass named, pg_catalog first', index: { keys: [email({ opclass: { schema: '', name: 'text_pattern_ops' } })] }, live: { keyColumns: [text({ opclass: 'text_pattern_ops', opclassDefault: false })] }, matches: true },
    { what: 'opclass named, path puts pg_catalog later', pgCatalogFirst: false, index: { keys: [email({ opclass: { schema: '', name: 'text_pattern_ops' } })] }, live: { keyColumns: [text({ opclass: 'text_pattern_ops', opclassDefault: false })] }, matches: false },
    { what: 'opclass qualified, any path', pgCatalogFirst: false, index: { keys: [email({ opclass: { schema: 'ext', name: 'my_ops' } })] }, live: { keyColumns: [text({ opclass: 'ext.my_ops', opclassDefault: false })] }, matches: true },
    { what: 'opclass named, another live', index: { keys: [email({ opclass: { schema: '', name: 'text_pattern_ops' } })] }, live: { keyColumns: [text()] }, matches: false },
    { what: 'opclass unqualified, live in another schema', index: { keys: [email({ opclass: { schema: '', name: 'my_ops' } })] }, live: { keyColumns: [text({ opclass: 'ext.my_ops', opclassDefault: false })] }, matches: false },
    { what: 'collation named, same', index: { keys: [email({ collate: 'C' })] }, live: { keyColumns: [text({ collation: 'C' })] }, matches: true },
    { what: 'collation named, path puts pg_catalog later', pgCatalogFirst: false, index: { keys: [email({ collate: 'C' })] }, live: { keyColumns: [text({ collation: 'C' })] }, matches: false },
    { what: 'collation named, another live', index: { keys: [email({ collate: 'C' })] }, live: { keyColumns: [text()] }, matches: false },
    { what: 'expression', index: { keys: [{ kind: 'expression', expression: 'lower(email)' }] }, live: { keyColumns: [text({ definition: 'lower(email)', isExpression: true, columnName: undefined })] }, matches: false },
    { what: 'predicate', index: { where: 'total > 0' }, live: { predicate: 'total > 0' }, matches: false },
    { what: 'a partitioned index', live: { relkind: 'I' }, matches: false },
  ])('$what', ({ index, live, pgCatalogFirst, matches }) => {
    const liveIdx = liveIndex({ keyColumns: [column()], ...live });
    expect(matchesFromCatalog(declaration(index), liveIdx, { pgCatalogFirst: pgCatalogFirst ?? true })).toBe(matches);
  });
});

describe('comparableFromCatalog: differences named exactly without a shadow build', () => {
  it.each<[string, Partial<IndexDeclaration>, boolean]>([
    ['plain columns, order, INCLUDE', { keys: [key({ order: 'desc' })], include: ['total'] }, true],
    ['a named opclass', { keys: [key({ opclass: { schema: '', name: 'int4_ops' } })] }, false],
    ['a named collation', { keys: [email({ collate: 'C' })] }, false],
    ['storage', { storage: { fillfactor: '90' } }, false],
    ['a predicate', { where: 'total > 0' }, false],
    ['an expression', { keys: [{ kind: 'expression', expression: 'lower(email)' }] }, false],
  ])('%s', (_what, index, comparable) => {
    expect(comparableFromCatalog(declaration(index))).toBe(comparable);
  });
});
