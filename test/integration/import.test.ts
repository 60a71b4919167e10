import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, useTestDatabase, writeTempFile, type TestDatabase } from '../support/database.js';

/**
 * The proof of `dbtune import`: the same SQL file run statement by statement
 * through a client on one database, and imported then applied by dbtune on
 * another with the same tables, leaves the same indexes: pg_get_indexdef of
 * every index is identical, names included (unnamed ones too).
 */

const viaClient = useTestDatabase();
const viaDbtune = useTestDatabase();

const TABLES = [
  'CREATE SCHEMA sales',
  // The field reports' tables (seeds 000 and 001).
  'CREATE TABLE pam_conversations (id bigserial, user_id int NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), title text)',
  'CREATE TABLE pam_messages (id bigserial, conversation_id bigint, created_at timestamptz DEFAULT now(), body text)',
  'CREATE TABLE expenses (id serial, user_id int, date date, amount numeric, category text)',
  'CREATE TABLE user_settings (user_id int, settings jsonb)',
  'CREATE TABLE leads (id serial, tenant_id int, status text, created_at timestamptz DEFAULT now(), email text, deleted_at timestamptz)',
  'CREATE TABLE lead_status_history (id serial, lead_id int, created_at timestamptz)',
  'CREATE TABLE call_log (id serial, business_id int, status text, created_at timestamptz)',
  'CREATE TABLE whatsapp_message (id serial, business_id int, to_number text, created_at timestamptz)',
  // One more of each kind a feature needs.
  'CREATE TABLE profiles (id serial, handle text, nick text, email text, external_id text)',
  'CREATE TABLE events (id serial, payload jsonb, at tsrange, seen_at timestamptz, code text, kind int)',
  'CREATE TABLE sales."Order Items" ("Sku" text, qty int, total numeric, status text)',
  'CREATE TABLE a_table_with_a_rather_long_name_for_testing (and_a_column_with_an_even_longer_name_than_that int, x int)',
];

/** The file as a migration would have it: comments, a transaction around non-index statements, the field reports' SQL. */
function migration(major: number): string[] {
  return [
    `-- Week 3 indexes (seed 000)
CREATE INDEX CONCURRENTLY idx_pam_conversations_user_created
ON pam_conversations(user_id, created_at DESC)`,
    'CREATE INDEX CONCURRENTLY idx_expenses_user_date\nON expenses(user_id, date)',
    'CREATE INDEX CONCURRENTLY idx_user_settings_user\nON user_settings(user_id)',
    'CREATE INDEX CONCURRENTLY idx_pam_messages_conversation\nON pam_messages(conversation_id, created_at)',
    '-- Update statistics\nANALYZE pam_conversations',
    `-- seed 001
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_leads_tenant_status_created 
ON leads(tenant_id, status, created_at DESC)`,
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_lead_status_history_lead_created \nON lead_status_history(lead_id, created_at DESC)',
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_call_log_business_status_created \nON call_log(business_id, status, created_at DESC)',
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_whatsapp_message_business_to_created \nON whatsapp_message(business_id, to_number, created_at DESC)',
    // Every feature of the format.
    'BEGIN',
    "COMMENT ON TABLE profiles IS 'people'",
    'COMMIT',
    'CREATE INDEX ON profiles (lower(handle))',
    'CREATE INDEX ON profiles (lower(handle) DESC NULLS LAST)',
    "CREATE INDEX ON profiles ((coalesce(nick, '')), (handle || '@'))",
    'CREATE INDEX ON profiles (email COLLATE "C" text_pattern_ops)',
    'CREATE INDEX ON profiles (handle NULLS FIRST, nick DESC NULLS LAST, email ASC)',
    "CREATE UNIQUE INDEX profiles_external ON public.profiles (external_id) WHERE external_id IS NOT NULL AND external_id <> ''",
    "CREATE INDEX idx_leads_open ON leads (tenant_id, created_at DESC) WHERE status <> 'closed' AND status IN ('open', 'new') AND deleted_at IS NULL",
    "CREATE INDEX idx_leads_recent ON leads (created_at) WHERE created_at BETWEEN '2024-01-01' AND '2025-01-01' OR email LIKE '%@example.com'",
    'CREATE INDEX idx_leads_cover ON leads (tenant_id) INCLUDE (status, email) WITH (fillfactor = 80, deduplicate_items = off) TABLESPACE pg_default',
    'CREATE INDEX idx_events_payload ON events USING gin (payload jsonb_path_ops) WITH (fastupdate = off)',
    "CREATE INDEX ON events USING gin ((payload -> 'tags'))",
    'CREATE INDEX idx_events_at ON events USING gist (at)',
    'CREATE INDEX idx_events_seen_brin ON events USING brin (seen_at) WITH (pages_per_range = 32)',
    'CREATE INDEX idx_events_code_hash ON events USING hash (code)',
    'CREATE INDEX idx_events_code_spgist ON events USING spgist (code)',
    "CREATE INDEX ON events (((payload ->> 'n')::int), (CASE WHEN kind > 0 THEN 'pos' ELSE 'neg' END))",
    'CREATE INDEX ON sales."Order Items" ("Sku", qty) INCLUDE (total)',
    'CREATE UNIQUE INDEX "Order Items_status" ON sales."Order Items" (status COLLATE "C" DESC)',
    'CREATE INDEX ON a_table_with_a_rather_long_name_for_testing (and_a_column_with_an_even_longer_name_than_that)',
    'CREATE INDEX ON a_table_with_a_rather_long_name_for_testing (and_a_column_with_an_even_longer_name_than_that, x)',
    ...(major >= 15 ? ['CREATE UNIQUE INDEX idx_profiles_external_nnd ON profiles (external_id, nick) NULLS NOT DISTINCT'] : []),
  ];
}

async function createTables(db: TestDatabase): Promise<void> {
  for (const sql of TABLES) await db.query(sql);
}

/** Every index outside the system schemas: name → pg_get_indexdef. */
async function indexDefinitions(db: TestDatabase): Promise<Record<string, string>> {
  const rows = await db.query<{ schema: string; name: string; def: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, pg_get_indexdef(c.oid) AS def
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
      ORDER BY 1, 2`,
  );
  return Object.fromEntries(rows.map((r) => [`${r.schema}.${r.name}`, r.def]));
}

describe('dbtune import, proven against PostgreSQL', () => {
  it('importing a file and applying the set gives the same pg_get_indexdef as running the file', async () => {
    const statements = migration(viaClient.major);
    const file = await writeTempFile('0042_indexes.sql', `${statements.join(';\n\n')};\n`);
    await createTables(viaClient);
    await createTables(viaDbtune);
    // As psql runs a file: one statement at a time, CONCURRENTLY outside any transaction.
    for (const sql of statements) await viaClient.query(sql);

    const imported = await runCli(['import', file, '--set', 'week3', '--out', path.join(path.dirname(file), 'week3.yaml')]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toBe('');
    expect(imported.stderr).toMatch(/skipped .*0042_indexes\.sql:\d+:1 ANALYZE \(not CREATE INDEX\)/);
    expect(imported.stderr).toMatch(/skipped .*0042_indexes\.sql:\d+:1 BEGIN/);
    expect(imported.stderr).toMatch(/note: CONCURRENTLY and IF NOT EXISTS are not carried over/);
    const setFile = path.join(path.dirname(file), 'week3.yaml');
    const yaml = await readFile(setFile, 'utf8');
    expect(yaml).toContain(`#   ${file}\n`);

    const applied = await runCli(['apply', setFile, '--json'], { DATABASE_URL: viaDbtune.url });
    expect(applied.code, applied.stderr).toBe(0);
    const verified = await runCli(['verify', setFile], { DATABASE_URL: viaDbtune.url });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);

    const expected = await indexDefinitions(viaClient);
    expect(Object.keys(expected)).toHaveLength(statements.filter((s) => /CREATE (UNIQUE )?INDEX/.test(s)).length);
    expect(expected['public.profiles_lower_idx1']).toBeDefined();
    expect(await indexDefinitions(viaDbtune)).toEqual(expected);
  });

  it('a NULLS NOT DISTINCT index imports everywhere; apply refuses it clearly before PostgreSQL 15', async () => {
    const file = await writeTempFile('nnd.sql', 'CREATE UNIQUE INDEX idx_nnd ON profiles (nick) NULLS NOT DISTINCT;\n');
    const imported = await runCli(['import', file]);
    expect(imported.code, imported.stderr).toBe(0);
    const setFile = await writeTempFile('nnd.yaml', imported.stdout);
    const applied = await runCli(['apply', setFile], { DATABASE_URL: viaDbtune.url });
    if (viaDbtune.major >= 15) {
      expect(applied.code, applied.stderr).toBe(0);
    } else {
      expect(applied.code).toBe(2);
      expect(applied.stderr).toMatch(/nulls_not_distinct needs PostgreSQL 15/);
    }
  });

  it('bad input is exit 2 with file:line:col, and nothing is written', async () => {
    const file = await writeTempFile('bad.sql', 'CREATE INDEX a ON t (x);\nCREATE INDEX b ON t USING bloom (x);\nCREATE INDEX a ON t (y);\n');
    const out = path.join(path.dirname(file), 'bad.yaml');
    const result = await runCli(['import', file, '--out', out, '--json']);
    expect(result.code).toBe(2);
    const document = JSON.parse(result.stdout) as { error: { code: string; problems: Array<{ line: number; col: number; message: string }> } };
    expect(document.error.code).toBe('INPUT_INVALID');
    expect(document.error.problems.map((p) => `${p.line}:${p.col}`)).toEqual(['2:1', '3:1']);
    expect(result.stderr).toContain(`${file}:2:1 CREATE INDEX b: an index set cannot express USING bloom`);
    await expect(readFile(out)).rejects.toThrow();

    const syntax = await writeTempFile('syntax.sql', 'CREATE INDEX a ON t (x);\n\n  CREATE INDEX b ON t (x, );\n');
    const failed = await runCli(['import', syntax]);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain(`${syntax}:3:27 SQL syntax error: syntax error at or near ")"`);
    expect(failed.stdout).toBe('');
  });

  it('--out refuses to overwrite a file without --force', async () => {
    const file = await writeTempFile('one.sql', 'CREATE INDEX a ON t (x);\n');
    const out = path.join(path.dirname(file), 'one.yaml');
    expect((await runCli(['import', file, '--out', out])).code).toBe(0);
    const again = await runCli(['import', file, '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists; nothing was written/);
    expect((await runCli(['import', file, '--out', out, '--force'])).code).toBe(0);
  });
});
