const sqlCache = new Map<number, string>();

/**
 * The catalog statement for a server version (indnullsnotdistinct exists from
 * PostgreSQL 15). Every index it reports, declared or found on a table, is
 * described by the same `details` CTE, so both compare field for field.
 */
export function catalogSql(serverVersionNum: number): string {
  const cached = sqlCache.get(serverVersionNum);
  if (cached) return cached;
  const nullsNotDistinct = serverVersionNum >= 150000 ? 'i.indnullsnotdistinct' : 'false';
  const sql = `
WITH wanted AS (
  SELECT DISTINCT w.schema_name, w.index_name
  FROM unnest($1::text[], $2::text[]) AS w(schema_name, index_name)
),
wanted_tables AS (
  SELECT DISTINCT t.schema_name, t.table_name FROM unnest($3::text[], $4::text[]) AS t(schema_name, table_name)
),
-- Both views are cluster-wide, and OIDs repeat across databases: keep this database's rows only.
this_database AS MATERIALIZED (
  SELECT oid FROM pg_database WHERE datname = current_database()
),
progress AS MATERIALIZED (
  SELECT * FROM pg_stat_progress_create_index WHERE datid = (SELECT oid FROM this_database)
),
maintenance AS MATERIALIZED (
  SELECT DISTINCT l.relation
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE l.locktype = 'relation' AND l.mode = 'ShareUpdateExclusiveLock' AND l.granted
    AND l.database = (SELECT oid FROM this_database)
    AND l.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
),
-- Builds whose details this role may not see (other roles' sessions without pg_read_all_stats:
-- relid and index_relid read NULL). A progress row still says its pid runs CREATE INDEX or
-- REINDEX here, and pg_locks, visible to all, names the tables that pid holds.
hidden_builds AS MATERIALIZED (
  SELECT l.relation, min(l.pid) AS pid
  FROM pg_locks l JOIN progress p ON p.pid = l.pid AND p.relid IS NULL
  WHERE l.locktype = 'relation' AND l.granted AND l.database = (SELECT oid FROM this_database)
    AND l.pid <> pg_backend_pid()
  GROUP BY l.relation
),
matched AS (
  SELECT w.schema_name, w.index_name, ic.oid
  FROM wanted w
  JOIN pg_namespace n ON n.nspname = w.schema_name OR (w.schema_name = 'pg_temp' AND n.oid = pg_my_temp_schema())
  JOIN pg_class ic ON ic.relnamespace = n.oid AND ic.relname = w.index_name
),
tables AS (
  SELECT wt.schema_name, wt.table_name, c.oid, c.relkind, c.relpages, c.reltuples
  FROM wanted_tables wt
  LEFT JOIN pg_namespace ns ON ns.nspname = wt.schema_name
  LEFT JOIN pg_class c ON c.relnamespace = ns.oid AND c.relname = wt.table_name
),
constraint_indexes AS MATERIALIZED (
  SELECT DISTINCT conindid FROM pg_constraint WHERE contype IN ('p', 'u', 'x')
),
-- Declared indexes (under the name they were asked by) and, for --strict, every index of the
-- requested tables. The names travel with the rows: nothing joins back, so the statement stays
-- linear in the number of indexes (a join back was quadratic under a 1-row estimate).
targets AS (
  SELECT m.oid, m.schema_name, m.index_name, true AS declared FROM matched m
  UNION ALL
  SELECT i.indexrelid, t.schema_name, c.relname, false
  FROM pg_index i JOIN tables t ON i.indrelid = t.oid JOIN pg_class c ON c.oid = i.indexrelid
  WHERE $5::bool
),
details AS (
  SELECT tg.schema_name AS schema, tg.index_name AS name, tg.declared,
         ic.oid::int8 AS oid, ic.relkind::text AS relkind, i.indrelid AS table_oid,
         tn.nspname AS table_schema, tc.relname AS table_name, tc.relkind::text AS table_relkind,
         am.amname AS method, i.indisunique AS unique, ${nullsNotDistinct} AS nulls_not_distinct,
         i.indisvalid AS valid, i.indisready AS ready, i.indislive AS live, i.indnkeyatts AS nkeyatts,
         i.indisprimary AS is_primary,
         EXISTS (SELECT 1 FROM constraint_indexes k WHERE k.conindid = ic.oid) AS backs_constraint,
         pg_get_expr(i.indpred, i.indrelid, true) AS predicate,
         ic.reloptions AS storage,
         -- reltablespace 0 means the database's default tablespace: name it, so 'pg_default' compares equal.
         coalesce(ts.spcname, (SELECT dts.spcname FROM pg_database d JOIN pg_tablespace dts ON dts.oid = d.dattablespace
                                WHERE d.datname = current_database())) AS tablespace,
         (SELECT row_to_json(p) FROM progress p WHERE p.index_relid = ic.oid LIMIT 1) AS progress,
         EXISTS (SELECT 1 FROM maintenance m WHERE m.relation = i.indrelid) AS maintenance_locked,
         (SELECT hb.pid FROM hidden_builds hb WHERE hb.relation = i.indrelid) AS hidden_builder_pid,
         CASE WHEN ic.relkind = 'I' THEN (
           SELECT json_build_object(
             'leaf_tables', (SELECT count(*) FROM pg_partition_tree(i.indrelid) pt JOIN pg_class pc ON pc.oid = pt.relid
                             WHERE pt.isleaf AND pc.relkind IN ('r', 'm')),
             'leaf_indexes', count(*) FILTER (WHERE xt.isleaf),
             'valid_leaf_indexes', count(*) FILTER (WHERE xt.isleaf AND xi.indisvalid),
             'attached', json_agg(json_build_object('schema', xn.nspname, 'name', xc.relname, 'valid', xi.indisvalid))
                         FILTER (WHERE xt.level > 0))
           FROM pg_partition_tree(ic.oid) xt JOIN pg_index xi ON xi.indexrelid = xt.relid
           JOIN pg_class xc ON xc.oid = xi.indrelid JOIN pg_namespace xn ON xn.oid = xc.relnamespace) END AS partitions
  FROM targets tg
  JOIN pg_class ic ON ic.oid = tg.oid
  LEFT JOIN pg_index i ON i.indexrelid = ic.oid
  LEFT JOIN pg_class tc ON tc.oid = i.indrelid
  LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
  LEFT JOIN pg_am am ON am.oid = ic.relam
  LEFT JOIN pg_tablespace ts ON ts.oid = ic.reltablespace
),
table_indexes AS (
  SELECT d.table_oid, json_agg(d ORDER BY d.name) AS indexes FROM details d WHERE NOT d.declared GROUP BY d.table_oid
),
-- Every column of every index above, in one set-based pass (a subquery per index cost twice the
-- rest of the statement at 1,000 indexes). indclass, indcollation and indoption hold the key
-- columns only: unnest pads them with NULL for INCLUDE columns. One array per column:
-- [definition, is expression, indoption, opclass, its schema, is the column's default, collation,
--  table column (plain columns), its collation].
-- Domains and their base types (getBaseType), followed through domains over domains.
domain_bases AS (
  WITH RECURSIVE walk(oid, base) AS (
    SELECT t.oid, t.typbasetype FROM pg_type t WHERE t.typtype = 'd'
    UNION ALL
    SELECT w.oid, t.typbasetype FROM walk w JOIN pg_type t ON t.oid = w.base AND t.typtype = 'd')
  SELECT w.oid, w.base FROM walk w JOIN pg_type t ON t.oid = w.base AND t.typtype <> 'd'
),
index_columns AS (
  SELECT i.indexrelid AS oid,
         json_agg(json_build_array(
           CASE WHEN k.attnum = 0 THEN pg_get_indexdef(i.indexrelid, k.n::int, true) ELSE quote_ident(att.attname) END,
           k.attnum = 0,
           k.opt,
           -- opcdefault means "default for the opclass's own input type": the column's default
           -- is what GetDefaultOpClass picks for its base type, the default opclass of that exact
           -- type, else (none exists) a binary-coercible default such as text_ops for varchar.
           -- An expression's type is unknown when the opclass stores another key type: not default.
           oc.opcname, ocn.nspname,
           CASE WHEN oc.oid IS NOT NULL THEN coalesce(oc.opcdefault AND (oc.opcintype = ct.base_type OR NOT EXISTS (
             SELECT 1 FROM pg_opclass xo WHERE xo.opcmethod = oc.opcmethod AND xo.opcdefault AND xo.opcintype = ct.base_type)),
             false) END,
           CASE WHEN co.oid IS NULL THEN NULL WHEN con.nspname = 'pg_catalog' THEN co.collname ELSE con.nspname || '.' || co.collname END,
           att.attname,
           CASE WHEN aco.oid IS NULL THEN NULL WHEN acn.nspname = 'pg_catalog' THEN aco.collname ELSE acn.nspname || '.' || aco.collname END)
         ORDER BY k.n) AS columns
  FROM (SELECT DISTINCT oid FROM targets) tg
  JOIN pg_index i ON i.indexrelid = tg.oid
  CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indclass::oid[], i.indcollation::oid[], i.indoption::int2[])
    WITH ORDINALITY AS k(attnum, opclass, coll, opt, n)
  LEFT JOIN pg_attribute att ON k.attnum <> 0 AND att.attrelid = i.indrelid AND att.attnum = k.attnum
  LEFT JOIN pg_collation aco ON aco.oid = att.attcollation
  LEFT JOIN pg_namespace acn ON acn.oid = aco.collnamespace
  LEFT JOIN pg_opclass oc ON oc.oid = k.opclass
  LEFT JOIN pg_attribute ia ON k.attnum = 0 AND oc.opckeytype = 0 AND ia.attrelid = i.indexrelid AND ia.attnum = k.n
  CROSS JOIN LATERAL (SELECT coalesce(att.atttypid, ia.atttypid) AS column_type) cty
  LEFT JOIN domain_bases db ON db.oid = cty.column_type
  CROSS JOIN LATERAL (SELECT coalesce(db.base, cty.column_type) AS base_type) ct
  LEFT JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace
  LEFT JOIN pg_collation co ON co.oid = k.coll
  LEFT JOIN pg_namespace con ON con.oid = co.collnamespace
  GROUP BY i.indexrelid
)
SELECT json_build_object(
  -- Unqualified opclass and collation names resolve in the first schema of the path that has one
  -- (the temp schema is never searched for them): pg_catalog, unless the path names it later.
  'pg_catalog_first', (SELECT s.name = 'pg_catalog' FROM unnest(current_schemas(true)) WITH ORDINALITY AS s(name, n)
                       WHERE s.name NOT LIKE 'pg\\_temp\\_%' ORDER BY s.n LIMIT 1),
  'indexes', (SELECT json_agg(d) FROM details d WHERE d.declared),
  -- Keyed by index OID; the reader attaches each index's columns (nothing joins back here).
  'columns', (SELECT json_object_agg(c.oid::text, c.columns) FROM index_columns c),
  'tables', (SELECT json_agg(json_build_object(
                'schema', t.schema_name, 'name', t.table_name, 'oid', t.oid::int8, 'relkind', t.relkind::text,
                'pages', t.relpages, 'tuples', t.reltuples,
                'indexes', CASE WHEN $5::bool THEN coalesce(ti.indexes, '[]') END,
                'partitions', CASE WHEN t.relkind = 'p' THEN (
                  SELECT json_agg(json_build_object(
                           'schema', pn.nspname, 'name', pc.relname, 'relkind', pc.relkind::text, 'is_leaf', pt.isleaf,
                           'level', pt.level, 'parent_schema', ppn.nspname, 'parent_name', ppc.relname)
                         ORDER BY pt.level, pn.nspname, pc.relname)
                  FROM pg_partition_tree(t.oid) pt
                  JOIN pg_class pc ON pc.oid = pt.relid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                  JOIN pg_class ppc ON ppc.oid = pt.parentrelid JOIN pg_namespace ppn ON ppn.oid = ppc.relnamespace
                  WHERE pt.level > 0) END))
             FROM tables t LEFT JOIN table_indexes ti ON ti.table_oid = t.oid)
) AS snapshot`;
  sqlCache.set(serverVersionNum, sql);
  return sql;
}
