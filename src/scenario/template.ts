import { envNames, envRefLengthAt, fillEnv, type EnvLookup } from './env-refs.js';

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

/**
 * Parses the text as written in the scenario. With `env`, each `${NAME}` is
 * filled in afterwards, as literal text: in the text it is sent as is, inside
 * `{{…}}` it is one argument (`{{int 1 ${MAX_ID}}}`); it never becomes a
 * generator, and error messages quote the `${NAME}`, never its value. An
 * unset variable is left for the caller to report (it renders as "").
 * Without `env`, `${NAME}` stays as written.
 */
export function parseTemplate(text: string, env?: EnvLookup): TemplateParse {
  const parts: TemplatePart[] = [];
  const columns: string[] = [];
  const pushText = (segment: string) => {
    const t = env ? fillEnv(segment, env) : segment;
    if (!t) return;
    const previous = parts.at(-1);
    // One text part per run of text: a constant template renders its single part.
    if (previous?.kind === 'text') previous.text += t;
    else parts.push({ kind: 'text', text: t });
  };
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) {
      pushText(text.slice(i));
      break;
    }
    pushText(text.slice(i, open));
    const close = closingBraces(text, open + 2);
    if (close < 0) return { ok: false, error: 'a "{{" is never closed with "}}"', offset: open };
    const words = text.slice(open + 2, close).trim().split(/\s+/).filter(Boolean);
    const part = generator(words, env);
    if (typeof part === 'string') return { ok: false, error: part, offset: open };
    if (part) {
      if (part.kind === 'row') columns.push(part.column);
      parts.push(part);
    }
    i = close + 2;
  }
  return { ok: true, template: { parts, constant: parts.every((p) => p.kind === 'text'), columns } };
}

/** The text outside `{{…}}`, as written: what a request sends literally (besides `${…}` values). */
export function textOutsideGenerators(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    const close = open < 0 ? -1 : closingBraces(text, open + 2);
    if (close < 0) return out + text.slice(i);
    out += text.slice(i, open);
    i = close + 2;
  }
  return out;
}

/** Index of the `}}` that closes a `{{` (a `${NAME}` inside is skipped whole), or -1. */
function closingBraces(text: string, from: number): number {
  for (let j = from; j < text.length - 1; j++) {
    const ref = envRefLengthAt(text, j);
    if (ref) j += ref - 1;
    else if (text[j] === '}' && text[j + 1] === '}') return j;
  }
  return -1;
}

/** A generator part, an error message, or null when an argument's variable is unset (reported by the caller). */
function generator(words: string[], env: EnvLookup | undefined): TemplatePart | string | null {
  const [name, ...written] = words;
  if (!name) return 'empty "{{ }}": expected a generator such as {{int 1 100}}';
  const shown = `{{${words.join(' ')}}}`;
  if (envNames(name).length) return `the generator of ${shown} cannot come from the environment: expected int, float, pick, uuid, seq or row.<column>`;
  if (env && written.some((w) => envNames(w).some((n) => env(n) === undefined))) return null;
  const fromEnv = written.some((w) => envNames(w).length > 0);
  const args = env ? written.map((w) => fillEnv(w, env)) : written;
  if (name.startsWith('row.')) {
    const column = name.slice(4);
    if (!column || args.length) return `{{row.column}} takes a column name and nothing else, got ${shown}`;
    return { kind: 'row', column };
  }
  switch (name) {
    case 'int':
    case 'float': {
      if (args.length !== 2 || !args.every((a) => NUMBER.test(a))) return `{{${name} min max}} takes two numbers, got ${shown}`;
      const [min, max] = args.map(Number) as [number, number];
      if (min > max) return `${fromEnv ? shown : `{{${name} ${min} ${max}}}`}: min is greater than max`;
      if (name === 'int' && (!Number.isInteger(min) || !Number.isInteger(max))) return `{{int min max}} takes whole numbers, got ${shown}`;
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
