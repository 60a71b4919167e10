import { termKey } from './access.js';
import type { Candidate } from './candidates.js';
import type { Chosen } from './select.js';

/**
 * Greedy selection can choose `(conversation_id)` first and `(conversation_id, created_at DESC)`
 * in a later round, for what the first left (the sort). The first is then redundant: a btree
 * serves every lookup on a leading prefix of its keys. This folds such an index into the longer
 * one (pure): its statements and saving move there, each statement's cost before → after spanning
 * both steps.
 */
export function foldLeadingPrefixes(chosen: readonly Chosen[]): Chosen[] {
  const out = chosen.map((c) => ({ ...c, serves: [...c.serves] }));
  for (const short of [...out].sort((a, b) => a.candidate.keys.length - b.candidate.keys.length)) {
    const long = out.filter((c) => c !== short && leads(short.candidate, c.candidate)).sort((a, b) => b.candidate.keys.length - a.candidate.keys.length)[0];
    if (!long) continue;
    for (const s of short.serves) {
      const same = long.serves.find((x) => x.statement === s.statement);
      if (same) Object.assign(same, { before: Math.max(same.before, s.before), after: Math.min(same.after, s.after) });
      else long.serves.push({ ...s });
    }
    long.saving += short.saving;
    out.splice(out.indexOf(short), 1);
  }
  return out;
}

/** Whether `short`'s keys lead `long`'s on the same table and predicate (directions equal, or all reversed: a backward scan), and `long` holds `short`'s INCLUDE columns. */
export function leads(short: Candidate, long: Candidate): boolean {
  if (short.table.schema !== long.table.schema || short.table.name !== long.table.name || (short.where ?? '') !== (long.where ?? '')) return false;
  if (short.keys.length >= long.keys.length) return false;
  // A covering (INCLUDE) index folds only into one that holds its columns too: else the index-only scan it was chosen for is lost.
  const held = new Set([...long.keys.map((k) => termKey(k.term)), ...(long.include ?? []).map((c) => termKey({ kind: 'column', column: c }))]);
  if ((short.include ?? []).some((c) => !held.has(termKey({ kind: 'column', column: c })))) return false;
  const prefix = long.keys.slice(0, short.keys.length);
  if (!prefix.every((k, i) => termKey(k.term) === termKey(short.keys[i]!.term))) return false;
  const same = prefix.every((k, i) => k.order === short.keys[i]!.order);
  const reversed = prefix.every((k, i) => k.order !== short.keys[i]!.order);
  return same || reversed;
}
