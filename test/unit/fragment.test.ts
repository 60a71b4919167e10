import { describe, expect, it } from 'vitest';
import { loadPgParser } from '../../src/sql/pg-parser.js';
import { validateFragment, type FragmentKind } from '../../src/sql/fragment.js';

const parser = await loadPgParser();
const check = (sql: string, kind: FragmentKind = 'where') => validateFragment(parser, kind, sql);

describe('validateFragment', () => {
  describe('accepts real predicates and expressions', () => {
    it.each([
      ["status <> 'closed'"],
      ['lower(handle)'],
      ["a = 'it''s'"],
      ["x ~ E'\\\\d+'"],
      ["x ~ e'\\d+'"],
      ["x = E'it\\'s; -- not a comment'"],
      ['(a + b) * c > 0'],
      ['coalesce(a, 0) > 1 AND (b IS NULL OR (c))'],
      ['x = $$a; b) -- c /* d$$'],
      ['x = $tag$ ; ) $$ not the end $tag$'],
      ['"weird;name" IS NOT NULL'],
      ['"a--b" = 1'],
      ['"has ""quotes"" ) ;" = 1'],
      ["note = '-- not a comment /* either */'"],
      ["path = '\\'"],
      ['a - -1 > 0'],
      ['a / 2 * 3 > 0'],
      ['price$ > 0'],
      ["payload @> '{\"kind\": 1}'"],
      ["name = U&'d\\0061t\\+000061'"],
      ["name = U&'d!0061t' UESCAPE '!'"],
      ["note = 'a'\n'b'"],
      ["x = U&'\\0029' UESCAPE '\\'"],
    ])('%s', (sql) => {
      expect(check(sql)).toEqual({ ok: true, sql });
    });

    it('returns the fragment as its tokens span it, without surrounding blanks', () => {
      expect(check("  status <> 'closed'\n")).toEqual({ ok: true, sql: "status <> 'closed'" });
    });

    it('accepts an index key expression', () => {
      expect(check('lower(handle)', 'expression')).toEqual({ ok: true, sql: 'lower(handle)' });
      expect(check("(payload->>'kind')", 'expression').ok).toBe(true);
    });
  });

  describe('refuses what could break out of its parentheses or run more than one expression', () => {
    it.each([
      // The payloads a review used against the lexical guard: a continuation line keeps E-string rules.
      ["E'a'\n'\\' ' = 'a'); COPY (SELECT 1) TO PROGRAM 'id > out.txt'; --'", 'continuation of an E-string, then a second statement'],
      ["E'a'\n'\\' ' = 'a') --'", 'continuation of an E-string, then a comment eating the closing parenthesis'],
      ["E'a'  \n  '\\'' = 'a') OR (true", 'continuation with blanks around the newline'],
      ['true); DROP TABLE x; --', 'semicolon after closing early'],
      ['1) WHERE (true', 'closes the wrapper and opens another'],
      ['a -- comment', 'line comment'],
      ['a /* c */', 'block comment'],
      ['a /* /* nested */ still comment */', 'nested block comment'],
      ['a /* /* */ ) ; */', 'nested comment hiding a parenthesis'],
      ['a; b', 'two statements'],
      ["x = 'a;b'; SELECT 1", 'semicolon after a string containing one'],
      ['(a', 'unbalanced ('],
      ['a)', 'unbalanced )'],
      [')(', 'closes before opening'],
      ["status = 'open", 'unterminated string'],
      ["status = 'it''s", 'unterminated string ending in a doubled quote'],
      ["x = E'abc\\'", 'E-string whose last quote is escaped'],
      ['"name', 'unterminated quoted identifier'],
      ['x = $$abc', 'unterminated dollar quote'],
      ['x = $a$abc$b$', 'dollar quote closed by another tag'],
      ['x = $a$ ) ; $A$', 'dollar quote tags are case-sensitive'],
      ["x = U&'a' UESCAPE ''''", 'invalid UESCAPE'],
      ['a \\g', 'psql meta-command'],
      ['a \\; b', 'backslash outside a string'],
      ['x = $1', 'parameter'],
      ['', 'empty'],
      ['   ', 'blank'],
      ['a = ', 'incomplete expression'],
      ['SELECT 1 ; SELECT 2', 'statements'],
    ])('%s (%s)', (sql) => {
      const result = check(sql);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).not.toBe('');
    });

    it('refuses two index keys where one expression is expected', () => {
      expect(check('a), (b', 'expression').ok).toBe(false);
      expect(check('a, b', 'expression').ok).toBe(false);
    });
  });

  it("reads a quote after an identifier ending in e as a standard string, so a ; after '\\' is outside it", () => {
    expect(check("somee'\\' ; '").ok).toBe(false);
  });

  it('points at the problem inside the fragment', () => {
    expect(check("status = 'a' -- x")).toMatchObject({ ok: false, offset: 13 });
    expect(check('a = = b')).toMatchObject({ ok: false, offset: 4 });
  });
});
