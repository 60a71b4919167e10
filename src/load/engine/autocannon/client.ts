import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { MixEntry } from '../../request-mix.js';
import type { WeightedPicker } from '../../mix-picker.js';

/**
 * The parts of autocannon's (internal, version 9.0.0, pinned in package.json) client that dbtune hooks,
 * and the hooks that change how a client picks its requests. The engine
 * (engine.ts) owns the connection-level hooks.
 */
export interface AutocannonClient {
  on(event: 'response', listener: (status: number, bytes: number, durationMs: number) => void): void;
  on(event: 'timeout', listener: () => void): void;
  on(event: 'connError', listener: (error: NodeJS.ErrnoException) => void): void;
  on(event: 'headers', listener: (info: { shouldKeepAlive?: boolean }) => void): void;
  requestIterator: RequestIterator;
  /** http-parser-js, one per client for all its connections (autocannon never resets it). */
  parser: ResponseParser;
  pipelinedRequests: { size(): number; clear(): void };
  /** The current connection: a TLSSocket for https targets. */
  conn: Socket | TLSSocket;
  destroyed: boolean;
  destroy(): void;
  _connect(): void;
  _doRequest(): void;
}

/** The parts of http-parser-js (0.5) dbtune uses. */
interface ResponseParser {
  type: string;
  /** `BODY_RAW`: reading a body that only the connection's close ends. */
  state: string;
  /** End of input: completes a close-delimited message (calls autocannon's message-complete handler). */
  finish(): unknown;
  reinitialize(type: string): void;
}

/** autocannon's RequestIterator: walks `requests` in order from index 0, on every client. */
interface RequestIterator {
  requests: MixEntry[];
  currentRequest: MixEntry;
  currentRequestIndex: number;
  nextRequest(): MixEntry;
  rebuildRequest(): unknown;
}

/**
 * Makes the client pick each request, the first included, with `picker`
 * instead of walking the list: users no longer start together at entry 0
 * and march through the same sequence (see mix-picker.ts).
 */
export function pickWith(client: AutocannonClient, picker: WeightedPicker): void {
  const iterator = client.requestIterator;
  const select = (): MixEntry => {
    const index = picker.next();
    const request = iterator.requests[index]!;
    iterator.currentRequestIndex = index;
    iterator.currentRequest = request;
    // As autocannon's own nextRequest does: templated requests are rendered when picked.
    if (typeof request.setupRequest === 'function') iterator.rebuildRequest();
    return request;
  };
  // setupClient runs before the client's first connect, so the first request is picked too.
  select();
  iterator.nextRequest = select;
}

/**
 * Called when the server has closed the connection with a request in flight.
 * A response without Content-Length or chunked encoding is delimited by that
 * close (RFC 9112 §6.3): it is complete, with its status. autocannon never
 * tells its parser the input ended, so it would never complete; this does,
 * and autocannon reports it as a response. Returns false when the parser was
 * not reading such a body (the request was lost, not answered).
 */
export function completeCloseDelimited(client: AutocannonClient): boolean {
  if (client.parser.state !== 'BODY_RAW') return false;
  // autocannon sends the next request right after a response: not on this closed socket. The
  // next connection sends it. (A client retired meanwhile keeps its own no-op.)
  const doRequest = client._doRequest;
  const hold = () => {};
  client._doRequest = hold;
  try {
    client.parser.finish();
  } finally {
    if (client._doRequest === hold) client._doRequest = doRequest;
  }
  return true;
}

/**
 * A new connection starts a new response: whatever the parser half-read on
 * the previous one (a body cut short by a timeout or a reset) must not be
 * read as the start of the next response, which would turn it into a
 * status-less `http_undefined` and time it from the lost request.
 */
export function resetParser(client: AutocannonClient): void {
  client.parser.reinitialize(client.parser.type);
}

/**
 * Connects with `connect` (autocannon's own `_connect`) and, on https, sends
 * nothing until the server's certificate is verified. autocannon opens its
 * TLS sockets with `rejectUnauthorized: false` whatever its options say, and
 * writes the first request at once; this holds that write back to the
 * handshake, checks what Node's verification found (chain and host name),
 * and calls `onUntrusted` instead of sending when it failed. With `insecure`
 * any certificate is accepted, as `--insecure` says.
 */
export function connectVerified(client: AutocannonClient, connect: () => void, insecure: boolean, onUntrusted: (reason: string) => void): void {
  const doRequest = client._doRequest;
  let held = 0;
  client._doRequest = () => {
    held++;
  };
  try {
    connect.call(client);
  } finally {
    client._doRequest = doRequest;
  }
  const conn = client.conn as TLSSocket;
  conn.once('secureConnect', () => {
    if (client.destroyed || client.conn !== conn) return;
    if (!conn.authorized && !insecure) {
      conn.destroy();
      onUntrusted(String(conn.authorizationError ?? 'unverified'));
      return;
    }
    for (; held > 0; held--) client._doRequest();
  });
}
