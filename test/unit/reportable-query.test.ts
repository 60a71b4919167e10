import { describe, expect, it } from 'vitest';
import { reportableQuery } from '../../src/sql/reportable-query.js';

describe('reportableQuery', () => {
  it.each([
    ['a whole statement, by the parser', "SELECT * FROM users WHERE email = 'alice@example.com' AND id = 42", 'SELECT * FROM users WHERE email = $1 AND id = $2'],
    ['a password in a utility statement', "ALTER ROLE app PASSWORD 'hunter2'", 'ALTER ROLE app PASSWORD $1'],
    ['a text cut inside a string, lexically', "UPDATE users SET token = 'sk_live_abc", 'UPDATE users SET token = $1'],
    ['an escape sequence in a comment', "SELECT 1 /* \u001b]0;pwned\u0007 */", 'SELECT $1  '],
    ['an escape sequence in a quoted identifier of a cut-off text', 'SELECT "\u001b[2Jx" FROM t WHERE a = \'secr', 'SELECT "x" FROM t WHERE a = $1'],
    ['what pg_stat_activity shows for other roles', '<insufficient privilege>', '<insufficient privilege>'],
    // The parser's normaliser leaves these constants as written; the lexical pass after it does not.
    ['a server password', "CREATE SERVER s FOREIGN DATA WRAPPER w OPTIONS (password 'hunter2')", 'CREATE SERVER s FOREIGN DATA WRAPPER w OPTIONS (password $1)'],
    ['a role setting', "ALTER ROLE app SET search_path = 'secret'", 'ALTER ROLE app SET search_path = $1'],
    ['a comment text', "COMMENT ON TABLE t IS 'token sk_live_abc'", 'COMMENT ON TABLE t IS $1'],
    ['CREATE TABLE AS', "CREATE TABLE t2 AS SELECT 'secret'", 'CREATE TABLE t2 AS SELECT $1'],
    ['a comment that names someone', "SELECT a /* user=alice@example.com */ FROM t WHERE b = 'x'", 'SELECT a   FROM t WHERE b = $1'],
  ])('%s', async (_label, input, expected) => {
    expect(await reportableQuery(input)).toBe(expected);
  });
});
