/**
 * dbtune's one error model. Every error the tool raises on purpose is a
 * {@link DbtuneError} with a stable {@link ErrorCode}; the CLI maps the code's
 * {@link ErrorClass} to an exit code in one place (`cli/exit-codes.ts`).
 * Tests assert codes, not wording.
 */

import { safeErrorFields, type PgErrorFields } from './text/safe-error.js';

/** What kind of failure an error is; decides the exit code. */
export type ErrorClass =
  /** Bad usage or a bad input file: nothing was executed. Exit 2. */
  | 'input'
  /** The database or target could not be reached, or is unsupported. Exit 3. */
  | 'unreachable'
  /** The tool ran and something failed. Exit 1. */
  | 'failure'
  /** The user pressed Ctrl-C. Exit 130. */
  | 'interrupted';

const ERROR_CLASSES = {
  USAGE: 'input',
  INPUT_INVALID: 'input',
  INPUT_SQL_REJECTED: 'input',
  CONNECTION_CONFIG: 'input',
  CONNECTION_FAILED: 'unreachable',
  SERVER_UNSUPPORTED: 'unreachable',
  /** A load engine (locust) is not installed, or not a version dbtune was tested with. */
  LOAD_ENGINE_UNAVAILABLE: 'unreachable',
  LOCK_HELD: 'failure',
  QUERY_FAILED: 'failure',
  INTERRUPTED: 'interrupted',
  INTERNAL: 'failure',
} as const satisfies Record<string, ErrorClass>;

/** Stable error codes; part of the JSON output contract. */
export type ErrorCode = keyof typeof ERROR_CLASSES;

export interface DbtuneErrorOptions {
  /** A next step for the user, e.g. "run `dbtune plan` to see which sessions block the build". */
  hint?: string;
  cause?: unknown;
}

export class DbtuneError extends Error {
  override readonly name = 'DbtuneError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: DbtuneErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }

  get errorClass(): ErrorClass {
    return ERROR_CLASSES[this.code];
  }
}

/**
 * Reads PostgreSQL's fields off anything node-postgres threw — the one door
 * through which server errors enter results and reports, so it hands them
 * over safe to print: row values out of integrity errors' details, control
 * characters out of every field (text/safe-error.ts).
 */
export function pgErrorFields(error: unknown): PgErrorFields {
  if (error !== null && typeof error === 'object') {
    const e = error as Record<string, unknown>;
    const fields: PgErrorFields = { message: typeof e.message === 'string' ? e.message : String(error) };
    if (typeof e.code === 'string') fields.code = e.code;
    if (typeof e.detail === 'string' && e.detail) fields.detail = e.detail;
    if (typeof e.hint === 'string' && e.hint) fields.hint = e.hint;
    return safeErrorFields(fields);
  }
  return safeErrorFields({ message: String(error) });
}

export function errorClassOf(error: unknown): ErrorClass {
  return error instanceof DbtuneError ? error.errorClass : 'failure';
}
