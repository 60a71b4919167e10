import { readFile } from 'node:fs/promises';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { connect, type SqlSession } from '../../src/db/client.js';
import { resolveConnectionOptions } from '../../src/db/connection-options.js';
import { loadIndexSets } from '../../src/config/load-index-sets.js';
import { inspectIndexes } from '../../src/indexing/inspect.js';
import type { IndexDeclaration } from '../../src/model/declaration.js';
import { runCli, useTestDatabase, writeTempFile } from '../support/database.js';
import { waitForBuildPhase } from '../support/server-state.js';

const db = useTestDatabase();

interface VerifyJson {
  passed: boolean;
  indexes: Array<{ name: string; table: string; status: string; reason: string; differences?: Array<{ field: string; declared: string; live: string }> }>;
  redundant?: Array<{ kind: string; name: string; covered_by: string; managed: boolean }>;
  checks: unknown[];
}

async function verify(file: string, ...args: string[]): Promise<{ code: number | null; report: VerifyJson; stderr: string }> {
  const result = await runCli(['verify', file, '--json', ...args], { DATABASE_URL: db.url });
  return { code: result.code, report: JSON.parse(result.stdout) as VerifyJson, stderr: result.stderr };
}

const one = (name: string, body: string) => `set: s\nindexes:\n  - name: ${name}\n${body.replace(/^/gm, '    ')}\n`;

describe('verify: each status, produced for real', () => {
  it('ok, missing, wrong_table, a missing table, and an invalid leftover of a failed unique build', async () => {
    await db.query('CREATE TABLE customers (id serial PRIMARY KEY, email text, region text)');
    await db.query("INSERT INTO customers (email, region) SELECT 'c' || (g % 10), 'eu' FROM generate_series(1, 100) g");
    await db.query('CREATE TABLE other (id int, region text)');
    await db.query('CREATE INDEX idx_cust_region ON customers (region)');
    await db.query('CREATE INDEX idx_elsewhere ON other (region)');
    await expect(db.query('CREATE UNIQUE INDEX CONCURRENTLY idx_cust_email ON customers (email)')).rejects.toMatchObject({ code: '23505' });
    const file = await writeTempFile(
      'statuses.yaml',
      `set: statuses
indexes:
  - { name: idx_cust_region, table: customers, columns: [region] }
  - { name: idx_cust_missing, table: customers, columns: [id, region] }
  - { name: idx_elsewhere, table: customers, columns: [region] }
  - { name: idx_cust_email, table: customers, columns: [email], unique: true }
  - { name: idx_ghost, table: no_such_table, columns: [id] }
`,
    );
    const { code, report } = await verify(file);
    expect(code).toBe(1);
    expect(report.passed).toBe(false);
    expect(report.checks).toEqual([]);
    expect(report.indexes.map((i) => [i.name, i.status])).toEqual([
      ['idx_cust_region', 'ok'],
      ['idx_cust_missing', 'missing'],
      ['idx_elsewhere', 'wrong_table'],
      ['idx_cust_email', 'invalid'],
      ['idx_ghost', 'missing'],
    ]);
    expect(report.indexes[2]!.reason).toMatch(/exists on public\.other/);
    expect(report.indexes[4]!.reason).toMatch(/table public\.no_such_table does not exist/);
  });

  it('building, while a concurrent build waits on an old snapshot', async () => {
    await db.query('CREATE TABLE slowbuild (id int)');
    const holder = await db.session();
    const builder = await db.session();
    await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await holder.query('SELECT 1');
    const build = builder.query('CREATE INDEX CONCURRENTLY idx_slowbuild ON slowbuild (id)').catch((e: unknown) => e);
    try {
      const file = await writeTempFile('b.yaml', one('idx_slowbuild', 'table: slowbuild\ncolumns: [id]'));
      // The index is in the catalog, and the build stays in this phase until the snapshot holder ends.
      await waitForBuildPhase(db, 'slowbuild', /^waiting for old snapshots/);
      expect((await verify(file)).report.indexes[0]!.status).toBe('building');
    } finally {
      await holder.query('ROLLBACK');
      await build;
    }
  });

  type DriftCase = [string, string, string, string, Array<{ field: string; declared: string; live: string }>];
  const driftCases: DriftCase[] = [
    ['using', 'CREATE INDEX idx_d ON drift_t USING hash (a)', 'columns: [a]', '', [{ field: 'using', declared: 'btree', live: 'hash' }]],
    ['unique', 'CREATE UNIQUE INDEX idx_d ON drift_t (a)', 'columns: [a]', '', [{ field: 'unique', declared: 'false', live: 'true' }]],
    ['key order', 'CREATE INDEX idx_d ON drift_t (a, b)', 'columns: [b, a]', '', [{ field: 'columns[0]', declared: 'b', live: 'a' }, { field: 'columns[1]', declared: 'a', live: 'b' }]],
    ['direction', 'CREATE INDEX idx_d ON drift_t (a, b)', 'columns: [a, b desc]', '', [{ field: 'columns[1].order', declared: 'desc', live: 'asc' }]],
    ['nulls', 'CREATE INDEX idx_d ON drift_t (a NULLS FIRST)', 'columns: [a]', '', [{ field: 'columns[0].nulls', declared: 'last', live: 'first' }]],
    ['opclass', 'CREATE INDEX idx_d ON drift_t (t)', "columns: [{ column: t, opclass: text_pattern_ops }]", '', [{ field: 'columns[0].opclass', declared: 'text_pattern_ops', live: 'text_ops' }]],
    ['collation', 'CREATE INDEX idx_d ON drift_t (t)', 'columns: [{ column: t, collate: C }]', '', [{ field: 'columns[0].collate', declared: 'C', live: 'default' }]],
    // Declared plain, live with a non-default opclass or collation: named as the shadow build resolves them.
    ['opclass (live only)', 'CREATE INDEX idx_d ON drift_t (t text_pattern_ops)', 'columns: [t]', '', [{ field: 'columns[0].opclass', declared: 'text_ops', live: 'text_pattern_ops' }]],
    // oid_ops is the default for oid, and int4 converts to oid binary-coercibly, but int4's default is int4_ops.
    ['opclass of another type (live only)', 'CREATE INDEX idx_d ON drift_t (a oid_ops)', 'columns: [a]', '', [{ field: 'columns[0].opclass', declared: 'int4_ops', live: 'oid_ops' }]],
    // The same through a domain over int4: its default is its base type's.
    ['opclass of another type, domain column (live only)', 'CREATE INDEX idx_d ON drift_t (dm oid_ops)', 'columns: [dm]', '', [{ field: 'columns[0].opclass', declared: 'int4_ops', live: 'oid_ops' }]],
    ['collation (live only)', 'CREATE INDEX idx_d ON drift_t (t COLLATE "C")', 'columns: [t]', '', [{ field: 'columns[0].collate', declared: 'default', live: 'C' }]],
    ['include', 'CREATE INDEX idx_d ON drift_t (a) INCLUDE (b)', 'columns: [a]\ninclude: [b, t]', '', [{ field: 'include', declared: 'b, t', live: 'b' }]],
    ['predicate', 'CREATE INDEX idx_d ON drift_t (a) WHERE amount > 100', 'columns: [a]\nwhere: amount > 1000', '', [{ field: 'where', declared: 'amount > 1000::numeric', live: 'amount > 100::numeric' }]],
    ['expression', 'CREATE INDEX idx_d ON drift_t (lower(t))', "columns: [{ expression: upper(t) }]", '', [{ field: 'columns[0]', declared: 'upper(t)', live: 'lower(t)' }]],
    ['storage parameters', 'CREATE INDEX idx_d ON drift_t (a) WITH (fillfactor = 70)', 'columns: [a]\nwith: { fillfactor: 90 }', '', [{ field: 'with', declared: 'fillfactor=90', live: 'fillfactor=70' }]],
    ['nulls not distinct', 'CREATE UNIQUE INDEX idx_d ON drift_t (a)', 'columns: [a]\nunique: true\nnulls_not_distinct: true', '15', [{ field: 'nulls_not_distinct', declared: 'true', live: 'false' }]],
  ];
  // Rows for features newer than the server are left out (nulls_not_distinct is PostgreSQL 15+). Every case
  // has a table of its own and all are verified in one run: each index's differences are its own.
  it('reports drift field by field, in every field the format has', async () => {
    const cases = driftCases.filter(([, , , minMajor]) => !minMajor || db.major >= Number(minMajor));
    const entries: string[] = [];
    await db.query('CREATE DOMAIN drift_dom AS int');
    for (const [i, [, live, declared]] of cases.entries()) {
      await db.query(`CREATE TABLE drift_${i} (a int, b int, t text, amount numeric, dm drift_dom)`);
      await db.query(live.replace('idx_d ON drift_t', `idx_d${i} ON drift_${i}`));
      entries.push(`  - name: idx_d${i}\n    table: drift_${i}\n${declared.replace(/^/gm, '    ')}`);
    }
    const file = await writeTempFile('drift.yaml', `set: s\nindexes:\n${entries.join('\n')}\n`);
    const { code, report } = await verify(file);
    expect(code).toBe(1);
    expect(report.indexes).toHaveLength(cases.length);
    for (const [i, [field, , , , differences]] of cases.entries()) {
      const index = report.indexes.find((x) => x.name === `idx_d${i}`);
      expect(index?.status, `drift in ${field}`).toBe('drift');
      expect(index?.differences, `drift in ${field}`).toEqual(differences);
    }
  });

  it('calls the same definition written differently ok: case, casts, parentheses', async () => {
    await db.query('CREATE TABLE handles (id int, handle varchar(40), amount numeric, status text)');
    await db.query("CREATE INDEX idx_handles_lower ON handles (lower(handle::text)) WHERE ((amount > (100)::numeric) AND status <> 'closed')");
    const file = await writeTempFile('same.yaml', one('idx_handles_lower', "table: handles\ncolumns: [{ expression: LOWER(handle) }]\nwhere: \"amount > 100 and (status != 'closed')\""));
    const { code, report } = await verify(file);
    expect(report.indexes[0]).toMatchObject({ status: 'ok' });
    expect(code).toBe(0);
  });
});

describe('verify: partitioned tables', () => {
  it('judges a partitioned index by its partitions', async () => {
    await db.query('CREATE TABLE pevents (id int, at date) PARTITION BY RANGE (at)');
    await db.query("CREATE TABLE pevents_a PARTITION OF pevents FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')");
    await db.query("CREATE TABLE pevents_b PARTITION OF pevents FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')");
    await db.query('CREATE INDEX idx_pevents_at ON ONLY pevents (at)');
    await db.query('CREATE INDEX CONCURRENTLY pevents_a_at ON pevents_a (at)');
    await db.query('ALTER INDEX idx_pevents_at ATTACH PARTITION pevents_a_at');
    const file = await writeTempFile('p.yaml', one('idx_pevents_at', 'table: pevents\ncolumns: [at]'));
    const half = await verify(file);
    expect(half.report.indexes[0]).toMatchObject({ status: 'invalid', reason: expect.stringMatching(/1 of 2 partitions/) });
    await db.query('CREATE INDEX CONCURRENTLY pevents_b_at ON pevents_b (at)');
    await db.query('ALTER INDEX idx_pevents_at ATTACH PARTITION pevents_b_at');
    const whole = await verify(file);
    expect(whole.code).toBe(0);
    expect(whole.report.indexes[0]!.status).toBe('ok');
  });
});

describe('verify --strict', () => {
  it('fails on unmanaged indexes a managed one makes redundant, and on duplicates; spares unique and constraint indexes', async () => {
    await db.query('CREATE TABLE convs (id serial PRIMARY KEY, user_id int, created_at timestamptz, title text)');
    await db.query('CREATE INDEX idx_managed ON convs (user_id, created_at DESC)');
    await db.query('CREATE INDEX idx_old_user ON convs (user_id)');
    await db.query('CREATE UNIQUE INDEX idx_unique_user_title ON convs (user_id, title)');
    await db.query('CREATE UNIQUE INDEX idx_unique_user ON convs (user_id, created_at)');
    await db.query('CREATE INDEX idx_copy ON convs (user_id, created_at DESC)');
    await db.query('CREATE INDEX idx_user_cover ON convs (user_id) INCLUDE (title)');
    const file = await writeTempFile('strict.yaml', one('idx_managed', 'table: convs\ncolumns: [user_id, created_at desc]'));
    const lax = await verify(file);
    expect(lax.code).toBe(0);
    expect(lax.report.redundant).toBeUndefined();
    const strict = await verify(file, '--strict');
    expect(strict.code).toBe(1);
    expect(strict.report.redundant?.map((r) => [r.kind, r.name, r.covered_by, r.managed]).sort()).toEqual([
      ['duplicate', 'idx_copy', 'idx_managed', false],
      ['redundant', 'idx_old_user', 'idx_managed', false],
    ]);
  });
});

describe('verify: catalog work and reports', () => {
  it('issues the same number of statements for 1 index or 500 on 100 tables', async () => {
    const tables = Array.from({ length: 100 }, (_, t) => `vt_${t}`);
    for (const t of tables) await db.query(`CREATE TABLE ${t} (id int, a int, b text)`);
    const yaml = ['set: many', 'indexes:'];
    for (let i = 0; i < 500; i++) yaml.push(`  - { name: idx_v_${i}, table: vt_${i % 100}, columns: [${i % 2 ? 'a' : '{ expression: lower(b) }'}], where: ${i % 3 ? 'id > 0' : 'b IS NOT NULL'} }`);
    const file = await writeTempFile('many.yaml', `${yaml.join('\n')}\n`);
    const [set] = await loadIndexSets([file]);
    const session = await connect(resolveConnectionOptions({ databaseUrl: db.url, env: {} }));
    try {
      const counts: number[] = [];
      for (const declarations of [set!.indexes.slice(0, 1), set!.indexes]) {
        let count = 0;
        const counting: SqlSession = Object.create(session, {
          query: { value: (sql: string, params?: readonly unknown[]) => (count++, session.query(sql, params)) },
        }) as SqlSession;
        const inspection = await inspectIndexes(counting, declarations, { tableIndexes: true });
        expect(inspection.indexes.every((i) => i.state.status === 'absent')).toBe(true);
        counts.push(count);
      }
      expect(counts).toEqual([6, 6]);
    } finally {
      await session.close();
    }
  });

  // Verify at scale: a shadow build per declaration made 1,000 plain indexes twice as slow as 12.
  it('compares plain-column declarations from the catalog alone: one statement, no shadow build; a mismatch is still named exactly', async () => {
    await db.query('CREATE DOMAIN plain_d AS int');
    await db.query('CREATE DOMAIN plain_dd AS plain_d');
    await db.query('CREATE TABLE plain_t (a int, b int, t text, u text, v varchar(40), d plain_dd)');
    const live = [
      ['idx_pl_order', 'CREATE INDEX idx_pl_order ON plain_t (a, b DESC NULLS LAST) INCLUDE (t)', 'columns: [a, b desc nulls last], include: [t]'],
      ['idx_pl_unique', 'CREATE UNIQUE INDEX idx_pl_unique ON plain_t (b)', 'columns: [b], unique: true'],
      ['idx_pl_opclass', 'CREATE INDEX idx_pl_opclass ON plain_t (t text_pattern_ops)', 'columns: [{ column: t, opclass: text_pattern_ops }]'],
      ['idx_pl_collate', 'CREATE INDEX idx_pl_collate ON plain_t (u COLLATE "C")', 'columns: [{ column: u, collate: C }]'],
      ['idx_pl_with', 'CREATE INDEX idx_pl_with ON plain_t (a) WITH (fillfactor = 70)', 'columns: [a], with: { fillfactor: 70 }'],
      // varchar has no btree opclass of its own: text_ops, the default for text, is its default too.
      ['idx_pl_varchar', 'CREATE INDEX idx_pl_varchar ON plain_t (v)', 'columns: [v]'],
      // A domain's default is its base type's, through domains over domains (int4_ops here).
      ['idx_pl_domain', 'CREATE INDEX idx_pl_domain ON plain_t (d)', 'columns: [d]'],
      ['idx_pl_hash', 'CREATE INDEX idx_pl_hash ON plain_t USING hash (t)', 'columns: [t], using: hash'],
      // NULLS NOT DISTINCT exists from PostgreSQL 15.
      ...(db.major >= 15 ? [['idx_pl_nnd', 'CREATE UNIQUE INDEX idx_pl_nnd ON plain_t (a, u) NULLS NOT DISTINCT', 'columns: [a, u], unique: true, nulls_not_distinct: true']] : []),
    ];
    for (const [, create] of live) await db.query(create!);
    await db.query('CREATE INDEX idx_pl_drift ON plain_t (a, b)');
    const entries = live.map(([name, , declared]) => `  - { name: ${name}, table: plain_t, ${declared} }`);
    const file = await writeTempFile('plain.yaml', `set: plain\nindexes:\n${entries.join('\n')}\n  - { name: idx_pl_drift, table: plain_t, columns: [a, b desc] }\n`);
    const [set] = await loadIndexSets([file]);
    const session = await connect(resolveConnectionOptions({ databaseUrl: db.url, env: {} }));
    try {
      const inspect = async (declarations: IndexDeclaration[]) => {
        const sent: string[] = [];
        const counting: SqlSession = Object.create(session, {
          query: { value: (sql: string, params?: readonly unknown[]) => (sent.push(sql), session.query(sql, params)) },
        }) as SqlSession;
        const inspection = await inspectIndexes(counting, declarations, { compareOnly: true });
        return { sent, states: inspection.indexes.map((i) => [i.declaration.name, i.state.status, i.state.differences ?? []]) };
      };
      const matching = set!.indexes.filter((d) => d.name !== 'idx_pl_drift');
      const plain = await inspect(matching);
      expect(plain.states).toEqual(matching.map((d) => [d.name, 'ok', []]));
      // The catalog read only: no BEGIN, no temporary function or table.
      expect(plain.sent).toHaveLength(1);
      expect(plain.sent[0]).toMatch(/^\s*WITH wanted AS/);

      // A difference is shadow-built, so it is named as PostgreSQL resolves the declaration; the count stays constant.
      const withDrift = await inspect(set!.indexes);
      expect(withDrift.states.at(-1)).toEqual(['idx_pl_drift', 'drift', [{ field: 'columns[1].order', declared: 'desc', live: 'asc' }]]);
      expect(withDrift.states.slice(0, -1)).toEqual(plain.states);
      expect(withDrift.sent).toHaveLength(6);

      // A search path that names pg_catalog late makes an unqualified opclass or collation uncertain: shadow-built, still ok.
      await session.query('SET search_path = public, pg_catalog');
      const latePath = await inspect(matching);
      expect(latePath.states).toEqual(plain.states);
      expect(latePath.sent).toHaveLength(6);
    } finally {
      await session.close();
    }
  });

  it('writes JUnit that parses, one test case per index with failures explained, and appends Markdown to GITHUB_STEP_SUMMARY', async () => {
    await db.query('CREATE TABLE reports_t (id int, v text)');
    await db.query('CREATE INDEX idx_rep_ok ON reports_t (v)');
    const file = await writeTempFile(
      'rep.yaml',
      "set: rep\nindexes:\n  - { name: idx_rep_ok, table: reports_t, columns: [v] }\n  - { name: idx_rep_missing, table: reports_t, columns: [id] }\n  - { name: 'idx_rep_<&>', table: reports_t, columns: [v desc] }\n".replace("'idx_rep_<&>'", "'\"idx_rep_<&>\"'"),
    );
    const summary = await writeTempFile('summary.md', '');
    const result = await runCli(['verify', file, '--format', 'junit'], { DATABASE_URL: db.url, GITHUB_STEP_SUMMARY: summary });
    expect(result.code).toBe(1);
    expect(XMLValidator.validate(result.stdout)).toBe(true);
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(result.stdout) as {
      testsuites: { tests: string; failures: string; testsuite: { testcase: Array<{ name: string; failure?: { message: string } }> } };
    };
    expect(parsed.testsuites.tests).toBe('3');
    expect(parsed.testsuites.failures).toBe('2');
    const cases = parsed.testsuites.testsuite.testcase;
    expect(cases.map((c) => c.name)).toEqual(['public.idx_rep_ok', 'public.idx_rep_missing', 'public."idx_rep_<&>"']);
    expect(cases[0]!.failure).toBeUndefined();
    expect(cases[1]!.failure?.message).toBe('missing: does not exist');
    const markdown = await readFile(summary, 'utf8');
    expect(markdown).toMatch(/^### ❌ dbtune verify/);
    expect(markdown).toMatch(/\| idx_rep_missing \| public.reports_t \| ❌ missing \| does not exist \|/);
    expect(markdown).toContain('idx_rep_&lt;&>');
  });
});
