import { connect } from '../db/client.js';
import { quoteIdent } from '../sql/identifiers.js';
import type { DropRequest } from './build-cleanup.js';

/**
 * Child process of build-cleanup.ts: reads a {@link DropRequest} on stdin, ends advise --build's
 * build session and drops its indexes. Exit 0 when every one is gone.
 */

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as DropRequest;
const session = await connect(request.connection, { applicationName: 'dbtune advise --build cleanup', connectTimeoutMs: 5000 });
try {
  // Ends a CREATE INDEX CONCURRENTLY still running there (the client is gone, the server may not know
  // yet) — only while that pid is still advise's build session: a closed session's pid may be reused.
  await session
    .query("SELECT /* dbtune-advise */ pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND application_name = 'dbtune advise --build'", [request.terminatePid])
    .catch(() => undefined);
  for (const ix of request.indexes) {
    await session.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(ix.schema)}.${quoteIdent(ix.name)} /* dbtune-advise */`);
  }
} finally {
  await session.close();
}
