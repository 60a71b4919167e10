import { beforeAll, describe, expect, it } from 'vitest';
import type { SqlSession } from '../../src/db/client.js';
import { readPgStatStatements, statementsFromFile } from '../../src/advise/workload.js';
import { statementsFromLoadResult } from '../../src/advise/saved-workload.js';
import type { LoadResult } from '../../src/model/load-result.js';
import { InputProblemsError } from '../../src/config/problems.js';
import { loadPgParser, type PgParser } from '../../src/sql/pg-parser.js';

let parser: PgParser;
beforeAll(async () => {
  parser = await loadPgParser();
});

describe('advise workload', () => {
  it('splits a SQL file with the parser, each statement one call, with file:line', () => {
    const text = "-- hot\nSELECT 1;\n\n  SELECT 'a;b'\n  FROM t;\nSELECT 'é'; SELECT 2";
    const statements = statementsFromFile('w.sql', text, parser);
    expect(statements.map((s) => [s.query, s.origin, s.calls])).toEqual([
      ['SELECT 1', 'w.sql:2', 1],
      ["SELECT 'a;b'\n  FROM t", 'w.sql:4', 1],
      ["SELECT 'é'", 'w.sql:6', 1],
      ['SELECT 2', 'w.sql:6', 1],
    ]);
  });

  it('refuses a file with a syntax error, at file:line:col (exit 2)', () => {
    let error: unknown;
    try {
      statementsFromFile('w.sql', 'SELECT 1;\n  SELEC 2;', parser);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputProblemsError);
    expect((error as InputProblemsError).problems[0]).toMatchObject({ file: 'w.sql', line: 2, col: 3 });
  });

  it('keeps a pg_stat_statements text the parser rejects, with the reason, instead of dropping it', async () => {
    const session = {
      serverVersionNum: 150000,
      async query(sql: string) {
        if (sql.includes('pg_extension')) return [{ schema: 'public' }];
        return [
          { query: 'SELECT * FROM t WHERE id = $1', calls: '12', total_ms: 30 },
          { query: 'SELECT * FROM t WHERE', calls: '3', total_ms: 10 },
        ];
      },
    } as unknown as SqlSession;
    const [good, bad] = await readPgStatStatements(session, parser, 20);
    expect(good).toMatchObject({ id: 1, calls: 12, totalMs: 30 });
    expect(good!.parsed?.type).toBe('SelectStmt');
    expect(bad!.parsed).toBeUndefined();
    expect(bad!.parseError).toMatch(/parser rejects the text: syntax error at end of input/);
  });

  it('reads a saved load result: calls and time summed over the stages, most time first; an older result gives its top statements', () => {
    const stage = (n: number, database: object) => ({ stage: n, database }) as unknown as LoadResult['stages'][number];
    const a = 'SELECT * FROM t WHERE a = $1';
    const b = 'SELECT * FROM t WHERE b = $1';
    const shortened = `SELECT ${'x, '.repeat(120)}`.slice(0, 297) + '...';
    const watched = (statements: object[]) => ({ source: 'pg_stat_statements', statements, top_statements: [], top_statements_by_time: [] });
    const older = { source: 'pg_stat_statements', top_statements: [{ query: a, calls: 5, total_ms: 1 }, { query: shortened, calls: 1, total_ms: 9 }], top_statements_by_time: [{ query: a, calls: 5, total_ms: 1 }] };
    const result = {
      stages: [
        stage(1, watched([{ query: b, calls: 10, total_ms: 20 }, { query: a, calls: 100, total_ms: 5 }])),
        stage(2, { error: 'connection lost' }),
        stage(3, older),
      ],
    } as unknown as LoadResult;
    const { statements, notes } = statementsFromLoadResult('r.json', result, parser, 20);
    expect(statements.map((s) => [s.query, s.calls, s.totalMs, s.origin, s.parseError !== undefined])).toEqual([
      [b, 10, 20, 'r.json stage 1', false],
      [shortened, 1, 9, 'r.json stage 3', true],
      [a, 105, 6, 'r.json stages 1, 3', false],
    ]);
    expect(statements[1]!.parseError).toMatch(/shortened when the result was saved/);
    expect(notes).toEqual(['stage 3 was saved by an older dbtune: only its top statements are known']);
    const olderOnly = { stages: [stage(1, older), stage(2, older)] } as unknown as LoadResult;
    expect(statementsFromLoadResult('r.json', olderOnly, parser, 20).notes).toEqual(['stages 1, 2 were saved by an older dbtune: only their top statements are known']);
    expect(statementsFromLoadResult('r.json', result, parser, 1).statements).toHaveLength(1);
  });
});
