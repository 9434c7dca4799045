"""The types of a prepared statement's ``$n`` parameters, as ParameterDescription reports
them: from an explicit cast (``$1::bigint``), or from the column a parameter is compared
with (``Amount > $1`` takes Amount's type); otherwise text. Clients such as asyncpg encode
parameters by these types."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import sqlglot
from sqlglot import exp

from federation.errors import ConcordError
from federation.pgwire.types import (
    BOOL,
    DATE,
    FLOAT4,
    FLOAT8,
    INT2,
    INT4,
    INT8,
    NUMERIC,
    TEXT,
    TIMESTAMP,
    TIMESTAMPTZ,
    VARCHAR,
    pg_type,
)

CAST_OIDS = {
    exp.DataType.Type.BOOLEAN: BOOL, exp.DataType.Type.SMALLINT: INT2,
    exp.DataType.Type.INT: INT4, exp.DataType.Type.BIGINT: INT8,
    exp.DataType.Type.FLOAT: FLOAT4, exp.DataType.Type.DOUBLE: FLOAT8,
    exp.DataType.Type.DECIMAL: NUMERIC, exp.DataType.Type.TEXT: TEXT,
    exp.DataType.Type.VARCHAR: VARCHAR, exp.DataType.Type.DATE: DATE,
    exp.DataType.Type.TIMESTAMP: TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ: TIMESTAMPTZ,
}
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike)


def parameter_types(sql: str, describe: Callable[[str], pa.Schema]) -> dict[int, int]:
    """Parameter number -> PostgreSQL type OID, for the parameters whose type is known."""
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except sqlglot.errors.ParseError:
        return {}
    found: dict[int, int] = {}
    for param in tree.find_all(exp.Parameter):
        if not isinstance(param.this, exp.Literal) or param.this.is_string:
            continue
        number = int(param.this.this)
        oid = _from_cast(param) or _from_comparison(param, describe)
        if oid:
            found.setdefault(number, oid)
    return found


def _from_cast(param: exp.Parameter) -> int | None:
    parent = param.parent
    if isinstance(parent, exp.Cast) and isinstance(parent.to, exp.DataType):
        return CAST_OIDS.get(parent.to.this)
    return None


def _from_comparison(param: exp.Parameter, describe: Callable[[str], pa.Schema]
                     ) -> int | None:
    parent = param.parent
    other = None
    if isinstance(parent, _COMPARISONS):
        other = parent.expression if parent.this is param else parent.this
    elif isinstance(parent, (exp.In, exp.Between)):
        other = parent.this
    if other is None or other.find(exp.Parameter) or not other.find(exp.Column):
        return None
    select = param.find_ancestor(exp.Select)
    if select is None or select.args.get("from") is None and select.args.get("from_") is None:
        return None
    probe = exp.select(other.copy())
    source = select.args.get("from_") or select.args.get("from")
    probe.set("from_" if "from_" in select.args else "from", source.copy())
    if select.args.get("joins"):
        probe.set("joins", [j.copy() for j in select.args["joins"]])
    try:
        schema = describe(probe.sql("postgres"))
    except ConcordError:
        return None
    return pg_type(schema.field(0).type).oid if len(schema) == 1 else None
