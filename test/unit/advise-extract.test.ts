import { beforeAll, describe, expect, it } from 'vitest';
import type { StatementAnalysis } from '../../src/advise/access.js';
import { analyzeStatement } from '../../src/advise/extract.js';
import { referencedTables } from '../../src/advise/parse-tree.js';
import { TableCatalog } from '../../src/advise/table-catalog.js';
import { loadPgParser, type PgParser } from '../../src/sql/pg-parser.js';

/** Extraction from PostgreSQL's parse trees of real statements, against a fixed catalog. */

const catalog = new TableCatalog([
  { schema: 'public', name: 'users', visible: true, kind: 'r', columns: ['id', 'email', 'created_at', 'active'] },
  { schema: 'public', name: 'conversations', visible: true, kind: 'r', columns: ['id', 'user_id', 'created_at', 'title'] },
  { schema: 'public', name: 'orders', visible: true, kind: 'r', columns: ['id', 'customer_id', 'status', 'total', 'deleted_at'] },
  { schema: 'sales', name: 'orders', visible: false, kind: 'r', columns: ['id', 'region'] },
  { schema: 'public', name: 'v', visible: true, kind: 'v', columns: ['id'] },
]);

let parser: PgParser;
beforeAll(async () => {
  parser = await loadPgParser();
});

function analyze(sql: string): StatementAnalysis {
  return analyzeStatement(parser.parse(sql)[0]!, catalog);
}

function accesses(sql: string) {
  const a = analyze(sql);
  if (!a.ok) throw new Error(a.reason);
  return a.accesses.map((x) => ({ ...x, table: `${x.table.schema}.${x.table.name}` }));
}

describe('analyzeStatement', () => {
  it.each([
    {
      sql: 'SELECT * FROM conversations WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2',
      want: { table: 'public.conversations', equality: [{ kind: 'column', column: 'user_id' }], sort: [{ term: { kind: 'column', column: 'created_at' }, order: 'desc' }] },
    },
    {
      sql: 'SELECT id FROM users u WHERE lower(u.email) = $1',
      want: { table: 'public.users', equality: [{ kind: 'expression', expression: 'lower(email)' }] },
    },
    {
      sql: "SELECT * FROM orders WHERE status <> 'closed' AND deleted_at IS NULL AND total BETWEEN $1 AND $2",
      want: { table: 'public.orders', ranges: [{ kind: 'column', column: 'total' }], constants: [{ sql: "status <> 'closed'" }, { sql: 'deleted_at IS NULL' }] },
    },
    {
      sql: "SELECT count(*) FROM orders WHERE status = 'open' AND customer_id IN ($1, $2) AND id = ANY($3)",
      want: { equality: [{ kind: 'column', column: 'status' }, { kind: 'column', column: 'customer_id' }, { kind: 'column', column: 'id' }], constants: [{ sql: "status = 'open'", fixes: 'status' }] },
    },
    {
      sql: 'SELECT total FROM orders WHERE $1 < total GROUP BY total',
      want: { ranges: [{ kind: 'column', column: 'total' }], groupBy: [{ kind: 'column', column: 'total' }] },
    },
    {
      sql: "SELECT * FROM users WHERE created_at > now() - interval '1 day' AND active",
      want: { ranges: [{ kind: 'column', column: 'created_at' }], constants: [{ sql: 'active' }] },
    },
    {
      sql: 'UPDATE orders SET total = 0 WHERE customer_id = $1::bigint',
      want: { table: 'public.orders', equality: [{ kind: 'column', column: 'customer_id' }] },
    },
  ])('$sql', ({ sql, want }) => {
    expect(accesses(sql)[0]).toMatchObject(want);
  });

  it('resolves aliases and unqualified columns across a join, and takes the join keys on both sides', () => {
    const [users, conversations] = accesses('SELECT c.title FROM users u JOIN conversations c ON c.user_id = u.id WHERE email = $1 ORDER BY c.created_at');
    expect(users).toMatchObject({ table: 'public.users', equality: [{ column: 'email' }, { column: 'id' }] });
    expect(conversations).toMatchObject({ table: 'public.conversations', equality: [{ column: 'user_id' }], sort: [{ term: { column: 'created_at' }, order: 'asc' }] });
  });

  it('follows subqueries and CTEs, qualified schemas, and does not take a sort across two tables', () => {
    const found = accesses('WITH recent AS (SELECT * FROM sales.orders WHERE region = $1) SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM conversations c WHERE c.user_id = u.id) ORDER BY u.id, (SELECT 1)');
    // The correlated `c.user_id = u.id` is a join key on both sides.
    expect(found.map((a) => a.table)).toEqual(['sales.orders', 'public.users', 'public.conversations']);
    expect(found[0]).toMatchObject({ equality: [{ column: 'region' }] });
    expect(found[1]!.sort).toEqual([]);
    const [u, c] = accesses('SELECT * FROM users u JOIN conversations c ON c.user_id = u.id ORDER BY u.created_at, c.created_at');
    expect(u!.sort).toEqual([]);
    expect(c!.sort).toEqual([]);
  });

  it.each([
    ['SELECT id, total FROM orders WHERE customer_id = $1', [['id', 'total', 'customer_id']]],
    ['SELECT sum(total) FROM orders o WHERE o.customer_id = $1 GROUP BY status', [['total', 'customer_id', 'status']]],
    ['SELECT * FROM orders WHERE customer_id = $1', [undefined]],
    ['SELECT o.*, u.email FROM orders o JOIN users u ON u.id = o.customer_id WHERE u.active', [undefined, ['email', 'id', 'active']]],
    ['SELECT row_to_json(u) FROM users u WHERE id = $1', [undefined]],
    ['SELECT u.email FROM users u WHERE EXISTS (SELECT * FROM conversations c WHERE c.user_id = u.id)', [['email', 'id'], undefined]],
    ['UPDATE orders SET status = $1 WHERE customer_id = $2', [undefined]],
  ])('records the columns %s reads of each table, or none when it reads whole rows', (sql, reads) => {
    expect(accesses(sql).map((a) => a.reads && [...a.reads].sort())).toEqual(reads.map((r) => r && [...r].sort()));
  });

  it('counts parameters and records what each one is compared with', () => {
    const a = analyze('SELECT * FROM conversations WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2 OFFSET $3');
    expect(a.ok && a.paramCount).toBe(3);
    expect(a.ok && a.params.map((p) => p.use)).toEqual(['equality', 'limit', 'offset']);
    const b = analyze('SELECT * FROM conversations WHERE $1 < created_at AND created_at <= $2 AND user_id = ANY($3) AND id BETWEEN $4 AND $5');
    expect(b.ok && b.params.map((p) => [p.param, p.use, p.bound ?? p.array])).toEqual([
      [1, 'range', 'lower'],
      [2, 'range', 'upper'],
      [3, 'equality', true],
      [4, 'range', 'lower'],
      [5, 'range', 'upper'],
    ]);
  });

  it.each([
    ["INSERT INTO orders VALUES (1, 2, 'open', 3)", /INSERT … VALUES/],
    ['SET work_mem = 1', /VariableSet is not a query/],
    ['SELECT * FROM users', /nothing an index could serve/],
    ['SELECT * FROM missing WHERE id = 1', /table missing not found/],
    ['SELECT * FROM v WHERE id = 1', /view: not indexed directly/],
    ['SELECT * FROM users WHERE id = 1 OR email = $1', /OR conditions are not used/],
  ])('says why it cannot use %s', (sql, reason) => {
    const a = analyze(sql);
    expect(a.ok).toBe(false);
    expect(!a.ok && a.reason).toMatch(reason);
  });

  it('lists the tables a statement mentions, CTE names included, for the one catalog query', () => {
    const names = referencedTables(parser.parse('WITH x AS (SELECT 1) UPDATE orders o SET total = 1 FROM users u, x WHERE u.id = o.customer_id')[0]!);
    expect(names.map((n) => n.name).sort()).toEqual(['orders', 'users', 'x']);
  });
});
