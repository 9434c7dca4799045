"""OData **v2** ``$filter``, key predicates, ``$orderby`` and ``$select`` as SAP Gateway reads them.

A real grammar (lark, LALR) with the v2 operator precedence (member/call, unary ``not``,
relational ``lt gt le ge``, equality ``eq ne``, ``and``, ``or``) so that what SAP rejects is
rejected here too instead of being half understood:

- there is no ``in`` operator in v2 (it is v4.01); ``Field in ('a','b')`` is a syntax error,
  and so is pyodata's ``range`` output ``gte``/``lte``;
- v4 functions (``contains``) are unknown functions; v2 has ``substringof('x', Field)``;
- literals are typed: ``'O''Brien'``, ``datetime'2024-01-31T00:00:00'`` (no zone),
  ``datetimeoffset'2024-01-31T00:00:00Z'``, ``time'PT12H30M'``, ``guid'...'``, ``12.5M``,
  ``1.5E+00`` / ``1.5d``, ``42`` / ``42L``, ``true``/``false``, ``null``; a literal must fit the
  property's type (a DateTimeOffset property needs a ``datetimeoffset'...'`` literal, a string
  property a quoted string), like Gateway's "Invalid parametertype" errors;
- properties annotated ``sap:filterable="false"`` are refused.

Evaluation follows what ABAP and the HANA database behind a CDS-based API do, not Python:

- string comparison is **case-sensitive** (binary): ``Name eq 'acme'`` does not match
  ``'ACME'``, and ``substringof``/``startswith``/``endswith`` are case-sensitive too; many
  fields carry ``sap:display-format="UpperCase"`` and hold upper-case values;
- three-valued logic: a comparison involving a null value is *unknown*, ``not unknown`` stays
  unknown, and only rows whose whole expression is *true* are returned; ``eq null`` /
  ``ne null`` test for null;
- ``$orderby`` sorts binary (upper case before lower case) with nulls lowest (first
  ascending, last descending), as HANA does.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput
from lark.exceptions import UnexpectedToken, VisitError

from .edmx import EdmEntityType, EdmProperty

__all__ = [
    "FilterError",
    "Predicate",
    "compile_filter",
    "normalize",
    "parse_filter",
    "parse_key_predicate",
    "parse_orderby",
    "parse_select",
    "sort_key",
]

# SAP Gateway (/IWCOR/) message ids, as they appear in the v2 error body's "code".
CODE_SYNTAX = "005056A509B11EE1B9A8FEC11C21578E"  # generic bad request / invalid token
CODE_PARAM_TYPE = "005056A509B11EE1BB8AF4A65EC3CA20"  # Invalid parametertype used at function


class FilterError(Exception):
    """A client error in a query option; the app answers it as SAP's 400 error body."""

    def __init__(self, message: str, status: int = 400, code: str = CODE_SYNTAX) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


# ---------------------------------------------------------------------------- grammar

_GRAMMAR = r"""
start: or_expr
keypred: literal -> single_key
       | keyval ("," keyval)* -> named_keys
keyval: NAME "=" literal

?or_expr: and_expr | or_expr _OR and_expr -> or_
?and_expr: eq_expr | and_expr _AND eq_expr -> and_
?eq_expr: rel_expr | eq_expr EQOP rel_expr -> compare
?rel_expr: unary | rel_expr RELOP unary -> compare
?unary: primary | NOTOP unary -> not_
?primary: "(" or_expr ")"
        | NAME "(" [or_expr ("," or_expr)*] ")" -> func
        | literal
        | NAME ("/" NAME)* -> member
?literal: STRING -> string
        | DATETIMEOFFSET -> datetimeoffset
        | DATETIME -> datetime
        | TIME -> time
        | GUID -> guid
        | BINARY -> binary
        | NUMBER -> number
        | _TRUE -> true
        | _FALSE -> false
        | _NULL -> null

_OR.2: /or(?![A-Za-z0-9_])/
_AND.2: /and(?![A-Za-z0-9_])/
NOTOP.2: /not(?![A-Za-z0-9_])/
_TRUE.2: /true(?![A-Za-z0-9_])/
_FALSE.2: /false(?![A-Za-z0-9_])/
_NULL.2: /null(?![A-Za-z0-9_])/
EQOP.2: /(eq|ne)(?![A-Za-z0-9_])/
RELOP.2: /(lt|le|gt|ge)(?![A-Za-z0-9_])/
DATETIMEOFFSET.4: /datetimeoffset'[^']*'/i
DATETIME.3: /datetime'[^']*'/i
TIME.3: /time'[^']*'/i
GUID.3: /guid'[^']*'/i
BINARY.3: /(binary|X)'[^']*'/
NUMBER.1: /[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[mMdDfFlL]?/
STRING: /'([^']|'')*'/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
%ignore /[ \t\r\n]+/
"""

_PARSER = Lark(_GRAMMAR, parser="lalr", start=["start", "keypred"], propagate_positions=True)

# ---------------------------------------------------------------------------- AST

NUMERIC = frozenset(
    {
        "Edm.Byte",
        "Edm.SByte",
        "Edm.Int16",
        "Edm.Int32",
        "Edm.Int64",
        "Edm.Decimal",
        "Edm.Double",
        "Edm.Single",
    }
)


@dataclass(frozen=True)
class Lit:
    value: Any
    edm: str  # Edm type of the literal, or "Null"


@dataclass(frozen=True)
class Member:
    path: tuple[str, ...]
    pos: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any
    pos: int


@dataclass(frozen=True)
class Logical:
    op: str  # and | or
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    expr: Any
    pos: int


@dataclass(frozen=True)
class Func:
    name: str
    args: tuple[Any, ...]
    pos: int


def _prefixed(text: str) -> str:
    """The quoted part of ``datetime'...'`` style literals."""
    return text[text.index("'") + 1 : -1]


def _parse_datetime(text: str) -> dt.datetime:
    """``yyyy-mm-ddThh:mm[:ss[.fffffff]]`` (Edm.DateTime has no zone; it is UTC)."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?", text)
    if m is None:
        raise ValueError(text)
    y, mo, d, h, mi = (int(g) for g in m.groups()[:5])
    s = int(m.group(6) or 0)
    micro = int((m.group(7) or "0").ljust(7, "0")[:6])
    return dt.datetime(y, mo, d, h, mi, s, micro)


def _parse_datetimeoffset(text: str) -> dt.datetime:
    m = re.fullmatch(r"(.+?)(Z|[+-]\d{2}:\d{2})", text)
    if m is None:
        raise ValueError(text)
    base = _parse_datetime(m.group(1))
    zone = m.group(2)
    if zone == "Z":
        tz = dt.UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    return base.replace(tzinfo=tz).astimezone(dt.UTC)


_DURATION = re.compile(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?")


def _parse_time(text: str) -> dt.timedelta:
    m = _DURATION.fullmatch(text)
    if m is None or text == "PT":
        raise ValueError(text)
    h, mi, s = m.group(1), m.group(2), m.group(3)
    return dt.timedelta(hours=int(h or 0), minutes=int(mi or 0), seconds=float(s or 0))


class _ToAst(Transformer):
    def start(self, items: list[Any]) -> Any:
        return items[0]

    def or_(self, items: list[Any]) -> Logical:
        return Logical("or", items[0], items[1])

    def and_(self, items: list[Any]) -> Logical:
        return Logical("and", items[0], items[1])

    def not_(self, items: list[Any]) -> Not:
        return Not(items[1], items[0].start_pos)

    def compare(self, items: list[Any]) -> Compare:
        left, op, right = items
        return Compare(str(op), left, right, op.start_pos)

    def func(self, items: list[Any]) -> Func:
        name: Token = items[0]
        return Func(str(name), tuple(a for a in items[1:] if a is not None), name.start_pos)

    def member(self, items: list[Token]) -> Member:
        return Member(tuple(str(t) for t in items), items[0].start_pos)

    # -- keys
    def single_key(self, items: list[Any]) -> list[tuple[str | None, Lit]]:
        return [(None, items[0])]

    def named_keys(self, items: list[Any]) -> list[tuple[str | None, Lit]]:
        return list(items)

    def keyval(self, items: list[Any]) -> tuple[str, Lit]:
        return str(items[0]), items[1]

    # -- literals
    def string(self, items: list[Token]) -> Lit:
        return Lit(items[0][1:-1].replace("''", "'"), "Edm.String")

    def datetime(self, items: list[Token]) -> Lit:
        return Lit(_parse_datetime(_prefixed(items[0])), "Edm.DateTime")

    def datetimeoffset(self, items: list[Token]) -> Lit:
        return Lit(_parse_datetimeoffset(_prefixed(items[0])), "Edm.DateTimeOffset")

    def time(self, items: list[Token]) -> Lit:
        return Lit(_parse_time(_prefixed(items[0])), "Edm.Time")

    def guid(self, items: list[Token]) -> Lit:
        return Lit(str(uuid.UUID(_prefixed(items[0]))).lower(), "Edm.Guid")

    def binary(self, items: list[Token]) -> Lit:
        raise FilterError(
            f"Binary literals are not supported by the Concord sandbox simulator: {items[0]}",
            501,
        )

    def number(self, items: list[Token]) -> Lit:
        text = str(items[0])
        suffix = text[-1] if text[-1] in "mMdDfFlL" else ""
        body = text[:-1] if suffix else text
        if suffix in ("m", "M"):
            return Lit(Decimal(body), "Edm.Decimal")
        if suffix in ("d", "D"):
            return Lit(float(body), "Edm.Double")
        if suffix in ("f", "F"):
            return Lit(float(body), "Edm.Single")
        if suffix in ("l", "L"):
            if not re.fullmatch(r"[+-]?\d+", body):
                raise ValueError(text)
            return Lit(int(body), "Edm.Int64")
        if re.fullmatch(r"[+-]?\d+", body):
            value = int(body)
            return Lit(value, "Edm.Int32" if -(2**31) <= value < 2**31 else "Edm.Int64")
        if "e" in body.lower():
            return Lit(float(body), "Edm.Double")
        return Lit(Decimal(body), "Edm.Decimal")

    def true(self, _items: list[Any]) -> Lit:
        return Lit(True, "Edm.Boolean")

    def false(self, _items: list[Any]) -> Lit:
        return Lit(False, "Edm.Boolean")

    def null(self, _items: list[Any]) -> Lit:
        return Lit(None, "Null")


def _parse(text: str, start: str) -> Any:
    try:
        tree = _PARSER.parse(text, start=start)
    except UnexpectedEOF:
        raise FilterError(f"Invalid token detected at position {len(text)}") from None
    except UnexpectedToken as e:
        raise FilterError(f"Invalid token detected at position {e.token.start_pos}") from None
    except UnexpectedCharacters as e:
        raise FilterError(f"Invalid token detected at position {e.pos_in_stream}") from None
    except UnexpectedInput as e:  # pragma: no cover - other lark input errors
        raise FilterError(f"Invalid token detected at position {e.pos_in_stream}") from None
    try:
        return _ToAst().transform(tree)
    except VisitError as e:
        inner = e.orig_exc
        if isinstance(inner, FilterError):
            raise inner from None
        raise FilterError(f"Invalid literal in expression '{text}'") from None


def parse_filter(text: str) -> Any:
    """Parse a ``$filter`` string into the AST (no type checks; see :func:`compile_filter`)."""
    if not text.strip():
        raise FilterError("Invalid token detected at position 0")
    return _parse(text, "start")


def parse_key_predicate(text: str) -> list[tuple[str | None, Lit]]:
    """``'0000000001'`` or ``SalesOrder='1',SalesOrderItem='10'`` → [(name|None, literal)]."""
    return _parse(text, "keypred")


# ---------------------------------------------------------------------------- values


def normalize(edm: str, value: Any) -> Any:
    """Bring a row value or literal to the comparable Python value for its Edm type."""
    if value is None:
        return None
    if edm == "Edm.String":
        return str(value)
    if edm == "Edm.DateTime":
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            return value
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day)
        raise TypeError(f"not a date/datetime: {value!r}")
    if edm == "Edm.DateTimeOffset":
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
        raise TypeError(f"not a datetime: {value!r}")
    if edm == "Edm.Time":
        if isinstance(value, dt.timedelta):
            return value
        if isinstance(value, dt.time):
            return dt.timedelta(
                hours=value.hour,
                minutes=value.minute,
                seconds=value.second,
                microseconds=value.microsecond,
            )
        raise TypeError(f"not a time: {value!r}")
    if edm == "Edm.Guid":
        return str(value).lower()
    if edm == "Edm.Boolean":
        return bool(value)
    if edm in NUMERIC:
        if isinstance(value, bool):
            return Decimal(int(value))
        if isinstance(value, float):
            return Decimal(repr(value))
        try:
            return Decimal(value)
        except (InvalidOperation, TypeError):
            return Decimal(str(value))
    return value


def _family(edm: str) -> str:
    return "number" if edm in NUMERIC else edm


def _compatible(a: str, b: str) -> bool:
    if a == "Null" or b == "Null":
        return True
    return _family(a) == _family(b)


# ---------------------------------------------------------------------------- compile

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]
_Eval = Callable[[Row], Any]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}

# name -> (argument types ("string"/"datetime"/"int"/"any"), result Edm type)
_FUNCS: dict[str, tuple[tuple[str, ...], str]] = {
    "substringof": (("string", "string"), "Edm.Boolean"),
    "startswith": (("string", "string"), "Edm.Boolean"),
    "endswith": (("string", "string"), "Edm.Boolean"),
    "tolower": (("string",), "Edm.String"),
    "toupper": (("string",), "Edm.String"),
    "trim": (("string",), "Edm.String"),
    "length": (("string",), "Edm.Int32"),
    "indexof": (("string", "string"), "Edm.Int32"),
    "concat": (("string", "string"), "Edm.String"),
    "substring": (("string", "int"), "Edm.String"),  # optional third int argument
    "year": (("datetime",), "Edm.Int32"),
    "month": (("datetime",), "Edm.Int32"),
    "day": (("datetime",), "Edm.Int32"),
    "hour": (("datetime",), "Edm.Int32"),
    "minute": (("datetime",), "Edm.Int32"),
    "second": (("datetime",), "Edm.Int32"),
}


def _substring(s: str, start: Decimal, length: Decimal | None = None) -> str:
    i = int(start)
    return s[i:] if length is None else s[i : i + int(length)]


_IMPL: dict[str, Callable[..., Any]] = {
    "substringof": lambda needle, hay: needle in hay,
    "startswith": lambda s, p: s.startswith(p),
    "endswith": lambda s, p: s.endswith(p),
    "tolower": str.lower,
    "toupper": str.upper,
    "trim": str.strip,
    "length": lambda s: Decimal(len(s)),
    "indexof": lambda s, sub: Decimal(s.find(sub)),
    "concat": lambda a, b: a + b,
    "substring": _substring,
    "year": lambda d: Decimal(d.year),
    "month": lambda d: Decimal(d.month),
    "day": lambda d: Decimal(d.day),
    "hour": lambda d: Decimal(d.hour),
    "minute": lambda d: Decimal(d.minute),
    "second": lambda d: Decimal(d.second),
}


class _Compiler:
    def __init__(self, entity_type: EdmEntityType) -> None:
        self.et = entity_type

    def prop(self, node: Member) -> EdmProperty:
        if len(node.path) > 1:
            if node.path[0] in self.et.navigations:
                raise FilterError(
                    f"Filtering through navigation property '{'/'.join(node.path)}' is not "
                    "supported by the Concord sandbox simulator.",
                    501,
                )
            raise FilterError(
                f"Property '{node.path[0]}' not found in type '{self.et.name}' "
                f"(Position: {node.pos})"
            )
        name = node.path[0]
        prop = self.et.properties.get(name)
        if prop is None:
            if name in self.et.navigations:
                raise FilterError(
                    f"Navigation property '{name}' cannot be used as a filter operand "
                    f"(Position: {node.pos})"
                )
            raise FilterError(
                f"Property '{name}' not found in type '{self.et.name}' (Position: {node.pos})"
            )
        if not prop.filterable:
            raise FilterError(
                f"Property '{name}' of type '{self.et.name}' is not filterable "
                f'(sap:filterable="false")'
            )
        return prop

    def expr(self, node: Any) -> tuple[_Eval, str]:
        """Compile to (row -> value, Edm type). Booleans may evaluate to None (unknown)."""
        if isinstance(node, Lit):
            value = normalize(node.edm, node.value) if node.edm != "Null" else None
            return (lambda _row, v=value: v), node.edm
        if isinstance(node, Member):
            prop = self.prop(node)
            name, edm = prop.name, prop.type
            return (lambda row: normalize(edm, row.get(name))), edm
        if isinstance(node, Compare):
            return self.compare(node), "Edm.Boolean"
        if isinstance(node, Logical):
            left, lt = self.expr(node.left)
            right, rt = self.expr(node.right)
            for t in (lt, rt):
                if t != "Edm.Boolean":
                    raise FilterError(f"Operator '{node.op}' incompatible with operand type '{t}'")
            if node.op == "and":
                return _and(left, right), "Edm.Boolean"
            return _or(left, right), "Edm.Boolean"
        if isinstance(node, Not):
            inner, t = self.expr(node.expr)
            if t != "Edm.Boolean":
                raise FilterError(
                    f"Operator 'not' incompatible with operand type '{t}' (Position: {node.pos})"
                )

            def negate(row: Row) -> bool | None:
                v = inner(row)
                return None if v is None else not v

            return negate, "Edm.Boolean"
        if isinstance(node, Func):
            return self.func(node)
        raise FilterError("Invalid filter expression")  # pragma: no cover

    def compare(self, node: Compare) -> _Eval:
        left, lt = self.expr(node.left)
        right, rt = self.expr(node.right)
        if not _compatible(lt, rt):
            raise FilterError(
                f"Invalid parametertype used at function '{node.op}' (Position: {node.pos})",
                code=CODE_PARAM_TYPE,
            )
        op = node.op
        if lt == "Null" or rt == "Null":
            if op not in ("eq", "ne"):
                raise FilterError(
                    f"Invalid parametertype used at function '{op}' (Position: {node.pos})",
                    code=CODE_PARAM_TYPE,
                )
            if lt == "Null" and rt == "Null":
                return lambda _row: op == "eq"
            other = right if lt == "Null" else left
            if op == "eq":
                return lambda row: other(row) is None
            return lambda row: other(row) is not None
        if lt == "Edm.Boolean" and op not in ("eq", "ne"):
            raise FilterError(
                f"Invalid parametertype used at function '{op}' (Position: {node.pos})",
                code=CODE_PARAM_TYPE,
            )
        fn = _OPS[op]

        def cmp(row: Row) -> bool | None:
            a, b = left(row), right(row)
            if a is None or b is None:
                return None
            return fn(a, b)

        return cmp

    def func(self, node: Func) -> tuple[_Eval, str]:
        spec = _FUNCS.get(node.name)
        if spec is None:
            raise FilterError(f"Invalid function '{node.name}' (Position: {node.pos})")
        kinds, result = spec
        args = [self.expr(a) for a in node.args]
        expected = list(kinds)
        if node.name == "substring" and len(args) == 3:
            expected.append("int")
        if len(args) != len(expected):
            raise FilterError(
                f"Invalid number of parameters for function '{node.name}' (Position: {node.pos})"
            )
        for (_, t), kind in zip(args, expected, strict=True):
            ok = (
                t == "Null"
                or (kind == "string" and t == "Edm.String")
                or (kind == "int" and t in NUMERIC)
                or (kind == "datetime" and t in ("Edm.DateTime", "Edm.DateTimeOffset"))
            )
            if not ok:
                raise FilterError(
                    f"Invalid parametertype used at function '{node.name}' (Position: {node.pos})",
                    code=CODE_PARAM_TYPE,
                )
        impl = _IMPL[node.name]
        evals = [e for e, _ in args]

        def call(row: Row) -> Any:
            values = [e(row) for e in evals]
            if any(v is None for v in values):
                return None
            return impl(*values)

        return call, result


def _and(left: _Eval, right: _Eval) -> _Eval:
    def run(row: Row) -> bool | None:
        a = left(row)
        if a is False:
            return False
        b = right(row)
        if b is False:
            return False
        return None if a is None or b is None else True

    return run


def _or(left: _Eval, right: _Eval) -> _Eval:
    def run(row: Row) -> bool | None:
        a = left(row)
        if a is True:
            return True
        b = right(row)
        if b is True:
            return True
        return None if a is None or b is None else False

    return run


def compile_filter(text: str, entity_type: EdmEntityType) -> Predicate:
    """Parse, type-check against the entity type, and return ``row -> bool`` (True only)."""
    ast = parse_filter(text)
    fn, edm = _Compiler(entity_type).expr(ast)
    if edm != "Edm.Boolean":
        raise FilterError(f"Invalid filter expression: '{text}' is not a boolean expression")
    return lambda row: fn(row) is True


# ---------------------------------------------------------------------------- $orderby/$select


def parse_orderby(text: str, entity_type: EdmEntityType) -> list[tuple[EdmProperty, bool]]:
    """``Field [asc|desc], ...`` → [(property, descending)]; refuses sap:sortable="false"."""
    out: list[tuple[EdmProperty, bool]] = []
    for raw in text.split(","):
        parts = raw.split()
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("asc", "desc")):
            raise FilterError(f"Invalid $orderby expression '{text}'")
        prop = entity_type.properties.get(parts[0])
        if prop is None:
            raise FilterError(f"Property '{parts[0]}' not found in type '{entity_type.name}'")
        if not prop.sortable:
            raise FilterError(
                f"Property '{prop.name}' of type '{entity_type.name}' is not sortable "
                '(sap:sortable="false")'
            )
        out.append((prop, len(parts) == 2 and parts[1] == "desc"))
    return out


def parse_select(text: str, entity_type: EdmEntityType) -> list[str]:
    """``$select`` → property / navigation names in request order (``*`` = all properties)."""
    names: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            raise FilterError(f"Invalid $select expression '{text}'")
        if name == "*":
            names.extend(n for n in entity_type.properties if n not in names)
            continue
        if name not in entity_type.properties and name not in entity_type.navigations:
            raise FilterError(f"Property '{name}' not found in type '{entity_type.name}'")
        if name not in names:
            names.append(name)
    return names


def sort_key(prop: EdmProperty, row: Row, descending: bool) -> Any:
    """HANA order: nulls lowest, strings by binary (code point) comparison."""
    value = normalize(prop.type, row.get(prop.name))
    if value is None:
        return _Rank(0, None, descending)
    return _Rank(1, value, descending)


class _Rank:
    """Orders (null flag, value) and inverts for descending without needing numeric negation."""

    __slots__ = ("desc", "null", "value")

    def __init__(self, null: int, value: Any, desc: bool) -> None:
        self.null = null
        self.value = value
        self.desc = desc

    def _lt(self, other: _Rank) -> bool:
        if self.null != other.null:
            return self.null < other.null
        if self.null == 0:
            return False
        return bool(self.value < other.value)

    def __lt__(self, other: _Rank) -> bool:
        return other._lt(self) if self.desc else self._lt(other)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Rank) and self.null == other.null and self.value == other.value

    def __hash__(self) -> int:  # pragma: no cover - not used in sets
        return hash((self.null, self.value))
