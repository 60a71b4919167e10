import { describe, expect, it } from 'vitest';
import { substituteEnv } from '../../src/scenario/env-refs.js';
import { parseTemplate, renderTemplate, type RenderContext, type Template } from '../../src/scenario/template.js';

/** A deterministic random source: the same values every run. */
function seeded(values: number[]): RenderContext {
  let i = 0;
  let seq = 0;
  return { random: () => values[i++ % values.length]!, nextSeq: () => ++seq, uuid: () => '00000000-0000-4000-8000-000000000000', row: { user_id: '42', email: 'a@example.com' } };
}

function parsed(text: string): Template {
  const result = parseTemplate(text);
  if (!result.ok) throw new Error(result.error);
  return result.template;
}

describe('parseTemplate', () => {
  it.each<[string, number, boolean, string[]]>([
    ['/api/health', 1, true, []],
    ['/api/conversations?user_id={{int 1 50000}}', 2, false, []],
    ['{{pick eu us}}-{{uuid}}-{{seq}}', 5, false, []],
    ['/users/{{row.user_id}}/{{ row.email }}', 4, false, ['user_id', 'email']],
    ['', 0, true, []],
  ])('%j has %i parts', (text, count, constant, columns) => {
    const template = parsed(text);
    expect(template.parts).toHaveLength(count);
    expect(template.constant).toBe(constant);
    expect(template.columns).toEqual(columns);
  });

  it.each<[string, RegExp, number]>([
    ['/a/{{int 1 50000', /never closed/, 3],
    ['{{}}', /empty/, 0],
    ['x{{nope 1}}', /unknown generator \{\{nope\}\}/, 1],
    ['{{int 1}}', /takes two numbers/, 0],
    ['{{int 10 1}}', /min is greater than max/, 0],
    ['{{int 1.5 3}}', /whole numbers/, 0],
    ['{{float a b}}', /takes two numbers/, 0],
    ['{{pick}}', /at least one choice/, 0],
    ['{{uuid 4}}', /takes no arguments/, 0],
    ['{{row.}}', /column name/, 0],
  ])('rejects %j', (text, error, offset) => {
    const result = parseTemplate(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toMatch(error);
      expect(result.offset).toBe(offset);
    }
  });
});

describe('renderTemplate', () => {
  it('draws each generator from the context', () => {
    const context = seeded([0, 0.999999, 0.5]);
    expect(renderTemplate(parsed('id={{int 1 10}}&n={{int 1 10}}&f={{float 1 3}}'), context)).toBe('id=1&n=10&f=2.00');
    expect(renderTemplate(parsed('{{pick a b c}}{{seq}}{{seq}}/{{uuid}}/{{row.user_id}}'), seeded([0.5]))).toBe('b12/00000000-0000-4000-8000-000000000000/42');
  });

  it('spreads keys over the whole range', () => {
    const template = parsed('{{int 1 1000}}');
    const seen = new Set<string>();
    const context: RenderContext = { random: Math.random, nextSeq: () => 0, uuid: () => '' };
    for (let i = 0; i < 5000; i++) seen.add(renderTemplate(template, context));
    expect(seen.size).toBeGreaterThan(900);
    expect([...seen].every((v) => Number(v) >= 1 && Number(v) <= 1000)).toBe(true);
  });
});

describe('substituteEnv', () => {
  it('fills variables, keeps $${X} literal, and reports every missing one', () => {
    expect(substituteEnv('Bearer ${API_TOKEN}', { API_TOKEN: 't0k' })).toEqual({ ok: true, text: 'Bearer t0k' });
    expect(substituteEnv('cost: $${PRICE}', {})).toEqual({ ok: true, text: 'cost: ${PRICE}' });
    expect(substituteEnv('${A}:${B}:${A}', { B: 'b' })).toEqual({ ok: false, missing: ['A', 'A'] });
    expect(substituteEnv('${EMPTY}', { EMPTY: '' })).toEqual({ ok: true, text: '' });
  });
});

describe('parseTemplate with the environment: values are literal text, parsed after the templates', () => {
  const env = (values: Record<string, string>) => (name: string) => values[name];
  const context = seeded([0]);

  it.each<[string, Record<string, string>, string]>([
    ['Bearer ${API_TOKEN}', { API_TOKEN: '{{live_SECRETPART}}' }, 'Bearer {{live_SECRETPART}}'],
    ['/u/{{int 7 7}}?t=${T}', { T: '{{seq}}' }, '/u/7?t={{seq}}'],
    ['{{int 1 ${MAX}}}', { MAX: '1' }, '1'],
    ['{{pick ${A} b}}', { A: 'a{{uuid}}' }, 'a{{uuid}}'],
    ['cost $${PRICE} ${X}', { X: '${PRICE}' }, 'cost ${PRICE} ${PRICE}'],
  ])('%j with %j renders %j', (text, values, expected) => {
    const result = parseTemplate(text, env(values));
    expect(result.ok).toBe(true);
    if (result.ok) expect(renderTemplate(result.template, context)).toBe(expected);
  });

  it('keeps a constant template to one text part', () => {
    const result = parseTemplate('Bearer ${A}.${B}', env({ A: 'x', B: 'y' }));
    expect(result.ok && result.template.parts).toEqual([{ kind: 'text', text: 'Bearer x.y' }]);
  });

  it.each<[string, Record<string, string>, RegExp, number]>([
    // Messages quote the text as written, never the value.
    ['/u/{{int 1 ${MAX}}}', { MAX: 'S3CRET' }, /^\{\{int min max\}\} takes two numbers, got \{\{int 1 \$\{MAX\}\}\}$/, 3],
    ['{{int 9 ${MAX}}}', { MAX: '5' }, /^\{\{int 9 \$\{MAX\}\}\}: min is greater than max$/, 0],
    ['{{${GEN}}}', { GEN: 'S3CRET_GEN' }, /cannot come from the environment/, 0],
    ['{{row.${COL}}}', { COL: 'S3CRET_COL' }, /cannot come from the environment/, 0],
    // Offsets count in the text as written.
    ['${LONG}{{nope}}', { LONG: 'x'.repeat(40) }, /unknown generator \{\{nope\}\}/, 7],
  ])('rejects %j without showing the value', (text, values, error, offset) => {
    const result = parseTemplate(text, env(values));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toMatch(error);
      for (const value of Object.values(values)) if (value.length > 1) expect(result.error).not.toContain(value);
      expect(result.offset).toBe(offset);
    }
  });

  it('leaves an unset variable to the caller (renders as "", no error of its own)', () => {
    const result = parseTemplate('a${NOPE}b{{int 1 ${NOPE}}}', env({}));
    expect(result.ok && result.template.parts).toEqual([{ kind: 'text', text: 'ab' }]);
  });
});
