import { userInfo } from 'node:os';
import { readFileSync } from 'node:fs';
import { DbtuneError } from '../errors.js';

/** libpq's sslmode values; dbtune follows libpq's meaning of each. */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/**
 * Where to connect, resolved once: `--database-url` → `DATABASE_URL` → `PG*`
 * variables → defaults. The password is a non-enumerable property, so it does
 * not show when the object is logged, serialised or inspected.
 */
export interface ConnectionOptions {
  host: string;
  port: number;
  user: string;
  database: string;
  sslMode: SslMode;
  /** PEM of sslrootcert, when given. */
  sslRootCert?: string;
  /** Where the settings came from, for messages. */
  origin: '--database-url' | 'DATABASE_URL' | 'PG* environment' | 'defaults';
  readonly password?: string;
}

export interface ResolveInput {
  databaseUrl?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export function resolveConnectionOptions(input: ResolveInput = {}): ConnectionOptions {
  const env = input.env ?? process.env;
  const url = input.databaseUrl ?? (env.DATABASE_URL || undefined);
  const origin: ConnectionOptions['origin'] = input.databaseUrl ? '--database-url' : env.DATABASE_URL ? 'DATABASE_URL' : env.PGHOST || env.PGDATABASE || env.PGUSER || env.PGPORT ? 'PG* environment' : 'defaults';
  const fromUrl = url ? parseDatabaseUrl(url, origin) : {};
  const defaultUser = safeUserName();

  const user = fromUrl.user ?? env.PGUSER ?? defaultUser;
  const portText = fromUrl.port ?? env.PGPORT ?? '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new DbtuneError('CONNECTION_CONFIG', `invalid port ${JSON.stringify(portText)} (from ${origin})`);
  }
  const sslModeText = (fromUrl.sslmode ?? env.PGSSLMODE ?? 'prefer').toLowerCase();
  if (!SSL_MODES.includes(sslModeText as SslMode)) {
    throw new DbtuneError('CONNECTION_CONFIG', `invalid sslmode ${JSON.stringify(sslModeText)}: expected one of ${SSL_MODES.join(', ')}`);
  }
  const options: ConnectionOptions = {
    host: fromUrl.host ?? env.PGHOST ?? 'localhost',
    port,
    user,
    database: fromUrl.database ?? env.PGDATABASE ?? user,
    sslMode: sslModeText as SslMode,
    origin,
  };
  const rootCertPath = fromUrl.sslrootcert ?? env.PGSSLROOTCERT;
  if (rootCertPath) {
    try {
      options.sslRootCert = readFileSync(rootCertPath, 'utf8');
    } catch {
      throw new DbtuneError('CONNECTION_CONFIG', `cannot read sslrootcert file ${rootCertPath}`);
    }
  }
  if (options.sslMode === 'verify-ca' && !options.sslRootCert) {
    throw new DbtuneError('CONNECTION_CONFIG', 'sslmode=verify-ca needs sslrootcert (the CA that signed the server certificate)');
  }
  const password = fromUrl.password ?? env.PGPASSWORD;
  if (password !== undefined) {
    Object.defineProperty(options, 'password', { value: password, enumerable: false, writable: false });
  }
  return options;
}

interface UrlParts {
  user?: string;
  password?: string;
  host?: string;
  port?: string;
  database?: string;
  sslmode?: string;
  sslrootcert?: string;
}

function parseDatabaseUrl(text: string, origin: string): UrlParts {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The URL itself is never echoed: it may hold a password.
    throw new DbtuneError('CONNECTION_CONFIG', `${origin} is not a valid URL (expected postgres://user:password@host:port/database)`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new DbtuneError('CONNECTION_CONFIG', `${origin} must start with postgres:// or postgresql://, not ${url.protocol}//`);
  }
  // A password with an unencoded / ? or # ends the host early: its pieces would become the port, the
  // database or a parameter, and be shown in messages as such. The @ that ended the password gives it away.
  if (url.pathname.includes('@') || url.hash.includes('@') || [...url.searchParams.keys()].some((key) => key.includes('@'))) {
    throw new DbtuneError('CONNECTION_CONFIG', `${origin} has an @ after the host: a password containing / ? # or @ must be percent-encoded (%2F %3F %23 %40)`);
  }
  const parts: UrlParts = {};
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new DbtuneError('CONNECTION_CONFIG', `${origin} has a badly percent-encoded part`);
    }
  };
  if (url.username) parts.user = decode(url.username);
  if (url.password) parts.password = decode(url.password);
  if (url.hostname) parts.host = decode(url.hostname).replace(/^\[(.*)\]$/, '$1');
  if (url.port) parts.port = url.port;
  const database = decode(url.pathname.replace(/^\//, ''));
  if (database) parts.database = database;
  for (const [key, value] of url.searchParams) {
    switch (key) {
      case 'sslmode':
      case 'sslrootcert':
      case 'host':
      case 'port':
      case 'user':
      case 'password':
        (parts as Record<string, string>)[key === 'host' ? 'host' : key] = value;
        break;
      case 'dbname':
        parts.database = value;
        break;
      case 'ssl':
        if (value === 'true' || value === '1') parts.sslmode ??= 'require';
        break;
      default:
        // Unknown libpq parameters (application_name, connect_timeout…) are ignored.
        break;
    }
  }
  return parts;
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'postgres';
  }
}

/** `postgres://user@host:port/db?sslmode=…`: for messages; never contains the password. */
export function describeConnection(options: ConnectionOptions): string {
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const ssl = options.sslMode === 'prefer' ? '' : `?sslmode=${options.sslMode}`;
  return `postgres://${encodeURIComponent(options.user)}@${host}:${options.port}/${encodeURIComponent(options.database)}${ssl}`;
}
