import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LoadResult } from '../../src/model/load-result.js';
import { runCli, writeTempFile } from '../support/cli.js';

/**
 * Every load connection verifies the target's certificate, not only the
 * pre-flight handshake. The server here presents a trusted certificate to its
 * first connection (the pre-flight check) and an untrusted one to all others.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function selfSigned(dir: string, name: string): Promise<{ key: string; cert: string; certFile: string }> {
  const [keyFile, certFile] = [path.join(dir, `${name}-key.pem`), path.join(dir, `${name}-cert.pem`)];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8'), certFile };
}

describe('TLS on load connections', () => {
  it('refuses a certificate that is not trusted on a load connection (exit 3), sending nothing on it, unless --insecure', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dbtune-tls-load-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const trusted = await selfSigned(dir, 'trusted');
    const untrusted = await selfSigned(dir, 'untrusted');
    let requests = 0;
    const server = https.createServer({ key: trusted.key, cert: trusted.cert }, (_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    let connections = 0;
    // Node's TLS server builds each connection's TLS socket before this listener runs: the first
    // connection keeps the trusted certificate, every later one gets the untrusted one.
    server.on('connection', () => {
      if (++connections === 1) server.setSecureContext({ key: untrusted.key, cert: untrusted.cert });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const file = await writeTempFile('scenario.yaml', `scenario: tls-switch\ntarget: ${url}\nrequests: [{ name: a, path: / }]\nstages: [{ users: 2, duration: 1s }]\n`);
    const env = { NODE_EXTRA_CA_CERTS: trusted.certFile };

    const refused = await runCli(['loadtest', file], env);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toMatch(/certificate is not trusted on a load connection/);
    expect(refused.stderr).toMatch(/--insecure/);
    // The pre-flight check passed (one connection, no request); no request went to the untrusted server.
    expect(connections).toBeGreaterThan(1);
    expect(requests).toBe(0);

    const out = path.join(dir, 'result.json');
    const insecure = await runCli(['loadtest', file, '--insecure', '--out', out], env);
    expect(insecure.code, insecure.stderr).toBe(0);
    expect((JSON.parse(await readFile(out, 'utf8')) as LoadResult).stages[0]!.successes).toBeGreaterThan(0);
  });
});
