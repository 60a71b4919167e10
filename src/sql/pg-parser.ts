/**
 * PostgreSQL's own parser (libpg-query: the server's scan.l and gram.y
 * compiled to WASM). The only module that imports libpg-query; it is loaded
 * on first use, so commands that never parse SQL never pay for it.
 *
 * The parser is PostgreSQL 18's with `standard_conforming_strings` on, which
 * is how dbtune's own sessions are configured (db/client.ts), so it reads
 * strings the way the server that runs the statement will.
 */

/** One lexical token; `start`/`end` are offsets into the JavaScript string (UTF-16), not bytes. */
export interface SqlToken {
  start: number;
  end: number;
  text: string;
  /** `ASCII_40` for `(`, `SCONST`, `IDENT`, `C_COMMENT`, `SQL_COMMENT`, … (keywords: `UNKNOWN` with a keyword kind). */
  kind: string;
  keyword: boolean;
}

/** A statement the parser read: the node's type name (`IndexStmt`, `SelectStmt`…) and its tree. */
export interface ParsedStatement {
  type: string;
  node: Record<string, unknown>;
  /** Where the statement's text starts and ends in the input (UTF-16 offsets; `end` excludes the `;`). */
  start: number;
  end: number;
}

/** A syntax error, with the offset (UTF-16) in the text where the parser stopped. */
export class SqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number | undefined,
  ) {
    super(message);
    this.name = 'SqlSyntaxError';
  }
}

export interface PgParser {
  /** Every statement in `sql`; throws `SqlSyntaxError` when PostgreSQL would not parse it. */
  parse(sql: string): ParsedStatement[];
  /** The lexer's tokens, comments included. */
  scan(sql: string): SqlToken[];
  /** The text with every literal replaced by `$n` (pg_stat_statements' normalisation); throws `SqlSyntaxError` on text PostgreSQL would not parse. */
  normalize(sql: string): string;
}

let loading: Promise<PgParser> | undefined;

export function loadPgParser(): Promise<PgParser> {
  loading ??= createParser();
  return loading;
}

async function createParser(): Promise<PgParser> {
  const lib = await import('libpg-query');
  await lib.loadModule();
  return {
    parse(sql) {
      let result;
      try {
        result = lib.parseSync(sql);
      } catch (error) {
        throw syntaxError(error, sql);
      }
      const toIndex = byteToIndex(sql);
      return (result.stmts ?? []).map((raw) => {
        const stmt = (raw.stmt ?? {}) as Record<string, Record<string, unknown>>;
        const type = Object.keys(stmt)[0] ?? 'unknown';
        // stmt_location/stmt_len count UTF-8 bytes; a length of 0 means "to the end of the string".
        const startByte = raw.stmt_location ?? 0;
        const start = toIndex(startByte);
        const end = raw.stmt_len ? toIndex(startByte + raw.stmt_len) : sql.length;
        return { type, node: stmt[type] ?? {}, start, end };
      });
    },
    scan(sql) {
      let tokens;
      try {
        tokens = lib.scanSync(sql).tokens;
      } catch (error) {
        throw syntaxError(error, sql);
      }
      const toIndex = byteToIndex(sql);
      return tokens.map((t) => ({
        start: toIndex(t.start),
        end: toIndex(t.end),
        text: t.text,
        kind: t.tokenName,
        keyword: t.keywordKind !== 0,
      }));
    },
    normalize(sql) {
      try {
        // normalizeSync hands some lexer errors back as its result ("unterminated quoted string
        // at or near 'sk_live…", literal included) instead of throwing: parse first, which throws.
        lib.parseSync(sql);
        return lib.normalizeSync(sql);
      } catch (error) {
        throw syntaxError(error, sql);
      }
    },
  };
}

function syntaxError(error: unknown, sql: string): SqlSyntaxError {
  const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
  const message = details?.message ?? (error instanceof Error ? error.message : String(error));
  // The error position counts characters (code points, as PostgreSQL's own errposition does), from 0.
  const position = typeof details?.cursorPosition === 'number' ? codePointToIndex(sql, details.cursorPosition) : undefined;
  return new SqlSyntaxError(message, position);
}

function codePointToIndex(sql: string, codePoints: number): number {
  let index = 0;
  for (let k = 0; k < codePoints && index < sql.length; k++) index += sql.codePointAt(index)! >= 0x10000 ? 2 : 1;
  return index;
}

/**
 * The WASM lexer's token offsets count UTF-8 bytes; dbtune's offsets are JavaScript
 * string indices. Returns a mapping from byte offset to UTF-16 index.
 */
function byteToIndex(sql: string): (byte: number) => number {
  if (!/[^\x00-\x7f]/.test(sql)) return (byte) => byte;
  const starts: number[] = [];
  let byte = 0;
  for (let i = 0; i < sql.length; i++) {
    starts[byte] = i;
    const code = sql.codePointAt(i)!;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (code >= 0x10000) i++;
    byte += size;
  }
  starts[byte] = sql.length;
  return (b) => {
    for (let k = b; k >= 0; k--) if (starts[k] !== undefined) return starts[k]!;
    return 0;
  };
}
