import { randomUUID } from 'node:crypto';
import type { ScenarioRequest } from '../config/load-scenario.js';
import { parseTemplate, renderTemplate, type RenderContext, type Template } from './template.js';

/**
 * Turns a scenario's requests into autocannon's `requests` list, one entry per
 * scenario request in scenario order (entry i is request i). Which one each
 * user sends next is the engine's weighted pick (mix-picker.ts), not
 * autocannon's walk of the list. Requests without templates are
 * built once per connection and reused, as autocannon does; templated ones
 * are rendered per request through `setupRequest`. Each entry carries the
 * index of its scenario request, for per-name statistics.
 */

export interface MixEntry {
  requestIndex: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  setupRequest?: (request: MixEntry, context: unknown) => MixEntry;
}

/** A JSON body with its string leaves compiled; a leaf that is exactly {{int}}, {{float}} or {{seq}} renders as a JSON number. */
type JsonTemplate =
  | { kind: 'literal'; value: unknown }
  | { kind: 'string'; template: Template; numeric: boolean }
  | { kind: 'array'; items: JsonTemplate[] }
  | { kind: 'object'; entries: Array<[string, JsonTemplate]> };

export interface MixOptions {
  /** Rows of the scenario's `data:` CSV, taken in turn (one row per request). */
  rows?: ReadonlyArray<Readonly<Record<string, string>>>;
  random?: () => number;
}

export function buildRequestMix(requests: readonly ScenarioRequest[], options: MixOptions = {}): MixEntry[] {
  const random = options.random ?? Math.random;
  const rows = options.rows ?? [];
  let seq = 0;
  let rowIndex = 0;
  const context: RenderContext = { random, nextSeq: () => ++seq, uuid: randomUUID };
  const nextRow = () => (rows.length ? rows[rowIndex++ % rows.length] : undefined);

  const entries = requests.map((request, requestIndex) => {
    const json = request.json === undefined ? undefined : compileJson(request.json);
    const headers: Record<string, string> = {};
    if (json && !request.headers.some(([name]) => name.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    const templated = !request.path.constant || request.headers.some(([, t]) => !t.constant) || (request.body && !request.body.constant) || (json && !isConstantJson(json));
    // Only requests that read {{row.…}} take a row, so each of them walks the whole file in turn.
    const usesRows = request.path.columns.length > 0 || request.headers.some(([, t]) => t.columns.length > 0) || (request.body?.columns.length ?? 0) > 0 || (json !== undefined && jsonUsesRows(json));
    const render = (): Pick<MixEntry, 'path' | 'headers' | 'body'> => {
      context.row = usesRows ? nextRow() : undefined;
      const rendered: Pick<MixEntry, 'path' | 'headers' | 'body'> = { path: renderTemplate(request.path, context, encodeURIComponent), headers: { ...headers } };
      for (const [name, template] of request.headers) rendered.headers[name] = renderTemplate(template, context);
      if (request.body) rendered.body = renderTemplate(request.body, context);
      else if (json) rendered.body = JSON.stringify(renderJson(json, context));
      return rendered;
    };
    const entry: MixEntry = { requestIndex, method: request.method, ...render() };
    if (templated) entry.setupRequest = (req) => Object.assign(req, render());
    return entry;
  });
  return entries;
}

function compileJson(value: unknown): JsonTemplate {
  if (typeof value === 'string') {
    const parsed = parseTemplate(value);
    // loadScenario has already reported templates that do not parse.
    if (!parsed.ok) return { kind: 'literal', value };
    const only = parsed.template.parts.length === 1 ? parsed.template.parts[0]! : undefined;
    const numeric = only !== undefined && (only.kind === 'int' || only.kind === 'float' || only.kind === 'seq');
    return parsed.template.constant ? { kind: 'literal', value } : { kind: 'string', template: parsed.template, numeric };
  }
  if (Array.isArray(value)) return { kind: 'array', items: value.map(compileJson) };
  if (value !== null && typeof value === 'object') return { kind: 'object', entries: Object.entries(value).map(([k, v]) => [k, compileJson(v)]) };
  return { kind: 'literal', value };
}

function jsonUsesRows(json: JsonTemplate): boolean {
  switch (json.kind) {
    case 'literal':
      return false;
    case 'string':
      return json.template.columns.length > 0;
    case 'array':
      return json.items.some(jsonUsesRows);
    case 'object':
      return json.entries.some(([, v]) => jsonUsesRows(v));
  }
}

function isConstantJson(json: JsonTemplate): boolean {
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

function renderJson(json: JsonTemplate, context: RenderContext): unknown {
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
