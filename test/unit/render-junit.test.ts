import { describe, expect, it } from 'vitest';
import { renderJunit, xml } from '../../src/report/render-junit.js';
import { sampleReport } from './support/report.js';

const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const BARE_AMPERSAND = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;

/**
 * A small well-formedness check, enough for what renderJunit writes: tags
 * nest and close, attribute values are quoted with no raw `<` or `"`,
 * every `&` starts an entity, no character XML 1.0 forbids.
 */
function wellFormednessProblems(text: string): string[] {
  const problems: string[] = [];
  if (CONTROL.test(text)) problems.push('control character');
  const body = text.replace(/^<\?xml [^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  for (const [token] of body.matchAll(/<[^>]*>|[^<]+/g)) {
    if (!token.startsWith('<')) {
      if (BARE_AMPERSAND.test(token)) problems.push(`bare & in text: ${token}`);
      if (stack.length === 0 && token.trim()) problems.push(`text outside the root: ${token}`);
      continue;
    }
    const tag = /^<(\/)?([A-Za-z][\w.-]*)((?:\s+[A-Za-z][\w.-]*="[^"<]*")*)\s*(\/)?>$/.exec(token);
    if (!tag) {
      problems.push(`malformed tag: ${token}`);
      continue;
    }
    const [, closing, name, attributes, selfClosing] = tag;
    if (BARE_AMPERSAND.test(attributes ?? '')) problems.push(`bare & in attributes: ${token}`);
    if (closing) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}>`);
    } else {
      if (stack.length === 0) roots++;
      if (!selfClosing) stack.push(name!);
    }
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(', ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

/** Attributes of the first element named `name` whose attributes match `filter`. */
function attributesOf(text: string, name: string, filter = ''): Record<string, string> {
  const element = new RegExp(`<${name}\\s([^>]*${filter}[^>]*)>`).exec(text);
  expect(element, `<${name} ${filter}>`).not.toBeNull();
  return Object.fromEntries([...element![1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

describe('the well-formedness check itself', () => {
  it.each([
    ['<a><b/></a>', []],
    ['<a><b></a>', ['</a> closes <b>', 'unclosed: a']],
    ['<a x="1 & 2"/>', ['bare & in attributes: <a x="1 & 2"/>']],
    ['<a>x & y</a>', ['bare & in text: x & y']],
    ['<a/><b/>', ['2 root elements']],
    ['<r><a x="1""/></r>', ['malformed tag: <a x="1""/>']],
    ['<a>\u0001</a>', ['control character']],
  ])('%s', (text, expected) => {
    expect(wellFormednessProblems(text)).toEqual(expected);
  });
});

describe('renderJunit', () => {
  const report = sampleReport();
  const out = renderJunit(report);

  it('is well-formed XML', () => {
    expect(wellFormednessProblems(out)).toEqual([]);
  });

  it('counts tests and failures over all sections', () => {
    expect(attributesOf(out, 'testsuites')).toMatchObject({ tests: '6', failures: '2', errors: '0' });
  });

  it.each([
    ['indexes', { tests: '4', failures: '1', skipped: '1', time: '1.750' }],
    ['checks', { tests: '2', failures: '1', skipped: '0', time: '0.000' }],
    ['leftovers', { tests: '0', failures: '0', skipped: '0' }],
  ])('suite %s has the right counts', (title, counts) => {
    expect(attributesOf(out, 'testsuite', `name="dbtune apply: ${title}"`)).toMatchObject(counts);
  });

  it('has one test case per row, named by row id', () => {
    const names = [...out.matchAll(/<testcase [^>]*name="([^"]*)"/g)].map((m) => m[1]);
    expect(names).toEqual(['public.idx_ok', 'public.idx_fail', 'public.idx_skip', 'public.&quot;Weird|Name&quot;', 'check_orders', 'check_profiles']);
    expect(out.match(/<failure /g)).toHaveLength(2);
    expect(out.match(/<skipped /g)).toHaveLength(1);
  });

  it('escapes <&"\' in attributes and text, and drops control characters', () => {
    expect(out).toContain('message="build failed: &lt;oops&gt; &amp; &quot;quoted&quot; &apos;x&apos;"');
    expect(out).toContain('ERROR: x &lt; y &amp; z\nbellhere</failure>');
    expect(out).not.toContain('\u0007');
  });

  it('a failure without details carries its message, or "failed"', () => {
    expect(out).toMatch(/name="check_profiles"[^>]*>\s*<failure message="failed" type="failed"><\/failure>/);
  });
});

describe('xml()', () => {
  it.each([
    ['plain', 'plain'],
    [`<a href="x">'&'</a>`, '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;'],
    ['&amp;', '&amp;amp;'],
    ['tab\tnew\nline\rok', 'tab\tnew\nline\rok'],
    ['nul\u0000 esc\u001b vt\u000b', 'nul esc vt'],
    ['lone \uD800 surrogate, \uFFFE', 'lone  surrogate, '],
    ['emoji 😀 stays', 'emoji 😀 stays'],
  ])('%j → %j', (text, expected) => {
    expect(xml(text)).toBe(expected);
  });
});

describe('xml() and terminal controls', () => {
  it.each([
    ['DEL', 'a\u007fb', 'ab'],
    ['C1 CSI (U+009B)', 'a\u009b2Jb', 'a2Jb'],
    ['NEL (U+0085)', 'a\u0085b', 'ab'],
    ['non-breaking space and Latin-1 stay', 'a\u00a0é', 'a\u00a0é'],
  ])('drops %s', (_label, text, expected) => {
    expect(xml(text)).toBe(expected);
  });
});
