import type { IndexDeclaration, IndexKey } from '../model/declaration.js';

/**
 * advise's index set next to indexes/demo.yaml (pure): for each index of demo.yaml, the advised
 * index that serves the same lookups, if any. `same`: same table, keys and directions.
 * `equivalent`: the same keys, only the last one's direction differs (with the others pinned by
 * equality a btree sorts both ways) or every one's does (a backward scan), or more keys after the
 * same leading ones (serves every lookup demo.yaml's does).
 */

export type MatchKind = 'same' | 'equivalent' | 'missing';

export interface IndexMatch {
  demo: IndexDeclaration;
  advised?: IndexDeclaration;
  match: MatchKind;
}

export interface AdviceComparison {
  matches: IndexMatch[];
  /** Advised indexes that match none of demo.yaml's. */
  extra: IndexDeclaration[];
  /** demo.yaml indexes advise found (same or equivalent). */
  found: number;
}

export function compareWithDemoSet(demo: readonly IndexDeclaration[], advised: readonly IndexDeclaration[]): AdviceComparison {
  const used = new Set<IndexDeclaration>();
  const matches = demo.map((d): IndexMatch => {
    const candidates = advised.filter((a) => !used.has(a) && a.table.schema === d.table.schema && a.table.name === d.table.name && (a.where ?? '') === (d.where ?? ''));
    for (const kind of ['same', 'equivalent'] as const) {
      const hit = candidates.find((a) => keysMatch(d.keys, a.keys) === kind);
      if (hit) {
        used.add(hit);
        return { demo: d, advised: hit, match: kind };
      }
    }
    return { demo: d, match: 'missing' };
  });
  return { matches, extra: advised.filter((a) => !used.has(a)), found: matches.filter((m) => m.match !== 'missing').length };
}

function keysMatch(demo: readonly IndexKey[], advised: readonly IndexKey[]): MatchKind {
  if (advised.length < demo.length || !demo.every((k, i) => term(k) === term(advised[i]!))) return 'missing';
  const directions = demo.map((k, i) => (k.order ?? 'asc') === (advised[i]!.order ?? 'asc'));
  if (advised.length === demo.length && directions.every(Boolean)) return 'same';
  return directions.slice(0, -1).every(Boolean) || directions.every((same) => !same) ? 'equivalent' : 'missing';
}

/** A key's column or expression, compared without case, spaces or parentheses (`lower(handle)` = `LOWER((handle))`). */
function term(k: IndexKey): string {
  return (k.kind === 'column' ? k.column : k.expression).toLowerCase().replace(/[\s()]/g, '');
}

/** `(user_id, updated_at desc)`, for the summary. */
export function describeIndexKeys(ix: IndexDeclaration): string {
  return `(${ix.keys.map((k) => `${k.kind === 'column' ? k.column : k.expression}${k.order === 'desc' ? ' desc' : ''}`).join(', ')})${ix.where ? ` WHERE ${ix.where}` : ''}`;
}

/**
 * demo.yaml's checks with each `uses_index:` naming the advised index that matched it, as a
 * checks file (top-level `checks:`), so the checks after apply ask for the indexes advise made.
 */
export function checksForAdvisedSet(demoSetText: string, comparison: AdviceComparison): string {
  const start = demoSetText.search(/^checks:/m);
  if (start < 0) throw new Error('internal: indexes/demo.yaml has no checks');
  let checks = demoSetText.slice(start);
  for (const m of comparison.matches) {
    if (m.advised) checks = checks.replaceAll(`uses_index: ${m.demo.name}`, `uses_index: ${m.advised.name}`);
  }
  return `# dbtune demo: the checks of indexes/demo.yaml, each asking for the index advise made for its query\n${checks}`;
}
