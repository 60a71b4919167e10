import { loadIndexSets } from '../config/load-index-sets.js';
import { verifyReport } from '../indexing/index-report.js';
import { inspectIndexes } from '../indexing/inspect.js';
import { findRedundancy, verifyIndex } from '../indexing/verify.js';
import { emitReport } from '../report/emit.js';
import { runChecks } from '../explain/run-checks.js';
import { checksPart } from '../explain/explain-report.js';
import { resolveCheckRole, setCheckRole } from '../explain/check-role.js';
import { checkRunOptions } from './explain.js';
import type { CommandHandler } from './context.js';
import { connectionOptions, loadConfig, openSession, outputFormat, throwIfRejected, type CommonOptions } from './shared.js';

export interface VerifyOptions extends CommonOptions {
  strict?: boolean;
  checks?: boolean;
  runs?: string;
  timeout?: string;
  failInconclusive?: boolean;
  /** Run the checks (not the catalog reads) after SET ROLE to this role. */
  role?: string;
}

/**
 * `dbtune verify`: every declared index exists, is valid and ready, and
 * matches its declaration. Read-only; a constant number of statements.
 */
export const run: CommandHandler<VerifyOptions> = async (files, options, context) => {
  const { io } = context;
  const config = await loadConfig(options);
  const format = outputFormat(options, config);
  const runOptions = checkRunOptions(options);
  const sets = await loadIndexSets(files);
  const session = await openSession(connectionOptions(options, config, io.env), 'dbtune verify');
  try {
    // Checked before anything else runs, so a bad --role is exit 2 with nothing done.
    const role = options.role === undefined ? undefined : await resolveCheckRole(session, options.role);
    const inspection = await inspectIndexes(session, sets.flatMap((s) => s.indexes), { tableIndexes: options.strict ?? false, compareOnly: true });
    throwIfRejected(inspection, { allowMissingTables: true });
    const verified = inspection.indexes.map(({ declaration, state }) => verifyIndex(declaration, state));
    const findings = options.strict ? findRedundancy(inspection.indexes, inspection.catalog.tables) : undefined;
    // The sets' EXPLAIN checks prove the indexes are used (--no-checks skips them).
    const checks = options.checks === false ? [] : sets.flatMap((s) => s.checks);
    if (role && checks.length) await setCheckRole(session, role.name);
    const { results, interrupted } = await runChecks(session, checks, runOptions, context);
    const failInconclusive = options.failInconclusive ?? false;
    const report = verifyReport(verified, findings, { version: session.serverVersion }, checksPart(results, failInconclusive), options.strict ?? false);
    report.notes.push(...inspection.notes);
    if (role && checks.length) report.notes.push(role.note);
    await emitReport(report, format, io);
    return interrupted ? 'interrupted' : report.passed ? 'ok' : 'failed';
  } finally {
    await session.close();
  }
};
