"""Views: named queries in ``.sql`` files, expanded into subqueries before planning.

A view is one ``SELECT`` in ``<name>.sql`` (a leading comment says its purpose, grain and
columns). Queries name views without a schema (``customer_360``) or under ``public``.
Expansion happens on the sqlglot tree, so pushdown then reaches through a view to the
source tables exactly as through a hand-written subquery. Views are checked by the same
read-only guard as user SQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlglot import exp

from federation.errors import CatalogError, ConcordError, QueryError
from federation.sqlparse import parse_query, refuse_non_queries

if TYPE_CHECKING:
    from federation.policy import Guard

BUILTIN = Path(__file__).resolve().parents[1] / "views"
VIEW_SCHEMA = "public"
MAX_DEPTH = 16


class Views:
    """The views of one catalog: the built-in folder plus the catalog's own folders."""

    def __init__(self, folders: list[Path]) -> None:
        self._sql: dict[str, str] = {}
        for folder in folders:
            if not folder.is_dir():
                raise CatalogError(f"views folder {folder} does not exist",
                                   hint="fix settings.views in the catalog")
            for path in sorted(folder.glob("*.sql")):
                self._sql[path.stem.lower()] = path.read_text(encoding="utf-8")
        self._trees: dict[str, exp.Expression] = {}

    def names(self) -> list[str]:
        return sorted(self._sql)

    def tree(self, name: str) -> exp.Expression:
        key = name.lower()
        if key not in self._trees:
            try:
                tree = parse_query(self._sql[key])
                refuse_non_queries(tree)
            except ConcordError as exc:
                raise CatalogError(f"view {name}: {exc}", hint="fix the view's SQL file") \
                    from exc
            self._trees[key] = tree
        return self._trees[key].copy()

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._sql


def expand_views(tree: exp.Expression, views: Views, depth: int = 0,
                 guard: Guard | None = None) -> exp.Expression:
    """Replace every reference to a view with the view's query as an aliased subquery
    (behind the user's guard, when there is one: in nested views too)."""
    if depth > MAX_DEPTH:
        raise QueryError("views nest too deeply (a view that refers to itself?)",
                         hint="check the views for a cycle")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier) or table.catalog:
            continue
        schema = table.db.lower() if table.db else ""
        name = table.name
        if schema not in ("", VIEW_SCHEMA) or name.lower() not in views:
            continue
        if not schema and name.lower() in ctes:
            continue  # a CTE of the same name shadows the view
        body = expand_views(views.tree(name), views, depth + 1, guard)
        alias = table.alias or name
        guarded = guard.guarded_view(f"{VIEW_SCHEMA}.{name.lower()}", body, alias) \
            if guard is not None else None
        table.replace(guarded or exp.Subquery(
            this=body, alias=exp.TableAlias(this=exp.to_identifier(alias))))
    return tree
