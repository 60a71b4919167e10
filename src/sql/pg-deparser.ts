/**
 * PostgreSQL parse trees back to SQL text (npm `pgsql-deparser`, the deparser
 * of the project that builds libpg-query: libpg-query 18 itself has none).
 * The only module that imports it; loaded on first use, like the parser.
 *
 * A deparser is not PostgreSQL: callers that put its text into an index set
 * re-parse it and compare the trees (sql/canonical-expression.ts).
 */

export interface PgDeparser {
  /** One expression node (`{ FuncCall: … }`, `{ A_Expr: … }`…) as SQL text on one line. */
  expression(node: Record<string, unknown>): string;
}

let loading: Promise<PgDeparser> | undefined;

export function loadPgDeparser(): Promise<PgDeparser> {
  loading ??= createDeparser();
  return loading;
}

async function createDeparser(): Promise<PgDeparser> {
  const { deparseSync } = await import('pgsql-deparser');
  return {
    expression(node) {
      // pretty: false keeps it on one line; the default breaks AND/OR and CASE over several.
      return deparseSync(node as never, { pretty: false });
    },
  };
}
