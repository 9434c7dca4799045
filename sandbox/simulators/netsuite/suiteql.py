"""SuiteQL parser, checker and executor for the NetSuite simulator.

Adapters push filters down as SuiteQL text, so the simulator must parse real SuiteQL and
refuse what NetSuite refuses, or pushdown bugs stay invisible. SuiteQL is Oracle-flavoured
SQL, so the text is parsed with sqlglot's Oracle dialect, checked against the account's
records and fields (NetSuite's "Invalid search type" / "Unknown identifier" errors), rewritten
where Oracle and DuckDB differ, and executed in an in-memory DuckDB holding the account.

Supported: one ``SELECT`` (also ``UNION``/subqueries/derived tables), column lists, ``*`` and
``alias.*``, aliases, joins (ANSI and comma joins), ``WHERE`` with ``= <> != < <= > >=``,
``LIKE``, ``IN``, ``BETWEEN``, ``IS [NOT] NULL``, ``AND/OR/NOT``, ``GROUP BY``/``HAVING`` and
aggregates, ``ORDER BY``, ``ROWNUM`` (in ``WHERE`` conjuncts and select lists), ``FETCH FIRST
n ROWS ONLY``, ``TOP n``, ``TO_DATE``/``TO_TIMESTAMP`` with Oracle formats, ``DATE '...'``
literals, ``TO_CHAR(x[, fmt])``, ``NVL``, ``DECODE``, ``SUBSTR``, ``||``, ``BUILTIN.DF(field)``.

Semantics follow Oracle (NetSuite's analytics engine), not DuckDB, where they differ:

* Strings compare case-sensitively (``=``, ``LIKE``, ``IN``, ranges, ``ORDER BY``): Oracle's
  default binary collation. [M: not confirmed by NetSuite documentation.]
* The empty string is NULL: ``''`` literals become NULL and empty text values load as NULL;
  ``a || b`` treats NULL as empty (``NULL || 'x'`` is ``'x'``).
* Three-valued logic: ``x != 'a'`` does not match rows where ``x`` is NULL.
* Booleans are the strings ``'T'``/``'F'`` (``isinactive = 'F'``).
* ``ROWNUM`` numbers rows after ``WHERE`` and before ``ORDER BY``; ``ROWNUM > 1`` and
  ``ROWNUM = 2`` match nothing (Oracle's classic trap).
* Unaliased expression columns are named ``expr1``, ``expr2``, ... as NetSuite names them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.dialects.oracle import Oracle
from sqlglot.errors import OptimizeError, ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.time import format_time

from sandbox.projections.erp_model import ErpField, ErpTable, NetSuiteAccount

__all__ = [
    "DEFAULT_DISPLAY_FIELDS",
    "DEFAULT_REFERENCES",
    "TRANSACTION_TYPE_NAMES",
    "CompiledQuery",
    "QueryResult",
    "SuiteQLEngine",
    "SuiteQLError",
    "format_date",
    "number_text",
]

# Where a select (foreign-key) field points, by field name; BUILTIN.DF looks the display
# value up there. Only used when the target record exists in the account.
DEFAULT_REFERENCES: dict[str, str] = {
    "entity": "customer",
    "customer": "customer",
    "currency": "currency",
    "basecurrency": "currency",
    "transactioncurrency": "currency",
    "item": "item",
    "subsidiary": "subsidiary",
    "employee": "employee",
    "salesrep": "employee",
    "transaction": "transaction",
    "createdfrom": "transaction",
}
# Fields shown as a record's display value (first non-null wins).
DEFAULT_DISPLAY_FIELDS: dict[str, tuple[str, ...]] = {
    "customer": ("companyname", "entityid", "altname"),
    "employee": ("entityid", "firstname"),
    "item": ("itemid", "displayname"),
    "currency": ("name", "symbol"),
    "subsidiary": ("name",),
    "transaction": ("tranid", "transactionnumber"),
}
# BUILTIN.DF(transaction.type): NetSuite's labels for the internal type codes.
TRANSACTION_TYPE_NAMES: dict[str, str] = {
    "SalesOrd": "Sales Order",
    "CustInvc": "Invoice",
    "CustPymt": "Payment",
    "CustCred": "Credit Memo",
    "CashSale": "Cash Sale",
    "Estimate": "Quote",
    "Opprtnty": "Opportunity",
    "PurchOrd": "Purchase Order",
    "VendBill": "Bill",
    "Journal": "Journal",
}

_DUCK_TYPES = {
    "integer": "BIGINT",
    "select": "BIGINT",
    "float": "DOUBLE",
    "currency": "DECIMAL(38,6)",
    "text": "VARCHAR",
    "boolean": "VARCHAR",  # 'T' / 'F', as SuiteQL compares them
    "date": "DATE",
    "datetime": "TIMESTAMP",  # UTC wall-clock
}
_ARROW_TYPES = {
    "integer": pa.int64(),
    "select": pa.int64(),
    "float": pa.float64(),
    "currency": pa.decimal128(38, 6),
    "text": pa.string(),
    "boolean": pa.string(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
}
_QUERY_TYPES = (exp.Select, exp.Union, exp.Intersect, exp.Except)
_SIX_PLACES = decimal.Decimal("0.000001")
_ORACLE_TIME_MAPPING = {**Oracle.TIME_MAPPING, "AM": "%p", "PM": "%p", "A.M.": "%p"}


class SuiteQLError(Exception):
    """A query NetSuite rejects; ``detail`` is the text after NetSuite's fixed prefix."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class CompiledQuery:
    """A checked query: the DuckDB SQL to run and the output column keys."""

    suiteql: str
    duckdb_sql: str
    columns: tuple[str, ...]


@dataclass
class QueryResult:
    """Rows of one executed query, capped at ``cap`` rows; ``total`` is the full count."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    total: int
    kinds: tuple[str, ...] = field(default=())


# ---------------------------------------------------------------------------- rendering
_DATE_TOKENS = re.compile(r"YYYY|YY|MONTH|Month|MON|Mon|MM|M|DD|D|HH|H|hh|h|mi|mm|ss|a")


def format_date(value: dt.date | dt.datetime, pattern: str) -> str:
    """Render ``value`` in a NetSuite date preference pattern such as ``M/D/YYYY``,
    ``DD.MM.YYYY``, ``D-Mon-YYYY`` or ``M/D/YYYY h:mi a`` (``mi`` = minutes)."""

    def token(m: re.Match[str]) -> str:
        t = m.group(0)
        if t == "YYYY":
            return f"{value.year:04d}"
        if t == "YY":
            return f"{value.year % 100:02d}"
        if t in ("MONTH", "Month"):
            name = value.strftime("%B")
            return name.upper() if t == "MONTH" else name
        if t in ("MON", "Mon"):
            name = value.strftime("%b")
            return name.upper() if t == "MON" else name
        if t == "MM":
            return f"{value.month:02d}"
        if t == "M":
            return str(value.month)
        if t == "DD":
            return f"{value.day:02d}"
        if t == "D":
            return str(value.day)
        moment = value if isinstance(value, dt.datetime) else dt.datetime(*value.timetuple()[:3])
        if t == "HH":
            return f"{moment.hour:02d}"
        if t == "H":
            return str(moment.hour)
        if t in ("hh", "h"):
            hour = moment.hour % 12 or 12
            return f"{hour:02d}" if t == "hh" else str(hour)
        if t in ("mi", "mm"):
            return f"{moment.minute:02d}"
        if t == "ss":
            return f"{moment.second:02d}"
        return "pm" if moment.hour >= 12 else "am"  # "a"

    return _DATE_TOKENS.sub(token, pattern)


def number_text(value: int | float | decimal.Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros (``1234.5``, ``100``)."""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        value = decimal.Decimal(repr(value))
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


# ---------------------------------------------------------------------------- engine
class SuiteQLEngine:
    """An account's records in DuckDB, plus the SuiteQL compiler in front of them.

    One engine per simulator; ``execute`` is thread-safe (each call uses its own cursor) so
    the simulator can run queries off the event loop. Results of recent query texts are
    cached, because clients page through one query with many requests and the account does
    not change while it is served.
    """

    def __init__(
        self,
        account: NetSuiteAccount,
        references: Mapping[str, str] | None = None,
        display_fields: Mapping[str, tuple[str, ...]] | None = None,
        cache_size: int = 8,
    ) -> None:
        self.account = account
        self.tables: dict[str, ErpTable] = {n.lower(): t for n, t in account.tables.items()}
        self.fields: dict[str, dict[str, ErpField]] = {
            name: {f.name.lower(): f for f in table.fields} for name, table in self.tables.items()
        }
        self.references = dict(DEFAULT_REFERENCES if references is None else references)
        self.display_fields = dict(
            DEFAULT_DISPLAY_FIELDS if display_fields is None else display_fields
        )
        self._schema = {
            name: {col: _DUCK_TYPES.get(f.type, "VARCHAR") for col, f in cols.items()}
            for name, cols in self.fields.items()
        }
        self._cache: OrderedDict[tuple[str, int], QueryResult] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._con = duckdb.connect(":memory:")
        self._load()

    # ------------------------------------------------------------------ loading
    def _load(self) -> None:
        for name, table in self.tables.items():
            fields = list(self.fields[name].values())
            arrays = [
                pa.array(
                    [_load_value(f, row.get(f.name)) for row in table.rows],
                    _ARROW_TYPES.get(f.type, pa.string()),
                )
                for f in fields
            ]
            data = pa.Table.from_arrays(arrays, names=[f.name.lower() for f in fields])
            cols = ", ".join(
                f'"{f.name.lower()}" {_DUCK_TYPES.get(f.type, "VARCHAR")}' for f in fields
            )
            self._con.execute(f'CREATE TABLE "{name}" ({cols})')
            self._con.register("__load", data)
            self._con.execute(f'INSERT INTO "{name}" SELECT * FROM __load')
            self._con.unregister("__load")
        # Client text runs here: no files, no network, no settings changes.
        self._con.execute("SET enable_external_access = false")
        self._con.execute("SET lock_configuration = true")

    def close(self) -> None:
        self._con.close()

    # ------------------------------------------------------------------ compiling
    def compile(self, text: str) -> CompiledQuery:
        """Parse and check ``text`` against the account; raise ``SuiteQLError`` as NetSuite
        would reject it."""
        try:
            statements = [s for s in sqlglot.parse(text, read="oracle") if s is not None]
        except ParseError as e:
            raise SuiteQLError(
                f"Search error occurred: Invalid or unsupported search. {_first_line(e)}"
            ) from e
        except SqlglotError as e:
            raise SuiteQLError(f"Search error occurred: {_first_line(e)}") from e
        if len(statements) != 1:
            raise SuiteQLError("Search error occurred: Invalid or unsupported search.")
        tree = statements[0]
        if not isinstance(tree, _QUERY_TYPES) or any(
            isinstance(node, exp.DML | exp.DDL | exp.Command) for node in tree.walk()
        ):
            raise SuiteQLError("Search error occurred: Invalid or unsupported search.")
        _lowercase_identifiers(tree)
        self._check_tables(tree)
        tree = _mark_builtin_df(tree)
        tree = _rewrite_oracle(tree)
        columns = _name_outputs(tree)
        try:
            tree = qualify(
                tree,
                schema=self._schema,
                dialect="duckdb",
                validate_qualify_columns=True,
                quote_identifiers=True,
                expand_stars=True,
            )
        except OptimizeError as e:
            raise SuiteQLError(self._unknown_identifier(tree, str(e))) from e
        tree = self._rewrite_builtin_df(tree)
        columns = _output_names(tree) or columns
        try:
            sql = tree.sql(dialect="duckdb", identify=True)
        except SqlglotError as e:
            raise SuiteQLError(f"Search error occurred: {_first_line(e)}") from e
        return CompiledQuery(text, sql, tuple(columns))

    def _check_tables(self, tree: exp.Expression) -> None:
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        for table in tree.find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier):  # table functions, VALUES, ...
                raise SuiteQLError("Search error occurred: Invalid or unsupported search.")
            name = table.name.lower()
            if name in ctes:
                continue
            if table.args.get("db") or name not in self.tables:
                raise SuiteQLError(f"Invalid search type: {table.sql(dialect='oracle')}.")
        # alias.field on a record: NetSuite names the record and the field.
        sources = {
            (t.alias_or_name or t.name).lower(): t.name.lower()
            for t in tree.find_all(exp.Table)
            if t.name.lower() in self.tables
        }
        for col in tree.find_all(exp.Column):
            record = sources.get(col.table)
            if record is not None and col.name not in self.fields[record]:
                raise SuiteQLError(
                    f"Search error occurred: Field '{col.name}' for record '{record}' was not "
                    "found. Reason: NOT_EXPOSED - Not available for channel SEARCH"
                )

    def _unknown_identifier(self, tree: exp.Expression, message: str) -> str:
        """NetSuite's wording for a field it cannot resolve."""
        m = re.search(
            r"Column '\"?([^'\"]+)\"?' could not be resolved for table: '([^']+)'", message
        )
        sources = self._sources(tree)
        if m:
            column, alias = m.group(1), m.group(2)
            record = sources.get(alias, alias)
            if alias in sources:
                return (
                    f"Search error occurred: Field '{column}' for record '{record}' was not "
                    "found. Reason: NOT_EXPOSED - Not available for channel SEARCH"
                )
            return f"Search error occurred: Unknown identifier '{alias}.{column}'. " + (
                self._available(sources)
            )
        m = re.search(r"Column '\"?([^'\"]+)\"?' could not be resolved", message) or re.search(
            r"Unknown column: (\S+)", message
        )
        column = m.group(1) if m else "?"
        return f"Search error occurred: Unknown identifier '{column}'. " + self._available(sources)

    def _sources(self, tree: exp.Expression) -> dict[str, str]:
        out: dict[str, str] = {}
        for table in tree.find_all(exp.Table):
            out[(table.alias_or_name or table.name).lower()] = table.name.lower()
        return out

    @staticmethod
    def _available(sources: dict[str, str]) -> str:
        listed = ", ".join(f"{alias}={name}" for alias, name in sources.items())
        return f"Available identifiers are: {{{listed}}}."

    def _rewrite_builtin_df(self, tree: exp.Expression) -> exp.Expression:
        """Replace each ``BUILTIN.DF(col)`` with a lookup of the display value."""
        counter = 0
        for scope in traverse_scope(tree):
            aliases: dict[str, str] = {}
            for alias, source in scope.sources.items():
                if isinstance(source, exp.Table):
                    aliases[alias] = source.name.lower()
            if not isinstance(scope.expression, exp.Select):
                continue
            for node in list(scope.expression.find_all(exp.Anonymous)):
                if (
                    str(node.this).upper() != "__NS_DF"
                    or node.find_ancestor(exp.Select) is not scope.expression
                ):
                    continue
                arg = node.expressions[0] if node.expressions else exp.null()
                counter += 1
                node.replace(self._display_value(arg, aliases, counter))
        return tree

    def _display_value(
        self, arg: exp.Expression, aliases: dict[str, str], n: int
    ) -> exp.Expression:
        text = exp.cast(arg.copy(), exp.DataType.build("VARCHAR"))
        if not isinstance(arg, exp.Column):
            return text
        record = aliases.get(arg.table)
        name = arg.name
        if record == "transaction" and name == "type":
            case = exp.Case(this=arg.copy())
            for code, label in TRANSACTION_TYPE_NAMES.items():
                case = case.when(exp.Literal.string(code), exp.Literal.string(label))
            return case.else_(text)
        target = self.references.get(name)
        field_ = self.fields.get(record or "", {}).get(name)
        if target is None or target not in self.tables or field_ is None or field_.type != "select":
            return text
        key = (self.tables[target].key or "id").lower()
        shown = [c for c in self.display_fields.get(target, ()) if c in self.fields[target]]
        if not shown or key not in self.fields[target]:
            return text
        alias = f"__df{n}"
        value = exp.func(
            "COALESCE",
            *[
                exp.cast(exp.column(c, alias, quoted=True), exp.DataType.build("VARCHAR"))
                for c in shown
            ],
            text,
        )
        lookup = (
            exp.select(value)
            .from_(exp.Table(this=exp.to_identifier(target, quoted=True)).as_(alias, quoted=True))
            .where(exp.column(key, alias, quoted=True).eq(arg.copy()))
            .limit(1)
        )
        return exp.Subquery(this=lookup)

    # ------------------------------------------------------------------ executing
    def execute(self, query: CompiledQuery, cap: int) -> QueryResult:
        """Run ``query``: at most ``cap`` rows are kept, ``total`` counts all of them."""
        key = (query.duckdb_sql, cap)
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        cur = self._con.cursor()
        try:
            try:
                cur.execute(query.duckdb_sql)
                kinds = tuple(str(d[1]) for d in cur.description or ())
                rows = cur.fetchmany(cap) if cap else []
                total = len(rows)
                if total == cap and cur.fetchone() is not None:
                    more = cur.execute(f"SELECT COUNT(*) FROM ({query.duckdb_sql})").fetchone()
                    total = int(more[0]) if more else total
            except duckdb.Error as e:
                raise SuiteQLError(f"Search error occurred: {_first_line(e)}") from e
        finally:
            cur.close()
        result = QueryResult(query.columns, rows, total, kinds)
        with self._cache_lock:
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result


# ---------------------------------------------------------------------------- helpers
def _load_value(f: ErpField, value: Any) -> Any:
    """A model value as stored in DuckDB (SuiteQL's view of it)."""
    if value is None:
        return None
    kind = f.type
    if kind == "boolean":
        if isinstance(value, str):
            return "T" if value.upper() in ("T", "TRUE", "Y", "YES", "1") else "F"
        return "T" if value else "F"
    if kind in ("integer", "select"):
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "currency":
        return decimal.Decimal(str(value)).quantize(_SIX_PLACES)
    if kind == "date":
        return value.date() if isinstance(value, dt.datetime) else value
    if kind == "datetime":
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            return value
        return dt.datetime(value.year, value.month, value.day)
    text = str(value)
    return text or None  # Oracle: the empty string is NULL


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _lowercase_identifiers(tree: exp.Expression) -> None:
    """SuiteQL names are case-insensitive and NetSuite answers with lowercase keys."""
    for ident in tree.find_all(exp.Identifier):
        ident.set("this", ident.this.lower())
        ident.set("quoted", False)


def _mark_builtin_df(tree: exp.Expression) -> exp.Expression:
    """``BUILTIN.DF(x)`` parses as a dotted call; keep it as one opaque function until the
    columns are resolved."""

    def swap(node: exp.Expression) -> exp.Expression:
        if (
            isinstance(node, exp.Dot)
            and isinstance(node.this, exp.Identifier | exp.Column)
            and node.this.name.lower() == "builtin"
            and isinstance(node.expression, exp.Anonymous)
        ):
            fn = str(node.expression.this).upper()
            if fn != "DF":
                raise SuiteQLError(f"Search error occurred: Unknown function BUILTIN.{fn}.")
            args = node.expression.expressions
            if len(args) != 1:
                raise SuiteQLError("Search error occurred: BUILTIN.DF takes one argument.")
            return exp.Anonymous(this="__NS_DF", expressions=[args[0]])
        return node

    return tree.transform(swap)


def _rewrite_oracle(tree: exp.Expression) -> exp.Expression:
    """Oracle behaviour that DuckDB lacks: ROWNUM, '' as NULL, NULL-tolerant ``||``,
    ``TO_CHAR`` with a format."""
    for select in list(tree.find_all(exp.Select)):
        _rewrite_rownum(select)

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Literal) and node.is_string and node.this == "":
            return exp.null()
        if isinstance(node, exp.DPipe):
            # DuckDB's CONCAT skips NULLs like Oracle's ||; sqlglot would turn a CONCAT
            # node back into ||, so keep it an opaque call.
            joined = exp.Anonymous(this="CONCAT", expressions=[node.this, node.expression])
            return exp.func("NULLIF", joined, exp.Literal.string(""))
        if isinstance(node, exp.ToChar):
            fmt = node.args.get("format")
            if fmt is None:
                return exp.cast(node.this, exp.DataType.build("VARCHAR"))
            if not fmt.is_string:
                raise SuiteQLError("Search error occurred: TO_CHAR format must be a literal.")
            pattern = format_time(fmt.this, _ORACLE_TIME_MAPPING) or fmt.this
            return exp.func("STRFTIME", node.this, exp.Literal.string(pattern.replace('"', "")))
        return node

    return tree.transform(swap)


def _is_rownum(node: exp.Expression) -> bool:
    return isinstance(node, exp.Column) and not node.table and node.name.lower() == "rownum"


def _rownum_limit(cond: exp.Expression) -> int | None:
    """The row count an Oracle ``ROWNUM`` predicate lets through (None = all)."""

    def num(e: exp.Expression) -> int:
        if isinstance(e, exp.Literal) and not e.is_string:
            return int(float(e.this))
        raise SuiteQLError("Search error occurred: ROWNUM must be compared with a number.")

    if isinstance(cond, exp.Between) and _is_rownum(cond.this):
        low, high = num(cond.args["low"]), num(cond.args["high"])
        return max(high, 0) if low <= 1 else 0
    if not isinstance(cond, exp.LT | exp.LTE | exp.GT | exp.GTE | exp.EQ):
        raise SuiteQLError("Search error occurred: Unsupported use of ROWNUM.")
    left, right = cond.this, cond.expression
    op = type(cond)
    if _is_rownum(right) and not _is_rownum(left):  # n >= ROWNUM  ->  ROWNUM <= n
        left, right = right, left
        op = {exp.LT: exp.GT, exp.LTE: exp.GTE, exp.GT: exp.LT, exp.GTE: exp.LTE}.get(op, op)
    n = num(right)
    if op is exp.LTE:
        return max(n, 0)
    if op is exp.LT:
        return max(n - 1, 0)
    if op is exp.EQ:
        return 1 if n == 1 else 0
    if op is exp.GT:
        return None if n < 1 else 0
    return None if n <= 1 else 0  # GTE


def _rewrite_rownum(select: exp.Select) -> None:
    where = select.args.get("where")
    limit: int | None = None
    if where is not None and any(_is_rownum(c) for c in where.find_all(exp.Column)):
        kept: list[exp.Expression] = []
        for cond in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
            if any(_is_rownum(c) for c in cond.find_all(exp.Column)):
                n = _rownum_limit(cond.unnest() if isinstance(cond, exp.Paren) else cond)
                if n is not None:
                    limit = n if limit is None else min(limit, n)
            else:
                kept.append(cond)
        select.set("where", exp.Where(this=exp.and_(*kept)) if kept else None)
        if limit is not None:
            if select.args.get("group") or any(
                isinstance(e, exp.AggFunc) for p in select.expressions for e in p.walk()
            ):
                raise SuiteQLError(
                    "Search error occurred: ROWNUM with GROUP BY or aggregates is not "
                    "supported by the simulator; filter in a subquery."
                )
            qualify_ = exp.LTE(this=_row_number(), expression=exp.Literal.number(limit))
            select.set("qualify", exp.Qualify(this=qualify_))
    select.set(
        "expressions",
        [exp.alias_(p, "rownum") if _is_rownum(p) else p for p in select.expressions],
    )
    for col in list(select.find_all(exp.Column)):
        if _is_rownum(col) and col.find_ancestor(exp.Select) is select:
            col.replace(_row_number())


def _row_number() -> exp.Expression:
    return exp.Window(this=exp.RowNumber())


def _name_outputs(tree: exp.Expression) -> list[str]:
    """Give unaliased expression columns NetSuite's names (``expr1``, ...)."""
    selects = [tree] if isinstance(tree, exp.Select) else list(_union_selects(tree))
    names: list[str] = []
    for i, select in enumerate(selects):
        counter = 0
        new = []
        for proj in select.expressions:
            if isinstance(proj, exp.Alias | exp.Column | exp.Star):
                new.append(proj)
            else:
                counter += 1
                new.append(exp.alias_(proj, f"expr{counter}"))
            if i == 0:
                names.append(
                    proj.alias_or_name if not isinstance(new[-1], exp.Alias) else new[-1].alias
                )
        select.set("expressions", new)
    return names


def _union_selects(tree: exp.Expression) -> Iterable[exp.Select]:
    if isinstance(tree, exp.Select):
        yield tree
    elif isinstance(tree, exp.Union | exp.Intersect | exp.Except):
        yield from _union_selects(tree.this)
        yield from _union_selects(tree.expression)
    elif isinstance(tree, exp.Subquery):
        yield from _union_selects(tree.this)


def _output_names(tree: exp.Expression) -> list[str]:
    first = next(iter(_union_selects(tree)), None)
    if first is None:
        return []
    return [p.alias_or_name.lower() for p in first.expressions]
