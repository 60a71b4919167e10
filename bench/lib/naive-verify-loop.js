#!/usr/bin/env node
/**
 * The baseline of `verify-vs-loop.js`: what people hand-write to check that
 * their indexes exist and are usable — one catalog query per index, on one
 * connection. It checks existence, `indisvalid` and `indisready`, and fetches
 * the definition without comparing it (dbtune also compares definitions, so
 * the loop does less work than dbtune, never more).
 *
 * Imported by the bench (in-process arm) and run as its own process (spawned
 * arm), so both arms time the same code:
 *
 *   node bench/lib/naive-verify-loop.js <database-url> <names.json>
 *
 * `names.json` is `[[schema, index], …]`. Prints `{ checked, ok, bad }` as
 * JSON; exits 1 if any index is missing, invalid or not ready.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

export const PER_INDEX_QUERY = `SELECT i.indisvalid, i.indisready, pg_get_indexdef(i.indexrelid) AS def
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`;

/**
 * One query per index, in order, on an open client.
 * @param {{ query: (text: string, values: unknown[]) => Promise<{ rows: Array<{ indisvalid: boolean, indisready: boolean, def: string }> }> }} client
 * @param {Array<[string, string]>} names
 * @returns {Promise<{ checked: number, ok: number, bad: string[] }>}
 */
export async function checkOneByOne(client, names) {
  const bad = [];
  for (const [schema, name] of names) {
    const { rows } = await client.query(PER_INDEX_QUERY, [schema, name]);
    const row = rows[0];
    if (!row || !row.indisvalid || !row.indisready || !row.def) bad.push(`${schema}.${name}`);
  }
  return { checked: names.length, ok: names.length - bad.length, bad };
}

/** Connect, loop, disconnect: the whole job of a hand-written check script. */
export async function runLoop(url, names) {
  const client = new pg.Client({ connectionString: url, application_name: 'naive verify loop' });
  await client.connect();
  try {
    return await checkOneByOne(client, names);
  } finally {
    await client.end();
  }
}

async function main() {
  const [url, namesFile] = process.argv.slice(2);
  if (!url || !namesFile) {
    process.stderr.write('usage: node bench/lib/naive-verify-loop.js <database-url> <names.json>\n');
    return 2;
  }
  const names = JSON.parse(await readFile(namesFile, 'utf8'));
  const result = await runLoop(url, names);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.bad.length ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => (process.exitCode = code),
    (error) => {
      process.stderr.write(`${error.stack ?? error}\n`);
      process.exitCode = 1;
    },
  );
}
