import { describe, expect, it } from 'vitest';
import { indexColumns, isColumnDefault, type RawKeyDictionaries } from '../../src/indexing/catalog-columns.js';

// OIDs as in pg_catalog: int4 23, oid 26, text 25, varchar 1043; btree 403.
const INT4 = 23;
const OID = 26;
const TEXT = 25;
const VARCHAR = 1043;
const BTREE = 403;

describe('isColumnDefault (GetDefaultOpClass by the column base type)', () => {
  it.each([
    ['the default opclass of the exact type', true, INT4, INT4, true, true],
    ['a default opclass of another type the column converts to, when its own type has one', true, OID, INT4, true, false],
    ['a default opclass of another type, when the column type has none (text_ops for varchar)', true, TEXT, VARCHAR, false, true],
    ['a non-default opclass', false, TEXT, TEXT, true, false],
    ['an expression of unknown type: the opclass flag decides', true, TEXT, undefined, false, true],
  ] as const)('%s', (_name, opcDefault, inputType, baseType, typeHasDefault, expected) => {
    expect(isColumnDefault(opcDefault, inputType, baseType, typeHasDefault)).toBe(expected);
  });
});

describe('indexColumns', () => {
  const raw: RawKeyDictionaries = {
    // (a, lower(t) text_pattern_ops COLLATE "C") INCLUDE (dm), on table 100.
    keys: { '200': [100, [1, 0, 3], [1978, 10017], [0, 950], [1, 0], [[2, 'lower(t)', TEXT]]] },
    table_columns: { '100': { '1': ['a', 'a', INT4, 0], '2': ['t', 't', TEXT, 100], '3': ['"Dm"', 'Dm', 5000, 0] } },
    opclasses: { '1978': ['int4_ops', 'pg_catalog', BTREE, INT4, true, 0], '10017': ['text_pattern_ops', 'pg_catalog', BTREE, TEXT, false, 0] },
    default_opclasses: [[BTREE, INT4], [BTREE, TEXT], [BTREE, OID]],
    collations: { '950': 'C', '100': 'default' },
    domain_bases: { '5000': INT4 },
  };

  it('puts key and INCLUDE columns together in order, with opclasses, collations and options', () => {
    expect(indexColumns(raw).get('200')).toEqual([
      ['a', false, 1, 'int4_ops', 'pg_catalog', true, null, 'a', null],
      ['lower(t)', true, 0, 'text_pattern_ops', 'pg_catalog', false, 'C', null, null],
      ['"Dm"', false, null, null, null, null, null, 'Dm', null],
    ]);
  });

  it('reads a domain column by its base type', () => {
    const domainKey: RawKeyDictionaries = { ...raw, keys: { '201': [100, [3], [1978], [0], [0], null] } };
    expect(indexColumns(domainKey).get('201')?.[0]?.[5]).toBe(true);
  });
});
