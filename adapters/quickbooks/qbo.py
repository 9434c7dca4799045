"""Compile pushed-down predicates to the QuickBooks Online query language.

QBO's WHERE clause is conditions joined by AND, with ``= < > <= >= IN LIKE`` and nothing
else: no OR, NOT, ``!=`` or NULL tests. So every conjunct the engine pushes is rewritten to
disjunctive normal form; each branch (an AND of conditions) becomes one query and the scan
unions the answers, deduplicated by Id. A conjunct is pushable when every condition in
every branch is, and no more than ``MAX_BRANCHES`` branches result.

Fidelity follows the simulator's documented semantics, where QBO itself is unclear:

- numbers, dates and timestamps (whole seconds) compare as DuckDB does → exact;
- booleans ``col``, ``NOT col``, ``col = true/false`` → ``col = true|false``, exact (an
  object without the property matches neither, like NULL in DuckDB);
- strings ``=``/``IN`` → inexact (QBO compares them case-insensitively, and Ids and
  reference values as numbers); ``LIKE`` → inexact, with ``_`` sent as ``%`` since QBO only
  knows ``%``; ``ILIKE`` stays local (if QBO were case-sensitive, it would drop rows);
- string ranges, ``!=``, ``NOT``, ``IS [NOT] NULL``, functions and values QBO cannot quote
  (backslashes, control characters, empty or blank strings, which QBO uses for null) →
  local only.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from sqlglot import exp

from adapters.contract import Pushdown, SortKey, TableInfo
from adapters.predicates import And, Compare, Flag, InList, Like, Not, Or, Predicate, lower
from adapters.quickbooks.schema import (
    BOOLEAN,
    DATE,
    INTEGER,
    NUMBER,
    STRING,
    TIMESTAMP,
    EntityTable,
)

MAX_BRANCHES = 8  # queries one pushed conjunct may turn into
MAX_IN_VALUES = 200

Branch = tuple[str, ...]  # conditions joined by AND
Dnf = list[Branch]


def quote(value: str) -> str | None:
    """A QBO string literal (``\\'`` escapes a quote), or None when QBO cannot be sent it
    faithfully: backslashes (their escaping is undocumented), control characters, and
    empty or blank strings (QBO's null)."""
    if not value.strip() or "\\" in value or any(ord(c) < 32 for c in value):
        return None
    return "'" + value.replace("'", "\\'") + "'"


def literal(kind: str, value: Any) -> str | None:
    """``value`` as a QBO literal for a property of ``kind``, or None."""
    if isinstance(value, bool):
        return ("true" if value else "false") if kind == BOOLEAN else None
    if isinstance(value, Decimal):
        return format(value, "f") if kind in (NUMBER, INTEGER) else None
    if isinstance(value, str):
        return quote(value) if kind == STRING else None
    if isinstance(value, dt.datetime):
        if kind != TIMESTAMP or value.microsecond:
            return None
        return "'" + value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00") + "'"
    if isinstance(value, dt.date):
        return f"'{value.isoformat()}'" if kind == DATE else None
    return None


def _leaf(spec: EntityTable, leaf: Predicate) -> tuple[str, Pushdown] | None:
    """One QBO condition and its fidelity, or None."""
    if isinstance(leaf, (And, Or, Not)):
        return None
    field = spec.field(leaf.column.name)
    if field is None or field.filter is None:
        return None
    name, kind = field.filter, field.kind
    fidelity = Pushdown.INEXACT if kind == STRING else Pushdown.EXACT
    if isinstance(leaf, Flag):
        return (f"{name} = {'true' if leaf.value else 'false'}", Pushdown.EXACT) if (
            kind == BOOLEAN) else None
    if isinstance(leaf, Compare):
        if leaf.op == "!=" or (kind in (STRING, BOOLEAN) and leaf.op != "="):
            return None  # no != in QBO; string ranges fold case there
        text = literal(kind, leaf.value)
        return None if text is None else (f"{name} {leaf.op} {text}", fidelity)
    if isinstance(leaf, InList):
        if len(leaf.values) > MAX_IN_VALUES or kind == BOOLEAN:
            return None
        texts = [literal(kind, v) for v in leaf.values]
        if any(t is None for t in texts):
            return None
        return f"{name} IN ({', '.join(texts)})", fidelity  # type: ignore[arg-type]
    if isinstance(leaf, Like):
        if kind != STRING or leaf.case_insensitive:
            return None
        text = quote(leaf.pattern.replace("_", "%"))  # a superset: QBO knows only %
        return None if text is None else (f"{name} LIKE {text}", Pushdown.INEXACT)
    return None


def _dnf(spec: EntityTable, predicate: Predicate) -> tuple[Dnf, Pushdown] | None:
    if isinstance(predicate, Or):
        left, right = _dnf(spec, predicate.left), _dnf(spec, predicate.right)
        if left is None or right is None:
            return None
        return left[0] + right[0], min(left[1], right[1])
    if isinstance(predicate, And):
        left, right = _dnf(spec, predicate.left), _dnf(spec, predicate.right)
        if left is None or right is None:
            return None
        branches = [a + b for a, b in itertools.product(left[0], right[0])]
        return branches, min(left[1], right[1])
    leaf = _leaf(spec, predicate)
    return None if leaf is None else ([(leaf[0],)], leaf[1])


def compile_filter(spec: EntityTable, table: TableInfo,
                   node: exp.Expression) -> tuple[Dnf, Pushdown] | None:
    """The branches (each an AND of QBO conditions) for one conjunct, or None (local)."""
    predicate = lower(table, _explicit_not(node))
    if predicate is None:
        return None
    compiled = _dnf(spec, predicate)
    if compiled is None or len(compiled[0]) > MAX_BRANCHES:
        return None
    return compiled


def _explicit_not(node: exp.Expression) -> exp.Expression:
    """``x NOT LIKE p`` / ``x IS NOT NULL`` arrive as ``negate`` flags; spell the NOT out so
    the shared ``lower`` cannot mistake them for the positive form."""

    def spell(n: exp.Expression) -> exp.Expression:
        if isinstance(n, (exp.Like, exp.ILike, exp.Is)) and n.args.get("negate"):
            positive = n.copy()
            positive.set("negate", None)
            return exp.Not(this=positive)
        return n

    return node.transform(spell)


def combine_filters(dnfs: list[Dnf], max_queries: int) -> tuple[list[Branch], bool]:
    """The cross product of the conjuncts' branches: one query per element.

    When it would exceed ``max_queries``, the conjuncts with the most branches are left to
    DuckDB (a superset is still correct); the flag says whether any was left out.
    """
    kept = sorted(dnfs, key=len)
    dropped = False
    while kept and _product_size(kept) > max_queries:
        kept.pop()
        dropped = True
    branches = [tuple(itertools.chain.from_iterable(parts))
                for parts in itertools.product(*kept)] if kept else [()]
    return branches, dropped


def _product_size(dnfs: list[Dnf]) -> int:
    size = 1
    for d in dnfs:
        size *= len(d)
    return size


def can_sort(spec: EntityTable, key: SortKey) -> bool:
    """ORDERBY matches DuckDB only for numbers, dates and timestamps that every object
    carries (QBO does not document where missing values sort)."""
    field = spec.field(key.column)
    return bool(field and field.sortable and field.filter and not spec.lines
                and field.kind in (NUMBER, DATE, TIMESTAMP))


def build_query(entity: str, branch: Branch, *, order: tuple[str, bool] | None = None,
                start: int = 1, size: int = 1000) -> str:
    """``SELECT * FROM Entity [WHERE ...] [ORDERBY p DESC] STARTPOSITION n MAXRESULTS m``.

    Always ``SELECT *``: Intuit documents that projections are not supported.
    """
    text = f"SELECT * FROM {entity}"
    if branch:
        text += " WHERE " + " AND ".join(branch)
    if order is not None:
        text += f" ORDERBY {order[0]}{' DESC' if order[1] else ''}"
    return f"{text} STARTPOSITION {start} MAXRESULTS {size}"
