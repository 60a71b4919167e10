import type { QualifiedName } from '../sql/identifiers.js';

/** A table (or view, materialized view, partitioned table) as the catalog describes it. */
export interface CatalogTable {
  schema: string;
  name: string;
  /** Whether an unqualified name finds it (pg_table_is_visible: the search_path). */
  visible: boolean;
  columns: string[];
  /** pg_class.relkind: `r` table, `p` partitioned, `m` materialized view, `v` view, `f` foreign. */
  kind: string;
}

/** Name resolution the way the server does it, over the tables read once from the catalog. */
export class TableCatalog {
  private readonly byName = new Map<string, CatalogTable[]>();

  constructor(tables: readonly CatalogTable[]) {
    for (const t of tables) {
      const list = this.byName.get(t.name) ?? [];
      list.push(t);
      this.byName.set(t.name, list);
    }
  }

  /** The table a (possibly unqualified) name in a statement refers to, if the catalog has it. */
  resolve(schema: string | undefined, name: string): CatalogTable | undefined {
    const list = this.byName.get(name) ?? [];
    return schema === undefined ? list.find((t) => t.visible) : list.find((t) => t.schema === schema);
  }

  static key(q: QualifiedName): string {
    return `${q.schema}.${q.name}`;
  }
}
