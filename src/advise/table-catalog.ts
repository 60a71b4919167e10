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
  /**
   * Columns narrow enough to INCLUDE in an index ({@link NARROW_BYTES} on average by pg_stats, or a
   * fixed-length type that size without statistics); when absent, every column counts as narrow.
   */
  narrow?: string[];
}

/** An INCLUDE column wider than this on average would bloat the index (and a btree entry is limited to about 2.7 kB). */
export const NARROW_BYTES = 32;

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

  /** Whether a column of a table is narrow enough to INCLUDE. */
  isNarrow(q: QualifiedName, column: string): boolean {
    const narrow = this.resolve(q.schema, q.name)?.narrow;
    return !narrow || narrow.includes(column);
  }

  static key(q: QualifiedName): string {
    return `${q.schema}.${q.name}`;
  }
}
