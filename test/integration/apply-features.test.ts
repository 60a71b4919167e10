import { describe, expect, it } from 'vitest';
import { indexDef, runCli, useTestDatabase, writeTempFile } from '../support/database.js';

const db = useTestDatabase();

/** Autovacuum is off for these tables: none is analyzed before apply, so which ANALYZE runs is known. */
async function seed() {
  for (const sql of [
    'CREATE TABLE conversations (id bigserial PRIMARY KEY, user_id int NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), title text) WITH (autovacuum_enabled = off)',
    "INSERT INTO conversations (user_id, created_at) SELECT g % 500, now() - g * interval '1 minute' FROM generate_series(1, 20000) g",
    'CREATE TABLE profiles (id serial PRIMARY KEY, handle text NOT NULL, email text) WITH (autovacuum_enabled = off)',
    "INSERT INTO profiles (handle, email) SELECT 'User' || g, 'u' || g || '@example.com' FROM generate_series(1, 5000) g",
    'CREATE TABLE leads (id serial PRIMARY KEY, tenant_id int, status text, created_at timestamptz DEFAULT now()) WITH (autovacuum_enabled = off)',
    "INSERT INTO leads (tenant_id, status) SELECT g % 50, (ARRAY['open','closed','won'])[g % 3 + 1] FROM generate_series(1, 9000) g",
    'CREATE TABLE events (id serial PRIMARY KEY, payload jsonb, at tsrange, seen_at timestamptz DEFAULT now()) WITH (autovacuum_enabled = off)',
    "INSERT INTO events (payload, at) SELECT jsonb_build_object('kind', g % 7), tsrange(now()::timestamp, now()::timestamp + interval '1 hour') FROM generate_series(1, 3000) g",
    'CREATE TABLE orders (id serial PRIMARY KEY, customer_id int, total numeric, status text, code text) WITH (autovacuum_enabled = off)',
    "INSERT INTO orders (customer_id, total, status, code) SELECT g % 300, g, 'paid', 'c' || g FROM generate_series(1, 6000) g",
  ]) {
    await db.query(sql);
  }
}

const FEATURES = `# yaml-language-server: $schema=../../schemas/index-set.schema.json
set: features
description: one index per supported feature
indexes:
  - name: idx_conv_user_created
    table: conversations
    columns: [user_id, created_at desc]
  - name: idx_conv_nulls
    table: conversations
    columns: ["title asc nulls first", "created_at desc nulls last"]
  - name: idx_profiles_handle_lower
    table: profiles
    columns: [{ expression: lower(handle) }]
  - name: idx_profiles_email_c
    table: public.profiles
    columns: [{ column: email, collate: C, opclass: text_pattern_ops }]
  - name: idx_leads_open
    table: leads
    columns: [tenant_id, status, created_at desc]
    where: status <> 'closed'
  - name: idx_events_payload
    table: events
    using: gin
    columns: [{ column: payload, opclass: jsonb_path_ops }]
  - name: idx_events_at
    table: events
    using: gist
    columns: [at]
  - name: idx_events_seen_brin
    table: events
    using: brin
    columns: [seen_at]
    with: { pages_per_range: 32 }
  - name: idx_orders_code_hash
    table: orders
    using: hash
    columns: [code]
  - name: idx_orders_customer_cover
    table: orders
    columns: [customer_id]
    include: [total, status]
    with: { fillfactor: 80 }
    tablespace: pg_default
  - name: idx_orders_code_unique
    table: orders
    columns: [code]
    unique: true
`;

describe('apply builds every supported index feature', () => {
  it('creates each index valid with its declared definition, then changes nothing on a second run', async () => {
    await seed();
    const file = await writeTempFile('features.yaml', FEATURES);
    const first = await runCli(['apply', file, '--json', '--jobs', '3'], { DATABASE_URL: db.url });
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout) as {
      passed: boolean;
      indexes: Array<{ name: string; action: string; statements: string[] }>;
      analyzed: string[];
      analyze_skipped: Array<{ table: string; reason: string }>;
    };
    expect(report.passed).toBe(true);
    expect(report.indexes.map((i) => i.action)).toEqual(Array(11).fill('created'));
    expect(report.indexes.every((i) => i.statements.length === 1 && i.statements[0]!.startsWith('CREATE'))).toBe(true);
    // None was analyzed before: all five are, profiles (lower(handle)) for its expression index first of all.
    expect(report.analyzed.sort()).toEqual(['public.conversations', 'public.events', 'public.leads', 'public.orders', 'public.profiles']);
    expect(report.analyze_skipped).toEqual([]);
    expect(first.stderr).toMatch(/^ANALYZE public\.profiles \(an expression index: /m);
    for (const table of ['conversations', 'events', 'leads', 'orders']) expect(first.stderr).toMatch(new RegExp(`^ANALYZE public\\.${table} \\(never analyzed\\)$`, 'm'));

    const expected: Record<string, RegExp> = {
      idx_conv_user_created: /USING btree \(user_id, created_at DESC\)$/,
      idx_conv_nulls: /USING btree \(title NULLS FIRST, created_at DESC NULLS LAST\)$/,
      idx_profiles_handle_lower: /USING btree \(lower\(handle\)\)$/,
      idx_profiles_email_c: /USING btree \(email COLLATE "C" text_pattern_ops\)$/,
      idx_leads_open: /USING btree \(tenant_id, status, created_at DESC\) WHERE \(status <> 'closed'::text\)$/,
      idx_events_payload: /USING gin \(payload jsonb_path_ops\)$/,
      idx_events_at: /USING gist \(at\)$/,
      idx_events_seen_brin: /USING brin \(seen_at\) WITH \(pages_per_range='?32'?\)$/,
      idx_orders_code_hash: /USING hash \(code\)$/,
      idx_orders_customer_cover: /USING btree \(customer_id\) INCLUDE \(total, status\) WITH \(fillfactor='?80'?\)$/,
      idx_orders_code_unique: /^CREATE UNIQUE INDEX idx_orders_code_unique ON public\.orders USING btree \(code\)$/,
    };
    for (const [name, pattern] of Object.entries(expected)) {
      const live = await indexDef(db, name);
      expect(live, name).toBeDefined();
      expect(live!.valid, name).toBe(true);
      expect(live!.def, name).toMatch(pattern);
    }

    const second = await runCli(['apply', file, '--json'], { DATABASE_URL: db.url });
    expect(second.code, second.stderr).toBe(0);
    const again = JSON.parse(second.stdout) as typeof report;
    expect(again.indexes.map((i) => i.action)).toEqual(Array(11).fill('exists'));
    expect(again.indexes.flatMap((i) => i.statements)).toEqual([]);
    expect(again.analyzed).toEqual([]);
    expect(again.analyze_skipped).toEqual([]);

    const plan = await runCli(['plan', file, '--json'], { DATABASE_URL: db.url });
    expect(plan.code).toBe(0);
    expect((JSON.parse(plan.stdout) as { indexes: Array<{ state: string }> }).indexes.every((i) => i.state === 'ok')).toBe(true);
  });

  it('builds nulls_not_distinct on PostgreSQL 15+, and refuses it before building anything on older servers', async () => {
    await db.query('CREATE TABLE IF NOT EXISTS accounts (id serial, external_id text)');
    const file = await writeTempFile(
      'nnd.yaml',
      `set: nnd
indexes:
  - name: idx_accounts_external
    table: accounts
    columns: [external_id]
    unique: true
    nulls_not_distinct: true
  - name: idx_accounts_id
    table: accounts
    columns: [id]
`,
    );
    const result = await runCli(['apply', file], { DATABASE_URL: db.url });
    if (db.major >= 15) {
      expect(result.code, result.stderr).toBe(0);
      expect((await indexDef(db, 'idx_accounts_external'))!.def).toMatch(/NULLS NOT DISTINCT/);
    } else {
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/nnd\.yaml:3:\d+ .*nulls_not_distinct needs PostgreSQL 15/);
      // Nothing was built, not even the index that was fine.
      expect(await indexDef(db, 'idx_accounts_id')).toBeUndefined();
    }
  });
});
