import { quoteIdent, quoteLiteral, quoteQualified, type QualifiedName } from '../sql/identifiers.js';
import type { IndexDeclaration, IndexKey } from '../model/declaration.js';

export interface CreateIndexOptions {
  concurrently: boolean;
  /** Build under another name (shadow copies, drift rebuilds). */
  name?: string;
  /** Build on another table (shadow copies); the name is written as given. */
  onTable?: string;
  /** Leave out TABLESPACE (shadow copies live in the temp tablespace). */
  withoutTablespace?: boolean;
  /** `ON ONLY`: the parent of a partitioned table, without recursing into partitions. */
  only?: boolean;
}

/**
 * The one `CREATE INDEX` statement for a declaration. Names are always
 * quoted; raw SQL (expressions, predicate) is wrapped in parentheses after
 * PostgreSQL's parser has read it in exactly that place (sql/fragment.ts);
 * the whole statement is parsed again before it runs (statement-check.ts).
 */
export function createIndexSql(index: IndexDeclaration, options: CreateIndexOptions): string {
  const parts = [
    'CREATE',
    index.unique ? 'UNIQUE INDEX' : 'INDEX',
    options.concurrently ? 'CONCURRENTLY' : '',
    quoteIdent(options.name ?? index.name),
    options.only ? 'ON ONLY' : 'ON',
    options.onTable ?? quoteQualified(index.table),
    `USING ${index.method}`,
    `(${index.keys.map(keySql).join(', ')})`,
  ];
  if (index.include.length) parts.push(`INCLUDE (${index.include.map(quoteIdent).join(', ')})`);
  if (index.nullsNotDistinct) parts.push('NULLS NOT DISTINCT');
  const storage = Object.entries(index.storage);
  if (storage.length) parts.push(`WITH (${storage.map(([k, v]) => `${quoteIdent(k)} = ${quoteLiteral(v)}`).join(', ')})`);
  if (index.tablespace && !options.withoutTablespace) parts.push(`TABLESPACE ${quoteIdent(index.tablespace)}`);
  if (index.where !== undefined) parts.push(`WHERE (${index.where})`);
  return parts.filter(Boolean).join(' ');
}

function keySql(key: IndexKey): string {
  let sql = key.kind === 'column' ? quoteIdent(key.column) : `(${key.expression})`;
  if (key.collate) sql += ` COLLATE ${quoteIdent(key.collate)}`;
  if (key.opclass) sql += ` ${key.opclass.schema ? quoteQualified(key.opclass) : quoteIdent(key.opclass.name)}`;
  if (key.order) sql += ` ${key.order.toUpperCase()}`;
  if (key.nulls) sql += ` NULLS ${key.nulls.toUpperCase()}`;
  return sql;
}

export function dropIndexSql(index: QualifiedName, concurrently = true): string {
  return `DROP INDEX ${concurrently ? 'CONCURRENTLY ' : ''}IF EXISTS ${quoteQualified(index)}`;
}

export function renameIndexSql(index: QualifiedName, newName: string): string {
  return `ALTER INDEX ${quoteQualified(index)} RENAME TO ${quoteIdent(newName)}`;
}

export function analyzeSql(table: QualifiedName): string {
  return `ANALYZE ${quoteQualified(table)}`;
}
