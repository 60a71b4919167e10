import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConnectionOptions } from '../db/connection-options.js';
import type { QualifiedName } from '../sql/identifiers.js';

/**
 * advise --build's way out when the event loop cannot be awaited (process/cleanups.ts: a second
 * Ctrl-C, an uncaught exception, process exit): a child process (drop-built-main.ts) connects,
 * ends the build session (a build it was running stops and leaves an invalid index) and drops
 * the indexes. Blocks until it is done, bounded in time. The connection, password included,
 * goes through the child's stdin, never its command line or environment.
 */

export type CleanupConnection = ConnectionOptions;

export interface DropRequest {
  connection: Omit<ConnectionOptions, 'password'> & { password?: string };
  terminatePid: number;
  indexes: Array<{ schema: string; name: string }>;
}

const SCRIPT = fileURLToPath(new URL('./drop-built-main.js', import.meta.url));

export function dropBuiltIndexesSync(connection: CleanupConnection, terminatePid: number, indexes: ReadonlyArray<{ name: string; table: QualifiedName }>, timeoutMs = 20_000): void {
  const request: DropRequest = {
    connection: { ...connection, ...(connection.password !== undefined ? { password: connection.password } : {}) },
    terminatePid,
    indexes: indexes.map((ix) => ({ schema: ix.table.schema, name: ix.name })),
  };
  const result = spawnSync(process.execPath, [SCRIPT], { input: JSON.stringify(request), timeout: timeoutMs, stdio: ['pipe', 'ignore', 'pipe'] });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`could not drop ${request.indexes.map((ix) => ix.name).join(', ')}: ${String(result.stderr).trim() || `exit ${result.status ?? result.signal}`}`);
}
