"""Hypothesis strategies for WHERE predicates over any table, driven by its truth data.

Values are sampled from the table itself (with case changed, and tricky text mixed in)
so predicates hit real rows, edge cases and near misses alike.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import strategies as st

TRICKY_TEXT = st.lists(
    st.sampled_from(list("aAbBoO '\\%_éÉü東-") + ["Won", "won", "Acme", "acme", "Inc"]),
    max_size=6,
).map("".join)


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _samples(table: pa.Table, column: str, limit: int = 40) -> list:
    values = [v for v in table.column(column).unique().to_pylist() if v is not None]
    values.sort(key=repr)
    return values[:: max(1, len(values) // limit)][:limit] or [None]


def _case_variants(text: str) -> st.SearchStrategy[str]:
    return st.sampled_from([text, text.lower(), text.upper(), text.swapcase()])


def _literal(value, kind: pa.DataType) -> str:
    if pa.types.is_timestamp(kind):
        moment = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
        return f"TIMESTAMP '{moment.isoformat(sep=' ')}'"
    if pa.types.is_date(kind):
        return f"DATE '{value.isoformat()}'"
    if pa.types.is_string(kind):
        return quote(value)
    if pa.types.is_decimal(kind):
        return str(value)
    return repr(value)


def atoms(table: pa.Table, columns: list[str]) -> st.SearchStrategy[str]:
    @st.composite
    def atom(draw) -> str:
        name = draw(st.sampled_from(columns))
        kind = table.schema.field(name).type
        ident = f'"{name}"'
        samples = _samples(table, name)
        if draw(st.integers(0, 9)) == 0:
            return f"{ident} IS {draw(st.sampled_from(['', 'NOT ']))}NULL"
        if pa.types.is_boolean(kind):
            return draw(st.sampled_from([ident, f"NOT {ident}", f"{ident} = false",
                                         f"{ident} != true"]))
        if pa.types.is_string(kind):
            base = draw(st.sampled_from(samples)) if samples != [None] else "x"
            text = draw(st.one_of(_case_variants(str(base)), TRICKY_TEXT))
            shape = draw(st.sampled_from(["cmp", "in", "like"]))
            if shape == "cmp":
                op = draw(st.sampled_from(["=", "=", "!=", "<", ">="]))
                return f"{ident} {op} {quote(text)}"
            if shape == "in":
                values = draw(st.lists(st.sampled_from(samples).map(str), min_size=1,
                                       max_size=3))
                values.append(text)
                negate = draw(st.sampled_from(["", "NOT "]))
                return f"{ident} {negate}IN ({', '.join(quote(v) for v in values)})"
            op = draw(st.sampled_from(["LIKE", "ILIKE", "NOT LIKE"]))
            prefix, suffix = draw(st.sampled_from([("", "%"), ("%", ""), ("%", "%")]))
            return f"{ident} {op} {quote(prefix + text[:4] + suffix)}"
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        value = draw(st.sampled_from(samples))
        if value is None:
            return f"{ident} IS NULL"
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            value = draw(st.sampled_from([value, value + 1, value - 1, 0]))
            if pa.types.is_integer(kind):
                value = int(value)
            if value < 0:
                return f"{ident} {op} ({value})"
        elif pa.types.is_timestamp(kind):
            value = value.replace(microsecond=0) + dt.timedelta(
                hours=draw(st.sampled_from([0, 0, -1, 25])))
        elif pa.types.is_date(kind):
            value = value + dt.timedelta(days=draw(st.sampled_from([0, 0, 1, -30])))
        return f"{ident} {op} {_literal(value, kind)}"

    return atom()


def predicates(table: pa.Table, columns: list[str]) -> st.SearchStrategy[str]:
    return st.recursive(
        atoms(table, columns),
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda p: f"({p[0]} AND {p[1]})"),
            st.tuples(inner, inner).map(lambda p: f"({p[0]} OR {p[1]})"),
            inner.map(lambda p: f"NOT ({p})"),
        ),
        max_leaves=4,
    )
