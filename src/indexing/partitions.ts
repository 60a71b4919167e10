import { createHash } from 'node:crypto';
import { displayQualified, MAX_IDENTIFIER_BYTES, qualifiedKey, quoteQualified, type QualifiedName } from '../sql/identifiers.js';
import type { LiveIndex, LiveTable, PartitionNode } from './live-catalog.js';
import type { IndexDeclaration } from '../model/declaration.js';
import { createIndexSql, dropIndexSql } from './index-sql.js';

/**
 * Partitioned tables refuse CREATE INDEX CONCURRENTLY. The procedure that
 * never blocks writes for long (PostgreSQL docs, "Partition Maintenance"):
 * create the index ON ONLY the parent (invalid, catalog-only), build each
 * partition's index CONCURRENTLY, and ATTACH it; the parent turns valid once
 * every partition has an attached valid index. Sub-partitioned tables get an
 * ON ONLY index at each level.
 */

/** One table below the root that needs its index built or attached. */
export interface PartitionChild {
  node: PartitionNode;
  /** The index this table gets (in the table's schema). */
  index: QualifiedName;
  /** The index of the table's parent, to attach to. */
  parentIndex: QualifiedName;
  /** Whatever already exists under `index`'s name. */
  live?: LiveIndex;
}

/** A statement of a partitioned build, before it becomes a PlannedStatement. */
export interface PartitionStatement {
  purpose: 'create-parent' | 'create' | 'attach' | 'drop-leftover';
  sql: string;
  /** The index a `create` builds (its leftover is dropped if it fails). */
  builds?: QualifiedName;
  /** Takes a brief lock that would queue writers: run under a short lock_timeout. */
  briefLock?: boolean;
}

/** `<partition>_<index>`, or a shortened form with a hash when that exceeds 63 bytes. */
export function partitionIndexName(indexName: string, partition: string): string {
  const full = `${partition}_${indexName}`;
  if (Buffer.byteLength(full) <= MAX_IDENTIFIER_BYTES) return full;
  const hash = createHash('sha1').update(full).digest('hex').slice(0, 8);
  const chars = [...full];
  while (Buffer.byteLength(`${chars.join('')}_${hash}`) > MAX_IDENTIFIER_BYTES) chars.pop();
  return `${chars.join('')}_${hash}`;
}

/**
 * The tables below the root that have no index attached yet in the declared
 * index's tree (all of them when the index does not exist), parents first.
 */
export function uncoveredPartitions(declaration: IndexDeclaration, table: LiveTable, live: LiveIndex | undefined): Omit<PartitionChild, 'live'>[] {
  const attached = new Set((live?.partitions?.attached ?? []).map(qualifiedKey));
  const indexOf = new Map<string, QualifiedName>([[qualifiedKey(table), { schema: declaration.table.schema, name: declaration.name }]]);
  const children: Omit<PartitionChild, 'live'>[] = [];
  for (const node of table.partitions ?? []) {
    const key = qualifiedKey(node.table);
    const index = { schema: node.table.schema, name: partitionIndexName(declaration.name, node.table.name) };
    indexOf.set(key, index);
    if (attached.has(key)) continue;
    const parentIndex = indexOf.get(qualifiedKey(node.parent));
    if (!parentIndex) continue;
    children.push({ node, index, parentIndex });
  }
  return children;
}

export type PartitionPlan = { ok: true; statements: PartitionStatement[] } | { ok: false; reason: string };

/** Statements that bring a partitioned index to valid. Pure. */
export function planPartitionedBuild(declaration: IndexDeclaration, parentExists: boolean, children: readonly PartitionChild[]): PartitionPlan {
  const statements: PartitionStatement[] = [];
  if (!parentExists) {
    statements.push({ purpose: 'create-parent', sql: createIndexSql(declaration, { concurrently: false, only: true }), briefLock: true });
  }
  for (const child of children) {
    const { node, index, parentIndex, live } = child;
    if (node.relkind === 'f') return { ok: false, reason: `partition ${displayQualified(node.table)} is a foreign table, which cannot have indexes` };
    if (live && (!live.table || live.table.schema !== node.table.schema || live.table.name !== node.table.name)) {
      return { ok: false, reason: `the partition index name ${displayQualified(index)} is taken by another relation` };
    }
    const onTable = quoteQualified(node.table);
    const attach: PartitionStatement = { purpose: 'attach', sql: `ALTER INDEX ${quoteQualified(parentIndex)} ATTACH PARTITION ${quoteQualified(index)}`, briefLock: true };
    if (!node.isLeaf) {
      if (!live) statements.push({ purpose: 'create-parent', sql: createIndexSql(declaration, { concurrently: false, only: true, name: index.name, onTable }), briefLock: true });
      statements.push(attach);
      continue;
    }
    if (live && live.valid) {
      statements.push(attach);
      continue;
    }
    if (live) statements.push({ purpose: 'drop-leftover', sql: dropIndexSql(index) });
    statements.push({ purpose: 'create', sql: createIndexSql(declaration, { concurrently: true, name: index.name, onTable }), builds: index });
    statements.push(attach);
  }
  return { ok: true, statements };
}
