import { describe, expect, it } from 'vitest';
import { analyzeSql, createIndexSql, dropIndexSql, renameIndexSql, type CreateIndexOptions } from '../../src/indexing/index-sql.js';
import type { IndexDeclaration } from '../../src/model/declaration.js';
import { declaration } from './support/fixtures.js';

describe('createIndexSql', () => {
  const everything = declaration({
    name: 'idx_orders_all',
    unique: true,
    keys: [
      { kind: 'column', column: 'created_at', order: 'desc', nulls: 'last' },
      { kind: 'expression', expression: 'lower(handle)' },
      { kind: 'column', column: 'email', collate: 'C', opclass: { schema: '', name: 'text_pattern_ops' } },
      { kind: 'column', column: 'code', opclass: { schema: 'public', name: 'my_ops' }, order: 'asc', nulls: 'first' },
    ],
    include: ['total', 'Status'],
    nullsNotDistinct: true,
    storage: { fillfactor: '90', deduplicate_items: 'off' },
    tablespace: 'fast',
    where: "status <> 'closed'",
  });

  it.each<[string, IndexDeclaration, CreateIndexOptions, string]>([
    [
      'a plain index',
      declaration(),
      { concurrently: true },
      'CREATE INDEX CONCURRENTLY "idx_orders_customer" ON "public"."orders" USING btree ("customer_id")',
    ],
    [
      'not concurrently',
      declaration(),
      { concurrently: false },
      'CREATE INDEX "idx_orders_customer" ON "public"."orders" USING btree ("customer_id")',
    ],
    [
      'a hostile table name, quoted',
      declaration({ name: 'i', table: { schema: 'public', name: 'x"; DROP TABLE y; --' }, keys: [{ kind: 'column', column: 'a' }] }),
      { concurrently: true },
      'CREATE INDEX CONCURRENTLY "i" ON "public"."x""; DROP TABLE y; --" USING btree ("a")',
    ],
    [
      'mixed-case names keep their case',
      declaration({ name: 'Idx B', table: { schema: 'Sales', name: 'Order Items' }, keys: [{ kind: 'column', column: 'Id' }] }),
      { concurrently: true },
      'CREATE INDEX CONCURRENTLY "Idx B" ON "Sales"."Order Items" USING btree ("Id")',
    ],
    [
      'an expression key, in parentheses, and another method',
      declaration({ method: 'gin', keys: [{ kind: 'expression', expression: "to_tsvector('english', body)" }] }),
      { concurrently: true },
      'CREATE INDEX CONCURRENTLY "idx_orders_customer" ON "public"."orders" USING gin ((to_tsvector(\'english\', body)))',
    ],
    [
      'every clause, in the order of PostgreSQL\'s grammar',
      everything,
      { concurrently: true },
      'CREATE UNIQUE INDEX CONCURRENTLY "idx_orders_all" ON "public"."orders" USING btree (' +
        '"created_at" DESC NULLS LAST, (lower(handle)), "email" COLLATE "C" "text_pattern_ops", "code" "public"."my_ops" ASC NULLS FIRST)' +
        ' INCLUDE ("total", "Status") NULLS NOT DISTINCT WITH ("fillfactor" = \'90\', "deduplicate_items" = \'off\')' +
        ' TABLESPACE "fast" WHERE (status <> \'closed\')',
    ],
    [
      'a shadow copy: another name and table, no tablespace',
      everything,
      { concurrently: false, name: 'shadow_1', onTable: 'pg_temp."orders_shadow"', withoutTablespace: true },
      'CREATE UNIQUE INDEX "shadow_1" ON pg_temp."orders_shadow" USING btree (' +
        '"created_at" DESC NULLS LAST, (lower(handle)), "email" COLLATE "C" "text_pattern_ops", "code" "public"."my_ops" ASC NULLS FIRST)' +
        ' INCLUDE ("total", "Status") NULLS NOT DISTINCT WITH ("fillfactor" = \'90\', "deduplicate_items" = \'off\')' +
        ' WHERE (status <> \'closed\')',
    ],
    [
      'a storage value with a quote is a literal',
      declaration({ storage: { x: "a'b" } }),
      { concurrently: true },
      'CREATE INDEX CONCURRENTLY "idx_orders_customer" ON "public"."orders" USING btree ("customer_id") WITH ("x" = \'a\'\'b\')',
    ],
  ])('%s', (_what, index, options, expected) => {
    expect(createIndexSql(index, options)).toBe(expected);
  });
});

describe('other statements', () => {
  it.each([
    ['DROP INDEX CONCURRENTLY IF EXISTS "public"."idx"', dropIndexSql({ schema: 'public', name: 'idx' })],
    ['DROP INDEX IF EXISTS "public"."idx"', dropIndexSql({ schema: 'public', name: 'idx' }, false)],
    ['DROP INDEX CONCURRENTLY IF EXISTS "S"."a""b"', dropIndexSql({ schema: 'S', name: 'a"b' })],
    ['ALTER INDEX "public"."idx_dbtune_new" RENAME TO "Idx"', renameIndexSql({ schema: 'public', name: 'idx_dbtune_new' }, 'Idx')],
    ['ANALYZE "public"."orders"', analyzeSql({ schema: 'public', name: 'orders' })],
  ])('%s', (expected, actual) => {
    expect(actual).toBe(expected);
  });
});
