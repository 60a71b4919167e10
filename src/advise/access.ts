import type { QualifiedName } from '../sql/identifiers.js';

/**
 * What one statement asks of each table it reads: the facts candidate indexes are made from.
 * Built by extract.ts from PostgreSQL's parse tree; pure data.
 */

/** A key an index could have: a plain column, or an expression over one table's columns (`lower(email)`). */
export type KeyTerm = { kind: 'column'; column: string } | { kind: 'expression'; expression: string };

/** A sort key with its direction (ORDER BY … DESC). */
export interface SortTerm {
  term: KeyTerm;
  order: 'asc' | 'desc';
}

/** A predicate with no parameter (`status <> 'closed'`, `deleted_at IS NULL`): material for a partial index. */
export interface ConstantPredicate {
  /** SQL text, as a partial index's WHERE would hold it. */
  sql: string;
  /** The column it pins to one value (`status = 'open'`), which a partial index then needs no key for. */
  fixes?: string;
}

/** One occurrence of a table in a statement (a self-join has two). */
export interface TableAccess {
  table: QualifiedName;
  /** `=`, `IN`, `= ANY`, and join keys (`ON a.id = b.a_id`), in the order they appear. */
  equality: KeyTerm[];
  /** `<`, `>`, `<=`, `>=`, `BETWEEN`. */
  ranges: KeyTerm[];
  /** ORDER BY, when every sort key is on this table. */
  sort: SortTerm[];
  groupBy: KeyTerm[];
  constants: ConstantPredicate[];
  /**
   * Every column of this table the statement reads (select list, conditions, sorting…), when they
   * are all known: a SELECT with no `*` or whole-row reference. What an index must hold for an
   * index-only scan; absent otherwise.
   */
  reads?: string[];
}

/** What a `$n` parameter is compared with, to pick a realistic value for a check. */
export interface ParamUse {
  param: number;
  use: 'equality' | 'range' | 'limit' | 'offset';
  table?: QualifiedName;
  term?: KeyTerm;
  /** A range's side: `lower` when the column must be above the value (`>`, `>=`, BETWEEN's first), `upper` when below. */
  bound?: 'lower' | 'upper';
  /** `= ANY($n)`: the parameter is an array of values. */
  array?: boolean;
}

export type StatementAnalysis =
  | { ok: true; accesses: TableAccess[]; params: ParamUse[]; paramCount: number; notes: string[] }
  | { ok: false; reason: string };

export function termKey(term: KeyTerm): string {
  return term.kind === 'column' ? `c:${term.column}` : `e:${term.expression}`;
}

export function sameTerm(a: KeyTerm, b: KeyTerm): boolean {
  return termKey(a) === termKey(b);
}
