/**
 * EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON) as a typed tree with the
 * per-loop figures turned into totals. PostgreSQL prints rows and "Rows
 * Removed by Filter" as averages per loop, and since 18 as fractions: every
 * count is parsed as a number and multiplied by loops where a total is meant.
 * Buffer counts are already totals, and include the node's children.
 */

export interface PlanNode {
  type: string;
  /** False for a node PostgreSQL shows as "never executed" (0 loops). */
  executed: boolean;
  /** Scans: the relation, schema-qualified (VERBOSE). */
  relation?: { schema: string; name: string };
  index?: string;
  loops: number;
  /** Estimated rows per loop. */
  planRows: number;
  /** Actual rows per loop (may be fractional on PostgreSQL 18). */
  actualRows: number;
  /** Actual rows over all loops. */
  totalRows: number;
  /** Rows read and thrown away by the node's filter (and index recheck), over all loops. */
  rowsRemoved: number;
  sharedHit: number;
  sharedRead: number;
  tempRead: number;
  tempWritten: number;
  sortSpaceType?: string;
  children: PlanNode[];
}

export interface ParsedPlan {
  root: PlanNode;
  planningMs: number;
  executionMs: number;
  /** JIT compilation time, when JIT ran. */
  jitMs?: number;
}

type RawNode = Record<string, unknown> & { Plans?: RawNode[] };

const num = (value: unknown): number => (typeof value === 'number' ? value : typeof value === 'string' ? Number(value) || 0 : 0);

export function parsePlan(explainJson: unknown): ParsedPlan {
  const top = (Array.isArray(explainJson) ? explainJson[0] : explainJson) as Record<string, unknown> | undefined;
  if (!top || typeof top !== 'object' || !top.Plan) throw new Error('not EXPLAIN (FORMAT JSON) output');
  const parsed: ParsedPlan = {
    root: toNode(top.Plan as RawNode),
    planningMs: num(top['Planning Time']),
    executionMs: num(top['Execution Time']),
  };
  const jit = top.JIT as { Timing?: { Total?: unknown } } | undefined;
  if (jit?.Timing?.Total !== undefined) parsed.jitMs = num(jit.Timing.Total);
  return parsed;
}

function toNode(raw: RawNode): PlanNode {
  const rawLoops = num(raw['Actual Loops']);
  const loops = Math.max(1, rawLoops);
  const actualRows = num(raw['Actual Rows']);
  const node: PlanNode = {
    type: String(raw['Node Type']),
    executed: rawLoops > 0,
    loops,
    planRows: num(raw['Plan Rows']),
    actualRows,
    totalRows: actualRows * loops,
    rowsRemoved: (num(raw['Rows Removed by Filter']) + num(raw['Rows Removed by Index Recheck'])) * loops,
    sharedHit: num(raw['Shared Hit Blocks']),
    sharedRead: num(raw['Shared Read Blocks']),
    tempRead: num(raw['Temp Read Blocks']),
    tempWritten: num(raw['Temp Written Blocks']),
    children: (raw.Plans ?? []).map(toNode),
  };
  if (typeof raw['Relation Name'] === 'string') {
    node.relation = { schema: typeof raw.Schema === 'string' ? raw.Schema : '', name: raw['Relation Name'] };
  }
  if (typeof raw['Index Name'] === 'string') node.index = raw['Index Name'];
  if (typeof raw['Sort Space Type'] === 'string') node.sortSpaceType = raw['Sort Space Type'];
  return node;
}

/** Every node, depth first, the root first. */
export function walk(root: PlanNode): PlanNode[] {
  const nodes: PlanNode[] = [];
  const visit = (node: PlanNode) => {
    nodes.push(node);
    node.children.forEach(visit);
  };
  visit(root);
  return nodes;
}

/** `Index Scan using idx on t → Sort → …`: the node types, for a one-line plan summary. */
export function summarizePlan(root: PlanNode): string {
  return walk(root)
    .map((n) => (n.index ? `${n.type} using ${n.index}` : n.relation ? `${n.type} on ${n.relation.name}` : n.type))
    .join(' → ');
}

/** p-th percentile (nearest rank) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}
