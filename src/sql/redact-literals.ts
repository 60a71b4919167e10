/**
 * A lexical stand-in for the parser's normalisation, for text the parser
 * cannot read: pg_stat_activity cuts a query at track_activity_query_size
 * bytes (1 kB by default), often inside a string. Every string, bit-string,
 * dollar-quoted and numeric constant becomes `$n`, numbered after the
 * highest `$n` already in the text (as pg_stat_statements does); a literal
 * the cut left open is redacted to the end. Identifiers, quoted identifiers,
 * comments and parameters stay.
 *
 * It reads strings as the server does with standard_conforming_strings on
 * (backslash is ordinary except in E'…'), which dbtune's sessions force and
 * which has been the default since 9.1.
 */
export function redactLiterals(sql: string, options: { dropComments?: boolean } = {}): string {
  let next = highestParameter(sql);
  const placeholder = () => `$${++next}`;
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const rest = sql.slice(i);
    // Comments: `--` to the end of the line; `/* */` nests in PostgreSQL.
    if (rest.startsWith('--')) {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      if (!options.dropComments) out += sql.slice(i, stop);
      i = stop;
      continue;
    }
    if (rest.startsWith('/*')) {
      const stop = commentEnd(sql, i);
      // A comment may carry anything (a user, a token); dropped, it leaves a blank so tokens stay apart.
      out += options.dropComments ? ' ' : sql.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === '"') {
      const stop = quotedEnd(sql, i, '"', false);
      out += sql.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === "'") {
      out += placeholder();
      i = quotedEnd(sql, i, "'", false);
      continue;
    }
    // Prefixed strings: E'…' (backslash escapes), B'…', X'…', N'…', U&'…'.
    const prefixed = /^(?:[eEbBxXnN]|[uU]&)'/.exec(rest);
    if (prefixed && !isIdentifierChar(sql[i - 1])) {
      const start = i + prefixed[0].length - 1;
      out += placeholder();
      i = quotedEnd(sql, start, "'", /^[eE]/.test(prefixed[0]));
      continue;
    }
    if (c === '$') {
      const param = /^\$\d+/.exec(rest);
      if (param) {
        out += param[0];
        i += param[0].length;
        continue;
      }
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(rest);
      if (tag && !isIdentifierChar(sql[i - 1])) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        out += placeholder();
        i = close === -1 ? n : close + tag[0].length;
        continue;
      }
    }
    if (isIdentifierStart(c)) {
      const word = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(rest)![0];
      out += word;
      i += word.length;
      continue;
    }
    // Numbers: 42, 4.2, .5, 1e-3, and PostgreSQL 16's 0x1F, 0o17, 0b101 and 1_000.
    const number = /^(?:0[xX][0-9A-Fa-f_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)/.exec(rest);
    if (number) {
      out += placeholder();
      i += number[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function highestParameter(sql: string): number {
  let max = 0;
  for (const m of sql.matchAll(/\$(\d+)/g)) max = Math.max(max, Number(m[1]));
  return max;
}

/** Index just past the quote closing the one at `start` (a doubled quote is part of the text), or the end. */
function quotedEnd(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
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
  return sql.length;
}

function commentEnd(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth++;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return sql.length;
}

function isIdentifierStart(c: string): boolean {
  return /[A-Za-z_\u0080-\uffff]/.test(c);
}

function isIdentifierChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
}
