import { columns, countLabels, type Report, type ReportColumn, type ReportPart, type ReportRow, type RowStatus } from '../report/model.js';
import type { PgErrorFields } from '../text/safe-error.js';
import type { AssertionResult } from './assertions.js';
import type { CheckResult, CheckStatus, PlanOutcome } from './run-check.js';

export const CHECK_COLUMNS: ReportColumn[] = columns('check', 'status', 'p50', 'p95', 'plan', 'reason');

/** Whether a check result counts as passed; inconclusive passes unless --fail-inconclusive. */
export function checkPassed(result: CheckResult, failInconclusive: boolean): boolean {
  return result.status === 'pass' || (result.status === 'inconclusive' && !failInconclusive);
}

function rowStatus(status: CheckStatus, failInconclusive: boolean): RowStatus {
  if (status === 'pass') return 'pass';
  if (status === 'inconclusive') return failInconclusive ? 'fail' : 'warn';
  return 'fail';
}

const ms = (v: number | undefined) => (v === undefined ? '' : `${v.toFixed(v < 10 ? 2 : 1)}ms`);

function assertionLine(a: AssertionResult): string {
  return `${a.passed ? 'ok  ' : 'FAIL'} ${a.name}: ${a.observed}${a.limit ? ` (limit ${a.limit})` : ''}`;
}

function errorLine(error: PgErrorFields): string {
  return `error${error.code ? ` ${error.code}` : ''}: ${error.message}`;
}

function firstProblem(outcome: PlanOutcome): string {
  if (outcome.reason) return outcome.reason;
  const failed = outcome.assertions.find((a) => !a.passed);
  return failed ? `${failed.name}: ${failed.observed}` : '';
}

/** One table row per check; assertion lines (custom and generic plan) as details. */
export function checkRow(result: CheckResult, failInconclusive: boolean): ReportRow {
  const generic = result.generic;
  const reason = firstProblem(result) || (generic && generic.status !== 'pass' ? `generic plan: ${firstProblem(generic)}` : 'all assertions hold');
  const details = [...result.assertions.map(assertionLine)];
  // SQLSTATE and message only: a failed check's detail and hint can quote the rows it read (they stay in --json).
  if (result.error) details.push(errorLine(result.error));
  if (result.timings?.jitMs !== undefined) details.push(`JIT: ${ms(result.timings.jitMs)} (p50)`);
  if (result.write) details.push('ran as a write, in a transaction that was rolled back');
  if (generic) {
    details.push(`generic plan (plan_cache_mode = force_generic_plan): ${generic.status} — ${generic.summary ?? generic.reason ?? ''}`);
    details.push(...generic.assertions.map((a) => `  ${assertionLine(a)}`));
    if (generic.error) details.push(`  ${errorLine(generic.error)}`);
  }
  const row: ReportRow = {
    id: result.check.name,
    status: rowStatus(result.status, failInconclusive),
    cells: {
      check: result.check.name,
      status: result.status,
      p50: ms(result.timings?.p50),
      p95: ms(result.timings?.p95),
      plan: result.summary ?? '',
      reason,
    },
    details,
    seconds: (result.timings?.runsMs.reduce((a, b) => a + b, 0) ?? 0) / 1000,
  };
  if (row.status !== 'pass') row.message = `${result.status}: ${reason}`;
  return row;
}

function outcomeDocument(outcome: PlanOutcome) {
  return {
    status: outcome.status,
    assertions: outcome.assertions,
    ...(outcome.timings
      ? {
          timings: {
            p50_ms: outcome.timings.p50,
            p95_ms: outcome.timings.p95,
            runs_ms: outcome.timings.runsMs,
            planning_p50_ms: outcome.timings.planningP50,
            ...(outcome.timings.jitMs !== undefined ? { jit_ms: outcome.timings.jitMs } : {}),
          },
        }
      : {}),
    ...(outcome.summary ? { summary: outcome.summary } : {}),
    ...(outcome.buffers !== undefined ? { buffers: outcome.buffers } : {}),
    ...(outcome.reason ? { reason: outcome.reason } : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
    ...(outcome.plan !== undefined ? { plan: outcome.plan } : {}),
  };
}

/** A check as JSON (the `checks[]` of explain and verify). */
export function checkDocument(result: CheckResult, failInconclusive: boolean) {
  return {
    name: result.check.name,
    source: `${result.check.source.file}:${result.check.source.line}`,
    passed: checkPassed(result, failInconclusive),
    write: result.write,
    ...outcomeDocument(result),
    ...(result.generic ? { generic: outcomeDocument(result.generic) } : {}),
  };
}

/** The checks' part of the `verify` report. */
export function checksPart(results: readonly CheckResult[], failInconclusive: boolean): ReportPart<ReturnType<typeof checkDocument>> {
  const part: ReportPart<ReturnType<typeof checkDocument>> = {
    failing: results.filter((r) => !checkPassed(r, failInconclusive)).length,
    documents: results.map((r) => checkDocument(r, failInconclusive)),
  };
  if (results.length) {
    part.section = { title: 'checks', columns: CHECK_COLUMNS, rows: results.map((r) => checkRow(r, failInconclusive)) };
    part.summary = `${results.length} ${results.length === 1 ? 'check' : 'checks'}: ${countLabels(results.map((r) => r.status))}`;
  }
  return part;
}

export function explainReport(results: readonly CheckResult[], server: { version: string }, options: { failInconclusive: boolean; interrupted: boolean }): Report {
  const rows = results.map((r) => checkRow(r, options.failInconclusive));
  const passed = !options.interrupted && results.every((r) => checkPassed(r, options.failInconclusive));
  const notes: string[] = [];
  if (results.some((r) => r.status === 'inconclusive')) {
    notes.push(options.failInconclusive ? 'inconclusive checks count as failures (--fail-inconclusive)' : 'inconclusive checks do not fail the run; --fail-inconclusive makes them');
  }
  if (options.interrupted) notes.push('interrupted: the checks after the current one were not run');
  return {
    command: 'explain',
    title: 'dbtune explain',
    passed,
    sections: [{ title: 'checks', columns: CHECK_COLUMNS, rows }],
    summary: `${results.length} ${results.length === 1 ? 'check' : 'checks'}: ${countLabels(results.map((r) => r.status))}`,
    notes,
    document: {
      command: 'explain',
      passed,
      interrupted: options.interrupted,
      server,
      checks: results.map((r) => checkDocument(r, options.failInconclusive)),
    },
  };
}
