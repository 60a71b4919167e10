import { DbtuneError, errorClassOf, type ErrorClass } from '../errors.js';
import { InputProblemsError } from '../config/problems.js';
import type { CommandContext } from '../commands/context.js';
import { stripControl, stripControlReplacer } from '../text/safe-text.js';

/**
 * Prints an error: message and hint on stderr; with --json/--format json,
 * also one JSON document on stdout so machine consumers always get JSON.
 */
export async function reportError(error: unknown, context: CommandContext, options: object): Promise<ErrorClass> {
  const { stderr, stdout, env } = context.io;
  const pg = !(error instanceof DbtuneError) ? asPostgresError(error) : undefined;
  const errorClass = pg ? pg.errorClass : errorClassOf(error);
  const known = error instanceof DbtuneError;
  const message = known ? error.message : pg ? pg.message : `internal error: ${(error as Error)?.stack ?? String(error)}`;
  // Messages can quote the server (an object name, a value): no control character reaches the terminal.
  stderr.write(stripControl(`error: ${message}\n`));
  if (known && error.hint) stderr.write(stripControl(`hint: ${error.hint}\n`));
  if (pg?.hint) stderr.write(stripControl(`hint: ${pg.hint}\n`));
  if (env.DBTUNE_DEBUG && known && error.cause) stderr.write(`cause: ${String((error.cause as Error)?.stack ?? error.cause)}\n`);
  const o = options as { json?: boolean; format?: string };
  if (o.json || o.format === 'json') {
    const document = {
      passed: false,
      error: {
        code: known ? error.code : pg ? pg.code : 'INTERNAL',
        message: known ? error.message : pg ? pg.message : String((error as Error)?.message ?? error),
        ...(known && error.hint ? { hint: error.hint } : {}),
        ...(error instanceof InputProblemsError ? { problems: error.problems } : {}),
      },
    };
    stdout.write(`${JSON.stringify(document, stripControlReplacer, 2)}\n`);
  }
  return errorClass;
}

/**
 * An error from PostgreSQL or the connection that no command turned into a
 * DbtuneError (e.g. a catalog query refused for lack of privileges, or the
 * server going away mid-run): shown with its SQLSTATE, without a stack.
 */
function asPostgresError(error: unknown): { errorClass: ErrorClass; code: 'QUERY_FAILED' | 'CONNECTION_FAILED'; message: string; hint?: string } | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const e = error as { code?: unknown; message?: unknown; hint?: unknown; severity?: unknown };
  const message = typeof e.message === 'string' ? e.message : '';
  if (/Connection terminated|ECONNRESET|EPIPE|terminating connection|server closed the connection/i.test(message) || e.code === '57P01') {
    return { errorClass: 'unreachable', code: 'CONNECTION_FAILED', message: `lost the connection to the database: ${message}` };
  }
  if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === 'string') {
    return { errorClass: 'failure', code: 'QUERY_FAILED', message: `PostgreSQL error ${e.code}: ${message}`, ...(typeof e.hint === 'string' && e.hint ? { hint: e.hint } : {}) };
  }
  return undefined;
}
