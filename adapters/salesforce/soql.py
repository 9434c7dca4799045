"""Compile pushed-down predicates and scan requests to SOQL.

Each predicate is classified by how faithfully SOQL evaluates it under DuckDB's
semantics. SOQL compares strings case-insensitively, so string ``=``/``IN``/``LIKE``
return a superset (inexact) and string ``!=``/ranges/``NOT IN`` could lose rows, so
they stay local. A ``NOT`` is only pushed over an exact child.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlglot import exp

from adapters.contract import Pushdown, ScanRequest, SortKey, TableInfo

MAX_IN_VALUES = 200
_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\b": "\\b", "\f": "\\f"}
_CONTROL = re.compile(r"[\x00-\x07\x0b\x0e-\x1f]")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_OPS = {exp.EQ: "=", exp.NEQ: "!=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
_FLIP = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE, exp.EQ: exp.EQ,
         exp.NEQ: exp.NEQ}
_TIMESTAMP_TYPES = {"TIMESTAMP", "TIMESTAMPNTZ", "TIMESTAMPTZ", "DATETIME"}
_NUMERIC = {"currency", "percent", "double", "int", "long"}
_STRINGS = {"id", "string", "picklist", "combobox", "reference", "email", "phone", "url",
            "encryptedstring"}


@dataclass(frozen=True)
class Compiled:
    soql: str
    pushdown: Pushdown


def quote_string(value: str) -> str | None:
    """A SOQL string literal, or None if the value has characters SOQL cannot carry."""
    if _CONTROL.search(value):
        return None
    return "'" + "".join(_ESCAPES.get(ch, ch) for ch in value) + "'"


def compile_predicate(table: TableInfo, node: exp.Expression) -> Compiled | None:
    """SOQL for ``node`` and its fidelity, or None when it must stay local."""
    if isinstance(node, exp.Paren):
        return compile_predicate(table, node.this)
    if isinstance(node, (exp.And, exp.Or)):
        left = compile_predicate(table, node.left)
        right = compile_predicate(table, node.right)
        if left is None or right is None:
            return None
        word = "AND" if isinstance(node, exp.And) else "OR"
        return Compiled(f"({left.soql} {word} {right.soql})", min(left.pushdown, right.pushdown))
    if isinstance(node, exp.Not):
        return _compile_not(table, node.this)
    flag = _boolean_field(table, node)
    if flag is not None:
        return Compiled(f"{flag} = TRUE", Pushdown.EXACT)
    if isinstance(node, exp.Is):
        return _compile_is_null(table, node, negate=False)
    if isinstance(node, tuple(_OPS)):
        return _compile_comparison(table, node)
    if isinstance(node, exp.Between):
        low = _compile_comparison(table, exp.GTE(this=node.this.copy(),
                                                 expression=node.args["low"].copy()))
        high = _compile_comparison(table, exp.LTE(this=node.this.copy(),
                                                  expression=node.args["high"].copy()))
        if low is None or high is None:
            return None
        return Compiled(f"({low.soql} AND {high.soql})", min(low.pushdown, high.pushdown))
    if isinstance(node, exp.In):
        return _compile_in(table, node)
    if isinstance(node, (exp.Like, exp.ILike)):
        return _compile_like(table, node)
    return None


def _compile_not(table: TableInfo, child: exp.Expression) -> Compiled | None:
    if isinstance(child, exp.Paren):
        return _compile_not(table, child.this)
    if isinstance(child, exp.Is):
        return _compile_is_null(table, child, negate=True)
    flag = _boolean_field(table, child)
    if flag is not None:  # booleans are never null in Salesforce, so NOT flag is exact
        return Compiled(f"{flag} = FALSE", Pushdown.EXACT)
    inner = compile_predicate(table, child)
    if inner is None or inner.pushdown is not Pushdown.EXACT:
        return None  # NOT over a superset would drop rows DuckDB keeps
    # SOQL treats comparisons with null as false, so NOT keeps null rows: a superset.
    return Compiled(f"(NOT {inner.soql})", Pushdown.INEXACT)


def _field(table: TableInfo, node: exp.Expression):
    if isinstance(node, exp.Column) and not node.table:
        col = table.column(node.name)
        if col is not None and col.filterable:
            return col
    return None


def _boolean_field(table: TableInfo, node: exp.Expression) -> str | None:
    col = _field(table, node)
    return col.name if col is not None and col.native_type == "boolean" else None


def _compile_is_null(table: TableInfo, node: exp.Is, *, negate: bool) -> Compiled | None:
    col = _field(table, node.this)
    if col is None or not isinstance(node.expression, exp.Null) or col.native_type == "boolean":
        return None  # SOQL's boolean = null means = false
    return Compiled(f"{col.name} {'!=' if negate else '='} null", Pushdown.EXACT)


def _compile_comparison(table: TableInfo, node: exp.Expression) -> Compiled | None:
    op_type = type(node)
    left, right = node.this, node.expression
    if _field(table, left) is None:
        left, right, op_type = right, left, _FLIP[op_type]
    col = _field(table, left)
    if col is None:
        return None
    literal = _literal(col.native_type, right)
    if literal is None:
        return None
    native = col.native_type
    if native in _STRINGS:
        if op_type is not exp.EQ:
            return None  # case-insensitive != and ranges can lose rows
        return Compiled(f"{col.name} = {literal}", Pushdown.INEXACT)
    if native == "boolean" and op_type not in (exp.EQ, exp.NEQ):
        return None
    return Compiled(f"{col.name} {_OPS[op_type]} {literal}", Pushdown.EXACT)


def _compile_in(table: TableInfo, node: exp.In) -> Compiled | None:
    col = _field(table, node.this)
    values = node.expressions
    if col is None or not values or node.args.get("query") or len(values) > MAX_IN_VALUES:
        return None
    if col.native_type not in _STRINGS and col.native_type not in _NUMERIC | {"date"}:
        return None
    literals = [_literal(col.native_type, v) for v in values]
    if any(lit is None for lit in literals):
        return None
    fidelity = Pushdown.INEXACT if col.native_type in _STRINGS else Pushdown.EXACT
    return Compiled(f"{col.name} IN ({', '.join(literals)})", fidelity)  # type: ignore[arg-type]


def _compile_like(table: TableInfo, node: exp.Expression) -> Compiled | None:
    col = _field(table, node.this)
    pattern = node.expression
    if (col is None or col.native_type not in _STRINGS or not isinstance(pattern, exp.Literal)
            or not pattern.is_string or "\\" in pattern.this or node.args.get("escape")):
        return None
    quoted = quote_string(pattern.this)
    if quoted is None:
        return None
    return Compiled(f"{col.name} LIKE {quoted}", Pushdown.INEXACT)


def _literal(native: str, node: exp.Expression) -> str | None:
    """The SOQL literal for ``node`` compared with a field of type ``native``."""
    if isinstance(node, exp.Paren):
        return _literal(native, node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        inner = _literal(native, node.this)
        return None if inner is None else f"-{inner}"
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        kind = node.to.this
        if kind == exp.DataType.Type.DATE:
            return _date_literal(native, node.this.this)
        if kind.name in _TIMESTAMP_TYPES:
            return _datetime_literal(native, node.this.this)
        return None
    if isinstance(node, exp.Boolean):
        return ("TRUE" if node.this else "FALSE") if native == "boolean" else None
    if not isinstance(node, exp.Literal):
        return None
    if node.is_string:
        text = node.this
        if native in _STRINGS:
            return quote_string(text)
        if native == "date":
            return _date_literal(native, text)
        if native == "datetime":
            return _datetime_literal(native, text)
        return None
    if native in _NUMERIC and _NUMBER.match(node.this):
        return node.this
    return None


def _date_literal(native: str, text: str) -> str | None:
    if not _DATE.match(text):
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    if native == "date":
        return day.isoformat()
    if native == "datetime":  # DuckDB casts the date to midnight UTC
        return f"{day.isoformat()}T00:00:00Z"
    return None


def _datetime_literal(native: str, text: str) -> str | None:
    if native != "datetime":
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    if moment.microsecond:
        return None  # SOQL literals have whole seconds
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def can_sort(table: TableInfo, key: SortKey) -> bool:
    """SOQL orders strings case-insensitively, so only non-string keys sort like DuckDB."""
    col = table.column(key.column)
    return bool(col and col.sortable and (col.native_type in _NUMERIC
                                          or col.native_type in {"date", "datetime"}))


def build_soql(table: TableInfo, request: ScanRequest) -> str:
    """The SOQL text for a scan; every filter in the request must be compilable."""
    fields = ", ".join(request.columns)
    soql = f"SELECT {fields} FROM {table.name}"
    clauses = []
    for predicate in request.filters:
        compiled = compile_predicate(table, predicate)
        if compiled is None:
            raise ValueError(f"predicate cannot be pushed: {predicate.sql()}")
        clauses.append(compiled.soql)
    if clauses:
        soql += " WHERE " + " AND ".join(clauses)
    if request.order_by:
        keys = ", ".join(
            f"{k.column} {'DESC' if k.descending else 'ASC'} "
            f"{'NULLS FIRST' if k.nulls_first else 'NULLS LAST'}"
            for k in request.order_by
        )
        soql += f" ORDER BY {keys}"
    if request.limit is not None:
        soql += f" LIMIT {request.limit}"
    return soql
