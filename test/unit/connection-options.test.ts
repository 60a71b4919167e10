import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { describeConnection, resolveConnectionOptions, type ConnectionOptions, type ResolveInput } from '../../src/db/connection-options.js';
import { DbtuneError } from '../../src/errors.js';

const SECRET = 's3cr3t-pw';

/** The error resolving must throw, for its code and message. */
function resolveError(input: ResolveInput): DbtuneError {
  try {
    resolveConnectionOptions(input);
  } catch (error) {
    expect(error).toBeInstanceOf(DbtuneError);
    return error as DbtuneError;
  }
  throw new Error('expected resolveConnectionOptions to throw');
}

const pick = (o: ConnectionOptions) => ({ host: o.host, port: o.port, user: o.user, database: o.database, sslMode: o.sslMode, origin: o.origin, password: o.password });

describe('resolveConnectionOptions: precedence', () => {
  const pgEnv = { PGHOST: 'envhost', PGPORT: '6000', PGUSER: 'envuser', PGPASSWORD: 'envpw', PGDATABASE: 'envdb' };

  it.each<[string, ResolveInput, ReturnType<typeof pick>]>([
    [
      'flag URL over DATABASE_URL and PG*',
      { databaseUrl: 'postgres://flaguser:flagpw@flaghost:7000/flagdb', env: { DATABASE_URL: 'postgres://u:p@urlhost:7100/urldb', ...pgEnv } },
      { host: 'flaghost', port: 7000, user: 'flaguser', database: 'flagdb', sslMode: 'prefer', origin: '--database-url', password: 'flagpw' },
    ],
    [
      'DATABASE_URL over PG*',
      { env: { DATABASE_URL: 'postgres://urluser:urlpw@urlhost:7100/urldb', ...pgEnv } },
      { host: 'urlhost', port: 7100, user: 'urluser', database: 'urldb', sslMode: 'prefer', origin: 'DATABASE_URL', password: 'urlpw' },
    ],
    [
      'an empty DATABASE_URL counts as unset',
      { env: { DATABASE_URL: '', ...pgEnv } },
      { host: 'envhost', port: 6000, user: 'envuser', database: 'envdb', sslMode: 'prefer', origin: 'PG* environment', password: 'envpw' },
    ],
    [
      'PG* variables',
      { env: pgEnv },
      { host: 'envhost', port: 6000, user: 'envuser', database: 'envdb', sslMode: 'prefer', origin: 'PG* environment', password: 'envpw' },
    ],
    [
      'parts missing from the URL come from PG*',
      { databaseUrl: 'postgres://urlhost/urldb', env: pgEnv },
      { host: 'urlhost', port: 6000, user: 'envuser', database: 'urldb', sslMode: 'prefer', origin: '--database-url', password: 'envpw' },
    ],
    [
      'the database defaults to the user',
      { env: { PGUSER: 'alice' } },
      { host: 'localhost', port: 5432, user: 'alice', database: 'alice', sslMode: 'prefer', origin: 'PG* environment', password: undefined },
    ],
    [
      'query parameters of the URL',
      { databaseUrl: 'postgresql://h/ignored?dbname=realdb&user=qu&port=7200&sslmode=require&application_name=x', env: {} },
      { host: 'h', port: 7200, user: 'qu', database: 'realdb', sslMode: 'require', origin: '--database-url', password: undefined },
    ],
    [
      'percent-encoded user, password and database',
      { databaseUrl: `postgres://us%40er:p%3Ass%2Fw%40rd@h:5433/my%20db`, env: {} },
      { host: 'h', port: 5433, user: 'us@er', database: 'my db', sslMode: 'prefer', origin: '--database-url', password: 'p:ss/w@rd' },
    ],
    [
      'an IPv6 host',
      { databaseUrl: 'postgres://u@[::1]:5433/db', env: {} },
      { host: '::1', port: 5433, user: 'u', database: 'db', sslMode: 'prefer', origin: '--database-url', password: undefined },
    ],
  ])('%s', (_what, input, expected) => {
    expect(pick(resolveConnectionOptions(input))).toEqual(expected);
  });

  it('defaults: localhost:5432, the OS user, sslmode prefer, no password', () => {
    const options = resolveConnectionOptions({ env: {} });
    const user = userInfo().username;
    expect(pick(options)).toEqual({ host: 'localhost', port: 5432, user, database: user, sslMode: 'prefer', origin: 'defaults', password: undefined });
  });
});

describe('resolveConnectionOptions: sslmode', () => {
  it.each<[string, ResolveInput, string]>([
    ['?sslmode=require', { databaseUrl: 'postgres://u@h/db?sslmode=require', env: {} }, 'require'],
    ['?ssl=true', { databaseUrl: 'postgres://u@h/db?ssl=true', env: {} }, 'require'],
    ['PGSSLMODE', { env: { PGSSLMODE: 'disable' } }, 'disable'],
    ['PGSSLMODE in capitals', { env: { PGSSLMODE: 'VERIFY-FULL' } }, 'verify-full'],
    ['the URL over PGSSLMODE', { databaseUrl: 'postgres://u@h/db?sslmode=disable', env: { PGSSLMODE: 'require' } }, 'disable'],
  ])('%s → %s', (_what, input, sslMode) => {
    expect(resolveConnectionOptions(input).sslMode).toBe(sslMode);
  });

  describe('with a root certificate file', () => {
    let dir: string;
    let certFile: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'dbtune-conn-'));
      certFile = path.join(dir, 'root.crt');
      await writeFile(certFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('verify-ca reads sslrootcert', () => {
      const options = resolveConnectionOptions({ env: { PGSSLMODE: 'verify-ca', PGSSLROOTCERT: certFile } });
      expect(options.sslRootCert).toContain('BEGIN CERTIFICATE');
    });

    it('a missing sslrootcert file is CONNECTION_CONFIG', () => {
      expect(resolveError({ env: { PGSSLROOTCERT: path.join(dir, 'nope.crt') } }).code).toBe('CONNECTION_CONFIG');
    });
  });
});

describe('resolveConnectionOptions: bad configuration is CONNECTION_CONFIG', () => {
  it.each<[string, ResolveInput]>([
    ['invalid sslmode in the URL', { databaseUrl: 'postgres://u@h/db?sslmode=sometimes', env: {} }],
    ['invalid PGSSLMODE', { env: { PGSSLMODE: 'maybe' } }],
    ['verify-ca without a root certificate', { env: { PGSSLMODE: 'verify-ca' } }],
    ['not a URL', { databaseUrl: 'not a url', env: {} }],
    ['a URL with a bad port', { databaseUrl: `postgres://u:${SECRET}@h:notaport/db`, env: {} }],
    ['another scheme', { databaseUrl: `mysql://u:${SECRET}@h/db`, env: {} }],
    ['bad percent-encoding', { databaseUrl: `postgres://u:${SECRET}%E0%A4%A@h/db`, env: {} }],
    ['PGPORT not a number', { env: { PGPORT: 'abc' } }],
    ['PGPORT out of range', { env: { PGPORT: '70000' } }],
    ['port 0 in the query', { databaseUrl: 'postgres://u@h/db?port=0', env: {} }],
  ])('%s', (_what, input) => {
    const error = resolveError(input);
    expect(error.code).toBe('CONNECTION_CONFIG');
    expect(error.message).not.toContain(SECRET);
  });

  // Each parses as a URL, with pieces of the password as the port, the database or a parameter.
  it.each<[string, string]>([
    ['/', 'postgres://app:123/S3cret@db.example/app'],
    ['#', 'postgres://app:123#S3cret@db.example/app'],
    ['?', 'postgres://app:123?S3cret@db.example/app'],
  ])('a password with an unencoded %s is refused, not split into port and database (regression: shown as "postgres://root@app:123/S3cret…")', (_char, databaseUrl) => {
    const error = resolveError({ databaseUrl, env: {} });
    expect(error.code).toBe('CONNECTION_CONFIG');
    expect(error.message).toMatch(/must be percent-encoded/);
    expect(error.message).not.toMatch(/123|S3cret/);
    // Encoded, the same password works.
    expect(resolveConnectionOptions({ databaseUrl: `postgres://app:${encodeURIComponent(databaseUrl.slice(15, 25))}@db.example/app`, env: {} }).password).toBe(databaseUrl.slice(15, 25));
  });

  it('an invalid DATABASE_URL never echoes its password', () => {
    const error = resolveError({ env: { DATABASE_URL: `postgres://user:${SECRET}@host:99999/db` } });
    expect(error.code).toBe('CONNECTION_CONFIG');
    expect(error.message).not.toContain(SECRET);
  });
});

describe('the password stays out of sight', () => {
  const options = resolveConnectionOptions({ databaseUrl: `postgres://alice:${SECRET}@db.example:5433/app?sslmode=require`, env: {} });

  it('is readable, but not an own enumerable key', () => {
    expect(options.password).toBe(SECRET);
    expect(Object.keys(options)).not.toContain('password');
  });

  it.each<[string, () => string]>([
    ['JSON.stringify', () => JSON.stringify(options)],
    ['Object.entries', () => JSON.stringify(Object.entries(options))],
    ['util.inspect', () => inspect(options)],
    ['spread', () => JSON.stringify({ ...options })],
    ['describeConnection', () => describeConnection(options)],
  ])('does not show in %s', (_what, show) => {
    const text = show();
    expect(text).toContain('alice');
    expect(text).not.toContain(SECRET);
  });

  it('a PGPASSWORD is hidden the same way', () => {
    const fromEnv = resolveConnectionOptions({ env: { PGUSER: 'alice', PGPASSWORD: SECRET } });
    expect(fromEnv.password).toBe(SECRET);
    expect(Object.keys(fromEnv)).not.toContain('password');
    expect(JSON.stringify(fromEnv)).not.toContain(SECRET);
  });
});

describe('describeConnection', () => {
  it.each<[string, ResolveInput]>([
    ['postgres://alice@db.example:5433/app?sslmode=require', { databaseUrl: `postgres://alice:${SECRET}@db.example:5433/app?sslmode=require`, env: {} }],
    ['postgres://alice@db.example:5432/app', { databaseUrl: 'postgres://alice@db.example/app', env: {} }],
    ['postgres://us%40er@[::1]:5433/my%20db', { databaseUrl: 'postgres://us%40er@[::1]:5433/my%20db', env: {} }],
  ])('%s', (expected, input) => {
    expect(describeConnection(resolveConnectionOptions(input))).toBe(expected);
  });
});
