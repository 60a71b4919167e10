import { readdirSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Projects: `unit` (pure logic, no server), `cli` (the CLI against test HTTP servers, nothing
 * timed), `hypopg` (advise, on Debian's PostgreSQL 15 with hypopg), `pg<major>` (integration
 * tests against a real PostgreSQL), and the timing-sensitive `load`, `html` and `demo`. Each pg
 * project starts its own embedded server of that major in a fresh temp dir
 * (test/support/global-setup.ts), unless DBTUNE_TEST_DATABASE_URL names a server to use instead
 * (project `pg-external`).
 *
 * `npm test` runs them in two steps (test/README.md): unit, cli, hypopg and pg* in parallel,
 * then load, html and demo one file at a time, so that latencies are not measured on a CPU the
 * database projects are using.
 *
 * DBTUNE_TEST_PG_VERSIONS picks the majors (default all supported: 13–18).
 */
const externalUrl = process.env.DBTUNE_TEST_DATABASE_URL;
const majors = externalUrl ? ['external'] : (process.env.DBTUNE_TEST_PG_VERSIONS ?? '13,14,15,16,17,18').split(',').map((v) => v.trim()).filter(Boolean);

/**
 * Which integration files run on which majors, to keep the suite within its time budget on 2 cores
 * (the parallel step is CPU-bound: every file left out of a major is time saved):
 * - by default a file runs on the MAIN_MAJORS: the oldest (13), 15 (NULLS NOT DISTINCT, the
 *   statistics flush), 17 (pg_stat_statements' renamed columns, stats_since, pg_maintain) and the
 *   newest (18). 14 and 16 change nothing the catalog, plan and apply code read that those do not
 *   cover; a file whose subject does change there names them below;
 * - EVERY_MAJOR: the planner's output changes from one major to the next (plan shapes);
 * - EDGE_MAJORS_ONLY: the subject does not depend on the server's major, but a failure would be a
 *   security or data problem (quoting, secrets, TLS, failed and interrupted builds, writes during a
 *   build): the oldest and newest majors;
 * - NEWEST_ONLY: the subject does not depend on the server's major at all (text redaction, the
 *   embedded server's environment, reading leftovers, import's round trip): the newest major;
 * - ONLY_ON_MAJORS: what the file reads changes at given majors: those.
 * Whatever a run picks with DBTUNE_TEST_PG_VERSIONS, every file runs on at least one of them (the
 * newest picked, when none of its own majors is).
 */
const MAIN_MAJORS = ['13', '15', '17', '18'];
const EVERY_MAJOR = ['explain'];
const EDGE_MAJORS_ONLY = ['advise-build', 'apply-analyze', 'apply-failures', 'check-role', 'connection-secrets', 'fragment-injection', 'loadtest-database-edges', 'safety', 'tls'];
const NEWEST_ONLY = ['apply-schedule', 'embedded-server-env', 'hidden-builds', 'import', 'loadtest-locust-database', 'rebuild-leftover', 'report-text', 'verify-unverified', 'watch-wrong-database'];
const ONLY_ON_MAJORS: Record<string, string[]> = {
  // pg_stat_statements_info and toplevel from 14, the statistics flush of 15, renamed columns and
  // stats_since from 17; nothing it reads changes at 16 or 18 (18 reads what 17 does).
  'loadtest-database': ['13', '14', '15', '17'],
  // pg_stat_statements_info from 14, per-entry stats_since from 17.
  'watch-statements': ['13', '14', '17'],
};
const oldest = majors[0];
const newest = majors[majors.length - 1];
const integrationFiles = readdirSync('test/integration').filter((f) => f.endsWith('.test.ts')).map((f) => f.slice(0, -'.test.ts'.length));
function majorsOf(name: string): string[] {
  if (EVERY_MAJOR.includes(name)) return majors;
  if (EDGE_MAJORS_ONLY.includes(name)) return [...new Set([oldest!, newest!])];
  if (NEWEST_ONLY.includes(name)) return [newest!];
  const own = ONLY_ON_MAJORS[name] ?? MAIN_MAJORS;
  const picked = majors.filter((m) => own.includes(m));
  return picked.length ? picked : [newest!];
}
function excludedOn(major: string): string[] {
  if (major === 'external') return [];
  return integrationFiles.filter((name) => !majorsOf(name).includes(major)).map((name) => `test/integration/${name}.test.ts`);
}
/** Every project: a temp root per test file, removed after it (test/support/temp-root.ts). */
const setupFiles = ['test/support/temp-root.ts'];

export default defineConfig({
  test: {
    // Files share one server per major but each gets its own database. The work is mostly
    // PostgreSQL's and the spawned CLI's, so a few files at a time suit a 2-core machine.
    // (The timing step overrides this with --no-file-parallelism.)
    maxWorkers: 3,
    projects: [
      {
        test: {
          setupFiles,
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        // The CLI against HTTP servers started by the tests (port 0), where nothing is timed: files it
        // reads and writes, secrets it must never print. Runs beside the database projects.
        test: {
          setupFiles,
          name: 'cli',
          include: ['test/cli/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        // Timing step. The load tests drive HTTP servers started by the tests (port 0); no PostgreSQL.
        // locust.test.ts also runs real Locust processes (skipped with a warning without `locust`,
        // unless DBTUNE_TEST_REQUIRE_LOCUST=1).
        test: {
          setupFiles,
          name: 'load',
          include: ['test/load/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        // Timing step. `dbtune demo --quick` end to end (its own embedded PostgreSQL) and `dbtune init`.
        test: {
          setupFiles,
          name: 'demo',
          include: ['test/demo/**/*.test.ts'],
          testTimeout: 240_000,
        },
      },
      {
        // Timing step. The HTML report opened in a real headless Chromium (Debian package `chromium`).
        test: {
          setupFiles,
          name: 'html',
          include: ['test/html/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // `dbtune advise`: Debian's PostgreSQL 15 with hypopg (test/hypopg/global-setup.ts); skipped with a
        // warning when it is not installed, unless DBTUNE_TEST_REQUIRE_HYPOPG=1.
        test: {
          setupFiles,
          name: 'hypopg',
          include: ['test/hypopg/**/*.test.ts'],
          globalSetup: ['test/hypopg/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      ...majors.map((major) => ({
        test: {
          setupFiles,
          name: major === 'external' ? 'pg-external' : `pg${major}`,
          include: ['test/integration/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...excludedOn(major)],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      })),
    ],
  },
});
