import type { z } from 'zod';
import { parseQualifiedName, parseIdentifier, displayQualified } from '../sql/identifiers.js';
import { parseColumnSpec } from './column-spec.js';
import { checksFileSchema, indexSetSchema, type CheckEntry, type IndexEntry, type IndexKeyEntry, type IndexSetFile } from './index-set-schema.js';
import { InputProblemsError, type Problem } from './problems.js';
import { fastYamlSource } from './fast-yaml-source.js';
import type { YamlSource } from './yaml-source.js';
import { zodIssuesToProblems } from './zod-problems.js';
import { parseDuration } from './duration.js';
import { loadPgParser, type PgParser } from '../sql/pg-parser.js';
import { validateFragment, type FragmentKind } from '../sql/fragment.js';
import { describeReadError, readInputFile } from '../files/input-file.js';
import { indexKey, type IndexDeclaration, type IndexKey, type IndexSet, type CheckDeclaration } from '../model/declaration.js';

/**
 * How files are read: `fast` takes js-yaml's reading wherever it can (see
 * fast-yaml-source.ts); `exact` is the `yaml` package's, whose positions and
 * messages every problem is reported with.
 */
type Reading = 'fast' | 'exact';

/** Reads and YAML-parses files; unreadable files and syntax errors become problems. `texts` keeps what was read for a second reading. */
async function readYamlSources(files: readonly string[], problems: Problem[], reading: Reading, texts: Map<string, string>): Promise<YamlSource[]> {
  const sources: YamlSource[] = [];
  for (const file of files) {
    let text = texts.get(file);
    if (text === undefined) {
      try {
        text = await readInputFile(file);
      } catch (error) {
        problems.push({ file, line: 0, col: 0, path: '', message: describeReadError(error) });
        continue;
      }
      texts.set(file, text);
    }
    const source = (reading === 'fast' ? fastYamlSource(file, text) : undefined) ?? (await import('./yaml-source.js')).parseYamlSource(file, text);
    if (source.syntaxProblems.length) {
      problems.push(...source.syntaxProblems.map((p) => ({ ...p, message: `YAML syntax error: ${p.message}` })));
      continue;
    }
    sources.push(source);
  }
  return sources;
}

/**
 * Loads the fast way; when anything is wrong, loads again the exact way, so
 * that the problems reported are the same, at the same positions, however
 * the file was first read. Each file is read from disk once.
 */
async function fastThenExact<T>(load: (reading: Reading, texts: Map<string, string>) => Promise<T>): Promise<T> {
  const texts = new Map<string, string>();
  try {
    return await load('fast', texts);
  } catch (error) {
    if (!(error instanceof InputProblemsError)) throw error;
    return await load('exact', texts);
  }
}

/** Problems in the order the files were given, then by position. */
function inFileOrder(problems: Problem[], files: readonly string[]): Problem[] {
  const order = (file: string) => files.indexOf(file);
  return [...problems].sort((a, b) => order(a.file) - order(b.file) || a.line - b.line || a.col - b.col);
}

function noFiles(what: string): InputProblemsError {
  return new InputProblemsError([{ file: '(arguments)', line: 0, col: 0, path: '', message: `no ${what} file given` }]);
}

/**
 * Reads index-set files. Every problem in every file is collected; if there is
 * any, an {@link InputProblemsError} lists them all (exit 2) and nothing runs.
 */
export async function loadIndexSets(files: readonly string[]): Promise<IndexSet[]> {
  if (files.length === 0) throw noFiles('index-set');
  return fastThenExact((reading, texts) => readIndexSets(files, reading, texts));
}

async function readIndexSets(files: readonly string[], reading: Reading, texts: Map<string, string>): Promise<IndexSet[]> {
  const problems: Problem[] = [];
  const sets: IndexSet[] = [];
  const seen = new Map<string, { declaration: IndexDeclaration }>();

  for (const source of await readYamlSources(files, problems, reading, texts)) {
    const parsed = indexSetSchema.safeParse(source.value ?? {});
    if (!parsed.success) {
      problems.push(...zodIssuesToProblems(parsed.error.issues, source, indexSetSchema as z.ZodType));
      continue;
    }
    const parser = hasFragments(parsed.data) ? await loadPgParser() : undefined;
    const set = toIndexSet(parsed.data, source, problems, parser);
    for (const declaration of set.indexes) {
      const key = indexKey(declaration);
      const first = seen.get(key);
      if (first) {
        const at = first.declaration.source;
        problems.push({
          ...declaration.source,
          path: `indexes[${set.indexes.indexOf(declaration)}].name`,
          message: `duplicate index name ${displayQualified({ schema: declaration.table.schema, name: declaration.name })} (first declared at ${at.file}:${at.line}:${at.col})`,
        });
      } else {
        seen.set(key, { declaration });
      }
    }
    sets.push(set);
  }
  problems.push(...duplicateCheckNames(sets));
  if (problems.length) throw new InputProblemsError(inFileOrder(problems, files));
  return sets;
}

/** A group of EXPLAIN checks: a standalone checks file, or an index set's `checks`. */
export interface CheckGroup {
  name: string;
  file: string;
  checks: CheckDeclaration[];
}

/**
 * Reads checks files (top level `checks:`) for `dbtune explain`; an index-set
 * file (top level `set:`) contributes its checks. Same validation standard.
 */
export async function loadCheckFiles(files: readonly string[]): Promise<CheckGroup[]> {
  if (files.length === 0) throw noFiles('checks');
  return fastThenExact((reading, texts) => readCheckFiles(files, reading, texts));
}

async function readCheckFiles(files: readonly string[], reading: Reading, texts: Map<string, string>): Promise<CheckGroup[]> {
  const problems: Problem[] = [];
  const groups: CheckGroup[] = [];
  for (const source of await readYamlSources(files, problems, reading, texts)) {
    const value = source.value;
    if (value && typeof value === 'object' && 'set' in value) {
      const parsed = indexSetSchema.safeParse(value);
      if (!parsed.success) {
        problems.push(...zodIssuesToProblems(parsed.error.issues, source, indexSetSchema as z.ZodType));
        continue;
      }
      groups.push({ name: parsed.data.set, file: source.file, checks: toChecks(parsed.data.checks ?? [], source, problems) });
      continue;
    }
    const parsed = checksFileSchema.safeParse(value ?? {});
    if (!parsed.success) {
      problems.push(...zodIssuesToProblems(parsed.error.issues, source, checksFileSchema as z.ZodType));
      continue;
    }
    groups.push({ name: parsed.data.name ?? source.file, file: source.file, checks: toChecks(parsed.data.checks, source, problems) });
  }
  problems.push(...duplicateCheckNames(groups));
  if (problems.length) throw new InputProblemsError(inFileOrder(problems, files));
  return groups;
}

/** Check names identify results (JUnit cases, compare rows): they must be unique across the files given. */
function duplicateCheckNames(groups: ReadonlyArray<{ checks: CheckDeclaration[] }>): Problem[] {
  const seen = new Map<string, CheckDeclaration>();
  const problems: Problem[] = [];
  for (const group of groups) {
    group.checks.forEach((check, i) => {
      const first = seen.get(check.name);
      if (first) {
        problems.push({ ...check.source, path: `checks[${i}].name`, message: `duplicate check name ${JSON.stringify(check.name)} (first declared at ${first.source.file}:${first.source.line}:${first.source.col})` });
      } else {
        seen.set(check.name, check);
      }
    });
  }
  return problems;
}

function hasFragments(file: IndexSetFile): boolean {
  return file.indexes.some((entry) => entry.where !== undefined || entry.columns.some((key) => typeof key !== 'string' && key.expression !== undefined));
}

/** Reads raw SQL with PostgreSQL's parser; the text dbtune will use, or undefined after recording the problem. */
type FragmentReader = (path: Array<string | number>, kind: FragmentKind, text: string) => string | undefined;

function fragmentReader(parser: PgParser | undefined, source: YamlSource, problems: Problem[]): FragmentReader {
  return (path, kind, text) => {
    if (!parser) throw new Error('internal: an index set with SQL fragments was read without the parser');
    const check = validateFragment(parser, kind, text);
    if (check.ok) return check.sql;
    const near = check.offset === undefined ? '' : ` (at character ${check.offset + 1}${check.offset < text.length ? `: ${JSON.stringify(text.slice(check.offset, check.offset + 20))}` : ', the end'})`;
    problems.push(source.problemAt(path, `${kind} ${check.error}${near}`));
    return undefined;
  };
}

function toIndexSet(file: IndexSetFile, source: YamlSource, problems: Problem[], parser: PgParser | undefined): IndexSet {
  const at = (path: Array<string | number>) => ({ file: source.file, ...source.positionOf(path) });
  const fragment = fragmentReader(parser, source, problems);
  const indexes = file.indexes.map((entry, i) => toDeclaration(entry, file.set, at(['indexes', i]), (path, kind, text) => fragment(['indexes', i, ...path], kind, text)));
  const set: IndexSet = { name: file.set, file: source.file, indexes, checks: toChecks(file.checks ?? [], source, problems) };
  if (file.description !== undefined) set.description = file.description;
  return set;
}

function toChecks(entries: readonly CheckEntry[], source: YamlSource, problems: Problem[]): CheckDeclaration[] {
  const at = (path: Array<string | number>) => ({ file: source.file, ...source.positionOf(path) });
  return entries.map((check, i) => {
    const declaration: CheckDeclaration = {
      name: check.name,
      query: check.query,
      params: check.params ?? [],
      generic: check.generic ?? false,
      expect: check.expect,
      source: at(['checks', i]),
    };
    if (check.runs !== undefined) declaration.runs = check.runs;
    if (check.warmup !== undefined) declaration.warmup = check.warmup;
    if (check.timeout !== undefined) {
      const ms = parseDuration(check.timeout);
      if (ms === undefined) problems.push(source.problemAt(['checks', i, 'timeout'], 'expected a duration like 500ms or 5s'));
      else declaration.timeoutMs = ms;
    }
    return declaration;
  });
}

/** Schema validation has run, so the parses below cannot fail. */
function must<T>(result: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!result.ok) throw new Error(`internal: validated value failed to parse: ${result.error}`);
  return result.value;
}

function toDeclaration(entry: IndexEntry, set: string, source: IndexDeclaration['source'], fragment: FragmentReader): IndexDeclaration {
  const declaration: IndexDeclaration = {
    name: must(parseIdentifier(entry.name)),
    table: must(parseQualifiedName(entry.table)),
    method: entry.using ?? 'btree',
    unique: entry.unique ?? false,
    keys: entry.columns.map((key, k) => toKey(key, (text) => fragment(['columns', k, 'expression'], 'expression', text))),
    include: (entry.include ?? []).map((c) => must(parseIdentifier(c))),
    storage: Object.fromEntries(Object.entries(entry.with ?? {}).map(([k, v]) => [k, String(v)])),
    nullsNotDistinct: entry.nulls_not_distinct ?? false,
    set,
    source,
  };
  if (entry.where !== undefined) {
    const where = fragment(['where'], 'where', entry.where);
    if (where !== undefined) declaration.where = where;
  }
  if (entry.tablespace !== undefined) declaration.tablespace = must(parseIdentifier(entry.tablespace));
  return declaration;
}

function toKey(entry: IndexKeyEntry, expression: (text: string) => string | undefined): IndexKey {
  if (typeof entry === 'string') {
    const spec = must(parseColumnSpec(entry));
    const key: IndexKey = { kind: 'column', column: spec.column };
    if (spec.order) key.order = spec.order;
    if (spec.nulls) key.nulls = spec.nulls;
    return key;
  }
  const key: IndexKey =
    entry.expression !== undefined
      ? { kind: 'expression', expression: expression(entry.expression) ?? entry.expression }
      : { kind: 'column', column: must(parseIdentifier(entry.column!)) };
  if (entry.order) key.order = entry.order;
  if (entry.nulls) key.nulls = entry.nulls;
  if (entry.opclass) key.opclass = must(parseQualifiedName(entry.opclass, ''));
  if (entry.collate) key.collate = entry.collate;
  return key;
}
