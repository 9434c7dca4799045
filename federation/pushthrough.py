"""Carry filters where sqlglot's pushdown stops: through GROUP BY keys and set operations.

A view that aggregates (``GROUP BY product_code``) or unions several systems hides its
sources from a filter on its output: sqlglot's pushdown never enters a grouped select or a
UNION. Both are safe to enter for the right conjuncts:

- filtering rows before grouping on a plain grouping key gives exactly the same groups
  (not with ROLLUP, CUBE or GROUPING SETS, whose super-aggregate rows would change);
- a filter applied to each branch of a UNION [ALL] before the union keeps exactly the
  rows it keeps after (the branch's column is found by position).

Each such conjunct is copied into the inner select's ``WHERE``, rewritten over the
expression behind the output column; the outer conjunct stays, so DuckDB still decides.
A select whose ``WHERE`` is always false (a UNION branch of another system) passes
``FALSE`` to the sources only it reads, so their scans are never sent.
Only sources in ``FROM`` or inner joins qualify (a filter on an outer join's nullable
side would change which rows are NULL-extended) and only subqueries referenced once.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.optimizer.simplify import simplify

MAX_PASSES = 8  # each pass moves filters one level down


def push_through(tree: exp.Expression) -> tuple[exp.Expression, bool]:
    """Copy outer conjuncts into grouped and set-operation sources; report a change."""
    scopes = traverse_scope(tree)
    if not scopes:
        return tree, False
    ref_count = scopes[-1].ref_count()
    changed = False
    for scope in scopes:
        where = scope.expression.args.get("where")
        if not isinstance(scope.expression, exp.Select) or where is None:
            continue
        conjuncts = _flatten(where.this)
        if any(_is_false(c) for c in conjuncts):
            changed |= _empty_sources(scope, ref_count)
            continue
        for name, (node, source) in scope.selected_sources.items():
            if not _enterable(node, source, ref_count):
                continue
            for select, outputs in _inner_selects(source.expression):
                for conjunct in conjuncts:
                    inner = _rewrite(conjunct, name, outputs)
                    if inner is not None and inner.sql() not in _conjuncts_of(select):
                        select.where(inner, copy=False)
                        changed = True
    return tree, changed


def _is_false(condition: exp.Expression) -> bool:
    return isinstance(condition, exp.Boolean) and not condition.this


def _empty_sources(scope: Scope, ref_count: dict[int, int]) -> bool:
    """A select whose WHERE is always false reads nothing from its sources: mark every
    select of each source only it uses (and of its subqueries) always false too, so the
    planner sends none of their scans."""
    changed = False
    inner = [source for _, source in scope.selected_sources.values()
             if isinstance(source, Scope)] + list(scope.subquery_scopes)
    for source in inner:
        if ref_count.get(id(source), 1) > 1:
            continue
        for select in _every_branch(source.expression):  # nested scopes: on later passes
            where = select.args.get("where")
            if where is None or not any(_is_false(c) for c in _flatten(where.this)):
                select.where(exp.false(), copy=False)
                changed = True
    return changed


def _every_branch(expression: exp.Expression) -> Iterator[exp.Select]:
    """Every select of a set operation, EXCEPT and INTERSECT sides included."""
    if isinstance(expression, exp.SetOperation):
        yield from _every_branch(expression.left)
        yield from _every_branch(expression.right)
    elif isinstance(expression, exp.Select):
        yield expression


def _enterable(node: exp.Expression, source: object, ref_count: dict[int, int]) -> bool:
    if not isinstance(source, Scope) or ref_count.get(id(source), 1) > 1:
        return False
    join = node.find_ancestor(exp.Join)
    return join is None or not join.side


def _inner_selects(expression: exp.Expression
                   ) -> Iterator[tuple[exp.Select, dict[str, exp.Expression]]]:
    """Selects a filter may enter, each with output name -> filterable expression."""
    if isinstance(expression, exp.SetOperation):
        names = [s.alias_or_name for s in _first_select(expression).selects]
        for branch in _branches(expression):
            if not _plain(branch) or len(branch.selects) != len(names):
                continue
            outputs = {name: _expression(p)
                       for name, p in zip(names, branch.selects, strict=True)}
            yield branch, _keys_only(branch, outputs)
    elif isinstance(expression, exp.Select) and expression.args.get("group") \
            and _plain(expression):
        outputs = {p.alias_or_name: _expression(p) for p in expression.selects}
        yield expression, _keys_only(expression, outputs)


def _expression(projection: exp.Expression) -> exp.Expression:
    return projection.this if isinstance(projection, exp.Alias) else projection


def _plain(select: exp.Expression) -> bool:
    """A select a filter may enter: nothing in it depends on which other rows exist."""
    if not isinstance(select, exp.Select):
        return False
    if any(p.find(exp.Window, exp.Explode, exp.Unnest) for p in select.selects):
        return False  # a window (or a row generator) sees the rows a pre-filter removes
    group = select.args.get("group")
    return not (select.args.get("limit") or select.args.get("offset")
                or select.args.get("qualify") or select.args.get("distinct") and group
                or group is not None and (group.args.get("rollup") or group.args.get("cube")
                                          or group.args.get("grouping_sets")))


def _keys_only(select: exp.Select,
               outputs: dict[str, exp.Expression]) -> dict[str, exp.Expression]:
    """In a grouped select only grouping keys, and constants (the same for every group),
    may be filtered before grouping."""
    group = select.args.get("group")
    if group is None:
        return {n: e for n, e in outputs.items() if not e.find(exp.AggFunc, exp.Window)}
    keys = {e.sql() for e in group.expressions}
    return {n: e for n, e in outputs.items()
            if (e.sql() in keys or not e.find(exp.Column))
            and not e.find(exp.AggFunc, exp.Window)}


def _first_select(expression: exp.Expression) -> exp.Expression:
    while isinstance(expression, exp.SetOperation):
        expression = expression.left
    return expression


def _branches(expression: exp.Expression) -> Iterator[exp.Expression]:
    if isinstance(expression, exp.SetOperation):
        if not isinstance(expression, exp.Union):  # EXCEPT/INTERSECT: right side differs
            return
        yield from _branches(expression.left)
        yield from _branches(expression.right)
    else:
        yield expression


def _rewrite(conjunct: exp.Expression, name: str,
             outputs: dict[str, exp.Expression]) -> exp.Expression | None:
    """The conjunct over the inner expressions, if it only reads mapped columns of ``name``."""
    columns = list(conjunct.find_all(exp.Column))
    if not columns or conjunct.find(exp.AggFunc, exp.Window, exp.Subquery):
        return None
    if any(c.table != name or c.name not in outputs for c in columns):
        return None
    if isinstance(conjunct, exp.Column):  # a bare boolean column: replace() can't swap a root
        inner = outputs[conjunct.name].copy()
    else:
        inner = conjunct.copy()
        for column in list(inner.find_all(exp.Column)):
            column.replace(outputs[column.name].copy())
    if not inner.find(exp.Column):  # e.g. 'salesforce' = 'hubspot' in another system's branch
        inner = simplify(inner)
    return inner


def _flatten(condition: exp.Expression) -> list[exp.Expression]:
    return list(condition.flatten()) if isinstance(condition, exp.And) else [condition]


def _conjuncts_of(select: exp.Select) -> set[str]:
    where = select.args.get("where")
    return set() if where is None else {p.sql() for p in _flatten(where.this)}
