import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';

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

/**
 * A bare TCP server on loopback, port 0, for responses Node's HTTP server will
 * not write (e.g. delimited by closing the connection). `onRequest` gets each
 * request head (bodyless requests only) and its socket; close() destroys them all.
 */
export async function startRawTarget(onRequest: (socket: Socket, head: string) => void): Promise<{ url: string; heads: string[]; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const heads: string[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        heads.push(head);
        onRequest(socket, head);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    heads,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
