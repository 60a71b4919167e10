import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connect } from '../../src/db/client.js';
import { resolveConnectionOptions } from '../../src/db/connection-options.js';
import { startEmbeddedServer, type EmbeddedServer } from '../../src/db/embedded-server.js';
import { runCli, writeTempFile } from '../support/database.js';

/**
 * A server of its own that accepts only TLS connections (hostssl in
 * pg_hba.conf) with a self-signed certificate for 127.0.0.1: sslmode must be
 * honoured from the URL and from PGSSLMODE, with libpq's meaning.
 */
const major = inject('pgMajor');
let server: EmbeddedServer | undefined;
let dir = '';
let certFile = '';
let setFile = '';

beforeAll(async () => {
  if (!major) return; // DBTUNE_TEST_DATABASE_URL mode: no embedded server to configure
  dir = await mkdtemp(path.join(tmpdir(), 'dbtune-tls-'));
  await chmod(dir, 0o755);
  certFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const hbaFile = path.join(dir, 'pg_hba.conf');
  await writeFile(hbaFile, 'hostssl all all 127.0.0.1/32 scram-sha-256\n');
  await chmod(keyFile, 0o600);
  if (userInfo().uid === 0) {
    // The server runs as the postgres OS user; PostgreSQL wants its key owned by that user, 0600.
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    for (const f of [keyFile, certFile, hbaFile]) await chown(f, uid, gid);
  }
  server = await startEmbeddedServer({ major, settings: { ssl: 'on', ssl_cert_file: certFile, ssl_key_file: keyFile, hba_file: hbaFile } });
  const session = await connect(resolveConnectionOptions({ databaseUrl: `${server.url}?sslmode=require`, env: {} }));
  await session.query('CREATE TABLE secured (id int)');
  await session.close();
  setFile = await writeTempFile('tls.yaml', 'set: tls\nindexes:\n  - { name: idx_secured_id, table: secured, columns: [id] }\n');
});

afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!major)('TLS connections', () => {
  const url = (query: string) => `${server!.url}${query}`;

  it('connects with sslmode=require from the URL or PGSSLMODE, and with the default prefer', async () => {
    for (const env of [{ DATABASE_URL: url('?sslmode=require') }, { DATABASE_URL: url(''), PGSSLMODE: 'require' }, { DATABASE_URL: url('') }]) {
      const result = await runCli(['plan', setFile, '--json'], env);
      expect(result.code, result.stderr).toBe(0);
    }
    const session = await connect(resolveConnectionOptions({ databaseUrl: url('?sslmode=require'), env: {} }));
    const [row] = await session.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    await session.close();
    expect(row!.ssl).toBe(true);
  });

  it('is refused without TLS when the server requires it (exit 3), and the hint does not leak the password', async () => {
    const result = await runCli(['plan', setFile], { DATABASE_URL: url('?sslmode=disable') });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/no pg_hba\.conf entry|no encryption/);
    expect(result.stderr).not.toContain(new URL(server!.url).password);
  });

  it('verifies the certificate with verify-full: fails without the CA, succeeds with sslrootcert', async () => {
    const unverified = await runCli(['plan', setFile], { DATABASE_URL: url('?sslmode=verify-full') });
    expect(unverified.code).toBe(3);
    expect(unverified.stderr).toMatch(/self[- ]signed|certificate/i);
    const verified = await runCli(['plan', setFile], { DATABASE_URL: url(`?sslmode=verify-full&sslrootcert=${encodeURIComponent(certFile)}`) });
    expect(verified.code, verified.stderr).toBe(0);
    const viaEnv = await runCli(['plan', setFile], { DATABASE_URL: url(''), PGSSLMODE: 'verify-ca', PGSSLROOTCERT: certFile });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
  });
});
