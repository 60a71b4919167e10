import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { checkAutocannonInternals, missingAutocannonInternals } from '../../src/load/engine/autocannon/internals.js';

/**
 * The load engine hooks autocannon internals that are not its API. If an
 * upgrade of autocannon changes one, this fails: check the engine
 * (src/load/engine/autocannon/) against the new version before moving the pin.
 */
describe('autocannon internals the load engine hooks', () => {
  it('are all present in the installed autocannon', () => {
    expect(missingAutocannonInternals()).toEqual([]);
    expect(() => checkAutocannonInternals()).not.toThrow();
  });

  it('come from the exact version package.json pins', () => {
    const pinned = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }).dependencies.autocannon;
    const installed = (createRequire(import.meta.url)('autocannon/package.json') as { version: string }).version;
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed).toBe(pinned);
  });
});

describe('the internals check', () => {
  it('names a hooked method an upgrade removed', () => {
    const fromAutocannon = createRequire(createRequire(import.meta.url).resolve('autocannon'));
    const Client = fromAutocannon('./lib/httpClient.js') as { prototype: Record<string, unknown> };
    const doRequest = Client.prototype._doRequest;
    delete Client.prototype._doRequest;
    try {
      expect(missingAutocannonInternals()).toEqual(['Client.prototype._doRequest()']);
      expect(() => checkAutocannonInternals()).toThrow(/lacks internals the load engine hooks: Client\.prototype\._doRequest\(\)/);
    } finally {
      Client.prototype._doRequest = doRequest;
    }
  });
});
