import { displayIdent, quoteLiteral } from '../sql/identifiers.js';
import type { ParsedStatement } from '../sql/pg-parser.js';
import type { TableAccess } from './access.js';
import type { CatalogTable } from './table-catalog.js';

/**
 * Reading libpg-query's JSON parse tree: typed access to wrapped nodes, literals as SQL, the
 * tables a statement names, and column resolution by scope the way PostgreSQL does it.
 */

export type Node = Record<string, unknown>;

export const obj = (v: unknown): Node | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : undefined);
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** The inner node of a wrapped node (`{ ColumnRef: {…} }`) if it has that type. */
export const as = (v: unknown, type: string): Node | undefined => obj(obj(v)?.[type]);
export const str = (v: unknown): string | undefined => {
  const s = as(v, 'String')?.sval;
  return typeof s === 'string' ? s : undefined;
};

/** Every table name a statement mentions (for the one catalog query). CTE names come along; they simply do not resolve. */
export function referencedTables(statement: ParsedStatement): Array<{ schema?: string; name: string }> {
  const found: Array<{ schema?: string; name: string }> = [];
  const visit = (v: unknown, key?: string): void => {
    if (Array.isArray(v)) return v.forEach((x) => visit(x));
    const n = obj(v);
    if (!n) return;
    if ((key === 'RangeVar' || key === 'relation') && typeof n.relname === 'string') {
      found.push(typeof n.schemaname === 'string' ? { schema: n.schemaname, name: n.relname } : { name: n.relname });
    }
    for (const [k, child] of Object.entries(n)) visit(child, k);
  };
  visit(statement.node);
  return found;
}

export interface ScopeEntry {
  alias: string;
  table: CatalogTable;
  access: TableAccess;
}

export class Scope {
  readonly entries: ScopeEntry[] = [];
  constructor(readonly parent?: Scope) {}

  /** The table a column reference belongs to, the way PostgreSQL resolves it: innermost scope first. */
  resolve(fields: string[]): { entry: ScopeEntry; column: string } | undefined {
    for (let scope: Scope | undefined = this; scope; scope = scope.parent) {
      if (fields.length === 1) {
        const column = fields[0]!;
        const matches = scope.entries.filter((e) => e.table.columns.includes(column));
        if (matches.length === 1) return { entry: matches[0]!, column };
        if (matches.length > 1) return undefined;
      } else {
        const column = fields[fields.length - 1]!;
        const qualifier = fields[fields.length - 2]!;
        const schema = fields.length >= 3 ? fields[fields.length - 3] : undefined;
        const entry = scope.entries.find((e) => e.alias === qualifier && (schema === undefined || e.table.schema === schema));
        if (entry) return entry.table.columns.includes(column) ? { entry, column } : undefined;
      }
    }
    return undefined;
  }
}

/**
 * Records on the tables in scope the columns the given expressions read (TableAccess.reads); a `*`
 * or a whole-row reference (`t`, `t.*`) means the whole row, so the table has no such list.
 * Subqueries are left to their own scope, which records their outer references itself.
 */
export function noteReads(expr: unknown, scope: Scope): void {
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    const n = obj(v);
    if (!n || n.SubLink || n.RangeSubselect) return;
    const ref = as(n, 'ColumnRef');
    if (!ref) return Object.values(n).forEach(visit);
    const fields = list(ref.fields);
    const names = fields.map(str);
    const star = fields.some((f) => obj(f)?.A_Star !== undefined);
    const found = star ? undefined : scope.resolve(names as string[]);
    if (found) {
      if (found.entry.access.reads && !found.entry.access.reads.includes(found.column)) found.entry.access.reads.push(found.column);
      return;
    }
    // `*`: every table of this scope is read whole; `t.*` or `t` alone (a whole-row value): t is; a
    // name that does not resolve (ambiguous): every table that has such a column may be read for it.
    const qualifier = star ? names[names.length - 2] : names.length === 1 ? names[0] : undefined;
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      for (const e of s.entries) {
        const whole = star ? (qualifier === undefined ? s === scope : e.alias === qualifier) : e.alias === qualifier || e.table.columns.includes(names.at(-1) ?? '');
        if (whole) delete e.access.reads;
      }
    }
  };
  visit(expr);
}

export /** SQL text of a literal (with its cast, if simple), or undefined when it is not one. */
function constant(node: unknown): string | undefined {
  const cast = as(node, 'TypeCast');
  if (cast) {
    const inner = constant(cast.arg);
    const names = list(as(cast.typeName, 'TypeName')?.names ?? obj(cast.typeName)?.names).map(str);
    const type = names[names.length - 1];
    if (inner === undefined || type === undefined || list(obj(cast.typeName)?.arrayBounds).length) return undefined;
    return `${inner}::${displayIdent(type)}`;
  }
  const c = as(node, 'A_Const');
  if (!c) return undefined;
  if (c.isnull) return 'NULL';
  const s = obj(c.sval)?.sval;
  if (typeof s === 'string') return quoteLiteral(s);
  const i = obj(c.ival);
  if (i) return String(i.ival ?? 0);
  const f = obj(c.fval)?.fval;
  if (typeof f === 'string') return f;
  const b = obj(c.boolval);
  if (b) return b.boolval ? 'true' : 'false';
  return undefined;
}

export /** The highest `$n` anywhere in the statement: how many parameters EXECUTE must be given. */
function maxParam(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((m: number, x) => Math.max(m, maxParam(x)), 0);
  const n = obj(v);
  if (!n) return 0;
  const own = as(n, 'ParamRef')?.number;
  return Math.max(typeof own === 'number' ? own : 0, ...Object.values(n).map(maxParam));
}
