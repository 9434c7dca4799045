"""From SQL text to a plan: which scans to send to which source, and the SQL DuckDB runs.

The planner is a pipeline of small steps over the sqlglot tree:

1. parse and refuse anything that is not a read-only query (``sqlparse``);
2. expand views (``views/*.sql``) into subqueries, bind ``<source>.<object>``
   references to discovered tables, and bind the query as written with DuckDB over empty
   tables (early errors, output names);
3. qualify columns, then let sqlglot push predicates into subqueries and CTEs and
   prune projections;
4. for every table reference, collect the columns it must return and the conjuncts
   that filter it alone (respecting outer joins), and ask the adapter how faithfully
   it can apply each one; top-N is pushed only when every filter is exact;
5. rewrite each table reference to the Arrow relation that will hold its rows.

Every predicate stays in the local SQL, so pushdown only ever shrinks what is
fetched; DuckDB decides the answer.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.pushdown_predicates import pushdown_predicates
from sqlglot.optimizer.pushdown_projections import pushdown_projections
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import MappingSchema

from adapters.contract import Adapter, Column, Pushdown, ScanRequest, SortKey, TableInfo
from federation.binder import bind_schema, schema_as_seen
from federation.errors import QueryError
from federation.local import LocalDuckDB
from federation.policy import Guard, TableGuard
from federation.pushthrough import MAX_PASSES, push_through
from federation.sqlparse import (
    is_source_table,
    parse_query,
    refuse_non_queries,
    source_tables,
)
from federation.subplans import SubPlan, push_subplans, subplan_request
from federation.views import Views, expand_views

DIALECT = "duckdb"


class Sources(Protocol):
    """What the planner needs to know about the catalog."""

    def source_names(self) -> list[str]: ...

    def tables(self, source: str) -> dict[str, TableInfo]: ...

    def adapter(self, source: str) -> Adapter: ...


@dataclass
class PlannedScan:
    """One fetch: a table reference's columns, filters and top-N, and where it lands."""

    relation: str
    source: str
    table: TableInfo
    request: ScanRequest
    pushed: list[tuple[str, Pushdown]] = field(default_factory=list)
    local: list[str] = field(default_factory=list)
    query: str | None = None  # a whole sub-plan in the source's SQL dialect
    # the select reading this table filters on something always false (a UNION branch of
    # another system under ``source_system = '...'``): nothing is fetched
    pruned: bool = False

    @property
    def name(self) -> str:
        return f"{self.source}.{self.table.name}"


@dataclass
class Plan:
    sql: str
    local_sql: str
    scans: list[PlannedScan]
    pushdown: bool
    output_names: list[str] = field(default_factory=list)  # as DuckDB names the query as written


def describe_query(sql: str, sources: Sources, local: LocalDuckDB, *, dialect: str = DIALECT,
                   views: Views | None = None, guard: Guard | None = None) -> pa.Schema:
    """The result's columns without planning the fetch (no optimizer, no source call
    beyond schema discovery): what the wire server's Describe and catalog need."""
    tree, bound = _bound_tree(sql, sources, dialect, views, guard)
    return bind_schema(local, *probe_query(tree, bound, guard, local))


def _bound_tree(sql: str, sources: Sources, dialect: str, views: Views | None,
                guard: Guard | None = None
                ) -> tuple[exp.Expression, dict[tuple[str, str], TableInfo]]:
    """The query parsed, checked, its views expanded and its tables bound; with the
    user's guard, grants checked and every view behind its filters and masks (source
    tables are guarded where their scans are planned: ``collect_scans``)."""
    tree = parse_query(sql, dialect)
    refuse_non_queries(tree)
    if guard is not None:
        guard.check_grants(tree, lambda name: views is not None and name.lower() in views)
    if views is not None:
        tree = expand_views(tree, views, guard=guard)
    return tree, bind_tables(tree, sources)


def plan_query(sql: str, sources: Sources, local: LocalDuckDB, *, pushdown: bool = True,
               dialect: str = DIALECT, views: Views | None = None,
               guard: Guard | None = None) -> Plan:
    tree, bound = _bound_tree(sql, sources, dialect, views, guard)
    output_names = bind_schema(local, *probe_query(tree.copy(), bound, guard, local)).names
    schema = mapping_schema(bound)
    try:
        tree = qualify(tree, schema=schema, dialect=DIALECT, expand_stars=True,
                       validate_qualify_columns=True)
        if pushdown:
            tree = pushdown_projections(tree)
            tree = pushdown_predicates(tree, dialect=DIALECT)
            for _ in range(MAX_PASSES):  # sqlglot stops at GROUP BY and UNION
                tree, changed = push_through(tree)
                if not changed:
                    break
                tree = pushdown_predicates(tree, dialect=DIALECT)
    except OptimizeError as exc:
        raise _column_error(str(exc), bound) from exc
    scans: list[PlannedScan] = []
    if pushdown:
        tree, subplans = push_subplans(tree, sources, local, keep_local=lambda table: (
            guard is not None and _table_guard(guard, table, sources) is not None))
        scans = [_subplan_scan(sp) for sp in subplans]
    scans += collect_scans(tree, sources, pushdown=pushdown, first_index=len(scans),
                           guard=guard)
    return Plan(sql=sql, local_sql=tree.sql(DIALECT), scans=scans, pushdown=pushdown,
                output_names=output_names)


# -- binding ------------------------------------------------------------------------------


def bind_tables(tree: exp.Expression, sources: Sources) -> dict[tuple[str, str], TableInfo]:
    """Check every ``source.object`` exists; return them keyed by lowercase names."""
    bound: dict[tuple[str, str], TableInfo] = {}
    names = sources.source_names()
    for table in source_tables(tree):
        if table.catalog:
            raise QueryError(f"table {table.sql(DIALECT)} has too many name parts",
                             hint="name source tables as <source>.<object>")
        if not table.db:
            raise QueryError(
                f"unknown table {table.name!r}",
                hint=f"name source tables as <source>.<object>, e.g. {names[0]}.<object>"
                if names else "the catalog defines no sources",
            )
        source = table.db.lower()
        if source not in names:
            raise QueryError(f"unknown source {table.db!r}", hint=_did_you_mean(source, names))
        tables = sources.tables(source)
        info = _lookup(tables, table.name)
        if info is None:
            raise QueryError(f"unknown table {table.db}.{table.name}", source=source,
                             hint=_did_you_mean(table.name, list(tables)))
        bound[(source, table.name.lower())] = info
    return bound


def _lookup(tables: dict[str, TableInfo], name: str) -> TableInfo | None:
    wanted = name.lower()
    for key, info in tables.items():
        if key.lower() == wanted:
            return info
    return None


def _did_you_mean(name: str, options: list[str]) -> str:
    by_lower = {o.lower(): o for o in options}
    match = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    if match:
        return f"did you mean {by_lower[match[0]]}?"
    if len(options) <= 12:
        return "known: " + ", ".join(sorted(options))
    return "run `concord sources` to list them"


def mapping_schema(bound: dict[tuple[str, str], TableInfo]) -> MappingSchema:
    nested: dict[str, dict[str, dict[str, str]]] = {}
    for (source, _), info in bound.items():
        nested.setdefault(source, {})[info.name] = {
            c.name: duckdb_type(c.type) for c in info.columns
        }
    return MappingSchema(nested, dialect=DIALECT)


def duckdb_type(arrow: pa.DataType) -> str:
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
        return "VARCHAR"
    if pa.types.is_floating(arrow):
        return "DOUBLE"
    if pa.types.is_integer(arrow):
        return "BIGINT"
    if pa.types.is_boolean(arrow):
        return "BOOLEAN"
    if pa.types.is_date(arrow):
        return "DATE"
    if pa.types.is_timestamp(arrow):
        return "TIMESTAMPTZ" if arrow.tz else "TIMESTAMP"
    if pa.types.is_decimal(arrow):
        return f"DECIMAL({arrow.precision}, {arrow.scale})"
    return "VARCHAR"


def probe_query(
    tree: exp.Expression, bound: dict[tuple[str, str], TableInfo], guard: Guard | None,
    local: LocalDuckDB,
) -> tuple[str, dict[str, pa.Schema], dict[str, str]]:
    """The query as written, over empty relations: DuckDB binds it for names, types and
    errors. Behind a guard, masked columns take their mask's type."""
    relations: dict[str, pa.Schema] = {}
    names: dict[str, str] = {}
    for i, table in enumerate(source_tables(tree)):
        source = table.db.lower()
        info = bound[(source, table.name.lower())]
        relation = f"__probe_{i}"
        names[relation] = f"{source}.{info.name}"
        relations[relation] = schema_as_seen(local, guard, names[relation],
                                             info.arrow_schema())
        _retarget(table, relation, default_alias=table.name)
    return tree.sql(DIALECT), relations, names


def _retarget(table: exp.Table, relation: str, *, default_alias: str) -> None:
    if not table.alias:
        table.set("alias", exp.TableAlias(this=exp.to_identifier(default_alias)))
    table.set("this", exp.to_identifier(relation))
    table.set("db", None)
    table.set("catalog", None)


def _column_error(message: str, bound: dict[tuple[str, str], TableInfo]) -> QueryError:
    columns = sorted({c.name for info in bound.values() for c in info.columns})
    word = message.split("'")[1].strip('"') if "'" in message else ""
    hint = _did_you_mean(word, columns) if word else "check the column names"
    return QueryError(message, hint=hint)


# -- scans ----------------------------------------------------------------------------


def _subplan_scan(subplan: SubPlan) -> PlannedScan:
    columns = tuple(Column(f.name, f.type) for f in subplan.schema)
    table = TableInfo(f"query over {', '.join(subplan.tables)}", columns)
    return PlannedScan(relation=subplan.relation, source=subplan.source, table=table,
                       request=subplan_request(subplan), query=subplan.query)


def collect_scans(tree: exp.Expression, sources: Sources, *, pushdown: bool,
                  first_index: int = 0, guard: Guard | None = None) -> list[PlannedScan]:
    """One scan per source table reference; behind ``guard``, each guarded table is read
    through its masks and row filters (``TableGuard.wrap``), and the filters are pushed
    with the query's own predicates on unmasked columns."""
    scans: list[PlannedScan] = []
    scopes = list(traverse_scope(tree))
    needed = _columns_by_table(scopes)
    for scope in scopes:
        for alias, node in list(scope.sources.items()):
            if not is_source_table(node):
                continue
            source = node.db.lower()
            info = _lookup(sources.tables(source), node.name)
            assert info is not None  # bound earlier
            adapter = sources.adapter(source)
            relation = f"__scan_{first_index + len(scans)}"
            shield = _table_guard(guard, node, sources) if guard is not None else None
            read = needed.get(id(node), set())
            columns = _request_columns(
                info, read | (shield.condition_columns() if shield else set()),
                pushdown=pushdown)
            scan = PlannedScan(relation=relation, source=source, table=info,
                               request=ScanRequest(table=info.name, columns=columns))
            if pushdown:
                _push_filters(scan, scope, alias, adapter, shield)
                _push_top_n(scan, scope, alias, adapter, shield)
                scan.pruned = _always_false(scope.expression)
            _retarget(node, relation, default_alias=alias)
            if shield is not None:
                node.replace(shield.wrap(node.copy(), [
                    c.name.lower() for c in info.columns if c.name.lower() in read]
                    or [columns[0].lower()]))  # COUNT(*): any one column carries the rows
            scans.append(scan)
    return scans


def _table_guard(guard: Guard, table: exp.Table, sources: Sources) -> TableGuard | None:
    source = table.db.lower()
    info = _lookup(sources.tables(source), table.name)
    assert info is not None  # bound earlier
    return guard.table_guard(f"{source}.{info.name}", [c.name for c in info.columns],
                             table.alias_or_name)


def _columns_by_table(scopes: list[Scope]) -> dict[int, set[str]]:
    """Column names each table node must supply, including correlated references."""
    needed: dict[int, set[str]] = {}
    for scope in scopes:
        for column in scope.columns:
            owner = _resolve(scope, column.table)
            if isinstance(owner, exp.Table):
                needed.setdefault(id(owner), set()).add(column.name.lower())
    return needed


def _resolve(scope: Scope | None, alias: str) -> exp.Expression | Scope | None:
    while scope is not None:
        if alias in scope.sources:
            return scope.sources[alias]
        scope = scope.parent
    return None


def _always_false(select: exp.Expression) -> bool:
    where = select.args.get("where") if isinstance(select, exp.Select) else None
    return where is not None and any(isinstance(c, exp.Boolean) and not c.this
                                     for c in _conjuncts(where.this))


def _request_columns(info: TableInfo, names: set[str] | None, *,
                     pushdown: bool) -> tuple[str, ...]:
    if not pushdown:
        return tuple(c.name for c in info.columns)
    wanted = names or set()
    columns = tuple(c.name for c in info.columns if c.name.lower() in wanted)
    return columns or (info.columns[0].name,)  # e.g. COUNT(*): one cheap column for the rows


def _conjuncts(node: exp.Expression | None) -> list[exp.Expression]:
    if node is None:
        return []
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return [c for part in node.flatten() for c in _conjuncts(part)]
    return [node]


def _nullable_aliases(select: exp.Select) -> set[str] | None:
    """Aliases on the null-supplying side of an outer join; None if joins are exotic."""
    from_ = select.args.get("from_") or select.args.get("from")
    seen = [from_.this.alias_or_name] if from_ is not None else []
    nullable: set[str] = set()
    for join in select.args.get("joins") or []:
        side = (join.side or "").upper()
        kind = (join.kind or "").upper()
        if join.args.get("method") or kind not in ("", "INNER", "CROSS", "OUTER", "SEMI",
                                                    "ANTI"):
            return None
        name = join.this.alias_or_name
        if side == "LEFT":
            nullable.add(name)
        elif side == "RIGHT":
            nullable.update(seen)
        elif side == "FULL":
            nullable.update(seen)
            nullable.add(name)
        seen.append(name)
    return nullable


def _candidate_filters(select: exp.Select, alias: str) -> list[exp.Expression]:
    """Conjuncts that may filter ``alias`` before the join without changing the answer."""
    nullable = _nullable_aliases(select)
    if nullable is None:
        return []
    candidates = []
    if alias not in nullable:
        where = select.args.get("where")
        candidates += _conjuncts(where.this if where else None)
    for join in select.args.get("joins") or []:
        side = (join.side or "").upper()
        kind = (join.kind or "").upper()
        on = _conjuncts(join.args.get("on"))
        inner = not side and kind in ("", "INNER", "CROSS") and alias not in nullable
        filters_right_side = join.this.alias_or_name == alias and (
            side == "LEFT" or kind in ("SEMI", "ANTI"))
        if inner or filters_right_side:
            candidates += on
    return [c for c in candidates if _only_references(c, alias)]


def _only_references(node: exp.Expression, alias: str) -> bool:
    columns = list(node.find_all(exp.Column))
    if not columns or any(c.table != alias for c in columns):
        return False
    return not any(
        isinstance(n, (exp.Subquery, exp.Select, exp.AggFunc, exp.Window, exp.Rand,
                       exp.Placeholder))
        for n in node.walk()
    )


def _to_source_terms(node: exp.Expression, info: TableInfo) -> exp.Expression:
    """Copy a conjunct with columns unqualified and spelled as the source spells them."""

    def rename(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Column):
            col = info.column(n.name)
            return exp.column(col.name if col else n.name)
        return n

    return node.copy().transform(rename)


def _push_filters(scan: PlannedScan, scope: Scope, alias: str, adapter: Adapter,
                  shield: TableGuard | None = None) -> None:
    """Push the conjuncts that filter this table alone: the role's row filters and the
    query's own, except those on masked columns (they compare masked values, which the
    source does not hold: pushing them would probe the real ones)."""
    select = scope.expression
    candidates = list(shield.conditions) if shield is not None else []
    if isinstance(select, exp.Select):
        candidates += [c for c in _candidate_filters(select, alias)
                       if shield is None or not shield.reads_masked(c)]
    pushed: dict[str, exp.Expression] = {}
    for conjunct in candidates:
        term = _to_source_terms(conjunct, scan.table)
        text = term.sql(DIALECT)
        if text in pushed:
            continue
        fidelity = adapter.classify(scan.table, term)
        if fidelity is Pushdown.UNSUPPORTED:
            scan.local.append(text)
            continue
        pushed[text] = term
        scan.pushed.append((text, fidelity))
    scan.request = ScanRequest(table=scan.request.table, columns=scan.request.columns,
                               filters=tuple(pushed.values()))


def _push_top_n(scan: PlannedScan, scope: Scope, alias: str, adapter: Adapter,
                shield: TableGuard | None = None) -> None:
    """Push LIMIT (with its ORDER BY) when the source alone decides which rows qualify."""
    select = scope.expression
    if not isinstance(select, exp.Select) or len(scope.sources) != 1:
        return
    limit = select.args.get("limit")
    if limit is None or select.args.get("joins") or select.args.get("group"):
        return
    if select.args.get("distinct") or select.args.get("having") or select.args.get("qualify"):
        return
    if any(isinstance(n, (exp.AggFunc, exp.Window)) for n in select.expressions
           for n in n.walk()):
        return
    exact = {sql for sql, fidelity in scan.pushed if fidelity is Pushdown.EXACT}
    where = select.args.get("where")
    if shield is not None and any(_to_source_terms(c, scan.table).sql(DIALECT) not in exact
                                  for c in shield.conditions):
        return  # a row filter the source cannot apply exactly comes after its LIMIT
    for conjunct in _conjuncts(where.this if where else None):
        if isinstance(conjunct, exp.Boolean) and conjunct.this:
            continue
        if _to_source_terms(conjunct, scan.table).sql(DIALECT) not in exact:
            return  # something filters after the source's LIMIT would apply
    count = _int_literal(limit.expression)
    offset = select.args.get("offset")
    skip = _int_literal(offset.expression) if offset is not None else 0
    if count is None or skip is None:
        return
    keys = _sort_keys(select, alias, scan.table, adapter)
    if keys is None or (shield is not None and any(k.column.lower() in shield.masks
                                                   for k in keys)):
        return  # DuckDB sorts masked values; the source would sort the real ones
    scan.request = ScanRequest(table=scan.request.table, columns=scan.request.columns,
                               filters=scan.request.filters, limit=count + skip, order_by=keys)


def _int_literal(node: exp.Expression | None) -> int | None:
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
        return int(node.this)
    return None


def _sort_keys(select: exp.Select, alias: str, info: TableInfo,
               adapter: Adapter) -> tuple[SortKey, ...] | None:
    order = select.args.get("order")
    if order is None:
        return ()
    projections = {p.alias_or_name: p for p in select.expressions}
    keys = []
    for ordered in order.expressions:
        target = ordered.this
        if isinstance(target, exp.Column) and not target.table and target.name in projections:
            target = projections[target.name]
            target = target.this if isinstance(target, exp.Alias) else target
        if not (isinstance(target, exp.Column) and target.table == alias):
            return None
        col = info.column(target.name)
        if col is None:
            return None
        descending = bool(ordered.args.get("desc"))
        nulls_first = ordered.args.get("nulls_first")
        if nulls_first is None:
            nulls_first = False  # DuckDB sorts NULLs last by default
        key = SortKey(column=col.name, descending=descending, nulls_first=bool(nulls_first))
        if not adapter.can_sort(info, key):
            return None
        keys.append(key)
    return tuple(keys)

