import { qualifiedKey, type QualifiedName } from '../sql/identifiers.js';

/** Access methods an index set may name (`using:`). */
export const INDEX_METHODS = ['btree', 'hash', 'gist', 'spgist', 'gin', 'brin'] as const;
export type IndexMethod = (typeof INDEX_METHODS)[number];

/** Where something was declared, for messages that point back at the file. */
export interface SourceLocation {
  file: string;
  line: number;
  col: number;
}

/** One key of an index: a plain column or an expression, with its options. */
export type IndexKey = (
  | { kind: 'column'; column: string }
  | { kind: 'expression'; expression: string }
) & {
  order?: 'asc' | 'desc';
  nulls?: 'first' | 'last';
  opclass?: QualifiedName;
  collate?: string;
};

/**
 * An index as declared in an index set, with names resolved the way
 * PostgreSQL resolves them (unquoted names folded to lower case).
 */
export interface IndexDeclaration {
  /** Index name; it lives in the table's schema. */
  name: string;
  table: QualifiedName;
  method: IndexMethod;
  unique: boolean;
  keys: IndexKey[];
  include: string[];
  /** Raw SQL predicate of a partial index, as PostgreSQL's parser read it (sql/fragment.ts). */
  where?: string;
  /** Storage parameters (`WITH (...)`), values as PostgreSQL stores them. */
  storage: Record<string, string>;
  nullsNotDistinct: boolean;
  tablespace?: string;
  /** Name of the set it came from. */
  set: string;
  source: SourceLocation;
}

/** The index as a schema-qualified name (the unit of identity across sets). */
export function indexQualifiedName(index: IndexDeclaration): QualifiedName {
  return { schema: index.table.schema, name: index.name };
}

export function indexKey(index: Pick<IndexDeclaration, 'table' | 'name'>): string {
  return qualifiedKey({ schema: index.table.schema, name: index.name });
}

export function tableKey(table: QualifiedName): string {
  return qualifiedKey(table);
}

/** A parsed index-set file. */
export interface IndexSet {
  name: string;
  description?: string;
  file: string;
  indexes: IndexDeclaration[];
  /** EXPLAIN checks, validated here and run by `verify` / `explain`. */
  checks: CheckDeclaration[];
}

export interface CheckDeclaration {
  name: string;
  query: string;
  params: Array<string | number | boolean | null>;
  runs?: number;
  warmup?: number;
  generic: boolean;
  timeoutMs?: number;
  expect: Record<string, unknown>;
  source: SourceLocation;
}
