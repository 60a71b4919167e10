import { describe, expect, it } from 'vitest';
import { ansiPaint, paintStatus, plainPaint, renderTable } from '../../src/report/render-table.js';
import type { Report, RowStatus } from '../../src/report/model.js';
import { sampleReport } from './support/report.js';

const ANSI = /\u001b\[/;

describe('renderTable', () => {
  it('shows every row id, the details, the summary and the notes, without colour', async () => {
    const report = sampleReport();
    const out = await renderTable(report, plainPaint);
    for (const row of report.sections.flatMap((s) => s.rows)) expect(out).toContain(row.id);
    const lines = out.trimEnd().split('\n');
    expect(lines.slice(-2)).toEqual([report.summary, report.notes[0]]);
    expect(out).toContain('public.idx_fail:\n  ERROR: x < y & z\n');
    expect(out).toContain('leftovers\n  (nothing)\n');
    expect(out).not.toMatch(ANSI);
  });

  it('a lone section gets no title line', async () => {
    const single: Report = { ...sampleReport(), sections: [sampleReport().sections[1]!] };
    const out = await renderTable(single, plainPaint);
    expect(out).not.toMatch(/^checks/);
    expect(out).toContain('check_profiles');
  });

  it('colours only the status cell and the summary with ansiPaint', async () => {
    const out = await renderTable(sampleReport(), ansiPaint);
    expect(out).toContain('\u001b[32mcreated\u001b[39m');
    expect(out).toContain('\u001b[31mfailed\u001b[39m');
    expect(out).toContain('\u001b[31m4 indexes: 1 created, 1 failed, 1 skipped, 1 drift\u001b[39m');
    expect(out).not.toContain('\u001b[32mpublic.idx_ok');
  });
});

describe('paintStatus', () => {
  it.each<[RowStatus, string]>([
    ['pass', '\u001b[32mx\u001b[39m'],
    ['fail', '\u001b[31mx\u001b[39m'],
    ['warn', '\u001b[33mx\u001b[39m'],
    ['skip', '\u001b[33mx\u001b[39m'],
    ['info', 'x'],
  ])('%s', (status, expected) => {
    expect(paintStatus(ansiPaint, status, 'x')).toBe(expected);
    expect(paintStatus(plainPaint, status, 'x')).toBe('x');
  });
});
