import { readFileSync } from 'node:fs';
import type { LoadedScenario, ScenarioRequest } from '../../../config/load-scenario.js';
import { jsonColumns, type JsonTemplate } from '../../../scenario/json-template.js';
import type { Template } from '../../../scenario/template.js';

/**
 * The locustfile dbtune runs on Locust: the scenario, compiled (templates as
 * their parts, weights, expected statuses, the timeout, the CSV rows), as a
 * JSON `CONFIG` above the template in engines/locust/locustfile.py, which
 * renders and sends the requests exactly as the autocannon engine would and
 * measures them. One self-contained file: what --export-locustfile writes
 * for remote workers is what the local ones run.
 */

/** Shipped with the package (package.json `files`), beside dist/. */
const TEMPLATE_URL = new URL('../../../../engines/locust/locustfile.py', import.meta.url);

export interface LocustfileOptions {
  target: URL;
  timeoutMs: number;
  insecure: boolean;
  /** Set for Debian's 2.12.1, whose runners report an empty version (install.ts). */
  emptyVersionIs?: string;
}

/**
 * Headers the Python client (geventhttpclient) writes itself from the
 * connection and the body: a scenario's own value would be sent twice or
 * contradict the framing, so the locust engine refuses them (exit 2) rather
 * than send something else than the scenario says.
 */
const CLIENT_OWNED_HEADERS = ['host', 'content-length', 'transfer-encoding', 'connection'];

/** What of the scenario the locust engine cannot send as written: one message per option, naming it. Pure. */
export function unsupportedByLocust(scenario: Pick<LoadedScenario, 'requests'>): string[] {
  const problems: string[] = [];
  scenario.requests.forEach((request, i) => {
    for (const [name] of request.headers) {
      if (CLIENT_OWNED_HEADERS.includes(name.toLowerCase())) {
        problems.push(`requests[${i}].headers.${name}: the locust engine cannot send a request's own ${name} header (its HTTP client sets it); remove it or use --engine autocannon`);
      }
    }
  });
  return problems;
}

interface RequestConfig {
  name: string;
  method: string;
  path: Template['parts'];
  headers: Array<[string, Template['parts']]>;
  body: Template['parts'] | null;
  json: JsonTemplate | null;
  weight: number;
  expect_status: number[];
  uses_rows: boolean;
}

/** The JSON the template reads as CONFIG. */
export function locustConfig(scenario: Pick<LoadedScenario, 'requests' | 'rows'>, options: LocustfileOptions): object {
  return {
    origin: options.target.origin,
    // The target's path prefix, as the autocannon engine prepends it.
    prefix: options.target.pathname.replace(/\/+$/, ''),
    timeout_ms: options.timeoutMs,
    insecure: options.insecure,
    empty_version_is: options.emptyVersionIs ?? null,
    requests: scenario.requests.map(requestConfig),
    rows: scenario.rows,
  };
}

function requestConfig(request: ScenarioRequest): RequestConfig {
  const headers: RequestConfig['headers'] = [];
  if (request.json && !request.headers.some(([name]) => name.toLowerCase() === 'content-type')) headers.push(['content-type', [{ kind: 'text', text: 'application/json' }]]);
  for (const [name, template] of request.headers) headers.push([name, template.parts]);
  const columns = [...request.path.columns, ...request.headers.flatMap(([, t]) => t.columns), ...(request.body?.columns ?? []), ...(request.json ? jsonColumns(request.json) : [])];
  return {
    name: request.name,
    method: request.method,
    path: request.path.parts,
    headers,
    body: request.body ? request.body.parts : null,
    json: request.json ?? null,
    weight: request.weight,
    expect_status: request.expectStatus,
    uses_rows: columns.length > 0,
  };
}

/** The complete locustfile: CONFIG, then the template. */
export function renderLocustfile(scenario: Pick<LoadedScenario, 'requests' | 'rows'>, options: LocustfileOptions): string {
  const template = readFileSync(TEMPLATE_URL, 'utf8');
  // A JSON string literal is a valid Python string literal (JSON.stringify escapes only what Python reads the same way).
  const config = `import json as _json\n\nCONFIG = _json.loads(${JSON.stringify(JSON.stringify(locustConfig(scenario, options)))})\n\n`;
  return config + template;
}
