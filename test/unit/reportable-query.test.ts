import { describe, expect, it } from 'vitest';
import { reportableQuery } from '../../src/sql/reportable-query.js';

describe('reportableQuery', () => {
  it.each([
    ['a whole statement, by the parser', "SELECT * FROM users WHERE email = 'alice@example.com' AND id = 42", 'SELECT * FROM users WHERE email = $1 AND id = $2'],
    ['a password in a utility statement', "ALTER ROLE app PASSWORD 'hunter2'", 'ALTER ROLE app PASSWORD $1'],
    ['a text cut inside a string, lexically', "UPDATE users SET token = 'sk_live_abc", 'UPDATE users SET token = $1'],
    ['an escape sequence in a comment', "SELECT 1 /* \u001b]0;pwned\u0007 */", 'SELECT $1 /*  */'],
    ['an escape sequence in a quoted identifier of a cut-off text', 'SELECT "\u001b[2Jx" FROM t WHERE a = \'secr', 'SELECT "x" FROM t WHERE a = $1'],
    ['what pg_stat_activity shows for other roles', '<insufficient privilege>', '<insufficient privilege>'],
  ])('%s', async (_label, input, expected) => {
    expect(await reportableQuery(input)).toBe(expected);
  });
});
