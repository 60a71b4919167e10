import { quoteIdent, quoteQualified } from '../sql/identifiers.js';
import type { KeyTerm } from './access.js';
import type { Candidate, CandidateKey } from './candidates.js';

/**
 * `CREATE INDEX ON …` for a candidate: what hypopg_create_index is given. With `concurrentlyAs`,
 * the real build of advise --build: `CREATE INDEX CONCURRENTLY <name> ON …`.
 */
export function createIndexText(candidate: Candidate, concurrentlyAs?: string): string {
  const keys = candidate.keys.map(keySql).join(', ');
  const include = candidate.include ? ` INCLUDE (${candidate.include.map(quoteIdent).join(', ')})` : '';
  const head = concurrentlyAs === undefined ? 'CREATE INDEX' : `CREATE INDEX CONCURRENTLY ${quoteIdent(concurrentlyAs)}`;
  return `${head} ON ${quoteQualified(candidate.table)} (${keys})${include}${candidate.where ? ` WHERE ${candidate.where}` : ''}`;
}

function keySql(k: CandidateKey): string {
  const t = termSql(k.term);
  return k.order === 'desc' ? `${t} DESC` : t;
}

/** A key term as SQL: a quoted column, or the expression in parentheses. */
export function termSql(term: KeyTerm): string {
  return term.kind === 'column' ? quoteIdent(term.column) : `(${term.expression})`;
}

/** A readable index name within PostgreSQL's 63 bytes: `idx_<table>_<keys>[_partial]`, made unique against `taken`. */
export function indexName(candidate: Candidate, taken: Set<string>): string {
  const words = candidate.keys.map((k) => (k.term.kind === 'column' ? k.term.column : k.term.expression).toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, ''));
  const base = `idx_${candidate.table.name.toLowerCase().replace(/[^a-z0-9]+/g, '_')}_${words.join('_')}${candidate.where ? '_partial' : ''}`.slice(0, 58).replace(/_$/, '');
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
  taken.add(name);
  return name;
}
