import { connect, type SqlSession } from '../db/client.js';
import { resolveConnectionOptions, type ConnectionOptions } from '../db/connection-options.js';
import { DbtuneError } from '../errors.js';
import { InputProblemsError, type Problem } from '../config/problems.js';
import { loadProjectConfig, type ProjectConfig } from '../config/project-config.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../report/model.js';
import type { Inspection } from '../indexing/inspect.js';

/** Options every database command takes. */
export interface CommonOptions {
  databaseUrl?: string;
  format?: string;
  json?: boolean;
  config?: string;
}

export async function loadConfig(options: CommonOptions): Promise<ProjectConfig> {
  return loadProjectConfig(options.config);
}

/** `--json` wins; then `--format`; then the config file; then `table`. */
export function outputFormat<F extends string = OutputFormat>(options: CommonOptions, config: ProjectConfig, extra: readonly F[] = []): OutputFormat | F {
  if (options.json) return 'json';
  const format = options.format ?? config.format ?? 'table';
  const allowed: readonly string[] = [...OUTPUT_FORMATS, ...extra];
  if (!allowed.includes(format)) {
    throw new DbtuneError('USAGE', `unknown --format ${JSON.stringify(format)}: expected one of ${allowed.join(', ')}`);
  }
  return format as OutputFormat | F;
}

export function connectionOptions(options: CommonOptions, config: ProjectConfig, env: NodeJS.ProcessEnv): ConnectionOptions {
  const urlEnv = config.database_url_env;
  const databaseUrl = options.databaseUrl ?? (urlEnv ? env[urlEnv] || undefined : undefined);
  if (urlEnv && !options.databaseUrl && !env[urlEnv]) {
    throw new DbtuneError('CONNECTION_CONFIG', `dbtune.yaml names ${urlEnv} as the database URL variable, but it is not set`);
  }
  return resolveConnectionOptions({ databaseUrl, env });
}

/** Opens a session and refuses servers older than PostgreSQL 13 (exit 3), for every command alike. */
export async function openSession(options: ConnectionOptions, applicationName = 'dbtune'): Promise<SqlSession> {
  const session = await connect(options, { applicationName });
  try {
    refuseUnsupportedServer(session);
  } catch (error) {
    await session.close();
    throw error;
  }
  return session;
}

/** dbtune supports PostgreSQL 13 and later (the catalog and progress views it reads). */
export function refuseUnsupportedServer(session: Pick<SqlSession, 'serverVersionNum' | 'serverVersion'>): void {
  if (session.serverVersionNum < 130000) {
    throw new DbtuneError('SERVER_UNSUPPORTED', `PostgreSQL ${session.serverVersion} is not supported; dbtune supports 13 and later`);
  }
}

/**
 * PostgreSQL 14.0–14.3 can silently corrupt indexes built or rebuilt
 * CONCURRENTLY (fixed in 14.4); dbtune will not run such builds there.
 */
export function refuseBrokenConcurrentBuilds(session: SqlSession): void {
  if (session.serverVersionNum >= 140000 && session.serverVersionNum < 140004) {
    throw new DbtuneError('SERVER_UNSUPPORTED', `PostgreSQL ${session.serverVersion} has a known bug: CREATE INDEX CONCURRENTLY and REINDEX CONCURRENTLY can build corrupt indexes (fixed in 14.4)`, {
      hint: 'upgrade the server to 14.4 or later (then REINDEX indexes built concurrently on 14.0-14.3)',
    });
  }
}

/**
 * Declarations PostgreSQL refused in the shadow build (missing table or
 * column, invalid expression…) are bad input: report them all, build nothing.
 */
export function throwIfRejected(inspection: Inspection, options: { allowMissingTables?: boolean } = {}): void {
  const problems: Problem[] = [];
  for (const { declaration, state } of inspection.indexes) {
    if (state.status !== 'rejected') continue;
    // For verify, an index on a table that does not exist is simply missing.
    if (options.allowMissingTables && state.error?.code === '42P01') continue;
    const e = state.error;
    const extra = [e?.detail, e?.hint ? `hint: ${e.hint}` : undefined].filter(Boolean).join('; ');
    problems.push({
      ...declaration.source,
      path: declaration.name,
      message: `PostgreSQL rejects this index: ${state.reason}${extra ? ` (${extra})` : ''}`,
    });
  }
  if (problems.length) throw new InputProblemsError(problems, 'fix the declarations; nothing was built');
}

export function parseIntOption(name: string, value: string | number | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new DbtuneError('USAGE', `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}
