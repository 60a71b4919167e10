/**
 * SQL identifiers as PostgreSQL reads them: an unquoted name folds to lower
 * case (`Orders` is `orders`), a double-quoted one keeps its case and may hold
 * any character (`"Order Items"`). Every identifier dbtune writes into SQL goes
 * through {@link quoteIdent}, so no name can break out of its place.
 */

/** PostgreSQL silently truncates longer names (NAMEDATALEN - 1 bytes). */
export const MAX_IDENTIFIER_BYTES = 63;

export interface QualifiedName {
  schema: string;
  name: string;
}

/** A map key for a schema-qualified name, `schema\0name`: no identifier holds a NUL, so no two names share a key. */
export function qualifiedKey(name: QualifiedName): string {
  return `${name.schema}\u0000${name.name}`;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const BARE_IDENTIFIER = /^[\p{L}_][\p{L}\p{N}_$]*$/u;

/** Parses one identifier, bare (folded to lower case) or double-quoted. */
export function parseIdentifier(text: string): ParseResult<string> {
  const parts = splitQualified(text);
  if (!parts.ok) return parts;
  if (parts.value.length !== 1) return { ok: false, error: `expected one name, not a qualified name: ${text}` };
  return { ok: true, value: parts.value[0]! };
}

/** Parses `name` or `schema.name`; the schema defaults to `defaultSchema`. */
export function parseQualifiedName(text: string, defaultSchema = 'public'): ParseResult<QualifiedName> {
  const parts = splitQualified(text);
  if (!parts.ok) return parts;
  if (parts.value.length === 1) return { ok: true, value: { schema: defaultSchema, name: parts.value[0]! } };
  if (parts.value.length === 2) return { ok: true, value: { schema: parts.value[0]!, name: parts.value[1]! } };
  return { ok: false, error: `expected name or schema.name, got ${parts.value.length} dotted parts: ${text}` };
}

/**
 * Results by text: an index set names the same tables and columns again and again, and each
 * name is read twice (schema validation, then the declaration). Bounded, since texts come from
 * input files; the parts arrays are never handed out.
 */
const splitCache = new Map<string, ParseResult<string[]>>();
const SPLIT_CACHE_LIMIT = 10_000;

function splitQualified(text: string): ParseResult<string[]> {
  let result = splitCache.get(text);
  if (result === undefined) {
    if (splitCache.size >= SPLIT_CACHE_LIMIT) splitCache.clear();
    splitCache.set(text, (result = splitQualifiedUncached(text)));
  }
  return result;
}

/** Most names are plain ASCII: this settles them without the Unicode-aware pattern. */
const ASCII_BARE_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;

function splitQualifiedUncached(text: string): ParseResult<string[]> {
  const parts: string[] = [];
  let i = 0;
  const s = text.trim();
  if (!s) return { ok: false, error: 'expected a name, got an empty string' };
  while (i < s.length) {
    let part: string;
    if (s[i] === '"') {
      let j = i + 1;
      part = '';
      for (;;) {
        if (j >= s.length) return { ok: false, error: `unterminated quoted name: ${text}` };
        if (s[j] === '"') {
          if (s[j + 1] === '"') {
            part += '"';
            j += 2;
            continue;
          }
          break;
        }
        part += s[j];
        j++;
      }
      if (!part) return { ok: false, error: `empty quoted name: ${text}` };
      i = j + 1;
    } else {
      let j = i;
      while (j < s.length && s[j] !== '.') j++;
      const bare = s.slice(i, j);
      if (!ASCII_BARE_IDENTIFIER.test(bare) && !BARE_IDENTIFIER.test(bare)) {
        return {
          ok: false,
          error: `not a valid unquoted name: ${JSON.stringify(bare)} (write it in double quotes, e.g. '"${bare.replaceAll('"', '""')}"', if that is really its name)`,
        };
      }
      part = foldAsciiLower(bare);
      i = j;
    }
    // A UTF-16 code unit is at most 3 bytes of UTF-8: short names need no count.
    if (part.length * 3 > MAX_IDENTIFIER_BYTES && Buffer.byteLength(part) > MAX_IDENTIFIER_BYTES) {
      return { ok: false, error: `name longer than ${MAX_IDENTIFIER_BYTES} bytes; PostgreSQL would truncate it: ${part}` };
    }
    parts.push(part);
    if (i < s.length) {
      if (s[i] !== '.') return { ok: false, error: `unexpected ${JSON.stringify(s[i])} after a quoted name: ${text}` };
      i++;
      if (i >= s.length) return { ok: false, error: `name ends with a dot: ${text}` };
    }
  }
  return { ok: true, value: parts };
}

/** PostgreSQL folds only ASCII letters of unquoted names (scan.l, downcase_identifier). */
function foldAsciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

/** Always quotes: safe for any name, and keeps its case. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteQualified(q: QualifiedName): string {
  return `${quoteIdent(q.schema)}.${quoteIdent(q.name)}`;
}

/** A standard-conforming string literal (standard_conforming_strings is on since 9.1). */
export function quoteLiteral(value: string): string {
  if (value.includes('\\')) return `E'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
  return `'${value.replaceAll("'", "''")}'`;
}

/** `schema.name` for messages: quoted only where needed. */
export function displayQualified(q: QualifiedName): string {
  return `${displayIdent(q.schema)}.${displayIdent(q.name)}`;
}

export function displayIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdent(name);
}
