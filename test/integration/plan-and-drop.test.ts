import { describe, expect, it } from 'vitest';
import { connect, type SqlSession } from '../../src/db/client.js';
import { resolveConnectionOptions } from '../../src/db/connection-options.js';
import type { IndexDeclaration } from '../../src/model/declaration.js';
import { inspectIndexes } from '../../src/indexing/inspect.js';
import { indexDef, runCli, useTestDatabase, writeTempFile } from '../support/database.js';
import { waitForBuildPhase } from '../support/server-state.js';

const db = useTestDatabase();

/** Counts every statement a session sends: the catalog must be read in a constant number. */
function counting(session: SqlSession): SqlSession & { count: number } {
  const wrapper = {
    count: 0,
    get pid() {
      return session.pid;
    },
    get serverVersionNum() {
      return session.serverVersionNum;
    },
    get serverVersion() {
      return session.serverVersion;
    },
    get broken() {
      return session.broken;
    },
    query: (<R extends object>(sql: string, params?: readonly unknown[]) => {
      wrapper.count++;
      return session.query<R>(sql, params);
    }) as SqlSession['query'],
    close: () => session.close(),
  };
  return wrapper;
}

function declaration(i: number, table: string): IndexDeclaration {
  return {
    name: `idx_many_${i}`,
    table: { schema: 'public', name: table },
    method: 'btree',
    unique: false,
    keys: i % 3 === 0 ? [{ kind: 'expression', expression: `lower(v${i % 4})` }] : [{ kind: 'column', column: `v${i % 4}`, order: 'desc' }],
    include: [],
    ...(i % 5 === 0 ? { where: `v${i % 4} IS NOT NULL` } : {}),
    storage: {},
    nullsNotDistinct: false,
    set: 'many',
    source: { file: 'many.yaml', line: i + 3, col: 5 },
  };
}

describe('plan', () => {
  it('reads the catalog in a constant number of statements, for 1 index or 300 on 30 tables', async () => {
    for (let t = 0; t < 30; t++) await db.query(`CREATE TABLE many_${t} (id int, v0 text, v1 text, v2 text, v3 text)`);
    for (let i = 0; i < 300; i += 7) await db.query(`CREATE INDEX idx_many_${i} ON many_${i % 30} (v${i % 4})`);
    const session = await connect(resolveConnectionOptions({ databaseUrl: db.url, env: {} }));
    try {
      const counts: number[] = [];
      for (const n of [1, 300]) {
        const wrapped = counting(session);
        const inspection = await inspectIndexes(wrapped, Array.from({ length: n }, (_, i) => declaration(i, `many_${i % 30}`)));
        expect(inspection.indexes).toHaveLength(n);
        counts.push(wrapped.count);
      }
      expect(counts[1]).toBe(counts[0]);
      // catalog + BEGIN, CREATE FUNCTION, one call for all shadow DDL, shadow catalog, ROLLBACK
      expect(counts[0]).toBe(6);
    } finally {
      await session.close();
    }
  });

  it('shows an index another session is still building as building, and exits 1', async () => {
    await db.query('CREATE TABLE building (id serial, k int)');
    await db.query('INSERT INTO building (k) SELECT g FROM generate_series(1, 100) g');
    const snapshotHolder = await db.session();
    const builder = await db.session();
    await snapshotHolder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await snapshotHolder.query('SELECT 1 FROM building LIMIT 1');
    const build = builder.query('CREATE INDEX CONCURRENTLY idx_building_k ON building (k)').catch((e: unknown) => e);
    try {
      const file = await writeTempFile('building.yaml', 'set: b\nindexes:\n  - { name: idx_building_k, table: building, columns: [k] }\n');
      // The index is in the catalog, and the build stays in this phase until the snapshot holder ends.
      await waitForBuildPhase(db, 'building', /^waiting for old snapshots/);
      const result = await runCli(['plan', file, '--json'], { DATABASE_URL: db.url });
      expect(result.code, result.stderr).toBe(1);
      const index = (JSON.parse(result.stdout) as { indexes: Array<{ state: string; reason: string }> }).indexes[0]!;
      expect(index.state).toBe('building');
      expect(index.reason).toMatch(new RegExp(`being built by pid ${builder.pid}`));
    } finally {
      await snapshotHolder.query('ROLLBACK');
      await build;
    }
    expect((await indexDef(db, 'idx_building_k'))?.valid).toBe(true);
  });

  it('prints a runnable script with --format sql', async () => {
    await db.query('CREATE TABLE scripted (id int, v text)');
    const file = await writeTempFile('scripted.yaml', 'set: s\nindexes:\n  - { name: idx_scripted_v, table: scripted, columns: [v desc] }\n');
    const result = await runCli(['plan', file, '--format', 'sql'], { DATABASE_URL: db.url });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/cannot run inside a transaction block/);
    const statements = result.stdout.split('\n').filter((l) => l && !l.startsWith('--'));
    expect(statements).toEqual([
      // Raw SQL in index sets was validated with standard strings; the script reads it the same way.
      'SET standard_conforming_strings = on;',
      'CREATE INDEX CONCURRENTLY "idx_scripted_v" ON "public"."scripted" USING btree ("v" DESC);',
      'ANALYZE "public"."scripted";',
    ]);
    // Runnable as printed, one statement at a time.
    const session = await db.session();
    for (const sql of statements) await session.query(sql.replace(/;$/, ''));
    expect((await indexDef(db, 'idx_scripted_v'))?.valid).toBe(true);
  });
});

describe('drop', () => {
  it('drops a set concurrently, is a no-op the second time, and never drops a same-named index on another table', async () => {
    await db.query('CREATE TABLE d1 (id int, v text)');
    await db.query('CREATE TABLE d2 (id int, v text)');
    await db.query('CREATE INDEX idx_d1_v ON d1 (v)');
    await db.query('CREATE INDEX idx_d_other ON d2 (v)');
    const file = await writeTempFile(
      'drop.yaml',
      'set: d\nindexes:\n  - { name: idx_d1_v, table: d1, columns: [v] }\n  - { name: idx_d_other, table: d1, columns: [id] }\n  - { name: idx_d_absent, table: d1, columns: [id] }\n',
    );
    const dry = await runCli(['drop', file, '--dry-run', '--json'], { DATABASE_URL: db.url });
    expect(dry.code).toBe(0);
    expect((JSON.parse(dry.stdout) as { indexes: Array<{ statements: string[] }> }).indexes.map((i) => i.statements)).toEqual([
      ['DROP INDEX CONCURRENTLY IF EXISTS "public"."idx_d1_v"'],
      [],
      [],
    ]);
    expect(await indexDef(db, 'idx_d1_v')).toBeDefined();

    const dropped = await runCli(['drop', file, '--json'], { DATABASE_URL: db.url });
    expect(dropped.code).toBe(1);
    const actions = (JSON.parse(dropped.stdout) as { indexes: Array<{ action: string; reason: string }> }).indexes;
    expect(actions.map((a) => a.action)).toEqual(['dropped', 'failed', 'absent']);
    expect(actions[1]!.reason).toMatch(/exists on public\.d2/);
    expect(await indexDef(db, 'idx_d1_v')).toBeUndefined();
    expect(await indexDef(db, 'idx_d_other')).toBeDefined();

    const again = await runCli(['drop', file, '--json'], { DATABASE_URL: db.url });
    expect((JSON.parse(again.stdout) as { indexes: Array<{ action: string }> }).indexes.map((a) => a.action)).toEqual(['absent', 'failed', 'absent']);
  });
});

describe('reports', () => {
  it('writes JUnit and appends Markdown to GITHUB_STEP_SUMMARY whatever the format', async () => {
    await db.query('CREATE TABLE reported (id int, v text)');
    const file = await writeTempFile('rep.yaml', 'set: r\nindexes:\n  - { name: idx_reported_v, table: reported, columns: [v] }\n  - { name: idx_reported_x, table: reported, columns: [id], using: gin }\n');
    const summary = await writeTempFile('summary.md', '# earlier step\n');
    const result = await runCli(['plan', file, '--format', 'junit'], { DATABASE_URL: db.url, GITHUB_STEP_SUMMARY: summary });
    // gin over an int column has no default operator class: PostgreSQL rejects it as input.
    expect(result.code).toBe(2);
    const ok = await writeTempFile('rep2.yaml', 'set: r\nindexes:\n  - { name: idx_reported_v, table: reported, columns: [v] }\n');
    const junit = await runCli(['apply', ok, '--format', 'junit'], { DATABASE_URL: db.url, GITHUB_STEP_SUMMARY: summary });
    expect(junit.code).toBe(0);
    expect(junit.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="dbtune apply" tests="1" failures="0" errors="0">/);
    expect(junit.stdout).toMatch(/<testcase classname="dbtune.apply.indexes" name="public.idx_reported_v" time="[\d.]+"/);
    const { readFile } = await import('node:fs/promises');
    const markdown = await readFile(summary, 'utf8');
    expect(markdown.startsWith('# earlier step\n')).toBe(true);
    expect(markdown).toMatch(/### ✅ dbtune apply/);
    expect(markdown).toMatch(/\| idx_reported_v \| public.reported \| absent \| ✅ created \|/);
  });
});

