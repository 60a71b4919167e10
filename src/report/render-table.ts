import type { Report, RowStatus } from './model.js';
import { stripControl } from '../text/safe-text.js';

export interface Paint {
  pass(text: string): string;
  fail(text: string): string;
  warn(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

export const plainPaint: Paint = { pass: (t) => t, fail: (t) => t, warn: (t) => t, dim: (t) => t, bold: (t) => t };

/** ANSI colours, only where the caller decided colour is wanted (TTY, no NO_COLOR). */
export const ansiPaint: Paint = {
  pass: (t) => `\u001b[32m${t}\u001b[39m`,
  fail: (t) => `\u001b[31m${t}\u001b[39m`,
  warn: (t) => `\u001b[33m${t}\u001b[39m`,
  dim: (t) => `\u001b[2m${t}\u001b[22m`,
  bold: (t) => `\u001b[1m${t}\u001b[22m`,
};

export function paintStatus(paint: Paint, status: RowStatus, text: string): string {
  switch (status) {
    case 'pass':
      return paint.pass(text);
    case 'fail':
      return paint.fail(text);
    case 'warn':
    case 'skip':
      return paint.warn(text);
    case 'info':
      return text;
  }
}

/**
 * The human table: one table per section, details under it, then the summary.
 * Every text is stripped of control characters before it is painted: names
 * and messages can come from the database, and only dbtune's own colours may
 * reach the terminal.
 */
export async function renderTable(report: Report, paint: Paint): Promise<string> {
  const { default: Table } = await import('cli-table3');
  const t = stripControl;
  const out: string[] = [];
  for (const section of report.sections) {
    if (report.sections.length > 1) out.push(paint.bold(t(section.title)));
    if (section.rows.length === 0) {
      out.push(paint.dim('  (nothing)'));
      continue;
    }
    const table = new Table({
      head: section.columns.map((c) => t(c.header)),
      style: { head: [], border: [] },
      // No rule between rows: long tables stay readable.
      chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
      wordWrap: true,
      colWidths: section.columns.map((c) => (c.key === 'reason' ? 70 : null)),
    });
    for (const row of section.rows) {
      table.push(section.columns.map((c) => (c.key === 'status' ? paintStatus(paint, row.status, t(row.cells[c.key] ?? '')) : t(row.cells[c.key] ?? ''))));
    }
    out.push(table.toString());
    for (const row of section.rows) {
      if (!row.details?.length) continue;
      out.push(`${paintStatus(paint, row.status, t(row.id))}:`);
      for (const line of row.details) out.push(`  ${t(line)}`);
    }
  }
  out.push((report.passed ? paint.pass : paint.fail)(t(report.summary)));
  for (const note of report.notes) out.push(paint.dim(t(note)));
  return `${out.join('\n')}\n`;
}
