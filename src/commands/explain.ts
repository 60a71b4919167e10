import { loadCheckFiles } from '../config/load-index-sets.js';
import { parseDuration } from '../config/duration.js';
import { DbtuneError } from '../errors.js';
import { checkDocument, explainReport } from '../explain/explain-report.js';
import { saveResult } from '../model/saved-result.js';
import { checkOutputFile } from '../files/output-file.js';
import { runContext } from '../report/run-context.js';
import type { ConnectionOptions } from '../db/connection-options.js';
import { runChecks, type CheckRunOptions } from '../explain/run-checks.js';
import { resolveCheckRole, setCheckRole } from '../explain/check-role.js';
import { emitReport } from '../report/emit.js';
import type { CommandHandler } from './context.js';
import { connectionOptions, loadConfig, openSession, outputFormat, parseIntOption, type CommonOptions } from './shared.js';

export interface ExplainOptions extends CommonOptions {
  runs?: string;
  timeout?: string;
  failInconclusive?: boolean;
  save?: string;
  /** Run the checks after SET ROLE to this role. */
  role?: string;
}

/** `dbtune explain`: EXPLAIN ANALYZE checks with assertions on the plans. */
export const run: CommandHandler<ExplainOptions> = async (files, options, context) => {
  const config = await loadConfig(options);
  const format = outputFormat(options, config);
  const runOptions = checkRunOptions(options);
  const groups = await loadCheckFiles(files);
  // Checked now, not after the checks ran: bad usage runs nothing.
  if (options.save) await checkOutputFile(options.save, '--save');
  const connection = connectionOptions(options, config, context.io.env);
  const session = await openSession(connection, 'dbtune explain');
  try {
    const role = options.role === undefined ? undefined : await resolveCheckRole(session, options.role);
    if (role) await setCheckRole(session, role.name);
    const { results, interrupted } = await runChecks(session, groups.flatMap((g) => g.checks), runOptions, context);
    const failInconclusive = options.failInconclusive ?? false;
    const report = explainReport(results, { version: session.serverVersion }, { failInconclusive, interrupted });
    if (role) report.notes.push(role.note);
    if (options.save) {
      await saveResult(options.save, {
        kind: 'dbtune.explain',
        format_version: 1,
        context: await runContext({ serverVersion: session.serverVersion, database: describeDatabase(connection) }),
        passed: report.passed,
        checks: results.map((r) => ({
          ...checkDocument(r, failInconclusive),
          query: r.check.query,
          params: r.check.params,
        })),
      });
    }
    await emitReport(report, format, context.io);
    return interrupted ? 'interrupted' : report.passed ? 'ok' : 'failed';
  } finally {
    await session.close();
  }
};

export function checkRunOptions(options: Pick<ExplainOptions, 'runs' | 'timeout'>): CheckRunOptions {
  const overrides: CheckRunOptions = {};
  const runs = parseIntOption('--runs', options.runs, 1, 1000);
  if (runs !== undefined) overrides.runs = runs;
  if (options.timeout !== undefined) {
    const ms = parseDuration(options.timeout);
    if (ms === undefined || ms <= 0) throw new DbtuneError('USAGE', `--timeout must be a duration like 5s or 500ms, got ${JSON.stringify(options.timeout)}`);
    overrides.timeoutMs = ms;
  }
  return overrides;
}

/** `host:port/database` for saved context: where it ran, never who with which password. */
function describeDatabase(connection: ConnectionOptions): string {
  return `${connection.host}:${connection.port}/${connection.database}`;
}
