"""A PostgreSQL-shaped catalog (pg_catalog, information_schema) of the engine's views and
source tables, answered by a private DuckDB database, so psql's \\d commands, SQLAlchemy's
inspector and the BI tools' startup queries see Concord as a PostgreSQL database.

The catalog is built from what the engine knows (views in ``public``, each source as its
own schema, column types from binding each object over empty tables, never from fetching
data) and rebuilt after the engine's ``schema_ttl_seconds``. A catalog query is rewritten
(``pg_catalog.`` to the private schema, ``OPERATOR(pg_catalog.~)`` to ``~``) and run
there; a shape the catalog cannot answer is logged once with the client's
``application_name``.
"""

from __future__ import annotations

import logging
import re
import threading
import time

import duckdb
import pyarrow as pa

from federation.engine import Federation
from federation.errors import ConcordError, QueryError
from federation.pgwire.types import pg_type

log = logging.getLogger("concord.pgwire")
PGC, PGIS = "pgc", "pgis"  # the private schemas standing in for pg_catalog, information_schema
PG_CATALOG_OID, PUBLIC_OID, INFO_SCHEMA_OID, FIRST_OID = 11, 2200, 13_000, 16_384
OWNER_OID, DATABASE_OID = 10, 16_000
_CATALOG_TABLES = ("pg_class", "pg_namespace", "pg_attribute", "pg_type", "pg_database",
                   "pg_roles", "pg_user", "pg_description", "pg_am", "pg_index",
                   "pg_constraint", "pg_inherits", "pg_attrdef", "pg_settings", "pg_proc",
                   "pg_tables", "pg_views", "pg_collation", "pg_enum", "pg_range",
                   "pg_sequence")
_REFERENCES = re.compile(r"\b(pg_catalog|information_schema)\s*\.|\b("
                         + "|".join(_CATALOG_TABLES) + r")\b", re.I)
#: PostgreSQL's base types as clients look them up in pg_type: (oid, name, len, array oid)
BASE_TYPES = ((16, "bool", 1, 1000), (17, "bytea", -1, 1001), (18, "char", 1, 1002),
              (19, "name", 64, 1003), (20, "int8", 8, 1016), (21, "int2", 2, 1005),
              (23, "int4", 4, 1007), (25, "text", -1, 1009), (26, "oid", 4, 1028),
              (114, "json", -1, 199), (700, "float4", 4, 1021), (701, "float8", 8, 1022),
              (1042, "bpchar", -1, 1014), (1043, "varchar", -1, 1015),
              (1082, "date", 4, 1182), (1083, "time", 8, 1183),
              (1114, "timestamp", 8, 1115), (1184, "timestamptz", 8, 1185),
              (1186, "interval", 16, 1187), (1700, "numeric", -1, 1231),
              (2950, "uuid", 16, 2951), (3802, "jsonb", -1, 3807))
MACROS = (
    "pg_get_userbyid(oid) AS 'concord'",
    "pg_table_is_visible(rel) AS rel IN (SELECT c.oid FROM {pgc}.pg_class c "
    "WHERE c.relnamespace IN (11, 2200))",
    "pg_type_is_visible(x) AS true",
    "pg_function_is_visible(x) AS true",
    "pg_encoding_to_char(encoding) AS 'UTF8'",
    "pg_get_expr(expr, relid) AS NULL, (expr, relid, pretty) AS NULL",
    "obj_description(x, catalog) AS NULL",
    "col_description(x, column_number) AS NULL",
    "shobj_description(x, catalog) AS NULL",
    "format_type(type_oid, typemod) AS (SELECT CASE t.typname WHEN 'int8' THEN 'bigint' "
    "WHEN 'int4' THEN 'integer' WHEN 'int2' THEN 'smallint' WHEN 'float8' THEN "
    "'double precision' WHEN 'float4' THEN 'real' WHEN 'bool' THEN 'boolean' WHEN "
    "'timestamptz' THEN 'timestamp with time zone' WHEN 'timestamp' THEN "
    "'timestamp without time zone' WHEN 'varchar' THEN 'character varying' ELSE t.typname "
    "END FROM {pgc}.pg_type t WHERE t.oid = type_oid)",
    "has_table_privilege(a, b) AS true, (a, b, c) AS true",
    "has_schema_privilege(a, b) AS true, (a, b, c) AS true",
    "has_database_privilege(a, b) AS true, (a, b, c) AS true",
    "current_schemas(include_implicit) AS ['pg_catalog', 'public']",
    "pg_is_in_recovery() AS false",
    "to_regtype(type_name) AS (SELECT t.oid FROM {pgc}.pg_type t WHERE t.typname = "
    "lower(type_name))",
    "to_regclass(rel_name) AS (SELECT c.oid FROM {pgc}.pg_class c WHERE c.relname = "
    "rel_name LIMIT 1)",
    "pg_get_serial_sequence(rel, col) AS NULL",
    "pg_collation_is_visible(x) AS true",
    "pg_postmaster_start_time() AS TIMESTAMPTZ '2026-01-01 00:00:00+00'",
)


def references_catalog(sql: str) -> bool:
    """Whether a query reads pg_catalog or information_schema (and so is answered here)."""
    return _REFERENCES.search(sql) is not None


class PgCatalog:
    """The catalog DuckDB for one engine, rebuilt after the engine's schema TTL."""

    def __init__(self, federation: Federation, users: list[str]) -> None:
        self.federation = federation
        self.users = users
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._built_at = 0.0
        self._logged: set[str] = set()
        self._closing = threading.Event()

    def close(self) -> None:
        """Stop a build in progress (the server is shutting down)."""
        self._closing.set()

    def query(self, sql: str, application: str = "") -> pa.Table:
        """Answer a catalog query (runs in a worker thread)."""
        con = self._connection()
        text = rewrite(sql)
        try:
            with self._lock:
                return con.cursor().sql(text).to_arrow_table() if text.strip() else pa.table({})
        except duckdb.Error as exc:
            shape = re.sub(r"'[^']*'|\b\d+\b", "?", " ".join(sql.split()))[:300]
            if shape not in self._logged:
                self._logged.add(shape)
                log.warning("catalog query not answered (application_name=%r): %s -- %s",
                            application, shape, str(exc).splitlines()[0])
                log.debug("catalog query as rewritten: %s", text)
            raise QueryError(f"this catalog query is not supported yet: "
                             f"{str(exc).splitlines()[0]}") from None

    def warm(self) -> None:
        """Build the catalog now (at server start), logging instead of failing."""
        try:
            self._connection()
        except Exception:  # noqa: BLE001 - the first catalog query will say what is wrong
            if not self._closing.is_set():
                log.exception("catalog: building it failed")

    def _connection(self) -> duckdb.DuckDBPyConnection:
        ttl = self.federation.catalog.settings.schema_ttl_seconds
        with self._lock:
            if self._con is None or time.monotonic() - self._built_at > ttl:
                self._con = self._build()
                self._built_at = time.monotonic()
            return self._con

    def _objects(self) -> list[tuple[str, str, str, pa.Schema]]:
        """(schema, name, relkind, columns) of every view and reachable source table."""
        fed = self.federation
        objects = []
        for view in fed.views.names():
            if self._closing.is_set():
                raise QueryError("the server is shutting down")
            try:
                objects.append(("public", view, "v", fed.describe(f"SELECT * FROM {view}")))
            except ConcordError as exc:  # a view over a source that is down
                log.warning("catalog: view %s left out: %s", view, exc)
        for source in fed.source_names():
            if self._closing.is_set():
                raise QueryError("the server is shutting down")
            try:
                tables = fed.tables(source)
            except ConcordError as exc:
                log.warning("catalog: source %s left out: %s", source, exc)
                continue
            for name, info in tables.items():
                objects.append((source, name, "r", info.arrow_schema()))
        return objects

    def _build(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:", config={"enable_external_access": False})
        con.execute(f"CREATE SCHEMA {PGC}; CREATE SCHEMA {PGIS}")
        objects = self._objects()
        schemas = ["public", *sorted({o[0] for o in objects} - {"public"})]
        nsp = {name: (PUBLIC_OID if name == "public" else FIRST_OID + i)
               for i, name in enumerate(schemas)}
        namespaces = [(PG_CATALOG_OID, "pg_catalog"), (INFO_SCHEMA_OID, "information_schema"),
                      *((oid, name) for name, oid in nsp.items())]
        classes, attributes, columns = [], [], []
        next_oid = FIRST_OID + 1000
        for schema, name, kind, arrow in objects:
            next_oid += 1
            classes.append((next_oid, name, nsp[schema], kind, len(arrow)))
            for position, field in enumerate(arrow, 1):
                pgt = pg_type(field.type)
                attributes.append((next_oid, field.name, pgt.oid, position, pgt.size))
                columns.append((schema, name, field.name, position, pgt.name,
                                _udt(pgt.oid)))
        self._tables(con, namespaces, classes, attributes, columns)
        for macro in MACROS:
            con.execute(f"CREATE MACRO {macro.format(pgc=PGC)}")  # main: shadows DuckDB's
        return con

    def _tables(self, con: duckdb.DuckDBPyConnection, namespaces: list, classes: list,
                attributes: list, columns: list) -> None:
        def load(name: str, rows: list, columns_sql: str, constants_sql: str = "") -> None:
            """``columns_sql`` are filled from ``rows``; ``constants_sql`` are the columns
            clients read whose value is the same for every Concord object (DEFAULTs)."""
            con.execute(f"CREATE TABLE {name} ({columns_sql}"
                        f"{', ' + constants_sql if constants_sql else ''})")
            if rows:
                names = ", ".join(c.split()[0] for c in columns_sql.split(", "))
                marks = ", ".join("?" * len(rows[0]))
                con.executemany(f"INSERT INTO {name} ({names}) VALUES ({marks})", rows)

        load(f"{PGC}.pg_namespace", [(o, n, OWNER_OID) for o, n in namespaces],
             "oid INTEGER, nspname VARCHAR, nspowner INTEGER", "nspacl VARCHAR[]")
        load(f"{PGC}.pg_class", classes, "oid INTEGER, relname VARCHAR, relnamespace INTEGER, "
             "relkind VARCHAR, relnatts INTEGER",
             f"relowner INTEGER DEFAULT {OWNER_OID}, relam INTEGER DEFAULT 0, "
             "reltype INTEGER DEFAULT 0, reltablespace INTEGER DEFAULT 0, "
             "reloftype INTEGER DEFAULT 0, reltuples INTEGER DEFAULT -1, "
             "relpages INTEGER DEFAULT 0, reltoastrelid INTEGER DEFAULT 0, "
             "relchecks INTEGER DEFAULT 0, relhasindex BOOLEAN DEFAULT false, "
             "relhasrules BOOLEAN DEFAULT false, relhastriggers BOOLEAN DEFAULT false, "
             "relrowsecurity BOOLEAN DEFAULT false, relforcerowsecurity BOOLEAN DEFAULT false, "
             "relispartition BOOLEAN DEFAULT false, relhassubclass BOOLEAN DEFAULT false, "
             "relisshared BOOLEAN DEFAULT false, relpersistence VARCHAR DEFAULT 'p', "
             "relreplident VARCHAR DEFAULT 'n', relacl VARCHAR[], reloptions VARCHAR[], "
             "relpartbound VARCHAR")
        load(f"{PGC}.pg_attribute", attributes, "attrelid INTEGER, attname VARCHAR, "
             "atttypid INTEGER, attnum INTEGER, attlen INTEGER",
             "atttypmod INTEGER DEFAULT -1, attnotnull BOOLEAN DEFAULT false, "
             "attisdropped BOOLEAN DEFAULT false, atthasdef BOOLEAN DEFAULT false, "
             "attidentity VARCHAR DEFAULT '', attgenerated VARCHAR DEFAULT '', "
             "attcollation INTEGER DEFAULT 0, attndims INTEGER DEFAULT 0, "
             "attislocal BOOLEAN DEFAULT true, attinhcount INTEGER DEFAULT 0, "
             "attstattarget INTEGER DEFAULT -1, attstorage VARCHAR DEFAULT 'x'")
        types = [(oid, name, PG_CATALOG_OID, size, "b", 0, 0, array, -1, False, 0, "U")
                 for oid, name, size, array in BASE_TYPES]
        load(f"{PGC}.pg_type", types, "oid INTEGER, typname VARCHAR, typnamespace INTEGER, "
             "typlen INTEGER, typtype VARCHAR, typrelid INTEGER, typelem INTEGER, "
             "typarray INTEGER, typtypmod INTEGER, typnotnull BOOLEAN, typbasetype INTEGER, "
             "typcategory VARCHAR",
             f"typowner INTEGER DEFAULT {OWNER_OID}, typcollation INTEGER DEFAULT 0, "
             "typdelim VARCHAR DEFAULT ',', typinput VARCHAR DEFAULT ''")
        load(f"{PGC}.pg_database", [(DATABASE_OID, "concord", OWNER_OID, 6, "C", "C", None,
                                     "c", None, True, False, -1)],
             "oid INTEGER, datname VARCHAR, datdba INTEGER, encoding INTEGER, "
             "datcollate VARCHAR, datctype VARCHAR, daticulocale VARCHAR, "
             "datlocprovider VARCHAR, datacl VARCHAR[], datallowconn BOOLEAN, "
             "datistemplate BOOLEAN, datconnlimit INTEGER")
        roles = [(OWNER_OID, "concord", True), *((OWNER_OID + 1 + i, u, False)
                                                  for i, u in enumerate(self.users))]
        load(f"{PGC}.pg_roles", roles, "oid INTEGER, rolname VARCHAR, rolsuper BOOLEAN")
        con.execute(f"CREATE VIEW {PGC}.pg_user AS SELECT rolname AS usename, oid AS usesysid, "
                    f"rolsuper AS usesuper FROM {PGC}.pg_roles")
        load(f"{PGC}.pg_am", [], "oid INTEGER, amname VARCHAR, amtype VARCHAR")
        load(f"{PGC}.pg_description", [], "objoid INTEGER, classoid INTEGER, "
             "objsubid INTEGER, description VARCHAR")
        load(f"{PGC}.pg_index", [], "indexrelid INTEGER, indrelid INTEGER, indisprimary "
             "BOOLEAN, indisunique BOOLEAN, indkey INTEGER[]")
        load(f"{PGC}.pg_constraint", [], "oid INTEGER, conname VARCHAR, conrelid INTEGER, "
             "contype VARCHAR, conkey INTEGER[], confrelid INTEGER, connamespace INTEGER")
        load(f"{PGC}.pg_inherits", [], "inhrelid INTEGER, inhparent INTEGER, inhseqno INTEGER")
        load(f"{PGC}.pg_attrdef", [], "oid INTEGER, adrelid INTEGER, adnum INTEGER, "
             "adbin VARCHAR")
        load(f"{PGC}.pg_collation", [], "oid INTEGER, collname VARCHAR, "
             "collnamespace INTEGER")
        load(f"{PGC}.pg_enum", [], "oid INTEGER, enumtypid INTEGER, enumlabel VARCHAR")
        load(f"{PGC}.pg_range", [], "rngtypid INTEGER, rngsubtype INTEGER")
        load(f"{PGC}.pg_sequence", [], "seqrelid INTEGER, seqtypid INTEGER, seqstart BIGINT, "
             "seqincrement BIGINT, seqmax BIGINT, seqmin BIGINT, seqcache BIGINT, "
             "seqcycle BOOLEAN")
        load(f"{PGC}.pg_proc", [], "oid INTEGER, proname VARCHAR, pronamespace INTEGER")
        load(f"{PGC}.pg_settings", [("server_version", "15.0"), ("server_encoding", "UTF8"),
                                    ("max_identifier_length", "63"),
                                    ("standard_conforming_strings", "on")],
             "name VARCHAR, setting VARCHAR")
        con.execute(f"""CREATE VIEW {PGC}.pg_tables AS SELECT n.nspname AS schemaname,
            c.relname AS tablename, 'concord' AS tableowner FROM {PGC}.pg_class c
            JOIN {PGC}.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'""")
        con.execute(f"""CREATE VIEW {PGC}.pg_views AS SELECT n.nspname AS schemaname,
            c.relname AS viewname, 'concord' AS viewowner, NULL AS definition
            FROM {PGC}.pg_class c JOIN {PGC}.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'v'""")
        load(f"{PGIS}.columns", [("concord", *c) for c in columns],
             "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, "
             "column_name VARCHAR, ordinal_position INTEGER, data_type VARCHAR, "
             "udt_name VARCHAR", "is_nullable VARCHAR DEFAULT 'YES', column_default VARCHAR")
        con.execute(f"""CREATE VIEW {PGIS}.tables AS SELECT 'concord' AS table_catalog,
            n.nspname AS table_schema, c.relname AS table_name,
            CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'BASE TABLE' END AS table_type
            FROM {PGC}.pg_class c JOIN {PGC}.pg_namespace n ON n.oid = c.relnamespace""")
        con.execute(f"""CREATE VIEW {PGIS}.views AS SELECT table_catalog, table_schema,
            table_name, NULL AS view_definition FROM {PGIS}.tables
            WHERE table_type = 'VIEW'""")
        con.execute(f"""CREATE VIEW {PGIS}.schemata AS SELECT 'concord' AS catalog_name,
            nspname AS schema_name, 'concord' AS schema_owner FROM {PGC}.pg_namespace""")


def _udt(oid: int) -> str:
    return next((name for o, name, _, _ in BASE_TYPES if o == oid), "text")


_OPERATOR = re.compile(r"OPERATOR\s*\(\s*pg_catalog\s*\.\s*([^\s)]+)\s*\)", re.I)
_COLLATE = re.compile(r"\s+COLLATE\s+pg_catalog\.\"?default\"?", re.I)
_COLUMN_QUALIFIER = re.compile(
    r"\b(?:pg_catalog|information_schema)\s*\.\s*(\w+)\s*\.(?=\s*\w)", re.I)
_JSON_OBJECT = re.compile(r"\b(?:pg_catalog\s*\.\s*)?json_build_object\s*\(", re.I)
_TYPE_QUALIFIER = re.compile(r"::\s*pg_catalog\s*\.\s*", re.I)
_FUNCTION = re.compile(r"\bpg_catalog\s*\.\s*(?=\w+\s*\()", re.I)
_QUALIFIED = re.compile(r"\b(pg_catalog|information_schema)\s*\.", re.I)
_BARE = re.compile(r"(?<![.\w])(" + "|".join(_CATALOG_TABLES) + r")\b(?!\s*[(.])", re.I)
_CASTS = re.compile(r"::\s*(?:pg_catalog\.)?(regclass|regtype|regproc|oid|name)\b", re.I)
_CAST_AS = re.compile(r"\bAS\s+(?:pg_catalog\.)?(regclass|regtype|regproc|oid|name)\s*\)",
                      re.I)


def rewrite(sql: str) -> str:
    """A catalog query in the private schemas' terms (textual: pglast is not used yet)."""
    text = _OPERATOR.sub(r"\1", sql)
    text = _COLLATE.sub("", text)
    text = _CASTS.sub(lambda m: "::VARCHAR" if m.group(1).lower() in ("name", "regtype",
                                                                      "regproc")
                      else "::INTEGER", text)
    text = _CAST_AS.sub(lambda m: "AS VARCHAR)" if m.group(1).lower() in ("name", "regtype",
                                                                         "regproc")
                        else "AS INTEGER)", text)
    text = _JSON_OBJECT.sub("json_object(", text)  # DuckDB's takes the same pairs
    text = _TYPE_QUALIFIER.sub("::", text)
    # schema.table.column -> table.column (DuckDB cannot resolve the long form of an
    # outer table inside a correlated subquery)
    text = _COLUMN_QUALIFIER.sub(r"\1.", text)
    text = _FUNCTION.sub("", text)  # functions: our macros and DuckDB's, unqualified
    text = _QUALIFIED.sub(lambda m: (PGC if m.group(1).lower() == "pg_catalog" else PGIS)
                          + ".", text)
    return _BARE.sub(lambda m: f"{PGC}.{m.group(1)}", text)
