import { DbtuneError } from '../errors.js';
import { SqlSyntaxError, type PgParser } from './pg-parser.js';

/**
 * The second line behind fragment validation (fragment.ts): before dbtune runs
 * or prints a statement it built, PostgreSQL's parser must read it as exactly
 * one statement of the kind intended (`IndexStmt` for CREATE INDEX…). A
 * statement that fails this is never sent, however it was produced.
 */
export function assertOneStatement(parser: PgParser, sql: string, expected: string): void {
  let types: string[];
  try {
    types = parser.parse(sql).map((s) => s.type);
  } catch (error) {
    if (!(error instanceof SqlSyntaxError)) throw error;
    throw refused(sql, `it does not parse (${error.message})`);
  }
  if (types.length !== 1) throw refused(sql, `it reads as ${types.length} statements`);
  if (types[0] !== expected) throw refused(sql, `it reads as ${types[0]}, not ${expected}`);
}

function refused(sql: string, why: string): DbtuneError {
  const head = sql.length > 80 ? `${sql.slice(0, 80)}…` : sql;
  return new DbtuneError('INPUT_SQL_REJECTED', `refusing to run a statement dbtune built, because ${why}: ${JSON.stringify(head)}; nothing was executed`, {
    hint: 'check the raw SQL (where, expression) in the index set',
  });
}
