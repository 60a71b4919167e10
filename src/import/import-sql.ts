import { indexSchema, type IndexEntry } from '../config/index-set-schema.js';
import type { Problem } from '../config/problems.js';
import { displayIdent } from '../sql/identifiers.js';
import { canonicalExpression } from '../sql/canonical-expression.js';
import type { PgDeparser } from '../sql/pg-deparser.js';
import { SqlSyntaxError, type PgParser, type ParsedStatement, type SqlToken } from '../sql/pg-parser.js';
import { defaultIndexName } from './default-index-name.js';
import { indexEntryFromStatement, type IndexStatementFacts } from './index-entry.js';
import { lineAndColumn } from './sql-position.js';

/**
 * `dbtune import`'s plan: SQL files in, index-set entries out, every problem
 * collected. Pure: the command reads the files and writes the result.
 */

/** Where a statement starts: line and column 1-based, the column in characters. */
export interface SourceLocation {
  file: string;
  line: number;
  col: number;
}

export interface SqlSource {
  file: string;
  text: string;
}

export interface ImportedIndex {
  entry: IndexEntry;
  /** Where its CREATE INDEX statement starts. */
  source: SourceLocation;
  /** The statement named no index: `entry.name` is the one PostgreSQL would choose (default-index-name.ts). */
  derivedName: boolean;
  /** Written in the statement and not carried over (dbtune always builds concurrently). */
  dropped: Array<'CONCURRENTLY' | 'IF NOT EXISTS'>;
}

export interface SkippedStatement extends SourceLocation {
  /** Its first words, e.g. `CREATE TABLE`, `COMMIT`. */
  statement: string;
}

export interface ImportResult {
  files: string[];
  indexes: ImportedIndex[];
  skipped: SkippedStatement[];
  /** Bad input: when any, nothing is written (exit 2). */
  problems: Problem[];
}

export function importIndexStatements(sources: readonly SqlSource[], parser: PgParser, deparser: PgDeparser): ImportResult {
  const result: ImportResult = { files: sources.map((s) => s.file), indexes: [], skipped: [], problems: [] };
  /** schema NUL name → where the index of that name was declared. */
  const names = new Map<string, SourceLocation>();
  const canonical = (kind: 'where' | 'expression', node: Record<string, unknown>) => canonicalExpression(parser, deparser, kind, node);

  for (const { file, text } of sources) {
    const at = (offset: number): SourceLocation => ({ file, ...lineAndColumn(text, offset) });
    let statements: ParsedStatement[];
    let tokens: SqlToken[];
    try {
      statements = parser.parse(text);
      tokens = parser.scan(text);
    } catch (error) {
      if (!(error instanceof SqlSyntaxError)) throw error;
      result.problems.push({ ...at(error.position ?? 0), path: '', message: `SQL syntax error: ${error.message}` });
      continue;
    }
    for (const statement of statements) {
      const words = firstTokens(tokens, statement);
      const location = at(words[0]?.start ?? statement.start);
      if (statement.type !== 'IndexStmt') {
        result.skipped.push({ ...location, statement: describe(words) });
        continue;
      }
      const conversion = indexEntryFromStatement(statement.node, canonical);
      const label = `CREATE INDEX${conversion.facts.name === undefined ? '' : ` ${conversion.facts.name}`}`;
      if (!conversion.ok) {
        for (const what of conversion.unsupported) result.problems.push({ ...location, path: '', message: `${label}: an index set cannot express ${what}` });
        continue;
      }
      const entry = conversion.entry;
      const schema = conversion.facts.schema ?? 'public';
      const derivedName = conversion.facts.name === undefined;
      const name = conversion.facts.name ?? defaultIndexName(conversion.facts.table, conversion.facts.elements, (n) => names.has(`${schema}\u0000${n}`));
      const problem = schemaProblem({ ...entry, name: derivedName ? displayIdent(name) : entry.name });
      if (problem) {
        result.problems.push({ ...location, path: '', message: `${label}: ${problem}` });
        continue;
      }
      const first = names.get(`${schema}\u0000${name}`);
      if (first) {
        result.problems.push({ ...location, path: '', message: `duplicate index name ${schema}.${name}${derivedName ? ' (the name PostgreSQL would choose)' : ''}: first created at ${first.file}:${first.line}:${first.col}` });
        continue;
      }
      names.set(`${schema}\u0000${name}`, location);
      result.indexes.push({ entry: derivedName ? { ...entry, name: displayIdent(name) } : entry, source: location, derivedName, dropped: dropped(conversion.facts) });
    }
  }
  return result;
}

/** The index-set schema's own verdict, as a safety net: anything it refuses is bad input here, never a file that fails to load. */
function schemaProblem(entry: IndexEntry): string | undefined {
  const parsed = indexSchema.safeParse(entry);
  if (parsed.success) return undefined;
  return parsed.error.issues.map((issue) => `${issue.path.join('.') || 'index'}: ${issue.message}`).join('; ');
}

function dropped(facts: IndexStatementFacts): ImportedIndex['dropped'] {
  const out: ImportedIndex['dropped'] = [];
  if (facts.concurrently) out.push('CONCURRENTLY');
  if (facts.ifNotExists) out.push('IF NOT EXISTS');
  return out;
}

const COMMENTS = new Set(['C_COMMENT', 'SQL_COMMENT']);

/** The statement's tokens, comments left out (the parser's start includes what precedes its first word). */
function firstTokens(tokens: readonly SqlToken[], statement: ParsedStatement): SqlToken[] {
  return tokens.filter((t) => t.start >= statement.start && t.start < statement.end && !COMMENTS.has(t.kind)).slice(0, 4);
}

/** `CREATE TABLE`, `ALTER TABLE`, `COMMIT`: the statement's leading keywords. */
function describe(words: readonly SqlToken[]): string {
  const leading: string[] = [];
  for (const word of words) {
    if (!word.keyword) break;
    leading.push(word.text.toUpperCase());
  }
  return leading.join(' ') || words[0]?.text || 'statement';
}
