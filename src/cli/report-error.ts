import { DbtuneError, errorClassOf, type ErrorClass } from '../errors.js';
import { InputProblemsError } from '../config/problems.js';
import type { CommandContext } from '../commands/shared.js';

/**
 * Prints an error: message and hint on stderr; with --json/--format json,
 * also one JSON document on stdout so machine consumers always get JSON.
 */
export async function reportError(error: unknown, context: CommandContext, options: object): Promise<ErrorClass> {
  const { stderr, stdout, env } = context.io;
  const errorClass = errorClassOf(error);
  const known = error instanceof DbtuneError;
  const message = known ? error.message : `internal error: ${(error as Error)?.stack ?? String(error)}`;
  stderr.write(`error: ${message}\n`);
  if (known && error.hint) stderr.write(`hint: ${error.hint}\n`);
  if (env.DBTUNE_DEBUG && known && error.cause) stderr.write(`cause: ${String((error.cause as Error)?.stack ?? error.cause)}\n`);
  const o = options as { json?: boolean; format?: string };
  if (o.json || o.format === 'json') {
    const document = {
      passed: false,
      error: {
        code: known ? error.code : 'INTERNAL',
        message: known ? error.message : String((error as Error)?.message ?? error),
        ...(known && error.hint ? { hint: error.hint } : {}),
        ...(error instanceof InputProblemsError ? { problems: error.problems } : {}),
      },
    };
    stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  }
  return errorClass;
}
