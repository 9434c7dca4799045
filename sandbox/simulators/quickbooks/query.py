"""The QuickBooks Online query language: a lark parser and an evaluator over QBO objects.

Adapters push filters as query text, so the simulator parses the real syntax and applies
Intuit's documented rules ("Query operations and syntax", developer.intuit.com) or pushdown
bugs would stay invisible:

* ``SELECT * | COUNT(*) | Prop, ... FROM Entity [WHERE ...] [ORDERBY ...] [STARTPOSITION n]
  [MAXRESULTS m]``; keywords are case-insensitive, the entity name is case-sensitive (as
  documented). ``ORDER BY`` is accepted as well as ``ORDERBY`` (python-quickbooks sends both),
  and ``SELECT *, Sku`` (what python-quickbooks sends for Item).
* ``WHERE`` is conditions joined by ``AND`` only. Operators: ``= < > <= >= IN (...) LIKE``.
  ``OR``, ``NOT``, ``!=``/``<>``, ``IS NULL`` and parentheses are not in the documented
  grammar and are refused like any other syntax error (400, ``QueryParserError``).
* ``LIKE`` knows only the ``%`` wildcard; ``_`` is an ordinary character.
* Literals: ``'single quoted'`` with ``\\'`` for a quote (and ``\\\\`` for a backslash),
  unquoted numbers, ``true``/``false``.
* Property paths may be dotted (``MetaData.CreateTime``); a reference property
  (``CustomerRef``) compares its ``value``.

Semantics (documented where Intuit documents them, otherwise the choice named here):

* An object without the property never matches (QBO omits unset properties).
* Strings compare case-insensitively by default (``=``, ``IN``, ``LIKE``, ranges and
  ``ORDERBY``); the reference marks this unclear, so ``case_insensitive`` switches it off.
* Numbers compare as doubles; digit-only strings (Ids, reference values) compare as
  integers; ISO timestamps with an offset (``MetaData`` times) compare as instants, and a
  literal without an offset is read in the company's time zone (Pacific).
* Without ``ORDERBY`` rows come in the stored order (ascending Id for projected data).
  Objects missing the sort property sort first ascending and last descending.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput, VisitError

__all__ = [
    "Condition",
    "ParsedQuery",
    "QueryError",
    "evaluate",
    "parse",
]

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_CAP = 1000
COMPANY_TZ = zoneinfo.ZoneInfo("America/Los_Angeles")

_GRAMMAR = r"""
start: SELECT selection FROM NAME where? orderby? startpos? maxres?

selection: STAR ("," path)*          -> sel_star
         | COUNT "(" STAR ")"        -> sel_count
         | path ("," path)*          -> sel_fields

where: WHERE cond (AND cond)*
cond: path CMP value                          -> compare
    | path IN "(" value ("," value)* ")"      -> in_list
    | path LIKE STRING                        -> like

orderby: ORDERBY sortkey ("," sortkey)*
sortkey: path DIRECTION?
startpos: STARTPOSITION INT
maxres: MAXRESULTS INT

path: NAME ("." NAME)*
value: STRING  -> string
     | NUMBER  -> number
     | TRUE    -> true
     | FALSE   -> false

CMP: "<=" | ">=" | "=" | "<" | ">"
STAR: "*"
SELECT: "SELECT"i
FROM: "FROM"i
WHERE: "WHERE"i
AND: "AND"i
IN: "IN"i
LIKE: "LIKE"i
COUNT: "COUNT"i
ORDERBY: /ORDER[ \t\r\n]*BY/i
DIRECTION: /ASC|DESC/i
STARTPOSITION: "STARTPOSITION"i
MAXRESULTS: "MAXRESULTS"i
TRUE: "TRUE"i
FALSE: "FALSE"i
NAME: /[A-Za-z_][A-Za-z0-9_]*/
STRING: /'(?:\\.|[^'\\])*'/
NUMBER: /-?(\d+(\.\d*)?|\.\d+)/
INT: /\d+/
%import common.WS
%ignore WS
"""

_PARSER = Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False)


class QueryError(ValueError):
    """A query QBO refuses: ``code`` 4000 for syntax, 4001 for validation errors."""

    def __init__(self, detail: str, *, code: str = "4000",
                 message: str = "Error parsing query") -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Condition:
    path: tuple[str, ...]
    op: str  # = < > <= >= IN LIKE
    values: tuple[Any, ...]  # one value except for IN; str, float, bool


@dataclass(frozen=True)
class ParsedQuery:
    entity: str
    count: bool = False
    star: bool = True
    fields: tuple[tuple[str, ...], ...] = ()
    where: tuple[Condition, ...] = ()
    order: tuple[tuple[tuple[str, ...], bool], ...] = ()  # (path, descending)
    start_position: int = 1
    max_results: int | None = None
    paths: frozenset[tuple[str, ...]] = field(default_factory=frozenset)


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: m.group(1), body)


@v_args(inline=True)
class _Build(Transformer):  # type: ignore[type-arg]
    def path(self, *names: Token) -> tuple[str, ...]:
        return tuple(str(n) for n in names)

    def string(self, token: Token) -> str:
        return _unquote(str(token))

    def number(self, token: Token) -> float:
        return float(token)

    def true(self, _: Token) -> bool:
        return True

    def false(self, _: Token) -> bool:
        return False

    def sel_star(self, _: Token, *paths: tuple[str, ...]) -> dict[str, Any]:
        return {"star": True, "fields": paths}

    def sel_count(self, *_: Token) -> dict[str, Any]:
        return {"count": True, "star": False}

    def sel_fields(self, *paths: tuple[str, ...]) -> dict[str, Any]:
        return {"star": False, "fields": paths}

    def compare(self, path: tuple[str, ...], op: Token, value: Any) -> Condition:
        return Condition(path, str(op), (value,))

    def in_list(self, path: tuple[str, ...], _: Token, *values: Any) -> Condition:
        return Condition(path, "IN", values)

    def like(self, path: tuple[str, ...], _: Token, pattern: Token) -> Condition:
        return Condition(path, "LIKE", (_unquote(str(pattern)),))

    def where(self, _: Token, *items: Any) -> tuple[str, tuple[Condition, ...]]:
        return "where", tuple(i for i in items if isinstance(i, Condition))

    def sortkey(self, path: tuple[str, ...], direction: Token | None = None
                ) -> tuple[tuple[str, ...], bool]:
        return path, bool(direction and str(direction).upper() == "DESC")

    def orderby(self, _: Token, *keys: tuple[tuple[str, ...], bool]) -> tuple[str, Any]:
        return "order", keys

    def startpos(self, _: Token, n: Token) -> tuple[str, int]:
        return "start", int(n)

    def maxres(self, _: Token, n: Token) -> tuple[str, int]:
        return "max", int(n)

    def start(self, _s: Token, selection: dict[str, Any], _f: Token, entity: Token,
              *clauses: tuple[str, Any]) -> ParsedQuery:
        parts = dict(clauses)
        where = parts.get("where", ())
        order = parts.get("order", ())
        fields = tuple(selection.get("fields", ()))
        paths = frozenset([c.path for c in where] + [p for p, _ in order] + list(fields))
        return ParsedQuery(
            entity=str(entity), count=bool(selection.get("count")),
            star=bool(selection.get("star")), fields=fields, where=where, order=order,
            start_position=parts.get("start", 1), max_results=parts.get("max"), paths=paths)


def parse(text: str) -> ParsedQuery:
    """The parsed query, or ``QueryError`` worded like QBO's QueryParserError."""
    try:
        tree = _PARSER.parse(text)
        query = _Build().transform(tree)
    except UnexpectedInput as e:
        token = getattr(e, "token", None)
        shown = str(token) if token is not None else text[e.pos_in_stream or 0:][:20]
        raise QueryError(
            f'QueryParserError: Encountered " "{shown} "" at line {e.line}, column '
            f"{e.column}.") from None
    except VisitError as e:  # pragma: no cover - a grammar/transformer mismatch
        raise QueryError(f"QueryParserError: {e.orig_exc}") from None
    if query.start_position < 1:
        raise QueryError("QueryValidationError: STARTPOSITION must be 1 or more",
                         code="4001", message="Invalid query")
    return query


# -- evaluation ---------------------------------------------------------------------------

_MISSING = object()
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def resolve(obj: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` (a reference compares its ``value``), or ``_MISSING``."""
    value: Any = obj
    for name in path:
        if not isinstance(value, dict) or name not in value:
            return _MISSING
        value = value[name]
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    return value


def _instant(text: str) -> dt.datetime | None:
    if _DATE.match(text):
        day = dt.date.fromisoformat(text)
        return dt.datetime(day.year, day.month, day.day, tzinfo=COMPANY_TZ)
    if not _TIMESTAMP.match(text):
        return None
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=COMPANY_TZ)


def _key(value: Any, literal: Any, fold: bool) -> tuple[Any, Any] | None:
    """``value`` and ``literal`` made comparable, or None when they never compare."""
    if isinstance(value, bool):
        if isinstance(literal, bool):
            return value, literal
        if isinstance(literal, str) and literal.lower() in ("true", "false"):
            return value, literal.lower() == "true"
        return None
    if isinstance(value, int | float):
        try:
            return float(value), float(literal)
        except (TypeError, ValueError):
            return None
    if not isinstance(value, str) or isinstance(literal, bool):
        return None
    if isinstance(literal, float):
        literal = format(literal, "g") if not literal.is_integer() else str(int(literal))
    if value.isdigit() and literal.isdigit():
        return int(value), int(literal)
    if _TIMESTAMP.match(value) and ("T" in value):
        left, right = _instant(value), _instant(literal)
        if left is not None and right is not None:
            return left, right
    if fold:
        return value.casefold(), literal.casefold()
    return value, literal


def _like(value: Any, pattern: str, fold: bool) -> bool:
    if not isinstance(value, str):
        return False
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    flags = re.DOTALL | (re.IGNORECASE if fold else 0)
    return re.fullmatch(regex, value, flags) is not None


def matches(obj: dict[str, Any], cond: Condition, fold: bool) -> bool:
    value = resolve(obj, cond.path)
    if value is _MISSING or value is None or isinstance(value, list | dict):
        return False
    if cond.op == "LIKE":
        return _like(value, cond.values[0], fold)
    if cond.op == "IN":
        for literal in cond.values:
            pair = _key(value, literal, fold)
            if pair is not None and pair[0] == pair[1]:
                return True
        return False
    pair = _key(value, cond.values[0], fold)
    if pair is None:
        return False
    left, right = pair
    try:
        return {"=": left == right, "<": left < right, ">": left > right,
                "<=": left <= right, ">=": left >= right}[cond.op]
    except TypeError:
        return False


def _sort_value(obj: dict[str, Any], path: tuple[str, ...], fold: bool) -> tuple[int, Any]:
    value = resolve(obj, path)
    if value is _MISSING or value is None or isinstance(value, list | dict):
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (2, float(value))
    if value.isdigit():
        return (3, int(value))
    if _TIMESTAMP.match(value) and "T" in value:
        moment = _instant(value)
        return (4, moment.timestamp() if moment else 0)
    return (5, value.casefold() if fold else value)


def evaluate(objects: Iterable[dict[str, Any]], query: ParsedQuery, *,
             fold: bool) -> list[dict[str, Any]]:
    """Every object matching ``query`` in the order it asks for (paging not applied)."""
    rows = [o for o in objects if all(matches(o, c, fold) for c in query.where)]
    for path, descending in reversed(query.order):
        rows.sort(key=lambda o, p=path: _sort_value(o, p, fold), reverse=descending)
    return rows


def project(obj: dict[str, Any], query: ParsedQuery) -> dict[str, Any]:
    """The object as returned for the query's selection (sparse for a field list)."""
    if query.star:
        return obj
    out: dict[str, Any] = {"Id": obj["Id"]} if "Id" in obj else {}
    for path in query.fields:
        top = path[0]
        if top in obj:
            out[top] = obj[top]
    out["sparse"] = True
    return out
