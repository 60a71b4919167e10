import { walk, percentile, type ParsedPlan, type PlanNode } from './plan-tree.js';

/** A check's `expect`, resolved (contract keys in the YAML are snake_case). */
export interface Expectations {
  usesIndex?: string[];
  /** true: no Seq Scan anywhere; a list: none on these tables (`name` or `schema.name`). */
  noSeqScan?: true | string[];
  maxMs?: number;
  maxPlanningMs?: number;
  /** Percentile the time limits apply to. Default 95. */
  percentile: number;
  maxBuffers?: number;
  maxRowsRemovedRatio?: number;
  maxEstimateError?: number;
  noDiskSort?: boolean;
  noTempBlocks?: boolean;
}

export interface AssertionResult {
  /** e.g. `uses_index idx_x`, `max_ms`. */
  name: string;
  passed: boolean;
  /** What was seen, e.g. `no — Seq Scan on orders (rows removed by filter 99.8%)` or `3.2ms`. */
  observed: string;
  limit?: string;
}

export interface Observation {
  /** Timed runs, warm-up excluded; the last one is the plan judged for its shape. */
  runs: ParsedPlan[];
  /** Index name → the partitioned indexes it is a partition of (so a partition's index counts as its parent's). */
  indexAncestors: ReadonlyMap<string, readonly string[]>;
}

const SCAN_TYPES = new Set(['Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan', 'Bitmap Index Scan', 'Tid Scan', 'Tid Range Scan']);

/** Evaluates every expectation against the observed plans. Pure. */
export function evaluateExpectations(expect: Expectations, observation: Observation): AssertionResult[] {
  const plan = observation.runs.at(-1)!;
  const nodes = walk(plan.root);
  const results: AssertionResult[] = [];
  const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)}ms`;

  for (const name of expect.usesIndex ?? []) {
    const users = nodes.filter((n) => n.index && (n.index === name || observation.indexAncestors.get(n.index)?.includes(name)));
    results.push({
      name: `uses_index ${name}`,
      passed: users.length > 0,
      observed: users.length ? `yes — ${users.map(describeNode).join('; ')}` : `no — ${describeScans(nodes)}`,
    });
  }
  if (expect.noSeqScan) {
    const tables = expect.noSeqScan === true ? undefined : expect.noSeqScan;
    const seqScans = nodes.filter((n) => n.type === 'Seq Scan' && (!tables || tables.some((t) => matchesTable(n, t))));
    results.push({
      name: tables ? `no_seq_scan ${tables.join(', ')}` : 'no_seq_scan',
      passed: seqScans.length === 0,
      observed: seqScans.length ? seqScans.map(describeNode).join('; ') : 'none',
    });
  }
  const times = observation.runs.map((r) => r.executionMs);
  if (expect.maxMs !== undefined) {
    const observed = percentile(times, expect.percentile);
    results.push({ name: `max_ms (p${expect.percentile})`, passed: observed <= expect.maxMs, observed: ms(observed), limit: ms(expect.maxMs) });
  }
  if (expect.maxPlanningMs !== undefined) {
    const observed = percentile(observation.runs.map((r) => r.planningMs), expect.percentile);
    results.push({ name: `max_planning_ms (p${expect.percentile})`, passed: observed <= expect.maxPlanningMs, observed: ms(observed), limit: ms(expect.maxPlanningMs) });
  }
  if (expect.maxBuffers !== undefined) {
    const observed = plan.root.sharedHit + plan.root.sharedRead;
    results.push({ name: 'max_buffers', passed: observed <= expect.maxBuffers, observed: `${observed} (hit ${plan.root.sharedHit}, read ${plan.root.sharedRead})`, limit: String(expect.maxBuffers) });
  }
  if (expect.maxRowsRemovedRatio !== undefined) {
    const worst = worstBy(nodes.filter((n) => n.rowsRemoved > 0), removedRatio);
    const observed = worst ? removedRatio(worst) : 0;
    results.push({
      name: 'max_rows_removed_ratio',
      passed: observed <= expect.maxRowsRemovedRatio,
      observed: worst ? `${pct(observed)} on ${describeNode(worst)}` : 'no rows removed',
      limit: pct(expect.maxRowsRemovedRatio),
    });
  }
  if (expect.maxEstimateError !== undefined) {
    const worst = worstBy(nodes.filter((n) => n.executed), qError);
    const observed = worst ? qError(worst) : 1;
    results.push({
      name: 'max_estimate_error',
      passed: observed <= expect.maxEstimateError,
      observed: worst ? `${observed.toFixed(1)}× on ${describeNode(worst)} (estimated ${worst.planRows}, actual ${round(worst.actualRows)} rows per loop)` : '1×',
      limit: `${expect.maxEstimateError}×`,
    });
  }
  if (expect.noDiskSort) {
    const disk = nodes.filter((n) => n.sortSpaceType === 'Disk');
    results.push({ name: 'no_disk_sort', passed: disk.length === 0, observed: disk.length ? `${disk.length} sort(s) spilled to disk` : 'none' });
  }
  if (expect.noTempBlocks) {
    const temp = plan.root.tempRead + plan.root.tempWritten;
    results.push({ name: 'no_temp_blocks', passed: temp === 0, observed: temp ? `${temp} temp blocks read/written` : 'none' });
  }
  return results;
}

/** Rows thrown away over rows read, for one node. */
function removedRatio(n: PlanNode): number {
  return n.rowsRemoved / (n.rowsRemoved + n.totalRows);
}

/** q-error: how far the estimate is off, either way; per loop, as PostgreSQL estimates per loop. */
function qError(n: PlanNode): number {
  const est = Math.max(n.planRows, 1);
  const act = Math.max(n.actualRows, 1);
  return Math.max(est / act, act / est);
}

function worstBy(nodes: PlanNode[], score: (n: PlanNode) => number): PlanNode | undefined {
  let worst: PlanNode | undefined;
  for (const n of nodes) if (!worst || score(n) > score(worst)) worst = n;
  return worst;
}

function matchesTable(node: PlanNode, table: string): boolean {
  if (!node.relation) return false;
  const dot = table.indexOf('.');
  return dot < 0 ? node.relation.name === table : node.relation.schema === table.slice(0, dot) && node.relation.name === table.slice(dot + 1);
}

export function describeNode(n: PlanNode): string {
  let text = n.index ? `${n.type} using ${n.index}${n.relation ? ` on ${n.relation.name}` : ''}` : n.relation ? `${n.type} on ${n.relation.name}` : n.type;
  if (n.rowsRemoved > 0) text += ` (rows removed by filter ${pct(removedRatio(n))})`;
  return text;
}

function describeScans(nodes: PlanNode[]): string {
  const scans = nodes.filter((n) => SCAN_TYPES.has(n.type) && n.type !== 'Bitmap Index Scan');
  return scans.length ? scans.map(describeNode).join('; ') : 'no scan in the plan';
}

function pct(ratio: number): string {
  // Floor near 100%: 99.95% of rows removed is not "100%" (that would mean nothing was returned).
  if (ratio > 0.99 && ratio < 1) return `${(Math.floor(ratio * 1000) / 10).toFixed(1)}%`;
  return `${(ratio * 100).toFixed(0)}%`;
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
