import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { connect, type SqlSession } from '../../src/db/client.js';
import { resolveConnectionOptions } from '../../src/db/connection-options.js';

/** A database of its own for one test file, on the shared test server. */
export interface TestDatabase {
  url: string;
  /** Server major version (from the server itself). */
  major: number;
  versionNum: number;
  /** A new session on the test database; closed when the file ends. */
  session(): Promise<SqlSession>;
  /** One statement on a shared session. */
  query<R extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
}

export function useTestDatabase(): TestDatabase {
  const name = `dbtune_test_${randomBytes(4).toString('hex')}`;
  const adminUrl = inject('adminUrl');
  const url = withDatabase(adminUrl, name);
  const sessions: SqlSession[] = [];
  let shared: SqlSession | undefined;
  const db: TestDatabase = {
    url,
    major: 0,
    versionNum: 0,
    async session() {
      const s = await connect(resolveConnectionOptions({ databaseUrl: url, env: {} }), { applicationName: 'dbtune test' });
      sessions.push(s);
      return s;
    },
    async query(sql, params) {
      shared ??= await db.session();
      return shared.query(sql, params);
    },
  };
  beforeAll(async () => {
    const admin = await connect(resolveConnectionOptions({ databaseUrl: adminUrl, env: {} }));
    try {
      await admin.query(`CREATE DATABASE ${name}`);
      db.versionNum = admin.serverVersionNum;
      db.major = Math.floor(admin.serverVersionNum / 10000);
    } finally {
      await admin.close();
    }
  });
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    const admin = await connect(resolveConnectionOptions({ databaseUrl: adminUrl, env: {} }));
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await admin.close();
    }
  });
  return db;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export { REPO_ROOT, runCli, startCli, writeTempFile, type CliResult, type CliRun } from './cli.js';

/** Live definition of an index, or undefined. */
export async function indexDef(db: TestDatabase, name: string): Promise<{ def: string; valid: boolean } | undefined> {
  const rows = await db.query<{ def: string; valid: boolean }>(
    `SELECT pg_get_indexdef(c.oid) AS def, i.indisvalid AS valid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = $1`,
    [name],
  );
  return rows[0];
}
