import { randomUUID } from 'node:crypto';
import type { ScenarioRequest } from '../config/load-scenario.js';
import { isConstantJson, jsonColumns, renderJson } from '../scenario/json-template.js';
import { renderTemplate, type RenderContext } from '../scenario/template.js';

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

  return requests.map((request, requestIndex) => {
    const json = request.json;
    const headers: Record<string, string> = {};
    if (json && !request.headers.some(([name]) => name.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    const templated = !request.path.constant || request.headers.some(([, t]) => !t.constant) || (request.body && !request.body.constant) || (json && !isConstantJson(json));
    // Only requests that read {{row.…}} take a row, so each of them walks the whole file in turn.
    const usesRows = request.path.columns.length > 0 || request.headers.some(([, t]) => t.columns.length > 0) || (request.body?.columns.length ?? 0) > 0 || (json !== undefined && jsonColumns(json).length > 0);
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
}
