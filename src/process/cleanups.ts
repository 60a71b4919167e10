/**
 * The one registry of what dbtune started and must not leave behind: a
 * server's processes, its temp data directory. Whatever starts such a thing
 * registers a cleanup and unregisters it once it has stopped it the normal
 * way; the CLI entry runs what is still registered on every other way out
 * (a second Ctrl-C, SIGTERM/SIGHUP twice, an uncaught exception, process exit).
 *
 * Cleanups are synchronous because one of those ways out is the process
 * `exit` event, where nothing asynchronous runs any more.
 */

/** Stops one thing now; bounded in time. */
export interface Cleanup {
  /** What it stops, for stderr, e.g. "embedded PostgreSQL 18 (pid 1234)". */
  readonly what: () => string;
  readonly run: () => void;
}

const registered = new Set<Cleanup>();

/** Registers a cleanup; the function returned unregisters it (call it after the normal stop). */
export function registerCleanup(cleanup: Cleanup): () => void {
  registered.add(cleanup);
  return () => void registered.delete(cleanup);
}

/** Runs every registered cleanup once, most recent first; a failing one never stops the others. */
export function runCleanupsNow(report: (line: string) => void = () => {}): void {
  for (const cleanup of [...registered].reverse()) {
    registered.delete(cleanup);
    try {
      report(`stopping ${cleanup.what()}`);
      cleanup.run();
    } catch (error) {
      report(`could not stop ${cleanup.what()}: ${(error as Error)?.message ?? String(error)}`);
    }
  }
}

/** How many cleanups are registered (for tests). */
export function pendingCleanups(): number {
  return registered.size;
}
