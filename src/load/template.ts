/**
 * Values in a load scenario can vary per request so that load spreads over
 * many keys instead of hitting one cached row:
 *
 *   {{int 1 50000}}   a whole number in [1, 50000]
 *   {{float 1 500}}   a number in [1, 500), two decimals
 *   {{pick a b c}}    one of the words
 *   {{uuid}}          a random UUID v4
 *   {{seq}}           1, 2, 3… per scenario run
 *   {{row.column}}    a column of the current row of the scenario's `data:` CSV
 *
 * A template is parsed once (errors name the generator and its position in the
 * string) and compiled to parts, so rendering a request does no parsing.
 */

export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'float'; min: number; max: number }
  | { kind: 'pick'; choices: string[] }
  | { kind: 'uuid' }
  | { kind: 'seq' }
  | { kind: 'row'; column: string };

export interface Template {
  parts: TemplatePart[];
  /** True when every part is text: render it once. */
  constant: boolean;
  /** Columns of the `data:` CSV this template reads. */
  columns: string[];
}

export type TemplateParse = { ok: true; template: Template } | { ok: false; error: string; offset: number };

const NUMBER = /^-?\d+(\.\d+)?$/;

export function parseTemplate(text: string): TemplateParse {
  const parts: TemplatePart[] = [];
  const columns: string[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) {
      parts.push({ kind: 'text', text: text.slice(i) });
      break;
    }
    if (open > i) parts.push({ kind: 'text', text: text.slice(i, open) });
    const close = text.indexOf('}}', open + 2);
    if (close < 0) return { ok: false, error: 'a "{{" is never closed with "}}"', offset: open };
    const words = text.slice(open + 2, close).trim().split(/\s+/).filter(Boolean);
    const part = generator(words);
    if (typeof part === 'string') return { ok: false, error: part, offset: open };
    if (part.kind === 'row') columns.push(part.column);
    parts.push(part);
    i = close + 2;
  }
  return { ok: true, template: { parts, constant: parts.every((p) => p.kind === 'text'), columns } };
}

function generator(words: string[]): TemplatePart | string {
  const [name, ...args] = words;
  if (!name) return 'empty "{{ }}": expected a generator such as {{int 1 100}}';
  if (name.startsWith('row.')) {
    const column = name.slice(4);
    if (!column || args.length) return `{{row.column}} takes a column name and nothing else, got {{${words.join(' ')}}}`;
    return { kind: 'row', column };
  }
  switch (name) {
    case 'int':
    case 'float': {
      if (args.length !== 2 || !args.every((a) => NUMBER.test(a))) return `{{${name} min max}} takes two numbers, got {{${words.join(' ')}}}`;
      const [min, max] = args.map(Number) as [number, number];
      if (min > max) return `{{${name} ${min} ${max}}}: min is greater than max`;
      if (name === 'int' && (!Number.isInteger(min) || !Number.isInteger(max))) return `{{int min max}} takes whole numbers, got {{${words.join(' ')}}}`;
      return { kind: name, min, max };
    }
    case 'pick':
      if (args.length === 0) return '{{pick a b c}} needs at least one choice';
      return { kind: 'pick', choices: args };
    case 'uuid':
    case 'seq':
      if (args.length) return `{{${name}}} takes no arguments`;
      return { kind: name };
    default:
      return `unknown generator {{${name}}}: expected int, float, pick, uuid, seq or row.<column>`;
  }
}

/** What rendering draws on: a random source (tests pass a seeded one), the sequence, the current data row. */
export interface RenderContext {
  random(): number;
  nextSeq(): number;
  row?: Readonly<Record<string, string>>;
  uuid(): string;
}

/**
 * `encodeRow` is applied to values from the data file: a path passes
 * encodeURIComponent so that `a b` or `x/y` stay one path segment.
 */
export function renderTemplate(template: Template, context: RenderContext, encodeRow?: (value: string) => string): string {
  if (template.constant) return template.parts.length ? (template.parts[0] as { text: string }).text : '';
  let out = '';
  for (const part of template.parts) {
    switch (part.kind) {
      case 'text':
        out += part.text;
        break;
      case 'int':
        out += String(part.min + Math.floor(context.random() * (part.max - part.min + 1)));
        break;
      case 'float':
        out += (part.min + context.random() * (part.max - part.min)).toFixed(2);
        break;
      case 'pick':
        out += part.choices[Math.floor(context.random() * part.choices.length)]!;
        break;
      case 'uuid':
        out += context.uuid();
        break;
      case 'seq':
        out += String(context.nextSeq());
        break;
      case 'row': {
        const value = context.row?.[part.column] ?? '';
        out += encodeRow ? encodeRow(value) : value;
        break;
      }
    }
  }
  return out;
}

/**
 * `${NAME}` from the environment, at load time. A missing variable is an
 * error (never an empty string): a token that silently became "" sends
 * unauthenticated traffic and measures the wrong thing. `$${X}` is a literal `${X}`.
 */
export function substituteEnv(text: string, env: NodeJS.ProcessEnv): { ok: true; text: string } | { ok: false; missing: string[] } {
  const missing: string[] = [];
  const out = text.replace(/\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (match, name: string) => {
    if (match.startsWith('$$')) return match.slice(1);
    const value = env[name];
    if (value === undefined) {
      missing.push(name);
      return match;
    }
    return value;
  });
  return missing.length ? { ok: false, missing } : { ok: true, text: out };
}
