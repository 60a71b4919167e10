import { describe, expect, it } from 'vitest';
import type { SqlSession } from '../../src/db/client.js';
import { readTableStatistics } from '../../src/indexing/execute/table-statistics.js';
import { tableKey } from '../../src/model/declaration.js';
import { runCli, useTestDatabase, writeTempFile } from '../support/database.js';
import { waitFor } from '../support/wait-for.js';

const db = useTestDatabase();

interface ApplyDocument {
  passed: boolean;
  indexes: Array<{ name: string; action: string }>;
  analyzed: string[];
  analyze_skipped: Array<{ table: string; reason: string }>;
}

interface Activity {
  analyze_count: number;
  mods: number;
}

/** The table's row in pg_stat_user_tables, read afresh (no statistics snapshot kept from an earlier read). */
async function activity(table: string): Promise<Activity | undefined> {
  await db.query('SELECT pg_stat_clear_snapshot()');
  const [row] = await db.query<Activity>('SELECT analyze_count::int AS analyze_count, n_mod_since_analyze::int AS mods FROM pg_stat_user_tables WHERE relname = $1', [table]);
  return row;
}

/** Statistics reach the views a moment after the statement (PostgreSQL 13/14's collector, 15+'s flush interval): poll, bounded. */
function waitForActivity(table: string, ok: (a: Activity) => boolean, what: string): Promise<Activity> {
  return waitFor(async () => {
    const a = await activity(table);
    return a && ok(a) ? a : undefined;
  }, { what: `${table}: ${what}`, timeoutMs: 15_000, intervalMs: 100 });
}

/**
 * A table of `rows` rows. Autovacuum is off for it, so that no autoanalyze
 * changes its statistics under the test. With `analyzed`, it is then
 * VACUUM ANALYZEd, once the load's changes are counted (counted after the
 * ANALYZE, they would make it look stale).
 */
async function table(name: string, rows: number, options: { analyzed: boolean; reloptions?: string }): Promise<void> {
  await db.query(`CREATE TABLE ${name} (id int, v int, t text) WITH (autovacuum_enabled = off${options.reloptions ? `, ${options.reloptions}` : ''})`);
  await db.query(`INSERT INTO ${name} SELECT g, g % 97, 'Text ' || g FROM generate_series(1, ${rows}) g`);
  if (!options.analyzed) return;
  await waitForActivity(name, (a) => a.mods >= rows, 'the load counted');
  await db.query(`VACUUM ANALYZE ${name}`);
  await waitForActivity(name, (a) => a.analyze_count === 1 && a.mods === 0, 'the analyze counted');
}

/**
 * Waits until the statistics views show every ANALYZE that ended before now:
 * another table's ANALYZE, run afterwards, becomes visible only after them.
 */
async function settleAnalyzeCounts(): Promise<void> {
  await db.query('CREATE TABLE IF NOT EXISTS analyze_marker (id int) WITH (autovacuum_enabled = off)');
  const before = (await activity('analyze_marker'))?.analyze_count ?? 0;
  await db.query('ANALYZE analyze_marker');
  await waitForActivity('analyze_marker', (a) => a.analyze_count > before, 'the marker ANALYZE counted');
}

async function indexSet(name: string, indexes: string[]): Promise<string> {
  return writeTempFile(`${name}.yaml`, `set: ${name}\nindexes:\n${indexes.map((i) => `  - ${i}\n`).join('')}`);
}

async function apply(file: string, ...flags: string[]): Promise<ApplyDocument & { stderr: string }> {
  const result = await runCli(['apply', file, '--json', ...flags], { DATABASE_URL: db.url });
  expect(result.code, result.stderr).toBe(0);
  return { ...(JSON.parse(result.stdout) as ApplyDocument), stderr: result.stderr };
}

const CURRENT = /^statistics current: 0 changes since the last analyze \(autovacuum analyzes after 2,050\); plain-column indexes add no statistics$/;

describe('apply analyzes a table only where that adds statistics', () => {
  it('skips ANALYZE of a just-analyzed table that gets a plain index, says why in every format, and plan --format sql agrees', async () => {
    await table('current_plain', 20_000, { analyzed: true });
    const file = await indexSet('current_plain', ['{ name: idx_current_plain_v, table: current_plain, columns: [v] }']);

    const script = await runCli(['plan', file, '--format', 'sql'], { DATABASE_URL: db.url });
    expect(script.code, script.stderr).toBe(0);
    expect(script.stdout).not.toMatch(/^ANALYZE/m);
    expect(script.stdout).toMatch(/^-- no ANALYZE of public\.current_plain: statistics current: 0 changes .*after 2,050\)/m);

    const text = await runCli(['apply', file], { DATABASE_URL: db.url });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^not analyzed: public\.current_plain \(statistics current: 0 changes since the last analyze \(autovacuum analyzes after 2,050\); plain-column indexes add no statistics\)$/m);
    expect(text.stdout).not.toMatch(/^analyzed:/m);
    expect(text.stderr).toMatch(/no ANALYZE of public\.current_plain: statistics current/);

    await settleAnalyzeCounts();
    expect((await activity('current_plain'))?.analyze_count).toBe(1);
  });

  it('reports the skip in JSON, with the reason', async () => {
    await table('current_json', 20_000, { analyzed: true });
    const report = await apply(await indexSet('current_json', ['{ name: idx_current_json_v, table: current_json, columns: [v, id] }']));
    expect(report.indexes.map((i) => i.action)).toEqual(['created']);
    expect(report.analyzed).toEqual([]);
    expect(report.analyze_skipped).toEqual([{ table: 'public.current_json', reason: expect.stringMatching(CURRENT) }]);
    await settleAnalyzeCounts();
    expect((await activity('current_json'))?.analyze_count).toBe(1);
  });

  it('analyzes a just-analyzed table that gets an expression index: pg_stats then has the expression', async () => {
    await table('current_expr', 20_000, { analyzed: true });
    const report = await apply(await indexSet('current_expr', ['{ name: idx_current_expr_lower, table: current_expr, columns: [{ expression: lower(t) }] }']));
    expect(report.analyzed).toEqual(['public.current_expr']);
    expect(report.analyze_skipped).toEqual([]);
    expect(report.stderr).toMatch(/ANALYZE public\.current_expr \(an expression index: PostgreSQL gathers statistics on index expressions only during ANALYZE\)/);
    await waitForActivity('current_expr', (a) => a.analyze_count === 2, 'the second analyze counted');
    const stats = await db.query<{ attname: string; n_distinct: number }>('SELECT attname, n_distinct FROM pg_stats WHERE schemaname = $1 AND tablename = $2', ['public', 'idx_current_expr_lower']);
    expect(stats.map((s) => s.attname)).toEqual(['lower']);
    // 20,000 distinct texts: PostgreSQL stores -1 (every row distinct).
    expect(stats[0]!.n_distinct).toBe(-1);
  });

  it('analyzes a table created and loaded without ANALYZE', async () => {
    await table('fresh', 5_000, { analyzed: false });
    const report = await apply(await indexSet('fresh', ['{ name: idx_fresh_v, table: fresh, columns: [v] }']));
    expect(report.analyzed).toEqual(['public.fresh']);
    expect(report.analyze_skipped).toEqual([]);
    expect(report.stderr).toMatch(/ANALYZE public\.fresh \(never analyzed\)/);
    await waitForActivity('fresh', (a) => a.analyze_count === 1, 'the analyze counted');
  });

  it("analyzes a table with more changes since its analyze than autovacuum's threshold, and reads the table's own threshold", async () => {
    await table('churned', 1_000, { analyzed: true });
    // The same changes, under a table threshold of 5,000 instead of the server's 50.
    await table('churned_tolerant', 1_000, { analyzed: true, reloptions: 'autovacuum_analyze_threshold = 5000' });
    for (const name of ['churned', 'churned_tolerant']) {
      await db.query(`UPDATE ${name} SET v = v + 1`);
      await waitForActivity(name, (a) => a.mods >= 1_000, 'the updates counted');
    }
    const report = await apply(
      await indexSet('churned', ['{ name: idx_churned_v, table: churned, columns: [v] }', '{ name: idx_churned_tolerant_v, table: churned_tolerant, columns: [v] }']),
    );
    expect(report.analyzed).toEqual(['public.churned']);
    expect(report.stderr).toMatch(/ANALYZE public\.churned \(statistics stale: 1,000 changes since the last analyze \(autovacuum analyzes after 150\)\)/);
    expect(report.analyze_skipped).toEqual([
      { table: 'public.churned_tolerant', reason: 'statistics current: 1,000 changes since the last analyze (autovacuum analyzes after 5,100); plain-column indexes add no statistics' },
    ]);
    await waitForActivity('churned', (a) => a.analyze_count === 2 && a.mods === 0, 'the second analyze counted');
  });

  it('analyzes current statistics too with --always-analyze, in apply and in plan --format sql', async () => {
    await table('current_always', 20_000, { analyzed: true });
    const file = await indexSet('current_always', ['{ name: idx_current_always_v, table: current_always, columns: [v] }']);
    const script = await runCli(['plan', file, '--format', 'sql', '--always-analyze'], { DATABASE_URL: db.url });
    expect(script.stdout).toMatch(/^ANALYZE "public"\."current_always";$/m);
    const report = await apply(file, '--always-analyze');
    expect(report.analyzed).toEqual(['public.current_always']);
    expect(report.analyze_skipped).toEqual([]);
    await waitForActivity('current_always', (a) => a.analyze_count === 2, 'the second analyze counted');
  });

  it("leaves ANALYZE out when dbtune.yaml says analyze: false, and refuses it with always_analyze: true", async () => {
    await table('configured', 100, { analyzed: false });
    const file = await indexSet('configured', ['{ name: idx_configured_v, table: configured, columns: [v] }']);
    const off = await writeTempFile('dbtune.yaml', 'apply:\n  analyze: false\n');
    const script = await runCli(['plan', file, '--format', 'sql', '--config', off], { DATABASE_URL: db.url });
    expect(script.code, script.stderr).toBe(0);
    expect(script.stdout).toMatch(/CREATE INDEX CONCURRENTLY "idx_configured_v"/);
    expect(script.stdout).not.toMatch(/ANALYZE/);
    // --analyze overrides the file.
    const overridden = await runCli(['plan', file, '--format', 'sql', '--config', off, '--analyze'], { DATABASE_URL: db.url });
    expect(overridden.stdout).toMatch(/^-- public\.configured: never analyzed\nANALYZE "public"\."configured";$/m);

    const both = await writeTempFile('dbtune.yaml', 'apply:\n  analyze: false\n  always_analyze: true\n');
    const refused = await runCli(['apply', file, '--config', both], { DATABASE_URL: db.url });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/dbtune\.yaml:3:\d+ .*always_analyze.*contradicts analyze: false/);
    const flags = await runCli(['apply', file, '--no-analyze', '--always-analyze'], { DATABASE_URL: db.url });
    expect(flags.code).toBe(2);
    expect(flags.stderr).toMatch(/--no-analyze and --always-analyze contradict each other/);
  });

  it('reads the statistics of any number of tables in one query', async () => {
    await table('stat_a', 10, { analyzed: false, reloptions: 'autovacuum_analyze_threshold = 7, autovacuum_analyze_scale_factor = 0.5' });
    await db.query('CREATE TABLE stat_parent (id int) PARTITION BY RANGE (id)');
    await db.query('CREATE TABLE stat_part PARTITION OF stat_parent FOR VALUES FROM (0) TO (100)');
    const session = await db.session();
    let queries = 0;
    const counting: SqlSession = Object.create(session, {
      query: { value: (sql: string, params?: readonly unknown[]) => (queries++, session.query(sql, params)) },
    }) as SqlSession;
    const tables = ['stat_a', 'stat_parent', 'stat_part', 'no_such_table'].map((name) => ({ schema: 'public', name }));
    const statistics = await readTableStatistics(counting, tables);
    expect(queries).toBe(1);
    const of = (name: string) => statistics.get(tableKey({ schema: 'public', name }));
    expect(statistics.size).toBe(3);
    expect(of('stat_a')).toMatchObject({ partitioned: false, server: { threshold: 50, scaleFactor: 0.1 }, table: { threshold: 7, scaleFactor: 0.5 } });
    expect(of('stat_a')!.activity).toMatchObject({ analyzed: false, autoanalyzed: false });
    expect(of('stat_part')).toMatchObject({ partitioned: false, table: {} });
    expect(of('stat_parent')!.partitioned).toBe(true);
    // PostgreSQL 13's pg_stat_all_tables has no row for a partitioned table.
    expect(of('stat_parent')!.activity === undefined).toBe(db.major === 13);
  });

  it('analyzes a partitioned table that gets an index: PostgreSQL counts no changes for it', async () => {
    await db.query('CREATE TABLE parted (id int, v int) PARTITION BY RANGE (id)');
    await db.query('CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100000) WITH (autovacuum_enabled = off)');
    await db.query('INSERT INTO parted SELECT g, g % 7 FROM generate_series(1, 2000) g');
    await db.query('ANALYZE parted');
    if (db.major >= 14) await waitForActivity('parted', (a) => a.analyze_count === 1, 'the analyze counted');
    const report = await apply(await indexSet('parted', ['{ name: idx_parted_v, table: parted, columns: [v] }']));
    expect(report.analyzed).toEqual(['public.parted']);
    expect(report.stderr).toMatch(
      db.major === 13
        ? /ANALYZE public\.parted \(statistics could not be read \(no row for it in pg_stat_all_tables\)\)/
        : /ANALYZE public\.parted \(a partitioned table: PostgreSQL counts no changes for it/,
    );
  });
});
