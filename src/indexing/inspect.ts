import type { SqlSession } from '../db/client.js';
import { indexKey, indexQualifiedName, tableKey, type IndexDeclaration } from './declaration.js';
import { readCatalog, type CatalogSnapshot } from './catalog.js';
import { indexState, type IndexState } from './index-state.js';
import { shadowBuild } from './shadow.js';

export interface InspectedIndex {
  declaration: IndexDeclaration;
  state: IndexState;
}

export interface Inspection {
  indexes: InspectedIndex[];
  catalog: CatalogSnapshot;
}

/**
 * Reads the live state of every declared index: one catalog statement for
 * all of them, plus the shadow build (constant round trips) that normalises
 * and validates the declarations.
 */
export async function inspectIndexes(session: SqlSession, declarations: readonly IndexDeclaration[]): Promise<Inspection> {
  const tables = new Map(declarations.map((d) => [tableKey(d.table), d.table]));
  const catalog = await readCatalog(session, { indexes: declarations.map(indexQualifiedName), tables: [...tables.values()] });
  const versionProblems = new Map<string, { message: string; code?: string }>();
  for (const d of declarations) {
    if (d.nullsNotDistinct && session.serverVersionNum < 150000) {
      versionProblems.set(indexKey(d), { message: `nulls_not_distinct needs PostgreSQL 15 or later (server is ${session.serverVersion})` });
    }
  }
  const shadow = await shadowBuild(
    session,
    declarations.filter((d) => !versionProblems.has(indexKey(d))),
  );
  return {
    catalog,
    indexes: declarations.map((declaration) => {
      const key = indexKey(declaration);
      return {
        declaration,
        state: indexState(
          declaration,
          catalog.indexes.get(key),
          shadow.normalized.get(key),
          versionProblems.get(key) ?? shadow.rejected.get(key),
        ),
      };
    }),
  };
}
