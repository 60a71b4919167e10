import { describe, expect, it } from 'vitest';
import type { Candidate } from '../../src/advise/candidates.js';
import { foldLeadingPrefixes, leads } from '../../src/advise/redundant.js';
import type { Chosen } from '../../src/advise/select.js';

const table = { schema: 'public', name: 'messages' };
const cand = (id: string, keys: Array<[string, 'asc' | 'desc']>, where?: string, include?: string[]): Candidate => ({
  id,
  table,
  keys: keys.map(([column, order]) => ({ term: { kind: 'column', column }, order })),
  ...(where ? { where } : {}),
  ...(include ? { include } : {}),
  statements: [1],
});

describe('a chosen index that leads another chosen one is folded into it', () => {
  it.each([
    { short: cand('a', [['c', 'asc']]), long: cand('b', [['c', 'asc'], ['t', 'desc']]), folded: true },
    { short: cand('a', [['c', 'desc']]), long: cand('b', [['c', 'asc'], ['t', 'desc']]), folded: true },
    { short: cand('a', [['c', 'asc'], ['t', 'asc']]), long: cand('b', [['c', 'asc'], ['t', 'desc'], ['x', 'asc']]), folded: false },
    { short: cand('a', [['t', 'asc']]), long: cand('b', [['c', 'asc'], ['t', 'desc']]), folded: false },
    { short: cand('a', [['c', 'asc']], "role = 'user'"), long: cand('b', [['c', 'asc'], ['t', 'desc']]), folded: false },
    { short: cand('a', [['c', 'asc'], ['t', 'desc']]), long: cand('b', [['c', 'asc'], ['t', 'desc']]), folded: false },
    // A covering index keeps its index-only scan only where the longer one holds its INCLUDE columns.
    { short: cand('a', [['c', 'asc']], undefined, ['title']), long: cand('b', [['c', 'asc'], ['t', 'desc']]), folded: false },
    { short: cand('a', [['c', 'asc']], undefined, ['t']), long: cand('b', [['c', 'asc'], ['t', 'desc']]), folded: true },
    { short: cand('a', [['c', 'asc']], undefined, ['title']), long: cand('b', [['c', 'asc'], ['t', 'desc']], undefined, ['title']), folded: true },
  ])('$short.id $short.keys.length keys in $long.id: $folded', ({ short, long, folded }) => {
    expect(leads(short, long)).toBe(folded);
  });

  it('moves the statements and the saving, the cost spanning both steps', () => {
    const chosen: Chosen[] = [
      { candidate: cand('single', [['conversation_id', 'asc']]), serves: [{ statement: 1, before: 2111, after: 19.7 }], saving: 2000 },
      { candidate: cand('other', [['role', 'asc']]), serves: [{ statement: 2, before: 500, after: 10 }], saving: 490 },
      { candidate: cand('composite', [['conversation_id', 'asc'], ['created_at', 'desc']]), serves: [{ statement: 1, before: 19.7, after: 5.4 }], saving: 14 },
    ];
    const folded = foldLeadingPrefixes(chosen);
    expect(folded.map((c) => c.candidate.id)).toEqual(['other', 'composite']);
    expect(folded[1]).toMatchObject({ serves: [{ statement: 1, before: 2111, after: 5.4 }], saving: 2014 });
    expect(chosen[2]!.saving).toBe(14);
  });
});
