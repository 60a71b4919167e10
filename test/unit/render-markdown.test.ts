import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import type { Report } from '../../src/report/model.js';
import { sampleReport } from './support/report.js';

/** Cells of a GFM table row: `|` splits, except where a backslash escapes it (`\\` escapes itself). */
function cells(line: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const [token] of line.matchAll(/\\.|\||[^\\|]+|\\$/g)) {
    if (token === '|') {
      out.push(current.trim());
      current = '';
    } else {
      current += token;
    }
  }
  // A row starts and ends with a pipe: drop the empty text before the first.
  return out.slice(1);
}

const tableRows = (markdown: string) => markdown.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---'));

describe('renderMarkdown', () => {
  const report = sampleReport();
  report.sections[1]!.rows[0]!.cells.reason = 'C:\\temp\\';
  const out = renderMarkdown(report);

  it('heads with the outcome and the summary', () => {
    expect(out.slice(0, out.indexOf('#### '))).toBe('### ❌ dbtune apply: week3\n\n4 indexes: 1 created, 1 failed, 1 skipped, 1 drift\n\n');
  });

  it('a passing report heads with ✅', () => {
    const passed: Report = { ...sampleReport(), passed: true };
    expect(renderMarkdown(passed)).toMatch(/^### ✅ dbtune apply: week3\n/);
  });

  it('every table row has as many cells as the header, whatever the cells hold', () => {
    const rows = tableRows(out);
    expect(rows).toHaveLength(2 + 4 + 2); // two headers, six rows
    for (const row of rows) expect(cells(row), row).toHaveLength(3);
  });

  it('escapes | and \\ in cells so they read back as written', () => {
    const rows = tableRows(out).map(cells);
    expect(rows).toContainEqual(['public.idx_fail', '❌ failed', 'a \\| b']);
    expect(rows).toContainEqual(['public."Weird\\|Name"', '⚠️ drift', expect.any(String)]);
    expect(rows).toContainEqual(['check_orders', 'ℹ️ ran', 'C:\\\\temp\\\\']);
  });

  it('has a heading per section, _nothing_ for an empty one, details and notes', () => {
    expect(out).toContain('#### indexes\n');
    expect(out).toContain('#### checks\n');
    expect(out).toContain('#### leftovers\n\n_nothing_\n');
    expect(out).toContain('**public.idx_fail**\n\n```\nERROR: x < y & z\n');
    expect(out).toContain('> run `dbtune plan` to see which sessions block the build\n');
  });

  it('a lone section gets no heading of its own', () => {
    const single: Report = { ...sampleReport(), sections: [sampleReport().sections[1]!] };
    expect(renderMarkdown(single)).not.toContain('####');
  });

  it('a ``` in details cannot end the code block early', () => {
    const withFence = sampleReport();
    withFence.sections[0]!.rows[1]!.details = ['before', '```', 'after'];
    const text = renderMarkdown(withFence);
    const block = /\*\*public\.idx_fail\*\*\n\n```\n([\s\S]*?)\n```\n/.exec(text);
    expect(block?.[1]).toBe("before\n'''\nafter");
  });

  // md() turns a newline into <br>, then escapes every < as &lt; — including
  // the one it just wrote, so a two-line cell renders as "line one<br>line two"
  // in plain text instead of breaking the line.
  it('a newline in a cell becomes a <br> line break (regression: the <br> was escaped to &lt;br>)', () => {
    expect(tableRows(out).map(cells)).toContainEqual(['public."Weird\\|Name"', '⚠️ drift', 'line one<br>line two']);
  });
});
