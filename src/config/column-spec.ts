import { parseIdentifier, type ParseResult } from '../sql/identifiers.js';

/** A key column written as a string: `"name [asc|desc] [nulls first|last]"`. */
export interface ColumnSpec {
  column: string;
  order?: 'asc' | 'desc';
  nulls?: 'first' | 'last';
}

/** Parses the string form of a key column; errors name the word that is wrong. */
export function parseColumnSpec(text: string): ParseResult<ColumnSpec> {
  const source = text.trim();
  // The name is either a quoted identifier (may contain spaces) or one word.
  const nameMatch = /^("(?:[^"]|"")+"|[^\s"]+)/.exec(source);
  if (!nameMatch) return { ok: false, error: `expected a column name, got ${JSON.stringify(text)}` };
  const name = parseIdentifier(nameMatch[1]!);
  if (!name.ok) {
    return {
      ok: false,
      error: `${name.error}; for an expression use { expression: ${JSON.stringify(nameMatch[1])} }`,
    };
  }
  const spec: ColumnSpec = { column: name.value };
  const words = source.slice(nameMatch[0].length).trim().split(/\s+/).filter(Boolean);
  let i = 0;
  const word = (k: number) => words[k]?.toLowerCase();
  if (i < words.length && word(i) !== 'nulls') {
    const w = word(i)!;
    if (w !== 'asc' && w !== 'desc') {
      return { ok: false, error: `bad order word ${JSON.stringify(words[i])}: expected asc or desc (then optionally nulls first|last)` };
    }
    spec.order = w;
    i++;
  }
  if (i < words.length) {
    if (word(i) !== 'nulls') return { ok: false, error: `unexpected ${JSON.stringify(words[i])}: expected nulls first or nulls last` };
    const where = word(i + 1);
    if (where !== 'first' && where !== 'last') {
      return { ok: false, error: `bad nulls position ${JSON.stringify(words[i + 1] ?? '')}: expected nulls first or nulls last` };
    }
    spec.nulls = where;
    i += 2;
  }
  if (i < words.length) return { ok: false, error: `unexpected ${JSON.stringify(words.slice(i).join(' '))} after the column` };
  return { ok: true, value: spec };
}
