"""Push whole sub-plans to SQL sources: joins, aggregates and limits, not just filters.

When every table a scope reads lives in one SQL database (the legacy ERP), the scope is
transpiled by sqlglot to that database's dialect and sent as one query; DuckDB then
reads its result like any scan. Only constructs whose meaning is the same in DuckDB and
the source are allowed (no division, no string ordering or ranges, which depend on the
source's collation; on SQLite no LIKE and no date logic), and correlated scopes stay
local. A LIMIT inside a sub-plan goes only when its ORDER BY leaves no ties (below), so
the source keeps the rows DuckDB would. Results are cast to the types DuckDB itself would
produce, found by binding the same sub-plan in DuckDB over empty tables.

When the sub-plan is the whole query, DuckDB re-applies its final ``ORDER BY``/``LIMIT`` to
the result. Sort keys the output lacks (``ORDER BY o.amount``) come back as extra columns
the final SELECT leaves out. The source also gets the ``ORDER BY`` and a ``LIMIT`` (so only
the top rows travel) when that picks the same rows: the keys are of exact types ordered
alike in both engines (integers, decimals, booleans, dates and timestamps; on SQLite only
integers and booleans, as it sums in floating point) and fix the order completely (every
``GROUP BY`` key or, for ``DISTINCT``, every column is a sort key), so ties cannot differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import MappingSchema

from adapters.contract import ScanRequest, TableInfo
from federation.binder import bind_schema
from federation.local import LocalDuckDB
from federation.sqlparse import is_source_table

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


@dataclass
class _FinalOrder:
    """The root's ORDER BY/LIMIT/OFFSET, as DuckDB re-applies them to the pushed result."""

    order: exp.Order  # over the result's columns (hidden sort columns included)
    limit: exp.Expression | None
    offset: exp.Expression | None
    hidden: list[exp.Alias] = field(default_factory=list)  # sort keys the output lacks

    def clauses(self) -> list[exp.Expression | None]:
        return [self.order, self.limit, self.offset]


def push_subplans(tree: exp.Expression, sources, local: LocalDuckDB,
                  first_index: int = 0,
                  keep_local: Callable[[exp.Table], bool] = lambda table: False,
                  ) -> tuple[exp.Expression, list[SubPlan]]:
    """Replace maximal single-SQL-source scopes with scans of their pushed query. Scopes
    reading a table for which ``keep_local`` holds (one the user's role masks or
    filters) stay local, so the table is read through its guard.

    Returns the rewritten tree (the root itself may have been replaced) and the
    sub-plans, in the order their relations are numbered.
    """
    scopes = list(traverse_scope(tree))
    owner: dict[int, str | None] = {}
    for scope in scopes:  # children come before their parents
        owner[id(scope)] = _owner(scope, owner, sources, keep_local)
    pushed: list[SubPlan] = []
    for scope in reversed(scopes):  # parents first: take the largest pushable scope
        source = owner.get(id(scope))
        if source is None or _inside_pushed(scope, pushed, owner) or not _worth_it(scope):
            continue
        final_order = None
        if scope.is_root and scope.expression.args.get("order"):
            final_order = _final_order(scope.expression)
            if final_order is None or not _portable(
                    _unordered(scope.expression, final_order),
                    sources.adapter(source).sql_dialect, _typing(sources, source)):
                continue  # an ORDER BY DuckDB could not re-apply on the result
        subplan = _push(scope, source, sources, local, first_index + len(pushed), final_order)
        pushed.append(subplan)
        owner[id(scope)] = f"pushed:{subplan.relation}"
        if scope.is_root:
            tree = subplan.replacement
    return tree, pushed


def _final_order(select: exp.Expression) -> _FinalOrder | None:
    """ORDER BY/LIMIT/OFFSET of the root, for DuckDB to apply to the pushed result.

    A key that is not an output column (``o.total_amount``, ``n + 1``) becomes a hidden
    column of the pushed query, so DuckDB can still sort; the final order thus never
    depends on the source's collation. None when that is impossible (a UNION, DISTINCT).
    """
    outputs = set(select.named_selects)
    projections = {p.alias_or_name: p.unalias() for p in select.expressions}
    by_sql: dict[str, str] = {}
    for name, projection in projections.items():
        by_sql.setdefault(projection.sql(DIALECT), name)
    order = select.args["order"].copy()
    hidden: list[exp.Alias] = []
    for ordered in order.expressions:
        key = ordered.this
        if isinstance(key, exp.Column) and not key.table and key.name in outputs:
            continue
        if key.sql(DIALECT) in by_sql:  # o.order_no, output as order_no
            ordered.set("this", exp.column(by_sql[key.sql(DIALECT)], quoted=True))
            continue
        if not isinstance(select, exp.Select) or select.args.get("distinct") or \
                isinstance(key, exp.Literal):
            return None  # DISTINCT and UNION outputs cannot carry an extra column
        if any(isinstance(c, exp.Column) and not c.table and c.name not in projections
               for c in key.find_all(exp.Column)):
            return None  # a name the qualified tree could not place
        name = next(f"__order_{i}" for i in range(len(outputs) + 1)
                    if f"__order_{i}" not in outputs)
        outputs.add(name)
        hidden.append(exp.alias_(_resolve_aliases(key, projections), name, quoted=True))
        ordered.set("this", exp.column(name, quoted=True))
    return _FinalOrder(order, select.args.get("limit"), select.args.get("offset"), hidden)


def _unordered(select: exp.Expression, final: _FinalOrder) -> exp.Expression:
    """The root as the source runs it: without ORDER BY/LIMIT/OFFSET, with hidden keys."""
    remote = select.copy()
    for key in ("order", "limit", "offset"):
        remote.set(key, None)
    for hidden in final.hidden:
        remote.append("expressions", hidden.copy())
    return remote


def _resolve_aliases(key: exp.Expression,
                     projections: dict[str, exp.Expression]) -> exp.Expression:
    """``n + 1`` as ``COUNT(*) + 1``: DuckDB reads output names inside ORDER BY
    expressions, PostgreSQL and SQLite do not."""

    def resolve(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in projections:
            return projections[node.name].copy()
        return node

    return key.copy().transform(resolve)


def _source_top(select: exp.Expression, final: _FinalOrder, schema: pa.Schema,
                dialect: str) -> tuple[exp.Order, int] | None:
    """ORDER BY (by position) and LIMIT for the source, when it picks exactly the rows
    DuckDB would: exact key types ordered alike, and keys that fix the order completely."""
    limit, offset = final.limit, final.offset
    if not isinstance(select, exp.Select) or not isinstance(limit, exp.Limit):
        return None
    count = _int_literal(limit.expression)
    skip = 0 if offset is None else _int_literal(offset.expression)
    if count is None or skip is None:
        return None
    columns = [p.alias_or_name for p in select.expressions] + [h.alias for h in final.hidden]
    if len(set(columns)) != len(columns) or len(columns) != len(schema):
        return None  # positions would be ambiguous
    resolved = {p.alias_or_name: p.unalias() for p in select.expressions}
    resolved.update({h.alias: h.this for h in final.hidden})
    keys: list[exp.Ordered] = []
    for ordered in final.order.expressions:
        position = columns.index(ordered.this.name)
        if not _exact_order(schema.field(position).type, dialect):
            return None
        keys.append(exp.Ordered(this=exp.Literal.number(position + 1),
                                desc=ordered.args.get("desc"),
                                nulls_first=ordered.args.get("nulls_first")))
    if not _total_order(select, [resolved[o.this.name] for o in final.order.expressions]):
        return None  # rows may tie on every key: the source could keep other ones
    return exp.Order(expressions=keys), count + skip


def _total_order(select: exp.Select, keys: list[exp.Expression]) -> bool:
    """Whether sorting by ``keys`` leaves no ties, so a LIMIT keeps the same rows wherever
    it runs: every GROUP BY key (with DISTINCT, every column) is a sort key, or the query
    is an aggregate with one row."""
    sorted_by = {k.sql(DIALECT) for k in keys}
    group = select.args.get("group")
    if group is not None:
        if any(group.args.get(k) for k in ("grouping_sets", "cube", "rollup", "totals")):
            return False
        needed = [g.sql(DIALECT) for g in group.expressions]
    elif select.args.get("distinct"):
        if select.args["distinct"].args.get("on"):
            return False
        needed = [p.unalias().sql(DIALECT) for p in select.expressions]
    elif any(isinstance(n, exp.AggFunc) and n.find_ancestor(exp.Select) is select
             for p in select.expressions for n in p.walk()):
        needed = []  # one row
    else:
        return False  # plain rows may tie on every key
    return set(needed) <= sorted_by


def _sort_keys(select: exp.Select) -> list[exp.Expression]:
    """The ORDER BY keys with output names read as the expressions they name."""
    projections = {p.alias_or_name: p.unalias() for p in select.expressions}
    order = select.args.get("order")
    keys = []
    for ordered in order.expressions if order is not None else []:
        key = ordered.this
        if isinstance(key, exp.Column) and not key.table and key.name in projections:
            key = projections[key.name]
        keys.append(key)
    return keys


def _exact_order(kind: pa.DataType, dialect: str) -> bool:
    """Types whose values and order are the same in DuckDB and the source (no collation,
    no floating point); SQLite stores decimals as REAL and dates as text."""
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return True
    if dialect == "sqlite":
        return False
    return pa.types.is_decimal(kind) or pa.types.is_date(kind) or pa.types.is_timestamp(kind)


def _int_literal(node: exp.Expression | None) -> int | None:
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
        return int(node.this)
    return None


def _owner(scope: Scope, owner: dict[int, str | None], sources,
           keep_local: Callable[[exp.Table], bool]) -> str | None:
    if scope.external_columns or not isinstance(scope.expression, (exp.Select, exp.Union)):
        return None
    found: set[str] = set()
    for node in scope.sources.values():
        if isinstance(node, Scope):
            child = owner.get(id(node))
            if child is None:
                return None
            found.add(child)
        elif is_source_table(node) and not keep_local(node):
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
    if dialect is None or not _portable(expression, dialect, _typing(sources, source)):
        return None
    limited = expression.args.get("limit") or expression.args.get("offset")
    if limited and not (isinstance(expression, exp.Select)
                        and _total_order(expression, _sort_keys(expression))):
        return None  # the source could keep other tied rows than DuckDB
    return source


def _typing(sources, source: str) -> MappingSchema:
    """The source's column types as DuckDB names them, so ``_portable`` can tell numbers
    and dates (ordered alike everywhere) from strings (ordered by collation)."""
    from federation.planner import duckdb_type  # the planner imports this module

    nested = {source: {info.name: {c.name: duckdb_type(c.type) for c in info.columns}
                       for info in sources.tables(source).values()}}
    return MappingSchema(nested, dialect=DIALECT)


def _portable(node: exp.Expression, dialect: str, schema: MappingSchema | None = None) -> bool:
    typed = annotate_types(node.copy(), schema=schema)
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
            if dialect == "sqlite" and (kind.is_type(*exp.DataType.TEMPORAL_TYPES) or
                                        kind.is_type(*exp.DataType.REAL_TYPES)):
                return False  # dates are text there, decimals REAL
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
          final_order: _FinalOrder | None = None) -> SubPlan:
    adapter = sources.adapter(source)
    tables: dict[str, TableInfo] = sources.tables(source)
    node = scope.expression
    remote = node.copy() if final_order is None else _unordered(node, final_order)
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
    if final_order is not None:
        top = _source_top(node, final_order, schema, adapter.sql_dialect)
        if top is not None:
            remote.set("order", top[0])
            remote.set("limit", exp.Limit(expression=exp.Literal.number(top[1])))
    query = remote.sql(dialect=adapter.sql_dialect)
    relation = f"__scan_{index}"
    star = exp.Star()
    if final_order is not None and final_order.hidden:  # the sort keys the output lacks
        star.set("except_", [exp.column(h.alias, quoted=True) for h in final_order.hidden])
    replacement = exp.select(star).from_(exp.to_table(relation))
    for clause in final_order.clauses() if final_order is not None else []:
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
