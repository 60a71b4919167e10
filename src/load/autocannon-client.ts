import type { MixEntry } from './request-mix.js';
import type { WeightedPicker } from './mix-picker.js';

/**
 * The parts of autocannon's (internal, version 9) client that dbtune hooks,
 * and the hooks that change how a client picks its requests. The engine
 * (engine.ts) owns the connection-level hooks.
 */
export interface AutocannonClient {
  on(event: 'response', listener: (status: number, bytes: number, durationMs: number) => void): void;
  on(event: 'timeout', listener: () => void): void;
  on(event: 'connError', listener: (error: NodeJS.ErrnoException) => void): void;
  on(event: 'headers', listener: (info: { shouldKeepAlive?: boolean }) => void): void;
  requestIterator: RequestIterator;
  pipelinedRequests: { size(): number; clear(): void };
  destroyed: boolean;
  destroy(): void;
  _connect(): void;
  _doRequest(): void;
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
