"""The ``q`` filter of Oracle Fusion REST collections, parsed with lark and evaluated in Python.

Fusion's REST framework (ADF Business Components) reads ``q`` two ways, chosen by the
``REST-Framework-Version`` request header:

* version 1 (the default when the header is absent): query-by-example, ``Attr=value`` pairs
  joined by ``;`` (each pair may use ``= != <> > >= < <=``; values bare or quoted);
* version 2 and later: *rowmatch* expressions, a small SQL-like WHERE language:
  ``Attr = 'x'``, ``!=``/``<>``, ``> >= < <=``, ``LIKE 'A%'``/``NOT LIKE``, ``IS [NOT] NULL``,
  ``[NOT] BETWEEN a AND b``, ``[NOT] IN ('a', 'b')``, ``NOT (...)``, combined with ``AND``/
  ``OR`` (case-insensitive keywords) and parentheses; ``;`` still joins terms with AND.

Semantics are Oracle Database's, since the framework turns ``q`` into a WHERE clause:

* strings compare case-sensitively in binary order (Oracle's default NLS_COMP=BINARY);
* ``''`` is NULL in Oracle, so comparing with an empty string is never true;
* any comparison with NULL is unknown, and NOT of unknown is unknown (three-valued logic);
* ``LIKE`` has ``%`` and ``_`` wildcards and no escape character; ADF also treats ``*`` as
  ``%`` (its query-by-example wildcard), so a literal ``*`` cannot be matched;
* literals are typed by the attribute: numbers as JSON numbers would be, dates
  ``'2024-01-31'``, datetimes ``'2024-01-31T10:00:00+00:00'`` (ISO 8601, offset optional and
  then UTC), booleans ``true``/``false``.

Unknown attributes and literals that do not fit the attribute's type are errors (400).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, VisitError

__all__ = ["QueryError", "RowFilter", "compile_q"]

_GRAMMAR = r"""
?start: terms
?terms: disj (";" disj)*            -> all_of
?disj: conj (_OR conj)*             -> any_of
?conj: neg (_AND neg)*              -> all_of
?neg: _NOT neg                      -> negate
    | atom
?atom: "(" disj ")"
     | cond
cond: ATTR OP value                 -> compare
    | ATTR _IS _NULL                -> is_null
    | ATTR _IS _NOT _NULL           -> is_not_null
    | ATTR _BETWEEN value _AND value     -> between
    | ATTR _NOT _BETWEEN value _AND value -> not_between
    | ATTR _IN "(" value ("," value)* ")"      -> in_list
    | ATTR _NOT _IN "(" value ("," value)* ")" -> not_in_list
    | ATTR _LIKE STRING             -> like
    | ATTR _NOT _LIKE STRING        -> not_like

?value: STRING      -> string
      | NUMBER      -> number
      | _TRUE       -> true
      | _FALSE      -> false
      | BARE        -> bare

OP: ">=" | "<=" | "!=" | "<>" | "=" | ">" | "<"
STRING: /'(?:[^']|'')*'/ | /"(?:[^"]|"")*"/
NUMBER: /-?\d+(\.\d+)?([eE][+-]?\d+)?(?![\w:.\-])/
_AND.2: /and(?![\w$])/i
_OR.2: /or(?![\w$])/i
_NOT.2: /not(?![\w$])/i
_IS.2: /is(?![\w$])/i
_NULL.2: /null(?![\w$])/i
_IN.2: /in(?![\w$])/i
_LIKE.2: /like(?![\w$])/i
_BETWEEN.2: /between(?![\w$])/i
_TRUE.2: /true(?![\w$])/i
_FALSE.2: /false(?![\w$])/i
ATTR.1: /[A-Za-z_][\w$]*/
BARE: /[^\s;()'",=<>!]+/
%ignore /\s+/
"""

_PARSER = Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False)


class QueryError(ValueError):
    """A ``q`` the framework refuses; ``detail`` is the message the 400 body carries."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


#: a row's truth under three-valued logic: True, False or None (unknown)
RowFilter = Callable[[dict[str, Any]], bool | None]


@dataclass(frozen=True)
class _Raw:
    """A literal before it is typed by the attribute it is compared with."""

    kind: str  # string, number, boolean, bare
    value: Any


def compile_q(q: str, types: dict[str, str], *, framework_version: int = 1) -> RowFilter:
    """A row predicate for ``q`` over attributes ``types`` (name → describe type).

    Raises ``QueryError`` for syntax errors, unknown attributes, ill-typed literals and,
    under framework version 1, anything but ``Attr<op>value`` terms joined by ``;``.
    """
    try:
        tree = _PARSER.parse(q)
    except LarkError as exc:
        raise QueryError(f"URL request parameter q with value {q} is not valid: "
                         f"{str(exc).splitlines()[0]}") from None
    if framework_version < 2:
        for node in tree.iter_subtrees():
            if node.data not in ("all_of", "any_of", "compare", "string", "number", "true",
                                 "false", "bare") or _has_keyword(q):
                raise QueryError(
                    f"URL request parameter q with value {q} is not valid: framework version "
                    f"{framework_version} accepts only Attr=value terms separated by ';' "
                    "(send REST-Framework-Version: 2 or later for expressions)")
    try:
        return _Build(types).transform(tree)  # type: ignore[no-any-return]
    except VisitError as exc:
        if isinstance(exc.orig_exc, QueryError):
            raise exc.orig_exc from None
        raise


def _has_keyword(q: str) -> bool:
    """Whether a version-1 ``q`` uses AND/OR (only ``;`` joins terms there)."""
    outside = re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", "", q)
    return re.search(r"(?i)(?<![\w$])(and|or)(?![\w$])", outside) is not None


def _unquote(token: str) -> str:
    quote = token[0]
    return token[1:-1].replace(quote * 2, quote)


def _oracle_text(value: Any) -> Any:
    """Oracle stores ``''`` as NULL, so an empty string behaves as NULL."""
    return None if value == "" else value


@v_args(inline=True)
class _Build(Transformer):  # type: ignore[type-arg]
    """Turns the parse tree into nested closures over a row dict."""

    def __init__(self, types: dict[str, str]) -> None:
        super().__init__()
        self.types = types

    # -- literals -----------------------------------------------------------------------
    def string(self, token: Token) -> _Raw:
        return _Raw("string", _unquote(str(token)))

    def number(self, token: Token) -> _Raw:
        return _Raw("number", Decimal(str(token)))

    def true(self) -> _Raw:
        return _Raw("boolean", True)

    def false(self) -> _Raw:
        return _Raw("boolean", False)

    def bare(self, token: Token) -> _Raw:
        return _Raw("bare", str(token))

    # -- typing -------------------------------------------------------------------------
    def _attr(self, token: Token) -> tuple[str, str]:
        name = str(token)
        if name not in self.types:
            raise QueryError(f"The attribute {name} is not a queryable attribute of this "
                             "resource.")
        return name, self.types[name]

    def _typed(self, name: str, kind: str, raw: _Raw) -> Any:
        """The literal as a value comparable with the attribute's values (None = NULL)."""
        text = raw.value if raw.kind in ("string", "bare") else None
        try:
            if kind == "string":
                if raw.kind == "boolean":
                    raise ValueError
                return _oracle_text(text if text is not None else str(raw.value))
            if kind in ("integer", "number"):
                number = raw.value if raw.kind == "number" else Decimal(str(text))
                if raw.kind == "boolean" or not number.is_finite():
                    raise ValueError
                return number
            if kind == "boolean":
                if raw.kind == "boolean":
                    return raw.value
                if text is not None and text.lower() in ("true", "false"):
                    return text.lower() == "true"
                raise ValueError
            if kind == "date":
                return dt.date.fromisoformat(str(text))
            if kind == "datetime":
                moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=dt.UTC)
                return moment.astimezone(dt.UTC)
        except (ValueError, TypeError, InvalidOperation):
            pass
        raise QueryError(f"The value {raw.value!r} is not valid for attribute {name} of "
                         f"type {kind}.")

    @staticmethod
    def _cell(row: dict[str, Any], name: str, kind: str) -> Any:
        value = row.get(name)
        if value is None:
            return None
        if kind == "string":
            return _oracle_text(value)
        if kind == "number":
            return float(value)
        if kind == "integer":
            return Decimal(int(value))
        return value

    @staticmethod
    def _ordered(kind: str, value: Any) -> Any:
        """Numbers compare as the attribute stores them: doubles for ``number``."""
        return float(value) if kind == "number" and value is not None else value

    # -- conditions ---------------------------------------------------------------------
    def compare(self, attr: Token, op: Token, raw: _Raw) -> RowFilter:
        name, kind = self._attr(attr)
        literal = self._ordered(kind, self._typed(name, kind, raw))
        test = _OPS[str(op)]
        cell = self._cell

        def run(row: dict[str, Any]) -> bool | None:
            value = cell(row, name, kind)
            if value is None or literal is None:
                return None
            return test(value, literal)

        return run

    def is_null(self, attr: Token) -> RowFilter:
        name, kind = self._attr(attr)
        return lambda row: self._cell(row, name, kind) is None

    def is_not_null(self, attr: Token) -> RowFilter:
        name, kind = self._attr(attr)
        return lambda row: self._cell(row, name, kind) is not None

    def between(self, attr: Token, low: _Raw, high: _Raw) -> RowFilter:
        return self.all_of(self.compare(attr, Token("OP", ">="), low),
                           self.compare(attr, Token("OP", "<="), high))

    def not_between(self, attr: Token, low: _Raw, high: _Raw) -> RowFilter:
        return self.negate(self.between(attr, low, high))

    def in_list(self, attr: Token, *raws: _Raw) -> RowFilter:
        return self.any_of(*(self.compare(attr, Token("OP", "="), raw) for raw in raws))

    def not_in_list(self, attr: Token, *raws: _Raw) -> RowFilter:
        return self.negate(self.in_list(attr, *raws))

    def like(self, attr: Token, pattern: Token) -> RowFilter:
        name, kind = self._attr(attr)
        if kind != "string":
            raise QueryError(f"LIKE needs a string attribute; {name} is {kind}.")
        text = _unquote(str(pattern))
        regex = re.compile("".join(
            ".*" if ch in "%*" else "." if ch == "_" else re.escape(ch) for ch in text), re.S)
        empty = text == ""

        def run(row: dict[str, Any]) -> bool | None:
            value = self._cell(row, name, kind)
            if value is None or empty:
                return None
            return regex.fullmatch(value) is not None

        return run

    def not_like(self, attr: Token, pattern: Token) -> RowFilter:
        return self.negate(self.like(attr, pattern))

    # -- connectives (Kleene logic) -----------------------------------------------------
    def all_of(self, *parts: RowFilter) -> RowFilter:
        def run(row: dict[str, Any]) -> bool | None:
            result: bool | None = True
            for part in parts:
                value = part(row)
                if value is False:
                    return False
                if value is None:
                    result = None
            return result

        return run

    def any_of(self, *parts: RowFilter) -> RowFilter:
        def run(row: dict[str, Any]) -> bool | None:
            result: bool | None = False
            for part in parts:
                value = part(row)
                if value is True:
                    return True
                if value is None:
                    result = None
            return result

        return run

    def negate(self, part: RowFilter) -> RowFilter:
        def run(row: dict[str, Any]) -> bool | None:
            value = part(row)
            return None if value is None else not value

        return run


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<>": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}
