# ruff: noqa: E501, W291 - statements are kept as their sources write them (long lines, a trailing space)
"""What the BI tools that cannot run here send, reconstructed from their public source code.

record.py sends these to a real PostgreSQL 15 and writes what its log shows. Each script is
a list of (statement, parameters) in the order the tool sends them; parameters are bound the
way the tool binds them (("long", "2200") is setLong, ("string", "x") is setString), and the
$n placeholders they become are replaced by the logged values in the replay files. ``{oid:x}``
is replaced by the recording server's OID of relation or schema x before sending.
"""

from __future__ import annotations

Script = list[tuple[str, list[tuple[str, str]]]]

# -- Metabase --------------------------------------------------------------------------------
# metabase/metabase src/metabase/driver/postgres.clj (commit 008fd667, 2025):
# driver/db-default-timezone, enum-types, sql-jdbc.sync/current-user-table-privileges,
# get-tables-sql (describe-database*), describe-fields-sql, describe-fks-sql. The HoneySQL
# forms are rendered by hand as HoneySQL 2 renders them with :dialect :ansi (quoted
# identifiers, ? parameters, numbers as parameters); the raw strings are verbatim.
# (Index sync is switched off in that driver, so describe-indexes-sql is not sent.)
METABASE_SOURCE = ("metabase/metabase src/metabase/driver/postgres.clj (commit 008fd667), "
                   "through pgJDBC as Metabase's sql-jdbc driver opens connections")
METABASE: Script = [
    ("show timezone;", []),
    ("SELECT nspname, typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid IN (SELECT DISTINCT enumtypid FROM pg_enum e)", []),
    ("\n".join([
        "with table_privileges as (",
        " select",
        "   NULL as role,",
        "   t.schemaname as schema,",
        "   t.objectname as table,",
        "   pg_catalog.has_any_column_privilege(current_user, '\"' || replace(t.schemaname, '\"', '\"\"') || '\"' || '.' || '\"' || replace(t.objectname, '\"', '\"\"') || '\"',  'update') as update,",
        "   pg_catalog.has_any_column_privilege(current_user, '\"' || replace(t.schemaname, '\"', '\"\"') || '\"' || '.' || '\"' || replace(t.objectname, '\"', '\"\"') || '\"',  'select') as select,",
        "   pg_catalog.has_any_column_privilege(current_user, '\"' || replace(t.schemaname, '\"', '\"\"') || '\"' || '.' || '\"' || replace(t.objectname, '\"', '\"\"') || '\"',  'insert') as insert,",
        "   pg_catalog.has_table_privilege(     current_user, '\"' || replace(t.schemaname, '\"', '\"\"') || '\"' || '.' || '\"' || replace(t.objectname, '\"', '\"\"') || '\"',  'delete') as delete",
        " from (",
        "   select schemaname, tablename as objectname from pg_catalog.pg_tables",
        "   union",
        "   select schemaname, viewname as objectname from pg_catalog.pg_views",
        "   union",
        "   select schemaname, matviewname as objectname from pg_catalog.pg_matviews",
        " ) t",
        " where t.schemaname !~ '^pg_'",
        "   and t.schemaname <> 'information_schema'",
        "   and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')",
        ")",
        "select t.*",
        "from table_privileges t"]), []),
    ('SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN \'r\' THEN \'TABLE\' WHEN \'p\' THEN \'PARTITIONED TABLE\' WHEN \'v\' THEN \'VIEW\' WHEN \'f\' THEN \'FOREIGN TABLE\' WHEN \'m\' THEN \'MATERIALIZED VIEW\' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = ?) AND ("d"."classoid" = \'pg_class\'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ ?) AND ("n"."nspname" <> ?) AND c.relkind in (\'r\', \'p\', \'v\', \'f\', \'m\') AND ("n"."nspname" IN (?, ?)) ORDER BY "type" ASC, "schema" ASC, "name" ASC',
     [("long", "0"), ("string", "^pg_"), ("string", "information_schema"), ("string", "hubspot"), ("string", "public")]),
    ('SELECT "c"."column_name" AS "name", CASE WHEN "c"."udt_schema" IN (\'public\', \'pg_catalog\') THEN FORMAT(\'%s\', "c"."udt_name") ELSE FORMAT(\'"%s"."%s"\', "c"."udt_schema", "c"."udt_name") END AS "database-type", "c"."ordinal_position" - 1 AS "database-position", "c"."table_schema" AS "table-schema", "c"."table_name" AS "table-name", "pk"."column_name" IS NOT NULL AS "pk?", COL_DESCRIPTION(CAST(CAST(FORMAT(\'%I.%I\', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment", (("column_default" IS NULL) OR (LOWER("column_default") = \'null\')) AND ("is_nullable" = \'NO\') AND NOT ((("column_default" IS NOT NULL) AND ("column_default" LIKE \'%nextval(%\')) OR ("is_identity" <> \'NO\')) AS "database-required", (("column_default" IS NOT NULL) AND ("column_default" LIKE \'%nextval(%\')) OR ("is_identity" <> \'NO\') AS "database-is-auto-increment" FROM "information_schema"."columns" AS "c" LEFT JOIN (SELECT "tc"."table_schema", "tc"."table_name", "kc"."column_name" FROM "information_schema"."table_constraints" AS "tc" INNER JOIN "information_schema"."key_column_usage" AS "kc" ON ("tc"."constraint_name" = "kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema") AND ("tc"."table_name" = "kc"."table_name") WHERE "tc"."constraint_type" = \'PRIMARY KEY\') AS "pk" ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = "pk"."table_name") AND ("c"."column_name" = "pk"."column_name") WHERE c.table_schema !~ \'^information_schema|catalog_history|pg_\' AND ("c"."table_schema" IN (?)) AND ("c"."table_name" IN (?, ?)) UNION ALL SELECT "pa"."attname" AS "name", CASE WHEN "ptn"."nspname" IN (\'public\', \'pg_catalog\') THEN FORMAT(\'%s\', "pt"."typname") ELSE FORMAT(\'"%s"."%s"\', "ptn"."nspname", "pt"."typname") END AS "database-type", "pa"."attnum" - 1 AS "database-position", "pn"."nspname" AS "table-schema", "pc"."relname" AS "table-name", FALSE AS "pk?", NULL AS "field-comment", FALSE AS "database-required", FALSE AS "database-is-auto-increment" FROM "pg_catalog"."pg_class" AS "pc" INNER JOIN "pg_catalog"."pg_namespace" AS "pn" ON "pn"."oid" = "pc"."relnamespace" INNER JOIN "pg_catalog"."pg_attribute" AS "pa" ON "pa"."attrelid" = "pc"."oid" INNER JOIN "pg_catalog"."pg_type" AS "pt" ON "pt"."oid" = "pa"."atttypid" INNER JOIN "pg_catalog"."pg_namespace" AS "ptn" ON "ptn"."oid" = "pt"."typnamespace" WHERE ("pc"."relkind" = \'m\') AND ("pa"."attnum" >= 1) AND ("pn"."nspname" IN (?)) AND ("pc"."relname" IN (?, ?)) ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC',
     [("string", "public"), ("string", "customer_360"), ("string", "pipeline"),
      ("string", "public"), ("string", "customer_360"), ("string", "pipeline")]),
    ('SELECT "fk_ns"."nspname" AS "fk-table-schema", "fk_table"."relname" AS "fk-table-name", "fk_column"."attname" AS "fk-column-name", "pk_ns"."nspname" AS "pk-table-schema", "pk_table"."relname" AS "pk-table-name", "pk_column"."attname" AS "pk-column-name" FROM "pg_constraint" AS "c" INNER JOIN "pg_class" AS "fk_table" ON "c"."conrelid" = "fk_table"."oid" INNER JOIN "pg_namespace" AS "fk_ns" ON "c"."connamespace" = "fk_ns"."oid" INNER JOIN "pg_attribute" AS "fk_column" ON "c"."conrelid" = "fk_column"."attrelid" INNER JOIN "pg_class" AS "pk_table" ON "c"."confrelid" = "pk_table"."oid" INNER JOIN "pg_namespace" AS "pk_ns" ON "pk_table"."relnamespace" = "pk_ns"."oid" INNER JOIN "pg_attribute" AS "pk_column" ON "c"."confrelid" = "pk_column"."attrelid" WHERE fk_ns.nspname !~ \'^information_schema|catalog_history|pg_\' AND ("c"."contype" = \'f\'::char) AND ("fk_column"."attnum" = ANY(c.conkey)) AND ("pk_column"."attnum" = ANY(c.confkey)) AND ("fk_table"."relname" IN (?, ?)) AND ("fk_ns"."nspname" IN (?)) ORDER BY "fk-table-schema" ASC, "fk-table-name" ASC',
     [("string", "customer_360"), ("string", "pipeline"), ("string", "public")]),
]

# -- DBeaver ---------------------------------------------------------------------------------
# dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/
# postgresql/model/: PostgreExecutionContext.refreshDefaults (current schema, search path),
# PostgreDatabase (readDatabaseInfo, SchemaCache, cacheDataTypes, RoleCache; 2024 sources),
# PostgreSchema (TableCache with the PostgreSQL 10 partition columns, its children query,
# ConstraintCache; 2020 sources; collectObjectStatistics; IndexCache with relation sizes and
# pg_stat_get_numscans), run on DBeaver's metadata connection.
DBEAVER_SOURCE = ("dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql model/"
                  "PostgreExecutionContext, PostgreDatabase, PostgreSchema, "
                  "PostgreDataTypeCache (2020-2024 sources), through pgJDBC")
DBEAVER: Script = [
    ("SELECT current_schema(),session_user", []),
    ("SHOW search_path", []),
    ("SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname=?", [("string", "postgres")]),
    ("SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n\n"
     "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass\n"
     " ORDER BY nspname", []),
    ("SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description\n"
     "FROM pg_catalog.pg_type t\n"
     "LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem \n"
     "LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid\n"
     "LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid\n"
     "WHERE t.typname IS NOT NULL\n"
     "AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')", []),
    ("SELECT a.oid,a.*,pd.description FROM pg_catalog.pg_roles a \n"
     "left join pg_catalog.pg_shdescription pd on a.oid = pd.objoid\n"
     "ORDER BY a.rolname", []),
    ("SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key \n"
     "FROM pg_catalog.pg_class c\n"
     "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass\n"
     "WHERE c.relnamespace=? AND c.relkind not in ('i','c')", [("long", "{oid:public}")]),
    ("SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description\n"
     "FROM pg_catalog.pg_attribute a\n"
     "INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)\n"
     "LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)\n"
     "LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)\n"
     "WHERE NOT a.attisdropped AND c.relnamespace=? AND c.relkind not in ('i','c')  ORDER BY a.attnum",
     [("long", "{oid:public}")]),
    ("SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,d.description\n"
     "FROM pg_catalog.pg_constraint c\n"
     "INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid\n"
     "LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid\n"
     "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_constraint'::regclass\n"
     "WHERE t.relnamespace=?\n"
     "ORDER BY c.oid", [("long", "{oid:public}")]),
    ("select c.oid,pg_catalog.pg_total_relation_size(c.oid) as total_rel_size,pg_catalog.pg_relation_size(c.oid) as rel_size\n"
     "FROM pg_class c\n"
     "WHERE c.relnamespace=?", [("long", "{oid:public}")]),
    ("SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key \n"
     "FROM pg_catalog.pg_class c\n"
     "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass\n"
     "WHERE c.relnamespace=? AND c.relkind not in ('i','c')", [("long", "{oid:hubspot}")]),
    ("SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,c.reltablespace,tc.relname as tabrelname,dsc.description,pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred_expr,pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr,pg_catalog.pg_relation_size(i.indexrelid) as index_rel_size,pg_catalog.pg_stat_get_numscans(i.indexrelid) as index_num_scans\n"
     "FROM pg_catalog.pg_index i\n"
     "INNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid\n"
     "INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid\n"
     "LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid\n"
     "WHERE  i.indrelid=? ORDER BY c.relname", [("long", "{oid:hubspot.deals}")]),
]

# -- Tableau ---------------------------------------------------------------------------------
# Tableau is closed source. Its connection and extract probes are public in the issue threads
# of servers that had to answer them (cube-js/cube#10721 quoting Tableau Desktop 2025.3 over
# pgJDBC 42.2.27, crate/crate#10213); the capabilities behind them are documented in
# tableau/connector-plugin-sdk docs/capabilities.md (CAP_CREATE_TEMP_TABLES, CAP_SELECT_INTO).
# GROUP BY 2 over a one-column subquery is a probe PostgreSQL rejects: it is sent, and left
# out of the replay. The ODBC path reads through psqlODBC's declare/fetch
# (postgresql-interfaces/psqlodbc convert.c "declare \"%s\"%s cursor%s for ", qresult.c
# "fetch %d in \"%s\"", cursor names "SQL_CUR%p"; UseDeclareFetch=1, Fetch=100).
TABLEAU_SOURCE = ("Tableau probes as quoted in cube-js/cube#10721 and crate/crate#10213 "
                  "(Tableau is closed source), through pgJDBC; the ODBC cursor reads as "
                  "postgresql-interfaces/psqlodbc convert.c and qresult.c write them")
TABLEAU: Script = [
    ('CREATE LOCAL TEMPORARY TABLE "#Tableau_0_1_Connect_Check" ("COL" INTEGER) ON COMMIT PRESERVE ROWS', []),
    ('DROP TABLE "#Tableau_0_1_Connect_Check"', []),
    ('SELECT "SUBCOL" AS "COL" FROM (SELECT 1 AS "SUBCOL") "SUBQUERY" GROUP BY 2', []),
    ('SELECT *\nINTO TEMPORARY TABLE "#Tableau_0_2_Connect_CheckSelectIntoCap"\nFROM (SELECT 1 AS COL) AS CHECKTEMP', []),
    ('DROP TABLE "#Tableau_0_2_Connect_CheckSelectIntoCap"', []),
]
TABLEAU_ODBC_CURSOR = "SQL_CUR0x55d0c6e1a2b0"
TABLEAU_ODBC = [
    f'declare "{TABLEAU_ODBC_CURSOR}" cursor with hold for SELECT "deals"."dealname" AS "dealname",\n'
    '  SUM("deals"."amount") AS "sum:amount:ok"\nFROM "hubspot"."deals" "deals"\nGROUP BY 1',
    f'fetch 100 in "{TABLEAU_ODBC_CURSOR}"',
    f'close "{TABLEAU_ODBC_CURSOR}"',
]

# -- Power BI (Npgsql 4.0) ---------------------------------------------------------------------
# Power BI Desktop bundles Npgsql 4.0.17. Its type loading on first open is
# PostgresDatabaseInfo.GenerateTypesQuery(withRange: true, withEnum: true,
# withEnumSortOrder: true, loadTableComposites: false) of the Npgsql 4.0 line
# (src/Npgsql/PostgresDatabaseInfo.cs; the composite query orders by typ.oid since the
# #2020 fix), one command text that Npgsql splits at its semicolons and pipelines as three
# Parse/Bind/Describe/Execute with one Sync. A pooled connection is reset with DISCARD ALL
# (PregeneratedMessages). Power Query's own navigator queries are not public source.
POWERBI_SOURCE = ("npgsql/npgsql src/Npgsql/PostgresDatabaseInfo.cs, 4.0 line (as in the "
                  "4.0-based fork xfischer/npgsql commit 29424dc0), and Npgsql's DISCARD ALL "
                  "pool reset, sent by psycopg in pipeline mode as Npgsql sends them")
NPGSQL_TYPES = """
/*** Load all supported types ***/
SELECT ns.nspname, a.typname, a.oid, a.typrelid, a.typbasetype,
CASE WHEN pg_proc.proname='array_recv' THEN 'a' ELSE a.typtype END AS type,
CASE
  WHEN pg_proc.proname='array_recv' THEN a.typelem
  WHEN a.typtype='r' THEN rngsubtype
  ELSE 0
END AS elemoid,
CASE
  WHEN pg_proc.proname IN ('array_recv','oidvectorrecv') THEN 3    /* Arrays last */
  WHEN a.typtype='r' THEN 2                                        /* Ranges before */
  WHEN a.typtype='d' THEN 1                                        /* Domains before */
  ELSE 0                                                           /* Base types first */
END AS ord
FROM pg_type AS a
JOIN pg_namespace AS ns ON (ns.oid = a.typnamespace)
JOIN pg_proc ON pg_proc.oid = a.typreceive
LEFT OUTER JOIN pg_class AS cls ON (cls.oid = a.typrelid)
LEFT OUTER JOIN pg_type AS b ON (b.oid = a.typelem)
LEFT OUTER JOIN pg_class AS elemcls ON (elemcls.oid = b.typrelid)
LEFT OUTER JOIN pg_range ON (pg_range.rngtypid = a.oid) 
WHERE
  a.typtype IN ('b', 'r', 'e', 'd') OR         /* Base, range, enum, domain */
  (a.typtype = 'c' AND cls.relkind='c') OR /* User-defined free-standing composites (not table composites) by default */
  (pg_proc.proname='array_recv' AND (
    b.typtype IN ('b', 'r', 'e', 'd') OR       /* Array of base, range, enum, domain */
    (b.typtype = 'p' AND b.typname IN ('record', 'void')) OR /* Arrays of special supported pseudo-types */
    (b.typtype = 'c' AND elemcls.relkind='c')  /* Array of user-defined free-standing composites (not table composites) */
  )) OR
  (a.typtype = 'p' AND a.typname IN ('record', 'void'))  /* Some special supported pseudo-types */
ORDER BY ord;

/*** Load field definitions for (free-standing) composite types ***/
SELECT typ.oid, att.attname, att.atttypid
FROM pg_type AS typ
JOIN pg_namespace AS ns ON (ns.oid = typ.typnamespace)
JOIN pg_class AS cls ON (cls.oid = typ.typrelid)
JOIN pg_attribute AS att ON (att.attrelid = typ.typrelid)
WHERE
  (typ.typtype = 'c' AND cls.relkind='c') AND
  attnum > 0 AND     /* Don't load system attributes */
  NOT attisdropped
ORDER BY typ.oid, att.attnum;

/*** Load enum fields ***/
SELECT pg_type.oid, enumlabel
FROM pg_enum
JOIN pg_type ON pg_type.oid=enumtypid
ORDER BY oid, enumsortorder;
"""
NPGSQL_BATCH = [s.strip() for s in NPGSQL_TYPES.split(";") if s.strip()]
