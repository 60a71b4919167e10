import { displayQualified } from '../sql/identifiers.js';
import { formatMs } from '../config/duration.js';
import { columns, countLabels, type Report, type ReportPart, type ReportRow, type RowStatus } from '../report/model.js';
import { describeBlocker } from './build-monitor.js';
import { formatDifference } from './compare.js';
import type { AppliedAction, AppliedIndex, ExecutionResult } from './execute/results.js';
import type { IndexPlan } from './plan.js';
import type { IndexDeclaration } from '../model/declaration.js';
import { analyzeSql } from './index-sql.js';
import { analyzeDecision, type AnalyzeMode, type TableStatistics } from './execute/analyze-need.js';
import { plannedTables } from './execute/analyze-touched.js';
import type { RedundancyFinding, VerifiedIndex, VerifyStatus } from './verify.js';
import { scheduleDocument, scheduleNotes, scheduleProperties } from './schedule-report.js';

/** Server facts every index report carries. */
export interface ServerInfo {
  version: string;
}

const PLAN_STATUS: Record<IndexPlan['action'], RowStatus> = {
  create: 'info',
  repair: 'warn',
  rebuild: 'warn',
  none: 'pass',
  drift: 'fail',
  wait: 'skip',
  blocked: 'fail',
  drop: 'info',
};

function indexId(plan: IndexPlan): string {
  return displayQualified({ schema: plan.declaration.table.schema, name: plan.declaration.name });
}

/** The fields every command's JSON gives for an index: which one, and where it was declared. */
function indexIdentity(declaration: IndexDeclaration) {
  return {
    name: declaration.name,
    schema: declaration.table.schema,
    table: declaration.table.name,
    set: declaration.set,
    source: `${declaration.source.file}:${declaration.source.line}`,
  };
}

/** `dbtune plan`: each index's state and the exact statements apply would run. */
export function planReport(plans: readonly IndexPlan[], server: ServerInfo, extraNotes: string[] = []): Report {
  const rows: ReportRow[] = plans.map((plan) => {
    const details = [...(plan.state.differences ?? []).map(formatDifference), ...plan.statements.map((s) => `${s.sql};`)];
    const row: ReportRow = {
      id: indexId(plan),
      status: PLAN_STATUS[plan.action],
      cells: { index: plan.declaration.name, table: displayQualified(plan.declaration.table), state: plan.state.status, status: plan.action, reason: plan.state.reason },
    };
    if (details.length) row.details = details;
    if (row.status === 'fail' || row.status === 'skip') row.message = plan.state.reason;
    return row;
  });
  const blocking = plans.filter((p) => PLAN_STATUS[p.action] === 'fail' || p.action === 'wait');
  return {
    command: 'plan',
    title: 'dbtune plan',
    passed: blocking.length === 0,
    sections: [{ title: 'indexes', columns: indexColumns('state', 'action'), rows }],
    summary: `${plans.length} ${plans.length === 1 ? 'index' : 'indexes'}: ${countLabels(plans.map((p) => p.action === 'none' ? 'ok' : p.action))}`,
    notes: [...extraNotes, ...(plans.some((p) => p.statements.length) ? ['run `dbtune apply` with the same files to execute these statements'] : [])],
    document: {
      command: 'plan',
      passed: blocking.length === 0,
      server: { version: server.version },
      indexes: plans.map((plan) => ({
        ...indexIdentity(plan.declaration),
        state: plan.state.status,
        action: plan.action,
        reason: plan.state.reason,
        statements: plan.statements.map((s) => s.sql),
        ...(plan.state.differences ? { differences: plan.state.differences } : {}),
        ...(plan.state.progress ? { progress: plan.state.progress } : {}),
      })),
    },
  };
}

const APPLIED_STATUS: Record<AppliedAction, RowStatus> = {
  created: 'pass',
  exists: 'pass',
  repaired: 'pass',
  dropped: 'pass',
  absent: 'pass',
  failed: 'fail',
  drift: 'fail',
  skipped: 'skip',
};

/** `dbtune apply` / `dbtune drop`: what was done to each index. */
export function executionReport(command: 'apply' | 'drop', run: ExecutionResult, server: ServerInfo, settings: Record<string, unknown>): Report {
  const rows: ReportRow[] = run.indexes.map((result) => {
    const row: ReportRow = {
      id: indexId(result.plan),
      status: APPLIED_STATUS[result.action],
      cells: {
        index: result.plan.declaration.name,
        table: displayQualified(result.plan.declaration.table),
        state: result.plan.state.status,
        status: result.action,
        time: result.durationMs ? formatMs(result.durationMs) : '',
        reason: result.reason,
      },
      seconds: result.durationMs / 1000,
    };
    const details = resultDetails(result);
    if (details.length) row.details = details;
    if (row.status !== 'pass') row.message = result.reason;
    return row;
  });
  const passed = !run.interrupted && rows.every((r) => r.status === 'pass');
  const notes: string[] = scheduleNotes(run.schedule);
  if (run.analyzed.length) notes.push(`analyzed: ${run.analyzed.map(displayQualified).join(', ')}`);
  for (const s of run.analyzeSkipped) notes.push(`not analyzed: ${displayQualified(s.table)} (${s.reason})`);
  for (const f of run.analyzeFailures) notes.push(`warning: ANALYZE ${displayQualified(f.table)} failed (${f.error.message}); run it later so the planner sees the new index's statistics`);
  if (run.interrupted) {
    const remaining = run.indexes.filter((r) => r.leftover === 'remains').map((r) => r.leftoverIndex ?? r.plan.buildName);
    notes.push(
      remaining.length
        ? `interrupted: builds in progress were cancelled; still to clean up (the next apply does it): ${remaining.join(', ')}`
        : 'interrupted: builds in progress were cancelled and their leftovers dropped',
    );
  }
  return {
    command,
    title: `dbtune ${command}`,
    passed,
    sections: [{ title: 'indexes', columns: indexColumns('state', 'action', true), rows, properties: scheduleProperties(run.schedule) }],
    summary: `${run.indexes.length} ${run.indexes.length === 1 ? 'index' : 'indexes'}: ${countLabels(run.indexes.map((r) => r.action))}`,
    notes,
    document: {
      command,
      passed,
      interrupted: run.interrupted,
      server: { version: server.version },
      settings,
      ...(run.schedule ? { schedule: scheduleDocument(run.schedule) } : {}),
      indexes: run.indexes.map((result) => ({
        ...indexIdentity(result.plan.declaration),
        action: result.action,
        state_before: result.plan.state.status,
        reason: result.reason,
        duration_ms: Math.round(result.durationMs),
        // The build session's own value, read back: what the build could use.
        ...(result.parallelWorkers !== undefined ? { max_parallel_maintenance_workers: result.parallelWorkers } : {}),
        statements: result.executed,
        ...(result.plan.state.differences ? { differences: result.plan.state.differences } : {}),
        ...(result.error ? { error: result.error } : {}),
        ...(result.blockers ? { blockers: result.blockers } : {}),
        ...(result.leftover ? { leftover: result.leftover } : {}),
      })),
      analyzed: run.analyzed.map(displayQualified),
      analyze_skipped: run.analyzeSkipped.map((s) => ({ table: displayQualified(s.table), reason: s.reason })),
      ...(run.analyzeFailures.length ? { analyze_failures: run.analyzeFailures.map((f) => ({ table: displayQualified(f.table), error: f.error })) } : {}),
    },
  };
}

function resultDetails(result: AppliedIndex): string[] {
  const lines = (result.plan.state.differences ?? []).map(formatDifference);
  if (result.error) {
    if (result.error.code) lines.push(`error ${result.error.code}: ${result.error.message}`);
    if (result.error.detail) lines.push(`detail: ${result.error.detail}`);
    if (result.error.hint) lines.push(`hint: ${result.error.hint}`);
  }
  for (const b of result.blockers ?? []) lines.push(`blocked by ${describeBlocker(b)}`);
  if (result.leftover === 'dropped') lines.push(`the unfinished index ${result.leftoverIndex ?? result.plan.buildName} was dropped`);
  return lines;
}

/** The index table's columns; plan and apply name their state and action columns differently. */
function indexColumns(stateHeader: string, actionHeader: string, withTime = false) {
  return columns('index', 'table', ['state', stateHeader], ['status', actionHeader], ...(withTime ? ['time'] : []), 'reason');
}

/** A one-line comment: a line break in a name or reason would end it and turn the rest into SQL. */
function sqlComment(text: string): string {
  return `-- ${text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')}`;
}

/**
 * `--format sql`: a script a person can run by hand (outside a transaction).
 * ANALYZE only where apply would run it, decided from the statistics read now.
 */
export function planSqlScript(plans: readonly IndexPlan[], analyze: { mode: AnalyzeMode; statistics?: ReadonlyMap<string, TableStatistics> }): string {
  const lines = [
    '-- Generated by dbtune plan.',
    '-- CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction block:',
    '-- run this file statement by statement, e.g. psql -f plan.sql (without --single-transaction).',
    '-- Raw SQL from the index set was checked with standard_conforming_strings on; read it the same way:',
    'SET standard_conforming_strings = on;',
  ];
  for (const plan of plans) {
    if (!plan.statements.length) continue;
    lines.push('', sqlComment(`${indexId(plan)} (${plan.state.status}: ${plan.state.reason})`));
    for (const s of plan.statements) lines.push(`${s.sql};`);
  }
  const analyzeLines: string[] = [];
  for (const [key, { table, expression }] of plannedTables(plans)) {
    const decision = analyzeDecision(analyze.mode, analyze.statistics?.get(key), expression);
    if (!decision) continue;
    if (decision.analyze) analyzeLines.push(sqlComment(`${displayQualified(table)}: ${decision.reason}`), `${analyzeSql(table)};`);
    else analyzeLines.push(sqlComment(`no ANALYZE of ${displayQualified(table)}: ${decision.reason}`));
  }
  if (analyzeLines.length) lines.push('', ...analyzeLines);
  if (!plans.some((p) => p.statements.length)) lines.push('', '-- nothing to do: every index is in place');
  return `${lines.join('\n')}\n`;
}

const VERIFY_STATUS: Record<VerifyStatus, RowStatus> = {
  ok: 'pass',
  unverified: 'warn',
  missing: 'fail',
  invalid: 'fail',
  building: 'fail',
  drift: 'fail',
  wrong_table: 'fail',
};

/** `dbtune verify`: every declared index ok, or why not; with --strict, redundant indexes too. */
export function verifyReport(
  verified: readonly VerifiedIndex[],
  findings: readonly RedundancyFinding[] | undefined,
  server: ServerInfo,
  checks: ReportPart = { failing: 0, documents: [] },
  strict = false,
): Report {
  // --strict asks for proof: a definition that could not be compared is not proven.
  const rowStatus = (status: VerifyStatus): RowStatus => (strict && status === 'unverified' ? 'fail' : VERIFY_STATUS[status]);
  const rows: ReportRow[] = verified.map((v) => {
    const row: ReportRow = {
      id: displayQualified({ schema: v.declaration.table.schema, name: v.declaration.name }),
      status: rowStatus(v.status),
      cells: { index: v.declaration.name, table: displayQualified(v.declaration.table), status: v.status, reason: v.reason },
    };
    if (v.differences?.length) row.details = v.differences.map(formatDifference);
    if (row.status === 'fail') row.message = `${v.status}: ${v.reason}`;
    return row;
  });
  const sections: Report['sections'] = [{ title: 'indexes', columns: columns('index', 'table', 'status', 'reason'), rows }];
  if (findings) {
    sections.push({
      title: 'redundant indexes',
      columns: columns('index', 'table', ['status', 'finding'], ['covered_by', 'covered by'], 'reason'),
      rows: findings.map((f) => ({
        id: displayQualified(f.index),
        status: 'fail' as const,
        cells: { index: f.index.name, table: displayQualified(f.table), status: f.kind, covered_by: f.coveredBy.name, reason: f.reason },
        message: `${f.kind}: ${f.reason}`,
        details: [`DROP INDEX CONCURRENTLY IF EXISTS ${displayQualified(f.index)};  -- if nothing else relies on it`],
      })),
    });
  }
  if (checks.section) sections.push(checks.section);
  const failing = verified.filter((v) => rowStatus(v.status) === 'fail').length + (findings?.length ?? 0) + checks.failing;
  const passed = failing === 0;
  return {
    command: 'verify',
    title: 'dbtune verify',
    passed,
    sections,
    summary:
      `${verified.length} ${verified.length === 1 ? 'index' : 'indexes'}: ${countLabels(verified.map((v) => v.status))}` +
      (findings ? `; ${findings.length} redundant or duplicate` : '') +
      (checks.summary ? `; ${checks.summary}` : ''),
    notes: [],
    document: {
      command: 'verify',
      passed,
      server: { version: server.version },
      indexes: verified.map((v) => ({
        ...indexIdentity(v.declaration),
        status: v.status,
        reason: v.reason,
        ...(v.differences ? { differences: v.differences } : {}),
      })),
      ...(findings
        ? {
            redundant: findings.map((f) => ({
              kind: f.kind,
              name: f.index.name,
              schema: f.index.schema,
              table: f.table.name,
              covered_by: f.coveredBy.name,
              managed: f.managed,
              reason: f.reason,
            })),
          }
        : {}),
      checks: checks.documents,
    },
  };
}
