import type { TestProject } from 'vitest/node';
import { startEmbeddedServer, type EmbeddedServer } from '../../src/db/embedded-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a superuser connection to the test server's `postgres` database. */
    adminUrl: string;
    /** Major version of the test server. */
    pgMajor: number;
  }
}

let server: EmbeddedServer | undefined;

/** Starts one embedded PostgreSQL per project (major from the project name), or uses DBTUNE_TEST_DATABASE_URL. */
export async function setup(project: TestProject): Promise<void> {
  const external = process.env.DBTUNE_TEST_DATABASE_URL;
  if (external) {
    project.provide('adminUrl', external);
    project.provide('pgMajor', 0);
    return;
  }
  const major = Number(/^pg(\d+)$/.exec(project.name)?.[1]);
  server = await startEmbeddedServer({
    major,
    settings: { shared_preload_libraries: 'pg_stat_statements', max_connections: '300' },
  });
  project.provide('adminUrl', server.url);
  project.provide('pgMajor', major);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
