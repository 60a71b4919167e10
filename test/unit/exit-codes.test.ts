import { describe, expect, it } from 'vitest';
import { ExitCode, exitCodeForErrorClass, exitCodeForOutcome } from '../../src/cli/exit-codes.js';
import type { CommandOutcome } from '../../src/commands/context.js';
import { DbtuneError, errorClassOf, type ErrorClass, type ErrorCode } from '../../src/errors.js';
import { InputProblemsError } from '../../src/config/problems.js';

describe('exit codes', () => {
  it('are the numbers PRODUCT.md promises', () => {
    expect(ExitCode).toEqual({ Ok: 0, Failed: 1, BadInput: 2, Unreachable: 3, Interrupted: 130 });
  });

  it.each<[CommandOutcome, number]>([
    ['ok', 0],
    ['failed', 1],
    ['interrupted', 130],
  ])('outcome %s → %i', (outcome, code) => {
    expect(exitCodeForOutcome(outcome)).toBe(code);
  });

  it.each<[ErrorClass, number]>([
    ['input', 2],
    ['unreachable', 3],
    ['failure', 1],
    ['interrupted', 130],
  ])('error class %s → %i', (errorClass, code) => {
    expect(exitCodeForErrorClass(errorClass)).toBe(code);
  });

  it.each<[ErrorCode, number]>([
    ['USAGE', 2],
    ['INPUT_INVALID', 2],
    ['INPUT_SQL_REJECTED', 2],
    ['CONNECTION_CONFIG', 2],
    ['CONNECTION_FAILED', 3],
    ['SERVER_UNSUPPORTED', 3],
    ['LOAD_ENGINE_UNAVAILABLE', 3],
    ['LOCK_HELD', 1],
    ['QUERY_FAILED', 1],
    ['INTERNAL', 1],
    ['INTERRUPTED', 130],
  ])('DbtuneError %s → exit %i', (code, exit) => {
    expect(exitCodeForErrorClass(errorClassOf(new DbtuneError(code, 'x')))).toBe(exit);
  });

  it('bad input files exit 2', () => {
    const error = new InputProblemsError([{ file: 'a.yaml', line: 1, col: 1, path: 'set', message: 'x' }]);
    expect(exitCodeForErrorClass(errorClassOf(error))).toBe(2);
  });

  it.each([[new Error('boom')], ['a string'], [undefined]])('anything else thrown (%s) exits 1', (thrown) => {
    expect(exitCodeForErrorClass(errorClassOf(thrown))).toBe(1);
  });
});
