import { describe, expect, it } from 'vitest';
import { loadPgParser, SqlSyntaxError } from '../../src/sql/pg-parser.js';

describe('loadPgParser', () => {
  it('parses statements into typed nodes', async () => {
    const parser = await loadPgParser();
    const statements = parser.parse('CREATE INDEX i ON t (c); SELECT 1');
    expect(statements.map((s) => s.type)).toEqual(['IndexStmt', 'SelectStmt']);
  });

  it('reports token offsets as string indices, also after multi-byte characters', async () => {
    const parser = await loadPgParser();
    const sql = "x = '€é' AND y";
    const tokens = parser.scan(sql);
    expect(tokens.map((t) => sql.slice(t.start, t.end))).toEqual(['x', '=', "'€é'", 'AND', 'y']);
    expect(tokens[2]!.kind).toBe('SCONST');
  });

  it('gives the position of a syntax error as a string index', async () => {
    const parser = await loadPgParser();
    const sql = "SELECT '€' ,";
    const error = (() => {
      try {
        parser.parse(sql);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SqlSyntaxError);
    expect((error as SqlSyntaxError).position).toBe(sql.length);
  });

  it('normalises literals out of a query text', async () => {
    const parser = await loadPgParser();
    expect(parser.normalize("SELECT * FROM users WHERE email = 'alice@example.com' AND id = 42")).toBe(
      'SELECT * FROM users WHERE email = $1 AND id = $2',
    );
  });

  // libpg-query's normalizeSync returns lexer errors ("unterminated quoted string at or near
  // "'sk_live…"") as if they were the normalised text, literal included.
  it.each([
    ["UPDATE users SET token = 'sk_live_abc"],
    ["SELECT E'secret\\"],
    ['DO $body$ BEGIN PERFORM secret'],
    ['SELECT /* never closed'],
  ])('refuses to normalise a text cut inside a literal or comment (regression: the lexer error came back as the result): %s', async (sql) => {
    const parser = await loadPgParser();
    expect(() => parser.normalize(sql)).toThrow(SqlSyntaxError);
  });
});
