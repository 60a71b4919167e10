import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { DbtuneError } from '../errors.js';
import { redactUrl } from '../redact-url.js';

/**
 * The target is the one host that receives traffic: the scenario's `target`
 * or `--target`. Request paths are appended to it; redirects are never
 * followed (a 3xx is a failure unless the request expects it).
 *
 * Messages never echo a password or query value (redactUrl); `shown` names a
 * value that came from the environment (`the value of ${TARGET}`) instead.
 */
export function parseTarget(text: string, flag: string, shown: string = JSON.stringify(redactUrl(text))): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DbtuneError('USAGE', `${flag} must be an http:// or https:// URL, got ${shown}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DbtuneError('USAGE', `${flag} must be an http:// or https:// URL, got ${shown}`);
  if (url.search || url.hash) throw new DbtuneError('USAGE', `${flag} is a base URL without ?query or #fragment, got ${shown}`);
  if (url.username || url.password) throw new DbtuneError('USAGE', `${flag} must not carry credentials; send them as a header (headers: { authorization: "Bearer \${TOKEN}" })`);
  return url;
}

/**
 * Opens one connection (and, for https, a verified TLS handshake) before any
 * load, so that a target that is down fails in seconds with exit 3 instead of
 * a stage of connection errors. A self-signed certificate is refused here
 * unless `--insecure`; the load's own connections are verified too
 * (engine/autocannon/client.ts), since a server may show another certificate later.
 */
export async function checkTarget(url: URL, options: { insecure: boolean; timeoutMs?: number }): Promise<void> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const timeoutMs = options.timeoutMs ?? 5000;
  await new Promise<void>((resolve, reject) => {
    let socket: Socket;
    const fail = (reason: string, hint?: string) => {
      socket.destroy();
      reject(new DbtuneError('CONNECTION_FAILED', `cannot reach the target ${url.origin}: ${reason}`, { hint: hint ?? 'is the API running, and is the URL (or --target) right?' }));
    };
    if (url.protocol === 'https:') {
      socket = connectTls({ host, port, servername: isIp(host) ? undefined : host, rejectUnauthorized: !options.insecure, ALPNProtocols: ['http/1.1'] }, () => {
        socket.destroy();
        resolve();
      });
    } else {
      socket = connectTcp({ host, port }, () => {
        socket.destroy();
        resolve();
      });
    }
    socket.setTimeout(timeoutMs, () => fail(`no connection within ${timeoutMs / 1000} s`));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? '';
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT/.test(code)) {
        fail(`its TLS certificate is not trusted (${code}: ${error.message})`, 'for a test server with a self-signed certificate, pass --insecure; or add its CA with NODE_EXTRA_CA_CERTS');
      } else {
        fail(`${code || error.message}${code && error.message && !error.message.includes(code) ? ` (${error.message})` : ''}`);
      }
    });
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
