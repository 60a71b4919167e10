import { describe, expect, it } from 'vitest';
import {
  displayIdent,
  displayQualified,
  parseIdentifier,
  parseQualifiedName,
  quoteIdent,
  quoteLiteral,
  quoteQualified,
} from '../../src/sql/identifiers.js';

const name63 = 'a'.repeat(63);
const name64 = 'a'.repeat(64);
// 21 three-byte characters: 21 characters, 63 bytes; 22 of them: 66 bytes.
const multibyte63 = '€'.repeat(21);
const multibyte66 = '€'.repeat(22);

describe('parseIdentifier', () => {
  it.each([
    ['orders', 'orders'],
    ['Orders', 'orders'],
    ['ORDER_ITEMS', 'order_items'],
    ['  padded  ', 'padded'],
    ['_x1$', '_x1$'],
    ['Ärger', 'Ärger'], // only ASCII letters fold, as in PostgreSQL
    ['"Order Items"', 'Order Items'],
    ['"a.b"', 'a.b'],
    ['"say ""hi"""', 'say "hi"'],
    ['"x; DROP TABLE y; --"', 'x; DROP TABLE y; --'],
    [name63, name63],
    [`"${multibyte63}"`, multibyte63],
  ])('%s → %s', (text, expected) => {
    expect(parseIdentifier(text)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 'empty'],
    ['   ', 'blank'],
    ['a.b', 'qualified'],
    ['"a"."b"', 'qualified, quoted'],
    ['1abc', 'starts with a digit'],
    ['my table', 'space in an unquoted name'],
    ['x;drop', 'semicolon in an unquoted name'],
    ['"unterminated', 'unterminated quote'],
    ['""', 'empty quoted name'],
    ['"a"b', 'text after a quoted name'],
    ['a.', 'ends with a dot'],
    [name64, 'longer than 63 bytes'],
    [`"${multibyte66}"`, 'longer than 63 bytes though only 22 characters'],
  ])('rejects %s (%s)', (text) => {
    expect(parseIdentifier(text).ok).toBe(false);
  });
});

describe('parseQualifiedName', () => {
  it.each([
    ['orders', undefined, { schema: 'public', name: 'orders' }],
    ['orders', 'app', { schema: 'app', name: 'orders' }],
    ['Sales.Orders', undefined, { schema: 'sales', name: 'orders' }],
    ['"Sales"."Orders"', undefined, { schema: 'Sales', name: 'Orders' }],
    ['"my.schema".t', undefined, { schema: 'my.schema', name: 't' }],
    ['"a.b"', undefined, { schema: 'public', name: 'a.b' }],
    ['s."x"";y"', undefined, { schema: 's', name: 'x";y' }],
  ])('%s (default schema %s)', (text, defaultSchema, expected) => {
    expect(parseQualifiedName(text, defaultSchema)).toEqual({ ok: true, value: expected });
  });

  it.each([['a.b.c'], ['"a"."b"."c"'], ['.a'], ['a..b'], ['a.'], [`s.${name64}`], [`${name64}.t`]])('rejects %s', (text) => {
    expect(parseQualifiedName(text).ok).toBe(false);
  });
});

describe('quoting', () => {
  it.each([
    ['orders', '"orders"'],
    ['Order Items', '"Order Items"'],
    ['x"; DROP TABLE y; --', '"x""; DROP TABLE y; --"'],
    ['""', '""""""'],
  ])('quoteIdent(%s) = %s', (name, expected) => {
    expect(quoteIdent(name)).toBe(expected);
  });

  it('quoteIdent round-trips through parseIdentifier', () => {
    for (const name of ['a', 'Mixed Case', 'x"y', '"', 'a.b;c--d']) {
      expect(parseIdentifier(quoteIdent(name))).toEqual({ ok: true, value: name });
    }
  });

  it.each([
    ['plain', "'plain'"],
    ["it's", "'it''s'"],
    ['', "''"],
    ['a\\b', "E'a\\\\b'"],
    ["a\\'b", "E'a\\\\''b'"],
  ])('quoteLiteral(%s) = %s', (value, expected) => {
    expect(quoteLiteral(value)).toBe(expected);
  });

  it('quoteQualified quotes both parts', () => {
    expect(quoteQualified({ schema: 'Sales', name: 'a"b' })).toBe('"Sales"."a""b"');
  });
});

describe('displayQualified', () => {
  it.each([
    [{ schema: 'public', name: 'orders' }, 'public.orders'],
    [{ schema: 'public', name: 'Orders' }, 'public."Orders"'],
    [{ schema: 'my schema', name: 'idx_1$' }, '"my schema".idx_1$'],
    [{ schema: 'public', name: '1abc' }, 'public."1abc"'],
    [{ schema: 's', name: 'a"b' }, 's."a""b"'],
  ])('%o → %s', (q, expected) => {
    expect(displayQualified(q)).toBe(expected);
  });

  it('displayIdent leaves plain lower-case names bare', () => {
    expect(displayIdent('idx_orders')).toBe('idx_orders');
  });
});
