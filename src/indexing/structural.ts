import { displayIdent } from '../sql/identifiers.js';
import type { LiveIndex, LiveIndexColumn } from './live-catalog.js';
import type { IndexDeclaration, IndexKey } from '../model/declaration.js';
import { compareIndexes } from './compare.js';

/** What the catalog statement says about how the session resolves names (catalog.ts). */
export interface NameResolution {
  /**
   * An unqualified operator class or collation name resolves in `pg_catalog`
   * when one of that name is there: `pg_catalog` is the first schema of the
   * search path (it is, unless the path names it later explicitly).
   */
  pgCatalogFirst: boolean;
}

/**
 * Plain-column declarations whose differences the catalog names exactly as a
 * shadow build would: no expression, predicate, named opclass or collation
 * (their resolution depends on the search path), no storage values
 * (PostgreSQL keeps them as written). Without a shadow build (no TEMP, a
 * standby), these are still compared field by field.
 */
export function comparableFromCatalog(declaration: IndexDeclaration): boolean {
  return (
    declaration.where === undefined &&
    Object.keys(declaration.storage).length === 0 &&
    declaration.keys.every((key) => key.kind === 'column' && key.opclass === undefined && key.collate === undefined)
  );
}

/**
 * Whether the catalog alone proves that `live` is what the declaration would
 * build, with no shadow build: every key is a plain column and every field
 * compares equal — method, unique, nulls not distinct, key columns with
 * their order, nulls, operator class and collation, INCLUDE columns, storage
 * parameters, tablespace. A named opclass or collation counts only where its
 * resolution is certain (qualified, or `pg_catalog` searched first); storage
 * values only when written as PostgreSQL keeps them. Anything else, and
 * every difference, is left to the shadow build, which names it as
 * PostgreSQL resolves it. Expressions and predicates always need the
 * server's normaliser. Pure.
 */
export function matchesFromCatalog(declaration: IndexDeclaration, live: LiveIndex, names: NameResolution): boolean {
  if (live.relkind !== 'i' || declaration.where !== undefined) return false;
  if (!declaration.keys.every((key) => key.kind === 'column' && resolvable(key, names))) return false;
  return compareIndexes(declaration, declaredFromCatalog(declaration, live), live).length === 0;
}

function resolvable(key: IndexKey, names: NameResolution): boolean {
  // A dot inside a name would make `schema.name` ambiguous as text.
  if (key.opclass && (key.opclass.name.includes('.') || key.opclass.schema.includes('.'))) return false;
  if (key.opclass && !key.opclass.schema && !names.pgCatalogFirst) return false;
  // `collate` is one identifier (index-sql.ts quotes it whole): decisive when it resolves in pg_catalog.
  if (key.collate !== undefined && (key.collate.includes('.') || !names.pgCatalogFirst)) return false;
  return true;
}

/**
 * The declaration as the live index would read if it matched: the same shape
 * as a shadow build's result, so `compareIndexes` compares it field by field.
 * Defaults come from the live index's own table: the default operator class
 * of the column's type, the column's own collation. A named opclass or
 * collation reads as the catalog shows one (`schema.name` outside
 * `pg_catalog`); storage parameters as `name=value`, as `reloptions` keeps them.
 */
export function declaredFromCatalog(declaration: IndexDeclaration, live: LiveIndex): LiveIndex {
  const keyColumns: LiveIndexColumn[] = declaration.keys.map((key, i) => {
    const name = key.kind === 'column' ? key.column : '';
    const actual = live.keyColumns[i];
    const same = actual?.columnName === name;
    const desc = key.order === 'desc';
    const column: LiveIndexColumn = {
      // The live text when it is the same column, so only real differences show.
      definition: same ? actual!.definition : displayIdent(name),
      isExpression: false,
      desc,
      nullsFirst: key.nulls ? key.nulls === 'first' : desc,
      // No opclass declared: the type's default, which the catalog marks as such.
      opclass: same && actual!.opclassDefault ? actual!.opclass : '(the default for the type)',
      opclassDefault: true,
      collation: same ? (actual!.columnCollation ?? null) : null,
    };
    if (key.opclass) {
      column.opclass = key.opclass.schema && key.opclass.schema !== 'pg_catalog' ? `${key.opclass.schema}.${key.opclass.name}` : key.opclass.name;
      column.opclassDefault = same && actual!.opclass === column.opclass ? actual!.opclassDefault : false;
    }
    if (key.collate !== undefined) column.collation = key.collate;
    return column;
  });
  const includeColumns: LiveIndexColumn[] = declaration.include.map((name, i) => {
    const actual = live.includeColumns[i];
    return { definition: actual?.columnName === name ? actual.definition : displayIdent(name), isExpression: false };
  });
  return {
    ...live,
    method: declaration.method,
    unique: declaration.unique,
    nullsNotDistinct: declaration.nullsNotDistinct,
    keyColumns,
    includeColumns,
    predicate: null,
    storage: Object.entries(declaration.storage)
      .map(([name, value]) => `${name}=${value}`)
      .sort(),
  };
}
