import { displayIdent } from '../sql/identifiers.js';
import type { IndexEntry, IndexKeyEntry } from '../config/index-set-schema.js';
import { INDEX_METHODS, type IndexMethod } from '../model/declaration.js';
import type { CanonicalExpression } from '../sql/canonical-expression.js';
import type { FragmentKind } from '../sql/fragment.js';
import type { IndexElementNode } from './default-index-name.js';

/**
 * One `CREATE INDEX` parse tree (libpg-query's JSON of PostgreSQL's IndexStmt)
 * as an index-set entry, or the features of it that an index set cannot express.
 * Pure: expressions go through `canonical` (sql/canonical-expression.ts).
 */

export type Canonicalize = (kind: FragmentKind, node: Record<string, unknown>) => CanonicalExpression;

export interface IndexStatementFacts {
  /** Name as written, or undefined: PostgreSQL would choose one (default-index-name.ts). */
  name?: string;
  schema?: string;
  table: string;
  /** Key and INCLUDE elements, for the default name. */
  elements: IndexElementNode[];
  concurrently: boolean;
  ifNotExists: boolean;
}

export type IndexConversion =
  /** `entry.name` is empty when the statement names none. */
  | { ok: true; entry: IndexEntry; facts: IndexStatementFacts }
  /** Each string names one thing the index-set format cannot express. */
  | { ok: false; unsupported: string[]; facts: IndexStatementFacts };

type Node = Record<string, unknown>;

const ELEMENT = 'IndexElem';

export function indexEntryFromStatement(stmt: Node, canonical: Canonicalize): IndexConversion {
  const unsupported: string[] = [];
  const relation = (stmt.relation ?? {}) as { catalogname?: string; schemaname?: string; relname?: string; inh?: boolean };
  const params = elementsOf(stmt.indexParams);
  const including = elementsOf(stmt.indexIncludingParams);
  const facts: IndexStatementFacts = {
    table: relation.relname ?? '',
    elements: [...params, ...including].map((e) => ({ ...(e.name !== undefined ? { name: e.name as string } : {}), ...(e.expr ? { expr: e.expr as Node } : {}) })),
    concurrently: stmt.concurrent === true,
    ifNotExists: stmt.if_not_exists === true,
  };
  if (typeof stmt.idxname === 'string') facts.name = stmt.idxname;
  if (relation.schemaname !== undefined) facts.schema = relation.schemaname;

  if (relation.catalogname !== undefined) unsupported.push(`a table named with its database (${relation.catalogname}.…): an index set names schema.table`);
  // inh is false (left out of the JSON) for ON ONLY: the partitioned parent alone, invalid until indexes of its partitions are attached.
  if (relation.inh !== true) unsupported.push('ON ONLY (an index on the partitioned table alone): dbtune builds an index on a partitioned table for its partitions too');
  const method = (stmt.accessMethod as string | undefined) ?? 'btree';
  if (!(INDEX_METHODS as readonly string[]).includes(method)) unsupported.push(`USING ${method}: index sets support ${INDEX_METHODS.join(', ')}`);
  if (stmt.nulls_not_distinct === true && stmt.unique !== true) unsupported.push('NULLS NOT DISTINCT on an index that is not UNIQUE');

  const columns: IndexKeyEntry[] = [];
  params.forEach((element, i) => {
    const key = keyEntry(element, i + 1, canonical, unsupported);
    if (key) columns.push(key);
  });
  const include: string[] = [];
  for (const element of including) {
    if (typeof element.name === 'string' && !element.expr && !element.opclass && !element.collation && isDefault(element)) include.push(displayIdent(element.name));
    else unsupported.push('an INCLUDE entry that is not a plain column');
  }

  // Keys in the order a person writes them (README, init's example); unset options left out.
  const entry = { name: facts.name === undefined ? '' : displayIdent(facts.name), table: tableName(facts) } as IndexEntry;
  if (method !== 'btree') entry.using = method as IndexMethod;
  if (stmt.unique === true) entry.unique = true;
  if (stmt.nulls_not_distinct === true) entry.nulls_not_distinct = true;
  entry.columns = columns;
  if (include.length) entry.include = include;
  if (stmt.whereClause) {
    const where = canonical('where', stmt.whereClause as Node);
    if (where.ok) entry.where = where.sql;
    else unsupported.push(`the WHERE predicate: ${where.error}`);
  }
  const storage = storageParameters(stmt.options, unsupported);
  if (storage) entry.with = storage;
  if (typeof stmt.tableSpace === 'string') entry.tablespace = displayIdent(stmt.tableSpace);

  return unsupported.length ? { ok: false, unsupported, facts } : { ok: true, entry, facts };
}

function elementsOf(list: unknown): Node[] {
  return Array.isArray(list) ? list.map((item) => ((item as Node)[ELEMENT] ?? {}) as Node) : [];
}

function tableName(facts: IndexStatementFacts): string {
  return facts.schema === undefined ? displayIdent(facts.table) : `${displayIdent(facts.schema)}.${displayIdent(facts.table)}`;
}

function isDefault(element: Node): boolean {
  return (element.ordering ?? 'SORTBY_DEFAULT') === 'SORTBY_DEFAULT' && (element.nulls_ordering ?? 'SORTBY_NULLS_DEFAULT') === 'SORTBY_NULLS_DEFAULT';
}

function keyEntry(element: Node, position: number, canonical: Canonicalize, unsupported: string[]): IndexKeyEntry | undefined {
  const at = `key ${position}`;
  const options: { order?: 'asc' | 'desc'; nulls?: 'first' | 'last'; opclass?: string; collate?: string } = {};
  if (element.ordering === 'SORTBY_ASC') options.order = 'asc';
  else if (element.ordering === 'SORTBY_DESC') options.order = 'desc';
  else if (element.ordering === 'SORTBY_USING') unsupported.push(`${at}: ORDER BY USING an operator`);
  if (element.nulls_ordering === 'SORTBY_NULLS_FIRST') options.nulls = 'first';
  else if (element.nulls_ordering === 'SORTBY_NULLS_LAST') options.nulls = 'last';

  const opclass = names(element.opclass);
  if (opclass.length) options.opclass = opclass.map(displayIdent).join('.');
  if (Array.isArray(element.opclassopts) && element.opclassopts.length) {
    unsupported.push(`${at}: operator class parameters (${opclass.join('.')}(…)): an index set's opclass takes a name only`);
  }
  const collation = names(element.collation);
  // Collations live in pg_catalog unless a user created one elsewhere; an index set names them unqualified.
  if (collation.length === 2 && collation[0] === 'pg_catalog') collation.shift();
  if (collation.length === 1) options.collate = collation[0]!;
  else if (collation.length > 1) unsupported.push(`${at}: a schema-qualified collation (${collation.join('.')}): an index set names a collation without its schema`);

  let key: { column: string } | { expression: string } | undefined;
  if (typeof element.name === 'string') {
    key = { column: displayIdent(element.name) };
  } else if (element.expr) {
    const expression = canonical('expression', element.expr as Node);
    if (expression.ok) key = { expression: expression.sql };
    else unsupported.push(`${at}, an expression: ${expression.error}`);
  }
  if (!key) return undefined;
  // The short string form ("created_at desc nulls last") when nothing else is needed.
  if ('column' in key && options.opclass === undefined && options.collate === undefined) {
    return [key.column, options.order, options.nulls && `nulls ${options.nulls}`].filter(Boolean).join(' ');
  }
  return { ...key, ...options };
}

/** The strings of a parse-tree name list (`[{ String: { sval } }…]`). */
function names(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((item) => (item as { String?: { sval?: string } }).String?.sval ?? '');
}

/** A storage value an index set can hold: a number, a boolean, or a plain word (index-set-schema.ts). */
const PLAIN_WORD = /^[A-Za-z0-9_.+-]+$/;
const PARAMETER_NAME = /^[a-z_][a-z0-9_.]*$/;

function storageParameters(options: unknown, unsupported: string[]): Record<string, number | boolean | string> | undefined {
  if (!Array.isArray(options) || options.length === 0) return undefined;
  const out: Record<string, number | boolean | string> = {};
  for (const item of options) {
    const def = ((item as Node).DefElem ?? {}) as { defname?: string; defnamespace?: string; arg?: Node };
    const name = def.defname ?? '';
    if (def.defnamespace !== undefined || !PARAMETER_NAME.test(name)) {
      unsupported.push(`WITH (${def.defnamespace ? `${def.defnamespace}.` : ''}${name} …): not a storage parameter name an index set can hold`);
      continue;
    }
    const value = storageValue(def.arg);
    if (value === undefined) unsupported.push(`WITH (${name} = …): the value is not a number, a boolean or a plain word`);
    else out[name] = value;
  }
  return out;
}

function storageValue(arg: Node | undefined): number | boolean | string | undefined {
  // `WITH (fastupdate)` alone means true, as in PostgreSQL's reloptions.
  if (arg === undefined) return true;
  const integer = arg.Integer as { ival?: number } | undefined;
  if (integer) return integer.ival ?? 0;
  const text =
    (arg.Float as { fval?: string } | undefined)?.fval ??
    (arg.String as { sval?: string } | undefined)?.sval ??
    (arg.Boolean ? String((arg.Boolean as { boolval?: boolean }).boolval ?? false) : undefined) ??
    typeNameWord(arg.TypeName as Node | undefined);
  return text !== undefined && PLAIN_WORD.test(text) ? text : undefined;
}

/** A bare word such as `off` reaches WITH as a type name; one unqualified name without modifiers is just the word. */
function typeNameWord(typeName: Node | undefined): string | undefined {
  if (!typeName || typeName.typmods || typeName.arrayBounds || typeName.setof || typeName.pct_type) return undefined;
  const list = names(typeName.names);
  return list.length === 1 ? list[0] : undefined;
}
