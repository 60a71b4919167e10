import type { Report, RowStatus } from './model.js';

const ICONS: Record<RowStatus, string> = { pass: '✅', fail: '❌', warn: '⚠️', skip: '⏭️', info: 'ℹ️' };

/** A GitHub-flavoured Markdown summary (job summaries, PR comments). */
export function renderMarkdown(report: Report): string {
  const out: string[] = [`### ${report.passed ? '✅' : '❌'} ${md(report.title)}`, '', md(report.summary), ''];
  for (const section of report.sections) {
    if (report.sections.length > 1) out.push(`#### ${md(section.title)}`, '');
    if (section.rows.length === 0) {
      out.push('_nothing_', '');
      continue;
    }
    out.push(`| ${section.columns.map((c) => md(c.header)).join(' | ')} |`);
    out.push(`| ${section.columns.map(() => '---').join(' | ')} |`);
    for (const row of section.rows) {
      out.push(`| ${section.columns.map((c) => (c.key === 'status' ? `${ICONS[row.status]} ${md(row.cells.status ?? '')}` : md(row.cells[c.key] ?? ''))).join(' | ')} |`);
    }
    out.push('');
    const detailed = section.rows.filter((r) => r.details?.length);
    if (detailed.length) {
      out.push('<details><summary>Details</summary>', '');
      for (const row of detailed) {
        out.push(`**${md(row.id)}**`, '', '```', ...row.details!.map((l) => l.replace(/```/g, "'''")), '```', '');
      }
      out.push('</details>', '');
    }
  }
  for (const note of report.notes) out.push(`> ${md(note)}`, '');
  return `${out.join('\n').trimEnd()}\n`;
}

/** Escapes what would break a table cell or start markup. */
function md(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/\r?\n/g, '<br>');
}
