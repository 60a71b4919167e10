import type { SqlSession } from '../db/client.js';

/**
 * The demo's data: tables shaped like real apps' (a travel
 * assistant's conversations and expenses, a CRM's leads per tenant, profiles
 * looked up by lower(handle), events with a JSONB payload), filled with
 * generate_series in a few statements, not row by row. No index beyond the
 * primary keys: that is what `indexes/demo.yaml` adds.
 */

export interface SeedSize {
  users: number;
  conversations: number;
  messages: number;
  expenses: number;
  leads: number;
  events: number;
}

/** Splits a total row count over the tables in the proportions of a real app. */
export function seedSize(totalRows: number): SeedSize {
  const part = (share: number) => Math.max(100, Math.round(totalRows * share));
  return { users: part(0.05), conversations: part(0.1), messages: part(0.35), expenses: part(0.2), leads: part(0.15), events: part(0.15) };
}

export const DEMO_TENANTS = 200;

/** The demo's database, created on the embedded server next to `postgres`. */
export const DEMO_DATABASE = 'dbtune_demo';

/** Creates the demo's (empty) database; `admin` is a session on another database of the server. */
export async function createDemoDatabase(admin: SqlSession): Promise<void> {
  await admin.query(`CREATE DATABASE ${DEMO_DATABASE}`);
}

/** Users who have conversations: a tenth, with ~20 each, so the conversation list is a real N+1 (1 + 10 queries). */
export function activeUsers(size: SeedSize): number {
  return Math.max(1, Math.floor(size.users / 10));
}

export function seedStatements(size: SeedSize): string[] {
  return [
    'CREATE EXTENSION IF NOT EXISTS pg_stat_statements',
    `CREATE TABLE users (id bigint PRIMARY KEY, handle text NOT NULL, email text NOT NULL, created_at timestamptz NOT NULL)`,
    `CREATE TABLE conversations (id bigint PRIMARY KEY, user_id bigint NOT NULL, title text, updated_at timestamptz NOT NULL)`,
    `CREATE TABLE messages (id bigint PRIMARY KEY, conversation_id bigint NOT NULL, role text NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL)`,
    `CREATE TABLE expenses (id bigint PRIMARY KEY, user_id bigint NOT NULL, spent_on date NOT NULL, category text NOT NULL, amount numeric(10,2) NOT NULL)`,
    `CREATE TABLE leads (id bigint PRIMARY KEY, tenant_id int NOT NULL, status text NOT NULL, email text NOT NULL, score int NOT NULL, created_at timestamptz NOT NULL)`,
    `CREATE TABLE events (id bigint PRIMARY KEY, user_id bigint NOT NULL, kind text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL)`,
    // Handles in mixed case: the profile page looks them up case-insensitively.
    `INSERT INTO users SELECT g, CASE WHEN g % 3 = 0 THEN 'User' || g ELSE 'user' || g END, 'user' || g || '@example.com', now() - (g % 1000) * interval '1 day'
       FROM generate_series(1::bigint, ${size.users}) g`,
    `INSERT INTO conversations SELECT g, 1 + (g * 7919) % ${activeUsers(size)}, 'trip ' || g, now() - (g % 5000) * interval '1 hour'
       FROM generate_series(1::bigint, ${size.conversations}) g`,
    `INSERT INTO messages SELECT g, 1 + (g * 104729) % ${size.conversations}, CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END, repeat('m', (40 + g % 80)::int),
            now() - (g % 100000) * interval '1 minute'
       FROM generate_series(1::bigint, ${size.messages}) g`,
    `INSERT INTO expenses SELECT g, 1 + (g * 31) % ${size.users}, current_date - (g % 730)::int, (ARRAY['food','travel','lodging','fuel'])[1 + g % 4], (g % 50000) / 100.0
       FROM generate_series(1::bigint, ${size.expenses}) g`,
    `INSERT INTO leads SELECT g, (1 + g % ${DEMO_TENANTS})::int, (ARRAY['new','contacted','qualified','won','lost'])[1 + (g / ${DEMO_TENANTS}) % 5], 'lead' || g || '@example.com', (g % 100)::int,
            now() - (g % 20000) * interval '10 minutes'
       FROM generate_series(1::bigint, ${size.leads}) g`,
    `INSERT INTO events SELECT g, 1 + (g * 13) % ${size.users}, (ARRAY['search','booking','cancel'])[1 + g % 3],
            jsonb_build_object('plan', (ARRAY['free','pro','team'])[1 + g % 3], 'amount', g % 500), now() - (g % 50000) * interval '1 minute'
       FROM generate_series(1::bigint, ${size.events}) g`,
    'ANALYZE',
  ];
}

export async function seedDemo(session: SqlSession, size: SeedSize): Promise<void> {
  for (const statement of seedStatements(size)) await session.query(statement);
}
