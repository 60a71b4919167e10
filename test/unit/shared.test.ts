import { describe, expect, it } from 'vitest';
import { refuseBrokenConcurrentBuilds, refuseUnsupportedServer } from '../../src/commands/shared.js';
import type { SqlSession } from '../../src/db/client.js';
import { DbtuneError } from '../../src/errors.js';

/** Only the version fields are read; the rest of the session is never touched. */
const session = (serverVersionNum: number, serverVersion: string) => ({ serverVersionNum, serverVersion }) as unknown as SqlSession;

describe('refuseUnsupportedServer (every command)', () => {
  it.each([
    [120000, '12.0'],
    [120022, '12.22'],
  ])('refuses %i (%s) with SERVER_UNSUPPORTED', (num, version) => {
    expect(() => refuseUnsupportedServer(session(num, version))).toThrow(expect.objectContaining({ code: 'SERVER_UNSUPPORTED', errorClass: 'unreachable' }));
  });

  it.each([[130000, '13.0'], [140002, '14.2'], [180000, '18.0']])('lets %i (%s) through', (num, version) => {
    expect(() => refuseUnsupportedServer(session(num, version))).not.toThrow();
  });
});

describe('refuseBrokenConcurrentBuilds (apply)', () => {
  it.each([
    [140000, '14.0'],
    [140002, '14.2'],
    [140003, '14.3'],
  ])('refuses %i (%s) with SERVER_UNSUPPORTED', (num, version) => {
    let caught: unknown;
    try {
      refuseBrokenConcurrentBuilds(session(num, version));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DbtuneError);
    expect((caught as DbtuneError).code).toBe('SERVER_UNSUPPORTED');
    expect((caught as DbtuneError).errorClass).toBe('unreachable');
  });

  it.each([
    [130000, '13.0'],
    [130023, '13.23'],
    [140004, '14.4'],
    [150000, '15.0'],
    [180000, '18.0'],
  ])('lets %i (%s) through', (num, version) => {
    expect(() => refuseBrokenConcurrentBuilds(session(num, version))).not.toThrow();
  });

  it('gives 14.0-14.3 users a next step', () => {
    expect(() => refuseBrokenConcurrentBuilds(session(140002, '14.2'))).toThrow(expect.objectContaining({ code: 'SERVER_UNSUPPORTED', hint: expect.any(String) }));
  });
});
