"""A PostgreSQL-shaped catalog (pg_catalog, information_schema) of the engine's views and
source tables, answered by a private DuckDB database, so psql's \\d commands, SQLAlchemy's
inspector and the BI tools' startup queries see Concord as a PostgreSQL database.

The catalog is built from what the engine knows (views in ``public``, each source as its
own schema, column types from binding each object over empty tables, never from fetching
data) and rebuilt after the engine's ``schema_ttl_seconds``. The built-in types, their
receive functions and the standard ranges are PostgreSQL 15's own rows (PG_TYPES), with
their real OIDs, since drivers (Npgsql, pgJDBC) map result columns by them.

A catalog query is rewritten (``pg_catalog.`` to the private schema, quoted or not,
``OPERATOR(pg_catalog.~)`` to ``~``, ``'pg_class'::regclass`` to a lookup, ``'{a,b}'::text[]``
to a list) and run there; string literals are left alone. A shape the catalog cannot answer
is logged once with the client's ``application_name``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

import duckdb
import pyarrow as pa

from federation.engine import Federation
from federation.errors import ConcordError, QueryError
from federation.pgwire.types import pg_type
from federation.policy import Guard

log = logging.getLogger("concord.pgwire")
PGC, PGIS = "pgc", "pgis"  # the private schemas standing in for pg_catalog, information_schema
PG_CATALOG_OID, PUBLIC_OID, INFO_SCHEMA_OID, FIRST_OID = 11, 2200, 13_000, 16_384
OWNER_OID, DATABASE_OID = 10, 16_000
_CATALOG_TABLES = ("pg_class", "pg_namespace", "pg_attribute", "pg_type", "pg_database",
                   "pg_roles", "pg_user", "pg_description", "pg_shdescription", "pg_am",
                   "pg_index", "pg_constraint", "pg_inherits", "pg_attrdef", "pg_settings",
                   "pg_proc", "pg_tables", "pg_views", "pg_matviews", "pg_collation",
                   "pg_enum", "pg_range", "pg_sequence", "pg_depend",
                   "pg_stat_user_tables", "pg_policy", "pg_opclass", "pg_statistic_ext",
                   "pg_publication", "pg_publication_rel", "pg_publication_namespace",
                   "pg_trigger", "pg_rewrite")
_REFERENCES = re.compile(r"\b(pg_catalog|information_schema)\"?\s*\.|\b("
                         + "|".join(_CATALOG_TABLES) + r")\b", re.I)
#: PostgreSQL 15's base and pseudo types as clients look them up in pg_type, as
#: (oid, typname, typlen, typbyval, typtype, typcategory, typelem, typarray, typinput,
#: typoutput, typreceive, receive function, typsend, send function, typalign, typstorage,
#: typcollation), copied from a PostgreSQL 15 server; their array types follow from typarray
#: (array_in/array_out, array_recv 2400/array_send 2401).
PG_TYPES = (
    (16, "bool", 1, True, "b", "B", 0, 1000, "boolin", "boolout", 2436, "boolrecv", 2437,
     "boolsend", "c", "p", 0),
    (17, "bytea", -1, False, "b", "U", 0, 1001, "byteain", "byteaout", 2412, "bytearecv",
     2413, "byteasend", "i", "x", 0),
    (18, "char", 1, True, "b", "Z", 0, 1002, "charin", "charout", 2434, "charrecv", 2435,
     "charsend", "c", "p", 0),
    (19, "name", 64, False, "b", "S", 18, 1003, "namein", "nameout", 2422, "namerecv", 2423,
     "namesend", "c", "p", 950),
    (20, "int8", 8, True, "b", "N", 0, 1016, "int8in", "int8out", 2408, "int8recv", 2409,
     "int8send", "d", "p", 0),
    (21, "int2", 2, True, "b", "N", 0, 1005, "int2in", "int2out", 2404, "int2recv", 2405,
     "int2send", "s", "p", 0),
    (22, "int2vector", -1, False, "b", "A", 21, 1006, "int2vectorin", "int2vectorout", 2410,
     "int2vectorrecv", 2411, "int2vectorsend", "i", "p", 0),
    (23, "int4", 4, True, "b", "N", 0, 1007, "int4in", "int4out", 2406, "int4recv", 2407,
     "int4send", "i", "p", 0),
    (24, "regproc", 4, True, "b", "N", 0, 1008, "regprocin", "regprocout", 2444,
     "regprocrecv", 2445, "regprocsend", "i", "p", 0),
    (25, "text", -1, False, "b", "S", 0, 1009, "textin", "textout", 2414, "textrecv", 2415,
     "textsend", "i", "x", 100),
    (26, "oid", 4, True, "b", "N", 0, 1028, "oidin", "oidout", 2418, "oidrecv", 2419,
     "oidsend", "i", "p", 0),
    (28, "xid", 4, True, "b", "U", 0, 1011, "xidin", "xidout", 2440, "xidrecv", 2441,
     "xidsend", "i", "p", 0),
    (30, "oidvector", -1, False, "b", "A", 26, 1013, "oidvectorin", "oidvectorout", 2420,
     "oidvectorrecv", 2421, "oidvectorsend", "i", "p", 0),
    (114, "json", -1, False, "b", "U", 0, 199, "json_in", "json_out", 323, "json_recv", 324,
     "json_send", "i", "x", 0),
    (194, "pg_node_tree", -1, False, "b", "Z", 0, 0, "pg_node_tree_in", "pg_node_tree_out",
     197, "pg_node_tree_recv", 198, "pg_node_tree_send", "i", "x", 100),
    (700, "float4", 4, True, "b", "N", 0, 1021, "float4in", "float4out", 2424, "float4recv",
     2425, "float4send", "i", "p", 0),
    (701, "float8", 8, True, "b", "N", 0, 1022, "float8in", "float8out", 2426, "float8recv",
     2427, "float8send", "d", "p", 0),
    (705, "unknown", -2, False, "p", "X", 0, 0, "unknownin", "unknownout", 2416,
     "unknownrecv", 2417, "unknownsend", "c", "p", 0),
    (1033, "aclitem", 12, False, "b", "U", 0, 1034, "aclitemin", "aclitemout", 0, "", 0, "",
     "i", "p", 0),
    (1042, "bpchar", -1, False, "b", "S", 0, 1014, "bpcharin", "bpcharout", 2430,
     "bpcharrecv", 2431, "bpcharsend", "i", "x", 100),
    (1043, "varchar", -1, False, "b", "S", 0, 1015, "varcharin", "varcharout", 2432,
     "varcharrecv", 2433, "varcharsend", "i", "x", 100),
    (1082, "date", 4, True, "b", "D", 0, 1182, "date_in", "date_out", 2468, "date_recv",
     2469, "date_send", "i", "p", 0),
    (1083, "time", 8, True, "b", "D", 0, 1183, "time_in", "time_out", 2470, "time_recv",
     2471, "time_send", "d", "p", 0),
    (1114, "timestamp", 8, True, "b", "D", 0, 1115, "timestamp_in", "timestamp_out", 2474,
     "timestamp_recv", 2475, "timestamp_send", "d", "p", 0),
    (1184, "timestamptz", 8, True, "b", "D", 0, 1185, "timestamptz_in", "timestamptz_out",
     2476, "timestamptz_recv", 2477, "timestamptz_send", "d", "p", 0),
    (1186, "interval", 16, False, "b", "T", 0, 1187, "interval_in", "interval_out", 2478,
     "interval_recv", 2479, "interval_send", "d", "p", 0),
    (1266, "timetz", 12, False, "b", "D", 0, 1270, "timetz_in", "timetz_out", 2472,
     "timetz_recv", 2473, "timetz_send", "d", "p", 0),
    (1700, "numeric", -1, False, "b", "N", 0, 1231, "numeric_in", "numeric_out", 2460,
     "numeric_recv", 2461, "numeric_send", "i", "m", 0),
    (2205, "regclass", 4, True, "b", "N", 0, 2210, "regclassin", "regclassout", 2452,
     "regclassrecv", 2453, "regclasssend", "i", "p", 0),
    (2206, "regtype", 4, True, "b", "N", 0, 2211, "regtypein", "regtypeout", 2454,
     "regtyperecv", 2455, "regtypesend", "i", "p", 0),
    (2249, "record", -1, False, "p", "P", 0, 2287, "record_in", "record_out", 2402,
     "record_recv", 2403, "record_send", "d", "x", 0),
    (2277, "anyarray", -1, False, "p", "P", 0, 0, "anyarray_in", "anyarray_out", 2502,
     "anyarray_recv", 2503, "anyarray_send", "d", "x", 0),
    (2278, "void", 4, True, "p", "P", 0, 0, "void_in", "void_out", 3120, "void_recv", 3121,
     "void_send", "i", "p", 0),
    (2950, "uuid", 16, False, "b", "U", 0, 2951, "uuid_in", "uuid_out", 2961, "uuid_recv",
     2962, "uuid_send", "c", "p", 0),
    (3802, "jsonb", -1, False, "b", "U", 0, 3807, "jsonb_in", "jsonb_out", 3805,
     "jsonb_recv", 3803, "jsonb_send", "i", "x", 0),
    (4089, "regnamespace", 4, True, "b", "N", 0, 4090, "regnamespacein", "regnamespaceout",
     4087, "regnamespacerecv", 4088, "regnamespacesend", "i", "p", 0),
)
#: the standard range types: (oid, typname, subtype, array oid, multirange oid, typalign)
PG_RANGES = ((3904, "int4range", 23, 3905, 4451, "i"), (3906, "numrange", 1700, 3907, 4532, "i"),
             (3908, "tsrange", 1114, 3909, 4533, "d"),
             (3910, "tstzrange", 1184, 3911, 4534, "d"),
             (3912, "daterange", 1082, 3913, 4535, "i"),
             (3926, "int8range", 20, 3927, 4536, "d"))
#: OIDs of the system catalogs themselves, for 'pg_class'::regclass and the like
CATALOG_OIDS = {"pg_type": 1247, "pg_attribute": 1249, "pg_proc": 1255, "pg_class": 1259,
                "pg_authid": 1260, "pg_database": 1262, "pg_tablespace": 1213,
                "pg_am": 2601, "pg_attrdef": 2604, "pg_constraint": 2606, "pg_depend": 2608,
                "pg_description": 2609, "pg_index": 2610, "pg_inherits": 2611,
                "pg_language": 2612, "pg_operator": 2617, "pg_rewrite": 2618,
                "pg_trigger": 2620, "pg_namespace": 2615, "pg_sequence": 2224,
                "pg_shdescription": 2396, "pg_extension": 3079, "pg_collation": 3456,
                "pg_event_trigger": 3466, "pg_enum": 3501, "pg_range": 3541,
                "pg_foreign_data_wrapper": 2328, "pg_foreign_server": 1417,
                "pg_policy": 3256, "pg_publication": 6104, "pg_statistic_ext": 3381}
#: the settings catalog queries read (SHOW is answered by the session)
SETTINGS = (("server_version", "15.0"), ("server_version_num", "150000"),
            ("server_encoding", "UTF8"), ("client_encoding", "UTF8"),
            ("max_identifier_length", "63"), ("max_index_keys", "32"),
            ("standard_conforming_strings", "on"), ("integer_datetimes", "on"),
            ("DateStyle", "ISO, MDY"), ("TimeZone", "UTC"), ("IntervalStyle", "postgres"),
            ("search_path", '"$user", public'), ("default_transaction_read_only", "on"),
            ("transaction_isolation", "read committed"))
MACROS = (
    "pg_get_userbyid(oid) AS 'concord'",
    "pg_table_is_visible(rel) AS rel IN (SELECT c.oid FROM {pgc}.pg_class c "
    "WHERE c.relnamespace IN (11, 2200))",
    "pg_type_is_visible(x) AS true",
    "pg_function_is_visible(x) AS true",
    "pg_encoding_to_char(encoding) AS 'UTF8'",
    "pg_get_expr(expr, relid) AS NULL, (expr, relid, pretty) AS NULL",
    "obj_description(x) AS NULL, (x, catalog) AS NULL",
    "col_description(x, column_number) AS NULL",
    "shobj_description(x, catalog) AS NULL",
    # format_type(): the SQL name of a type, with its modifier, arrays as element[]
    "pg_sql_type_name(typname) AS CASE typname WHEN 'int8' THEN 'bigint' WHEN 'int4' THEN "
    "'integer' WHEN 'int2' THEN 'smallint' WHEN 'float8' THEN 'double precision' "
    "WHEN 'float4' THEN 'real' WHEN 'bool' THEN 'boolean' WHEN 'timestamptz' THEN "
    "'timestamp with time zone' WHEN 'timestamp' THEN 'timestamp without time zone' "
    "WHEN 'time' THEN 'time without time zone' WHEN 'timetz' THEN 'time with time zone' "
    "WHEN 'varchar' THEN 'character varying' WHEN 'bpchar' THEN 'character' "
    "WHEN 'char' THEN '\"char\"' ELSE typname END",
    "format_type(type_oid, typemod) AS (SELECT CASE WHEN t.typcategory = 'A' AND e.oid "
    "IS NOT NULL THEN pg_sql_type_name(e.typname) || '[]' WHEN t.typname = 'numeric' AND "
    "typemod >= 4 THEN 'numeric(' || ((typemod - 4) >> 16) || ',' || ((typemod - 4) & 65535)"
    " || ')' WHEN t.typname = 'varchar' AND typemod >= 4 THEN 'character varying(' || "
    "(typemod - 4) || ')' ELSE pg_sql_type_name(t.typname) END FROM {pgc}.pg_type t "
    "LEFT JOIN {pgc}.pg_type e ON e.oid = t.typelem WHERE t.oid = type_oid)",
    "has_table_privilege(a, b) AS true, (a, b, c) AS true",
    "has_any_column_privilege(a, b) AS true, (a, b, c) AS true",
    "has_column_privilege(a, b, c) AS true, (a, b, c, d) AS true",
    "has_schema_privilege(a, b) AS true, (a, b, c) AS true",
    "has_database_privilege(a, b) AS true, (a, b, c) AS true",
    "has_function_privilege(a, b) AS true, (a, b, c) AS true",
    "has_sequence_privilege(a, b) AS true, (a, b, c) AS true",
    "current_schemas(include_implicit) AS CASE WHEN include_implicit "
    "THEN ['pg_catalog', 'public'] ELSE ['public'] END",
    "array_upper(arr, dimension) AS CASE WHEN len(arr) > 0 THEN len(arr) END",
    "array_lower(arr, dimension) AS CASE WHEN len(arr) > 0 THEN 1 END",
    "pg_is_in_recovery() AS false",
    "to_regtype(type_name) AS (SELECT t.oid FROM {pgc}.pg_type t WHERE t.typname = "
    "lower(type_name))",
    "to_regclass(rel_name) AS (SELECT c.oid FROM {pgc}.pg_class c WHERE c.relname = "
    "rel_name LIMIT 1)",
    # 'name'::regclass: the OID of a relation (optionally schema-qualified, quoted or not)
    "regclass_oid(x) AS CASE WHEN TRY_CAST(x AS BIGINT) IS NOT NULL THEN TRY_CAST(x AS BIGINT) "
    "ELSE coalesce((SELECT o.oid FROM {pgc}.pg_catalog_oids o WHERE o.relname = "
    "regexp_replace(CAST(x AS VARCHAR), '^\"?pg_catalog\"?\\.', '')), (SELECT c.oid FROM "
    "{pgc}.pg_class c JOIN {pgc}.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = "
    "list_transform(string_split(CAST(x AS VARCHAR), '.'), lambda p: trim(p, '\"'))[-1] AND "
    "(NOT contains(CAST(x AS VARCHAR), '.') OR n.nspname = list_transform(string_split("
    "CAST(x AS VARCHAR), '.'), lambda p: trim(p, '\"'))[1]) LIMIT 1)) END",
    # 'schema.function'::regproc as regproc prints it: the name, unqualified in pg_catalog
    "regproc_name(x) AS regexp_replace(CAST(x AS VARCHAR), '^\"?pg_catalog\"?\\.', '')",
    # '{a,b}'::text[]: PostgreSQL's array literal, which DuckDB's cast does not read
    "pg_text_array(x) AS list_transform(string_split(trim(x, '{{}}'), ','), "
    "lambda e: trim(e, '\"'))",
    # information_schema._pg_expandarray: one (x, n) row per element
    "_pg_expandarray(arr) AS unnest(list_transform(range(1, len(arr) + 1), "
    "lambda i: {{'x': arr[i], 'n': i}}))",
    # format() with %s/%I (DuckDB's own format() uses {{}} placeholders)
    "format(f) AS f, (f, a) AS printf(replace(f, '%I', '%s'), a), "
    "(f, a, b) AS printf(replace(f, '%I', '%s'), a, b), "
    "(f, a, b, c) AS printf(replace(f, '%I', '%s'), a, b, c)",
    "pg_get_serial_sequence(rel, col) AS NULL",
    "pg_get_partkeydef(rel) AS NULL",
    "pg_get_indexdef(index_oid) AS NULL, (index_oid, column_number, pretty) AS NULL",
    "pg_get_constraintdef(constraint_oid) AS NULL, (constraint_oid, pretty) AS NULL",
    "pg_get_viewdef(view) AS NULL, (view, pretty) AS NULL",
    "pg_get_statisticsobjdef_columns(statistics_oid) AS NULL",
    "pg_get_triggerdef(trigger_oid) AS NULL, (trigger_oid, pretty) AS NULL",
    "pg_get_ruledef(rule_oid) AS NULL, (rule_oid, pretty) AS NULL",
    "pg_relation_is_publishable(rel) AS false",
    # Concord's relations keep no data of their own: sizes are those of a view
    "pg_relation_size(rel) AS CAST(0 AS BIGINT), (rel, fork) AS CAST(0 AS BIGINT)",
    "pg_total_relation_size(rel) AS CAST(0 AS BIGINT)",
    "pg_table_size(rel) AS CAST(0 AS BIGINT)",
    "pg_indexes_size(rel) AS CAST(0 AS BIGINT)",
    "pg_database_size(db) AS CAST(0 AS BIGINT)",
    "pg_stat_get_numscans(rel) AS CAST(0 AS BIGINT)",
    "pg_tablespace_location(tablespace) AS ''",
    "pg_collation_is_visible(x) AS true",
    "pg_postmaster_start_time() AS TIMESTAMPTZ '2026-01-01 00:00:00+00'",
)
TABLE_MACROS = (
    "pg_get_publication_tables(pubname) AS TABLE SELECT NULL::INTEGER AS relid, "
    "NULL::SMALLINT[] AS attrs, NULL::VARCHAR AS qual WHERE false",
    # PostgreSQL's keyword list comes from the same grammar DuckDB's parser was forked from
    "pg_get_keywords() AS TABLE SELECT * FROM {pgc}.pg_keywords",
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
        self._objects_seen: list[tuple[str, str, str, pa.Schema]] | None = None
        self._cons: dict[str | None, duckdb.DuckDBPyConnection] = {}  # one per role
        self._built_at = 0.0
        self._logged: set[str] = set()
        self._closing = threading.Event()

    def close(self) -> None:
        """Stop a build in progress (the server is shutting down)."""
        self._closing.set()

    def query(self, sql: str, application: str = "", guard: Guard | None = None) -> pa.Table:
        """Answer a catalog query (runs in a worker thread). With a guard, the catalog
        lists only the relations the user's role is granted."""
        con = self._connection(guard)
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

    def _connection(self, guard: Guard | None = None) -> duckdb.DuckDBPyConnection:
        ttl = self.federation.catalog.settings.schema_ttl_seconds
        with self._lock:
            if self._objects_seen is None or time.monotonic() - self._built_at > ttl:
                self._objects_seen = self._objects()
                self._cons.clear()
                self._built_at = time.monotonic()
            role = guard.role if guard is not None else None
            con = self._cons.get(role)
            if con is None:
                visible = [
                    (schema, name, kind, self.federation.schema_as_seen(
                        guard, f"{schema}.{name}", columns))
                    for schema, name, kind, columns in self._objects_seen
                    if guard is None or guard.granted(f"{schema}.{name}")]
                con = self._cons[role] = self._build(visible)
            return con

    def _objects(self) -> list[tuple[str, str, str, pa.Schema]]:
        """(schema, name, relkind, columns) of every view and reachable source table."""
        fed = self.federation
        objects = []
        for view in fed.views.names():
            if self._closing.is_set():
                raise QueryError("the server is shutting down")
            try:
                objects.append(("public", view, "v", fed.view_schema(view)))
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

    def _build(self, objects: list[tuple[str, str, str, pa.Schema]]
               ) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:", config={"enable_external_access": False})
        con.execute(f"CREATE SCHEMA {PGC}; CREATE SCHEMA {PGIS}")
        schemas = ["public", *sorted({o[0] for o in objects} - {"public"})]
        nsp = {name: (PUBLIC_OID if name == "public" else FIRST_OID + i)
               for i, name in enumerate(schemas)}
        namespaces = [(PG_CATALOG_OID, "pg_catalog"), (INFO_SCHEMA_OID, "information_schema"),
                      *((oid, name) for name, oid in nsp.items())]
        classes, attributes, columns = [], [], []
        next_oid = FIRST_OID + 1000
        for schema, name, kind, arrow in objects:
            next_oid += 2  # the relation, then its row type (as PostgreSQL allocates them)
            classes.append((next_oid, name, nsp[schema], next_oid + 1, kind, len(arrow)))
            for position, field in enumerate(arrow, 1):
                pgt = pg_type(field.type)
                attributes.append((next_oid, field.name, pgt.oid, position, pgt.size))
                columns.append(("concord", schema, name, field.name, position, pgt.name,
                                _udt(pgt.oid), str(position)))
        _tables(con, namespaces, classes, attributes, columns, self.users)
        for macro in MACROS:
            con.execute(f"CREATE MACRO {macro.format(pgc=PGC)}")  # main: shadows DuckDB's
        for macro in TABLE_MACROS:
            con.execute(f"CREATE MACRO {macro.format(pgc=PGC)}")
        return con


def _load(con: duckdb.DuckDBPyConnection, name: str, spec: str, rows: list | tuple = (),
          filled: str = "") -> None:
    """Create ``name`` with the columns of ``spec`` (PostgreSQL's columns, in its order)
    and insert ``rows`` into its ``filled`` columns; the others hold their DEFAULT, the
    value PostgreSQL has for every Concord object (NULL without one)."""
    con.execute(f"CREATE TABLE {name} ({spec})")
    if rows:
        names = filled or ", ".join(c.split()[0] for c in spec.split(", "))
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f"INSERT INTO {name} ({names}) VALUES ({marks})", list(rows))


def _types() -> list[tuple]:
    """pg_type rows (the filled columns of ``_tables``) of PostgreSQL's base, array, pseudo
    and range types."""
    rows = []
    for (oid, name, size, byval, kind, category, elem, array, typin, typout, recv, _,
         send, _, align, storage, collation) in PG_TYPES:
        rows.append((oid, name, size, byval, kind, category, 0, elem, array, typin, typout,
                     recv, send, align, storage, collation, "-"))
        if array:
            pseudo = name == "record"
            rows.append((array, f"_{name}", -1, False, "p" if pseudo else "b",
                         "P" if pseudo else "A", 0, oid, 0, "array_in", "array_out", 2400,
                         2401, "d" if align == "d" else "i", "x", collation,
                         "array_subscript_handler"))
    for oid, name, _, array, _, align in PG_RANGES:
        rows.append((oid, name, -1, False, "r", "R", 0, 0, array, "range_in", "range_out",
                     3836, 3837, align, "x", 0, "-"))
        rows.append((array, f"_{name}", -1, False, "b", "A", 0, oid, 0, "array_in",
                     "array_out", 2400, 2401, align, "x", 0, "array_subscript_handler"))
    return rows


def _procs() -> list[tuple]:
    """pg_proc rows (oid, proname) of the types' receive and send functions."""
    procs = {2400: "array_recv", 2401: "array_send", 3836: "range_recv", 3837: "range_send"}
    for row in PG_TYPES:
        if row[10]:
            procs[row[10]] = row[11]
            procs[row[12]] = row[13]
    return sorted(procs.items())


def _tables(con: duckdb.DuckDBPyConnection, namespaces: list, classes: list,
            attributes: list, columns: list, users: list[str]) -> None:
    """The catalog tables and views, with PostgreSQL 15's columns in its order."""
    _load(con, f"{PGC}.pg_namespace", "oid INTEGER, nspname VARCHAR, "
          f"nspowner INTEGER DEFAULT {OWNER_OID}, nspacl VARCHAR[]",
          namespaces, "oid, nspname")
    _load(con, f"{PGC}.pg_class", "oid INTEGER, relname VARCHAR, relnamespace INTEGER, "
          f"reltype INTEGER, reloftype INTEGER DEFAULT 0, relowner INTEGER DEFAULT {OWNER_OID}, "
          "relam INTEGER DEFAULT 0, relfilenode INTEGER DEFAULT 0, "
          "reltablespace INTEGER DEFAULT 0, relpages INTEGER DEFAULT 0, "
          "reltuples REAL DEFAULT -1, relallvisible INTEGER DEFAULT 0, "
          "reltoastrelid INTEGER DEFAULT 0, relhasindex BOOLEAN DEFAULT false, "
          "relisshared BOOLEAN DEFAULT false, relpersistence VARCHAR DEFAULT 'p', "
          "relkind VARCHAR, relnatts SMALLINT, relchecks SMALLINT DEFAULT 0, "
          "relhasrules BOOLEAN DEFAULT false, relhastriggers BOOLEAN DEFAULT false, "
          "relhassubclass BOOLEAN DEFAULT false, relrowsecurity BOOLEAN DEFAULT false, "
          "relforcerowsecurity BOOLEAN DEFAULT false, relispopulated BOOLEAN DEFAULT true, "
          "relreplident VARCHAR DEFAULT 'n', relispartition BOOLEAN DEFAULT false, "
          "relrewrite INTEGER DEFAULT 0, relfrozenxid INTEGER DEFAULT 0, "
          "relminmxid INTEGER DEFAULT 0, relacl VARCHAR[], reloptions VARCHAR[], "
          "relpartbound VARCHAR",
          classes, "oid, relname, relnamespace, reltype, relkind, relnatts")
    _load(con, f"{PGC}.pg_attribute", "attrelid INTEGER, attname VARCHAR, atttypid INTEGER, "
          "attstattarget INTEGER DEFAULT -1, attlen SMALLINT, attnum SMALLINT, "
          "attndims INTEGER DEFAULT 0, attcacheoff INTEGER DEFAULT -1, "
          "atttypmod INTEGER DEFAULT -1, attbyval BOOLEAN DEFAULT false, "
          "attalign VARCHAR DEFAULT 'i', attstorage VARCHAR DEFAULT 'x', "
          "attcompression VARCHAR DEFAULT '', attnotnull BOOLEAN DEFAULT false, "
          "atthasdef BOOLEAN DEFAULT false, atthasmissing BOOLEAN DEFAULT false, "
          "attidentity VARCHAR DEFAULT '', attgenerated VARCHAR DEFAULT '', "
          "attisdropped BOOLEAN DEFAULT false, attislocal BOOLEAN DEFAULT true, "
          "attinhcount INTEGER DEFAULT 0, attcollation INTEGER DEFAULT 0, attacl VARCHAR[], "
          "attoptions VARCHAR[], attfdwoptions VARCHAR[], attmissingval VARCHAR[]",
          attributes, "attrelid, attname, atttypid, attnum, attlen")
    type_columns = ("oid, typname, typlen, typbyval, typtype, typcategory, typrelid, typelem, "
                    "typarray, typinput, typoutput, typreceive, typsend, typalign, typstorage, "
                    "typcollation, typsubscript, typnamespace")
    row_types = [(type_oid, name, -1, False, "c", "C", oid, 0, 0, "record_in", "record_out",
                  2402, 2403, "d", "x", 0, "-", namespace)
                 for oid, name, namespace, type_oid, _, _ in classes]
    _load(con, f"{PGC}.pg_type", "oid INTEGER, typname VARCHAR, typnamespace INTEGER, "
          f"typowner INTEGER DEFAULT {OWNER_OID}, typlen SMALLINT, typbyval BOOLEAN, "
          "typtype VARCHAR, typcategory VARCHAR, typispreferred BOOLEAN DEFAULT false, "
          "typisdefined BOOLEAN DEFAULT true, typdelim VARCHAR DEFAULT ',', typrelid INTEGER, "
          "typsubscript VARCHAR, typelem INTEGER, typarray INTEGER, typinput VARCHAR, "
          "typoutput VARCHAR, typreceive INTEGER, typsend INTEGER, "
          "typmodin VARCHAR DEFAULT '-', typmodout VARCHAR DEFAULT '-', "
          "typanalyze VARCHAR DEFAULT '-', typalign VARCHAR, typstorage VARCHAR, "
          "typnotnull BOOLEAN DEFAULT false, typbasetype INTEGER DEFAULT 0, "
          "typtypmod INTEGER DEFAULT -1, typndims INTEGER DEFAULT 0, typcollation INTEGER, "
          "typdefaultbin VARCHAR, typdefault VARCHAR, typacl VARCHAR[]",
          [(*row, PG_CATALOG_OID) for row in _types()] + row_types, type_columns)
    _load(con, f"{PGC}.pg_range", "rngtypid INTEGER, rngsubtype INTEGER, "
          "rngmultitypid INTEGER, rngcollation INTEGER DEFAULT 0, rngsubopc INTEGER DEFAULT 0, "
          "rngcanonical VARCHAR DEFAULT '-', rngsubdiff VARCHAR DEFAULT '-'",
          [(oid, sub, multi) for oid, _, sub, _, multi, _ in PG_RANGES],
          "rngtypid, rngsubtype, rngmultitypid")
    _load(con, f"{PGC}.pg_proc", "oid INTEGER, proname VARCHAR, "
          f"pronamespace INTEGER DEFAULT {PG_CATALOG_OID}, proowner INTEGER DEFAULT {OWNER_OID}, "
          "prolang INTEGER DEFAULT 12, procost REAL DEFAULT 1, prorows REAL DEFAULT 0, "
          "provariadic INTEGER DEFAULT 0, prosupport VARCHAR DEFAULT '-', "
          "prokind VARCHAR DEFAULT 'f', prosecdef BOOLEAN DEFAULT false, "
          "proleakproof BOOLEAN DEFAULT false, proisstrict BOOLEAN DEFAULT true, "
          "proretset BOOLEAN DEFAULT false, provolatile VARCHAR DEFAULT 'i', "
          "proparallel VARCHAR DEFAULT 's', pronargs SMALLINT DEFAULT 1, "
          "pronargdefaults SMALLINT DEFAULT 0, prorettype INTEGER DEFAULT 0, "
          "proargtypes INTEGER[], proallargtypes INTEGER[], proargmodes VARCHAR[], "
          "proargnames VARCHAR[], proargdefaults VARCHAR, protrftypes INTEGER[], "
          "prosrc VARCHAR, probin VARCHAR, prosqlbody VARCHAR, proconfig VARCHAR[], "
          "proacl VARCHAR[]", _procs(), "oid, proname")
    _load(con, f"{PGC}.pg_database", "oid INTEGER, datname VARCHAR, "
          f"datdba INTEGER DEFAULT {OWNER_OID}, encoding INTEGER DEFAULT 6, "
          "datlocprovider VARCHAR DEFAULT 'c', datistemplate BOOLEAN DEFAULT false, "
          "datallowconn BOOLEAN DEFAULT true, datconnlimit INTEGER DEFAULT -1, "
          "datfrozenxid INTEGER DEFAULT 0, datminmxid INTEGER DEFAULT 1, "
          "dattablespace INTEGER DEFAULT 1663, datcollate VARCHAR DEFAULT 'C', "
          "datctype VARCHAR DEFAULT 'C', daticulocale VARCHAR, datcollversion VARCHAR, "
          "datacl VARCHAR[]", [(DATABASE_OID, "concord")], "oid, datname")
    roles = [(OWNER_OID, "concord", True), *((OWNER_OID + 1 + i, u, False)
                                              for i, u in enumerate(users))]
    _load(con, f"{PGC}.pg_roles", "rolname VARCHAR, rolsuper BOOLEAN, "
          "rolinherit BOOLEAN DEFAULT true, rolcreaterole BOOLEAN DEFAULT false, "
          "rolcreatedb BOOLEAN DEFAULT false, rolcanlogin BOOLEAN DEFAULT true, "
          "rolreplication BOOLEAN DEFAULT false, rolconnlimit INTEGER DEFAULT -1, "
          "rolpassword VARCHAR DEFAULT '********', rolvaliduntil TIMESTAMPTZ, "
          "rolbypassrls BOOLEAN DEFAULT false, rolconfig VARCHAR[], oid INTEGER",
          roles, "oid, rolname, rolsuper")
    con.execute(f"CREATE VIEW {PGC}.pg_user AS SELECT rolname AS usename, oid AS usesysid, "
                f"rolcreatedb AS usecreatedb, rolsuper AS usesuper, false AS userepl, "
                f"false AS usebypassrls, '********' AS passwd, rolvaliduntil AS valuntil, "
                f"rolconfig AS useconfig FROM {PGC}.pg_roles")
    _load(con, f"{PGC}.pg_am", "oid INTEGER, amname VARCHAR, amhandler VARCHAR, "
          "amtype VARCHAR", [(2, "heap", "heap_tableam_handler", "t"),
                             (403, "btree", "bthandler", "i")])
    _load(con, f"{PGC}.pg_description", "objoid INTEGER, classoid INTEGER, "
          "objsubid INTEGER, description VARCHAR")
    _load(con, f"{PGC}.pg_shdescription", "objoid INTEGER, classoid INTEGER, "
          "description VARCHAR")
    _load(con, f"{PGC}.pg_index", "indexrelid INTEGER, indrelid INTEGER, indnatts SMALLINT, "
          "indnkeyatts SMALLINT, indisunique BOOLEAN, indnullsnotdistinct BOOLEAN, "
          "indisprimary BOOLEAN, indisexclusion BOOLEAN, indimmediate BOOLEAN, "
          "indisclustered BOOLEAN, indisvalid BOOLEAN, indcheckxmin BOOLEAN, "
          "indisready BOOLEAN, indislive BOOLEAN, indisreplident BOOLEAN, "
          "indkey SMALLINT[], indcollation INTEGER[], indclass INTEGER[], "
          "indoption SMALLINT[], indexprs VARCHAR, indpred VARCHAR")
    _load(con, f"{PGC}.pg_constraint", "oid INTEGER, conname VARCHAR, connamespace INTEGER, "
          "contype VARCHAR, condeferrable BOOLEAN, condeferred BOOLEAN, convalidated BOOLEAN, "
          "conrelid INTEGER, contypid INTEGER, conindid INTEGER, conparentid INTEGER, "
          "confrelid INTEGER, confupdtype VARCHAR, confdeltype VARCHAR, "
          "confmatchtype VARCHAR, conislocal BOOLEAN, coninhcount INTEGER, "
          "connoinherit BOOLEAN, conkey SMALLINT[], confkey SMALLINT[], "
          "conpfeqop INTEGER[], conppeqop INTEGER[], conffeqop INTEGER[], "
          "confdelsetcols SMALLINT[], conexclop INTEGER[], conbin VARCHAR")
    _load(con, f"{PGC}.pg_inherits", "inhrelid INTEGER, inhparent INTEGER, inhseqno INTEGER, "
          "inhdetachpending BOOLEAN")
    _load(con, f"{PGC}.pg_attrdef", "oid INTEGER, adrelid INTEGER, adnum SMALLINT, "
          "adbin VARCHAR")
    _load(con, f"{PGC}.pg_depend", "classid INTEGER, objid INTEGER, objsubid INTEGER, "
          "refclassid INTEGER, refobjid INTEGER, refobjsubid INTEGER, deptype VARCHAR")
    # what psql's \d and SQLAlchemy's inspector read of a table: none of it for Concord
    _load(con, f"{PGC}.pg_policy", "oid INTEGER, polname VARCHAR, polrelid INTEGER, "
          "polcmd VARCHAR, polpermissive BOOLEAN, polroles INTEGER[], polqual VARCHAR, "
          "polwithcheck VARCHAR")
    _load(con, f"{PGC}.pg_opclass", "oid INTEGER, opcmethod INTEGER, opcname VARCHAR, "
          "opcnamespace INTEGER, opcowner INTEGER, opcfamily INTEGER, opcintype INTEGER, "
          "opcdefault BOOLEAN, opckeytype INTEGER")
    _load(con, f"{PGC}.pg_statistic_ext", "oid INTEGER, stxrelid INTEGER, stxname VARCHAR, "
          "stxnamespace INTEGER, stxowner INTEGER, stxstattarget INTEGER, "
          "stxkeys SMALLINT[], stxkind VARCHAR[], stxexprs VARCHAR")
    _load(con, f"{PGC}.pg_publication", "oid INTEGER, pubname VARCHAR, pubowner INTEGER, "
          "puballtables BOOLEAN, pubinsert BOOLEAN, pubupdate BOOLEAN, pubdelete BOOLEAN, "
          "pubtruncate BOOLEAN, pubviaroot BOOLEAN")
    _load(con, f"{PGC}.pg_publication_rel", "oid INTEGER, prpubid INTEGER, prrelid INTEGER, "
          "prqual VARCHAR, prattrs SMALLINT[]")
    _load(con, f"{PGC}.pg_publication_namespace", "oid INTEGER, pnpubid INTEGER, "
          "pnnspid INTEGER")
    _load(con, f"{PGC}.pg_trigger", "oid INTEGER, tgrelid INTEGER, tgparentid INTEGER, "
          "tgname VARCHAR, tgfoid INTEGER, tgtype SMALLINT, tgenabled VARCHAR, "
          "tgisinternal BOOLEAN, tgconstrrelid INTEGER, tgconstrindid INTEGER, "
          "tgconstraint INTEGER, tgdeferrable BOOLEAN, tginitdeferred BOOLEAN, "
          "tgnargs SMALLINT, tgattr SMALLINT[], tgargs VARCHAR, tgqual VARCHAR, "
          "tgoldtable VARCHAR, tgnewtable VARCHAR")
    _load(con, f"{PGC}.pg_rewrite", "oid INTEGER, rulename VARCHAR, ev_class INTEGER, "
          "ev_type VARCHAR, ev_enabled VARCHAR, is_instead BOOLEAN, ev_qual VARCHAR, "
          "ev_action VARCHAR")
    _load(con, f"{PGC}.pg_collation", "oid INTEGER, collname VARCHAR, "
          "collnamespace INTEGER, collowner INTEGER, collprovider VARCHAR, "
          "collisdeterministic BOOLEAN, collencoding INTEGER, collcollate VARCHAR, "
          "collctype VARCHAR, colliculocale VARCHAR, collversion VARCHAR")
    _load(con, f"{PGC}.pg_enum", "oid INTEGER, enumtypid INTEGER, enumsortorder REAL, "
          "enumlabel VARCHAR")
    _load(con, f"{PGC}.pg_sequence", "seqrelid INTEGER, seqtypid INTEGER, seqstart BIGINT, "
          "seqincrement BIGINT, seqmax BIGINT, seqmin BIGINT, seqcache BIGINT, "
          "seqcycle BOOLEAN")
    _load(con, f"{PGC}.pg_settings", "name VARCHAR, setting VARCHAR, unit VARCHAR, "
          "category VARCHAR, short_desc VARCHAR, extra_desc VARCHAR, "
          "context VARCHAR DEFAULT 'internal', vartype VARCHAR DEFAULT 'string', "
          "source VARCHAR DEFAULT 'default', min_val VARCHAR, max_val VARCHAR, "
          "enumvals VARCHAR[], boot_val VARCHAR, reset_val VARCHAR, sourcefile VARCHAR, "
          "sourceline INTEGER, pending_restart BOOLEAN DEFAULT false",
          [(n, v, v, v) for n, v in SETTINGS], "name, setting, boot_val, reset_val")
    _load(con, f"{PGC}.pg_catalog_oids", "relname VARCHAR, oid INTEGER",
          list(CATALOG_OIDS.items()))
    con.execute(f"""CREATE TABLE {PGC}.pg_keywords AS SELECT keyword_name AS word,
        CASE keyword_category WHEN 'unreserved' THEN 'U' WHEN 'column_name' THEN 'C'
            WHEN 'type_function' THEN 'T' ELSE 'R' END AS catcode, true AS barelabel,
        CASE keyword_category WHEN 'unreserved' THEN 'unreserved'
            WHEN 'column_name' THEN 'unreserved (cannot be function or type name)'
            WHEN 'type_function' THEN 'reserved (can be function or type name)'
            ELSE 'reserved' END AS catdesc, 'can be bare label' AS baredesc
        FROM duckdb_keywords() ORDER BY word""")
    con.execute(f"""CREATE VIEW {PGC}.pg_tables AS SELECT n.nspname AS schemaname,
        c.relname AS tablename, 'concord' AS tableowner, NULL AS tablespace,
        false AS hasindexes, false AS hasrules, false AS hastriggers, false AS rowsecurity
        FROM {PGC}.pg_class c JOIN {PGC}.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r'""")
    con.execute(f"""CREATE VIEW {PGC}.pg_views AS SELECT n.nspname AS schemaname,
        c.relname AS viewname, 'concord' AS viewowner, NULL AS definition
        FROM {PGC}.pg_class c JOIN {PGC}.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'v'""")
    _load(con, f"{PGC}.pg_matviews", "schemaname VARCHAR, matviewname VARCHAR, "
          "matviewowner VARCHAR, tablespace VARCHAR, hasindexes BOOLEAN, "
          "ispopulated BOOLEAN, definition VARCHAR")  # Concord has no materialized views
    # statistics of source tables: Concord counts no rows, so no estimate (NULL)
    con.execute(f"""CREATE VIEW {PGC}.pg_stat_user_tables AS SELECT c.oid AS relid,
        n.nspname AS schemaname, c.relname, CAST(0 AS BIGINT) AS seq_scan,
        CAST(0 AS BIGINT) AS seq_tup_read, CAST(NULL AS BIGINT) AS idx_scan,
        CAST(NULL AS BIGINT) AS idx_tup_fetch, CAST(0 AS BIGINT) AS n_tup_ins,
        CAST(0 AS BIGINT) AS n_tup_upd, CAST(0 AS BIGINT) AS n_tup_del,
        CAST(0 AS BIGINT) AS n_tup_hot_upd, CAST(NULL AS BIGINT) AS n_live_tup,
        CAST(NULL AS BIGINT) AS n_dead_tup, CAST(NULL AS BIGINT) AS n_mod_since_analyze,
        CAST(NULL AS BIGINT) AS n_ins_since_vacuum, CAST(NULL AS TIMESTAMPTZ) AS last_vacuum,
        CAST(NULL AS TIMESTAMPTZ) AS last_autovacuum, CAST(NULL AS TIMESTAMPTZ) AS last_analyze,
        CAST(NULL AS TIMESTAMPTZ) AS last_autoanalyze, CAST(0 AS BIGINT) AS vacuum_count,
        CAST(0 AS BIGINT) AS autovacuum_count, CAST(0 AS BIGINT) AS analyze_count,
        CAST(0 AS BIGINT) AS autoanalyze_count
        FROM {PGC}.pg_class c JOIN {PGC}.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r'""")
    _load(con, f"{PGIS}.columns", "table_catalog VARCHAR, table_schema VARCHAR, "
          "table_name VARCHAR, column_name VARCHAR, ordinal_position INTEGER, "
          "column_default VARCHAR, is_nullable VARCHAR DEFAULT 'YES', data_type VARCHAR, "
          "character_maximum_length INTEGER, character_octet_length INTEGER, "
          "numeric_precision INTEGER, numeric_precision_radix INTEGER, "
          "numeric_scale INTEGER, datetime_precision INTEGER, interval_type VARCHAR, "
          "interval_precision INTEGER, character_set_catalog VARCHAR, "
          "character_set_schema VARCHAR, character_set_name VARCHAR, "
          "collation_catalog VARCHAR, collation_schema VARCHAR, collation_name VARCHAR, "
          "domain_catalog VARCHAR, domain_schema VARCHAR, domain_name VARCHAR, "
          "udt_catalog VARCHAR DEFAULT 'concord', udt_schema VARCHAR DEFAULT 'pg_catalog', "
          "udt_name VARCHAR, scope_catalog VARCHAR, scope_schema VARCHAR, scope_name VARCHAR, "
          "maximum_cardinality INTEGER, dtd_identifier VARCHAR, "
          "is_self_referencing VARCHAR DEFAULT 'NO', is_identity VARCHAR DEFAULT 'NO', "
          "identity_generation VARCHAR, identity_start VARCHAR, identity_increment VARCHAR, "
          "identity_maximum VARCHAR, identity_minimum VARCHAR, "
          "identity_cycle VARCHAR DEFAULT 'NO', is_generated VARCHAR DEFAULT 'NEVER', "
          "generation_expression VARCHAR, is_updatable VARCHAR DEFAULT 'NO'", columns,
          "table_catalog, table_schema, table_name, column_name, ordinal_position, data_type, "
          "udt_name, dtd_identifier")
    con.execute(f"""CREATE VIEW {PGIS}.tables AS SELECT 'concord' AS table_catalog,
        n.nspname AS table_schema, c.relname AS table_name,
        CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'BASE TABLE' END AS table_type,
        NULL AS self_referencing_column_name, NULL AS reference_generation,
        NULL AS user_defined_type_catalog, NULL AS user_defined_type_schema,
        NULL AS user_defined_type_name, 'NO' AS is_insertable_into, 'NO' AS is_typed,
        NULL AS commit_action
        FROM {PGC}.pg_class c JOIN {PGC}.pg_namespace n ON n.oid = c.relnamespace""")
    con.execute(f"""CREATE VIEW {PGIS}.views AS SELECT table_catalog, table_schema,
        table_name, NULL AS view_definition, 'NONE' AS check_option, 'NO' AS is_updatable,
        'NO' AS is_insertable_into, 'NO' AS is_trigger_updatable,
        'NO' AS is_trigger_deletable, 'NO' AS is_trigger_insertable_into
        FROM {PGIS}.tables WHERE table_type = 'VIEW'""")
    con.execute(f"""CREATE VIEW {PGIS}.schemata AS SELECT 'concord' AS catalog_name,
        nspname AS schema_name, 'concord' AS schema_owner,
        NULL AS default_character_set_catalog, NULL AS default_character_set_schema,
        NULL AS default_character_set_name, NULL AS sql_path FROM {PGC}.pg_namespace""")
    # Concord's relations have no keys: the constraint views are empty
    _load(con, f"{PGIS}.table_constraints", "constraint_catalog VARCHAR, "
          "constraint_schema VARCHAR, constraint_name VARCHAR, table_catalog VARCHAR, "
          "table_schema VARCHAR, table_name VARCHAR, constraint_type VARCHAR, "
          "is_deferrable VARCHAR, initially_deferred VARCHAR, enforced VARCHAR, "
          "nulls_distinct VARCHAR")
    _load(con, f"{PGIS}.key_column_usage", "constraint_catalog VARCHAR, "
          "constraint_schema VARCHAR, constraint_name VARCHAR, table_catalog VARCHAR, "
          "table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, "
          "ordinal_position INTEGER, position_in_unique_constraint INTEGER")
    _load(con, f"{PGIS}.referential_constraints", "constraint_catalog VARCHAR, "
          "constraint_schema VARCHAR, constraint_name VARCHAR, "
          "unique_constraint_catalog VARCHAR, unique_constraint_schema VARCHAR, "
          "unique_constraint_name VARCHAR, match_option VARCHAR, update_rule VARCHAR, "
          "delete_rule VARCHAR")


def _udt(oid: int) -> str:
    return next((row[1] for row in PG_TYPES if row[0] == oid), "text")


_OPERATOR = re.compile(r"OPERATOR\s*\(\s*pg_catalog\s*\.\s*([^\s)]+)\s*\)", re.I)
_COLLATE = re.compile(r"\s+COLLATE\s+pg_catalog\.\"?default\"?", re.I)
_COLUMN_QUALIFIER = re.compile(
    r"\b(?:pg_catalog|information_schema)\s*\.\s*(\w+)\s*\.(?=\s*\w)", re.I)
_JSON_OBJECT = re.compile(r"\b(?:pg_catalog\s*\.\s*)?json_build_object\s*\(", re.I)
_TYPE_QUALIFIER = re.compile(r"::\s*pg_catalog\s*\.\s*", re.I)
_FUNCTION = re.compile(r"\b(?:pg_catalog|information_schema)\s*\.\s*(?=\w+\s*\()", re.I)
_QUALIFIED = re.compile(r"\b(pg_catalog|information_schema)\s*\.", re.I)
_BARE = re.compile(r"(?<![.\w])(" + "|".join(_CATALOG_TABLES) + r")\b(?!\s*[(.])", re.I)
_CASTS = re.compile(r"::\s*(?:pg_catalog\.)?(regclass|regtype|regproc|regnamespace|oid|name)"
                    r"\b", re.I)
_CAST_AS = re.compile(r"\bAS\s+(?:pg_catalog\.)?(regclass|regtype|regproc|regnamespace|oid|"
                      r"name)\s*\)", re.I)
# quoted catalog names (HoneySQL, SQLAlchemy quote every identifier)
_QUOTED_QUALIFIED = re.compile(r"\"(pg_catalog|information_schema)\"\s*\.", re.I)
_QUOTED_BARE = re.compile(r"(?<![.\w])\"(" + "|".join(_CATALOG_TABLES) + r")\"(?!\s*[(.])")
# a literal cast: 'pg_class'::regclass, 'pg_catalog.array_in'::regproc, '{a,b}'::text[]
_LITERAL_CAST = re.compile(r"('(?:[^']|'')*')\s*::\s*(?:pg_catalog\s*\.\s*)?"
                           r"(regclass|regproc|(?:\w+)\s*\[\s*\])", re.I)
_CAST_CALL = re.compile(r"\bCAST\s*\(", re.I)
_QUOTES = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.S)


def rewrite(sql: str) -> str:
    """A catalog query in the private schemas' terms (textual: pglast is not used yet).
    String literals, quoted identifiers and comments are left alone, except for the casts
    of literals and the quoted catalog names that are rewritten on purpose."""
    text = _LITERAL_CAST.sub(_literal_cast, sql)
    text = _rewrite_cast_calls(text)
    text = _QUOTED_QUALIFIED.sub(lambda m: (PGC if m.group(1).lower() == "pg_catalog"
                                            else PGIS) + ".", text)
    text = _QUOTED_BARE.sub(lambda m: f'{PGC}."{m.group(1)}"', text)
    return _outside_quotes(text, _rewrite_code)


def _literal_cast(m: re.Match) -> str:
    literal, target = m.group(1), m.group(2).lower()
    if target == "regclass":
        return f"regclass_oid({literal})"
    if target == "regproc":
        return f"regproc_name({literal})"
    element = re.sub(r"\s*\[\s*\]$", "", target)
    return f"CAST(pg_text_array({literal}) AS {element}[])"


def _rewrite_cast_calls(text: str) -> str:
    """``CAST(x AS regclass)`` as ``regclass_oid(x)``, ``CAST(x AS regproc)`` as
    ``regproc_name(x)`` (sqlglot writes every ``::`` cast in this form)."""
    out, i = [], 0
    while True:
        m = _CAST_CALL.search(text, i)
        if m is None or _in_quotes(text, m.start()):
            if m is None:
                out.append(text[i:])
                return "".join(out)
            out.append(text[i:m.end()])
            i = m.end()
            continue
        end = _closing(text, m.end())
        if end < 0:
            out.append(text[i:])
            return "".join(out)
        inner = _rewrite_cast_calls(text[m.end():end])
        parts = re.match(r"(?s)(.*)\s+AS\s+(?:pg_catalog\s*\.\s*)?(regclass|regproc)\s*$",
                         inner, re.I)
        array = re.match(r"(?s)\s*('\{(?:[^']|'')*')\s+AS\s+(\w+\s*\[\s*\])\s*$", inner)
        out.append(text[i:m.start()])
        if parts and _closing(parts.group(1) + ")", 0) == len(parts.group(1)):
            function = "regclass_oid" if parts.group(2).lower() == "regclass" else \
                "regproc_name"
            out.append(f"{function}({parts.group(1)})")
        elif array:  # '{a,b}' AS text[]: PostgreSQL's array literal
            out.append(f"CAST(pg_text_array({array.group(1)}) AS {array.group(2)})")
        else:
            out.append(f"{text[m.start():m.end()]}{inner})")
        i = end + 1


def _closing(text: str, start: int) -> int:
    """Index of the parenthesis closing the one opened just before ``start``; -1 if none."""
    depth, i = 1, start
    while i < len(text):
        quoted = _QUOTES.match(text, i)
        if quoted:
            i = quoted.end()
            continue
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _in_quotes(text: str, position: int) -> bool:
    for m in _QUOTES.finditer(text):
        if m.start() > position:
            return False
        if position < m.end():
            return True
    return False


def _outside_quotes(text: str, rewrite_code: Callable[[str], str]) -> str:
    """``rewrite_code`` applied to what is outside literals, quoted names and comments."""
    out, i = [], 0
    for m in _QUOTES.finditer(text):
        out.append(rewrite_code(text[i:m.start()]))
        out.append(m.group(0))
        i = m.end()
    out.append(rewrite_code(text[i:]))
    return "".join(out)


def _rewrite_code(text: str) -> str:
    text = _OPERATOR.sub(r"\1", text)
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
