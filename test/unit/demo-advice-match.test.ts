import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { checksForAdvisedSet, compareWithDemoSet } from '../../src/demo/advice-match.js';
import type { IndexDeclaration, IndexKey } from '../../src/model/declaration.js';

const ix = (name: string, table: string, keys: Array<string | [string, 'desc']>, where?: string): IndexDeclaration => ({
  name,
  table: { schema: 'public', name: table },
  method: 'btree',
  unique: false,
  keys: keys.map((k): IndexKey => {
    const [text, order] = typeof k === 'string' ? [k, undefined] : k;
    const term: IndexKey = text.includes('(') ? { kind: 'expression', expression: text } : { kind: 'column', column: text };
    return order ? { ...term, order } : term;
  }),
  include: [],
  ...(where ? { where } : {}),
  storage: {},
  nullsNotDistinct: false,
  set: 's',
  source: { file: 'f', line: 1, col: 1 },
});

describe("advise's set next to indexes/demo.yaml", () => {
  it.each([
    { advised: ix('a', 'messages', ['conversation_id', ['created_at', 'desc']]), match: 'same' },
    { advised: ix('a', 'messages', ['conversation_id', 'created_at']), match: 'equivalent' },
    { advised: ix('a', 'messages', ['conversation_id', ['created_at', 'desc'], 'role']), match: 'equivalent' },
    { advised: ix('a', 'messages', ['conversation_id']), match: 'missing' },
    { advised: ix('a', 'messages', [['conversation_id', 'desc'], 'created_at']), match: 'equivalent' },
    { advised: ix('a', 'messages', ['created_at', 'conversation_id']), match: 'missing' },
    { advised: ix('a', 'events', ['conversation_id', ['created_at', 'desc']]), match: 'missing' },
    { advised: ix('a', 'messages', ['conversation_id', ['created_at', 'desc']], "role = 'user'"), match: 'missing' },
  ])('$advised.table.name $advised.keys → $match', ({ advised, match }) => {
    const demo = ix('idx_messages_conversation_created', 'messages', ['conversation_id', ['created_at', 'desc']]);
    expect(compareWithDemoSet([demo], [advised]).matches[0]!.match).toBe(match);
  });

  it('compares expressions without case or parentheses, counts what it found and lists the rest', () => {
    const demo = [ix('idx_users_lower_handle', 'users', ['lower(handle)']), ix('idx_events_user_created', 'events', ['user_id', ['created_at', 'desc']])];
    const advised = [ix('idx_users_lower_handle_2', 'users', ['LOWER((handle))']), ix('idx_leads_x', 'leads', ['tenant_id'])];
    const c = compareWithDemoSet(demo, advised);
    expect(c.matches.map((m) => [m.match, m.advised?.name])).toEqual([['same', 'idx_users_lower_handle_2'], ['missing', undefined]]);
    expect(c.found).toBe(1);
    expect(c.extra.map((e) => e.name)).toEqual(['idx_leads_x']);
  });

  it("rewrites demo.yaml's checks to ask for the advised indexes", async () => {
    const text = await readFile(new URL('../../indexes/demo.yaml', import.meta.url), 'utf8');
    const c = compareWithDemoSet([ix('idx_users_lower_handle', 'users', ['lower(handle)'])], [ix('idx_users_lower_handle_adv', 'users', ['lower(handle)'])]);
    const checks = checksForAdvisedSet(text, c);
    expect(checks).toMatch(/^# dbtune demo[^\n]*\nchecks:\n/);
    expect(checks).toContain('uses_index: idx_users_lower_handle_adv,');
    expect(checks).not.toContain('idx_users_lower_handle,');
    expect(checks).not.toMatch(/^indexes:/m);
  });
});

describe('afterAdvice', () => {
  it('applies indexes/demo.yaml when advise wrote no set (it advised nothing), whatever an earlier file said', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { afterAdvice } = await import('../../src/demo/advised-set.js');
    const root = path.resolve(import.meta.dirname, '../..');
    const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-after-advice-'));
    try {
      const demoSet = path.join(root, 'indexes/demo.yaml');
      const after = await afterAdvice({ demoSet, advisedSet: path.join(dir, 'advised.yaml'), scenario: path.join(root, 'scenarios/demo.yaml'), dir });
      expect(after.appliesAdvised).toBe(false);
      expect(after.set).toBe(demoSet);
      expect(after.comparison.found).toBe(0);
      expect(after.comparison.matches.length).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
