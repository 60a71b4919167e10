import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEmbeddedServer, type EmbeddedServer } from '../../src/db/embedded-server.js';
import type { StageDatabase } from '../../src/model/stage-database.js';
import { loadReport } from '../../src/load/load-report.js';
import type { LoadResult } from '../../src/model/load-result.js';
import { renderReport } from '../../src/report/emit.js';
import { runCli, startCli, useTestDatabase, writeTempFile } from '../support/database.js';
import { startTarget, type TestTarget } from '../support/http-target.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Whose statements the database watch counts, and what it says when
 * pg_stat_statements loses entries mid-stage: the API runs
 * one statement per request as its own role while another role works in the
 * same database; resets are made with pg_stat_statements_reset() on this
 * file's database or one entry only (never the whole server: other files
 * share it), and evictions on a server of its own with pg_stat_statements.max
 * at its minimum.
 */
const db = useTestDatabase();
const major = inject('pgMajor');
const suffix = randomBytes(3).toString('hex');
const API_ROLE = `api_${suffix}`;
const BATCH_ROLE = `batch_${suffix}`;
const API_STATEMENT = 'SELECT id FROM items WHERE id = $1';
let apiPool: pg.Pool;
let api: TestTarget;

function asRole(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = 'pw';
  return u.toString();
}

/** One statement per request, as `pool`'s role. */
function startApi(pool: pg.Pool): Promise<TestTarget> {
  return startTarget((_req, res) => {
    pool.query(API_STATEMENT, [1 + Math.floor(Math.random() * 100)]).then(
      () => res.writeHead(200).end('{}'),
      (error: Error) => res.writeHead(500).end(error.message),
    );
  });
}

beforeAll(async () => {
  await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await db.query('CREATE TABLE items (id int PRIMARY KEY)');
  await db.query('INSERT INTO items SELECT generate_series(1, 100)');
  for (const role of [API_ROLE, BATCH_ROLE]) {
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
    await db.query(`GRANT SELECT ON items TO ${role}`);
  }
  apiPool = new pg.Pool({ connectionString: asRole(db.url, API_ROLE), max: 2 });
  apiPool.on('error', () => {});
  api = await startApi(apiPool);
});

afterAll(async () => {
  await api?.close();
  await apiPool?.end();
});

/** Runs `dbtune loadtest` while `during` runs (given the started CLI); stage of 1.5 s, statistics read 200 ms after it. */
async function loadtest(
  database: string,
  options: { during?: (cli: ReturnType<typeof startCli>) => Promise<void>; args?: string[]; env?: Record<string, string>; target?: TestTarget; url?: string } = {},
) {
  const file = await writeTempFile(
    'scenario.yaml',
    `scenario: whose\ntarget: ${(options.target ?? api).url}\nrequests: [{ name: item, path: /item }]\nstages: [{ users: 2, duration: 1500ms }]\ndatabase:\n  settle: 200ms\n${database}`,
  );
  const out = path.join(path.dirname(file), 'result.json');
  const cli = startCli(['loadtest', file, '--database-url', options.url ?? db.url, '--out', out, ...(options.args ?? [])], options.env ?? {});
  await options.during?.(cli);
  const run = await cli.done;
  const result = JSON.parse(await readFile(out, 'utf8')) as LoadResult;
  return { run, result, database: result.stages[0]!.database as StageDatabase };
}

/** Another application in the same database: a loop of statements as BATCH_ROLE until the run ends. */
async function batchTraffic(cli: ReturnType<typeof startCli>): Promise<void> {
  const client = new pg.Client({ connectionString: asRole(db.url, BATCH_ROLE) });
  await client.connect();
  let done = false;
  void cli.done.finally(() => (done = true));
  try {
    while (!done) await client.query('SELECT count(*) FROM items');
  } finally {
    await client.end();
  }
}

/** Resolves once the stage is under way: the CLI said so and the API answered some of its requests. */
async function stageUnderway(cli: ReturnType<typeof startCli>, target: TestTarget): Promise<void> {
  await cli.waitForStderr(/stage 1\/1: 2 users/);
  const from = target.received.length;
  await waitFor(() => target.received.length >= from + 20, { what: 'the API to answer 20 requests of the stage' });
}

describe("whose statements count (database.roles)", { timeout: 120_000 }, () => {
  it("names every role whose statements it counted, and with database.roles counts only the API's, in every output format", async () => {
    const all = await loadtest('', { during: batchTraffic });
    expect(all.run.code, all.run.stderr).toBe(0);
    const counted = Object.fromEntries((all.database.roles ?? []).map((r) => [r.role, r]));
    expect(counted[API_ROLE]).toMatchObject({ counted: true });
    expect(counted[BATCH_ROLE]).toMatchObject({ counted: true });
    expect(counted[BATCH_ROLE]!.statements).toBeGreaterThan(0);
    // The other application's statements inflate the figure, and the stage says whose they are.
    expect(all.database.queries_per_request).toBeGreaterThan(1.5);
    expect(all.database.notes.join('\n')).toMatch(new RegExp(`statements of \\d+ roles are counted \\(.*${BATCH_ROLE}`));

    const dir = path.dirname(await writeTempFile('x', ''));
    const [html, summary] = [path.join(dir, 'report.html'), path.join(dir, 'summary.md')];
    const only = await loadtest(`  roles: [${API_ROLE}]\n  thresholds: { queries_per_request: 1.5 }\n`, {
      during: batchTraffic,
      args: ['--format', 'junit', '--report', html],
      env: { GITHUB_STEP_SUMMARY: summary },
    });
    expect(only.run.code, only.run.stderr).toBe(0);
    expect(only.database.queries_per_request).toBeGreaterThanOrEqual(0.95);
    expect(only.database.queries_per_request).toBeLessThanOrEqual(1.2);
    expect(only.database.roles![0]).toMatchObject({ role: API_ROLE, counted: true });
    expect(only.database.roles!.find((r) => r.role === BATCH_ROLE)).toMatchObject({ counted: false });
    expect(only.database.top_statements.map((s) => s.query)).toEqual([API_STATEMENT]);
    const text = await renderReport(loadReport(only.result), 'table', { stdout: process.stdout, stderr: process.stderr, env: { NO_COLOR: '1' } });
    const leftOut = new RegExp(`${API_ROLE} \\d+; left out: ${BATCH_ROLE} \\d+`);
    for (const [format, output] of [
      ['text', text],
      ['junit', only.run.stdout],
      ['markdown', await readFile(summary, 'utf8')],
      ['html', await readFile(html, 'utf8')],
    ]) {
      expect(output, format).toMatch(leftOut);
    }
    expect(only.run.stdout).toMatch(/<property name="stage 1 \(2 users\): database: roles"/);
  });

  it('refuses a role name no role has, before any load (exit 2)', async () => {
    const before = api.received.length;
    const file = await writeTempFile('unknown-role.yaml', `scenario: x\ntarget: ${api.url}\nrequests: [{ name: item, path: /item }]\nstages: [{ users: 2, duration: 1s }]\ndatabase:\n  roles: [${API_ROLE}, nosuch_role_x]\n`);
    const run = await runCli(['loadtest', file, '--database-url', db.url]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no role named "nosuch_role_x"/);
    expect(api.received.length).toBe(before);
  });
});

describe('pg_stat_statements resets and evictions during a stage', { timeout: 120_000 }, () => {
  it("reports a reset of this database's entries as a reset: no queries per request, its threshold failed (detection unavailable on 13)", async () => {
    const reset = async (cli: ReturnType<typeof startCli>) => {
      await stageUnderway(cli, api);
      await db.query('SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)');
    };
    const { run, result, database } = await loadtest('  thresholds: { queries_per_request: 5 }\n', { during: reset });
    if (major === 13) {
      expect(database.statement_tracking).toMatchObject({ detection: 'unavailable', reset: false, evicted: null });
      expect(result.warnings.join('\n')).toMatch(/PostgreSQL 13 has no pg_stat_statements_info: a reset or eviction .* cannot be detected/);
      return;
    }
    expect(run.code, run.stderr).toBe(1);
    expect(database.statement_tracking).toMatchObject({ detection: major >= 17 ? 'entries' : 'global', reset: true, evicted: 0 });
    expect(database.queries_per_request).toBeNull();
    expect(database.notes.join('\n')).toMatch(/RESET: pg_stat_statements was reset during the stage/);
    expect(result.stages[0]!.thresholds.find((t) => t.name === 'queries_per_request')).toMatchObject({ observed: 'no data (pg_stat_statements reset)', passed: false });
  });

  it.skipIf(major < 17)('flags an entry removed and created again within the stage (stats_since, 17+) and counts it from its new entry', async () => {
    // The API's statement has one call when the stage starts, so a count from the old entry would be off by one.
    const [{ oid }] = (await db.query<{ oid: string }>('SELECT oid::text AS oid FROM pg_roles WHERE rolname = $1', [API_ROLE])) as [{ oid: string }];
    const entry = async () =>
      (
        await db.query<{ queryid: string; calls: string }>(
          `SELECT queryid::text AS queryid, calls::text AS calls FROM pg_stat_statements
            WHERE userid = $1 AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query = $2`,
          [oid, API_STATEMENT],
        )
      )[0];
    const dropEntry = async () => {
      const found = await entry();
      if (found) await db.query('SELECT pg_stat_statements_reset($1::oid, (SELECT oid FROM pg_database WHERE datname = current_database()), $2::bigint)', [oid, found.queryid]);
    };
    await dropEntry();
    await apiPool.query(API_STATEMENT, [1]);
    const { database } = await loadtest('', {
      during: async (cli) => {
        await stageUnderway(cli, api);
        await dropEntry();
      },
    });
    expect(database.statement_tracking).toMatchObject({ detection: 'entries', recreated: 1, removed: 0 });
    expect(database.notes.join('\n')).toMatch(/removed and created again during the stage: 1 entry of this database, counted from the new entry/);
    const top = database.top_statements.find((s) => s.query === API_STATEMENT)!;
    expect(top.calls).toBe(Number((await entry())!.calls));
  });

  describe.skipIf(major < 14)('on a server with pg_stat_statements.max at its minimum (100)', () => {
    let server: EmbeddedServer;
    let pool: pg.Pool;
    let target: TestTarget;
    beforeAll(async () => {
      server = await startEmbeddedServer({ major, settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.max': '100' } });
      const setup = new pg.Client({ connectionString: server.url });
      await setup.connect();
      await setup.query('CREATE EXTENSION pg_stat_statements');
      await setup.query('CREATE TABLE items (id int PRIMARY KEY)');
      await setup.query('INSERT INTO items SELECT generate_series(1, 100)');
      await setup.query('CREATE DATABASE flood');
      await setup.end();
      pool = new pg.Pool({ connectionString: server.url, max: 2 });
      pool.on('error', () => {});
      target = await startApi(pool);
    }, 90_000);
    afterAll(async () => {
      await target?.close();
      await pool?.end();
      await server?.stop();
    });

    it('reports evictions (dealloc) as evictions, not as a reset, and keeps counting', async () => {
      const flood = async (cli: ReturnType<typeof startCli>) => {
        await stageUnderway(cli, target);
        // 300 statements of distinct shapes in another database: the least-used entries go, several times over.
        const client = new pg.Client({ connectionString: server.urlFor('flood') });
        await client.connect();
        await client.query(Array.from({ length: 300 }, (_, i) => `SELECT ${Array.from({ length: i + 1 }, () => '1').join(', ')}`).join(';\n'));
        await client.end();
      };
      const { run, database } = await loadtest('  thresholds: { queries_per_request: 1.5 }\n', { during: flood, target, url: server.url });
      expect(run.code, run.stderr).toBe(0);
      expect(database.statement_tracking).toMatchObject({ detection: major >= 17 ? 'entries' : 'global', reset: false });
      expect(database.statement_tracking!.evicted).toBeGreaterThan(0);
      expect(database.notes.join('\n')).toMatch(/pg_stat_statements evicted entries \d+ times? during the stage/);
      expect(database.queries_per_request).toBeGreaterThanOrEqual(0.95);
      expect(database.queries_per_request).toBeLessThanOrEqual(1.2);
    });
  });
});
