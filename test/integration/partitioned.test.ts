import { describe, expect, it } from 'vitest';
import { indexDef, runCli, useTestDatabase, writeTempFile } from '../support/database.js';

const db = useTestDatabase();

interface Report {
  passed: boolean;
  indexes: Array<{ name: string; action: string; state?: string; statements: string[]; reason: string }>;
}

async function partitionIndexes(table: string): Promise<Array<{ table: string; index: string; valid: boolean }>> {
  return db.query(
    `SELECT t.relid::regclass::text AS table, i.indexrelid::regclass::text AS index, i.indisvalid AS valid
       FROM pg_partition_tree($1::regclass) t JOIN pg_index i ON i.indrelid = t.relid
      ORDER BY t.level, 1`,
    [table],
  );
}

describe('indexes on partitioned tables', () => {
  it('builds ON ONLY the parent, each partition concurrently, attaches them, and the parent turns valid', async () => {
    await db.query('CREATE TABLE events (id bigint, user_id int, at date) PARTITION BY RANGE (at)');
    await db.query("CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY HASH (id)");
    await db.query('CREATE TABLE events_2024_h0 PARTITION OF events_2024 FOR VALUES WITH (MODULUS 2, REMAINDER 0)');
    await db.query('CREATE TABLE events_2024_h1 PARTITION OF events_2024 FOR VALUES WITH (MODULUS 2, REMAINDER 1)');
    await db.query("CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')");
    await db.query("INSERT INTO events SELECT g, g % 100, date '2024-01-01' + (g % 700) FROM generate_series(1, 5000) g");
    const file = await writeTempFile('events.yaml', 'set: events\nindexes:\n  - { name: idx_events_user, table: events, columns: [user_id, at desc] }\n');

    const plan = await runCli(['plan', file, '--json'], { DATABASE_URL: db.url });
    const planned = (JSON.parse(plan.stdout) as Report).indexes[0]!;
    expect(planned.statements).toEqual([
      'CREATE INDEX "idx_events_user" ON ONLY "public"."events" USING btree ("user_id", "at" DESC)',
      'CREATE INDEX "events_2024_idx_events_user" ON ONLY "public"."events_2024" USING btree ("user_id", "at" DESC)',
      'ALTER INDEX "public"."idx_events_user" ATTACH PARTITION "public"."events_2024_idx_events_user"',
      'CREATE INDEX CONCURRENTLY "events_2025_idx_events_user" ON "public"."events_2025" USING btree ("user_id", "at" DESC)',
      'ALTER INDEX "public"."idx_events_user" ATTACH PARTITION "public"."events_2025_idx_events_user"',
      'CREATE INDEX CONCURRENTLY "events_2024_h0_idx_events_user" ON "public"."events_2024_h0" USING btree ("user_id", "at" DESC)',
      'ALTER INDEX "public"."events_2024_idx_events_user" ATTACH PARTITION "public"."events_2024_h0_idx_events_user"',
      'CREATE INDEX CONCURRENTLY "events_2024_h1_idx_events_user" ON "public"."events_2024_h1" USING btree ("user_id", "at" DESC)',
      'ALTER INDEX "public"."events_2024_idx_events_user" ATTACH PARTITION "public"."events_2024_h1_idx_events_user"',
    ]);

    const applied = await runCli(['apply', file, '--json'], { DATABASE_URL: db.url });
    expect(applied.code, applied.stderr).toBe(0);
    expect((JSON.parse(applied.stdout) as Report).indexes[0]!.action).toBe('created');
    expect((await indexDef(db, 'idx_events_user'))?.valid).toBe(true);
    expect((await partitionIndexes('events')).every((p) => p.valid)).toBe(true);

    const again = await runCli(['apply', file, '--json'], { DATABASE_URL: db.url });
    expect((JSON.parse(again.stdout) as Report).indexes[0]!.action).toBe('exists');

    const dropped = await runCli(['drop', file, '--json'], { DATABASE_URL: db.url });
    expect(dropped.code, dropped.stderr).toBe(0);
    expect((JSON.parse(dropped.stdout) as Report).indexes[0]!.statements).toEqual(['DROP INDEX IF EXISTS "public"."idx_events_user"']);
    expect(await partitionIndexes('events')).toEqual([]);
  });

  it('completes a half-built partitioned index instead of dropping it, and judges it by its partitions', async () => {
    await db.query('CREATE TABLE orders (id bigint, customer_id int, region text) PARTITION BY LIST (region)');
    await db.query("CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('eu')");
    await db.query("CREATE TABLE orders_us PARTITION OF orders FOR VALUES IN ('us')");
    await db.query("INSERT INTO orders SELECT g, g % 50, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END FROM generate_series(1, 2000) g");
    // Someone started the procedure by hand and stopped after the first partition.
    await db.query('CREATE INDEX idx_orders_customer ON ONLY orders (customer_id)');
    await db.query('CREATE INDEX CONCURRENTLY orders_eu_customer ON orders_eu (customer_id)');
    await db.query('ALTER INDEX idx_orders_customer ATTACH PARTITION orders_eu_customer');
    // And a failed build left an invalid index under the name dbtune gives the other one.
    await db.query("INSERT INTO orders_us VALUES (1, NULL, 'us'), (1, NULL, 'us')");
    await expect(db.query('CREATE UNIQUE INDEX CONCURRENTLY orders_us_idx_orders_customer ON orders_us (id)')).rejects.toMatchObject({ code: '23505' });
    const file = await writeTempFile('orders.yaml', 'set: orders\nindexes:\n  - { name: idx_orders_customer, table: orders, columns: [customer_id] }\n');

    const plan = await runCli(['plan', file, '--json'], { DATABASE_URL: db.url });
    const planned = (JSON.parse(plan.stdout) as Report).indexes[0]!;
    expect(planned.state).toBe('invalid');
    expect(planned.reason).toMatch(/1 of 2 partitions have a valid attached index/);
    expect(planned.statements).toEqual([
      'DROP INDEX CONCURRENTLY IF EXISTS "public"."orders_us_idx_orders_customer"',
      'CREATE INDEX CONCURRENTLY "orders_us_idx_orders_customer" ON "public"."orders_us" USING btree ("customer_id")',
      'ALTER INDEX "public"."idx_orders_customer" ATTACH PARTITION "public"."orders_us_idx_orders_customer"',
    ]);
    const applied = await runCli(['apply', file, '--json'], { DATABASE_URL: db.url });
    expect(applied.code, applied.stderr).toBe(0);
    expect((JSON.parse(applied.stdout) as Report).indexes[0]!.action).toBe('repaired');
    expect((await indexDef(db, 'idx_orders_customer'))?.valid).toBe(true);
    expect(await partitionIndexes('orders')).toEqual([
      { table: 'orders', index: 'idx_orders_customer', valid: true },
      { table: 'orders_eu', index: 'orders_eu_customer', valid: true },
      { table: 'orders_us', index: 'orders_us_idx_orders_customer', valid: true },
    ]);
  });
});
