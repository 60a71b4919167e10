import { describe, expect, it } from 'vitest';
import { analyzeDecision, analyzeNeed, autoanalyzeLimit, type TableStatistics } from '../../src/indexing/execute/analyze-need.js';

/** A table of 1.5M rows analyzed a while ago, 12 changes since, server defaults (50 + 0.1 × reltuples). */
function stats(overrides: Partial<TableStatistics> = {}, activity: Partial<NonNullable<TableStatistics['activity']>> = {}): TableStatistics {
  return {
    partitioned: false,
    reltuples: 1_500_000,
    activity: { modsSinceAnalyze: 12, analyzed: true, autoanalyzed: false, ...activity },
    server: { threshold: 50, scaleFactor: 0.1 },
    table: {},
    ...overrides,
  };
}

describe('analyzeNeed: ANALYZE only where it adds statistics', () => {
  it('skips a table with current statistics and only plain-column indexes, saying why with the numbers', () => {
    expect(analyzeNeed(stats(), false)).toEqual({
      analyze: false,
      reason: 'statistics current: 12 changes since the last analyze (autovacuum analyzes after 150,050); plain-column indexes add no statistics',
    });
    expect(analyzeNeed(stats({}, { modsSinceAnalyze: 1 }), false).reason).toMatch(/^statistics current: 1 change since/);
  });

  it('analyzes when an expression index was built, however current the statistics', () => {
    expect(analyzeNeed(stats(), true)).toEqual({ analyze: true, reason: expect.stringMatching(/^an expression index: PostgreSQL gathers statistics on index expressions only during ANALYZE/) });
  });

  it('analyzes a table never analyzed, by hand or by autovacuum', () => {
    expect(analyzeNeed(stats({}, { analyzed: false, autoanalyzed: false, modsSinceAnalyze: 0 }), false)).toEqual({ analyze: true, reason: 'never analyzed' });
  });

  it('counts autovacuum’s analyze for a plain table', () => {
    expect(analyzeNeed(stats({}, { analyzed: false, autoanalyzed: true }), false).analyze).toBe(false);
  });

  it('counts only a manual analyze for a partitioned table, and analyzes it otherwise: PostgreSQL counts no changes for it', () => {
    expect(analyzeNeed(stats({ partitioned: true }, { analyzed: false, autoanalyzed: true }), false)).toEqual({ analyze: true, reason: 'never analyzed' });
    expect(analyzeNeed(stats({ partitioned: true }, { modsSinceAnalyze: 0 }), false)).toEqual({ analyze: true, reason: expect.stringMatching(/^a partitioned table: .*cannot be told$/) });
  });

  it('analyzes when the statistics cannot be read: no row in the view, or no answer at all', () => {
    const { activity: _none, ...noRow } = stats();
    expect(analyzeNeed(noRow, false)).toEqual({ analyze: true, reason: 'statistics could not be read (no row for it in pg_stat_all_tables)' });
    expect(analyzeNeed(undefined, false)).toEqual({ analyze: true, reason: 'statistics could not be read' });
  });

  it('analyzes stale statistics by autovacuum’s rule: more changes than threshold + scale factor × reltuples', () => {
    expect(analyzeNeed(stats({}, { modsSinceAnalyze: 150_050 }), false).analyze).toBe(false);
    expect(analyzeNeed(stats({}, { modsSinceAnalyze: 150_051 }), false)).toEqual({
      analyze: true,
      reason: 'statistics stale: 150,051 changes since the last analyze (autovacuum analyzes after 150,050)',
    });
  });

  it('lets the table’s own reloptions override the server’s settings, each on its own', () => {
    expect(autoanalyzeLimit(stats({ table: { threshold: 1000 } }))).toBe(151_000);
    expect(autoanalyzeLimit(stats({ table: { scaleFactor: 0 } }))).toBe(50);
    expect(autoanalyzeLimit(stats({ table: { threshold: 5, scaleFactor: 0.5 }, reltuples: 100 }))).toBe(55);
    expect(analyzeNeed(stats({ table: { scaleFactor: 0, threshold: 10 } }, { modsSinceAnalyze: 11 }), false).analyze).toBe(true);
  });

  it('counts reltuples -1 (never vacuumed or analyzed, PostgreSQL 14+) as 0, as autovacuum does', () => {
    expect(autoanalyzeLimit(stats({ reltuples: -1 }))).toBe(50);
  });

  it('computes the threshold in single precision, as autovacuum does', () => {
    // 0.57 × 100 is 56.99… in doubles, 57 in PostgreSQL's float4 arithmetic: 57 changes are not more than that.
    expect(autoanalyzeLimit(stats({ server: { threshold: 0, scaleFactor: 0.57 }, reltuples: 100 }))).toBe(57);
  });
});

describe('analyzeDecision: the modes', () => {
  it('reports nothing with --no-analyze', () => {
    expect(analyzeDecision('never', undefined, true)).toBeUndefined();
  });

  it('analyzes current statistics too with --always-analyze', () => {
    expect(analyzeDecision('always', stats(), false)).toEqual({ analyze: true, reason: 'always (--always-analyze)' });
  });

  it('decides by the statistics by default', () => {
    expect(analyzeDecision('when-useful', stats(), false)?.analyze).toBe(false);
    expect(analyzeDecision('when-useful', stats(), true)?.analyze).toBe(true);
  });
});
