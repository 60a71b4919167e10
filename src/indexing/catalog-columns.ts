/**
 * An index's columns, put together from pg_index's key arrays and the
 * dictionaries the catalog statement returns beside them (catalog-sql.ts):
 * one lookup per column here instead of a dozen catalog joins per column on
 * the server. Pure.
 */

/** [table OID, indkey, indclass, indcollation, indoption, expressions ([column number, definition, index column type])] */
export type RawIndexKeys = [number, number[], number[], number[], number[], Array<[number, string, number | null]> | null];

export interface RawKeyDictionaries {
  /** By index OID. */
  keys: Record<string, RawIndexKeys> | null;
  /** By table OID, then column number: [quoted name, name, type, collation OID]. */
  table_columns: Record<string, Record<string, [string, string, number, number]>> | null;
  /** By OID: [name, schema, access method, input type, is default for it, stored key type]. */
  opclasses: Record<string, [string, string, number, number, boolean, number]> | null;
  /** [access method, input type] of the default opclasses of the methods in use. */
  default_opclasses: Array<[number, number]> | null;
  /** By OID: the collation's name as a definition writes it. */
  collations: Record<string, string> | null;
  /** By domain OID: its base type. */
  domain_bases: Record<string, number> | null;
}

/** [definition, is expression, indoption (key columns), opclass, its schema, the type's default, collation, table column, its collation] */
export type RawColumn = [string, boolean, number | null, string | null, string | null, boolean | null, string | null, string | null, string | null];

/** Every index's columns in order, by index OID. */
export function indexColumns(raw: RawKeyDictionaries): Map<string, RawColumn[]> {
  const tableColumns = raw.table_columns ?? {};
  const opclasses = raw.opclasses ?? {};
  const collations = raw.collations ?? {};
  const domainBases = raw.domain_bases ?? {};
  const defaults = new Set((raw.default_opclasses ?? []).map(([method, type]) => `${method}:${type}`));
  const collationName = (oid: number | null | undefined) => (oid ? (collations[oid] ?? null) : null);

  const byIndex = new Map<string, RawColumn[]>();
  for (const [oid, [tableOid, keys, classes, keyCollations, options, expressions]] of Object.entries(raw.keys ?? {})) {
    const columnsOfTable = tableColumns[tableOid] ?? {};
    const expressionAt = new Map((expressions ?? []).map(([n, definition, type]) => [n, { definition, type }]));
    byIndex.set(
      oid,
      keys.map((attnum, i) => {
        const expression = attnum === 0 ? expressionAt.get(i + 1) : undefined;
        const column = attnum === 0 ? undefined : columnsOfTable[attnum];
        const opclass = classes[i] !== undefined ? opclasses[classes[i]!] : undefined;
        let isDefault: boolean | null = null;
        if (opclass) {
          const [, , method, inputType, opcDefault, keyType] = opclass;
          // An expression's type is the index column's, known only when the opclass stores its input type.
          const columnType = column ? column[2] : keyType === 0 ? expression?.type : undefined;
          const baseType = columnType === undefined || columnType === null ? undefined : (domainBases[columnType] ?? columnType);
          isDefault = isColumnDefault(opcDefault, inputType, baseType, defaults.has(`${method}:${baseType}`));
        }
        return [
          expression ? expression.definition : (column?.[0] ?? ''),
          attnum === 0,
          options[i] ?? null,
          opclass?.[0] ?? null,
          opclass?.[1] ?? null,
          isDefault,
          collationName(keyCollations[i]),
          column?.[1] ?? null,
          column ? collationName(column[3]) : null,
        ];
      }),
    );
  }
  return byIndex;
}

/**
 * Whether an opclass is the one CREATE INDEX picks for the column when none
 * is named (GetDefaultOpClass, by the column's base type): the default
 * opclass of that exact type, else, when the type has none of its own, a
 * default one it is binary-coercible to (text_ops for varchar). `opcdefault`
 * alone means "default for the opclass's own input type". With the column's
 * type unknown (an expression whose opclass stores another key type, such as
 * GiST's tsvector_ops), the opclass's own flag decides: an index built
 * without naming one must not read as drift.
 */
export function isColumnDefault(opcDefault: boolean, inputType: number, baseType: number | undefined, typeHasDefault: boolean): boolean {
  if (!opcDefault) return false;
  if (baseType === undefined) return true;
  return inputType === baseType || !typeHasDefault;
}
