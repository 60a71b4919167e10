/**
 * A guard for the raw SQL that index sets may carry (`where`, `expression`).
 * Such text cannot be escaped, only contained: dbtune wraps it in parentheses
 * and requires that it cannot close them early, end the statement, or comment
 * out the rest. The scanner follows PostgreSQL's lexical rules for the tokens
 * that matter (strings of every kind, quoted identifiers, comments); the
 * server's own parser is the final check (`shadow.ts` builds every declared
 * index before anything real is touched).
 */

export type FragmentCheck = { ok: true } | { ok: false; error: string };

/**
 * PostgreSQL's lexer (scan.l) takes every byte >= 0x80 as an identifier
 * character, not only letters: `€e'…'` is the identifier `€e` and a plain
 * string, not an E-string. The scanner must read them the same way.
 */
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\u{10FFFF}]/u;
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\u{10FFFF}][A-Za-z0-9_\u0080-\u{10FFFF}]*)?\$/u;

export function checkSqlFragment(sql: string): FragmentCheck {
  if (!sql.trim()) return { ok: false, error: 'is empty' };
  let depth = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "'") {
      const escapes = i > 0 && /[eE]/.test(sql[i - 1]!) && !IDENT_CHAR.test(sql[i - 2] ?? ' ');
      const end = skipQuoted(sql, i, "'", escapes);
      if (end < 0) return { ok: false, error: 'has an unterminated string literal' };
      i = end;
      continue;
    }
    if (c === '"') {
      const end = skipQuoted(sql, i, '"', false);
      if (end < 0) return { ok: false, error: 'has an unterminated quoted identifier' };
      i = end;
      continue;
    }
    if (c === '$') {
      const tag = DOLLAR_TAG.exec(sql.slice(i));
      // `a$1$` style: a $ right after an identifier character is part of that identifier.
      const prevIsIdent = i > 0 && IDENT_CHAR.test(sql[i - 1]!);
      if (tag && !prevIsIdent) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        if (close < 0) return { ok: false, error: 'has an unterminated dollar-quoted string' };
        i = close + tag[0].length;
        continue;
      }
    }
    if (c === '-' && next === '-') return { ok: false, error: 'must not contain a -- comment' };
    if (c === '/' && next === '*') return { ok: false, error: 'must not contain a /* comment */' };
    if (c === ';') return { ok: false, error: 'must be one expression: it must not contain ";"' };
    if (c === '\\') return { ok: false, error: 'must not contain a backslash outside a string (psql meta-commands are not SQL)' };
    if (c === '(') depth++;
    if (c === ')') {
      depth--;
      if (depth < 0) return { ok: false, error: 'closes a parenthesis it did not open' };
    }
    i++;
  }
  if (depth !== 0) return { ok: false, error: 'leaves a parenthesis open' };
  return { ok: true };
}

/** Index just past the closing quote, or -1. A doubled quote is an escaped quote. */
function skipQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (backslashEscapes && c === '\\') {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return -1;
}
