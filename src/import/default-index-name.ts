/**
 * The name PostgreSQL gives `CREATE INDEX ON t (…)` when the statement names
 * none: ChooseIndexName, ChooseIndexColumnNames, FigureIndexColname and
 * makeObjectName (src/backend/commands/indexcmds.c, parser/parse_target.c,
 * same in 13 through 18), on the raw parse tree PostgreSQL itself starts from.
 *
 * One part cannot be known without the database: PostgreSQL tries
 * `…_idx`, then `…_idx1`, `…_idx2`… until no relation of the schema has the
 * name. Here only the names in `taken` count (the other indexes being imported).
 */

/** NAMEDATALEN - 1: the longest name, in bytes. */
const MAX_NAME_BYTES = 63;

/** One index element as the parser gives it: a column (`name`) or an expression (`expr`). */
export interface IndexElementNode {
  name?: string;
  expr?: Record<string, unknown>;
}

export function defaultIndexName(table: string, elements: readonly IndexElementNode[], taken: (name: string) => boolean): string {
  const addition = indexNameAddition(indexColumnNames(elements));
  for (let pass = 0; ; pass++) {
    const name = makeObjectName(table, addition, pass === 0 ? 'idx' : `idx${pass}`);
    if (!taken(name)) return name;
  }
}

/** ChooseIndexColumnNames: one name per key and INCLUDE column; a repeat gets 1, 2… appended. */
export function indexColumnNames(elements: readonly IndexElementNode[]): string[] {
  const result: string[] = [];
  for (const element of elements) {
    const original = element.name ?? (element.expr ? figureColumnName(element.expr) : undefined) ?? 'expr';
    let current = original;
    for (let i = 1; result.includes(current); i++) {
      const suffix = String(i);
      current = clipBytes(original, MAX_NAME_BYTES - suffix.length) + suffix;
    }
    result.push(current);
  }
  return result;
}

/** ChooseIndexNameAddition: the names joined by `_`, stopping once 63 bytes are reached. */
function indexNameAddition(names: readonly string[]): string {
  let out = '';
  for (const name of names) {
    if (out) out += '_';
    out += clipBytes(name, MAX_NAME_BYTES);
    if (byteLength(out) >= MAX_NAME_BYTES) break;
  }
  return out;
}

/**
 * makeObjectName: `name1_name2_label` in 63 bytes, shortening the longer of
 * name1 and name2 a byte at a time, then clipping each to a whole character.
 */
export function makeObjectName(name1: string, name2: string, label: string): string {
  const available = MAX_NAME_BYTES - (1 + label.length + 1);
  let chars1 = byteLength(name1);
  let chars2 = byteLength(name2);
  while (chars1 + chars2 > available) {
    if (chars1 > chars2) chars1--;
    else chars2--;
  }
  return `${clipBytes(name1, chars1)}_${clipBytes(name2, chars2)}_${label}`;
}

/**
 * FigureIndexColname: the name an expression key contributes (`lower(handle)`
 * gives `lower`), or undefined where PostgreSQL falls back to `expr`.
 * Mirrors FigureColnameInternal; only a name of strength 2 or 1 counts.
 */
export function figureColumnName(node: Record<string, unknown>): string | undefined {
  return figure(node).name;
}

interface Figured {
  name?: string;
  strength: number;
}

function figure(wrapped: unknown): Figured {
  if (!wrapped || typeof wrapped !== 'object') return { strength: 0 };
  const [type, value] = Object.entries(wrapped as Record<string, unknown>)[0] ?? [];
  const node = (value ?? {}) as Record<string, unknown>;
  switch (type) {
    case 'ColumnRef': {
      const last = lastString(node.fields);
      return last === undefined ? { strength: 0 } : { name: last, strength: 2 };
    }
    case 'A_Indirection': {
      const indirection = node.indirection as unknown[] | undefined;
      const last = indirection ? lastString([indirection[indirection.length - 1]]) : undefined;
      return last === undefined ? figure(node.arg) : { name: last, strength: 2 };
    }
    case 'FuncCall': {
      const last = lastString(node.funcname);
      return last === undefined ? { strength: 0 } : { name: last, strength: 2 };
    }
    case 'A_Expr':
      return node.kind === 'AEXPR_NULLIF' ? { name: 'nullif', strength: 2 } : { strength: 0 };
    case 'TypeCast': {
      const inner = figure(node.arg);
      if (inner.strength <= 1) {
        const last = lastString((node.typeName as { names?: unknown } | undefined)?.names);
        if (last !== undefined) return { name: last, strength: 1 };
      }
      return inner;
    }
    case 'CollateClause':
      return figure(node.arg);
    case 'GroupingFunc':
      return { name: 'grouping', strength: 2 };
    case 'MergeSupportFunc':
      return { name: 'merge_action', strength: 2 };
    case 'SubLink':
      return subLinkName(node);
    case 'CaseExpr': {
      const inner = figure(node.defresult);
      return inner.strength <= 1 ? { name: 'case', strength: 1 } : inner;
    }
    case 'A_ArrayExpr':
      return { name: 'array', strength: 2 };
    case 'RowExpr':
      return { name: 'row', strength: 2 };
    case 'CoalesceExpr':
      return { name: 'coalesce', strength: 2 };
    case 'MinMaxExpr':
      return { name: node.op === 'IS_GREATEST' ? 'greatest' : 'least', strength: 2 };
    case 'SQLValueFunction':
      return sqlValueFunctionName(node.op);
    case 'XmlExpr':
      return xmlName(node.op);
    case 'XmlSerialize':
      return { name: 'xmlserialize', strength: 2 };
    case 'JsonParseExpr':
      return { name: 'json', strength: 2 };
    case 'JsonScalarExpr':
      return { name: 'json_scalar', strength: 2 };
    case 'JsonSerializeExpr':
      return { name: 'json_serialize', strength: 2 };
    case 'JsonObjectConstructor':
      return { name: 'json_object', strength: 2 };
    case 'JsonArrayConstructor':
    case 'JsonArrayQueryConstructor':
      return { name: 'json_array', strength: 2 };
    case 'JsonObjectAgg':
      return { name: 'json_objectagg', strength: 2 };
    case 'JsonArrayAgg':
      return { name: 'json_arrayagg', strength: 2 };
    case 'JsonFuncExpr':
      return jsonFuncName(node.op);
    default:
      return { strength: 0 };
  }
}

function subLinkName(node: Record<string, unknown>): Figured {
  // An EXPR sublink is named after its subquery's column only once the subquery is analysed,
  // which it is not yet when the index name is chosen: it gives nothing, like ANY/ALL.
  if (node.subLinkType === 'EXISTS_SUBLINK') return { name: 'exists', strength: 2 };
  if (node.subLinkType === 'ARRAY_SUBLINK') return { name: 'array', strength: 2 };
  return { strength: 0 };
}

const SQL_VALUE_FUNCTIONS: Record<string, string> = {
  SVFOP_CURRENT_DATE: 'current_date',
  SVFOP_CURRENT_TIME: 'current_time',
  SVFOP_CURRENT_TIME_N: 'current_time',
  SVFOP_CURRENT_TIMESTAMP: 'current_timestamp',
  SVFOP_CURRENT_TIMESTAMP_N: 'current_timestamp',
  SVFOP_LOCALTIME: 'localtime',
  SVFOP_LOCALTIME_N: 'localtime',
  SVFOP_LOCALTIMESTAMP: 'localtimestamp',
  SVFOP_LOCALTIMESTAMP_N: 'localtimestamp',
  SVFOP_CURRENT_ROLE: 'current_role',
  SVFOP_CURRENT_USER: 'current_user',
  SVFOP_USER: 'user',
  SVFOP_SESSION_USER: 'session_user',
  SVFOP_CURRENT_CATALOG: 'current_catalog',
  SVFOP_CURRENT_SCHEMA: 'current_schema',
};

function sqlValueFunctionName(op: unknown): Figured {
  const name = typeof op === 'string' ? SQL_VALUE_FUNCTIONS[op] : undefined;
  return name ? { name, strength: 2 } : { strength: 0 };
}

function xmlName(op: unknown): Figured {
  const names: Record<string, string> = {
    IS_XMLCONCAT: 'xmlconcat',
    IS_XMLELEMENT: 'xmlelement',
    IS_XMLFOREST: 'xmlforest',
    IS_XMLPARSE: 'xmlparse',
    IS_XMLPI: 'xmlpi',
    IS_XMLROOT: 'xmlroot',
    IS_XMLSERIALIZE: 'xmlserialize',
  };
  const name = typeof op === 'string' ? names[op] : undefined;
  return name ? { name, strength: 2 } : { strength: 0 };
}

function jsonFuncName(op: unknown): Figured {
  const names: Record<string, string> = { JSON_EXISTS_OP: 'json_exists', JSON_QUERY_OP: 'json_query', JSON_VALUE_OP: 'json_value' };
  const name = typeof op === 'string' ? names[op] : undefined;
  return name ? { name, strength: 2 } : { strength: 0 };
}

/** The last `{ String: { sval } }` of a name list (a `*` or subscript at the end gives undefined). */
function lastString(list: unknown): string | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const last = list[list.length - 1] as { String?: { sval?: string } } | undefined;
  return last?.String?.sval;
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** pg_mbcliplen: the longest prefix of `text` of at most `bytes` bytes that ends on a whole character. */
function clipBytes(text: string, bytes: number): string {
  if (byteLength(text) <= bytes) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const size = byteLength(ch);
    if (used + size > bytes) break;
    out += ch;
    used += size;
  }
  return out;
}
