import { describe, expect, it } from 'vitest';
import { failureReason, type FailedStatement } from '../../src/indexing/execute/classify-failure.js';
import { DEFAULT_BUILD_SETTINGS } from '../../src/indexing/execute/settings.js';

const create = { purpose: 'create', sql: 'CREATE INDEX CONCURRENTLY i ON t (a)' } as const;
const attach = { purpose: 'attach', sql: 'ALTER INDEX p ATTACH PARTITION c', briefLock: true } as const;
const blocker = { pid: 42, state: 'idle in transaction', transactionAgeSeconds: 61.4, query: 'SELECT  1', applicationName: 'psql', user: 'app' };

const failure = (over: Partial<FailedStatement>): FailedStatement => ({ error: { message: 'boom' }, statement: create, blockers: [], aborted: false, ...over });

describe('failureReason', () => {
  it.each([
    ['our own cancel on Ctrl-C', failure({ cancelReason: 'interrupted', error: { code: '57014', message: 'canceling statement due to user request' } }), {}, 'interrupted'],
    ['a cancel seen after Ctrl-C', failure({ aborted: true, error: { code: '57014', message: 'canceling statement due to user request' } }), {}, 'interrupted'],
    ['the --max-wait cancel', failure({ cancelReason: 'cancelled after waiting 2s', error: { code: '57014', message: 'x' } }), {}, 'cancelled after waiting 2s'],
    ['lock_timeout, with whom it waited for', failure({ error: { code: '55P03', message: 'x' }, blockers: [blocker] }), { lockTimeoutMs: 2000 }, 'lock_timeout (2.0s) ran out waiting for a lock; held by pid 42 (idle in transaction, transaction open 61s, psql): SELECT 1'],
    ['a brief lock not granted (default 5 s)', failure({ error: { code: '55P03', message: 'x' }, statement: attach }), {}, 'the brief lock for ATTACH PARTITION was not granted within 5.0s (sessions are using the table; try again later)'],
    ["PostgreSQL's message and detail", failure({ error: { code: '23505', message: 'could not create unique index "i"', detail: 'Key (a)=(…) is duplicated.' } }), {}, 'could not create unique index "i" (Key (a)=(…) is duplicated.)'],
  ])('%s', (_name, input, settings, expected) => {
    expect(failureReason(input, { ...DEFAULT_BUILD_SETTINGS, ...settings })).toBe(expected);
  });
});
