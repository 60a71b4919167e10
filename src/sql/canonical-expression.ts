import { validateFragment, type FragmentKind } from './fragment.js';
import { SqlSyntaxError, type PgParser } from './pg-parser.js';
import type { PgDeparser } from './pg-deparser.js';

/**
 * The text an index set should carry for an expression PostgreSQL's parser
 * read out of a statement (an index key, a partial index's predicate): the
 * deparsed, one-line form, accepted only when
 *
 * - the fragment validator accepts it in the place dbtune will put it
 *   (sql/fragment.ts), and
 * - PostgreSQL's parser, reading it there, builds the same tree as it built
 *   from the original text (token positions aside).
 *
 * So a deparser slip can make the import fail, never change the index.
 */
export type CanonicalExpression = { ok: true; sql: string } | { ok: false; error: string };

const PROBE: Record<FragmentKind, { prefix: string; suffix: string }> = {
  where: { prefix: 'CREATE INDEX dbtune_probe ON dbtune_probe (dbtune_probe) WHERE (', suffix: ')' },
  expression: { prefix: 'CREATE INDEX dbtune_probe ON dbtune_probe ((', suffix: '))' },
};

export function canonicalExpression(parser: PgParser, deparser: PgDeparser, kind: FragmentKind, node: Record<string, unknown>): CanonicalExpression {
  let text: string;
  try {
    text = deparser.expression(node);
  } catch (error) {
    return { ok: false, error: `cannot be written back as SQL (${error instanceof Error ? error.message : String(error)})` };
  }
  const check = validateFragment(parser, kind, text);
  if (!check.ok) return { ok: false, error: `written back as ${JSON.stringify(text)}, which dbtune does not accept: ${check.error}` };
  let reread: Record<string, unknown> | undefined;
  try {
    const { prefix, suffix } = PROBE[kind];
    const [statement] = parser.parse(prefix + check.sql + suffix);
    reread = kind === 'where' ? (statement?.node.whereClause as Record<string, unknown> | undefined) : elementExpression(statement?.node);
  } catch (error) {
    if (!(error instanceof SqlSyntaxError)) throw error;
  }
  if (!reread || !sameTree(node, reread)) {
    return { ok: false, error: `written back as ${JSON.stringify(check.sql)}, which PostgreSQL reads differently` };
  }
  return { ok: true, sql: check.sql };
}

function elementExpression(node: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const params = node?.indexParams as Array<{ IndexElem?: { expr?: Record<string, unknown> } }> | undefined;
  return params?.[0]?.IndexElem?.expr;
}

/** Fields that hold offsets into the text (PostgreSQL 18 added the IN list's start and end), not meaning. */
const POSITION_KEYS = new Set(['location', 'rexpr_list_start', 'rexpr_list_end']);
const isPosition = (key: string) => POSITION_KEYS.has(key) || key.endsWith('_location');

/** Equal parse trees, ignoring positions (offsets into different texts). */
export function sameTree(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameTree(x, b[i]));
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(b)) return false;
  const keys = (o: object) => Object.keys(o).filter((k) => !isPosition(k)).sort();
  const ka = keys(a);
  const kb = keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameTree((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
