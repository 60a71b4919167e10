import { lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DbtuneError } from '../errors.js';
import { checkOutputFile, writeOutputFile } from '../files/output-file.js';
import { write } from '../report/emit.js';
import type { CommandHandler } from './context.js';

export interface InitOptions {
  force?: boolean;
  dir?: string;
}

const INDEX_SET = `# yaml-language-server: $schema=../node_modules/dbtune/schemas/index-set.schema.json
#
# An index set: the indexes one change (one PR) adds, and the EXPLAIN checks
# that prove the queries use them.
#   dbtune plan indexes/example.yaml     what apply would do, with the SQL
#   dbtune apply indexes/example.yaml    CREATE INDEX CONCURRENTLY, never blocking writes
#   dbtune verify indexes/example.yaml   exists, valid, same definition; checks pass
set: example
description: Lookups of the orders page
indexes:
  - name: idx_orders_customer_created
    table: orders                       # schema.table also works; default schema public
    columns: [customer_id, created_at desc]
  # - name: idx_users_lower_email       # an expression index
  #   table: users
  #   columns: [{ expression: lower(email) }]
  #   unique: true
  # - name: idx_orders_open             # a partial index
  #   table: orders
  #   columns: [created_at]
  #   where: status = 'open'
checks:
  - name: orders of a customer
    query: SELECT * FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20
    params: [42]
    expect: { uses_index: idx_orders_customer_created, no_seq_scan: true, max_ms: 20 }
`;

const SCENARIO = `# yaml-language-server: $schema=../node_modules/dbtune/schemas/scenario.schema.json
#
# A staged load test: each stage is its own run at a fixed number of users.
#   dbtune loadtest scenarios/example.yaml --out before.json
#   dbtune compare before.json after.json
scenario: example
target: http://127.0.0.1:3000           # or --target; only this host receives traffic
requests:
  - name: order list
    path: /api/orders?customer_id={{int 1 50000}}   # spread load over many keys
    weight: 3
  - name: create order
    method: POST
    path: /api/orders
    headers: { authorization: "Bearer \${API_TOKEN}" }   # a missing variable is an error, not ""
    json: { customer_id: "{{int 1 50000}}", amount: "{{float 1 500}}" }
stages:
  - { users: 10, duration: 60s }
  - { users: 50, duration: 60s }
  - { users: 100, duration: 60s }
thresholds: { success_rate: 99%, p95: 50ms, p99: 200ms }
# database:                             # what PostgreSQL saw per stage (queries per request, connections, scans)
#   indexes: [../indexes/example.yaml]  # report whether these were used under load
#   thresholds: { queries_per_request: 5, connections: 20 }
`;

const CONFIG = `# dbtune project settings; every command reads this file from the current directory.
# database_url_env: DATABASE_URL        # which environment variable holds the connection URL
# format: table                         # default output: table, json, junit, markdown
apply:
  # jobs: 4                             # indexes built at once (never two on one table); default: chosen from the server's cores and table sizes
  # server_cores: 8                     # the server's CPUs, where dbtune cannot read them (managed services)
  # maintenance_work_mem: 512MB         # per build session; default: 512MB each for up to 2 builds at once, a share of 1GB for more
  lock_timeout: 0                       # 0: wait for locks; e.g. 5s to give up
  max_wait: 15m                         # cancel a build that waited this long on other sessions
`;

/** `dbtune init`: scaffolds the files a project needs, with commented examples; never overwrites without --force. */
export const run: CommandHandler<InitOptions> = async (_args, options, { io }) => {
  const root = path.resolve(options.dir ?? '.');
  const files: Array<[string, string]> = [
    [path.join('indexes', 'example.yaml'), INDEX_SET],
    [path.join('scenarios', 'example.yaml'), SCENARIO],
    ['dbtune.yaml', CONFIG],
  ];
  const existing: string[] = [];
  for (const [file] of files) {
    if (await exists(path.join(root, file))) existing.push(file);
  }
  if (existing.length && !options.force) {
    throw new DbtuneError('USAGE', `${existing.join(', ')} ${existing.length === 1 ? 'exists' : 'exist'}; nothing was written`, { hint: 'pass --force to overwrite them' });
  }
  // A link among them is refused before anything is written (writeOutputFile never writes through one).
  for (const file of existing) await checkOutputFile(path.join(root, file), 'init');
  for (const [file, text] of files) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeOutputFile(path.join(root, file), text, 'init');
    await write(io.stdout, `${existing.includes(file) ? 'overwrote' : 'created'} ${path.join(path.relative(process.cwd(), root) || '.', file)}\n`);
  }
  await write(io.stdout, '\nnext: edit indexes/example.yaml, then\n  dbtune plan indexes/example.yaml\n  dbtune apply indexes/example.yaml && dbtune verify indexes/example.yaml\n');
  return 'ok';
};

/** lstat: a link counts as there, even one that points nowhere. */
async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}
