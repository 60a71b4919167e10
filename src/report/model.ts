/**
 * One report model for every command; renderers (table, JSON, JUnit,
 * Markdown) only turn it into text. JSON output is the command's own
 * document (`document`), the same data the table shows.
 */

export type RowStatus = 'pass' | 'fail' | 'warn' | 'skip' | 'info';

export interface ReportColumn {
  key: string;
  header: string;
}

export interface ReportRow {
  /** Stable identity, e.g. `public.idx_orders_customer`; the JUnit test case name. */
  id: string;
  status: RowStatus;
  /** Cell text by column key; the column keyed `status` gets colour in tables. */
  cells: Record<string, string>;
  /** Why it failed or was skipped, one line (JUnit failure message). */
  message?: string;
  /** Extra lines shown under the table and in JUnit failure bodies (differences, SQL, blockers). */
  details?: string[];
  /** Seconds, for JUnit `time`. */
  seconds?: number;
}

export interface ReportSection {
  title: string;
  columns: ReportColumn[];
  rows: ReportRow[];
  /** False for sections that only describe (e.g. a load test's figures): JUnit then leaves them out. */
  junit?: boolean;
  /** Figures that are not test cases, written as the JUnit test suite's `<properties>`. */
  properties?: Array<{ name: string; value: string }>;
}

export interface Report {
  command: string;
  title: string;
  passed: boolean;
  sections: ReportSection[];
  /** One line, e.g. "4 indexes: 3 created, 1 exists". */
  summary: string;
  /** Lines shown after the tables (hints, notes). */
  notes: string[];
  /** What `--format json` prints. */
  document: unknown;
}

/**
 * What one part of the product contributes to another's report (the EXPLAIN
 * checks to `verify`), so the command composes them and neither part imports
 * the other.
 */
export interface ReportPart<D = unknown> {
  /** Absent when the part has nothing to show. */
  section?: ReportSection;
  /** Rows that fail the report. */
  failing: number;
  /** e.g. `2 checks: 1 pass, 1 fail`; absent when the part has nothing to show. */
  summary?: string;
  /** Its entries in the JSON document. */
  documents: D[];
}

export const OUTPUT_FORMATS = ['table', 'json', 'junit', 'markdown'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Columns from keys, the header being the key unless given: `columns('stage', ['qpr', 'queries/request'])`. */
export function columns(...specs: Array<string | [key: string, header: string]>): ReportColumn[] {
  return specs.map((spec) => (typeof spec === 'string' ? { key: spec, header: spec } : { key: spec[0], header: spec[1] }));
}

/** "3 created, 1 exists" from a list of labels, in first-seen order. */
export function countLabels(labels: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return [...counts].map(([label, n]) => `${n} ${label}`).join(', ');
}
