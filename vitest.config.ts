import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Projects: `unit` (pure logic, no server), `hypopg` (advise, on Debian's PostgreSQL 15 with
 * hypopg), `pg<major>` (integration tests
 * against a real PostgreSQL), and the timing-sensitive `load`, `html` and
 * `demo`. Each pg project starts its own embedded server of that major in a
 * fresh temp dir (test/support/global-setup.ts), unless
 * DBTUNE_TEST_DATABASE_URL names a server to use instead (project `pg-external`).
 *
 * `npm test` runs them in two steps (test/README.md): unit and pg* in
 * parallel, then load, html and demo one file at a time, so that latencies are
 * not measured on a CPU the database projects are using.
 *
 * DBTUNE_TEST_PG_VERSIONS picks the majors (default all supported: 13–18).
 */
const externalUrl = process.env.DBTUNE_TEST_DATABASE_URL;
const majors = externalUrl ? ['external'] : (process.env.DBTUNE_TEST_PG_VERSIONS ?? '13,14,15,16,17,18').split(',').map((v) => v.trim()).filter(Boolean);

/**
 * Files whose subject does not depend on the server's major (client-side parsing and redaction,
 * TLS, roles, files, how apply handles a failed or interrupted build, that a concurrent build lets
 * writes through) run on the oldest and newest majors only; everything that reads the catalog,
 * plans or statistics runs on every major. Keeps the suite within its time budget on 2 cores.
 */
const EDGE_MAJORS_ONLY = [
  'apply-failures',
  'check-role',
  'connection-secrets',
  'embedded-server-env',
  'fragment-injection',
  'hidden-builds',
  'import',
  'loadtest-database-edges',
  'rebuild-leftover',
  'report-text',
  'safety',
  'tls',
  'verify-unverified',
  'watch-wrong-database',
].map((name) => `test/integration/${name}.test.ts`);
const edgeMajors = new Set([majors[0], majors[majors.length - 1]]);
/**
 * Files about a feature that changes at given majors run on those: pg_stat_statements has no
 * pg_stat_statements_info before 14 and per-entry stats_since from 17.
 */
const ONLY_ON_MAJORS: Record<string, string[]> = {
  'watch-statements': ['13', '14', '17', '18'],
};
function excludedOn(major: string): string[] {
  if (major === 'external') return [];
  const edge = edgeMajors.has(major) ? [] : EDGE_MAJORS_ONLY;
  const versioned = Object.entries(ONLY_ON_MAJORS)
    .filter(([, on]) => !on.includes(major))
    .map(([name]) => `test/integration/${name}.test.ts`);
  return [...edge, ...versioned];
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
