import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, useTestDatabase, writeTempFile } from '../support/database.js';
import { waitForBackends, waitForBackendsGone, waitForBuildPhase } from '../support/server-state.js';

/**
 * `dbtune advise --build` on embedded PostgreSQL, which ships no HypoPG: refused without the flag;
 * with it, candidates are really built (CREATE INDEX CONCURRENTLY), planned and dropped — and none
 * is ever left behind, after a failed build, a Ctrl-C (once or twice), or a run that was killed.
 * On the oldest and newest majors (vitest.config.ts EDGE_MAJORS_ONLY): a data-safety case.
 */

interface AdviceJson {
  out?: string;
  out_written?: boolean;
  out_skipped?: string;
  scoring: string;
  scoring_detail: string;
  indexes: Array<{ name: string; table: string; keys: Array<{ column?: string; expression?: string; order: string }>; size_bytes: number }>;
  statements: Array<{ query: string; status: string; indexes: string[]; notes: string[] }>;
}

const db = useTestDatabase();
const env = () => ({ DATABASE_URL: db.url });
const leftovers = async () => (await db.query<{ name: string }>("SELECT relname AS name FROM pg_class WHERE relkind IN ('i', 'I') AND relname LIKE 'dbtune\\_advise\\_%'")).map((r) => r.name);

beforeAll(async () => {
  for (const sql of [
    'CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)',
    `INSERT INTO users SELECT g, 'User' || g || '@Example.com' FROM generate_series(1, 100000) g`,
    'CREATE TABLE conversations (id bigint PRIMARY KEY, user_id bigint NOT NULL, created_at timestamptz NOT NULL, title text)',
    `INSERT INTO conversations SELECT g, g % 500, now() - g * interval '1 second', 'title ' || g FROM generate_series(1, 100000) g`,
    // Keys too wide for a btree (incompressible text over 2704 bytes): that build fails halfway.
    'CREATE TABLE wide (id int PRIMARY KEY, w text NOT NULL)',
    `INSERT INTO wide SELECT g, (SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 150) i) FROM generate_series(1, 2000) g`,
    // Each key costs 5 ms: a build of slow_key(k) over 3000 rows runs long enough to interrupt.
    `CREATE FUNCTION slow_key(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.005); RETURN x; END $$`,
    'CREATE TABLE slow (id int PRIMARY KEY, k int NOT NULL)',
    'INSERT INTO slow SELECT g, g FROM generate_series(1, 3000) g',
    'ANALYZE',
  ]) {
    await db.query(sql);
  }
});

describe('dbtune advise without HypoPG', () => {
  it('says so and refuses without --build, building nothing', async () => {
    const file = await writeTempFile('one.sql', 'SELECT id FROM users WHERE lower(email) = $1;\n');
    const result = await runCli(['advise', '--statements', file], env());
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/HypoPG/);
    expect(result.stderr).toMatch(/--build/);
    expect(await leftovers()).toEqual([]);
  });

  it('--build finds the obvious indexes by building them, reports a build that fails, and leaves no index behind', async () => {
    const file = await writeTempFile('hot.sql', [
      'SELECT * FROM conversations WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20;',
      'SELECT id FROM users WHERE lower(email) = $1;',
      'SELECT id FROM wide WHERE w = $1;',
    ].join('\n'));
    const out = path.join(path.dirname(file), 'advised.yaml');
    const result = await runCli(['advise', '--statements', file, '--build', '--format', 'json', '--out', out], env());
    expect(result.code, result.stderr).toBe(0);
    const advice = JSON.parse(result.stdout) as AdviceJson;
    expect(advice.scoring).toBe('build');
    expect(advice.scoring_detail).toMatch(/\d+ builds/);

    const composite = advice.indexes.find((ix) => ix.table === 'public.conversations')!;
    expect(composite.keys).toEqual([{ column: 'user_id', order: 'asc' }, { column: 'created_at', order: 'desc' }]);
    expect(composite.size_bytes).toBeGreaterThan(0);
    expect(advice.indexes.find((ix) => ix.table === 'public.users')!.keys).toEqual([{ expression: 'lower(email)', order: 'asc' }]);
    expect(advice.statements.map((s) => s.status)).toEqual(['improved', 'improved', 'no_gain']);
    expect(advice.statements[2]!.notes.join('\n')).toMatch(/PostgreSQL could not build CREATE INDEX ON "public"\."wide" \("w"\): index row size/);
    expect(await readFile(out, 'utf8')).toMatch(/really built \(--build\)/);
    expect(advice).toMatchObject({ out, out_written: true });
    // What advise writes, dbtune reads: plan loads the set (and plans its indexes).
    const planned = await runCli(['plan', out, '--format', 'json'], env());
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain(composite.name);
    expect(await leftovers()).toEqual([]);
  });

  it('--out with nothing to advise writes no file (an index set needs an index), says so on stderr and in every format, and exits 0', async () => {
    // Both already use their table's primary key: nothing to build, nothing to advise.
    const file = await writeTempFile('served.sql', 'SELECT email FROM users WHERE id = $1;\nSELECT title FROM conversations WHERE id = $1;\n');
    const dir = path.dirname(file);
    const out = path.join(dir, 'advised.yaml');
    const json = await runCli(['advise', '--statements', file, '--build', '--format', 'json', '--out', out], env());
    expect(json.code, json.stderr).toBe(0);
    // No file, and no temp file of a write begun and abandoned.
    expect(await readdir(dir)).toEqual(['served.sql']);
    const advice = JSON.parse(json.stdout) as AdviceJson;
    expect(advice.indexes).toEqual([]);
    expect(advice.statements.map((s) => s.status)).toEqual(['served', 'served']);
    expect(advice).toMatchObject({ out, out_written: false });
    expect(advice.out_skipped).toMatch(/no index was advised/);
    expect(json.stderr).toContain(`${out} not written: no index was advised`);

    for (const format of ['table', 'markdown']) {
      const shown = await runCli(['advise', '--statements', file, '--build', '--format', format, '--out', out], env());
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toContain(`${out} not written: no index was advised`);
      expect(shown.stderr).toContain(`${out} not written`);
    }
    expect(await readdir(dir)).toEqual(['served.sql']);

    // With --force, a set already there is left as it was (not emptied, not removed), and that is said.
    await writeFile(out, '# edited by hand\n');
    const kept = await runCli(['advise', '--statements', file, '--build', '--format', 'json', '--out', out, '--force'], env());
    expect(kept.code, kept.stderr).toBe(0);
    expect((JSON.parse(kept.stdout) as AdviceJson).out_skipped).toMatch(/left as it was/);
    expect(await readFile(out, 'utf8')).toBe('# edited by hand\n');
    expect(await leftovers()).toEqual([]);
  });

  it('--build: Ctrl-C during a build cancels it, drops what was built and exits 130', async () => {
    const file = await writeTempFile('slow.sql', 'SELECT id FROM slow WHERE slow_key(k) = $1;\n');
    const run = startCli(['advise', '--statements', file, '--build'], env());
    await waitForBuildPhase(db, 'slow', /^building index/);
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(130);
    expect(await leftovers()).toEqual([]);
  });

  it('--build: a second Ctrl-C while the first one waits to drop still drops the index before quitting', async () => {
    const file = await writeTempFile('slow.sql', 'SELECT id FROM slow WHERE slow_key(k) = $1;\n');
    const run = startCli(['advise', '--statements', file, '--build'], env());
    await waitForBuildPhase(db, 'slow', /^building index/);
    // A reader of the table: DROP INDEX CONCURRENTLY waits for it to end.
    const reader = await db.session();
    await reader.query('BEGIN');
    await reader.query('SELECT 1 FROM slow LIMIT 1');
    run.child.kill('SIGINT');
    const dropping = "query LIKE 'DROP INDEX CONCURRENTLY%dbtune_advise_%' AND wait_event_type = 'Lock'";
    await waitForBackends(db, 'the first Ctrl-C\'s DROP INDEX CONCURRENTLY to wait', dropping);
    run.child.kill('SIGINT');
    await waitForBackends(db, 'the cleanup process\'s DROP to wait', `application_name = 'dbtune advise --build cleanup' AND ${dropping}`);
    await reader.query('COMMIT');
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/stopping advise --build's indexes on \w+ \(dbtune_advise_\d+_1\)/);
    expect(await leftovers()).toEqual([]);
  });

  it('--build: the index of a run that was killed is dropped by the next run', async () => {
    const file = await writeTempFile('slow.sql', 'SELECT id FROM slow WHERE slow_key(k) = $1;\n');
    const run = startCli(['advise', '--statements', file, '--build'], env());
    const build = await waitForBuildPhase(db, 'slow', /^building index/);
    run.child.kill('SIGKILL');
    await run.done;
    // The server finds out in its own time that the client is gone; here, at once.
    await db.query('SELECT pg_terminate_backend($1)', [build.pid]);
    await waitForBackendsGone(db, 'the killed build', 'pid = $1', [build.pid]);
    expect(await leftovers()).toHaveLength(1);

    // A valid one too (a build that finished before its run was killed; pid 1 is never a backend):
    // not an index of the user's that already serves the statement.
    await db.query('CREATE INDEX dbtune_advise_1_1 ON users (lower(email))');
    const quick = await writeTempFile('quick.sql', 'SELECT id FROM users WHERE lower(email) = $1;\n');
    const next = await runCli(['advise', '--statements', quick, '--build', '--format', 'json'], env());
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/dropped public\.dbtune_advise_\d+_1, left behind by an advise --build run that was killed/);
    expect(next.stderr).toContain('dropped public.dbtune_advise_1_1,');
    expect((JSON.parse(next.stdout) as AdviceJson).statements[0]!.status).toBe('improved');
    expect(await leftovers()).toEqual([]);
  });
});
