import { describe, expect, it } from 'vitest';
import type { SqlSession } from '../../src/db/client.js';
import { executePlans } from '../../src/indexing/execute/execute-plans.js';
import type { ApplyEvent } from '../../src/indexing/execute/results.js';
import { DEFAULT_BUILD_SETTINGS } from '../../src/indexing/execute/settings.js';
import { planIndex } from '../../src/indexing/plan.js';
import { declaration } from './support/fixtures.js';

/** A session that answers every statement with no rows. */
function session(pid: number): SqlSession {
  return { pid, serverVersionNum: 170000, serverVersion: '17.0', broken: false, query: async () => [], close: async () => {} };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Connections to a role with CONNECTION LIMIT `limit`, checked the way
 * PostgreSQL checks it: a starting backend is counted before it counts the
 * others, and a refused one is counted until it has exited, so backends that
 * start together can all be refused.
 */
function roleWithLimit(limit: number, alreadyOpen: number) {
  let counted = alreadyOpen;
  let nextPid = 100;
  return async (): Promise<SqlSession> => {
    counted++;
    await tick();
    const refused = counted > limit;
    await tick();
    if (refused) {
      counted--;
      throw Object.assign(new Error(`too many connections for role "app"`), { code: '53300' });
    }
    return session(nextPid++);
  };
}

describe('executePlans: build sessions', () => {
  it('builds everything on the one session a role at its connection limit allows, when sessions that open together would all be refused', async () => {
    const plans = ['a', 'b', 'c'].map((t) => planIndex(declaration({ name: `idx_${t}`, table: { schema: 'public', name: t } }), { status: 'absent', reason: 'absent' }));
    const events: ApplyEvent[] = [];
    const run = await executePlans(session(1), roleWithLimit(2, 1), plans, { ...DEFAULT_BUILD_SETTINGS, jobs: 3, analyze: 'never', pollIntervalMs: 10 }, {
      signal: new AbortController().signal,
      onEvent: (event) => events.push(event),
    });
    expect(run.indexes.map((i) => [i.plan.declaration.name, i.action])).toEqual([
      ['idx_a', 'created'],
      ['idx_b', 'created'],
      ['idx_c', 'created'],
    ]);
    const notices = events.flatMap((e) => (e.type === 'notice' ? [e.message] : []));
    expect(notices).toContainEqual(expect.stringMatching(/^could open only 1 of 3 build sessions \(too many connections for role "app"\): building 1 at a time$/));
  });
});
