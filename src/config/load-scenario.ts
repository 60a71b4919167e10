import { parse as parseCsv } from 'csv-parse/sync';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { describeReadError, readInputFile } from '../files/input-file.js';
import { describeEnvValue, envNames, splitEnvRefs, substituteEnv } from '../scenario/env-refs.js';
import { compileJson, jsonColumns, type JsonTemplate } from '../scenario/json-template.js';
import { parseTemplate, textOutsideGenerators, type Template } from '../scenario/template.js';
import { durationMs } from './duration.js';
import { formatPath, InputProblemsError, type Problem } from './problems.js';
import { scenarioSchema, type ScenarioFile } from './scenario-schema.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';
import { valueAt, zodIssuesToProblems } from './zod-problems.js';

/** A request of a scenario with its templates compiled. */
export interface ScenarioRequest {
  name: string;
  method: string;
  path: Template;
  headers: Array<[string, Template]>;
  /** JSON body with every string value compiled; serialised per request. */
  json?: JsonTemplate;
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
  /**
   * Fields whose value came (wholly or partly) from `${…}`, by path as shown
   * in messages (`target`, `requests[0].headers.authorization`), with the text
   * as written: a message about one names the variable, never the value.
   */
  envValues: ReadonlyMap<string, string>;
  /** The scenario's durations in milliseconds, read once here (the schema has checked them). */
  times: ScenarioTimes;
}

export interface ScenarioTimes {
  warmupMs: number;
  /** Per-request timeout, when the scenario sets one. */
  timeoutMs?: number;
  /** database.settle, when set. */
  settleMs?: number;
  /** Per stage of the scenario, in order. */
  stages: Array<{ durationMs: number; rampMs: number }>;
}

type Path = Array<string | number>;

/**
 * Reads a scenario: schema checked, every template compiled, `${ENV}` filled
 * from the environment (a missing variable is an error, not ""). Templates
 * are parsed on the text as written and environment values inserted as
 * literal text afterwards, so a value is never read as a template, and no
 * message shows one. All problems at once with positions; nothing is sent
 * when there is any.
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
  const envValues = new Map<string, string>();
  const filledValues = new Map<string, string>();
  const value = substituteAll(source.value, [], env, source, problems, { written: envValues, filled: filledValues });
  const parsed = scenarioSchema.safeParse(value ?? {});
  if (!parsed.success) {
    const schemaProblems = zodIssuesToProblems(parsed.error.issues, source, scenarioSchema as z.ZodType);
    problems.push(...schemaProblems.map((p) => withoutEnvValue(p, envValues, filledValues)));
  }
  // Templates too when the schema failed, so that one run lists every problem.
  const templates = compileTemplates(source, env, problems);
  if (!parsed.success) throw new InputProblemsError(sortProblems(problems));

  const spec = parsed.data;
  const templateAt = (path: Path): Template => templates.get(JSON.stringify(path)) ?? { parts: [], constant: true, columns: [] };
  const requests: ScenarioRequest[] = spec.requests.map((r, i) => {
    const base: Path = ['requests', i];
    const request: ScenarioRequest = {
      name: r.name,
      method: r.method,
      path: templateAt([...base, 'path']),
      headers: Object.keys(r.headers ?? {}).map((k) => [k, templateAt([...base, 'headers', k])]),
      weight: r.weight,
      expectStatus: r.expect_status ?? [],
    };
    if (r.json !== undefined) request.json = compileJson(valueAt(source.value, [...base, 'json']), (_, path) => templateAt([...base, 'json', ...path]));
    if (r.body !== undefined) request.body = templateAt([...base, 'body']);
    return request;
  });
  const used = new Set(requests.flatMap(columnsOf));
  if (used.size && !spec.data) problems.push(source.problemAt(['requests'], 'a template uses {{row.…}} but the scenario has no `data:` CSV file'));
  let rows: Array<Record<string, string>> = [];
  if (spec.data) {
    const written = envValues.get('data');
    const path = resolve(dirname(file), spec.data);
    const data = await readDataRows(path, used, written ? `the data file (${describeEnvValue(written)})` : `data file ${path}`);
    if (typeof data === 'string') problems.push(source.problemAt(['data'], data));
    else rows = data;
  }
  if (problems.length) throw new InputProblemsError(sortProblems(problems));
  return { file, spec, requests, rows, envValues, times: scenarioTimes(spec) };
}

/**
 * Compiles every template field of the document as written (whatever of
 * requests[].path/headers/body/json is there), filling `${…}` afterwards;
 * templates by JSON path. A path also gets the check that it sends no raw
 * space or control character, in its own text and in the values it takes
 * from the environment.
 */
function compileTemplates(source: YamlSource, env: NodeJS.ProcessEnv, problems: Problem[]): Map<string, Template> {
  const templates = new Map<string, Template>();
  const lookup = (name: string) => env[name];
  compileRawTemplates(source.value, (text, path) => {
    if (path.length === 3 && path[2] === 'path') {
      // Spaces are allowed only inside {{ }}: a raw space or line break would break the request line.
      const literal = splitEnvRefs(textOutsideGenerators(text)).map((piece) => (piece.kind === 'text' ? piece.text : ''));
      if (literal.some((piece) => RAW_SPACE.test(piece))) {
        problems.push(source.problemAt(path, 'a path without spaces or control characters (encode a space as %20)'));
      }
      for (const name of new Set(envNames(text))) {
        const filled = env[name];
        if (filled !== undefined && RAW_SPACE.test(filled)) problems.push(source.problemAt(path, `the value of \${${name}} has a space or control character, which would break the request line (encode a space as %20)`));
      }
    }
    const result = parseTemplate(text, lookup);
    if (result.ok) templates.set(JSON.stringify(path), result.template);
    else problems.push(source.problemAt(path, `${result.error} (at character ${result.offset + 1})`));
  });
  return templates;
}

/** Columns of the `data:` CSV a request reads. */
function columnsOf(request: ScenarioRequest): string[] {
  const templates = [request.path, ...request.headers.map(([, t]) => t), ...(request.body ? [request.body] : [])];
  return [...templates.flatMap((t) => t.columns), ...(request.json ? jsonColumns(request.json) : [])];
}

const RAW_SPACE = /[\s\u0000-\u001f\u007f]/;

/**
 * A schema message about a field whose value came from the environment
 * names the variable instead of quoting the value (e.g. a duplicate request
 * name): the value may be a secret.
 */
function withoutEnvValue(problem: Problem, envValues: ReadonlyMap<string, string>, filledValues: ReadonlyMap<string, string>): Problem {
  const written = envValues.get(problem.path);
  const filled = filledValues.get(problem.path);
  if (written === undefined || !filled) return problem;
  const shown = describeEnvValue(written);
  return { ...problem, message: problem.message.split(JSON.stringify(filled)).join(shown).split(filled).join(shown) };
}

/** Visits the template strings of the document as written, whether or not it passed the schema: whatever of requests[].path/headers/body/json is there. */
function compileRawTemplates(document: unknown, visit: (text: string, path: Path) => void): void {
  const requests = (document as { requests?: unknown } | null)?.requests;
  if (!Array.isArray(requests)) return;
  requests.forEach((request: unknown, i) => {
    if (request === null || typeof request !== 'object') return;
    const r = request as Record<string, unknown>;
    for (const key of ['path', 'body', 'headers', 'json']) if (r[key] !== undefined) walkStrings(r[key], ['requests', i, key], visit);
  });
}

/**
 * The `data:` CSV (relative to the scenario file), header row first. Returns a
 * problem as a string: unreadable, malformed, empty, or missing a column a
 * template reads.
 */
async function readDataRows(path: string, columns: ReadonlySet<string>, label: string): Promise<Array<Record<string, string>> | string> {
  let text: string;
  try {
    text = await readInputFile(path);
  } catch (error) {
    return `${label}: ${describeReadError(error)}`;
  }
  let rows: Array<Record<string, string>>;
  try {
    rows = parseCsv(text, { columns: true, skip_empty_lines: true, bom: true, trim: true }) as Array<Record<string, string>>;
  } catch (error) {
    return `${label} is not valid CSV: ${(error as Error).message}`;
  }
  if (rows.length === 0) return `${label} has no rows under its header`;
  const header = Object.keys(rows[0]!);
  const missing = [...columns].filter((c) => !header.includes(c));
  if (missing.length) return `${label} has no column ${missing.map((c) => JSON.stringify(c)).join(', ')} (its columns: ${header.join(', ')})`;
  // A line break in a header value would split the request (values in paths are URL-encoded).
  const broken = rows.findIndex((row) => [...columns].some((c) => /[\r\n\u0000]/.test(row[c] ?? '')));
  if (broken >= 0) return `${label}: row ${broken + 1} has a line break in a column the requests use`;
  return rows;
}

/**
 * Replaces `${VAR}` in every string of the document, collecting missing
 * variables with their positions, and where values came from the environment
 * (by path as shown in messages: the text as written, and as filled).
 */
function substituteAll(value: unknown, path: Path, env: NodeJS.ProcessEnv, source: YamlSource, problems: Problem[], fromEnv: { written: Map<string, string>; filled: Map<string, string> }): unknown {
  if (typeof value === 'string') {
    const result = substituteEnv(value, env);
    if (!result.ok) {
      for (const name of new Set(result.missing)) problems.push(source.problemAt(path, `environment variable ${name} is not set`));
      return value;
    }
    if (envNames(value).length) {
      fromEnv.written.set(formatPath(path), value);
      fromEnv.filled.set(formatPath(path), result.text);
    }
    return result.text;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteAll(v, [...path, i], env, source, problems, fromEnv));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteAll(v, [...path, k], env, source, problems, fromEnv)]));
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

function scenarioTimes(spec: ScenarioFile): ScenarioTimes {
  return {
    warmupMs: spec.warmup ? durationMs(spec.warmup) : 0,
    ...(spec.timeout ? { timeoutMs: durationMs(spec.timeout) } : {}),
    ...(spec.database?.settle ? { settleMs: durationMs(spec.database.settle) } : {}),
    stages: spec.stages.map((s) => ({ durationMs: durationMs(s.duration), rampMs: s.ramp ? durationMs(s.ramp) : 0 })),
  };
}
