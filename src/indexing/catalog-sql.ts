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
  -- Names come as JSON [[schema, name], …]: pg's text[] literals cost ~14 ms to write at 1,000 names, JSON ~1 ms.
  SELECT DISTINCT w.pair->>0 AS schema_name, w.pair->>1 AS index_name
  FROM json_array_elements($1::json) AS w(pair)
),
wanted_tables AS (
  SELECT DISTINCT t.pair->>0 AS schema_name, t.pair->>1 AS table_name FROM json_array_elements($2::json) AS t(pair)
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
  WHERE $3::bool
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
-- Every index's key arrays as pg_index stores them, and small dictionaries of what they refer to
-- (table columns, opclasses, collations, domains): the reader puts each column together
-- (catalog-columns.ts). Joining them per column here, sorting and grouping 2,000 wide rows,
-- cost a third of the statement at 1,000 indexes. indclass, indcollation and indoption hold
-- the key columns only.
index_keys AS MATERIALIZED (
  SELECT i.indexrelid AS oid, i.indrelid, i.indkey::int2[] AS keys, i.indclass::oid[] AS classes,
         i.indcollation::oid[] AS collations, i.indoption::int2[] AS options
  FROM (SELECT DISTINCT oid FROM targets) tg
  JOIN pg_index i ON i.indexrelid = tg.oid
),
key_tables AS MATERIALIZED (
  SELECT DISTINCT indrelid AS oid FROM index_keys
),
key_columns AS MATERIALIZED (
  SELECT att.attrelid, att.attnum, att.attname, att.atttypid, att.attcollation
  FROM key_tables kt JOIN pg_attribute att ON att.attrelid = kt.oid AND att.attnum > 0 AND NOT att.attisdropped
),
key_opclasses AS MATERIALIZED (
  SELECT DISTINCT c.oid FROM index_keys k CROSS JOIN LATERAL unnest(k.classes) AS c(oid)
),
key_collations AS MATERIALIZED (
  SELECT c.oid FROM index_keys k CROSS JOIN LATERAL unnest(k.collations) AS c(oid) WHERE c.oid <> 0
  UNION
  SELECT attcollation FROM key_columns WHERE attcollation <> 0
),
-- Domains and their base types (getBaseType), followed through domains over domains.
domain_bases AS (
  WITH RECURSIVE walk(oid, base) AS (
    SELECT t.oid, t.typbasetype FROM pg_type t WHERE t.typtype = 'd'
    UNION ALL
    SELECT w.oid, t.typbasetype FROM walk w JOIN pg_type t ON t.oid = w.base AND t.typtype = 'd')
  SELECT w.oid, w.base FROM walk w JOIN pg_type t ON t.oid = w.base AND t.typtype <> 'd'
)
SELECT json_build_object(
  -- Unqualified opclass and collation names resolve in the first schema of the path that has one
  -- (the temp schema is never searched for them): pg_catalog, unless the path names it later.
  'pg_catalog_first', (SELECT s.name = 'pg_catalog' FROM unnest(current_schemas(true)) WITH ORDINALITY AS s(name, n)
                       WHERE s.name NOT LIKE 'pg\\_temp\\_%' ORDER BY s.n LIMIT 1),
  'indexes', (SELECT json_agg(d) FROM details d WHERE d.declared),
  -- Keyed by index OID: [table OID, indkey, indclass, indcollation, indoption, expressions], where
  -- expressions are [column number, definition, the index column's type] of each indkey 0.
  'keys', (SELECT json_object_agg(k.oid::text, json_build_array(k.indrelid, k.keys, k.classes, k.collations, k.options,
             CASE WHEN 0 = ANY (k.keys) THEN (
               SELECT json_agg(json_build_array(e.n, pg_get_indexdef(k.oid, e.n::int, true), ia.atttypid) ORDER BY e.n)
               FROM unnest(k.keys) WITH ORDINALITY AS e(attnum, n)
               LEFT JOIN pg_attribute ia ON ia.attrelid = k.oid AND ia.attnum = e.n::int2
               WHERE e.attnum = 0) END))
           FROM index_keys k),
  -- Keyed by table OID, then column number: [quoted name, name, type, collation OID].
  'table_columns', (SELECT json_object_agg(t.attrelid::text, t.columns) FROM (
                      SELECT c.attrelid, json_object_agg(c.attnum::text, json_build_array(quote_ident(c.attname), c.attname, c.atttypid, c.attcollation)) AS columns
                      FROM key_columns c GROUP BY c.attrelid) t),
  -- Keyed by OID: [name, schema, access method, input type, is default for it, stored key type].
  'opclasses', (SELECT json_object_agg(oc.oid::text, json_build_array(oc.opcname, n.nspname, oc.opcmethod, oc.opcintype, oc.opcdefault, oc.opckeytype))
                FROM key_opclasses ko JOIN pg_opclass oc ON oc.oid = ko.oid JOIN pg_namespace n ON n.oid = oc.opcnamespace),
  -- [access method, input type] of every default opclass of the methods above (GetDefaultOpClass's candidates).
  'default_opclasses', (SELECT json_agg(json_build_array(oc.opcmethod, oc.opcintype)) FROM pg_opclass oc
                        WHERE oc.opcdefault AND oc.opcmethod IN (SELECT x.opcmethod FROM key_opclasses ko JOIN pg_opclass x ON x.oid = ko.oid)),
  -- Keyed by OID: the collation as a definition names it (unqualified in pg_catalog).
  'collations', (SELECT json_object_agg(co.oid::text, CASE WHEN n.nspname = 'pg_catalog' THEN co.collname ELSE n.nspname || '.' || co.collname END)
                 FROM key_collations kc JOIN pg_collation co ON co.oid = kc.oid JOIN pg_namespace n ON n.oid = co.collnamespace),
  -- Keyed by domain OID: its base type.
  'domain_bases', (SELECT json_object_agg(d.oid::text, d.base) FROM domain_bases d),
  'tables', (SELECT json_agg(json_build_object(
                'schema', t.schema_name, 'name', t.table_name, 'oid', t.oid::int8, 'relkind', t.relkind::text,
                'pages', t.relpages, 'tuples', t.reltuples,
                'indexes', CASE WHEN $3::bool THEN coalesce(ti.indexes, '[]') END,
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
