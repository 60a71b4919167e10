import { describe, expect, it } from 'vitest';
import { parseColumnSpec, type ColumnSpec } from '../../src/config/column-spec.js';

describe('parseColumnSpec', () => {
  it.each<[string, ColumnSpec]>([
    ['created_at', { column: 'created_at' }],
    ['Created_At', { column: 'created_at' }],
    ['created_at desc', { column: 'created_at', order: 'desc' }],
    ['created_at asc', { column: 'created_at', order: 'asc' }],
    ['a nulls first', { column: 'a', nulls: 'first' }],
    ['a DESC NULLS LAST', { column: 'a', order: 'desc', nulls: 'last' }],
    ['  a   Asc   Nulls   First  ', { column: 'a', order: 'asc', nulls: 'first' }],
    ['"Created At" desc', { column: 'Created At', order: 'desc' }],
    ['"say ""x"" now" nulls last', { column: 'say "x" now', nulls: 'last' }],
  ])('%s', (text, expected) => {
    expect(parseColumnSpec(text)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['a dsc', 'dsc'],
    ['a desc nulls', 'nulls'],
    ['a desc nulls middle', 'middle'],
    ['a desc extra', 'extra'],
    ['a desc nulls last extra', 'extra'],
    ['a nulls', 'nulls'],
  ])('rejects %s, naming the word that is wrong', (text, word) => {
    const result = parseColumnSpec(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(word);
  });

  it.each([[''], ['   '], ['"unterminated desc']])('rejects %j', (text) => {
    expect(parseColumnSpec(text).ok).toBe(false);
  });

  it('suggests the expression form for lower(handle)', () => {
    const result = parseColumnSpec('lower(handle)');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain('{ expression: "lower(handle)" }');
  });
});
