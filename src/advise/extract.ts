import { displayIdent } from '../sql/identifiers.js';
import type { ParsedStatement } from '../sql/pg-parser.js';
import { termKey, type KeyTerm, type ParamUse, type StatementAnalysis, type TableAccess } from './access.js';
import { as, constant, list, maxParam, noteReads, obj, Scope, str, type Node, type ScopeEntry } from './parse-tree.js';
import type { TableCatalog } from './table-catalog.js';

/**
 * From PostgreSQL's parse tree (libpg-query's JSON) to what a statement asks of each table:
 * equality, range, sort, grouping, join keys, expressions on columns, constant predicates.
 * Pure: the catalog is passed in (read once for all statements, by catalog.ts).
 */

type Value = { kind: 'param'; number: number } | { kind: 'const'; sql: string } | { kind: 'outer' };
type Term = { entry: ScopeEntry; term: KeyTerm; sql: string; column?: string };

const FLIP: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=', '=': '=', '<>': '<>', '!=': '!=' };
const RANGE = new Set(['<', '>', '<=', '>=']);

class Extractor {
  readonly accesses: TableAccess[] = [];
  readonly params: ParamUse[] = [];
  readonly notes = new Set<string>();
  readonly missing = new Set<string>();

  constructor(private readonly catalog: TableCatalog) {}

  select(node: Node, parent?: Scope, ctes = new Set<string>()): void {
    const larg = obj(node.larg);
    if (larg) {
      this.select(larg, parent, ctes);
      const rarg = obj(node.rarg);
      if (rarg) this.select(rarg, parent, ctes);
      return;
    }
    const names = new Set(ctes);
    for (const cte of list(as(node.withClause, 'WithClause')?.ctes ?? obj(node.withClause)?.ctes)) {
      const c = as(cte, 'CommonTableExpr');
      if (!c) continue;
      if (typeof c.ctename === 'string') names.add(c.ctename);
      const query = as(c.ctequery, 'SelectStmt');
      if (query) this.select(query, parent, names);
    }
    const scope = new Scope(parent);
    const quals: unknown[] = [];
    for (const item of list(node.fromClause)) this.from(item, scope, names, quals);
    this.predicate(node.whereClause, scope);
    for (const q of quals) this.predicate(q, scope);
    this.having(node, scope);
    this.sort(list(node.sortClause), scope);
    const group = list(node.groupClause).map((g) => this.term(g, scope)).filter((t): t is Term => t !== undefined);
    if (group.length && group.every((g) => g.entry === group[0]!.entry)) group[0]!.entry.access.groupBy.push(...group.map((g) => g.term));
    noteReads([node.targetList, node.whereClause, quals, node.sortClause, node.groupClause, node.havingClause, node.distinctClause, node.windowClause], scope);
    this.limit(node.limitCount, 'limit');
    this.limit(node.limitOffset, 'offset');
    this.sublinks(node.targetList, scope);
  }

  /** UPDATE and DELETE: the target table and FROM/USING tables, then WHERE. */
  modify(node: Node): void {
    const scope = new Scope();
    const quals: unknown[] = [];
    this.from({ RangeVar: node.relation }, scope, new Set(), quals);
    for (const item of [...list(node.fromClause), ...list(node.usingClause)]) this.from(item, scope, new Set(), quals);
    this.predicate(node.whereClause, scope);
    for (const q of quals) this.predicate(q, scope);
    this.sublinks(node.targetList, scope);
    // An index-only scan cannot serve a write: the row is read whole.
    for (const e of scope.entries) delete e.access.reads;
  }

  private from(item: unknown, scope: Scope, ctes: Set<string>, quals: unknown[]): void {
    const range = as(item, 'RangeVar');
    if (range) {
      const name = String(range.relname);
      const schema = typeof range.schemaname === 'string' ? range.schemaname : undefined;
      if (schema === undefined && ctes.has(name)) return;
      const table = this.catalog.resolve(schema, name);
      if (!table) {
        this.missing.add(schema ? `${schema}.${name}` : name);
        return;
      }
      if (table.kind === 'v' || table.kind === 'f') {
        this.notes.add(`${displayIdent(table.name)} is a ${table.kind === 'v' ? 'view' : 'foreign table'}: not indexed directly`);
        return;
      }
      const alias = as(range.alias, 'Alias')?.aliasname ?? obj(range.alias)?.aliasname;
      const access: TableAccess = { table: { schema: table.schema, name: table.name }, equality: [], ranges: [], sort: [], groupBy: [], constants: [], reads: [] };
      this.accesses.push(access);
      scope.entries.push({ alias: typeof alias === 'string' ? alias : table.name, table, access });
      return;
    }
    const join = as(item, 'JoinExpr');
    if (join) {
      this.from(join.larg, scope, ctes, quals);
      this.from(join.rarg, scope, ctes, quals);
      if (join.quals) quals.push(join.quals);
      for (const using of list(join.usingClause)) {
        const column = str(using);
        if (column === undefined) continue;
        for (const e of scope.entries.filter((x) => x.table.columns.includes(column))) {
          e.access.equality.push({ kind: 'column', column });
          e.access.reads?.push(column);
        }
      }
      return;
    }
    const sub = as(item, 'RangeSubselect');
    const query = as(sub?.subquery, 'SelectStmt');
    if (query) this.select(query, sub?.lateral ? scope : scope.parent, ctes);
  }

  private predicate(expr: unknown, scope: Scope): void {
    if (!expr) return;
    const bool = as(expr, 'BoolExpr');
    if (bool) {
      if (bool.boolop === 'AND_EXPR') return list(bool.args).forEach((a) => this.predicate(a, scope));
      if (bool.boolop === 'NOT_EXPR') {
        const t = this.term(list(bool.args)[0], scope);
        if (t?.column) t.entry.access.constants.push({ sql: `NOT ${t.sql}` });
      } else {
        this.notes.add('OR conditions are not used for index keys');
      }
      return this.sublinks(expr, scope);
    }
    const nullTest = as(expr, 'NullTest');
    if (nullTest) {
      const t = this.term(nullTest.arg, scope);
      if (t) t.entry.access.constants.push({ sql: `${t.sql} ${nullTest.nulltesttype === 'IS_NULL' ? 'IS NULL' : 'IS NOT NULL'}` });
      return;
    }
    if (as(expr, 'ColumnRef')) {
      const t = this.term(expr, scope);
      if (t) t.entry.access.constants.push({ sql: t.sql });
      return;
    }
    const a = as(expr, 'A_Expr');
    if (!a) return this.sublinks(expr, scope);
    const op = list(a.name).map(str).pop() ?? '';
    switch (a.kind) {
      case 'AEXPR_OP':
        return this.comparison(op, a.lexpr, a.rexpr, scope);
      case 'AEXPR_IN':
      case 'AEXPR_OP_ANY': {
        const t = this.term(a.lexpr, scope);
        if (!t || op !== '=') return;
        t.entry.access.equality.push(t.term);
        const values = a.kind === 'AEXPR_IN' ? list(as(a.rexpr, 'List')?.items ?? a.rexpr) : [a.rexpr];
        for (const v of values) this.useParam(this.value(v, scope), 'equality', t, a.kind === 'AEXPR_OP_ANY' ? { array: true } : {});
        return;
      }
      case 'AEXPR_BETWEEN':
      case 'AEXPR_BETWEEN_SYM': {
        const t = this.term(a.lexpr, scope);
        if (!t) return;
        t.entry.access.ranges.push(t.term);
        list(as(a.rexpr, 'List')?.items ?? a.rexpr).forEach((v, i) => this.useParam(this.value(v, scope), 'range', t, { bound: i === 0 ? 'lower' : 'upper' }));
        return;
      }
      case 'AEXPR_LIKE':
      case 'AEXPR_ILIKE':
        this.notes.add('LIKE/ILIKE patterns are not used for index keys (a pattern index needs text_pattern_ops or pg_trgm)');
        return;
      default:
        return this.sublinks(expr, scope);
    }
  }

  private comparison(op: string, left: unknown, right: unknown, scope: Scope): void {
    let l = this.term(left, scope);
    let r = this.term(right, scope);
    if (l && r && op === '=' && l.entry !== r.entry) {
      l.entry.access.equality.push(l.term);
      r.entry.access.equality.push(r.term);
      return;
    }
    let value: Value | undefined;
    let operator = op;
    if (l && !r) value = this.value(right, scope);
    else if (r && !l) {
      value = this.value(left, scope);
      operator = FLIP[op] ?? op;
      l = r;
    }
    r = undefined;
    if (!l || !value) return this.sublinks([left, right], scope);
    const access = l.entry.access;
    if (operator === '=') {
      access.equality.push(l.term);
      this.useParam(value, 'equality', l);
      if (value.kind === 'const') access.constants.push({ sql: `${l.sql} = ${value.sql}`, ...(l.column ? { fixes: l.column } : {}) });
    } else if (RANGE.has(operator)) {
      access.ranges.push(l.term);
      this.useParam(value, 'range', l, { bound: operator.startsWith('>') ? 'lower' : 'upper' });
    } else if ((operator === '<>' || operator === '!=') && value.kind === 'const') {
      access.constants.push({ sql: `${l.sql} <> ${value.sql}` });
    }
  }

  private having(node: Node, scope: Scope): void {
    this.sublinks(node.havingClause, scope);
  }

  private sort(items: unknown[], scope: Scope): void {
    const keys = items.map((item) => {
      const s = as(item, 'SortBy');
      const t = this.term(s?.node, scope);
      return t && { t, order: s?.sortby_dir === 'SORTBY_DESC' ? ('desc' as const) : ('asc' as const) };
    });
    if (!keys.length || keys.some((k) => !k)) return;
    const entry = keys[0]!.t.entry;
    if (keys.every((k) => k!.t.entry === entry)) entry.access.sort.push(...keys.map((k) => ({ term: k!.t.term, order: k!.order })));
  }

  private limit(node: unknown, use: 'limit' | 'offset'): void {
    const v = this.value(node, new Scope());
    if (v?.kind === 'param') this.params.push({ param: v.number, use });
  }

  private useParam(value: Value | undefined, use: 'equality' | 'range', t: Term, extra: Pick<ParamUse, 'bound' | 'array'> = {}): void {
    if (value?.kind === 'param') this.params.push({ param: value.number, use, table: t.entry.access.table, term: t.term, ...extra });
  }

  /** Subqueries inside expressions (EXISTS, IN (SELECT …), scalar subqueries), with the outer scope visible. */
  private sublinks(expr: unknown, scope: Scope): void {
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(visit);
      const n = obj(v);
      if (!n) return;
      const sub = obj(n.SubLink);
      const query = as(sub?.subselect, 'SelectStmt');
      if (query) {
        this.select(query, scope);
        if (sub?.testexpr) visit(sub.testexpr);
        return;
      }
      Object.values(n).forEach(visit);
    };
    visit(expr);
  }

  /** A column of a table in scope, or a function of columns of one table (`lower(email)`). */
  private term(node: unknown, scope: Scope): Term | undefined {
    const ref = as(node, 'ColumnRef');
    if (ref) {
      const fields = list(ref.fields).map(str);
      if (fields.some((f) => f === undefined)) return undefined;
      const found = scope.resolve(fields as string[]);
      return found && { entry: found.entry, term: { kind: 'column', column: found.column }, sql: displayIdent(found.column), column: found.column };
    }
    const call = as(node, 'FuncCall');
    if (!call || call.agg_star || call.over || call.agg_distinct) return undefined;
    const name = list(call.funcname).map(str);
    if (!name.length || name.some((n) => n === undefined)) return undefined;
    let entry: ScopeEntry | undefined;
    const args: string[] = [];
    for (const arg of list(call.args)) {
      const t = this.term(arg, scope);
      if (t) {
        if (entry && entry !== t.entry) return undefined;
        entry = t.entry;
        args.push(t.sql);
        continue;
      }
      const c = constant(arg);
      if (c === undefined) return undefined;
      args.push(c);
    }
    if (!entry) return undefined;
    const sql = `${(name as string[]).map(displayIdent).join('.')}(${args.join(', ')})`;
    return { entry, term: { kind: 'expression', expression: sql }, sql };
  }

  private value(node: unknown, scope: Scope): Value | undefined {
    const cast = as(node, 'TypeCast');
    if (cast) {
      const inner = this.value(cast.arg, scope);
      if (inner?.kind !== 'const') return inner;
      const c = constant(node);
      return c === undefined ? undefined : { kind: 'const', sql: c };
    }
    const param = as(node, 'ParamRef');
    if (param && typeof param.number === 'number') return { kind: 'param', number: param.number };
    const c = constant(node);
    if (c !== undefined) return { kind: 'const', sql: c };
    // A column of an enclosing query (correlated subquery), or an expression over no column of this
    // query (`now() - $1`): a value as far as an index on this query's tables goes.
    if (as(node, 'ColumnRef')) return { kind: 'outer' };
    return node !== undefined && !this.readsScope(node, scope) ? { kind: 'outer' } : undefined;
  }

  /** Whether an expression reads a column of a table of this scope (or holds a subquery). */
  private readsScope(node: unknown, scope: Scope): boolean {
    if (Array.isArray(node)) return node.some((n) => this.readsScope(n, scope));
    const n = obj(node);
    if (!n) return false;
    if (n.SubLink) return true;
    const ref = as(n, 'ColumnRef');
    if (ref) {
      const fields = list(ref.fields).map(str);
      return fields.every((f) => f !== undefined) && scope.resolve(fields as string[]) !== undefined;
    }
    return Object.values(n).some((v) => this.readsScope(v, scope));
  }
}

/** What a statement asks of each table, or why nothing can be taken from it. */
export function analyzeStatement(statement: ParsedStatement, catalog: TableCatalog): StatementAnalysis {
  const x = new Extractor(catalog);
  switch (statement.type) {
    case 'SelectStmt':
      x.select(statement.node);
      break;
    case 'UpdateStmt':
    case 'DeleteStmt':
      x.modify(statement.node);
      break;
    case 'InsertStmt': {
      const query = as(statement.node.selectStmt, 'SelectStmt');
      if (!query || list(query.valuesLists).length) return { ok: false, reason: 'INSERT … VALUES reads no rows: no index makes it faster (each index makes it slower)' };
      x.select(query);
      break;
    }
    default:
      return { ok: false, reason: `${statement.type.replace(/Stmt$/, '')} is not a query an index can serve` };
  }
  for (const a of x.accesses) dedupe(a);
  const useful = x.accesses.filter((a) => a.equality.length || a.ranges.length || a.sort.length || a.groupBy.length || a.constants.length);
  if (!useful.length) {
    if (x.missing.size) return { ok: false, reason: `table ${[...x.missing].join(', ')} not found in this database` };
    const why = x.notes.size ? ` (${[...x.notes].join('; ')})` : '';
    return { ok: false, reason: `no condition, join key, sort or grouping on a table column: nothing an index could serve${why}` };
  }
  const paramCount = maxParam(statement.node);
  const notes = [...x.notes, ...[...x.missing].map((m) => `table ${m} not found`)];
  return { ok: true, accesses: useful, params: x.params, paramCount, notes };
}

function dedupe(a: TableAccess): void {
  const uniq = <T>(items: T[], key: (t: T) => string) => items.filter((t, i) => items.findIndex((u) => key(u) === key(t)) === i);
  a.equality = uniq(a.equality, termKey);
  const eq = new Set(a.equality.map(termKey));
  a.ranges = uniq(a.ranges, termKey).filter((t) => !eq.has(termKey(t)));
  a.groupBy = uniq(a.groupBy, termKey);
  a.constants = uniq(a.constants, (c) => c.sql);
}
