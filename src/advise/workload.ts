import type { SqlSession } from '../db/client.js';
import { DbtuneError, pgErrorFields } from '../errors.js';
import { quoteIdent } from '../sql/identifiers.js';
import { InputProblemsError } from '../config/problems.js';
import { SqlSyntaxError, type ParsedStatement, type PgParser } from '../sql/pg-parser.js';
import { reportableQuery } from '../sql/reportable-query.js';
import { stripControl } from '../text/safe-text.js';

/** One statement of the workload advise works on. */
export interface WorkloadStatement {
  /** 1-based, in workload order (most total time first for pg_stat_statements). */
  id: number;
  /** As run: what is parsed and planned. */
  query: string;
  /**
   * As reported. From pg_stat_statements: without literals and comments (reportableQuery), as the
   * database watch reports other sessions' statements; from a file: without control characters.
   */
  shown: string;
  calls: number;
  /** Total execution time (pg_stat_statements), when measured. */
  totalMs?: number;
  /** `pg_stat_statements` or `file.sql:line`. */
  origin: string;
  /** The parse, when the text parsed; else why not. */
  parsed?: ParsedStatement;
  parseError?: string;
}

/**
 * The top statements by total execution time in the current database, from pg_stat_statements.
 * Left out: utility statements (SET, BEGIN, EXPLAIN, PREPARE…: only plannable statements count),
 * nested ones (PG14+ `toplevel`), queries on the system catalogs or carrying a `dbtune-` mark
 * (dbtune's own reads, other tools' catalog queries), and the first query of every dbtune
 * session (db/client.ts), which carries no mark.
 */
export async function readPgStatStatements(session: SqlSession, parser: PgParser, top: number): Promise<WorkloadStatement[]> {
  let schema: string | undefined;
  try {
    const rows = await session.query<{ schema: string }>("SELECT /* dbtune-advise */ n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'");
    schema = rows[0]?.schema;
  } catch (error) {
    throw new DbtuneError('SERVER_UNSUPPORTED', `cannot read the catalog: ${pgErrorFields(error).message}`, { cause: error });
  }
  if (!schema) {
    throw new DbtuneError('SERVER_UNSUPPORTED', 'pg_stat_statements is not installed in this database: there is no measured workload to read', {
      hint: 'CREATE EXTENSION pg_stat_statements (it must be in shared_preload_libraries), run the workload, or give the statements with --statements file.sql',
    });
  }
  const toplevel = session.serverVersionNum >= 140000 ? 'AND s.toplevel' : '';
  let rows: Array<{ query: string; calls: string; total_ms: number }>;
  try {
    rows = await session.query(
      `SELECT /* dbtune-advise */ s.query, sum(s.calls)::text AS calls, sum(s.total_exec_time)::float8 AS total_ms
         FROM ${quoteIdent(schema)}.pg_stat_statements s
        WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ${toplevel}
          AND s.query ~* '^\\s*(\\(|(select|with|update|delete|insert|merge|table|values)\\y)'
          AND s.query !~ 'dbtune-'
          AND s.query !~ '^SELECT pg_backend_pid\\(\\) AS pid, current_setting'
          AND s.query !~* '\\y(pg_catalog|information_schema|pg_stat_[a-z_]+|pg_class|pg_index|pg_namespace|pg_attribute|hypopg[a-z_]*)\\y'
        GROUP BY s.query ORDER BY sum(s.total_exec_time) DESC LIMIT $1`,
      [top],
    );
  } catch (error) {
    const e = pgErrorFields(error);
    throw new DbtuneError('SERVER_UNSUPPORTED', `cannot read pg_stat_statements: ${e.message}`, {
      hint: e.code === '55000' ? 'add pg_stat_statements to shared_preload_libraries and restart the server' : 'the role needs pg_read_all_stats to see other roles\' statements',
      cause: error,
    });
  }
  return Promise.all(
    rows.map(async (r, i) => withParse({ id: i + 1, query: r.query, shown: await reportableQuery(r.query), calls: Number(r.calls), totalMs: r.total_ms, origin: 'pg_stat_statements' }, parser)),
  );
}

/** The statements of a SQL file, split by PostgreSQL's parser, each weighted as one call. A syntax error is bad input (exit 2). */
export function statementsFromFile(file: string, text: string, parser: PgParser): WorkloadStatement[] {
  let parsed: ParsedStatement[];
  try {
    parsed = parser.parse(text);
  } catch (error) {
    if (!(error instanceof SqlSyntaxError)) throw error;
    const { line, col } = lineCol(text, error.position ?? 0);
    throw new InputProblemsError([{ file, line, col, path: '', message: `SQL syntax error: ${error.message}` }], 'fix the statement; nothing was run');
  }
  return parsed.map((p, i) => {
    const query = text.slice(p.start, p.end).trim();
    const { line } = lineCol(text, p.start + (text.slice(p.start, p.end).length - text.slice(p.start, p.end).trimStart().length));
    return { id: i + 1, query, shown: stripControl(query), calls: 1, origin: `${file}:${line}`, parsed: p };
  });
}

/** The statement with its parse, or why it has none (a text of several statements is not planned). */
export function withParse(s: WorkloadStatement, parser: PgParser): WorkloadStatement {
  try {
    // The text is run as PREPARE … AS <text>: one statement, nothing after it, or it is not used.
    const statements = parser.parse(s.query);
    if (statements.length > 1) return { ...s, parseError: `${statements.length} statements in one text: only a single statement is planned` };
    const [parsed] = statements;
    return parsed ? { ...s, parsed } : { ...s, parseError: 'empty statement' };
  } catch (error) {
    return { ...s, parseError: error instanceof SqlSyntaxError ? `PostgreSQL's parser rejects the text: ${error.message}` : String(error) };
  }
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}
