import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DbtuneError } from '../../../errors.js';

/**
 * The engine corrects autocannon's client through internals that are not its
 * API (client.ts, engine.ts): it replaces `_connect` and `_doRequest`, reads
 * `pipelinedRequests`, `requestIterator` and `conn`, and drives the client's
 * http-parser-js parser. package.json pins autocannon to the exact version
 * these were read from; this checks, before any load is sent, that every one
 * of them is still there, so an upgrade that moved one fails loudly instead
 * of silently losing the corrections.
 */

/** Thrown from `setupClient` to stop building the probe client before it connects. */
const PROBE_DONE = Symbol('probe done');

/** What autocannon's client must have for the engine's hooks; an empty list when everything is there. */
export function missingAutocannonInternals(): string[] {
  const missing: string[] = [];
  const fromAutocannon = createRequire(createRequire(import.meta.url).resolve('autocannon'));
  const need = (ok: boolean, what: string) => {
    if (!ok) missing.push(what);
  };
  let Client: (new (options: object) => unknown) | undefined;
  try {
    Client = fromAutocannon('./lib/httpClient.js') as typeof Client;
  } catch {
    return ['lib/httpClient.js'];
  }
  const proto = (Client?.prototype ?? {}) as Record<string, unknown>;
  for (const method of ['_connect', '_doRequest', 'destroy', 'on']) need(typeof proto[method] === 'function', `Client.prototype.${method}()`);

  // The engine's setupClient runs in the client's constructor, before it connects: build one up to there.
  let client: Record<string, unknown> | undefined;
  try {
    new Client!({
      hostname: '127.0.0.1',
      port: 80,
      protocol: 'http:',
      requests: [{ method: 'GET', path: '/' }],
      setupClient(c: Record<string, unknown>) {
        client = c;
        throw PROBE_DONE;
      },
    });
  } catch (error) {
    if (error !== PROBE_DONE) missing.push(`new Client() (${(error as Error)?.message ?? String(error)})`);
  }
  need(client !== undefined, 'the setupClient option, called while the client is built');
  if (client) {
    const queue = client.pipelinedRequests as Record<string, unknown> | undefined;
    need(typeof queue?.size === 'function' && typeof queue.clear === 'function', 'client.pipelinedRequests.size() and .clear()');
    const iterator = client.requestIterator as Record<string, unknown> | undefined;
    need(Array.isArray(iterator?.requests), 'client.requestIterator.requests');
    need(iterator?.currentRequest !== undefined && typeof iterator?.currentRequestIndex === 'number', 'client.requestIterator.currentRequest and .currentRequestIndex');
    need(typeof iterator?.nextRequest === 'function' && typeof iterator.rebuildRequest === 'function', 'client.requestIterator.nextRequest() and .rebuildRequest()');
    const parser = client.parser as Record<string, unknown> | undefined;
    need(typeof parser?.type === 'string' && typeof parser.state === 'string', 'client.parser.type and .state');
    need(typeof parser?.finish === 'function' && typeof parser.reinitialize === 'function', 'client.parser.finish() and .reinitialize()');
    // A close-delimited body is read in http-parser-js's BODY_RAW state (client.ts completes it).
    need(typeof parser?.BODY_RAW === 'function', 'the parser state BODY_RAW');
    need(typeof client.destroyed === 'boolean', 'client.destroyed');
  }

  // The events the engine listens to, and the connection it verifies (`conn`), as the client's source emits and sets them.
  const source = readFileSync(fromAutocannon.resolve('./lib/httpClient.js'), 'utf8');
  for (const event of ['response', 'timeout', 'connError', 'headers']) need(source.includes(`emit('${event}'`), `the client's '${event}' event`);
  need(source.includes('this.conn = '), 'client.conn');
  return missing;
}

/** Throws when the installed autocannon lacks an internal the engine hooks. */
export function checkAutocannonInternals(): void {
  const missing = missingAutocannonInternals();
  if (!missing.length) return;
  const version = (JSON.parse(readFileSync(createRequire(import.meta.url).resolve('autocannon/package.json'), 'utf8')) as { version: string }).version;
  throw new DbtuneError('INTERNAL', `the installed autocannon ${version} lacks internals the load engine hooks: ${missing.join(', ')}`, {
    hint: 'install the autocannon version package.json pins (npm ci); a new version needs the engine (src/load/engine/autocannon/) checked against it first',
  });
}
