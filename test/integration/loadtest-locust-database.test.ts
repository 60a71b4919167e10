import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../src/model/load-result.js';
import type { StageDatabase } from '../../src/model/stage-database.js';
import { runCli, useTestDatabase, writeTempFile } from '../support/database.js';
import { N, PGSS_ONLY, useWatchedApi } from '../support/watched-api.js';

/**
 * The database watch with the Locust engine: the stage boundaries are the
 * master's, and no request is sent between stages, so what PostgreSQL ran in
 * a stage is exactly what that stage's requests caused. Skipped with a
 * warning without `locust`, unless DBTUNE_TEST_REQUIRE_LOCUST=1.
 */

let missing = '';
try {
  execFileSync('locust', ['--version'], { stdio: 'ignore', timeout: 30_000 });
} catch (error) {
  missing = `cannot run \`locust --version\` (${(error as Error).message.split('\n')[0]}): install it with \`apt-get install -y python3-locust\``;
  if (process.env.DBTUNE_TEST_REQUIRE_LOCUST === '1') throw new Error(`${missing} (DBTUNE_TEST_REQUIRE_LOCUST=1 requires it)`);
  process.stderr.write(`\nwarning: the Locust database-watch test is skipped: ${missing}\n\n`);
}

const db = useTestDatabase();
const shop = useWatchedApi(db);

describe.skipIf(missing !== '')('loadtest --engine locust with a database to watch', { timeout: 120_000 }, () => {
  it("attributes each stage's statements to it: exactly N per request of the N+1 endpoint, in every stage", async () => {
    const file = await writeTempFile(
      'scenario.yaml',
      `scenario: locust-watch\ntarget: ${shop.api.url}\nrequests: [{ name: customers, path: /customers }]\nstages: [{ users: 2, duration: 1s }, { users: 4, duration: 1s }]\n${PGSS_ONLY}`,
    );
    const out = path.join(path.dirname(file), 'result.json');
    const run = await runCli(['loadtest', file, '--engine', 'locust', '--workers', '2', '--database-url', db.url, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const { stages } = JSON.parse(await readFile(out, 'utf8')) as LoadResult;
    expect(stages.map((s) => s.users)).toEqual([2, 4]);
    for (const stage of stages) {
      const database = stage.database as StageDatabase;
      const perCustomer = database.top_statements.find((s) => /FROM orders WHERE customer_id/.test(s.query))!;
      // Every request of the stage, and only those: a request counted in the wrong stage, or sent
      // between stages, would break the equality.
      expect(stage.requests).toBeGreaterThan(10);
      expect(perCustomer.calls, `stage ${stage.stage}`).toBe(N * stage.requests);
    }
  });
});
