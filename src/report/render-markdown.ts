import type { Report, RowStatus } from './model.js';
import { stripControl } from '../text/safe-text.js';

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
        // In a fenced block nothing renders (no link, HTML or mention); only a fence could end it early.
        out.push(`**${md(row.id)}**`, '', '```', ...row.details!.map((l) => stripControl(l).replace(/```/g, "'''")), '```', '');
      }
      out.push('</details>', '');
    }
  }
  for (const note of report.notes) out.push(`> ${md(note)}`, '');
  return `${out.join('\n').trimEnd()}\n`;
}

const ZWJ = '\u200D';

/**
 * Text as text: cells, titles and notes may quote the database (another
 * session's query, an error, a table name), and job summaries of public
 * repositories and PR comments are public. Nothing in it may become a link or
 * image (`[`, `]`), an autolink or raw HTML (`<`; and the `&` of an entity, which
 * could spell `@` or `[`), a GFM bare-URL link (`://`, `www.`), or a mention or mailto
 * link (`@`): a zero-width joiner after `@`, `://` and `www` breaks GitHub's
 * matching without changing what the reader sees. `|` and `\` keep a table
 * row to its cells; control characters go.
 */
function md(text: string): string {
  return stripControl(text)
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[[\]]/g, '\\$&')
    .replace(/&(?=#\d+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/@/g, `@${ZWJ}`)
    .replace(/:\/\//g, `:${ZWJ}//`)
    .replace(/\bwww\./gi, (m) => `${m.slice(0, 3)}${ZWJ}.`)
    .replace(/\r?\n/g, '<br>');
}
