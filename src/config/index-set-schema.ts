import { z } from 'zod';
import { parseColumnSpec } from './column-spec.js';
import { parseIdentifier, parseQualifiedName } from '../sql/identifiers.js';
import { INDEX_METHODS } from '../model/declaration.js';

/**
 * The index-set file format (contract: extend it, do not rename keys).
 * The JSON Schema in `schemas/index-set.schema.json` is generated from this
 * (`npm run schemas`), so editors and dbtune check the same rules.
 */

const identifier = (what: string) =>
  z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      const parsed = parseIdentifier(value);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
    })
    .meta({ description: `${what}: an SQL name; unquoted names fold to lower case, write "Quoted" names in double quotes` });

const qualifiedName = (what: string) =>
  z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      const parsed = parseQualifiedName(value);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
    })
    .meta({ description: `${what}: name or schema.name (schema defaults to public)` });

/** Raw SQL; PostgreSQL's own parser checks it once the file is read (load-index-sets.ts, sql/fragment.ts). */
const sqlFragment = (what: string) => z.string().trim().min(1, `${what} is empty`);

const order = z.enum(['asc', 'desc']).meta({ description: 'Sort order of the key (btree only). Default asc.' });
const nulls = z.enum(['first', 'last']).meta({ description: 'Where NULLs sort (btree only). Default: last for asc, first for desc.' });

const COLUMN_STRING_PATTERN =
  '^\\s*("([^"]|"")+"|[^\\s"]+)(\\s+([Aa][Ss][Cc]|[Dd][Ee][Ss][Cc]))?(\\s+[Nn][Uu][Ll][Ll][Ss]\\s+([Ff][Ii][Rr][Ss][Tt]|[Ll][Aa][Ss][Tt]))?\\s*$';

const columnString = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const parsed = parseColumnSpec(value);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
  })
  .meta({ description: '"column [asc|desc] [nulls first|last]"', pattern: COLUMN_STRING_PATTERN });

const keyOptions = {
  order: order.optional(),
  nulls: nulls.optional(),
  opclass: qualifiedName('Operator class, e.g. jsonb_path_ops or text_pattern_ops').optional(),
  collate: z.string().min(1).meta({ description: 'Collation name, e.g. "C" or "und-x-icu"' }).optional(),
};

const columnMap = z
  .strictObject({
    column: identifier('Column name').optional(),
    expression: sqlFragment('expression').meta({ description: 'An SQL expression, e.g. lower(handle)' }).optional(),
    ...keyOptions,
  })
  .superRefine((value, ctx) => {
    const count = Number(value.column !== undefined) + Number(value.expression !== undefined);
    if (count !== 1) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of `column` or `expression`' });
    }
  })
  .meta({ description: '{ column | expression, order, nulls, opclass, collate }' });

export const indexKeySchema = z.union([columnString, columnMap]);

const storageValue = z.union([
  z.number(),
  z.boolean(),
  z.string().regex(/^[A-Za-z0-9_.+-]+$/, 'a storage parameter value is a number, a boolean or a plain word'),
]);

export const indexSchema = z
  .strictObject({
    name: identifier('Index name'),
    table: qualifiedName('Table'),
    columns: z.array(indexKeySchema).min(1, 'an index needs at least one column or expression'),
    using: z.enum(INDEX_METHODS).meta({ description: 'Access method. Default btree.' }).optional(),
    unique: z.boolean().optional(),
    include: z.array(identifier('Included column')).min(1).optional(),
    where: sqlFragment('where').meta({ description: 'Predicate of a partial index, e.g. status <> \'closed\'' }).optional(),
    with: z
      .record(z.string().regex(/^[a-z_][a-z0-9_.]*$/, 'a storage parameter name is a lower-case word, e.g. fillfactor'), storageValue)
      .meta({ description: 'Storage parameters, e.g. { fillfactor: 90 }' })
      .optional(),
    nulls_not_distinct: z.boolean().meta({ description: 'UNIQUE NULLS NOT DISTINCT (PostgreSQL 15+).' }).optional(),
    tablespace: identifier('Tablespace').optional(),
  })
  .superRefine((index, ctx) => {
    const method = index.using ?? 'btree';
    if (index.unique && method !== 'btree') {
      ctx.addIssue({ code: 'custom', path: ['unique'], message: `only btree indexes can be unique, not ${method}` });
    }
    if (index.nulls_not_distinct && !index.unique) {
      ctx.addIssue({ code: 'custom', path: ['nulls_not_distinct'], message: 'applies to unique indexes only: add `unique: true`' });
    }
    if (index.include && !['btree', 'gist', 'spgist'].includes(method)) {
      ctx.addIssue({ code: 'custom', path: ['include'], message: `${method} indexes do not support INCLUDE columns` });
    }
  });

const checkExpectSchema = z.strictObject({
  uses_index: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  no_seq_scan: z.union([z.boolean(), z.array(z.string().min(1)).min(1)]).optional(),
  max_ms: z.number().positive().optional(),
  max_planning_ms: z.number().positive().optional(),
  percentile: z.number().gt(0).max(100).optional(),
  max_buffers: z.number().int().nonnegative().optional(),
  max_rows_removed_ratio: z.number().min(0).max(1).optional(),
  max_estimate_error: z.number().min(1).optional(),
  no_disk_sort: z.boolean().optional(),
  no_temp_blocks: z.boolean().optional(),
});

export const checkSchema = z.strictObject({
  name: z.string().min(1),
  query: z.string().min(1),
  params: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  runs: z.number().int().min(1).max(1000).optional(),
  warmup: z.number().int().min(0).max(100).optional(),
  generic: z.boolean().optional(),
  timeout: z.string().regex(/^\d+(\.\d+)?\s*(ms|s)$/, 'a duration like 500ms or 5s').optional(),
  expect: checkExpectSchema,
});

export const indexSetSchema = z
  .strictObject({
    set: z.string().min(1).meta({ description: 'Name of the index set (one PR\'s worth of indexes).' }),
    description: z.string().optional(),
    indexes: z.array(indexSchema).default([]),
    checks: z.array(checkSchema).optional(),
  })
  .superRefine((set, ctx) => {
    if (set.indexes.length === 0 && !set.checks?.length) {
      ctx.addIssue({ code: 'custom', path: ['indexes'], message: 'an index set needs at least one index (or check)' });
    }
  })
  .meta({ title: 'dbtune index set', description: 'Indexes dbtune plans, builds with CREATE INDEX CONCURRENTLY, and verifies.' });

/** A standalone checks file for `dbtune explain`. */
export const checksFileSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    description: z.string().optional(),
    checks: z.array(checkSchema).min(1, 'a checks file needs at least one check'),
  })
  .meta({ title: 'dbtune checks', description: 'EXPLAIN ANALYZE checks with plan assertions, run by `dbtune explain`.' });

export type IndexSetFile = z.infer<typeof indexSetSchema>;
export type IndexEntry = z.infer<typeof indexSchema>;
export type IndexKeyEntry = z.infer<typeof indexKeySchema>;
export type CheckEntry = z.infer<typeof checkSchema>;
