import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { DbtuneError, pgErrorFields } from '../errors.js';
import { describeConnection, type ConnectionOptions } from './connection-options.js';

/**
 * The subset of a PostgreSQL connection dbtune needs. This module is the
 * only one that imports `pg`; everything else depends on this interface, so
 * tests can wrap it (e.g. to count statements).
 */
export interface SqlSession {
  /** Backend process id (`pg_backend_pid()`), to watch or cancel this session from another. */
  readonly pid: number;
  /** `server_version_num`, e.g. 180001. */
  readonly serverVersionNum: number;
  /** e.g. "18.1". */
  readonly serverVersion: string;
  /**
   * Runs exactly one statement. Always the extended protocol, so the server
   * itself refuses a string holding more than one statement.
   */
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  close(): Promise<void>;
  /** Whether the connection has been lost (server gone, terminated). */
  readonly broken: boolean;
}

export interface ConnectOptions {
  applicationName?: string;
  /** Give up connecting after this long. Default 10 s. */
  connectTimeoutMs?: number;
}

type PgModule = typeof import('pg');
let pgModule: Promise<PgModule> | undefined;
const loadPg = () => (pgModule ??= importPg());

/**
 * `pg` asks at load time whether it runs in a Cloudflare Worker. Where
 * `navigator` is missing (Node 20; Node 21+ defines it) it answers by
 * constructing a fetch `Response`, which loads Node's whole fetch stack:
 * about 30 ms of every command's start. For the length of the import,
 * `navigator` is what Node 21+ itself defines.
 */
async function importPg(): Promise<PgModule> {
  const lendNavigator = typeof (globalThis as { navigator?: unknown }).navigator === 'undefined';
  if (lendNavigator) {
    Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` }, configurable: true, writable: true });
  }
  try {
    const m = await import('pg');
    return (m as unknown as { default?: PgModule }).default ?? m;
  } finally {
    if (lendNavigator) delete (globalThis as { navigator?: unknown }).navigator;
  }
}

/** Opens a session; connection problems become `CONNECTION_FAILED` (exit 3). */
export async function connect(options: ConnectionOptions, connectOptions: ConnectOptions = {}): Promise<SqlSession> {
  const { Client } = await loadPg();
  const attempt = async (tls: TlsOptions | false) => {
    const client = new Client({
      host: options.host,
      port: options.port,
      user: options.user,
      database: options.database,
      ...(options.password !== undefined ? { password: options.password } : {}),
      ssl: tls,
      application_name: connectOptions.applicationName ?? 'dbtune',
      connectionTimeoutMillis: connectOptions.connectTimeoutMs ?? 10_000,
      // Long concurrent builds sit silent for minutes: keepalives stop NATs and load balancers dropping them.
      keepAlive: true,
    });
    // Errors on an idle client (server shutdown, terminated backend) must not crash the process.
    let broken = false;
    client.on('error', () => {
      broken = true;
    });
    client.on('end', () => {
      broken = true;
    });
    await client.connect();
    return { client, isBroken: () => broken };
  };

  let connected: Awaited<ReturnType<typeof attempt>>;
  try {
    try {
      connected = await attempt(tlsFor(options));
    } catch (error) {
      // libpq's `prefer`: try TLS first, fall back to plain text when the server has none.
      if (options.sslMode === 'prefer' && /does not support SSL/i.test(String((error as Error).message))) {
        connected = await attempt(false);
      } else {
        throw error;
      }
    }
  } catch (error) {
    throw connectionError(options, error);
  }

  const { client, isBroken } = connected;
  let row: { pid: number; num: string; version: string };
  try {
    // standard_conforming_strings on: raw SQL in index sets was validated by a parser that reads strings this way (sql/fragment.ts).
    const info = await client.query<{ pid: number; num: string; version: string }>({
      text: "SELECT pg_backend_pid() AS pid, current_setting('server_version_num') AS num, current_setting('server_version') AS version, set_config('standard_conforming_strings', 'on', false) AS scs",
      queryMode: 'extended',
    } as never);
    row = info.rows[0]!;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectionError(options, error);
  }

  return {
    pid: row.pid,
    serverVersionNum: Number(row.num),
    serverVersion: row.version.split(' ')[0] ?? row.version,
    get broken() {
      return isBroken();
    },
    async query<R extends object>(sql: string, params: readonly unknown[] = []) {
      const result = await client.query({ text: sql, values: params as unknown[], queryMode: 'extended' } as never);
      return (result as unknown as { rows: R[] }).rows;
    },
    async close() {
      try {
        await client.end();
      } catch {
        // Already closed or broken: nothing left to release.
      }
    },
  };
}

/** TLS settings with libpq's meaning of each sslmode. */
function tlsFor(options: ConnectionOptions): TlsOptions | false {
  const ca = options.sslRootCert ? { ca: options.sslRootCert } : {};
  switch (options.sslMode) {
    case 'disable':
    case 'allow':
      return false;
    case 'prefer':
      return { rejectUnauthorized: false };
    case 'require':
      // libpq: `require` encrypts without checking the certificate, unless a root cert is given (then it acts as verify-ca).
      return options.sslRootCert ? { ...ca, checkServerIdentity: () => undefined } : { rejectUnauthorized: false };
    case 'verify-ca':
      return { ...ca, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { ...ca };
  }
}

function connectionError(options: ConnectionOptions, error: unknown): DbtuneError {
  const where = describeConnection(options);
  const fields = pgErrorFields(error);
  const code = (error as NodeJS.ErrnoException).code;
  let reason = fields.message;
  let hint = `check the connection settings (from ${options.origin}): --database-url, DATABASE_URL or PGHOST/PGPORT/PGUSER/PGDATABASE`;
  if (code === 'ECONNREFUSED') reason = 'connection refused (is the server running and listening on that address?)';
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') reason = `host ${options.host} not found`;
  else if (code === 'ETIMEDOUT' || /timeout/i.test(reason)) reason = 'timed out while connecting';
  else if (fields.code === '28P01' || fields.code === '28000') hint = 'check the user and password (PGPASSWORD or the URL); the role may also need CONNECT on the database';
  else if (fields.code === '3D000') hint = 'the database does not exist: check the database name';
  else if (/self.signed|certificate|SSL/i.test(reason)) hint = 'TLS problem: with sslmode=require the certificate is not checked; with verify-ca/verify-full give sslrootcert';
  // The original error is kept out: some drivers echo connection strings into messages.
  return new DbtuneError('CONNECTION_FAILED', `could not connect to ${where}: ${redactSecrets(reason, options)}`, { hint });
}

/** Belt and braces: remove the password from any text that will be shown. */
export function redactSecrets(text: string, options: Pick<ConnectionOptions, 'password'>): string {
  const password = options.password;
  if (!password) return text;
  return text.split(password).join('********');
}
