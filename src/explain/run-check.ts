import type { SqlSession } from '../db/client.js';
import { quoteLiteral } from '../sql/identifiers.js';
import { pgErrorFields } from '../errors.js';
import type { PgErrorFields } from '../text/safe-error.js';
import { formatMs } from '../config/duration.js';
import type { CheckDeclaration } from '../model/declaration.js';
import { evaluateExpectations, type AssertionResult, type Expectations } from './assertions.js';
import { parsePlan, percentile, summarizePlan, walk, type ParsedPlan } from './plan-tree.js';

/** How checks run when the check itself does not say. */
export interface CheckSettings {
  /** Timed runs after warm-up. Default 5. */
  runs: number;
  /** Untimed runs first (caches, plan cache). Default 1. */
  warmup: number;
  /** statement_timeout of each run. Default 30 s. */
  timeoutMs: number;
  /** A table this small (pages) is seq-scanned whatever its indexes: such a failure is inconclusive. Default 10. */
  smallTablePages: number;
}

export const DEFAULT_CHECK_SETTINGS: CheckSettings = { runs: 5, warmup: 1, timeoutMs: 30_000, smallTablePages: 10 };

export type CheckStatus = 'pass' | 'fail' | 'inconclusive' | 'error';

const SEVERITY: Record<CheckStatus, number> = { pass: 0, inconclusive: 1, fail: 2, error: 3 };

/** One plan mode's outcome: the custom plan for the given params, or the generic plan. */
export interface PlanOutcome {
  status: CheckStatus;
  assertions: AssertionResult[];
  timings?: { runsMs: number[]; p50: number; p95: number; planningP50: number; jitMs?: number };
  summary?: string;
  /** Shared buffers (hit + read) of the last timed run. */
  buffers?: number;
  /** Raw EXPLAIN JSON of the last timed run. */
  plan?: unknown;
  /** Why it could not run, or why it is inconclusive. */
  reason?: string;
  error?: PgErrorFields;
}

export interface CheckResult extends PlanOutcome {
  check: CheckDeclaration;
  /** With `generic: true`: the same check on the generic plan (what prepared statements get after 5 runs). */
  generic?: PlanOutcome;
  /** Whether the query was run as a write (in a transaction that was rolled back). */
  write: boolean;
}

/**
 * Runs one check: EXPLAIN (ANALYZE, BUFFERS) of its query, warm-up then timed
 * runs, each in its own transaction that is always rolled back — READ ONLY
 * unless the query writes — with a statement timeout. Never throws for the
 * check's own failures: they are the result.
 */
export async function runCheck(session: SqlSession, check: CheckDeclaration, settings: CheckSettings = DEFAULT_CHECK_SETTINGS, signal?: AbortSignal): Promise<CheckResult> {
  const write = isWrite(check.query);
  const expect = toExpectations(check.expect);
  const runs = check.runs ?? settings.runs;
  const warmup = check.warmup ?? settings.warmup;
  const timeoutMs = check.timeoutMs ?? settings.timeoutMs;
  const custom = await runMode(session, check, { write, runs, warmup, timeoutMs, generic: false, signal }, expect, settings);
  const result: CheckResult = { ...custom, check, write };
  if (check.generic) {
    result.generic = await runMode(session, check, { write, runs, warmup, timeoutMs, generic: true, signal }, expect, settings);
    // The check is as bad as the worse of its two plans.
    if (SEVERITY[result.generic.status] > SEVERITY[result.status]) result.status = result.generic.status;
  }
  return result;
}

interface ModeOptions {
  signal: AbortSignal | undefined;
  write: boolean;
  runs: number;
  warmup: number;
  timeoutMs: number;
  generic: boolean;
}

async function runMode(session: SqlSession, check: CheckDeclaration, mode: ModeOptions, expect: Expectations, settings: CheckSettings): Promise<PlanOutcome> {
  const plans: ParsedPlan[] = [];
  let lastRaw: unknown;
  try {
    for (let i = 0; i < mode.warmup + mode.runs; i++) {
      if (mode.signal?.aborted) return { status: 'error', assertions: [], reason: 'interrupted' };
      const raw = await explainOnce(session, check, mode);
      if (i >= mode.warmup) {
        plans.push(parsePlan(raw));
        lastRaw = raw;
      }
    }
  } catch (error) {
    const fields = pgErrorFields(error);
    const reason =
      fields.code === '57014'
        ? `statement timeout (${formatMs(mode.timeoutMs)}) fired: the query did not finish`
        : fields.code === '25006'
          ? 'the query writes, but was read as a read-only query: cannot check it'
          : `the query failed: ${fields.message}`;
    return { status: 'error', assertions: [], reason, error: fields };
  }

  const assertions = evaluateExpectations(expect, { runs: plans, indexAncestors: await indexAncestors(session, plans) });
  const times = plans.map((p) => p.executionMs);
  const jit = plans.map((p) => p.jitMs).filter((v): v is number => v !== undefined);
  const outcome: PlanOutcome = {
    status: assertions.every((a) => a.passed) ? 'pass' : 'fail',
    assertions,
    timings: {
      runsMs: times,
      p50: percentile(times, 50),
      p95: percentile(times, 95),
      planningP50: percentile(plans.map((p) => p.planningMs), 50),
      ...(jit.length ? { jitMs: percentile(jit, 50) } : {}),
    },
    summary: summarizePlan(plans.at(-1)!.root),
    buffers: plans.at(-1)!.root.sharedHit + plans.at(-1)!.root.sharedRead,
    plan: lastRaw,
  };
  if (outcome.status === 'fail') {
    const small = await tooSmallToJudge(session, plans.at(-1)!, assertions, settings, expect);
    if (small) {
      outcome.status = 'inconclusive';
      outcome.reason = small;
    }
  }
  return outcome;
}

let preparedCounter = 0;

async function explainOnce(session: SqlSession, check: CheckDeclaration, mode: ModeOptions): Promise<unknown> {
  const options = 'EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON)';
  // A fresh name per run: prepared statements outlive a rollback, and DEALLOCATE cannot run in an aborted transaction.
  const prepared = mode.generic ? `dbtune_generic_check_${process.pid}_${++preparedCounter}` : undefined;
  await session.query(mode.write ? 'BEGIN' : 'BEGIN READ ONLY');
  try {
    await session.query("SELECT set_config('statement_timeout', $1, true)", [`${Math.round(mode.timeoutMs)}ms`]);
    if (!prepared) {
      const rows = await session.query<{ 'QUERY PLAN': unknown }>(`${options} ${check.query}`, check.params);
      return rows[0]!['QUERY PLAN'];
    }
    // What an application's prepared statement runs after five executions: the generic plan.
    await session.query("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)");
    await session.query(`PREPARE ${prepared} AS ${check.query}`);
    const args = check.params.length ? `(${check.params.map(literal).join(', ')})` : '';
    const rows = await session.query<{ 'QUERY PLAN': unknown }>(`${options} EXECUTE ${prepared}${args}`);
    return rows[0]!['QUERY PLAN'];
  } finally {
    // Always: a write's effects are undone, and nothing lingers.
    await session.query('ROLLBACK').catch(() => undefined);
    if (prepared) await session.query(`DEALLOCATE ${prepared}`).catch(() => undefined);
  }
}

function literal(value: string | number | boolean | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  return quoteLiteral(String(value));
}

/** Partition indexes count as their partitioned parent's: one statement for all names in the plans. */
async function indexAncestors(session: SqlSession, plans: ParsedPlan[]): Promise<Map<string, string[]>> {
  const names = [...new Set(plans.flatMap((p) => walk(p.root).map((n) => n.index).filter((n): n is string => Boolean(n))))];
  const map = new Map<string, string[]>();
  if (!names.length) return map;
  const rows = await session.query<{ name: string; ancestors: string[] }>(
    `SELECT c.relname AS name, array_agg(a.relname) AS ancestors
       FROM pg_class c, pg_partition_ancestors(c.oid) pa JOIN pg_class a ON a.oid = pa.relid
      WHERE c.relname = ANY ($1::text[]) AND c.relkind = 'i' AND a.oid <> c.oid
      GROUP BY c.relname`,
    [names],
  );
  for (const r of rows) map.set(r.name, r.ancestors);
  return map;
}

/**
 * A plan-shape failure on tables of a handful of pages says nothing: the
 * planner seq-scans those whatever indexes exist. Report why, and what to do.
 */
async function tooSmallToJudge(session: SqlSession, plan: ParsedPlan, assertions: AssertionResult[], settings: CheckSettings, expect: Expectations): Promise<string | undefined> {
  const failed = assertions.filter((a) => !a.passed);
  const isShape = (a: AssertionResult) => a.name.startsWith('uses_index') || a.name.startsWith('no_seq_scan');
  if (!failed.length || !failed.every(isShape)) return undefined;
  const seqScanned = walk(plan.root).filter((n) => n.type === 'Seq Scan' && n.relation);
  if (!seqScanned.length) return undefined;
  // Sizes from the files, not relpages: a table never vacuumed or analyzed has relpages 0.
  const rows = await session.query<{ name: string; pages: number; tuples: number }>(
    `SELECT c.relname AS name, (pg_relation_size(c.oid) / current_setting('block_size')::int)::int AS pages, c.reltuples::float8 AS tuples
       FROM unnest($1::text[], $2::text[]) AS r(schema_name, rel_name)
       JOIN pg_namespace n ON n.nspname = r.schema_name JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel_name`,
    [seqScanned.map((n) => n.relation!.schema || 'public'), seqScanned.map((n) => n.relation!.name)],
  );
  const small = new Map(rows.filter((r) => r.pages <= settings.smallTablePages).map((r) => [r.name, r]));
  // Every seq scan that fails a no_seq_scan must be on a small table…
  if (failed.some((a) => a.name.startsWith('no_seq_scan')) && !seqScanned.every((n) => small.has(n.relation!.name))) return undefined;
  // …and every index a failed uses_index names must exist, on a small table that was seq-scanned.
  const wanted = failed.some((a) => a.name.startsWith('uses_index')) ? (expect.usesIndex ?? []) : [];
  if (wanted.length) {
    const owners = await session.query<{ index: string; table: string }>(
      `SELECT c.relname AS index, t.relname AS table FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid JOIN pg_class t ON t.oid = i.indrelid
        WHERE c.relname = ANY ($1::text[])`,
      [wanted],
    );
    const ownerOf = new Map(owners.map((o) => [o.index, o.table]));
    if (!wanted.every((name) => small.has(ownerOf.get(name) ?? '\u0000'))) return undefined;
  }
  const tables = [...small.values()].map((r) => `${r.name} has ${r.pages} ${r.pages === 1 ? 'page' : 'pages'}${r.tuples >= 0 ? ` (~${Math.round(r.tuples)} rows)` : ', never analyzed'}`).join(', ');
  return `table too small: ${tables}; the planner seq-scans a table this small whatever its indexes. Seed realistic data (or a copy of production's size) and run ANALYZE, then check again`;
}

/** Whether a query modifies data (leading INSERT/UPDATE/DELETE/MERGE, or a data-modifying CTE). */
export function isWrite(query: string): boolean {
  const code = query
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/"(?:[^"]|"")*"/g, '""');
  // A false "write" only costs a read-write transaction (still rolled back); SELECT … FOR UPDATE needs one anyway.
  return /\b(insert|update|delete|merge)\b/i.test(code);
}

/** The check's `expect` map (validated by the schema) as typed expectations. */
export function toExpectations(expect: Record<string, unknown>): Expectations {
  const e = expect as {
    uses_index?: string | string[];
    no_seq_scan?: boolean | string[];
    max_ms?: number;
    max_planning_ms?: number;
    percentile?: number;
    max_buffers?: number;
    max_rows_removed_ratio?: number;
    max_estimate_error?: number;
    no_disk_sort?: boolean;
    no_temp_blocks?: boolean;
  };
  const out: Expectations = { percentile: e.percentile ?? 95 };
  if (e.uses_index !== undefined) out.usesIndex = Array.isArray(e.uses_index) ? e.uses_index : [e.uses_index];
  if (e.no_seq_scan === true) out.noSeqScan = true;
  else if (Array.isArray(e.no_seq_scan)) out.noSeqScan = e.no_seq_scan;
  if (e.max_ms !== undefined) out.maxMs = e.max_ms;
  if (e.max_planning_ms !== undefined) out.maxPlanningMs = e.max_planning_ms;
  if (e.max_buffers !== undefined) out.maxBuffers = e.max_buffers;
  if (e.max_rows_removed_ratio !== undefined) out.maxRowsRemovedRatio = e.max_rows_removed_ratio;
  if (e.max_estimate_error !== undefined) out.maxEstimateError = e.max_estimate_error;
  if (e.no_disk_sort) out.noDiskSort = true;
  if (e.no_temp_blocks) out.noTempBlocks = true;
  return out;
}
