import { SqlSyntaxError, type PgParser, type SqlToken } from './pg-parser.js';

/**
 * Raw SQL that index sets may carry (`where`, `expression`) cannot be escaped,
 * only contained: dbtune puts it in parentheses inside its own statement. A
 * fragment is accepted only when PostgreSQL's own lexer and parser, reading it
 * in exactly that position, see one expression that ends where the text ends:
 * our closing parenthesis is a real token, no string, comment or quoted name
 * runs past it, and the whole is one `CREATE INDEX` statement.
 *
 * Reading it in place matters: the lexer state at our `(` is the same in the
 * probe and in the statement dbtune runs, so the fragment lexes the same in
 * both (string continuation lines, E-strings, dollar quotes, `U&` escapes
 * included). The server reads it with standard_conforming_strings on, as the
 * parser does: dbtune's sessions and its SQL scripts set it.
 */

/** Where a fragment goes: the predicate of a partial index, or one index key. */
export type FragmentKind = 'where' | 'expression';

export type FragmentCheck =
  /** `sql`: the fragment as the tokens span it (surrounding blanks dropped), the only text dbtune puts into SQL. */
  | { ok: true; sql: string }
  /** `offset`: where in the fragment the problem is, when known. */
  | { ok: false; error: string; offset?: number };

const PROBE: Record<FragmentKind, { prefix: string; suffix: string }> = {
  where: { prefix: 'CREATE INDEX dbtune_probe ON dbtune_probe (dbtune_probe) WHERE (', suffix: ')' },
  expression: { prefix: 'CREATE INDEX dbtune_probe ON dbtune_probe ((', suffix: '))' },
};

const OPEN = 'ASCII_40';
const CLOSE = 'ASCII_41';
const SEMICOLON = 'ASCII_59';
const COMMENTS = new Set(['C_COMMENT', 'SQL_COMMENT']);

export function validateFragment(parser: PgParser, kind: FragmentKind, text: string): FragmentCheck {
  if (!text.trim()) return { ok: false, error: 'is empty' };
  const { prefix, suffix } = PROBE[kind];
  const probe = prefix + text + suffix;
  const start = prefix.length;
  const end = start + text.length;
  const at = (offset: number) => Math.max(0, Math.min(offset - start, text.length));

  let tokens: SqlToken[];
  try {
    tokens = parser.scan(probe);
  } catch (error) {
    if (error instanceof SqlSyntaxError) return { ok: false, error: `is not valid SQL: ${error.message}`, ...offsetOf(error, at) };
    throw error;
  }

  // One pass in text order, so the first problem in the fragment is the one reported.
  const inside: SqlToken[] = [];
  const after: SqlToken[] = [];
  let depth = 0;
  for (const token of tokens) {
    if (token.start < start) {
      if (token.end > start) return { ok: false, error: 'does not start a new token', offset: 0 };
      continue;
    }
    if (token.start >= end) {
      after.push(token);
      continue;
    }
    const offset = at(token.start);
    if (COMMENTS.has(token.kind)) return { ok: false, error: 'must not contain comments', offset };
    if (token.end > end) return { ok: false, error: `${describe(token)} runs past the end of the text`, offset };
    if (token.kind === SEMICOLON) return { ok: false, error: 'must be one expression: it must not contain ";"', offset };
    if (token.kind === 'PARAM') return { ok: false, error: `must not contain parameters (${token.text}): an index cannot take them`, offset };
    if (token.kind === OPEN) depth++;
    if (token.kind === CLOSE && --depth < 0) return { ok: false, error: 'closes a parenthesis it did not open', offset };
    inside.push(token);
  }
  if (depth !== 0) return { ok: false, error: 'leaves a parenthesis open', offset: text.length };

  // Our own closing parentheses must be the tokens that follow, and nothing else.
  const expected = suffix.split('').map((_, i) => end + i);
  if (after.length !== expected.length || after.some((t, i) => t.kind !== CLOSE || t.start !== expected[i])) {
    return { ok: false, error: 'does not end where the text ends', offset: text.length };
  }

  let statements;
  try {
    statements = parser.parse(probe);
  } catch (error) {
    if (error instanceof SqlSyntaxError) return { ok: false, error: `is not a valid ${kind === 'where' ? 'predicate' : 'expression'}: ${error.message}`, ...offsetOf(error, at) };
    throw error;
  }
  if (statements.length !== 1 || statements[0]!.type !== 'IndexStmt') return { ok: false, error: 'must be one expression' };
  const node = statements[0]!.node;
  const params = node.indexParams as unknown[] | undefined;
  if (kind === 'where' ? !node.whereClause : params?.length !== 1) return { ok: false, error: 'must be one expression' };

  const first = inside[0]!;
  const last = inside[inside.length - 1]!;
  return { ok: true, sql: probe.slice(first.start, last.end) };
}

function offsetOf(error: SqlSyntaxError, at: (offset: number) => number): { offset?: number } {
  return error.position === undefined ? {} : { offset: at(error.position) };
}

function describe(token: SqlToken): string {
  if (token.kind === 'SCONST' || token.kind === 'USCONST') return 'a string';
  if (COMMENTS.has(token.kind)) return 'a comment';
  if (token.kind === 'IDENT' || token.kind === 'UIDENT') return 'a quoted name';
  return `the token ${JSON.stringify(token.text.slice(0, 20))}`;
}
