import { describe, expect, it } from 'vitest';
import { canonicalExpression, sameTree } from '../../src/sql/canonical-expression.js';
import type { PgDeparser } from '../../src/sql/pg-deparser.js';
import { loadPgDeparser } from '../../src/sql/pg-deparser.js';
import { loadPgParser } from '../../src/sql/pg-parser.js';

const parser = await loadPgParser();
const deparser = await loadPgDeparser();

const whereOf = (predicate: string) => parser.parse(`CREATE INDEX i ON t (a) WHERE ${predicate}`)[0]!.node.whereClause as Record<string, unknown>;
const lying = (text: string): PgDeparser => ({ expression: () => text });

describe('canonicalExpression', () => {
  it('deparses to one line PostgreSQL reads back as the same tree', () => {
    expect(canonicalExpression(parser, deparser, 'where', whereOf("status <> 'closed'\n  AND x IN (1, 2)"))).toEqual({ ok: true, sql: "status <> 'closed' AND x IN (1, 2)" });
  });

  it('refuses a deparse that means something else (a deparser slip never changes an index)', () => {
    const result = canonicalExpression(parser, lying('a OR b AND c'), 'where', whereOf('(a OR b) AND c'));
    expect(result).toMatchObject({ ok: false, error: expect.stringContaining('reads differently') });
  });

  it('refuses a deparse the fragment validator refuses', () => {
    const result = canonicalExpression(parser, lying('a) OR (b'), 'where', whereOf('a OR b'));
    expect(result).toMatchObject({ ok: false, error: expect.stringContaining('does not accept') });
  });

  it('compares trees without their positions', () => {
    expect(sameTree(whereOf('a  =  1'), whereOf('a = 1'))).toBe(true);
    expect(sameTree(whereOf('a = 1'), whereOf('a = 2'))).toBe(false);
  });
});
