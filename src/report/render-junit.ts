import type { Report } from './model.js';

/** JUnit XML: a test suite per section, a test case per row. */
export function renderJunit(report: Report): string {
  const sections = report.sections.filter((s) => s.junit !== false);
  const suites = sections.map((section) => {
    const failures = section.rows.filter((r) => r.status === 'fail').length;
    const skipped = section.rows.filter((r) => r.status === 'skip').length;
    const time = section.rows.reduce((sum, r) => sum + (r.seconds ?? 0), 0);
    const cases = section.rows.map((row) => {
      const attrs = `classname="${xml(`dbtune.${report.command}.${section.title}`)}" name="${xml(row.id)}" time="${(row.seconds ?? 0).toFixed(3)}"`;
      const body = (row.details ?? []).join('\n');
      if (row.status === 'fail') {
        return `    <testcase ${attrs}>\n      <failure message="${xml(row.message ?? 'failed')}" type="${xml(row.cells.status ?? 'failure')}">${xml(body || row.message || '')}</failure>\n    </testcase>`;
      }
      if (row.status === 'skip') return `    <testcase ${attrs}>\n      <skipped message="${xml(row.message ?? 'skipped')}"/>\n    </testcase>`;
      return body ? `    <testcase ${attrs}>\n      <system-out>${xml(body)}</system-out>\n    </testcase>` : `    <testcase ${attrs}/>`;
    });
    const properties = section.properties?.length ? `    <properties>\n${section.properties.map((p) => `      <property name="${xml(p.name)}" value="${xml(p.value)}"/>`).join('\n')}\n    </properties>\n` : '';
    return `  <testsuite name="${xml(`dbtune ${report.command}: ${section.title}`)}" tests="${section.rows.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">\n${properties}${cases.join('\n')}\n  </testsuite>`;
  });
  const tests = sections.reduce((n, s) => n + s.rows.length, 0);
  const failures = sections.reduce((n, s) => n + s.rows.filter((r) => r.status === 'fail').length, 0);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${xml(`dbtune ${report.command}`)}" tests="${tests}" failures="${failures}" errors="0">\n${suites.join('\n')}\n</testsuites>\n`;
}

/**
 * Escapes text for XML attributes and content; drops characters XML 1.0
 * cannot hold (ESC among them), and DEL and C1 controls, which it can but
 * which CI logs printing the file would hand to a terminal.
 */
export function xml(text: string): string {
  return text
    .replace(/[^\u0009\u000A\u000D\u0020-\u007E\u00A0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
