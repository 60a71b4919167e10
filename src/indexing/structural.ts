import { displayIdent } from '../sql/identifiers.js';
import type { LiveIndex, LiveIndexColumn } from './live-catalog.js';
import type { IndexDeclaration } from '../model/declaration.js';

/**
 * Most indexes are plain columns with an order: for those the catalog alone
 * decides whether the live index matches, with no shadow build. What needs
 * PostgreSQL's normaliser (expressions, predicates, a named opclass or
 * collation whose resolution depends on the search path, storage values it
 * rewrites) is left to the shadow build.
 */
export function comparableFromCatalog(declaration: IndexDeclaration): boolean {
  return (
    declaration.where === undefined &&
    Object.keys(declaration.storage).length === 0 &&
    declaration.keys.every((key) => key.kind === 'column' && key.opclass === undefined && key.collate === undefined)
  );
}

/**
 * The declaration as the live index would read if it matched: the same shape
 * as a shadow build's result, so `compareIndexes` compares it field by field.
 * Defaults come from the live index's own table: the default operator class
 * of the column's type, the column's own collation.
 */
export function declaredFromCatalog(declaration: IndexDeclaration, live: LiveIndex): LiveIndex {
  const keyColumns: LiveIndexColumn[] = declaration.keys.map((key, i) => {
    const name = key.kind === 'column' ? key.column : '';
    const actual = live.keyColumns[i];
    const same = actual?.columnName === name;
    const desc = key.order === 'desc';
    return {
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
    storage: [],
  };
}
