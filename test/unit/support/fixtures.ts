import type { IndexDeclaration } from '../../../src/model/declaration.js';
import type { LiveIndex, LiveIndexColumn } from '../../../src/indexing/live-catalog.js';

/** A plain btree declaration on public.orders (customer_id); override what a test is about. */
export function declaration(overrides: Partial<IndexDeclaration> = {}): IndexDeclaration {
  return {
    name: 'idx_orders_customer',
    table: { schema: 'public', name: 'orders' },
    method: 'btree',
    unique: false,
    keys: [{ kind: 'column', column: 'customer_id' }],
    include: [],
    storage: {},
    nullsNotDistinct: false,
    set: 'week3',
    source: { file: 'indexes/week3.yaml', line: 4, col: 5 },
    ...overrides,
  };
}

/** A key column as the catalog reports it: ascending, nulls last, default opclass, no collation. */
export function keyColumn(overrides: Partial<LiveIndexColumn> = {}): LiveIndexColumn {
  return { definition: 'customer_id', isExpression: false, desc: false, nullsFirst: false, opclass: 'int4_ops', opclassDefault: true, collation: null, ...overrides };
}

/** A valid, ready btree index public.idx_orders_customer on public.orders (customer_id). */
export function liveIndex(overrides: Partial<LiveIndex> = {}): LiveIndex {
  return {
    schema: 'public',
    name: 'idx_orders_customer',
    oid: 16500,
    relkind: 'i',
    table: { schema: 'public', name: 'orders' },
    tableRelkind: 'r',
    method: 'btree',
    unique: false,
    nullsNotDistinct: false,
    valid: true,
    ready: true,
    live: true,
    keyColumns: [keyColumn()],
    includeColumns: [],
    predicate: null,
    storage: [],
    tablespace: 'pg_default',
    progress: null,
    tableMaintenanceLocked: false,
    hiddenBuilderPid: null,
    backsConstraint: false,
    partitions: null,
    ...overrides,
  };
}
