import type { SqlSession } from '../db/client.js';
import { qualifiedKey, quoteIdent, quoteQualified, displayQualified } from '../sql/identifiers.js';
import { pgErrorFields } from '../errors.js';
import type { PgErrorFields } from '../text/safe-error.js';
import { readCatalog } from './catalog.js';
import { TEMP_SCHEMA, type LiveIndex } from './live-catalog.js';
import { indexKey, tableKey, type IndexDeclaration } from '../model/declaration.js';
import { createIndexSql } from './index-sql.js';
import { loadPgParser } from '../sql/pg-parser.js';
import { assertOneStatement } from '../sql/statement-guard.js';

/** What PostgreSQL made of each declaration. */
export interface ShadowResult {
  /** The declared index as PostgreSQL would build it, keyed by `indexKey`. */
  normalized: Map<string, LiveIndex>;
  /** Declarations PostgreSQL refused (bad column, non-immutable function, bad opclass…), keyed by `indexKey`. */
  rejected: Map<string, PgErrorFields>;
  /** Why no shadow build could run at all (no TEMP privilege, a read-only standby), if so. */
  unavailable?: string;
}

/** Errors that mean "no temporary objects here", not "bad declaration". */
const NO_TEMP_OBJECTS = new Set(['42501', '25006', '0A000']);

/**
 * Builds every declared index on an empty temporary copy of its table
 * (`CREATE TEMP TABLE … (LIKE target)`), inside a transaction that is always
 * rolled back, and reads the copies back from the catalog. This lets
 * PostgreSQL normalise expressions and predicates (`LOWER(handle)` and
 * `lower(handle)` deparse alike; added casts and parentheses vanish) and
 * validates every declaration before anything real is built.
 *
 * Constant round trips, whatever the number of indexes: the DDL runs in one
 * call of a temporary PL/pgSQL function that traps each statement's error.
 * PL/pgSQL's EXECUTE would run several statements from one string, so every
 * string is first proven to be exactly one statement of the intended kind.
 */
export async function shadowBuild(session: SqlSession, declarations: readonly IndexDeclaration[]): Promise<ShadowResult> {
  const result: ShadowResult = { normalized: new Map(), rejected: new Map() };
  if (declarations.length === 0) return result;

  const tableNames = new Map<string, string>();
  const statements: string[] = [];
  const statementOwner: Array<{ kind: 'table'; table: string } | { kind: 'index'; key: string }> = [];
  for (const declaration of declarations) {
    const tk = tableKey(declaration.table);
    if (!tableNames.has(tk)) {
      const shadowTable = `dbtune_shadow_t${tableNames.size}`;
      tableNames.set(tk, shadowTable);
      statements.push(`CREATE TEMP TABLE ${quoteIdent(shadowTable)} (LIKE ${quoteQualified(declaration.table)})`);
      statementOwner.push({ kind: 'table', table: tk });
    }
  }
  const shadowNames = new Map<string, string>();
  declarations.forEach((declaration, i) => {
    const key = indexKey(declaration);
    const shadowName = `dbtune_shadow_i${i}`;
    shadowNames.set(key, shadowName);
    statements.push(
      createIndexSql(declaration, {
        concurrently: false,
        name: shadowName,
        onTable: `pg_temp.${quoteIdent(tableNames.get(tableKey(declaration.table))!)}`,
        withoutTablespace: true,
      }),
    );
    statementOwner.push({ kind: 'index', key });
  });

  // Each EXECUTE below gets one statement; the parser proves it before anything is sent.
  const parser = await loadPgParser();
  statements.forEach((sql, i) => assertOneStatement(parser, sql, statementOwner[i]!.kind === 'table' ? 'CreateStmt' : 'IndexStmt'));

  await session.query('BEGIN');
  try {
    try {
      await session.query(SHADOW_FUNCTION);
    } catch (error) {
      const fields = pgErrorFields(error);
      if (fields.code && NO_TEMP_OBJECTS.has(fields.code)) {
        result.unavailable = `cannot create temporary objects (${fields.message}): definitions are not compared and declarations are checked only when built`;
        return result;
      }
      throw error;
    }
    const failures = await session.query<{ ord: number; err_state: string; err_message: string; err_detail: string; err_hint: string }>(
      'SELECT * FROM pg_temp.dbtune_shadow_exec($1::text[])',
      [statements],
    );
    const failedTables = new Map<string, PgErrorFields>();
    for (const failure of failures) {
      const owner = statementOwner[failure.ord - 1]!;
      const fields: PgErrorFields = { code: failure.err_state, message: failure.err_message };
      if (failure.err_detail) fields.detail = failure.err_detail;
      if (failure.err_hint) fields.hint = failure.err_hint;
      if (owner.kind === 'table') failedTables.set(owner.table, fields);
      else result.rejected.set(owner.key, fields);
    }
    for (const declaration of declarations) {
      const tableFailure = failedTables.get(tableKey(declaration.table));
      if (tableFailure) {
        const missing = tableFailure.code === '42P01';
        result.rejected.set(indexKey(declaration), missing ? { ...tableFailure, message: `table ${displayQualified(declaration.table)} does not exist` } : tableFailure);
      }
    }
    const built = declarations.filter((d) => !result.rejected.has(indexKey(d)));
    if (built.length) {
      const snapshot = await readCatalog(session, {
        indexes: built.map((d) => ({ schema: TEMP_SCHEMA, name: shadowNames.get(indexKey(d))! })),
        tables: [],
      });
      for (const declaration of built) {
        const shadow = snapshot.indexes.get(qualifiedKey({ schema: TEMP_SCHEMA, name: shadowNames.get(indexKey(declaration))! }));
        if (shadow) result.normalized.set(indexKey(declaration), shadow);
      }
    }
  } finally {
    await session.query('ROLLBACK').catch(() => undefined);
  }
  return result;
}

/**
 * Runs each statement in its own subtransaction and returns the ones that
 * failed. The statements are a parameter, never spliced into this text.
 */
const SHADOW_FUNCTION = `
CREATE FUNCTION pg_temp.dbtune_shadow_exec(statements text[])
RETURNS TABLE (ord int, err_state text, err_message text, err_detail text, err_hint text)
LANGUAGE plpgsql AS $dbtune$
BEGIN
  FOR i IN 1 .. coalesce(array_length(statements, 1), 0) LOOP
    BEGIN
      EXECUTE statements[i];
    EXCEPTION WHEN OTHERS THEN
      ord := i;
      GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_message = MESSAGE_TEXT,
                              err_detail = PG_EXCEPTION_DETAIL, err_hint = PG_EXCEPTION_HINT;
      RETURN NEXT;
    END;
  END LOOP;
END
$dbtune$`;
