"""Push whole sub-plans to SQL sources: joins, aggregates and limits, not just filters.

When every table a scope reads lives in one SQL database (the legacy ERP), the scope is
transpiled by sqlglot to that database's dialect and sent as one query; DuckDB then
reads its result like any scan. Only constructs whose meaning is the same in DuckDB and
the source are allowed (no division, no string ordering or ranges, which depend on the
source's collation; on SQLite no LIKE and no date logic), and correlated scopes stay
local. Results are cast to the types DuckDB itself would produce, found by binding the
same sub-plan in DuckDB over empty tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.scope import Scope, traverse_scope

from adapters.contract import ScanRequest, TableInfo
from federation.binder import bind_schema
from federation.local import LocalDuckDB

DIALECT = "duckdb"

_ALLOWED = (
    exp.Select, exp.From, exp.Join, exp.Where, exp.Group, exp.Having, exp.Order, exp.Ordered,
    exp.Limit, exp.Offset, exp.Column, exp.Identifier, exp.Table, exp.TableAlias, exp.Alias,
    exp.Star, exp.Literal, exp.Null, exp.Boolean, exp.Paren, exp.And, exp.Or, exp.Not,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is, exp.In, exp.Between, exp.Like,
    exp.Add, exp.Sub, exp.Mul, exp.Neg, exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max,
    exp.Coalesce, exp.Case, exp.If, exp.Distinct, exp.Subquery, exp.Union, exp.With, exp.CTE,
    exp.DataType, exp.Cast, exp.Tuple,
)
_RANGES = (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.Min, exp.Max)


@dataclass
class SubPlan:
    source: str
    relation: str
    query: str  # in the source's dialect
    schema: pa.Schema  # what DuckDB expects back
    tables: list[str]
    replacement: exp.Expression  # the local SELECT * FROM <relation> standing in


def push_subplans(tree: exp.Expression, sources, local: LocalDuckDB,
                  first_index: int = 0) -> tuple[exp.Expression, list[SubPlan]]:
    """Replace maximal single-SQL-source scopes with scans of their pushed query.

    Returns the rewritten tree (the root itself may have been replaced) and the
    sub-plans, in the order their relations are numbered.
    """
    scopes = list(traverse_scope(tree))
    owner: dict[int, str | None] = {}
    for scope in scopes:  # children come before their parents
        owner[id(scope)] = _owner(scope, owner, sources)
    pushed: list[SubPlan] = []
    for scope in reversed(scopes):  # parents first: take the largest pushable scope
        source = owner.get(id(scope))
        if source is None or _inside_pushed(scope, pushed, owner) or not _worth_it(scope):
            continue
        final_order = None
        if scope.is_root and scope.expression.args.get("order"):
            final_order = _final_order(scope.expression)
            if final_order is None:
                continue  # an ORDER BY DuckDB could not re-apply on the result
        subplan = _push(scope, source, sources, local, first_index + len(pushed), final_order)
        pushed.append(subplan)
        owner[id(scope)] = f"pushed:{subplan.relation}"
        if scope.is_root:
            tree = subplan.replacement
    return tree, pushed


def _final_order(select: exp.Expression) -> list[exp.Expression] | None:
    """ORDER BY/LIMIT/OFFSET of the root, if they only name output columns.

    The pushed query then runs without them and DuckDB orders and limits its result,
    so the final order never depends on the source's collation.
    """
    outputs = {p.alias_or_name for p in select.expressions}
    order = select.args["order"]
    for ordered in order.expressions:
        key = ordered.this
        if not (isinstance(key, exp.Column) and not key.table and key.name in outputs):
            return None
    return [order, select.args.get("limit"), select.args.get("offset")]


def _owner(scope: Scope, owner: dict[int, str | None], sources) -> str | None:
    if scope.external_columns or not isinstance(scope.expression, (exp.Select, exp.Union)):
        return None
    found: set[str] = set()
    for node in scope.sources.values():
        if isinstance(node, Scope):
            child = owner.get(id(node))
            if child is None:
                return None
            found.add(child)
        elif isinstance(node, exp.Table) and node.db and isinstance(node.this, exp.Identifier):
            found.add(node.db.lower())
        else:
            return None
    for child in scope.subquery_scopes + scope.set_operation_scopes + scope.cte_scopes:
        child_owner = owner.get(id(child))
        if child_owner is None:
            return None
        found.add(child_owner)
    if len(found) != 1:
        return None
    source = found.pop()
    dialect = getattr(sources.adapter(source), "sql_dialect", None)
    expression = scope.expression
    if scope.is_root and expression.args.get("order"):
        expression = expression.copy()  # the final ORDER BY/LIMIT may stay with DuckDB
        for key in ("order", "limit", "offset"):
            expression.set(key, None)
    if dialect is None or not _portable(expression, dialect):
        return None
    return source


def _portable(node: exp.Expression, dialect: str) -> bool:
    typed = annotate_types(node.copy())
    for n in typed.walk():
        if not isinstance(n, _ALLOWED):
            return False
        if isinstance(n, exp.Like) and dialect == "sqlite":
            return False
        if isinstance(n, _RANGES + (exp.Ordered,)):
            operand = n.this
            kind = operand.type if operand is not None else None
            if kind is None or kind.is_type(exp.DataType.Type.UNKNOWN) or kind.is_type(
                    *exp.DataType.TEXT_TYPES):
                return False  # string order depends on the source's collation
            if dialect == "sqlite" and kind.is_type(*exp.DataType.TEMPORAL_TYPES):
                return False
        if isinstance(n, exp.Cast) and dialect == "sqlite":
            return False
    return True


def _worth_it(scope: Scope) -> bool:
    select = scope.expression
    if isinstance(select, exp.Union):
        return True
    return bool(select.args.get("joins") or select.args.get("group") or select.args.get("having")
                or select.args.get("distinct") or scope.subquery_scopes or scope.cte_scopes
                or any(isinstance(n, exp.AggFunc) for n in select.expressions for n in n.walk()))


def _inside_pushed(scope: Scope, pushed: list[SubPlan], owner: dict[int, str | None]) -> bool:
    parent = scope.parent
    while parent is not None:
        if str(owner.get(id(parent), "")).startswith("pushed:"):
            return True
        parent = parent.parent
    return False


def _push(scope: Scope, source: str, sources, local: LocalDuckDB, index: int,
          final_order: list[exp.Expression] | None = None) -> SubPlan:
    adapter = sources.adapter(source)
    tables: dict[str, TableInfo] = sources.tables(source)
    node = scope.expression
    remote = node.copy()
    if final_order is not None:
        for key in ("order", "limit", "offset"):
            remote.set(key, None)
    probe = remote.copy()
    relations: dict[str, pa.Schema] = {}
    names: dict[str, str] = {}
    used: list[str] = []
    for i, (r_table, p_table) in enumerate(zip(remote.find_all(exp.Table),
                                               probe.find_all(exp.Table), strict=True)):
        if not r_table.db:
            continue  # a CTE reference inside the pushed scope
        info = next(t for k, t in tables.items() if k.lower() == r_table.name.lower())
        used.append(info.name)
        alias = r_table.alias or r_table.name
        r_table.set("this", exp.to_identifier(info.name, quoted=True))
        r_table.set("db", exp.to_identifier(adapter.schema, quoted=True))
        r_table.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
        relation = f"__sub_{index}_{i}"
        relations[relation] = info.arrow_schema()
        names[relation] = f"{source}.{info.name}"
        p_table.set("this", exp.to_identifier(relation))
        p_table.set("db", None)
        p_table.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
    _canonical_columns(remote, tables)
    schema = bind_schema(local, probe.sql(DIALECT), relations, names)
    query = remote.sql(dialect=adapter.sql_dialect)
    relation = f"__scan_{index}"
    replacement = exp.select("*").from_(exp.to_table(relation))
    for clause in final_order or []:
        if clause is not None:
            replacement.set(clause.key, clause.copy())
    node.replace(replacement)
    return SubPlan(source=source, relation=relation, query=query, schema=schema, tables=used,
                   replacement=replacement)


def _canonical_columns(tree: exp.Expression, tables: dict[str, TableInfo]) -> None:
    """Spell columns as the database does (qualify lower-cased them)."""
    by_lower: dict[str, str] = {}
    for info in tables.values():
        for col in info.columns:
            by_lower.setdefault(col.name.lower(), col.name)
    for column in tree.find_all(exp.Column):
        real = by_lower.get(column.name.lower())
        if real is not None:
            column.set("this", exp.to_identifier(real, quoted=True))


def subplan_request(subplan: SubPlan) -> ScanRequest:
    return ScanRequest(table=f"query:{subplan.query}", columns=tuple(subplan.schema.names))
