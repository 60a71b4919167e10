import { describe, expect, it } from 'vitest';
import { redactLiterals } from '../../src/sql/redact-literals.js';

describe('redactLiterals', () => {
  it.each([
    ['a string', "SELECT * FROM users WHERE email = 'alice@example.com'", 'SELECT * FROM users WHERE email = $1'],
    ['a doubled quote inside a string', "SELECT 'it''s secret', 1", 'SELECT $1, $2'],
    ['numbers: integer, decimal, exponent, leading dot', 'SELECT 42, 4.25, 1e-3, .5', 'SELECT $1, $2, $3, $4'],
    ['PostgreSQL 16 number forms', 'SELECT 0x1F, 0o17, 0b101, 1_000', 'SELECT $1, $2, $3, $4'],
    ['a negative number keeps its minus sign outside', 'SELECT -5', 'SELECT -$1'],
    ['numbering continues after the parameters already there', "SELECT $1, 'x', $3, 7", 'SELECT $1, $4, $3, $5'],
    ['E-strings with backslash escapes', "SELECT E'a\\'b', 'c'", 'SELECT $1, $2'],
    ['backslash is ordinary in a standard string', "SELECT 'a\\', 'b'", 'SELECT $1, $2'],
    ['bit, hex, national and Unicode strings', "SELECT B'101', X'ff', N'x', U&'d\\0061t'", 'SELECT $1, $2, $3, $4'],
    ['dollar-quoted strings, with and without a tag', "SELECT $$a 'b'$$, $fn$ x $$ y $fn$", 'SELECT $1, $2'],
    ['a typed literal keeps its type name', "SELECT interval '1 day', date '2024-01-01'", 'SELECT interval $1, date $2'],
    ['digits inside identifiers stay', 'SELECT t1.c2 FROM t1', 'SELECT t1.c2 FROM t1'],
    ['identifiers ending in a letter that prefixes strings are not strings', "SELECT name FROM e WHERE tablex = 'v'", 'SELECT name FROM e WHERE tablex = $1'],
    ['quoted identifiers stay, even with quotes and digits in them', `SELECT "Col ""1""" FROM "t'2"`, `SELECT "Col ""1""" FROM "t'2"`],
    ['line comments stay, and hide what looks like a string', "SELECT 1 -- it's\nFROM t", "SELECT $1 -- it's\nFROM t"],
    ['block comments nest and stay', "SELECT /* a /* 'b' */ 'c' */ 'd'", "SELECT /* a /* 'b' */ 'c' */ $1"],
    ['a string cut off by track_activity_query_size goes to the end', "UPDATE users SET token = 'sk_live_abc", 'UPDATE users SET token = $1'],
    ['an E-string cut after a backslash', "SELECT E'secret\\", 'SELECT $1'],
    ['a dollar-quoted body cut off', 'DO $body$ BEGIN PERFORM 1', 'DO $1'],
    ['a cut-off comment stays a comment', "SELECT 1 /* note 'x", "SELECT $1 /* note 'x"],
    ['non-ASCII identifiers and strings', "SELECT café FROM t WHERE x = 'ünïcode'", 'SELECT café FROM t WHERE x = $1'],
    ['text that is not SQL at all keeps its words', '<insufficient privilege>', '<insufficient privilege>'],
    ['an empty text', '', ''],
  ])('%s', (_label, input, expected) => {
    expect(redactLiterals(input)).toBe(expected);
  });
});
