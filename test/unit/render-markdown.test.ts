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

/** A one-cell report whose cell, title, summary, note and row id all hold `text`. */
function reportWith(text: string): Report {
  return {
    command: 'apply',
    title: text,
    passed: false,
    sections: [{ title: 'rows', columns: [{ key: 'reason', header: 'reason' }], rows: [{ id: text, status: 'fail', cells: { reason: text }, details: [text] }] }],
    summary: text,
    notes: [text],
    document: {},
  };
}

// Database text (another session's query, an error message, a table name) lands in job
// summaries and PR comments: it must read as text, never become a link, an image, HTML or a ping.
describe('renderMarkdown escapes text from the database', () => {
  it.each([
    ['a link', '[click me](https://evil.example/x)', /\[click me\]\(/],
    ['an image (tracking pixel)', '![x](https://evil.example/p.png)', /!\[x\]\(/],
    ['a reference link', '[docs][1]', /\[docs\]\[1\]/],
    ['an autolink', '<https://evil.example/x>', /<https:/],
    ['a bare URL (GFM extended autolink)', 'see https://evil.example/x', /https:\/\/evil/],
    ['a www. autolink', 'see www.evil.example', /www\.evil/],
    ['raw HTML', '<img src=x onerror=alert(1)>', /<img/],
    ['a closing tag that would end the details block', '</details><h1>pwned</h1>', /<\/details><h1>|<h1>/],
    ['an @mention', 'ping @octocat and @org/team', /@octocat|@org\/team/],
    ['an email address (mailto autolink)', 'alice@example.com', /alice@example\.com/],
    ['an HTML entity that decodes to @', '&#64;octocat', /&#64;octocat/],
    ['a hex or named entity that decodes to [', '&#x5B;x&rsqb;(y) &lbrack;', /&#x5B;|&rsqb;|&lbrack;/],
    ['a terminal escape sequence', 'a\u001b[31mred', /\u001b/],
  ])('neutralises %s outside code blocks', (_label, text, raw) => {
    const out = renderMarkdown(reportWith(text));
    const outsideCode = out.replace(/```\n[\s\S]*?\n```/g, '');
    expect(outsideCode).not.toMatch(raw);
  });

  it('keeps the words readable: escaped characters render as themselves', () => {
    const out = renderMarkdown(reportWith('[a](b) <c> @d e|f & g'));
    expect(out).toContain('\\[a\\](b) &lt;c> @\u200Dd e\\|f & g');
  });

  it('keeps a table row to its columns whatever the cell holds', () => {
    const row = tableRows(renderMarkdown(reportWith('a | b \\| c\n| d |'))).at(-1)!;
    expect(cells(row)).toHaveLength(1);
  });

  it('strips control characters from the code block of details too', () => {
    const out = renderMarkdown(reportWith('x\u001b]0;title\u0007y'));
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(out).toContain('```\nxy\n```');
  });
});
