import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createApplyProgress, describeProgress } from '../../src/indexing/apply-progress.js';
import type { BuildSnapshot } from '../../src/indexing/build-monitor.js';
import type { ApplyEvent } from '../../src/indexing/execute/results.js';
import type { IndexPlan } from '../../src/indexing/plan.js';
import { plainPaint } from '../../src/report/render-table.js';
import { declaration } from './support/fixtures.js';

function sink(): Writable & { text: string } {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      stream.text += chunk.toString();
      callback();
    },
  }) as Writable & { text: string };
  stream.text = '';
  return stream;
}

const plan = { declaration: declaration({ name: 'idx_a' }), statements: [], buildName: 'idx_a', action: 'create' } as unknown as IndexPlan;
const snapshot = (over: Partial<BuildSnapshot>): BuildSnapshot => ({
  pid: 7,
  queryStart: null,
  phase: 'building index: scanning table',
  waiting: false,
  waitEvent: null,
  blocksTotal: 200,
  blocksDone: 50,
  tuplesTotal: null,
  tuplesDone: null,
  lockersTotal: null,
  lockersDone: null,
  partitionsTotal: null,
  partitionsDone: null,
  blockers: [],
  ...over,
});

describe('describeProgress', () => {
  it.each<[Partial<BuildSnapshot>, string]>([
    [{}, 'building index: scanning table 25% (50/200 blocks)'],
    [{ phase: 'building index: loading tuples in tree', tuplesTotal: 1000, tuplesDone: 999 }, 'building index: loading tuples in tree 99% (999/1000 tuples)'],
    [{ phase: 'waiting for old snapshots', blocksTotal: null, lockersTotal: 3, lockersDone: 1 }, 'waiting for old snapshots (1/3 sessions)'],
    [{ phase: null, waiting: true, waitEvent: 'Lock:relation', blocksTotal: null }, 'waiting (Lock:relation)'],
  ])('%j → %s', (over, text) => {
    expect(describeProgress(snapshot(over))).toBe(text);
  });
});

describe('apply progress on stderr', () => {
  const events: ApplyEvent[] = [
    { type: 'statement', plan, statement: { purpose: 'create', sql: 'CREATE INDEX CONCURRENTLY "idx_a" ON "public"."t" ("a")' }, pid: 7 },
    { type: 'progress', plan, snapshot: snapshot({}), elapsedMs: 1200 },
    { type: 'progress', plan, snapshot: snapshot({ blocksDone: 100 }), elapsedMs: 1700 },
    {
      type: 'waiting',
      plan,
      onOwnBuilds: false,
      waitedMs: 3000,
      blockers: [{ pid: 99, state: 'idle in transaction', transactionAgeSeconds: 42, query: 'SELECT 1', applicationName: 'psql', user: 'app' }],
    },
    { type: 'done', result: { plan, action: 'created', reason: 'built', executed: ['x'], durationMs: 2500 } },
  ];

  it('redraws one status line in place on a terminal', () => {
    const out = sink();
    const onEvent = createApplyProgress(out, { tty: true, paint: plainPaint });
    for (const e of events) onEvent(e);
    expect(out.text).toContain('\r\u001b[2Kidx_a: building index: scanning table 50% (100/200 blocks) 1.7s');
    expect(out.text).toContain('pid 99 (idle in transaction, transaction open 42s, psql): SELECT 1');
    expect(out.text).toMatch(/idx_a: created in 2\.5s\n/);
  });

  it('writes plain lines elsewhere, one per phase, no control characters', () => {
    const out = sink();
    const onEvent = createApplyProgress(out, { tty: false, paint: plainPaint });
    for (const e of events) onEvent(e);
    expect(out.text).not.toMatch(/[\r\u001b]/);
    const lines = out.text.trimEnd().split('\n');
    expect(lines.filter((l) => l.includes('scanning table'))).toEqual(['idx_a: building index: scanning table 25% (50/200 blocks) (1.2s)']);
    expect(lines.at(-1)).toBe('idx_a: created in 2.5s');
  });
});
