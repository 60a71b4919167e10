import { renderTemplate, type RenderContext, type Template } from './template.js';

/**
 * A request's `json:` body with its string leaves compiled once, when the
 * scenario is loaded: rendering a request never parses, and a value filled
 * from the environment is never read as a template. A leaf that is exactly
 * `{{int}}`, `{{float}}` or `{{seq}}` renders as a JSON number.
 */
export type JsonTemplate =
  | { kind: 'literal'; value: unknown }
  | { kind: 'string'; template: Template; numeric: boolean }
  | { kind: 'array'; items: JsonTemplate[] }
  | { kind: 'object'; entries: Array<[string, JsonTemplate]> };

type Path = Array<string | number>;

/** `compileLeaf` gives the compiled template of the string at `path` (the loader has already reported those that do not parse). */
export function compileJson(value: unknown, compileLeaf: (text: string, path: Path) => Template | undefined, path: Path = []): JsonTemplate {
  if (typeof value === 'string') {
    const template = compileLeaf(value, path);
    if (!template) return { kind: 'literal', value };
    if (template.constant) return { kind: 'literal', value: template.parts.map((p) => (p.kind === 'text' ? p.text : '')).join('') };
    const only = template.parts.length === 1 ? template.parts[0]! : undefined;
    const numeric = only !== undefined && (only.kind === 'int' || only.kind === 'float' || only.kind === 'seq');
    return { kind: 'string', template, numeric };
  }
  if (Array.isArray(value)) return { kind: 'array', items: value.map((v, i) => compileJson(v, compileLeaf, [...path, i])) };
  if (value !== null && typeof value === 'object') return { kind: 'object', entries: Object.entries(value).map(([k, v]) => [k, compileJson(v, compileLeaf, [...path, k])]) };
  return { kind: 'literal', value };
}

/** Columns of the `data:` CSV the body reads. */
export function jsonColumns(json: JsonTemplate): string[] {
  switch (json.kind) {
    case 'literal':
      return [];
    case 'string':
      return json.template.columns;
    case 'array':
      return json.items.flatMap(jsonColumns);
    case 'object':
      return json.entries.flatMap(([, v]) => jsonColumns(v));
  }
}

export function isConstantJson(json: JsonTemplate): boolean {
  switch (json.kind) {
    case 'literal':
      return true;
    case 'string':
      return false;
    case 'array':
      return json.items.every(isConstantJson);
    case 'object':
      return json.entries.every(([, v]) => isConstantJson(v));
  }
}

export function renderJson(json: JsonTemplate, context: RenderContext): unknown {
  switch (json.kind) {
    case 'literal':
      return json.value;
    case 'string': {
      const text = renderTemplate(json.template, context);
      return json.numeric ? Number(text) : text;
    }
    case 'array':
      return json.items.map((item) => renderJson(item, context));
    case 'object':
      return Object.fromEntries(json.entries.map(([k, v]) => [k, renderJson(v, context)]));
  }
}
