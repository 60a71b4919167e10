import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP server for load tests: loopback, port 0, counts what it receives,
 * and closes every connection on close() so a test never leaves sockets open.
 */
export interface TestTarget {
  url: string;
  port: number;
  /** Requests received, in order of arrival (method and URL). */
  received: Array<{ method: string; url: string; body: string }>;
  /** Requests being handled right now, and the most ever at once. */
  inFlight: number;
  peakInFlight: number;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string, target: TestTarget) => void;

export async function startTarget(handler: Handler, tls?: { key: string; cert: string }): Promise<TestTarget> {
  const target: TestTarget = { url: '', port: 0, received: [], inFlight: 0, peakInFlight: 0, close: async () => {} };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      target.received.push({ method: req.method ?? '', url: req.url ?? '', body });
      target.inFlight++;
      target.peakInFlight = Math.max(target.peakInFlight, target.inFlight);
      let counted = true;
      const done = () => {
        if (counted) target.inFlight--;
        counted = false;
      };
      res.on('close', done);
      handler(req, res, body, target);
    });
  };
  const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target.port = (server.address() as AddressInfo).port;
  target.url = `${tls ? 'https' : 'http'}://127.0.0.1:${target.port}`;
  target.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return target;
}

/** Answers `{"ok":true}` after `ms` milliseconds. */
export function respondAfter(res: ServerResponse, ms: number, status = 200, body = '{"ok":true}'): void {
  const send = () => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  };
  if (ms <= 0) send();
  else setTimeout(send, ms);
}
