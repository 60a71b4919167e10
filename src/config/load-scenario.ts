import { parse as parseCsv } from 'csv-parse/sync';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { describeReadError, readInputFile } from '../files/input-file.js';
import { parseTemplate, substituteEnv, type Template } from '../load/template.js';
import { InputProblemsError, type Problem } from './problems.js';
import { scenarioSchema, type ScenarioFile } from './scenario-schema.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';
import { zodIssuesToProblems } from './zod-problems.js';

/** A request of a scenario with its templates compiled. */
export interface ScenarioRequest {
  name: string;
  method: string;
  path: Template;
  headers: Array<[string, Template]>;
  /** JSON body with every string value a template; serialised per request. */
  json?: unknown;
  body?: Template;
  weight: number;
  expectStatus: number[];
}

export interface LoadedScenario {
  file: string;
  spec: ScenarioFile;
  requests: ScenarioRequest[];
  /** Rows of the `data:` CSV (empty without one). */
  rows: Array<Record<string, string>>;
}

type Path = Array<string | number>;

/**
 * Reads a scenario: `${ENV}` filled from the environment (a missing variable
 * is an error, not ""), schema checked, every template compiled. All problems
 * at once with positions; nothing is sent when there is any.
 */
export async function loadScenario(file: string, env: NodeJS.ProcessEnv): Promise<LoadedScenario> {
  let text: string;
  try {
    text = await readInputFile(file);
  } catch (error) {
    throw new InputProblemsError([{ file, line: 0, col: 0, path: '', message: describeReadError(error) }]);
  }
  const source = parseYamlSource(file, text);
  if (source.syntaxProblems.length) {
    throw new InputProblemsError(source.syntaxProblems.map((p) => ({ ...p, message: `YAML syntax error: ${p.message}` })));
  }
  const problems: Problem[] = [];
  const value = substituteAll(source.value, [], env, source, problems);
  const parsed = scenarioSchema.safeParse(value ?? {});
  if (!parsed.success) {
    problems.push(...zodIssuesToProblems(parsed.error.issues, source, scenarioSchema as z.ZodType));
    // Templates too, so that one run lists every problem.
    compileRawTemplates(value, (text, path) => {
      const result = parseTemplate(text);
      if (!result.ok) problems.push(source.problemAt(path, `${result.error} (at character ${result.offset + 1})`));
    });
    throw new InputProblemsError(sortProblems(problems));
  }
  if (problems.length) throw new InputProblemsError(sortProblems(problems));

  const spec = parsed.data;
  let usesRows = false;
  const compile = (text: string, path: Path): Template | undefined => {
    const result = parseTemplate(text);
    if (result.ok) {
      if (result.template.columns.length) usesRows = true;
      return result.template;
    }
    problems.push(source.problemAt(path, `${result.error} (at character ${result.offset + 1})`));
    return undefined;
  };
  const requests: ScenarioRequest[] = spec.requests.map((r, i) => {
    const base: Path = ['requests', i];
    const request: ScenarioRequest = {
      name: r.name,
      method: r.method,
      path: compile(r.path, [...base, 'path']) ?? { parts: [], constant: true, columns: [] },
      headers: Object.entries(r.headers ?? {}).map(([k, v]) => [k, compile(v, [...base, 'headers', k]) ?? { parts: [], constant: true, columns: [] }]),
      weight: r.weight,
      expectStatus: r.expect_status ?? [],
    };
    if (r.json !== undefined) {
      walkStrings(r.json, [...base, 'json'], (text, path) => void compile(text, path));
      request.json = r.json;
    }
    if (r.body !== undefined) request.body = compile(r.body, [...base, 'body']) ?? { parts: [], constant: true, columns: [] };
    return request;
  });
  if (usesRows && !spec.data) problems.push(source.problemAt(['requests'], 'a template uses {{row.…}} but the scenario has no `data:` CSV file'));
  let rows: Array<Record<string, string>> = [];
  if (spec.data) {
    const used = new Set(spec.requests.flatMap((_, i) => templatesOf(requests[i]!).flatMap((t) => t.columns)));
    const data = await readDataRows(resolve(dirname(file), spec.data), used);
    if (typeof data === 'string') problems.push(source.problemAt(['data'], data));
    else rows = data;
  }
  if (problems.length) throw new InputProblemsError(sortProblems(problems));
  return { file, spec, requests, rows };
}

/** Visits the template strings of a document that failed the schema: whatever of requests[].path/headers/body/json is there. */
function compileRawTemplates(document: unknown, visit: (text: string, path: Path) => void): void {
  const requests = (document as { requests?: unknown } | null)?.requests;
  if (!Array.isArray(requests)) return;
  requests.forEach((request: unknown, i) => {
    if (request === null || typeof request !== 'object') return;
    const r = request as Record<string, unknown>;
    for (const key of ['path', 'body', 'headers', 'json']) if (r[key] !== undefined) walkStrings(r[key], ['requests', i, key], visit);
  });
}

function templatesOf(request: ScenarioRequest): Template[] {
  const templates = [request.path, ...request.headers.map(([, t]) => t)];
  if (request.body) templates.push(request.body);
  if (request.json !== undefined) {
    walkStrings(request.json, [], (text) => {
      const parsed = parseTemplate(text);
      if (parsed.ok) templates.push(parsed.template);
    });
  }
  return templates;
}

/**
 * The `data:` CSV (relative to the scenario file), header row first. Returns a
 * problem as a string: unreadable, malformed, empty, or missing a column a
 * template reads.
 */
async function readDataRows(path: string, columns: ReadonlySet<string>): Promise<Array<Record<string, string>> | string> {
  let text: string;
  try {
    text = await readInputFile(path);
  } catch (error) {
    return `data file ${path}: ${describeReadError(error)}`;
  }
  let rows: Array<Record<string, string>>;
  try {
    rows = parseCsv(text, { columns: true, skip_empty_lines: true, bom: true, trim: true }) as Array<Record<string, string>>;
  } catch (error) {
    return `data file ${path} is not valid CSV: ${(error as Error).message}`;
  }
  if (rows.length === 0) return `data file ${path} has no rows under its header`;
  const header = Object.keys(rows[0]!);
  const missing = [...columns].filter((c) => !header.includes(c));
  if (missing.length) return `data file ${path} has no column ${missing.map((c) => JSON.stringify(c)).join(', ')} (its columns: ${header.join(', ')})`;
  // A line break in a header value would split the request (values in paths are URL-encoded).
  const broken = rows.findIndex((row) => [...columns].some((c) => /[\r\n\u0000]/.test(row[c] ?? '')));
  if (broken >= 0) return `data file ${path}: row ${broken + 1} has a line break in a column the requests use`;
  return rows;
}

/** Replaces `${VAR}` in every string of the document, collecting missing variables with their positions. */
function substituteAll(value: unknown, path: Path, env: NodeJS.ProcessEnv, source: YamlSource, problems: Problem[]): unknown {
  if (typeof value === 'string') {
    const result = substituteEnv(value, env);
    if (result.ok) return result.text;
    for (const name of new Set(result.missing)) problems.push(source.problemAt(path, `environment variable ${name} is not set`));
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteAll(v, [...path, i], env, source, problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteAll(v, [...path, k], env, source, problems)]));
  }
  return value;
}

function walkStrings(value: unknown, path: Path, visit: (text: string, path: Path) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, [...path, i], visit));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walkStrings(v, [...path, k], visit);
}

function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
}
