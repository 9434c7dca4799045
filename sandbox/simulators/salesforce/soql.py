"""SOQL parser and evaluator for the Salesforce simulator.

Adapters push filters down as SOQL text, so the simulator must parse the real syntax and
apply Salesforce's semantics (not SQL's) or pushdown bugs stay invisible. Supported subset:

* ``SELECT f1, Rel.f2, Rel.Rel2.f3, Custom__r.f4 FROM Obj`` (child-to-parent paths up to 5
  levels; the object's own name may prefix a field, ``Account.Name`` on Account), or
  ``SELECT COUNT() FROM Obj`` (answer is ``totalSize`` only). No aggregates, GROUP BY,
  child subqueries, TYPEOF, aliases, WITH, FOR.
* ``WHERE`` conditions ``field op value`` with ``= != <> < <= > >=``, ``LIKE``, ``IN (...)``,
  ``NOT IN (...)``; ``AND``/``OR``/``NOT`` with parentheses. As in SOQL, mixing AND and OR
  without parentheses is MALFORMED_QUERY. ``NOT field LIKE 'x'`` (there is no ``NOT LIKE``).
* Literals: ``'single-quoted'`` strings with escapes ``\\' \\" \\\\ \\n \\r \\t \\b \\f
  \\uXXXX \\% \\_`` (others are MALFORMED_QUERY); numbers; ``TRUE/FALSE``; ``null``; dates
  ``YYYY-MM-DD`` (date fields only); datetimes ``YYYY-MM-DDThh:mm:ss[.sss](Z|±hh:mm)``
  (datetime fields only); relative date literals TODAY, YESTERDAY, TOMORROW,
  LAST/THIS/NEXT_WEEK, LAST/THIS/NEXT_MONTH, LAST/THIS/NEXT_QUARTER, LAST/THIS/NEXT_YEAR,
  the ``_FISCAL_`` forms (fiscal year = calendar year, the org default), LAST_90_DAYS,
  NEXT_90_DAYS and ``LAST/NEXT_N_DAYS|WEEKS|MONTHS|QUARTERS|YEARS:n``,
  ``N_DAYS|WEEKS|MONTHS|QUARTERS|YEARS_AGO:n``. A relative literal is a range: ``=`` inside,
  ``>`` after its end, ``<`` before its start. "Today" is ``org.today`` in UTC; weeks start
  on Sunday (en_US). LAST_N_DAYS:n covers today and the n days before it.
* ``ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...`` (default ASC NULLS FIRST), ``LIMIT n``,
  ``OFFSET n`` (n > 2000 is NUMBER_OUTSIDE_VALID_RANGE).

Semantics: string ``=``, ``!=``, ``IN``, ``LIKE``, range comparisons and ORDER BY are
case-insensitive (Id/reference values compare exactly; a 15-char Id literal matches the
18-char Id it prefixes). Two-valued logic: a comparison with a null field value is false,
its negation (``!=``, ``NOT IN``, ``NOT ... LIKE``) true (configurable via
``null_negation_matches``). Boolean ``= null`` means ``= false``. A missing parent makes
every field on that path null. Field, relationship and object names are case-insensitive;
results use canonical names.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from sandbox.projections.salesforce_model import SalesforceOrg, SObject, SObjectField

from .errors import SoqlError

__all__ = [
    "CompiledQuery",
    "QueryResult",
    "SoqlEngine",
    "format_value",
    "parse",
    "relative_date_range",
]

MAX_OFFSET = 2000
MAX_RELATIONSHIP_DEPTH = 5

_GRAMMAR = r"""
start: SELECT select_list FROM object_name where_clause? order_clause? limit_clause? offset_clause?

select_list: count_all | field_path ("," field_path)*
count_all: COUNT "(" ")"
field_path: NAME ("." NAME)*
object_name: NAME | ORDER | LIMIT | OFFSET | COUNT

where_clause: WHERE expr
?expr: and_chain | or_chain | unary
and_chain: unary (AND unary)+
or_chain: unary (OR unary)+
?unary: NOT unary -> not_expr
      | "(" expr ")"
      | condition
condition: field_path OP value                            -> compare
         | field_path LIKE value                          -> like
         | field_path IN "(" value ("," value)* ")"       -> in_list
         | field_path NOT IN "(" value ("," value)* ")"   -> not_in_list

value: STRING     -> string
     | NUMBER     -> number
     | DATETIME   -> datetime
     | DATE       -> date
     | TRUE       -> true
     | FALSE      -> false
     | NULL       -> null
     | NAME (":" INT)? -> relative

order_clause: ORDER BY order_item ("," order_item)*
order_item: field_path direction? nulls?
direction: ASC | DESC
nulls: NULLS (FIRST | LAST)
limit_clause: LIMIT INT
offset_clause: OFFSET INT

OP: "=" | "!=" | "<>" | "<=" | ">=" | "<" | ">"
SELECT: "SELECT"i
FROM: "FROM"i
WHERE: "WHERE"i
ORDER: "ORDER"i
BY: "BY"i
LIMIT: "LIMIT"i
OFFSET: "OFFSET"i
COUNT: "COUNT"i
AND: "AND"i
OR: "OR"i
NOT: "NOT"i
IN: "IN"i
LIKE: "LIKE"i
ASC: "ASC"i
DESC: "DESC"i
NULLS: "NULLS"i
FIRST: "FIRST"i
LAST: "LAST"i
TRUE: "TRUE"i
FALSE: "FALSE"i
NULL: "NULL"i
NAME: /[A-Za-z_][A-Za-z0-9_]*/
STRING: /'(?:\\.|[^'\\])*'/
DATETIME.3: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})/
DATE.2: /\d{4}-\d{2}-\d{2}/
NUMBER.1: /[+-]?(\d+(\.\d*)?|\.\d+)/
INT: /\d+/
%import common.WS
%ignore WS
"""

_PARSER = Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False)


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Pos:
    line: int
    column: int


@dataclass(frozen=True)
class FieldPath:
    parts: tuple[str, ...]
    pos: Pos

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, date, datetime, bool, null, relative
    value: Any
    pos: Pos
    raw: str = ""


@dataclass(frozen=True)
class Condition:
    field: FieldPath
    op: str  # = != < <= > >= LIKE IN NOT IN
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND OR
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    item: Any


@dataclass(frozen=True)
class OrderItem:
    field: FieldPath
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    text: str
    fields: tuple[FieldPath, ...]  # empty for COUNT()
    count: bool
    sobject: str
    sobject_pos: Pos
    where: Any | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


def _pos(tok: Token) -> Pos:
    return Pos(tok.line or 1, tok.column or 1)


_SIMPLE_ESCAPES = {
    "'": "'",
    '"': '"',
    "\\": "\\",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
}


def _unescape(raw: str, query: str, pos: Pos, like: bool) -> str:
    """Decode a quoted SOQL string body; in LIKE mode keep ``\\%``/``\\_``/``\\\\`` escaped."""
    out: list[str] = []
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1] if i + 1 < n else ""
        if like and nxt in ("%", "_", "\\"):
            out.append("\\" + nxt)
            i += 2
        elif nxt in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[nxt])
            i += 2
        elif nxt in ("%", "_"):
            out.append(nxt)
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", raw[i + 2 : i + 6]):
            out.append(chr(int(raw[i + 2 : i + 6], 16)))
            i += 6
        else:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"Invalid string literal '{raw}'. Illegal character sequence '\\{nxt}' "
                "in string literal.",
                query,
                pos.line,
                pos.column,
            )
    return "".join(out)


def _parse_datetime(text: str) -> dt.datetime:
    s = text
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    elif re.search(r"[+-]\d{4}$", s):
        s = s[:-2] + ":" + s[-2:]
    return dt.datetime.fromisoformat(s).astimezone(dt.UTC)


@v_args(inline=True)
class _ToAst(Transformer):
    def __init__(self, query: str) -> None:
        super().__init__()
        self.query = query

    def field_path(self, *names: Token) -> FieldPath:
        return FieldPath(tuple(str(n) for n in names), _pos(names[0]))

    def count_all(self, tok: Token) -> str:
        return "COUNT"

    def select_list(self, *items: Any) -> tuple[Any, ...]:
        return items

    def object_name(self, tok: Token) -> Token:
        return tok

    def where_clause(self, _kw: Token, expr: Any) -> tuple[str, Any]:
        return ("where", expr)

    def and_chain(self, *items: Any) -> BoolOp:
        return BoolOp("AND", tuple(i for i in items if not isinstance(i, Token)))

    def or_chain(self, *items: Any) -> BoolOp:
        return BoolOp("OR", tuple(i for i in items if not isinstance(i, Token)))

    def not_expr(self, _kw: Token, item: Any) -> Not:
        return Not(item)

    def compare(self, f: FieldPath, op: Token, value: Literal) -> Condition:
        o = str(op)
        return Condition(f, "!=" if o == "<>" else o, value)

    def like(self, f: FieldPath, _kw: Token, value: Literal) -> Condition:
        if value.kind == "string":
            # Re-decode the raw text keeping LIKE escapes distinct from wildcards.
            value = Literal(
                "string", _unescape(value.raw, self.query, value.pos, True), value.pos, value.raw
            )
        return Condition(f, "LIKE", value)

    def in_list(self, f: FieldPath, _kw: Token, *values: Literal) -> Condition:
        return Condition(f, "IN", values)

    def not_in_list(self, f: FieldPath, _n: Token, _i: Token, *values: Literal) -> Condition:
        return Condition(f, "NOT IN", values)

    def string(self, tok: Token) -> Literal:
        raw = str(tok)[1:-1]
        return Literal("string", _unescape(raw, self.query, _pos(tok), False), _pos(tok), raw)

    def number(self, tok: Token) -> Literal:
        s = str(tok)
        value: int | float = float(s) if "." in s else int(s)
        return Literal("number", value, _pos(tok), s)

    def datetime(self, tok: Token) -> Literal:
        try:
            value = _parse_datetime(str(tok))
        except ValueError:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"line {tok.line}:{(tok.column or 1) - 1} invalid datetime: {tok}",
                self.query,
                tok.line,
                tok.column,
            ) from None
        return Literal("datetime", value, _pos(tok), str(tok))

    def date(self, tok: Token) -> Literal:
        try:
            value = dt.date.fromisoformat(str(tok))
        except ValueError:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"line {tok.line}:{(tok.column or 1) - 1} invalid date: {tok}",
                self.query,
                tok.line,
                tok.column,
            ) from None
        return Literal("date", value, _pos(tok), str(tok))

    def true(self, tok: Token) -> Literal:
        return Literal("bool", True, _pos(tok), str(tok))

    def false(self, tok: Token) -> Literal:
        return Literal("bool", False, _pos(tok), str(tok))

    def null(self, tok: Token) -> Literal:
        return Literal("null", None, _pos(tok), str(tok))

    def relative(self, name: Token, n: Token | None = None) -> Literal:
        key = str(name).upper()
        takes_n = key in _RELATIVE_N
        if key not in _RELATIVE_FIXED and not takes_n:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"unexpected token: '{name}'",
                self.query,
                name.line,
                name.column,
            )
        if takes_n != (n is not None):
            raise SoqlError(
                "MALFORMED_QUERY",
                f"unexpected token: '{name}'",
                self.query,
                name.line,
                name.column,
            )
        return Literal("relative", (key, int(n) if n is not None else None), _pos(name), str(name))

    def order_item(self, f: FieldPath, *mods: Any) -> OrderItem:
        desc = False
        nulls_last: bool | None = None
        for m in mods:
            if m[0] == "dir":
                desc = m[1]
            else:
                nulls_last = m[1]
        if nulls_last is None:
            nulls_last = False  # Salesforce default: NULLS FIRST for both directions
        return OrderItem(f, desc, nulls_last)

    def direction(self, tok: Token) -> tuple[str, bool]:
        return ("dir", str(tok).upper() == "DESC")

    def nulls(self, _kw: Token, which: Token) -> tuple[str, bool]:
        return ("nulls", str(which).upper() == "LAST")

    def order_clause(self, _o: Token, _b: Token, *items: OrderItem) -> tuple[str, Any]:
        return ("order", items)

    def limit_clause(self, _kw: Token, n: Token) -> tuple[str, Any]:
        return ("limit", int(n))

    def offset_clause(self, _kw: Token, n: Token) -> tuple[str, Any]:
        return ("offset", (int(n), _pos(n)))

    def start(self, _sel: Token, select: tuple[Any, ...], _from: Token, obj: Token, *rest: Any):
        clauses = dict(rest)
        count = select == ("COUNT",)
        fields = () if count else tuple(select)
        offset = clauses.get("offset")
        return Query(
            text=self.query,
            fields=fields,
            count=count,
            sobject=str(obj),
            sobject_pos=_pos(obj),
            where=clauses.get("where"),
            order_by=tuple(clauses.get("order", ())),
            limit=clauses.get("limit"),
            offset=offset[0] if offset else None,
        )


def parse(query: str) -> Query:
    """Parse SOQL text into a ``Query``; raises ``SoqlError`` (MALFORMED_QUERY) on bad syntax."""
    try:
        tree = _PARSER.parse(query)
    except UnexpectedCharacters as e:
        ch = query[e.pos_in_stream] if e.pos_in_stream < len(query) else ""
        raise SoqlError(
            "MALFORMED_QUERY",
            f"line {e.line}:{e.column - 1} no viable alternative at character '{ch}'",
            query,
            e.line,
            e.column,
        ) from None
    except UnexpectedEOF:
        _raise_eof(query)
    except UnexpectedToken as e:
        tok = e.token
        if tok.type == "$END":
            _raise_eof(query)
        raise SoqlError(
            "MALFORMED_QUERY", f"unexpected token: '{tok}'", query, tok.line, tok.column
        ) from None
    except UnexpectedInput as e:  # pragma: no cover - other lark input errors
        raise SoqlError("MALFORMED_QUERY", str(e), query, 1, 1) from None
    try:
        return _ToAst(query).transform(tree)
    except Exception as e:  # lark wraps transformer exceptions
        inner = getattr(e, "orig_exc", None)
        if isinstance(inner, SoqlError):
            raise inner from None
        raise


def _raise_eof(query: str) -> None:
    lines = query.rstrip().split("\n")
    raise SoqlError(
        "MALFORMED_QUERY",
        "unexpected token: <EOF>",
        query,
        len(lines),
        len(lines[-1]) + 1,
    ) from None


# --------------------------------------------------------------------- relative dates


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    idx = year * 12 + (month - 1) + delta
    return idx // 12, idx % 12 + 1


def _month_span(year: int, month: int, count: int) -> tuple[dt.date, dt.date]:
    ey, em = _add_months(year, month, count - 1)
    return dt.date(year, month, 1), dt.date(ey, em, calendar.monthrange(ey, em)[1])


def _week_start(today: dt.date) -> dt.date:
    return today - dt.timedelta(days=(today.weekday() + 1) % 7)  # Sunday


def _quarter_first_month(today: dt.date) -> int:
    return 3 * ((today.month - 1) // 3) + 1


def _period(unit: str, today: dt.date, start_offset: int, count: int) -> tuple[dt.date, dt.date]:
    """``count`` whole periods of ``unit`` starting ``start_offset`` periods from the current."""
    if unit == "DAY":
        s = today + dt.timedelta(days=start_offset)
        return s, s + dt.timedelta(days=count - 1)
    if unit == "WEEK":
        s = _week_start(today) + dt.timedelta(days=7 * start_offset)
        return s, s + dt.timedelta(days=7 * count - 1)
    if unit == "MONTH":
        y, m = _add_months(today.year, today.month, start_offset)
        return _month_span(y, m, count)
    if unit == "QUARTER":
        y, m = _add_months(today.year, _quarter_first_month(today), 3 * start_offset)
        return _month_span(y, m, 3 * count)
    if unit == "YEAR":
        return dt.date(today.year + start_offset, 1, 1), dt.date(
            today.year + start_offset + count - 1, 12, 31
        )
    raise ValueError(unit)


_RELATIVE_FIXED: dict[str, tuple[str, int, int]] = {
    "TODAY": ("DAY", 0, 1),
    "YESTERDAY": ("DAY", -1, 1),
    "TOMORROW": ("DAY", 1, 1),
    "LAST_90_DAYS": ("DAY", -90, 91),
    "NEXT_90_DAYS": ("DAY", 1, 90),
}
for _unit in ("WEEK", "MONTH", "QUARTER", "YEAR"):
    for _prefix in ("",) if _unit in ("WEEK", "MONTH") else ("", "FISCAL_"):
        _RELATIVE_FIXED[f"LAST_{_prefix}{_unit}"] = (_unit, -1, 1)
        _RELATIVE_FIXED[f"THIS_{_prefix}{_unit}"] = (_unit, 0, 1)
        _RELATIVE_FIXED[f"NEXT_{_prefix}{_unit}"] = (_unit, 1, 1)

_RELATIVE_N: dict[str, tuple[str, str]] = {}
for _unit in ("DAY", "WEEK", "MONTH", "QUARTER", "YEAR"):
    _RELATIVE_N[f"LAST_N_{_unit}S"] = (_unit, "last")
    _RELATIVE_N[f"NEXT_N_{_unit}S"] = (_unit, "next")
    _RELATIVE_N[f"N_{_unit}S_AGO"] = (_unit, "ago")
    if _unit in ("QUARTER", "YEAR"):
        _RELATIVE_N[f"LAST_N_FISCAL_{_unit}S"] = (_unit, "last")
        _RELATIVE_N[f"NEXT_N_FISCAL_{_unit}S"] = (_unit, "next")
        _RELATIVE_N[f"N_FISCAL_{_unit}S_AGO"] = (_unit, "ago")


def relative_date_range(name: str, n: int | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """Inclusive first and last calendar day a relative date literal covers."""
    key = name.upper()
    if key in _RELATIVE_FIXED:
        unit, off, count = _RELATIVE_FIXED[key]
        return _period(unit, today, off, count)
    unit, kind = _RELATIVE_N[key]
    assert n is not None
    if kind == "ago":
        return _period(unit, today, -n, 1)
    if unit == "DAY":
        # LAST_N_DAYS:n includes today; NEXT_N_DAYS:n starts tomorrow.
        return _period("DAY", today, -n, n + 1) if kind == "last" else _period("DAY", today, 1, n)
    return _period(unit, today, -n, n) if kind == "last" else _period(unit, today, 1, n)


# ------------------------------------------------------------------------ resolution

STRING_TYPES = {
    "string",
    "picklist",
    "multipicklist",
    "combobox",
    "email",
    "phone",
    "url",
    "textarea",
    "encryptedstring",
}
_ID_TYPES = {"id", "reference"}
_NUMBER_TYPES = {"currency", "percent", "double", "int", "long"}


def _type_word(ftype: str) -> str:
    if ftype in _ID_TYPES:
        return "id"
    if ftype in ("int", "long"):
        return "int"
    if ftype in _NUMBER_TYPES:
        return "double"
    if ftype == "datetime":
        return "dateTime"
    if ftype in ("boolean", "date"):
        return ftype
    return "string"


Getter = Callable[[dict[str, Any]], Any]


@dataclass
class ResolvedField:
    """A field path bound to the model: how to fetch it and where it lives."""

    path: FieldPath
    relationships: tuple[tuple[SObjectField, tuple[str, ...], str], ...]
    # (reference field, target object names, canonical relationship name) per hop
    field: SObjectField
    getter: Getter


def format_value(f: SObjectField, value: Any) -> Any:
    """Render a Python value the way the REST API writes it in JSON."""
    if value is None:
        return None
    t = f.type
    if t == "datetime":
        if isinstance(value, dt.datetime):
            v = value.astimezone(dt.UTC) if value.tzinfo else value
            return f"{v:%Y-%m-%dT%H:%M:%S}.{v.microsecond // 1000:03d}+0000"
        return str(value)
    if t == "date":
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
    return value


@dataclass
class QueryResult:
    """Matching records (in order, after OFFSET/LIMIT) plus how to render each one."""

    sobject: SObject
    rows: list[dict[str, Any]]
    total_size: int
    count_only: bool
    project: Callable[[dict[str, Any], str], dict[str, Any]]


class SoqlEngine:
    """Runs SOQL against one ``SalesforceOrg``; caches per-object Id indexes for joins."""

    def __init__(self, org: SalesforceOrg, null_negation_matches: bool = True) -> None:
        self.org = org
        self.null_negation_matches = null_negation_matches
        self._indexes: dict[str, tuple[int, int, dict[str, dict[str, Any]]]] = {}

    # -- model lookups
    def find_object(self, name: str) -> SObject | None:
        obj = self.org.objects.get(name)
        if obj is not None:
            return obj
        low = name.lower()
        for key, o in self.org.objects.items():
            if key.lower() == low:
                return o
        return None

    def _index(self, obj_name: str) -> dict[str, dict[str, Any]]:
        obj = self.org.objects.get(obj_name)
        if obj is None:
            return {}
        recs = obj.records
        cached = self._indexes.get(obj_name)
        if cached is not None and cached[0] == id(recs) and cached[1] == len(recs):
            return cached[2]
        idx = {r["Id"]: r for r in recs if r.get("Id") is not None}
        self._indexes[obj_name] = (id(recs), len(recs), idx)
        return idx

    def _parent_lookup(self, targets: tuple[str, ...]) -> Callable[[Any], dict[str, Any] | None]:
        def lookup(ref: Any) -> dict[str, Any] | None:
            if ref is None:
                return None
            for t in targets:
                rec = self._index(t).get(ref)
                if rec is not None:
                    return rec
            return None

        return lookup

    def _parent_type(self, targets: tuple[str, ...], rec: dict[str, Any]) -> str:
        if len(targets) == 1:
            return targets[0]
        rid = rec.get("Id")
        for t in targets:
            if rid in self._index(t):
                return t
        return targets[0]

    def resolve(self, q: Query, root: SObject, fp: FieldPath) -> ResolvedField:
        parts = list(fp.parts)
        obj = root
        hops: list[tuple[SObjectField, tuple[str, ...], str]] = []
        if len(parts) > 1 and parts[0].lower() == root.name.lower():
            try:
                _find_relationship(root, parts[0])
            except KeyError:
                parts = parts[1:]
        if len(parts) - 1 > MAX_RELATIONSHIP_DEPTH:
            raise SoqlError(
                "MALFORMED_QUERY",
                "SOQL statements cannot query relationships that are more than 5 levels away "
                "from the root entity object.",
                q.text,
                fp.pos.line,
                fp.pos.column,
            )
        for rel in parts[:-1]:
            try:
                ref = _find_relationship(obj, rel)
            except KeyError:
                raise SoqlError(
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{rel}' in field path. If you are "
                    "attempting to use a custom relationship, be sure to append the '__r' "
                    "after the custom relationship name. Please reference your WSDL or the "
                    "describe call for the appropriate names.",
                    q.text,
                    fp.pos.line,
                    fp.pos.column,
                ) from None
            targets = tuple(t for t in ref.reference_to if t in self.org.objects) or tuple(
                ref.reference_to
            )
            hops.append((ref, targets, ref.relationship_name or rel))
            nxt = self.org.objects.get(targets[0]) if targets else None
            if nxt is None:
                raise SoqlError(
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{rel}' in field path.",
                    q.text,
                    fp.pos.line,
                    fp.pos.column,
                )
            obj = nxt
        try:
            f = obj.field(parts[-1])
        except KeyError:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{parts[-1]}' on entity '{obj.name}'. If you are attempting to "
                "use a custom field, be sure to append the '__c' after the custom field name. "
                "Please reference your WSDL or the describe call for the appropriate names.",
                q.text,
                fp.pos.line,
                fp.pos.column,
            ) from None
        return ResolvedField(fp, tuple(hops), f, self._getter(tuple(hops), f.name))

    def _getter(
        self, hops: tuple[tuple[SObjectField, tuple[str, ...], str], ...], name: str
    ) -> Getter:
        if not hops:
            return lambda r: r.get(name)
        steps = [(ref.name, self._parent_lookup(targets)) for ref, targets, _ in hops]

        def get(r: dict[str, Any]) -> Any:
            cur: dict[str, Any] | None = r
            for ref_name, lookup in steps:
                cur = lookup(cur.get(ref_name))
                if cur is None:
                    return None
            return cur.get(name)

        return get

    # -- compile
    def compile(self, text: str) -> CompiledQuery:
        q = parse(text)
        root = self.find_object(q.sobject)
        if root is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"sObject type '{q.sobject}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                text,
                q.sobject_pos.line,
                q.sobject_pos.column,
            )
        fields = [self.resolve(q, root, fp) for fp in q.fields]
        seen: set[str] = set()
        for rf in fields:
            key = ".".join([h[2].lower() for h in rf.relationships] + [rf.field.name.lower()])
            if key in seen:
                raise SoqlError(
                    "MALFORMED_QUERY", f"duplicate field selected: {rf.path.text}", text
                )
            seen.add(key)
        where = self._compile_expr(q, root, q.where) if q.where is not None else None
        order = []
        for item in q.order_by:
            rf = self.resolve(q, root, item.field)
            if not rf.field.sortable or rf.field.type == "multipicklist":
                raise SoqlError(
                    "INVALID_FIELD",
                    f"field '{rf.field.name}' can not be sorted in a query call",
                    text,
                    item.field.pos.line,
                    item.field.pos.column,
                )
            order.append((rf, item))
        if q.offset is not None and q.offset > MAX_OFFSET:
            raise SoqlError(
                "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            )
        return CompiledQuery(self, q, root, fields, where, order)

    def _compile_expr(self, q: Query, root: SObject, node: Any) -> Callable[[dict], bool]:
        if isinstance(node, BoolOp):
            subs = [self._compile_expr(q, root, i) for i in node.items]
            if node.op == "AND":
                return lambda r: all(s(r) for s in subs)
            return lambda r: any(s(r) for s in subs)
        if isinstance(node, Not):
            sub = self._compile_expr(q, root, node.item)
            return lambda r: not sub(r)
        assert isinstance(node, Condition)
        rf = self.resolve(q, root, node.field)
        if not rf.field.filterable:
            raise SoqlError(
                "INVALID_FIELD",
                f"field '{rf.field.name}' can not be filtered in a query call",
                q.text,
                node.field.pos.line,
                node.field.pos.column,
            )
        return _compile_condition(q, rf, node, self.org.today, self.null_negation_matches)

    def run(self, text: str, include_deleted: bool = False) -> QueryResult:
        return self.compile(text).execute(include_deleted)


def _find_relationship(obj: SObject, rel: str) -> SObjectField:
    low = rel.lower()
    for f in obj.fields:
        if f.type == "reference" and f.relationship_name and f.relationship_name.lower() == low:
            return f
    raise KeyError(rel)


def _type_error(q: Query, rf: ResolvedField, word: str) -> SoqlError:
    quoted = word in ("string", "id")
    return SoqlError(
        "INVALID_FIELD",
        f"value of filter criterion for field '{rf.field.name}' must be of type {word} and "
        f"should {'' if quoted else 'not '}be enclosed in quotes",
        q.text,
        rf.path.pos.line,
        rf.path.pos.column,
    )


def _coerce(q: Query, rf: ResolvedField, lit: Literal, today: dt.date) -> Any:
    """Check a literal against the field type; return the comparable Python value.

    Relative date literals come back as ``("range", start, end_exclusive_or_inclusive)``.
    """
    ft = rf.field.type
    word = _type_word(ft)
    if lit.kind == "null":
        return None
    if ft in STRING_TYPES or ft in _ID_TYPES:
        if lit.kind != "string":
            raise _type_error(q, rf, word)
        return lit.value
    if ft == "boolean":
        if lit.kind != "bool":
            raise _type_error(q, rf, word)
        return lit.value
    if ft in _NUMBER_TYPES:
        if lit.kind != "number":
            raise _type_error(q, rf, word)
        return lit.value
    if ft == "date":
        if lit.kind == "date":
            return lit.value
        if lit.kind == "relative":
            s, e = relative_date_range(lit.value[0], lit.value[1], today)
            return ("range", s, e)
        raise _type_error(q, rf, word)
    if ft == "datetime":
        if lit.kind == "datetime":
            return lit.value
        if lit.kind == "relative":
            s, e = relative_date_range(lit.value[0], lit.value[1], today)
            start = dt.datetime.combine(s, dt.time(), dt.UTC)
            end = dt.datetime.combine(e + dt.timedelta(days=1), dt.time(), dt.UTC)
            return ("range", start, end)
        raise _type_error(q, rf, word)
    # time, base64, anyType...: compare as given
    return lit.value


def _like_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _compile_condition(
    q: Query, rf: ResolvedField, cond: Condition, today: dt.date, null_neg: bool
) -> Callable[[dict], bool]:
    get = rf.getter
    ft = rf.field.type
    op = cond.op

    if op == "LIKE":
        lit = cond.value
        assert isinstance(lit, Literal)
        if ft not in STRING_TYPES and ft not in _ID_TYPES:
            raise SoqlError(
                "INVALID_FIELD",
                f"invalid operator on field '{rf.field.name}': LIKE is only valid on string fields",
                q.text,
                rf.path.pos.line,
                rf.path.pos.column,
            )
        if lit.kind == "null":
            return lambda r: get(r) is None
        if lit.kind != "string":
            raise _type_error(q, rf, _type_word(ft))
        match = _like_regex(lit.value).fullmatch
        return lambda r: (v := get(r)) is not None and match(v) is not None

    if op in ("IN", "NOT IN"):
        lits = cond.value
        assert isinstance(lits, tuple)
        values = [_coerce(q, rf, lit, today) for lit in lits]
        member = _membership(get, ft, values)
        if op == "IN":
            return member
        if null_neg:
            return lambda r: not member(r)
        return lambda r: get(r) is not None and not member(r)

    lit = cond.value
    assert isinstance(lit, Literal)
    value = _coerce(q, rf, lit, today)

    if ft == "boolean":
        if value is None:  # documented quirk: = null means = false, != null means = true
            value = False
            if op not in ("=", "!="):
                return lambda r: False
        want = bool(value)
        if op == "=":
            return lambda r: bool(get(r)) is want
        if op == "!=":
            return lambda r: bool(get(r)) is not want
        raise SoqlError(
            "INVALID_FIELD",
            f"invalid operator on field '{rf.field.name}'",
            q.text,
            rf.path.pos.line,
            rf.path.pos.column,
        )

    if value is None:
        if op == "=":
            return lambda r: get(r) is None
        if op == "!=":
            return lambda r: get(r) is not None
        return lambda r: False

    if isinstance(value, tuple) and value and value[0] == "range":
        _, start, end = value
        exclusive = ft == "datetime"  # datetime ranges are [start, end)

        def inside(v: Any) -> bool:
            return start <= v < end if exclusive else start <= v <= end

        def after(v: Any) -> bool:
            return v >= end if exclusive else v > end

        def at_most(v: Any) -> bool:
            return v < end if exclusive else v <= end

        tests: dict[str, Callable[[Any], bool]] = {
            "=": inside,
            "<": lambda v: v < start,
            "<=": at_most,
            ">": after,
            ">=": lambda v: v >= start,
        }
        if op == "!=":
            if null_neg:
                return lambda r: (v := get(r)) is None or not inside(v)
            return lambda r: (v := get(r)) is not None and not inside(v)
        t = tests[op]
        return lambda r: (v := get(r)) is not None and t(v)

    if ft in STRING_TYPES:
        lv = value.lower()
        cmp = _CMP[op]
        if op == "!=":
            if null_neg:
                return lambda r: (v := get(r)) is None or v.lower() != lv
            return lambda r: (v := get(r)) is not None and v.lower() != lv
        return lambda r: (v := get(r)) is not None and cmp(v.lower(), lv)

    if ft in _ID_TYPES and op in ("=", "!="):
        eq = _id_equals(value)
        if op == "=":
            return lambda r: eq(get(r))
        if null_neg:
            return lambda r: not eq(get(r))
        return lambda r: (v := get(r)) is not None and not eq(v)

    cmp = _CMP[op]
    if op == "!=":
        if null_neg:
            return lambda r: (v := get(r)) is None or v != value
        return lambda r: (v := get(r)) is not None and v != value
    return lambda r: (v := get(r)) is not None and cmp(v, value)


_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _id_equals(lit: str) -> Callable[[Any], bool]:
    if len(lit) == 15:
        return lambda v: v is not None and v[:15] == lit
    return lambda v: v == lit


def _membership(get: Getter, ft: str, values: list[Any]) -> Callable[[dict], bool]:
    """IN-list test: case-insensitive for strings, ranges for relative date literals."""
    if ft == "boolean":
        wanted = {bool(v) for v in values}  # null in the list means false, as with =
        return lambda r: bool(get(r)) in wanted
    has_null = any(v is None for v in values)
    ranges = [(v[1], v[2]) for v in values if isinstance(v, tuple)]
    plain = [v for v in values if v is not None and not isinstance(v, tuple)]
    exclusive = ft == "datetime"
    test: Callable[[Any], bool]
    if ft in STRING_TYPES:
        lowered = {v.lower() for v in plain}

        def test(v: Any) -> bool:
            return v.lower() in lowered

    elif ft in _ID_TYPES:
        full = {v for v in plain if len(v) != 15}
        short = {v for v in plain if len(v) == 15}

        def test(v: Any) -> bool:
            return v in full or (bool(short) and v[:15] in short)

    else:
        exact = set(plain)

        def test(v: Any) -> bool:
            return v in exact

    def member(r: dict) -> bool:
        v = get(r)
        if v is None:
            return has_null
        if test(v):
            return True
        return any((s <= v < e) if exclusive else (s <= v <= e) for s, e in ranges)

    return member


@dataclass
class CompiledQuery:
    """A parsed and model-bound query, ready to run repeatedly."""

    engine: SoqlEngine
    query: Query
    sobject: SObject
    fields: list[ResolvedField]
    where: Callable[[dict], bool] | None
    order: list[tuple[ResolvedField, OrderItem]]
    _projector: Callable[[dict[str, Any], str], dict[str, Any]] | None = field(
        default=None, repr=False
    )

    def execute(self, include_deleted: bool = False) -> QueryResult:
        obj = self.sobject
        rows: Iterable[dict[str, Any]] = obj.records
        if not include_deleted:
            rows = [r for r in rows if not r.get("IsDeleted")]
        where = self.where
        out = [r for r in rows if where(r)] if where is not None else list(rows)
        if self.order:
            for rf, item in reversed(self.order):
                out.sort(key=_sort_key(rf, item), reverse=item.descending)
        q = self.query
        if q.offset:
            out = out[q.offset :]
        if q.limit is not None:
            out = out[: q.limit]
        if q.count:
            return QueryResult(obj, [], len(out), True, self.projector())
        return QueryResult(obj, out, len(out), False, self.projector())

    def projector(self) -> Callable[[dict[str, Any], str], dict[str, Any]]:
        if self._projector is None:
            self._projector = _build_projector(self.engine, self.sobject, self.fields)
        return self._projector


def _sort_key(rf: ResolvedField, item: OrderItem) -> Callable[[dict], Any]:
    get = rf.getter
    lower = rf.field.type in STRING_TYPES
    # Sorting descending reverses the whole key, so flip the null flag to keep the
    # requested NULLS FIRST/LAST placement.
    null_flag = 0 if (item.nulls_last == item.descending) else 1
    value_flag = 1 - null_flag

    if lower:

        def key(r: dict) -> Any:
            v = get(r)
            return (null_flag, "") if v is None else (value_flag, v.lower())

    else:

        def key(r: dict) -> Any:
            v = get(r)
            return (null_flag, 0) if v is None else (value_flag, v)

    return key


def _build_projector(
    engine: SoqlEngine, root: SObject, fields: list[ResolvedField]
) -> Callable[[dict[str, Any], str], dict[str, Any]]:
    """Build a function rendering one record as the REST API does (nested parents)."""
    # Tree: list of ("field", key, SObjectField) | ("rel", key, ref_field, targets, subtree)
    tree: list[Any] = []

    def insert(node_list: list[Any], hops: tuple, f: SObjectField) -> None:
        if not hops:
            node_list.append(("field", f.name, f))
            return
        ref, targets, relname = hops[0]
        for n in node_list:
            if n[0] == "rel" and n[1] == relname:
                insert(n[4], hops[1:], f)
                return
        sub: list[Any] = []
        node_list.append(("rel", relname, ref, targets, sub))
        insert(sub, hops[1:], f)

    for rf in fields:
        insert(tree, rf.relationships, rf.field)

    def compile_nodes(nodes: list[Any]) -> Callable[[dict[str, Any], str], dict[str, Any]]:
        parts: list[Callable[[dict[str, Any], dict[str, Any], str], None]] = []
        for n in nodes:
            if n[0] == "field":
                _, key, f = n
                if f.type in ("date", "datetime"):
                    parts.append(
                        lambda rec, out, ver, key=key, f=f: out.__setitem__(
                            key, format_value(f, rec.get(key))
                        )
                    )
                else:
                    parts.append(lambda rec, out, ver, key=key: out.__setitem__(key, rec.get(key)))
            else:
                _, key, ref, targets, sub = n
                lookup = engine._parent_lookup(targets)
                sub_fn = compile_nodes(sub)
                ref_name = ref.name

                def rel_part(
                    rec,
                    out,
                    ver,
                    key=key,
                    lookup=lookup,
                    sub_fn=sub_fn,
                    ref_name=ref_name,
                    targets=targets,
                ):
                    parent = lookup(rec.get(ref_name))
                    if parent is None:
                        out[key] = None
                    else:
                        out[key] = sub_fn(parent, ver, engine._parent_type(targets, parent))

                parts.append(rel_part)

        def render(rec: dict[str, Any], ver: str, type_name: str) -> dict[str, Any]:
            out: dict[str, Any] = {
                "attributes": {
                    "type": type_name,
                    "url": f"/services/data/v{ver}/sobjects/{type_name}/{rec.get('Id')}",
                }
            }
            for p in parts:
                p(rec, out, ver)
            return out

        return render

    render_root = compile_nodes(tree)
    root_name = root.name
    return lambda rec, ver: render_root(rec, ver, root_name)
