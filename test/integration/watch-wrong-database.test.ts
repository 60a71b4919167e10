import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { StageDatabase } from '../../src/model/stage-database.js';
import type { LoadResult } from '../../src/model/load-result.js';
import { runCli, useTestDatabase, withDatabase, writeTempFile } from '../support/database.js';
import { startTarget, type TestTarget } from '../support/http-target.js';

/**
 * The API queries one database; the scenario watches another it never
 * touches. Zero queries per request from there is not a pass: the stage says
 * so and its database thresholds fail as "no data".
 */
const db = useTestDatabase();
const otherName = `dbtune_other_${randomBytes(4).toString('hex')}`;
const otherUrl = withDatabase(inject('adminUrl'), otherName);
let pool: pg.Pool;
let api: TestTarget;

beforeAll(async () => {
  await db.query('CREATE TABLE items (id int PRIMARY KEY)');
  await db.query('INSERT INTO items SELECT generate_series(1, 100)');
  await db.query(`CREATE DATABASE ${otherName}`);
  const other = new pg.Client({ connectionString: otherUrl });
  await other.connect();
  await other.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await other.end();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  pool.on('error', () => {});
  api = await startTarget((_req, res) => {
    pool.query('SELECT id FROM items WHERE id = 1').then(
      () => res.writeHead(200).end('{}'),
      (error: Error) => res.writeHead(500).end(error.message),
    );
  });
});

afterAll(async () => {
  await api?.close();
  await pool?.end();
  const admin = new pg.Client({ connectionString: inject('adminUrl') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${otherName} WITH (FORCE)`);
  await admin.end();
});

describe('a watch on a database the API never touches', () => {
  it('reports no data and fails its database thresholds instead of passing them', async () => {
    const file = await writeTempFile(
      'scenario.yaml',
      `scenario: wrong-db
target: ${api.url}
requests: [{ name: item, path: /item }]
stages: [{ users: 2, duration: 1s }]
thresholds: { success_rate: 99% }
database:
  url: \${WATCHED_URL}
  thresholds: { queries_per_request: 2 }
`,
    );
    const out = path.join(path.dirname(file), 'result.json');
    const run = await runCli(['loadtest', file, '--out', out], { WATCHED_URL: otherUrl });
    expect(run.code, run.stderr).toBe(1);
    const result = JSON.parse(await readFile(out, 'utf8')) as LoadResult;
    const stage = result.stages[0]!;
    expect(stage.requests).toBeGreaterThan(0);
    const database = stage.database as StageDatabase;
    expect(database.no_data).toBe(true);
    expect(database.notes.join('\n')).toMatch(/NO DATA: \d+ requests were sent, but this database saw no statements/);
    expect(stage.thresholds.find((t) => t.name === 'queries_per_request')).toMatchObject({ observed: 'no data', passed: false });
  });
});
