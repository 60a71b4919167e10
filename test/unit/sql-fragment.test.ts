import { describe, expect, it } from 'vitest';
import { checkSqlFragment } from '../../src/db/sql-fragment.js';

describe('checkSqlFragment', () => {
  describe('accepts real predicates and expressions', () => {
    it.each([
      ["status <> 'closed'"],
      ['lower(handle)'],
      ["a = 'it''s'"],
      ["x ~ E'\\\\d+'"],
      ["x ~ e'\\d+'"],
      ["x = E'it\\'s; -- not a comment'"],
      ['(a + b) * c'],
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
      ['x = $1'],
      ['price$ > 0'],
      ["payload @> '{\"kind\": 1}'"],
    ])('%s', (sql) => {
      expect(checkSqlFragment(sql)).toEqual({ ok: true });
    });
  });

  describe('rejects what could break out of its parentheses', () => {
    it.each([
      ['true); DROP TABLE x; --', 'semicolon after closing early'],
      ['1) WHERE (true', 'closes the wrapper and opens another'],
      ['a -- comment', 'line comment'],
      ['a /* c */', 'block comment'],
      ['a; b', 'two statements'],
      ['(a', 'unbalanced ('],
      ['a)', 'unbalanced )'],
      [')(', 'closes before opening'],
      ["status = 'open", 'unterminated string'],
      ["status = 'it''s", 'unterminated string ending in a doubled quote'],
      ["x = E'abc\\'", 'E-string whose last quote is escaped'],
      ['"name', 'unterminated quoted identifier'],
      ['x = $$abc', 'unterminated dollar quote'],
      ['x = $a$abc$b$', 'dollar quote closed by another tag'],
      ['a \\g', 'psql meta-command'],
      ['a \\; b', 'backslash outside a string'],
      ['', 'empty'],
      ['   ', 'blank'],
    ])('%s (%s)', (sql) => {
      const result = checkSqlFragment(sql);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).not.toBe('');
    });
  });

  it("reads a quote after an identifier ending in e as a standard string, so a ; after '\\' is outside it", () => {
    expect(checkSqlFragment("somee'\\' ; '").ok).toBe(false);
  });

  it("treats e'...' after a non-identifier character as an E-string, where \\' does not end it", () => {
    expect(checkSqlFragment("x = e'\\' ; '").ok).toBe(true);
  });

  // PostgreSQL's lexer counts every non-ASCII byte as an identifier character
  // (scan.l: ident_start/ident_cont include \200-\377), so `€$$` is one
  // identifier (checked on PostgreSQL 18: `WHERE (€$$ IS NULL) OR (true) -- $$)`
  // builds an index with predicate `(("€$$" IS NULL) OR true)`). The checker only
  // counts \p{L}\p{N} as identifier characters, so it takes `$$` for the start of
  // a dollar quote and the `)` and `--` that follow for string content.
  it('rejects a breakout after an identifier ending in a non-letter non-ASCII character before $$ (regression)', () => {
    expect(checkSqlFragment('€$$ IS NULL) OR (true) -- $$').ok).toBe(false);
  });

  // Same cause: `€e` is one identifier to PostgreSQL, so `'\'` is a standard
  // string and the `;` after it ends the statement; the checker reads an E-string.
  it("rejects a ; after €e'\\' (regression: the checker read an E-string where PostgreSQL reads an identifier and a standard string)", () => {
    expect(checkSqlFragment("€e'\\' ; '").ok).toBe(false);
  });
});
