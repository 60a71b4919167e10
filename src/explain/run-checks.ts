import type { SqlSession } from '../db/client.js';
import type { CheckDeclaration } from '../model/declaration.js';
import { write, type CommandIo } from '../report/emit.js';
import { DEFAULT_CHECK_SETTINGS, runCheck, type CheckResult } from './run-check.js';

/** Command-line overrides of the check defaults (a check's own `runs`/`timeout` still win). */
export interface CheckRunOptions {
  runs?: number;
  timeoutMs?: number;
}

/** Runs checks one after another, a line of progress each on stderr; stops early on Ctrl-C. */
export async function runChecks(
  session: SqlSession,
  checks: readonly CheckDeclaration[],
  options: CheckRunOptions,
  context: { io: CommandIo; signal: AbortSignal },
): Promise<{ results: CheckResult[]; interrupted: boolean }> {
  const settings = { ...DEFAULT_CHECK_SETTINGS, ...options };
  const results: CheckResult[] = [];
  for (const check of checks) {
    if (context.signal.aborted) break;
    await write(context.io.stderr, `check ${check.name}…\n`);
    results.push(await runCheck(session, check, settings, context.signal));
  }
  return { results, interrupted: context.signal.aborted };
}
