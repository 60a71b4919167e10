import { columns, type Report, type ReportRow } from '../report/model.js';
import { stageDatabase, type StageDatabase, type StatementTracking } from '../model/stage-database.js';
import type { ErrorCounts, LoadResult, MixShare, StageResult } from '../model/load-result.js';
import { formatLatency, formatPercent } from '../report/figures.js';

/**
 * The load test as a report: a row per stage with its figures, a row per
 * stage threshold (the JUnit test cases), and the figures per request name.
 */
export function loadReport(result: LoadResult): Report {
  const stageRows: ReportRow[] = result.stages.map((stage) => {
    const failed = stage.thresholds.filter((t) => !t.passed);
    const row: ReportRow = {
      id: stageName(stage),
      status: stage.skipped ? 'skip' : stage.passed ? 'pass' : 'fail',
      cells: {
        stage: String(stage.stage),
        users: String(stage.users),
        status: stageStatus(stage),
        requests: stage.skipped ? '–' : String(stage.requests),
        rps: stage.skipped ? '–' : stage.rps.toFixed(1),
        success: stage.skipped ? '–' : formatPercent(stage.success_rate),
        p50: latencyCell(stage, 'p50'),
        p95: latencyCell(stage, 'p95'),
        p99: latencyCell(stage, 'p99'),
        max: latencyCell(stage, 'max'),
        errors: describeErrors(stage.errors),
      },
      seconds: stage.measured_s,
    };
    if (stage.skipped) row.message = stage.ended_early ?? 'skipped';
    else if (!stage.passed) row.message = failed.length ? failed.map((t) => `${t.name} ${t.observed} (limit ${t.limit})`).join('; ') : stage.interrupted ? 'interrupted' : 'failed';
    const details = [
      ...(stage.ended_early && !stage.skipped ? [`ended early: ${stage.ended_early}`] : []),
      ...(stage.generator?.reconnect_waits ? [`users waited 100 ms before reconnecting ${stage.generator.reconnect_waits} times: the target refused or was unreachable`] : []),
    ];
    if (details.length) row.details = details;
    return row;
  });

  const thresholdRows: ReportRow[] = result.stages.flatMap((stage): ReportRow[] => {
    if (stage.skipped) {
      return [{ id: `${stageName(stage)}: all thresholds`, status: 'skip', cells: { stage: String(stage.stage), users: String(stage.users), threshold: '–', limit: '–', observed: '–', status: 'skipped' }, message: stage.ended_early ?? 'skipped' }];
    }
    return stage.thresholds.map((t) => ({
      id: `${stageName(stage)}: ${t.name}${t.default ? ' (default)' : ''}`,
      status: t.passed ? 'pass' : 'fail',
      cells: { stage: String(stage.stage), users: String(stage.users), threshold: `${t.name}${t.default ? ' (default)' : ''}`, limit: t.limit, observed: t.observed, status: t.passed ? 'ok' : 'breached' },
      ...(t.passed ? {} : { message: `${t.name} ${t.observed}, limit ${t.limit}` }),
    }));
  });

  const requestRows: ReportRow[] = result.stages
    .filter((s) => !s.skipped)
    .flatMap((stage) =>
      stage.by_request.map((r) => ({
        id: `${stageName(stage)}: ${r.name}`,
        status: 'info' as const,
        cells: {
          stage: String(stage.stage),
          request: r.name,
          requests: String(r.requests),
          mix: mixCell(stage.mix?.find((m) => m.name === r.name)),
          rps: r.rps.toFixed(1),
          success: r.requests ? formatPercent(r.success_rate) : '–',
          p50: r.requests ? formatLatency(r.latency.p50) : '–',
          p95: r.requests ? formatLatency(r.latency.p95) : '–',
          p99: r.requests ? formatLatency(r.latency.p99) : '–',
          errors: describeErrors(r.errors),
        },
      })),
    );

  const databaseRows: ReportRow[] = [];
  const indexRows: ReportRow[] = [];
  for (const stage of result.stages) {
    const db = stage.database;
    if (!db) continue;
    if ('error' in db) {
      databaseRows.push({ id: `${stageName(stage)}: database`, status: 'warn', cells: { stage: String(stage.stage), users: String(stage.users), source: 'failed' }, message: db.error, details: [db.error] });
      continue;
    }
    const worst = db.tables.find((t) => t.seq_scans > 0);
    const details = [
      ...db.top_statements.map((t) => `${t.calls_per_request}× per request (${t.calls} calls, mean ${t.mean_ms} ms): ${t.query.replace(/\s+/g, ' ')}`),
      ...db.tables.filter((t) => t.seq_scans > 0).map((t) => `${t.table}: ${t.seq_scans} seq scans reading ${t.seq_rows_read} rows, ${t.index_scans} index scans`),
      ...Object.entries(db.wait_events).map(([event, n]) => `wait event ${event} in ${n} of ${db.samples} samples`),
      ...db.notes,
    ];
    databaseRows.push({
      id: `${stageName(stage)}: database`,
      status: 'info',
      cells: {
        stage: String(stage.stage),
        users: String(stage.users),
        source: db.source === 'pg_stat_statements' ? 'statements' : 'transactions',
        qpr: db.statement_tracking?.reset ? 'reset' : db.queries_per_request === null ? '–' : String(db.queries_per_request),
        roles: rolesCell(db),
        connections: `${db.connections_peak} peak, ${db.connections_mean} mean`,
        idle_in_tx: String(db.connections_by_state['idle in transaction']?.peak ?? 0),
        cache: db.cache_hit_ratio === null ? '–' : formatPercent(db.cache_hit_ratio),
        seq: worst ? `${worst.table} ×${worst.seq_scans}` : '0',
        top: db.top_statements[0] ? `${db.top_statements[0].calls_per_request}× ${shorten(db.top_statements[0].query)}` : '–',
      },
      ...(details.length ? { details } : {}),
    });
    for (const index of db.indexes) {
      indexRows.push({
        id: `${stageName(stage)}: ${index.index}`,
        status: index.used ? 'pass' : 'warn',
        cells: { stage: String(stage.stage), users: String(stage.users), index: index.index, table: index.table, scans: String(index.scans), status: !index.exists ? 'missing' : index.used ? 'used' : 'unused' },
      });
    }
  }

  const ran = result.stages.filter((s) => !s.skipped);
  const verdict = result.interrupted ? 'interrupted' : result.passed ? 'passed' : 'failed';
  const summary = `${result.context.scenario} against ${result.context.target}: ${verdict}; max sustained users ${result.max_sustained_users} (${ran.length} of ${result.stages.length} stages run)`;
  return {
    command: 'loadtest',
    title: `dbtune loadtest: ${result.context.scenario}`,
    passed: result.passed,
    sections: [
      {
        title: 'Stages',
        junit: false,
        columns: columns('stage', 'users', 'status', 'requests', 'rps', 'success', 'p50', 'p95', 'p99', 'max', 'errors'),
        rows: stageRows,
      },
      {
        title: 'Thresholds',
        columns: columns('stage', 'users', 'threshold', 'limit', 'observed', 'status'),
        rows: thresholdRows,
        // The mix each stage sent, where JUnit readers see it: thresholds hold for this mix, not another.
        properties: result.stages.flatMap((stage) => [
          ...(stage.mix ?? []).map((m) => ({ name: `${stageName(stage)}: mix: ${m.name}`, value: `${m.sent} sent, ${mixCell(m)}` })),
          ...databaseProperties(stage),
        ]),
      },
      {
        title: 'Requests',
        junit: false,
        columns: columns('stage', 'request', ['requests', 'sent'], ['mix', 'share (declared)'], 'rps', 'success', 'p50', 'p95', 'p99', 'errors'),
        rows: requestRows,
      },
      ...(databaseRows.length
        ? [
            {
              title: 'Database',
              junit: false,
              columns: columns('stage', 'users', ['source', 'counted'], ['roles', 'whose statements'], ['qpr', 'queries/request'], 'connections', ['idle_in_tx', 'idle in tx (peak)'], ['cache', 'cache hit'], ['seq', 'most seq scans'], ['top', 'top statement (per request)']),
              rows: databaseRows,
            },
          ]
        : []),
      ...(indexRows.length
        ? [
            {
              title: 'Index use',
              junit: false,
              columns: columns('stage', 'users', 'index', 'table', 'scans', 'status'),
              rows: indexRows,
            },
          ]
        : []),
    ],
    summary,
    notes: result.warnings,
    document: result,
  };
}

/** `api 1200; left out: batch 300`: whose statements the stage counted, and whose it did not. */
export function rolesCell(db: StageDatabase): string {
  if (!db.roles) return db.source === 'pg_stat_database' ? 'all (transactions)' : '–';
  const counted = db.roles.filter((r) => r.counted);
  const left = db.roles.filter((r) => !r.counted);
  const list = (roles: typeof db.roles) => roles.map((r) => `${r.role} ${r.statements}`).join(', ');
  return [counted.length ? list(counted) : 'none', ...(left.length ? [`left out: ${list(left)}`] : [])].join('; ');
}

/** Whose statements were counted and whether pg_stat_statements lost entries: for JUnit readers, who see no Database section. */
function databaseProperties(stage: StageResult): Array<{ name: string; value: string }> {
  const db = stageDatabase(stage);
  if (!db) return [];
  const tracking = db.statement_tracking;
  return [
    ...(db.roles ? [{ name: `${stageName(stage)}: database: roles`, value: rolesCell(db) }] : []),
    ...(tracking
      ? [
          {
            name: `${stageName(stage)}: database: pg_stat_statements`,
            value: trackingCell(tracking),
          },
        ]
      : []),
  ];
}

/** `reset during the stage`, `12 evicted, 1 recreated`, …: what pg_stat_statements lost during a stage. */
export function trackingCell(tracking: StatementTracking): string {
  const recreated = tracking.recreated ? `, ${tracking.recreated} recreated (counted from the new entry)` : '';
  if (tracking.reset) return `reset during the stage: counts not trustworthy${recreated}`;
  if (tracking.evicted) return `entries evicted ${tracking.evicted}×${recreated}`;
  if (tracking.detection === 'unavailable') return `resets and evictions cannot be detected (no pg_stat_statements_info)${tracking.removed + tracking.recreated ? `; ${tracking.removed + tracking.recreated} entries lost` : ''}`;
  return 'no reset, no eviction';
}

function shorten(query: string): string {
  const flat = query.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? `${flat.slice(0, 57)}...` : flat;
}

function stageName(stage: StageResult): string {
  return `stage ${stage.stage} (${stage.users} users)`;
}

function stageStatus(stage: StageResult): string {
  if (stage.skipped) return 'skipped';
  if (stage.interrupted) return 'interrupted';
  return stage.passed ? 'passed' : 'failed';
}

/** `28.6% (10.0%)`: the share sent, and the share its weight declares. */
function mixCell(mix: MixShare | undefined): string {
  return mix ? `${formatPercent(mix.share)} (${formatPercent(mix.declared)})` : '–';
}

function latencyCell(stage: StageResult, key: 'p50' | 'p95' | 'p99' | 'max'): string {
  return stage.skipped || stage.requests === 0 ? '–' : formatLatency(stage.latency[key]);
}

/** `http_500 ×3, timeout ×2`, largest first. */
export function describeErrors(errors: ErrorCounts): string {
  const entries = Object.entries(errors).sort((a, b) => b[1] - a[1]);
  if (!entries.length) return '0';
  return entries.map(([kind, n]) => `${kind} ×${n}`).join(', ');
}
