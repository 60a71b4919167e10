import { z } from 'zod';
import { DbtuneError } from '../errors.js';
import { describeReadError, readInputFile } from '../files/input-file.js';
import { InputProblemsError } from './problems.js';
import { zodIssuesToProblems } from './zod-problems.js';

const duration = z.union([z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|min|h)?$/, 'a duration like 500ms, 30s or 10m'), z.number().nonnegative()]);

/** `dbtune.yaml`: project defaults. Every key is optional; flags override it. */
export const projectConfigSchema = z
  .strictObject({
    database_url_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).meta({ description: 'Environment variable holding the database URL (default DATABASE_URL).' }).optional(),
    format: z.enum(['table', 'json', 'junit', 'markdown']).meta({ description: 'Default output format.' }).optional(),
    apply: z
      .strictObject({
        jobs: z.number().int().min(1).max(64).meta({ description: "Indexes built at once, on different tables. Default: chosen from the server's cores and the table sizes." }).optional(),
        maintenance_work_mem: z.string().regex(/^\d+\s*(kB|MB|GB|TB)$/, 'a size like 512MB or 2GB').meta({ description: 'Session maintenance_work_mem of each build session. Default: 512MB each for up to 2 builds at once, a share of 1GB for more (at least 64MB).' }).optional(),
        max_parallel_maintenance_workers: z.number().int().min(0).max(64).meta({ description: "Session max_parallel_maintenance_workers of every build. Default: chosen per table with jobs, from the server's cores and the table sizes." }).optional(),
        server_cores: z.number().int().min(1).max(1024).meta({ description: "The database server's CPU count, for servers that do not let dbtune read it (managed services). Default: read from the server, else assumed." }).optional(),
        lock_timeout: duration.meta({ description: 'lock_timeout of build sessions; 0 = wait. Default 0.' }).optional(),
        max_wait: duration.meta({ description: 'Cancel a build that waited this long on other sessions; 0 = no limit. Default 15m.' }).optional(),
        lock_wait: duration.meta({ description: 'How long to wait for another dbtune run to finish. Default 0.' }).optional(),
        analyze: z
          .boolean()
          .meta({ description: 'ANALYZE the tables that got new indexes where it adds statistics: an expression index, or statistics missing or stale by autovacuum\'s rule. false: never. Default true.' })
          .optional(),
        always_analyze: z.boolean().meta({ description: 'ANALYZE every table that got a new index, even where its statistics are current. Default false.' }).optional(),
      })
      .refine((apply) => !(apply.analyze === false && apply.always_analyze === true), {
        message: 'contradicts analyze: false; keep one of them',
        path: ['always_analyze'],
      })
      .optional(),
  })
  .meta({ title: 'dbtune project configuration' });

export type ProjectConfig = z.infer<typeof projectConfigSchema>;

export const DEFAULT_CONFIG_FILE = 'dbtune.yaml';

/** Reads the project config; a missing default file is an empty config, a missing named one an error. */
export async function loadProjectConfig(file: string | undefined): Promise<ProjectConfig> {
  const path = file ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = await readInputFile(path);
  } catch (error) {
    if (!file && (error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new DbtuneError('USAGE', `config file ${path}: ${describeReadError(error)}`);
  }
  // Loaded here, not at start-up: most runs have no config file, and the `yaml` package takes ~40 ms to load.
  const { parseYamlSource } = await import('./yaml-source.js');
  const source = parseYamlSource(path, text);
  if (source.syntaxProblems.length) throw new InputProblemsError(source.syntaxProblems);
  const parsed = projectConfigSchema.safeParse(source.value ?? {});
  if (!parsed.success) throw new InputProblemsError(zodIssuesToProblems(parsed.error.issues, source, projectConfigSchema as z.ZodType));
  return parsed.data;
}
