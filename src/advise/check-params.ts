import type { QualifiedName } from '../sql/identifiers.js';
import { termKey, type KeyTerm, type ParamUse } from './access.js';
import { statsKey, type ColumnStats } from './catalog.js';

/**
 * Values for a check's `$n` parameters from the table's statistics (pure), so that the check
 * plans what the statement usually plans rather than a value no row has: an equality gets a
 * typical value (the histogram's median: a value that is not among the most common, so about as
 * selective as most), a range the last 1% of the histogram on its side, `LIMIT` a page of 20.
 */

export type CheckParam = string | number | null;

/** What the values are picked from: pg_stats per column, and a value read from the table for a key pg_stats has nothing on. */
export interface ParamFacts {
  stats: ReadonlyMap<string, ColumnStats>;
  samples: ReadonlyMap<string, string>;
}

export const sampleKey = (table: QualifiedName, term: KeyTerm) => `${table.schema}\u0000${table.name}\u0000${termKey(term)}`;

/** The keys a value has to be read from the table for: expressions, and columns without statistics. */
export function samplesNeeded(params: readonly ParamUse[], stats: ReadonlyMap<string, ColumnStats>): Array<{ table: QualifiedName; term: KeyTerm }> {
  const out = new Map<string, { table: QualifiedName; term: KeyTerm }>();
  for (const p of params) {
    if (!p.table || !p.term) continue;
    if (p.term.kind === 'column' && usable(stats.get(statsKey(p.table, p.term.column)))) continue;
    out.set(sampleKey(p.table, p.term), { table: p.table, term: p.term });
  }
  return [...out.values()];
}

/** Every parameter's value and where it came from, or the first parameter that has none. */
export function paramValues(params: readonly ParamUse[], paramCount: number, facts: ParamFacts): { values: CheckParam[]; sources: string[] } | { missing: string } {
  const values: CheckParam[] = [];
  const sources: string[] = [];
  for (let n = 1; n <= paramCount; n++) {
    const uses = params.filter((p) => p.param === n);
    const picked = uses.map((u) => pick(u, facts)).find((v) => v !== undefined);
    if (!picked) {
      return { missing: uses.length ? `no statistics or value for $${n} (${uses.map(describeUse).join(', ')})` : `$${n} is not compared with a table's column, so no value can be taken from statistics` };
    }
    values.push(picked.value);
    sources.push(`$${n}: ${picked.from}`);
  }
  return { values, sources };
}

function pick(use: ParamUse, facts: ParamFacts): { value: CheckParam; from: string } | undefined {
  if (use.use === 'limit') return { value: 20, from: 'a page of 20 rows' };
  if (use.use === 'offset') return { value: 0, from: 'the first page' };
  if (!use.table || !use.term) return undefined;
  const what = describeUse(use);
  const stats = use.term.kind === 'column' ? facts.stats.get(statsKey(use.table, use.term.column)) : undefined;
  let picked: { value: string; from: string } | undefined;
  const h = stats?.histogram ?? [];
  if (usable(stats)) {
    if (use.use === 'range' && h.length >= 3) {
      picked = use.bound === 'upper' ? { value: h[1]!, from: `${what}: the histogram's lowest 1%` } : { value: h[h.length - 2]!, from: `${what}: the histogram's highest 1%` };
    } else if (h.length) {
      picked = { value: h[Math.floor(h.length / 2)]!, from: `${what}: the histogram's median` };
    } else {
      picked = { value: stats!.mcv!.at(-1)!, from: `${what}: the least common of its most common values` };
    }
  } else {
    const sample = facts.samples.get(sampleKey(use.table, use.term));
    if (sample !== undefined) picked = { value: sample, from: `${what}: a value read from the table (no statistics on it)` };
  }
  if (!picked) return undefined;
  return use.array ? { value: `{${arrayElement(picked.value)}}`, from: `${picked.from}, as a one-element array` } : picked;
}

function usable(stats: ColumnStats | undefined): boolean {
  return Boolean(stats?.histogram?.length || stats?.mcv?.length);
}

function describeUse(use: ParamUse): string {
  const term = use.term ? (use.term.kind === 'column' ? use.term.column : use.term.expression) : '?';
  return `${use.table ? `${use.table.name}.` : ''}${term}`;
}

/** An element of an array literal, always double-quoted: any text stays one element. */
function arrayElement(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
