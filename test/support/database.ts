import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { connect, type SqlSession } from '../../src/db/client.js';
import { resolveConnectionOptions } from '../../src/db/connection-options.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(REPO_ROOT, 'bin', 'dbtune.js');

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

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ReturnType<typeof spawn>;
  done: Promise<CliResult>;
  /** Resolves when stderr has printed text matching `pattern`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Runs the real CLI (`node bin/dbtune.js …`) as a user would. */
export function startCli(args: string[], env: Record<string, string | undefined> = {}): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: (s: string) => void }> = [];
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of [...waiters]) {
      const m = w.pattern.exec(stderr);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m[0]);
      }
    }
  });
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return {
    child,
    done,
    waitForStderr(pattern, timeoutMs = 30_000) {
      const m = pattern.exec(stderr);
      if (m) return Promise.resolve(m[0]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`stderr never matched ${pattern}; stderr so far:\n${stderr}`)), timeoutMs);
        waiters.push({
          pattern,
          resolve: (s) => {
            clearTimeout(timer);
            resolve(s);
          },
        });
      });
    },
  };
}

export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return startCli(args, env).done;
}

/** Writes an index-set (or any) file into a fresh temp dir and returns its path. */
export async function writeTempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-test-'));
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

/** Live definition of an index, or undefined. */
export async function indexDef(db: TestDatabase, name: string): Promise<{ def: string; valid: boolean } | undefined> {
  const rows = await db.query<{ def: string; valid: boolean }>(
    `SELECT pg_get_indexdef(c.oid) AS def, i.indisvalid AS valid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = $1`,
    [name],
  );
  return rows[0];
}
