-- dbeaver.sql: recorded 2026-11-22 from the log of PostgreSQL 15.18 (log_statement=all) by tests/pgwire/replays/record.py.
-- Source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql model/PostgreExecutionContext, PostgreDatabase, PostgreSchema, PostgreDataTypeCache (2020-2024 sources), through pgJDBC; pgJDBC 42.5.5 (Debian).
-- One statement per entry, ended by a line ';'. Parameters of extended-protocol
-- statements are replaced by their logged values. Marks: '-- expect: 25006'
-- (Concord refuses the write), '-- lists: ...' (relations the answer named).

SET extra_float_digits = 3
;
SET application_name = 'PostgreSQL JDBC Driver'
;
SET application_name = 'DBeaver 7.3.0 - Metadata'
;
SELECT current_schema(),session_user
;
SHOW search_path
;
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='postgres'
;
SELECT c.oid, a.attnum, a.attname, c.relname, n.nspname, a.attnotnull OR (t.typtype = 'd' AND t.typnotnull), a.attidentity != '' OR pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%' FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON (c.relnamespace = n.oid) JOIN pg_catalog.pg_attribute a ON (c.oid = a.attrelid) JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid) LEFT JOIN pg_catalog.pg_attrdef d ON (d.adrelid = a.attrelid AND d.adnum = a.attnum) JOIN (SELECT 1262 AS oid , 1 AS attnum UNION ALL SELECT 1262, 1 UNION ALL SELECT 1262, 2 UNION ALL SELECT 1262, 3 UNION ALL SELECT 1262, 4 UNION ALL SELECT 1262, 5 UNION ALL SELECT 1262, 6 UNION ALL SELECT 1262, 7 UNION ALL SELECT 1262, 8 UNION ALL SELECT 1262, 9 UNION ALL SELECT 1262, 10 UNION ALL SELECT 1262, 11 UNION ALL SELECT 1262, 12 UNION ALL SELECT 1262, 13 UNION ALL SELECT 1262, 14 UNION ALL SELECT 1262, 15 UNION ALL SELECT 1262, 16) vals ON (c.oid = vals.oid AND a.attnum = vals.attnum)
;
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = '28'  ORDER BY sp.r, pg_type.oid DESC
;
SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = '28'
;
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = '1034'  ORDER BY sp.r, pg_type.oid DESC
;
SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = '1034'
;
SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass
 ORDER BY nspname
;
SELECT c.oid, a.attnum, a.attname, c.relname, n.nspname, a.attnotnull OR (t.typtype = 'd' AND t.typnotnull), a.attidentity != '' OR pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%' FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON (c.relnamespace = n.oid) JOIN pg_catalog.pg_attribute a ON (c.oid = a.attrelid) JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid) LEFT JOIN pg_catalog.pg_attrdef d ON (d.adrelid = a.attrelid AND d.adnum = a.attnum) JOIN (SELECT 2615 AS oid , 1 AS attnum UNION ALL SELECT 2615, 1 UNION ALL SELECT 2615, 2 UNION ALL SELECT 2615, 3 UNION ALL SELECT 2615, 4 UNION ALL SELECT 2609, 4) vals ON (c.oid = vals.oid AND a.attnum = vals.attnum)
;
SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description
FROM pg_catalog.pg_type t
LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem 
LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid
WHERE t.typname IS NOT NULL
AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')
;
SELECT c.oid, a.attnum, a.attname, c.relname, n.nspname, a.attnotnull OR (t.typtype = 'd' AND t.typnotnull), a.attidentity != '' OR pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%' FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON (c.relnamespace = n.oid) JOIN pg_catalog.pg_attribute a ON (c.oid = a.attrelid) JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid) LEFT JOIN pg_catalog.pg_attrdef d ON (d.adrelid = a.attrelid AND d.adnum = a.attnum) JOIN (SELECT 1247 AS oid , 1 AS attnum UNION ALL SELECT 1247, 1 UNION ALL SELECT 1247, 2 UNION ALL SELECT 1247, 3 UNION ALL SELECT 1247, 4 UNION ALL SELECT 1247, 5 UNION ALL SELECT 1247, 6 UNION ALL SELECT 1247, 7 UNION ALL SELECT 1247, 8 UNION ALL SELECT 1247, 9 UNION ALL SELECT 1247, 10 UNION ALL SELECT 1247, 11 UNION ALL SELECT 1247, 12 UNION ALL SELECT 1247, 13 UNION ALL SELECT 1247, 14 UNION ALL SELECT 1247, 15 UNION ALL SELECT 1247, 16 UNION ALL SELECT 1247, 17 UNION ALL SELECT 1247, 18 UNION ALL SELECT 1247, 19 UNION ALL SELECT 1247, 20 UNION ALL SELECT 1247, 21 UNION ALL SELECT 1247, 22 UNION ALL SELECT 1247, 23 UNION ALL SELECT 1247, 24 UNION ALL SELECT 1247, 25 UNION ALL SELECT 1247, 26 UNION ALL SELECT 1247, 27 UNION ALL SELECT 1247, 28 UNION ALL SELECT 1247, 29 UNION ALL SELECT 1247, 30 UNION ALL SELECT 1247, 31 UNION ALL SELECT 1247, 32 UNION ALL SELECT 1259, 17) vals ON (c.oid = vals.oid AND a.attnum = vals.attnum)
;
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = '24'  ORDER BY sp.r, pg_type.oid DESC
;
SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = '24'
;
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = '194'  ORDER BY sp.r, pg_type.oid DESC
;
SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = '194'
;
SELECT a.oid,a.*,pd.description FROM pg_catalog.pg_roles a 
left join pg_catalog.pg_shdescription pd on a.oid = pd.objoid
ORDER BY a.rolname
;
SELECT c.oid, a.attnum, a.attname, c.relname, n.nspname, a.attnotnull OR (t.typtype = 'd' AND t.typnotnull), a.attidentity != '' OR pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%' FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON (c.relnamespace = n.oid) JOIN pg_catalog.pg_attribute a ON (c.oid = a.attrelid) JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid) LEFT JOIN pg_catalog.pg_attrdef d ON (d.adrelid = a.attrelid AND d.adnum = a.attnum) JOIN (SELECT 12000 AS oid , 13 AS attnum UNION ALL SELECT 12000, 1 UNION ALL SELECT 12000, 2 UNION ALL SELECT 12000, 3 UNION ALL SELECT 12000, 4 UNION ALL SELECT 12000, 5 UNION ALL SELECT 12000, 6 UNION ALL SELECT 12000, 7 UNION ALL SELECT 12000, 8 UNION ALL SELECT 12000, 9 UNION ALL SELECT 12000, 10 UNION ALL SELECT 12000, 11 UNION ALL SELECT 12000, 12 UNION ALL SELECT 12000, 13 UNION ALL SELECT 2396, 3) vals ON (c.oid = vals.oid AND a.attnum = vals.attnum)
;
-- lists: customer_360, pipeline
SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key 
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace='2200' AND c.relkind not in ('i','c')
;
SELECT c.oid, a.attnum, a.attname, c.relname, n.nspname, a.attnotnull OR (t.typtype = 'd' AND t.typnotnull), a.attidentity != '' OR pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%' FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON (c.relnamespace = n.oid) JOIN pg_catalog.pg_attribute a ON (c.oid = a.attrelid) JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid) LEFT JOIN pg_catalog.pg_attrdef d ON (d.adrelid = a.attrelid AND d.adnum = a.attnum) JOIN (SELECT 1259 AS oid , 1 AS attnum UNION ALL SELECT 1259, 1 UNION ALL SELECT 1259, 2 UNION ALL SELECT 1259, 3 UNION ALL SELECT 1259, 4 UNION ALL SELECT 1259, 5 UNION ALL SELECT 1259, 6 UNION ALL SELECT 1259, 7 UNION ALL SELECT 1259, 8 UNION ALL SELECT 1259, 9 UNION ALL SELECT 1259, 10 UNION ALL SELECT 1259, 11 UNION ALL SELECT 1259, 12 UNION ALL SELECT 1259, 13 UNION ALL SELECT 1259, 14 UNION ALL SELECT 1259, 15 UNION ALL SELECT 1259, 16 UNION ALL SELECT 1259, 18 UNION ALL SELECT 1259, 19 UNION ALL SELECT 1259, 20 UNION ALL SELECT 1259, 21 UNION ALL SELECT 1259, 22 UNION ALL SELECT 1259, 23 UNION ALL SELECT 1259, 24 UNION ALL SELECT 1259, 25 UNION ALL SELECT 1259, 26 UNION ALL SELECT 1259, 27 UNION ALL SELECT 1259, 28 UNION ALL SELECT 1259, 29 UNION ALL SELECT 1259, 30 UNION ALL SELECT 1259, 31 UNION ALL SELECT 1259, 32 UNION ALL SELECT 1259, 33) vals ON (c.oid = vals.oid AND a.attnum = vals.attnum)
;
-- lists: customer_360, pipeline
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
WHERE NOT a.attisdropped AND c.relnamespace='2200' AND c.relkind not in ('i','c')  ORDER BY a.attnum
;
SELECT c.oid, a.attnum, a.attname, c.relname, n.nspname, a.attnotnull OR (t.typtype = 'd' AND t.typnotnull), a.attidentity != '' OR pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%' FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON (c.relnamespace = n.oid) JOIN pg_catalog.pg_attribute a ON (c.oid = a.attrelid) JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid) LEFT JOIN pg_catalog.pg_attrdef d ON (d.adrelid = a.attrelid AND d.adnum = a.attnum) JOIN (SELECT 1249 AS oid , 1 AS attnum UNION ALL SELECT 1249, 2 UNION ALL SELECT 1249, 3 UNION ALL SELECT 1249, 4 UNION ALL SELECT 1249, 5 UNION ALL SELECT 1249, 6 UNION ALL SELECT 1249, 7 UNION ALL SELECT 1249, 8 UNION ALL SELECT 1249, 9 UNION ALL SELECT 1249, 10 UNION ALL SELECT 1249, 11 UNION ALL SELECT 1249, 12 UNION ALL SELECT 1249, 13 UNION ALL SELECT 1249, 14 UNION ALL SELECT 1249, 15 UNION ALL SELECT 1249, 16 UNION ALL SELECT 1249, 17 UNION ALL SELECT 1249, 18 UNION ALL SELECT 1249, 19 UNION ALL SELECT 1249, 20 UNION ALL SELECT 1249, 21 UNION ALL SELECT 1249, 22 UNION ALL SELECT 1249, 23 UNION ALL SELECT 1249, 24 UNION ALL SELECT 1249, 25 UNION ALL SELECT 1249, 26) vals ON (c.oid = vals.oid AND a.attnum = vals.attnum)
;
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = '2277'  ORDER BY sp.r, pg_type.oid DESC
;
SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = '2277'
;
SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,d.description
FROM pg_catalog.pg_constraint c
INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid
LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_constraint'::regclass
WHERE t.relnamespace='2200'
ORDER BY c.oid
;
SELECT c.oid, a.attnum, a.attname, c.relname, n.nspname, a.attnotnull OR (t.typtype = 'd' AND t.typnotnull), a.attidentity != '' OR pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%' FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON (c.relnamespace = n.oid) JOIN pg_catalog.pg_attribute a ON (c.oid = a.attrelid) JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid) LEFT JOIN pg_catalog.pg_attrdef d ON (d.adrelid = a.attrelid AND d.adnum = a.attnum) JOIN (SELECT 2606 AS oid , 1 AS attnum UNION ALL SELECT 2606, 1 UNION ALL SELECT 2606, 2 UNION ALL SELECT 2606, 3 UNION ALL SELECT 2606, 4 UNION ALL SELECT 2606, 5 UNION ALL SELECT 2606, 6 UNION ALL SELECT 2606, 7 UNION ALL SELECT 2606, 8 UNION ALL SELECT 2606, 9 UNION ALL SELECT 2606, 10 UNION ALL SELECT 2606, 11 UNION ALL SELECT 2606, 12 UNION ALL SELECT 2606, 13 UNION ALL SELECT 2606, 14 UNION ALL SELECT 2606, 15 UNION ALL SELECT 2606, 16 UNION ALL SELECT 2606, 17 UNION ALL SELECT 2606, 18 UNION ALL SELECT 2606, 19 UNION ALL SELECT 2606, 20 UNION ALL SELECT 2606, 21 UNION ALL SELECT 2606, 22 UNION ALL SELECT 2606, 23 UNION ALL SELECT 2606, 24 UNION ALL SELECT 2606, 25 UNION ALL SELECT 2606, 26) vals ON (c.oid = vals.oid AND a.attnum = vals.attnum)
;
select c.oid,pg_catalog.pg_total_relation_size(c.oid) as total_rel_size,pg_catalog.pg_relation_size(c.oid) as rel_size
FROM pg_class c
WHERE c.relnamespace='2200'
;
SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key 
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace='16384' AND c.relkind not in ('i','c')
;
SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,c.reltablespace,tc.relname as tabrelname,dsc.description,pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred_expr,pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr,pg_catalog.pg_relation_size(i.indexrelid) as index_rel_size,pg_catalog.pg_stat_get_numscans(i.indexrelid) as index_num_scans
FROM pg_catalog.pg_index i
INNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid
INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid
LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid
WHERE  i.indrelid='16385' ORDER BY c.relname
;
SELECT c.oid, a.attnum, a.attname, c.relname, n.nspname, a.attnotnull OR (t.typtype = 'd' AND t.typnotnull), a.attidentity != '' OR pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%' FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON (c.relnamespace = n.oid) JOIN pg_catalog.pg_attribute a ON (c.oid = a.attrelid) JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid) LEFT JOIN pg_catalog.pg_attrdef d ON (d.adrelid = a.attrelid AND d.adnum = a.attnum) JOIN (SELECT 2610 AS oid , 1 AS attnum UNION ALL SELECT 2610, 2 UNION ALL SELECT 2610, 3 UNION ALL SELECT 2610, 4 UNION ALL SELECT 2610, 5 UNION ALL SELECT 2610, 6 UNION ALL SELECT 2610, 7 UNION ALL SELECT 2610, 8 UNION ALL SELECT 2610, 9 UNION ALL SELECT 2610, 10 UNION ALL SELECT 2610, 11 UNION ALL SELECT 2610, 12 UNION ALL SELECT 2610, 13 UNION ALL SELECT 2610, 14 UNION ALL SELECT 2610, 15 UNION ALL SELECT 2610, 16 UNION ALL SELECT 2610, 17 UNION ALL SELECT 2610, 18 UNION ALL SELECT 2610, 19 UNION ALL SELECT 2610, 20 UNION ALL SELECT 2610, 21 UNION ALL SELECT 2610, 16) vals ON (c.oid = vals.oid AND a.attnum = vals.attnum)
;
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = '22'  ORDER BY sp.r, pg_type.oid DESC
;
SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = '22'
;
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = '30'  ORDER BY sp.r, pg_type.oid DESC
;
SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = '30'
;
