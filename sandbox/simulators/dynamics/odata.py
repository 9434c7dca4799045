"""OData v4 query options as Dataverse's Web API accepts them: parsing and evaluation.

A real grammar (lark, LALR) parses ``$filter`` so that malformed expressions fail the way
Dataverse fails (ODataLib messages with positions) instead of being half understood.
Evaluation follows the documented Dataverse semantics, not Python's:

- every string comparison is case-insensitive (``eq``/``ne``/``gt``..., ``contains``,
  ``startswith``, ``endswith``, ``In``/``NotIn``);
- ``%``, ``_``, ``[]`` and ``[^]`` inside the string argument of ``contains``/``startswith``/
  ``endswith`` are SQL LIKE wildcards;
- three-valued logic: a comparison with a null column value is unknown, and only rows whose
  whole expression is *true* are returned (so ``ne 'x'`` and ``NotIn`` never return rows
  where the column is null); ``eq null`` / ``ne null`` test for null;
- ``$orderby`` sorts strings case-insensitively with nulls lowest (first ascending, last
  descending), as SQL Server does.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput
from lark.exceptions import UnexpectedToken, VisitError

__all__ = [
    "Column",
    "ExpandItem",
    "ODataError",
    "Resolver",
    "compile_filter",
    "like_regex",
    "order_rows",
    "parse_expand",
    "parse_filter",
    "parse_orderby",
    "parse_select",
]

ERROR_CODE = "0x80060888"  # Dataverse's code for OData URI/query errors


class ODataError(Exception):
    """A client error Dataverse answers with ``{"error": {"code", "message"}}``."""

    def __init__(self, message: str, status: int = 400, code: str = ERROR_CODE) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


# ---------------------------------------------------------------------------- grammar

_GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr | or_expr _OR and_expr -> or_
?and_expr: not_expr | and_expr _AND not_expr -> and_
?not_expr: cmp_expr | _NOT not_expr -> not_
?cmp_expr: atom | atom COMPOP atom -> compare
?atom: "(" or_expr ")"
     | NAME "(" [or_expr ("," or_expr)*] ")" -> func
     | QNAME "(" [param ("," param)*] ")" -> crmfunc
     | literal
     | path
param: NAME "=" pvalue
?pvalue: literal | array | ALIAS -> alias
array: "[" [aval ("," aval)*] "]"
aval: STRING | DQSTRING | SIGNED_NUMBER
path: NAME ("/" NAME)*
?literal: STRING -> string
     | ENUM -> enum
     | DATETIME -> datetime
     | DATE -> date
     | GUID -> guid
     | SIGNED_NUMBER -> number
     | _TRUE -> true
     | _FALSE -> false
     | _NULL -> null

_OR.2: /or(?![A-Za-z0-9_.])/
_AND.2: /and(?![A-Za-z0-9_.])/
_NOT.2: /not(?![A-Za-z0-9_.])/
_TRUE.2: /true(?![A-Za-z0-9_.])/
_FALSE.2: /false(?![A-Za-z0-9_.])/
_NULL.2: /null(?![A-Za-z0-9_.])/
COMPOP.2: /(eq|ne|gt|ge|lt|le)(?![A-Za-z0-9_])/
QNAME.2: /[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+(?=\s*\()/
ENUM.3: /[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+'[^']*'/
DATETIME.4: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})/
GUID.4: /[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}/
DATE.3: /\d{4}-\d{2}-\d{2}/
SIGNED_NUMBER.1: /[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[mMdDfFlL]?/
STRING: /'([^']|'')*'/
DQSTRING: /"(?:[^"\\]|\\.)*"/
ALIAS: /@[A-Za-z_][A-Za-z0-9_]*/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
%ignore /[ \t\r\n]+/
"""

_PARSER = Lark(_GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


# ---------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Lit:
    value: Any
    edm: str  # Edm.String, Edm.Int64, Edm.Decimal, Edm.Boolean, Edm.Guid, Edm.Date,
    # Edm.DateTimeOffset, Enum, null


@dataclass(frozen=True)
class Prop:
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


@dataclass(frozen=True)
class Func:
    name: str
    args: tuple[Any, ...]
    pos: int


@dataclass(frozen=True)
class CrmFunc:
    name: str  # without the Microsoft.Dynamics.CRM. prefix
    params: dict[str, Any]
    pos: int


@dataclass(frozen=True)
class Alias:
    name: str


def _unquote(text: str) -> str:
    return text[1:-1].replace("''", "'")


def _parse_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.astimezone(dt.UTC)


class _ToAst(Transformer):
    def or_(self, items: list[Any]) -> Logical:
        return Logical("or", items[0], items[1])

    def and_(self, items: list[Any]) -> Logical:
        return Logical("and", items[0], items[1])

    def not_(self, items: list[Any]) -> Not:
        return Not(items[0])

    def compare(self, items: list[Any]) -> Compare:
        left, op, right = items
        return Compare(str(op), left, right, op.start_pos)

    def func(self, items: list[Any]) -> Func:
        name: Token = items[0]
        return Func(str(name), tuple(a for a in items[1:] if a is not None), name.start_pos)

    def crmfunc(self, items: list[Any]) -> CrmFunc:
        name: Token = items[0]
        params = dict(p for p in items[1:] if p is not None)
        return CrmFunc(str(name), params, name.start_pos)

    def param(self, items: list[Any]) -> tuple[str, Any]:
        return str(items[0]), items[1]

    def alias(self, items: list[Any]) -> Alias:
        return Alias(str(items[0]))

    def array(self, items: list[Any]) -> list[Any]:
        return [i for i in items if i is not None]

    def aval(self, items: list[Any]) -> Any:
        tok: Token = items[0]
        if tok.type == "STRING":
            return _unquote(str(tok))
        if tok.type == "DQSTRING":
            return json.loads(str(tok))
        return _number(str(tok))

    def path(self, items: list[Token]) -> Prop:
        return Prop(tuple(str(t) for t in items), items[0].start_pos)

    def string(self, items: list[Token]) -> Lit:
        return Lit(_unquote(str(items[0])), "Edm.String")

    def enum(self, items: list[Token]) -> Lit:
        text = str(items[0])
        return Lit(text[text.index("'") + 1 : -1], "Enum")

    def datetime(self, items: list[Token]) -> Lit:
        return Lit(_parse_datetime(str(items[0])), "Edm.DateTimeOffset")

    def date(self, items: list[Token]) -> Lit:
        return Lit(dt.date.fromisoformat(str(items[0])), "Edm.Date")

    def guid(self, items: list[Token]) -> Lit:
        return Lit(str(items[0]).lower(), "Edm.Guid")

    def number(self, items: list[Token]) -> Lit:
        value = _number(str(items[0]))
        return Lit(value, "Edm.Int64" if isinstance(value, int) else "Edm.Decimal")

    def true(self, _items: list[Any]) -> Lit:
        return Lit(True, "Edm.Boolean")

    def false(self, _items: list[Any]) -> Lit:
        return Lit(False, "Edm.Boolean")

    def null(self, _items: list[Any]) -> Lit:
        return Lit(None, "null")


def _number(text: str) -> int | float:
    text = text.rstrip("mMdDfFlL")
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    return float(text)


def _unterminated_literal(text: str) -> bool:
    """True when ``text`` ends inside a single-quoted literal (``''`` is an escaped quote)."""
    in_single = in_double = False
    i = 0
    while i < len(text):
        c = text[i]
        if in_single:
            if c == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    i += 1
                else:
                    in_single = False
        elif in_double:
            if c == "\\":
                i += 1
            elif c == '"':
                in_double = False
        elif c == "'":
            in_single = True
        elif c == '"':
            in_double = True
        i += 1
    return in_single


def _at_end(text: str, expected: Any) -> ODataError:
    if expected and "RPAR" in expected:
        return ODataError(f"')' or operator expected at position {len(text)} in '{text}'.")
    return ODataError(f"Expression expected at position {len(text)} in '{text}'.")


def parse_filter(text: str) -> Any:
    """Parse a ``$filter`` value into an AST, raising Dataverse-worded syntax errors."""
    if not text.strip():
        raise ODataError(f"Expression expected at position {len(text)} in '{text}'.")
    if _unterminated_literal(text):
        raise ODataError(f"There is an unterminated literal at position {len(text)} in '{text}'.")
    try:
        tree = _PARSER.parse(text)
    except UnexpectedEOF as e:
        raise _at_end(text, e.expected) from None
    except UnexpectedCharacters as e:
        char = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        raise ODataError(
            f"Syntax error: character '{char}' is not valid at position {e.pos_in_stream} "
            f"in '{text}'."
        ) from None
    except UnexpectedToken as e:
        if e.token.type == "$END":
            raise _at_end(text, e.expected) from None
        raise ODataError(f"Syntax error at position {e.token.start_pos} in '{text}'.") from None
    except UnexpectedInput:  # pragma: no cover - other lark input errors
        raise ODataError(f"Syntax error at position 0 in '{text}'.") from None
    try:
        return _ToAst().transform(tree)
    except VisitError as e:  # e.g. an impossible date such as 2024-02-31
        raise ODataError(f"Unrecognized literal in '{text}': {e.orig_exc}.") from None


# ---------------------------------------------------------------------------- columns


@dataclass
class Column:
    """What the evaluator needs to know about one filterable/sortable property."""

    name: str
    edm: str  # Edm.String, Edm.Int32, Edm.Int64, Edm.Decimal, Edm.Double, Edm.Boolean,
    # Edm.Guid, Edm.Date, Edm.DateTimeOffset, Enum
    getter: Callable[[Mapping[str, Any]], Any]
    # Sort key override (lookups sort by the related row's primary name).
    sort_getter: Callable[[Mapping[str, Any]], Any] | None = None


# Resolves a property path (as written in the query) to a Column or raises ODataError.
Resolver = Callable[[tuple[str, ...]], Column]

_NUMERIC = {"Edm.Int32", "Edm.Int64", "Edm.Decimal", "Edm.Double", "Edm.Single"}
_TEMPORAL = {"Edm.Date", "Edm.DateTimeOffset"}
_STRINGY = {"Edm.String", "Enum"}


def _family(edm: str) -> str:
    if edm in _NUMERIC:
        return "number"
    if edm in _TEMPORAL:
        return "temporal"
    if edm in _STRINGY:
        return "string"
    if edm == "Edm.Guid":
        return "guid"
    if edm == "Edm.Boolean":
        return "bool"
    return edm


_OP_KIND = {
    "eq": "Equal",
    "ne": "NotEqual",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
}
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)


def _normaliser(family: str, date_only: bool) -> Callable[[Any], Any]:
    """Map a stored value to the comparable form Dataverse's SQL would compare."""
    if family == "string":
        return lambda v: v.casefold() if isinstance(v, str) else str(v).casefold()
    if family == "guid":
        return lambda v: str(v).lower()
    if family == "temporal":
        if date_only:
            return lambda v: v.date() if isinstance(v, dt.datetime) else v
        return _to_datetime
    return lambda v: v


Evaluator = Callable[[Mapping[str, Any]], Any]


@dataclass
class _Operand:
    """A compiled operand: returns the normalised value for a row, or None."""

    fn: Evaluator
    edm: str
    constant: bool = False
    value: Any = None
    date_only: bool = False


@dataclass
class _Compiler:
    text: str
    resolve: Resolver
    aliases: Mapping[str, str] = field(default_factory=dict)

    # -- entry
    def predicate(self, node: Any) -> Evaluator:
        if isinstance(node, Logical):
            left, right = self.predicate(node.left), self.predicate(node.right)
            if node.op == "and":

                def and_(row: Mapping[str, Any]) -> bool | None:
                    a = left(row)
                    if a is False:
                        return False
                    b = right(row)
                    if b is False:
                        return False
                    return True if (a is True and b is True) else None

                return and_

            def or_(row: Mapping[str, Any]) -> bool | None:
                a = left(row)
                if a is True:
                    return True
                b = right(row)
                if b is True:
                    return True
                return False if (a is False and b is False) else None

            return or_
        if isinstance(node, Not):
            inner = self.predicate(node.expr)

            def not_(row: Mapping[str, Any]) -> bool | None:
                v = inner(row)
                return None if v is None else not v

            return not_
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Func):
            return self.string_function(node)
        if isinstance(node, CrmFunc):
            return self.crm_function(node)
        if isinstance(node, Prop):
            col = self.resolve(node.path)
            if col.edm != "Edm.Boolean":
                raise ODataError(
                    f"The $filter expression must evaluate to a single boolean value; "
                    f"'{col.name}' is of type '{col.edm}'."
                )
            getter = col.getter
            return lambda row: getter(row)
        if isinstance(node, Lit):
            if node.edm != "Edm.Boolean":
                raise ODataError("The $filter expression must evaluate to a single boolean value.")
            value = node.value
            return lambda _row: value
        raise ODataError(f"Syntax error at position 0 in '{self.text}'.")  # pragma: no cover

    # -- operands
    def operand(self, node: Any) -> _Operand:
        if isinstance(node, Lit):
            return _Operand(lambda _row: node.value, node.edm, True, node.value)
        if isinstance(node, Prop):
            col = self.resolve(node.path)
            return _Operand(col.getter, col.edm, date_only=col.edm == "Edm.Date")
        if isinstance(node, Func):
            raise ODataError(
                f"An unknown function with name '{node.name}' was found. This may also be a "
                "function import or a key lookup on a navigation property, which is not allowed."
            )
        raise ODataError(f"Syntax error at position {getattr(node, 'pos', 0)} in '{self.text}'.")

    def _check_types(self, left: _Operand, right: _Operand, op: str) -> str:
        lf, rf = _family(left.edm), _family(right.edm)
        if "null" in (lf, rf) or lf == rf:
            return rf if lf == "null" else lf
        # A GUID column may be compared with a quoted GUID (the docs show both forms).
        if {lf, rf} == {"guid", "string"}:
            return "guid"
        raise ODataError(
            "A binary operator with incompatible types was detected. Found operand types "
            f"'{left.edm}' and '{right.edm}' for operator kind '{_OP_KIND[op]}'."
        )

    def compare(self, node: Compare) -> Evaluator:
        left, right = self.operand(node.left), self.operand(node.right)
        family = self._check_types(left, right, node.op)
        op = node.op
        # `x eq null` / `x ne null` are IS NULL / IS NOT NULL; any other comparison with a
        # null literal is unknown.
        if left.edm == "null" or right.edm == "null":
            other = right if left.edm == "null" else left
            if other.edm == "null":
                result = op in ("eq", "ge", "le")
                return lambda _row: result if op in ("eq", "ne") else None
            fn = other.fn
            if op == "eq":
                return lambda row: fn(row) is None
            if op == "ne":
                return lambda row: fn(row) is not None
            return lambda _row: None
        date_only = left.date_only or right.date_only
        norm = _normaliser(family, date_only)
        compare = _OPS[op]
        if left.constant or right.constant:
            const, var, flipped = (left, right, False) if left.constant else (right, left, True)
            if const.constant and var.constant:
                a, b = norm(left.value), norm(right.value)
                result = compare(a, b)
                return lambda _row: result
            cval = norm(const.value)
            fn = var.fn
            if flipped:

                def cmp_const_right(row: Mapping[str, Any]) -> bool | None:
                    v = fn(row)
                    return None if v is None else compare(norm(v), cval)

                return cmp_const_right

            def cmp_const_left(row: Mapping[str, Any]) -> bool | None:
                v = fn(row)
                return None if v is None else compare(cval, norm(v))

            return cmp_const_left
        lfn, rfn = left.fn, right.fn

        def cmp_columns(row: Mapping[str, Any]) -> bool | None:
            a, b = lfn(row), rfn(row)
            if a is None or b is None:
                return None
            return compare(norm(a), norm(b))

        return cmp_columns

    # -- contains / startswith / endswith
    def string_function(self, node: Func) -> Evaluator:
        name = node.name
        if name not in ("contains", "startswith", "endswith"):
            raise ODataError(
                f"An unknown function with name '{name}' was found. This may also be a function "
                "import or a key lookup on a navigation property, which is not allowed."
            )
        if len(node.args) != 2:
            raise ODataError(
                f"No function signature for the function with name '{name}' matches the "
                "specified arguments. The function signatures considered are: "
                f"{name}(Edm.String Nullable=true, Edm.String Nullable=true)."
            )
        subject, pattern = (self.operand(a) for a in node.args)
        for part in (subject, pattern):
            if _family(part.edm) not in ("string", "null", "guid"):
                raise ODataError(
                    f"No function signature for the function with name '{name}' matches the "
                    "specified arguments. The function signatures considered are: "
                    f"{name}(Edm.String Nullable=true, Edm.String Nullable=true)."
                )
        if not pattern.constant:
            raise ODataError(f"The second argument of '{name}' must be a string literal.")
        if pattern.value is None:
            return lambda _row: None
        matcher = _like_matcher(pattern.value, name)
        fn = subject.fn

        def like(row: Mapping[str, Any]) -> bool | None:
            v = fn(row)
            return None if v is None else matcher(str(v))

        return like

    # -- Microsoft.Dynamics.CRM.* query functions
    def _param(self, node: CrmFunc, key: str) -> Any:
        if key not in node.params:
            raise ODataError(
                f"The parameter '{key}' is required for the function "
                f"'Microsoft.Dynamics.CRM.{node.name}'."
            )
        value = node.params[key]
        if isinstance(value, Alias):
            raw = self.aliases.get(value.name)
            if raw is None:
                raise ODataError(f"The parameter alias '{value.name}' was not found.")
            value = _parse_alias_value(raw, self.text)
        return value.value if isinstance(value, Lit) else value

    def crm_function(self, node: CrmFunc) -> Evaluator:
        ns, _, name = node.name.rpartition(".")
        if ns != "Microsoft.Dynamics.CRM":
            raise ODataError(
                f"An unknown function with name '{node.name}' was found. This may also be a "
                "function import or a key lookup on a navigation property, which is not allowed."
            )
        prop = self._param(node, "PropertyName")
        if not isinstance(prop, str):
            raise ODataError("PropertyName must be a string literal naming a property.")
        col = self.resolve(tuple(prop.split("/")))
        family = _family(col.edm)
        norm = _normaliser(family, col.edm == "Edm.Date")
        getter = col.getter

        def coerce(raw: Any) -> Any:
            return norm(_coerce_param(raw, col, name))

        if name in ("In", "NotIn"):
            values = self._param(node, "PropertyValues")
            if not isinstance(values, list):
                raise ODataError("PropertyValues must be an array of values.")
            wanted = {coerce(v) for v in values}
            negate = name == "NotIn"

            def in_(row: Mapping[str, Any]) -> bool | None:
                v = getter(row)
                if v is None:
                    return None
                return (norm(v) in wanted) != negate

            return in_
        if name in ("Between", "NotBetween"):
            values = self._param(node, "PropertyValues")
            if not isinstance(values, list) or len(values) != 2:
                raise ODataError("PropertyValues must be an array of two values.")
            low, high = coerce(values[0]), coerce(values[1])
            negate = name == "NotBetween"

            def between(row: Mapping[str, Any]) -> bool | None:
                v = getter(row)
                if v is None:
                    return None
                return (low <= norm(v) <= high) != negate

            return between
        if name in ("On", "OnOrAfter", "OnOrBefore"):
            if family != "temporal":
                raise ODataError(f"Microsoft.Dynamics.CRM.{name} requires a date/time property.")
            day = _as_date(self._param(node, "PropertyValue"))
            test = {"On": operator.eq, "OnOrAfter": operator.ge, "OnOrBefore": operator.le}[name]

            def on(row: Mapping[str, Any]) -> bool | None:
                v = getter(row)
                if v is None:
                    return None
                return test(v.date() if isinstance(v, dt.datetime) else v, day)

            return on
        raise ODataError(
            f"The query function 'Microsoft.Dynamics.CRM.{name}' is not supported by the "
            "Concord sandbox simulator (supported: In, NotIn, Between, NotBetween, On, "
            "OnOrAfter, OnOrBefore).",
            status=501,
        )


def _as_date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw)[:10])
    except ValueError:
        raise ODataError(f"'{raw}' is not a valid date value.") from None


def _coerce_param(raw: Any, col: Column, func: str) -> Any:
    """PropertyValues arrive as strings (Collection(Edm.String)); convert to the column type."""
    family = _family(col.edm)
    try:
        if family == "number":
            text = str(raw)
            return int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
        if family == "bool":
            if isinstance(raw, bool):
                return raw
            return {"true": True, "false": False, "1": True, "0": False}[str(raw).lower()]
        if family == "temporal":
            if isinstance(raw, dt.date):
                return raw
            text = str(raw)
            return _parse_datetime(text) if "T" in text else dt.date.fromisoformat(text)
    except (ValueError, KeyError):
        raise ODataError(
            f"The value '{raw}' is not valid for the property '{col.name}' of type "
            f"'{col.edm}' in Microsoft.Dynamics.CRM.{func}."
        ) from None
    return raw if isinstance(raw, str) else str(raw)


def _parse_alias_value(raw: str, text: str) -> Any:
    raw = raw.strip()
    if raw.startswith("["):
        try:
            tree = _PARSER.parse(
                f"Microsoft.Dynamics.CRM.In(PropertyName='x',PropertyValues={raw})"
            )
        except UnexpectedInput:
            raise ODataError(f"Syntax error in parameter alias value '{raw}'.") from None
        node = _ToAst().transform(tree)
        return node.params["PropertyValues"]
    node = parse_filter(raw)
    if not isinstance(node, Lit):
        raise ODataError(f"Syntax error in parameter alias value '{raw}'.")
    return node


def like_regex(pattern: str, anchor: str = "contains") -> re.Pattern[str]:
    """Translate a T-SQL LIKE fragment (``%``, ``_``, ``[a-c]``, ``[^x]``) into a regex."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                negate = body.startswith("^")
                if negate:
                    body = body[1:]
                parts = [re.escape(ch) if ch != "-" else "-" for ch in body]
                out.append(("[^" if negate else "[") + "".join(parts) + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    body = "".join(out)
    if anchor == "startswith":
        body = body + ".*"
    elif anchor == "endswith":
        body = ".*" + body
    else:
        body = ".*" + body + ".*"
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def _like_matcher(pattern: str, func: str) -> Callable[[str], bool]:
    if not any(ch in pattern for ch in "%_["):
        needle = pattern.casefold()
        if func == "contains":
            return lambda v: needle in v.casefold()
        if func == "startswith":
            return lambda v: v.casefold().startswith(needle)
        return lambda v: v.casefold().endswith(needle)
    regex = like_regex(pattern, func)
    return lambda v: regex.fullmatch(v) is not None


def compile_filter(
    text: str, resolve: Resolver, aliases: Mapping[str, str] | None = None
) -> Callable[[Mapping[str, Any]], bool]:
    """Compile ``$filter`` text into ``row -> bool`` (true only when the expression is true)."""
    ast = parse_filter(text)
    pred = _Compiler(text, resolve, aliases or {}).predicate(ast)
    return lambda row: pred(row) is True


# ---------------------------------------------------------------------------- $select, $orderby


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")


def parse_select(text: str) -> list[str]:
    """Split ``$select`` into property names (no wildcards or paths beyond names)."""
    names = [part.strip() for part in text.split(",")]
    for name in names:
        if name == "*":
            continue
        if not _IDENT.match(name):
            raise ODataError(f"Syntax error at position 0 in '{text}'.")
    return names


def parse_orderby(text: str) -> list[tuple[tuple[str, ...], bool]]:
    """``name asc,createdon desc`` -> [(("name",), False), (("createdon",), True)]."""
    out: list[tuple[tuple[str, ...], bool]] = []
    pos = 0
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or not _IDENT.match(words[0]):
            raise ODataError(f"Syntax error at position {pos} in '{text}'.")
        desc = False
        if len(words) == 2:
            if words[1] not in ("asc", "desc"):
                raise ODataError(
                    f"Syntax error at position {pos + part.index(words[1])} in '{text}'."
                )
            desc = words[1] == "desc"
        out.append((tuple(words[0].split("/")), desc))
        pos += len(part) + 1
    return out


def order_rows(
    rows: list[Mapping[str, Any]], keys: list[tuple[Column, bool]]
) -> list[Mapping[str, Any]]:
    """Stable multi-key sort; strings case-insensitive; nulls lowest (SQL Server order)."""
    out = list(rows)
    for col, desc in reversed(keys):
        getter = col.sort_getter or col.getter
        family = _family(col.edm)
        if family == "string":

            def key(row: Mapping[str, Any], g: Callable[..., Any] = getter) -> tuple[int, Any]:
                v = g(row)
                return (0, "") if v is None else (1, str(v).casefold())

        elif family == "temporal":

            def key(row: Mapping[str, Any], g: Callable[..., Any] = getter) -> tuple[int, Any]:
                v = g(row)
                return (0, 0) if v is None else (1, _to_datetime(v))

        elif family == "guid":

            def key(row: Mapping[str, Any], g: Callable[..., Any] = getter) -> tuple[int, Any]:
                v = g(row)
                return (0, "") if v is None else (1, str(v).lower())

        else:

            def key(row: Mapping[str, Any], g: Callable[..., Any] = getter) -> tuple[int, Any]:
                v = g(row)
                return (0, 0) if v is None else (1, v)

        out.sort(key=key, reverse=desc)
    return out


# ---------------------------------------------------------------------------- $expand


@dataclass
class ExpandItem:
    name: str
    select: list[str] | None = None


def parse_expand(text: str) -> list[ExpandItem]:
    """``OptionSet($select=Options),GlobalOptionSet`` -> items (only $select is honoured)."""
    items: list[ExpandItem] = []
    depth = 0
    start = 0
    parts: list[str] = []
    for i, c in enumerate(text):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    for part in parts:
        part = part.strip()
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?", part, re.DOTALL)
        if not m:
            raise ODataError(f"Syntax error at position 0 in '{text}'.")
        select = None
        for opt in (m.group(2) or "").split(";"):
            key, _, value = opt.partition("=")
            if key.strip() == "$select":
                select = parse_select(value)
        items.append(ExpandItem(m.group(1), select))
    return items
