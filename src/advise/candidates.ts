import type { QualifiedName } from '../sql/identifiers.js';
import { termKey, type KeyTerm, type SortTerm, type TableAccess } from './access.js';

/**
 * Candidate indexes from what statements ask of their tables (pure). Keys go equality →
 * range → sort (with the sort's direction), at most three; expressions are keys like columns;
 * constant predicates give partial variants. Identical candidates from several statements merge.
 */

export interface CandidateKey {
  term: KeyTerm;
  order: 'asc' | 'desc';
}

export interface Candidate {
  /** Identity: table, keys with direction, predicate. */
  id: string;
  table: QualifiedName;
  keys: CandidateKey[];
  /** Predicate of a partial index. */
  where?: string;
  /** INCLUDE columns: what else the statement reads, for an index-only scan. */
  include?: string[];
  /** Ids of the statements it was made for. */
  statements: number[];
}

export const MAX_KEYS = 3;
/** A covering variant is offered when the statement reads at most this many columns besides the keys. */
export const MAX_INCLUDE = 3;

const key = (term: KeyTerm, order: 'asc' | 'desc' = 'asc'): CandidateKey => ({ term, order });

/** The key lists one table access suggests, most specific first, without duplicates. */
export function keyLists(access: TableAccess): CandidateKey[][] {
  const eq = access.equality.map((t) => key(t));
  const range = access.ranges.slice(0, 1).map((t) => key(t));
  const eqKeys = new Set(access.equality.map(termKey));
  const sort = access.sort.filter((s: SortTerm) => !eqKeys.has(termKey(s.term))).map((s) => key(s.term, s.order));
  const group = access.groupBy.filter((t) => !eqKeys.has(termKey(t))).map((t) => key(t));
  const lists = [
    [...eq, ...range, ...sort],
    [...eq, ...sort],
    [...eq, ...range],
    [...eq, ...group],
    eq,
    ...eq.map((k) => [k]),
    ...range.map((k) => [k]),
    sort.slice(0, 1),
    group.slice(0, 1),
  ];
  return uniqueLists(lists.map((l) => l.slice(0, MAX_KEYS)).filter((l) => l.length > 0));
}

/** Whether a column is narrow enough to INCLUDE (table-catalog.ts); every column is, when not said. */
export type IsNarrow = (table: QualifiedName, column: string) => boolean;

/** Candidates for one statement's table access: plain, partial when it has constant predicates, and covering variants. */
export function candidatesFor(access: TableAccess, statement: number, isNarrow: IsNarrow = () => true): Candidate[] {
  const plain = keyLists(access);
  const out = plain.map((keys) => candidate(access.table, keys, undefined, statement));
  if (access.constants.length) {
    const where = access.constants.map((c) => c.sql).join(' AND ');
    const fixed = new Set(access.constants.flatMap((c) => (c.fixes ? [termKey({ kind: 'column', column: c.fixes })] : [])));
    let partial = uniqueLists(plain.map((keys) => keys.filter((k) => !fixed.has(termKey(k.term)))).filter((l) => l.length > 0));
    // Nothing but constant predicates (`WHERE status = 'open'`): the pinned column keys the partial index.
    if (!partial.length) {
      const first = access.constants.find((c) => c.fixes)?.fixes;
      if (first) partial = [[key({ kind: 'column', column: first })]];
    }
    out.push(...partial.map((keys) => candidate(access.table, keys, where, statement)));
  }
  return [...out, ...coveringVariants(access, out, statement, isNarrow)];
}

/**
 * INCLUDE variants for an index-only scan, when the statement reads few columns besides the keys, all narrow:
 * of the most specific plain and partial candidates only (each variant is one more to score).
 * Scoring keeps one only where it saves more than the plain index (select.ts).
 */
function coveringVariants(access: TableAccess, made: readonly Candidate[], statement: number, isNarrow: IsNarrow): Candidate[] {
  if (!access.reads) return [];
  const firsts = [made.find((c) => !c.where), made.find((c) => c.where)].filter((c): c is Candidate => c !== undefined);
  return firsts.flatMap((c) => {
    const keyColumns = new Set(c.keys.flatMap((k) => (k.term.kind === 'column' ? [k.term.column] : [])));
    const extra = access.reads!.filter((column, i, all) => !keyColumns.has(column) && all.indexOf(column) === i);
    const fits = extra.length > 0 && extra.length <= MAX_INCLUDE && extra.every((column) => isNarrow(access.table, column));
    return fits ? [candidate(access.table, c.keys, c.where, statement, extra)] : [];
  });
}

/** Every statement's candidates, identical ones merged (their statements listed together). */
export function generateCandidates(statements: ReadonlyArray<{ id: number; accesses: readonly TableAccess[] }>, isNarrow: IsNarrow = () => true): Candidate[] {
  const byId = new Map<string, Candidate>();
  for (const s of statements) {
    for (const access of s.accesses) {
      for (const c of candidatesFor(access, s.id, isNarrow)) {
        const seen = byId.get(c.id);
        if (!seen) byId.set(c.id, c);
        else if (!seen.statements.includes(s.id)) seen.statements.push(s.id);
      }
    }
  }
  return [...byId.values()];
}

function candidate(table: QualifiedName, keys: CandidateKey[], where: string | undefined, statement: number, include?: string[]): Candidate {
  const id = `${table.schema}.${table.name}(${keys.map(keyText).join(', ')})${include ? ` INCLUDE (${include.join(', ')})` : ''}${where ? ` WHERE ${where}` : ''}`;
  return { id, table, keys, ...(where ? { where } : {}), ...(include ? { include } : {}), statements: [statement] };
}

export function keyText(k: CandidateKey): string {
  const t = k.term.kind === 'column' ? k.term.column : k.term.expression;
  return k.order === 'desc' ? `${t} DESC` : t;
}

function uniqueLists(lists: CandidateKey[][]): CandidateKey[][] {
  const seen = new Set<string>();
  return lists.filter((l) => {
    const id = l.map(keyText).join(',');
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
