import { z } from 'zod';
import { parseDuration } from './duration.js';

/**
 * The load-scenario file format (contract: extend it, do not rename keys).
 * JSON Schema: `schemas/scenario.schema.json`, generated from this.
 */

const duration = z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|min|h)$/, 'a duration like 500ms, 30s or 2m');
const percentOrRatio = z.union([
  z
    .string()
    .regex(/^\d+(\.\d+)?%$/, 'a percentage like 99% or 99.9%')
    .refine((v) => Number.parseFloat(v) <= 100, 'a percentage is at most 100%'),
  z.number().min(0).max(1),
]);

// Not HEAD: autocannon's parser would wait for a body its response never has (every request a timeout).
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const thresholdsSchema = z
  .strictObject({
    success_rate: percentOrRatio.meta({ description: 'Minimum share of requests that succeed, e.g. 99% or 0.99.' }).optional(),
    max_error_rate: percentOrRatio.meta({ description: 'Maximum share of requests that fail.' }).optional(),
    p50: duration.optional(),
    p90: duration.optional(),
    p95: duration.optional(),
    p99: duration.optional(),
    rps: z.number().positive().meta({ description: 'Minimum requests per second.' }).optional(),
  })
  .meta({ description: 'Limits a stage must hold, e.g. { success_rate: 99%, p95: 50ms }.' });

const databaseThresholdsSchema = z
  .strictObject({
    queries_per_request: z.number().positive().meta({ description: 'Maximum statements (or transactions) per HTTP request: the N+1 signal.' }).optional(),
    connections: z.number().int().positive().meta({ description: 'Maximum sessions on the database at once (peak of the samples).' }).optional(),
    cache_hit_ratio: percentOrRatio.meta({ description: 'Minimum share of block reads served from shared buffers.' }).optional(),
    seq_scans: z.record(z.string(), z.number().int().nonnegative()).meta({ description: 'Maximum sequential scans per table during a stage, e.g. { orders: 0 }.' }).optional(),
  })
  .meta({ description: 'Limits on what PostgreSQL saw during each stage.' });

const requestSchema = z
  .strictObject({
    name: z.string().min(1),
    method: z.enum(HTTP_METHODS).default('GET'),
    path: z
      .string()
      // No raw space or control character outside {{ }}: checked by loadScenario, which knows
      // which text comes from ${…} (a value from the environment is never a template).
      .regex(/^\//, 'a path starting with /, e.g. /api/users?id={{int 1 100}}'),
    headers: z
      .record(
        z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'a header name (letters, digits and -)'),
        z.string().refine((v) => !/[\r\n\u0000]/.test(v), 'a header value on one line'),
      )
      .optional(),
    json: z.unknown().optional(),
    body: z.string().optional(),
    weight: z.number().int().positive().default(1),
    expect_status: z.array(z.number().int().min(100).max(599)).min(1).meta({ description: 'Statuses that count as success besides 2xx, e.g. [404].' }).optional(),
  })
  .superRefine((request, ctx) => {
    if (request.json !== undefined && request.body !== undefined) ctx.addIssue({ code: 'custom', path: ['body'], message: 'give `json` or `body`, not both' });
  });

const stageSchema = z.strictObject({
  users: z.number().int().min(1).max(10_000).meta({ description: 'Concurrent connections for the stage.' }),
  duration: duration.refine((v) => (parseDuration(v) ?? 0) >= 1000, 'a stage of at least 1s'),
  ramp: duration.meta({ description: 'Reach `users` gradually over this long.' }).optional(),
  thresholds: thresholdsSchema.optional(),
});

export const scenarioSchema = z
  .strictObject({
    scenario: z.string().min(1),
    description: z.string().optional(),
    target: z.string().regex(/^https?:\/\/[^\s/]+/, 'an http:// or https:// base URL, e.g. http://127.0.0.1:3000'),
    requests: z.array(requestSchema).min(1, 'a scenario needs at least one request'),
    stages: z.array(stageSchema).min(1, 'a scenario needs at least one stage'),
    thresholds: thresholdsSchema.optional(),
    stop_on_failure: z.boolean().default(true),
    timeout: duration.refine((v) => (parseDuration(v) ?? 0) >= 1000, 'a timeout of at least 1s').meta({ description: 'Per-request timeout; a request that takes longer is a failure. Default 10s.' }).optional(),
    warmup: duration.meta({ description: 'Load before the first stage that is not measured.' }).optional(),
    data: z.string().min(1).meta({ description: 'CSV file (with a header row) whose rows feed {{row.column}}.' }).optional(),
    database: z
      .strictObject({
        url: z.string().min(1).meta({ description: 'PostgreSQL URL of the database behind the API (default: --database-url, DATABASE_URL, PG* variables).' }).optional(),
        settle: duration
          .meta({ description: 'Wait this long after each stage before reading table, index and transaction statistics (default 10.5s on PostgreSQL 15+, 700ms before).' })
          .optional(),
        indexes: z.array(z.string().min(1)).meta({ description: 'Index-set files (relative to this file) whose indexes to report as used or unused per stage.' }).optional(),
        roles: z
          .array(z.string().min(1))
          .min(1)
          .meta({
            description:
              "Roles whose statements count toward queries per request (pg_stat_statements.userid), e.g. [api]: the API's role(s). Default: every role's statements in the database, other applications' included. A name no role has is an error.",
          })
          .optional(),
        thresholds: databaseThresholdsSchema.optional(),
      })
      .meta({ description: 'Watch PostgreSQL during each stage: queries per request, connections, cache hit ratio, scans, index use.' })
      .optional(),
  })
  .superRefine((scenario, ctx) => {
    const seen = new Set<string>();
    scenario.requests.forEach((request, i) => {
      if (seen.has(request.name)) ctx.addIssue({ code: 'custom', path: ['requests', i, 'name'], message: `request name ${JSON.stringify(request.name)} is used twice: results are reported per name` });
      seen.add(request.name);
    });
  })
  .meta({ title: 'dbtune load scenario', description: 'Staged load (e.g. 10 → 50 → 100 users) against an HTTP API, with thresholds per stage.' });

export type ScenarioFile = z.infer<typeof scenarioSchema>;
/** A scenario's `database.thresholds`. */
export type DatabaseThresholds = z.infer<typeof databaseThresholdsSchema>;
