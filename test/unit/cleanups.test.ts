import { describe, expect, it } from 'vitest';
import { exitCodeForSignal } from '../../src/cli/signals.js';
import { pendingCleanups, registerCleanup, runCleanupsNow } from '../../src/process/cleanups.js';

describe('stop signals', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s → exit %i (128 + the signal number, as a shell reports it)', (signal, code) => {
    expect(exitCodeForSignal(signal)).toBe(code);
  });
});

describe('the cleanup registry', () => {
  it('runs what is still registered once, newest first, past a cleanup that throws', () => {
    const ran: string[] = [];
    const lines: string[] = [];
    registerCleanup({ what: () => 'first', run: () => void ran.push('first') });
    const forget = registerCleanup({ what: () => 'stopped normally', run: () => void ran.push('stopped normally') });
    registerCleanup({
      what: () => 'broken',
      run: () => {
        throw new Error('EPERM');
      },
    });
    registerCleanup({ what: () => 'last', run: () => void ran.push('last') });
    forget();
    runCleanupsNow((line) => lines.push(line));
    expect(ran).toEqual(['last', 'first']);
    expect(lines).toContain('could not stop broken: EPERM');
    expect(pendingCleanups()).toBe(0);
    runCleanupsNow();
    expect(ran).toEqual(['last', 'first']);
  });
});
