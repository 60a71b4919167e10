import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadIndexSets } from '../../src/config/load-index-sets.js';
import type { IndexEntry } from '../../src/config/index-set-schema.js';
import { importIndexStatements, type ImportResult } from '../../src/import/import-sql.js';
import { renderImportedSet } from '../../src/import/render-index-set.js';
import { createIndexSql } from '../../src/indexing/index-sql.js';
import { validateFragment } from '../../src/sql/fragment.js';
import { loadPgDeparser } from '../../src/sql/pg-deparser.js';
import { loadPgParser } from '../../src/sql/pg-parser.js';

const parser = await loadPgParser();
const deparser = await loadPgDeparser();

const importSql = (...texts: string[]): ImportResult =>
  importIndexStatements(
    texts.map((text, i) => ({ file: `m${i + 1}.sql`, text })),
    parser,
    deparser,
  );

/** The one entry a one-statement file gives, asserting there was no problem. */
function entryOf(sql: string): IndexEntry {
  const result = importSql(sql);
  expect(result.problems).toEqual([]);
  expect(result.indexes).toHaveLength(1);
  return result.indexes[0]!.entry;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dbtune-import-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('import: each field of the index-set format', () => {
  it.each<[string, string, Partial<IndexEntry>]>([
    ['name and table', 'CREATE INDEX idx_a ON orders (a)', { name: 'idx_a', table: 'orders', columns: ['a'] }],
    ['schema-qualified table', 'CREATE INDEX idx_a ON sales.orders (a)', { table: 'sales.orders' }],
    ['quoted names keep their case', 'CREATE INDEX "Idx A" ON "Sales"."Order Items" ("Customer Id")', { name: '"Idx A"', table: '"Sales"."Order Items"', columns: ['"Customer Id"'] }],
    ['unquoted names fold to lower case', 'CREATE INDEX IDX_A ON Orders (CustomerId)', { name: 'idx_a', table: 'orders', columns: ['customerid'] }],
    ['unique', 'CREATE UNIQUE INDEX u ON t (a)', { unique: true }],
    ['method', 'CREATE INDEX g ON t USING gin (payload)', { using: 'gin' }],
    ['direction and nulls ordering', 'CREATE INDEX i ON t (a DESC, b ASC NULLS FIRST, c NULLS LAST)', { columns: ['a desc', 'b asc nulls first', 'c nulls last'] }],
    ['opclass', 'CREATE INDEX i ON t USING gin (payload jsonb_path_ops)', { columns: [{ column: 'payload', opclass: 'jsonb_path_ops' }] }],
    ['schema-qualified opclass', 'CREATE INDEX i ON t (a public.my_ops)', { columns: [{ column: 'a', opclass: 'public.my_ops' }] }],
    ['collation', 'CREATE INDEX i ON t (email COLLATE "C" text_pattern_ops DESC)', { columns: [{ column: 'email', order: 'desc', opclass: 'text_pattern_ops', collate: 'C' }] }],
    ['pg_catalog collation', 'CREATE INDEX i ON t (email COLLATE pg_catalog."default")', { columns: [{ column: 'email', collate: 'default' }] }],
    ['expression', 'CREATE INDEX i ON t (LOWER(handle))', { columns: [{ expression: 'lower(handle)' }] }],
    ['expression with options', "CREATE INDEX i ON t ((payload->>'kind') DESC NULLS LAST)", { columns: [{ expression: "payload ->> 'kind'", order: 'desc', nulls: 'last' }] }],
    ['INCLUDE', 'CREATE INDEX i ON t (a) INCLUDE (total, "Status")', { include: ['total', '"Status"'] }],
    ['partial', "CREATE INDEX i ON t (a) WHERE status <> 'closed' AND deleted_at IS NULL", { where: "status <> 'closed' AND deleted_at IS NULL" }],
    ['storage parameters', "CREATE INDEX i ON t (a) WITH (fillfactor = 70, deduplicate_items = off, x = '1.5')", { with: { fillfactor: 70, deduplicate_items: 'off', x: '1.5' } }],
    ['a parameter without a value is true', 'CREATE INDEX i ON t USING gin (a) WITH (fastupdate)', { with: { fastupdate: true } }],
    ['tablespace', 'CREATE INDEX i ON t (a) TABLESPACE fast_ssd', { tablespace: 'fast_ssd' }],
    ['NULLS NOT DISTINCT', 'CREATE UNIQUE INDEX i ON t (a) NULLS NOT DISTINCT', { unique: true, nulls_not_distinct: true }],
    ['CONCURRENTLY and IF NOT EXISTS are dropped', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)', { name: 'i', columns: ['a'] }],
  ])('%s', (_what, sql, expected) => {
    expect(entryOf(sql)).toMatchObject(expected);
  });

  it('leaves out btree, the default method', () => {
    expect(entryOf('CREATE INDEX b ON t USING btree (a)')).not.toHaveProperty('using');
  });

  it('says which of CONCURRENTLY and IF NOT EXISTS it dropped', () => {
    const [index] = importSql('CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)').indexes;
    expect(index!.dropped).toEqual(['CONCURRENTLY', 'IF NOT EXISTS']);
  });

  it('writes expressions and predicates canonically, on one line, as the fragment validator accepts them', () => {
    const entry = entryOf(`CREATE INDEX i ON t ((CASE WHEN a > 0
      THEN 'pos' ELSE 'neg' END), (a::text)) WHERE (b OR c) AND
      d IN (1, 2)`);
    expect(entry.columns).toEqual([{ expression: "CASE WHEN a > 0 THEN 'pos' ELSE 'neg' END" }, { expression: 'a::text' }]);
    expect(entry.where).toBe('(b OR c) AND d IN (1, 2)');
    for (const key of entry.columns) expect(validateFragment(parser, 'expression', (key as { expression: string }).expression).ok).toBe(true);
    expect(validateFragment(parser, 'where', entry.where!).ok).toBe(true);
  });
});

describe('import: unnamed indexes get the name PostgreSQL would choose', () => {
  it.each([
    ['CREATE INDEX ON orders (customer_id, created_at DESC)', 'orders_customer_id_created_at_idx'],
    ['CREATE INDEX ON profiles (lower(handle))', 'profiles_lower_idx'],
    ["CREATE INDEX ON events ((payload->>'kind'))", 'events_expr_idx'],
    ["CREATE INDEX ON events (((payload->>'n')::int))", 'events_int4_idx'],
    ['CREATE INDEX ON t (a, a)', 't_a_a1_idx'],
    ['CREATE INDEX ON t (a) INCLUDE (b)', 't_a_b_idx'],
    ['CREATE INDEX ON "Order Items" ("Sku")', '"Order Items_Sku_idx"'],
    ['CREATE INDEX ON a_table_with_a_rather_long_name_for_testing (and_a_column_with_an_even_longer_name_than_that)', 'a_table_with_a_rather_long_na_and_a_column_with_an_even_lon_idx'],
  ])('%s → %s', (sql, name) => {
    const [index] = importSql(sql).indexes;
    expect(index!.entry.name).toBe(name);
    expect(index!.derivedName).toBe(true);
    expect(Buffer.byteLength(index!.entry.name.replaceAll('"', ''))).toBeLessThanOrEqual(63);
  });

  it('appends 1, 2… when an earlier imported index has the name', () => {
    const result = importSql('CREATE INDEX ON t (a); CREATE INDEX ON t (a);', 'CREATE INDEX ON t (a); CREATE INDEX ON other.t (a);');
    expect(result.indexes.map((i) => `${i.entry.table} ${i.entry.name}`)).toEqual(['t t_a_idx', 't t_a_idx1', 't t_a_idx2', 'other.t t_a_idx']);
  });
});

describe('import: other statements are skipped, with file:line:col', () => {
  it('lists each statement that is not CREATE INDEX, past comments before it', () => {
    const result = importSql(`-- migration 0042
BEGIN;
CREATE TABLE t (a int);
/* a comment
   over lines */   ALTER TABLE t ADD COLUMN b text;
COMMENT ON TABLE t IS 'x';
CREATE INDEX i ON t (a);
COMMIT;
`);
    expect(result.skipped).toEqual([
      { file: 'm1.sql', line: 2, col: 1, statement: 'BEGIN' },
      { file: 'm1.sql', line: 3, col: 1, statement: 'CREATE TABLE' },
      { file: 'm1.sql', line: 5, col: 20, statement: 'ALTER TABLE' },
      { file: 'm1.sql', line: 6, col: 1, statement: 'COMMENT ON TABLE' },
      { file: 'm1.sql', line: 8, col: 1, statement: 'COMMIT' },
    ]);
    expect(result.indexes.map((i) => i.source)).toEqual([{ file: 'm1.sql', line: 7, col: 1 }]);
  });
});

describe('import: bad input is a problem at file:line:col', () => {
  it('a syntax error, at the position PostgreSQL reports (columns in characters)', () => {
    const result = importSql("CREATE INDEX i ON t (a);\n-- ünïcödé\nSELECT 'é', 1 +;\n");
    expect(result.problems).toEqual([{ file: 'm1.sql', line: 3, col: 16, path: '', message: expect.stringMatching(/^SQL syntax error: syntax error at or near ";"/) }]);
  });

  it('a syntax error at the end of the text', () => {
    const [problem] = importSql('CREATE INDEX i ON t (a').problems;
    expect(problem).toMatchObject({ line: 1, col: 23, message: expect.stringContaining('at end of input') });
  });

  it.each([
    ['USING bloom', 'CREATE INDEX i ON t USING bloom (a)', /USING bloom/],
    ['opclass parameters', 'CREATE INDEX i ON t USING gist (a gist_trgm_ops(siglen = 32))', /operator class parameters/],
    ['ON ONLY', 'CREATE INDEX i ON ONLY t (a)', /ON ONLY/],
    ['a schema-qualified collation', 'CREATE INDEX i ON t (a COLLATE public.mine)', /schema-qualified collation/],
    ['a database-qualified table', 'CREATE INDEX i ON db.s.t (a)', /with its database/],
    ['NULLS NOT DISTINCT on a non-unique index', 'CREATE INDEX i ON t (a) NULLS NOT DISTINCT', /not UNIQUE/],
    ['a storage value that is not a plain word', "CREATE INDEX i ON t (a) WITH (x = 'a b')", /WITH \(x = …\)/],
    ['a parameter in an expression', 'CREATE INDEX i ON t ((a + $1))', /parameters/],
    ['a unique index of a method that cannot be', 'CREATE UNIQUE INDEX i ON t USING hash (a)', /only btree indexes can be unique/],
  ])('%s: exit 2 naming it', (_what, sql, message) => {
    const result = importSql(`SELECT 1;\n  ${sql};`);
    expect(result.indexes).toEqual([]);
    expect(result.problems).toEqual([expect.objectContaining({ file: 'm1.sql', line: 2, col: 3, message: expect.stringMatching(message) })]);
  });

  it('every problem of every file at once', () => {
    const result = importSql('CREATE INDEX a ON ONLY t (x);\nCREATE INDEX b ON t USING bloom (x);', 'SELECT (;');
    expect(result.problems.map((p) => `${p.file}:${p.line}`)).toEqual(['m1.sql:1', 'm1.sql:2', 'm2.sql:1']);
  });

  it('a duplicate name, within a file or across files, names both places', () => {
    const result = importSql('CREATE INDEX i ON t (a);\nCREATE INDEX i ON t (b);', '\n\nCREATE INDEX I ON public.u (c);\nCREATE INDEX i ON other.t (a);');
    expect(result.problems).toEqual([
      expect.objectContaining({ file: 'm1.sql', line: 2, message: expect.stringMatching(/duplicate index name public\.i: first created at m1\.sql:1:1/) }),
      expect.objectContaining({ file: 'm2.sql', line: 3, message: expect.stringMatching(/duplicate index name public\.i: first created at m1\.sql:1:1/) }),
    ]);
  });
});

describe('import: the written set round-trips through the index-set loader', () => {
  const SQL = `BEGIN;
CREATE TABLE orders (id int);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_orders_customer ON orders (customer_id, created_at DESC NULLS LAST) INCLUDE (total) WITH (fillfactor = 80) TABLESPACE pg_default;
CREATE UNIQUE INDEX ON sales."Order Items" ("Sku" COLLATE "C" text_pattern_ops) NULLS NOT DISTINCT WHERE deleted_at IS NULL AND qty > 0;
CREATE INDEX idx_events ON events USING gin ((payload -> 'tags') jsonb_path_ops) WITH (fastupdate = off);
CREATE INDEX idx_profiles ON profiles (lower(handle) DESC, (coalesce(nick, '')))
  WHERE status <> 'closed';
COMMIT;
`;

  it('loads without a problem, and builds the statements the SQL described', async () => {
    const result = importSql(SQL);
    expect(result.problems).toEqual([]);
    const yaml = renderImportedSet(result, { set: 'imported' });
    expect(yaml).toMatch(/^# Index set written by `dbtune import` from:\n#   m1\.sql\n/);
    const file = path.join(dir, 'imported.yaml');
    await writeFile(file, yaml);
    const [set] = await loadIndexSets([file]);
    expect(set!.name).toBe('imported');
    expect(set!.indexes.map((d) => createIndexSql(d, { concurrently: true }))).toEqual([
      'CREATE INDEX CONCURRENTLY "idx_orders_customer" ON "public"."orders" USING btree ("customer_id", "created_at" DESC NULLS LAST) INCLUDE ("total") WITH ("fillfactor" = \'80\') TABLESPACE "pg_default"',
      'CREATE UNIQUE INDEX CONCURRENTLY "Order Items_Sku_idx" ON "sales"."Order Items" USING btree ("Sku" COLLATE "C" "text_pattern_ops") NULLS NOT DISTINCT WHERE (deleted_at IS NULL AND qty > 0)',
      'CREATE INDEX CONCURRENTLY "idx_events" ON "public"."events" USING gin ((payload -> \'tags\') "jsonb_path_ops") WITH ("fastupdate" = \'off\')',
      'CREATE INDEX CONCURRENTLY "idx_profiles" ON "public"."profiles" USING btree ((lower(handle)) DESC, (COALESCE(nick, \'\'))) WHERE (status <> \'closed\')',
    ]);
  });
});
