import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Where and when a saved result was measured, so `compare` can tell like from unlike. */
export interface RunContext {
  saved_at: string;
  dbtune_version: string;
  server_version?: string;
  /** `host:port/database`, never credentials. */
  database?: string;
  git_commit?: string;
}

export async function runContext(extra: { serverVersion?: string; database?: string } = {}): Promise<RunContext> {
  const context: RunContext = { saved_at: new Date().toISOString(), dbtune_version: dbtuneVersion() };
  if (extra.serverVersion) context.server_version = extra.serverVersion;
  if (extra.database) context.database = extra.database;
  const commit = await gitCommit();
  if (commit) context.git_commit = commit;
  return context;
}

function dbtuneVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** The current git commit, if the working directory is in a repository (and git is installed). */
function gitCommit(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', 'HEAD'], { timeout: 2000 }, (error, stdout) => resolve(error ? undefined : stdout.trim() || undefined));
  });
}
