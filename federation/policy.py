"""Who may see what: roles' grants, column masks and row filters, enforced by rewriting the
query tree before planning.

Every reference to a granted relation is replaced by a guarded subquery that applies the
role's row filters to the raw rows and its masks to the columns
(``(SELECT * REPLACE (mask AS col) FROM rel WHERE filter) AS rel``). Source tables are
guarded where they are read, inside every view built on them, and views where they are
expanded, so no alias, CTE, subquery, ``SELECT *``, join or function call can reach a raw
value: the raw value never leaves the guard. The planner then pushes the filters to the
source like any other predicate.

A query may name only relations the role is granted (views as ``public.<view>``, source
tables as ``<source>.<object>``); what a granted view reads inside is the view's business.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from pydantic import BaseModel, ConfigDict
from sqlglot import exp

from federation.errors import PermissionDeniedError, QueryError
from federation.sqlparse import source_tables

VIEW_SCHEMA = "public"
#: named masks; anything else is a SQL expression with ``{column}`` in it
MASKS = {
    "redact": "CASE WHEN {column} IS NULL THEN NULL ELSE '****' END",
    "email": "regexp_replace(CAST({column} AS VARCHAR), '^[^@]*', '****')",
    "phone": "CASE WHEN {column} IS NULL THEN NULL ELSE '****' || "
             "right(regexp_replace(CAST({column} AS VARCHAR), '[^0-9]', '', 'g'), 4) END",
    "null": "NULL",
    "hash": "md5(CAST({column} AS VARCHAR))",
}


class RolePolicy(BaseModel):
    """One role: what it may read, which columns it sees masked, which rows it sees."""

    model_config = ConfigDict(extra="forbid")
    # relation patterns: "public.*" (every view), "salesforce.*", "hubspot.deals", "*"
    grants: list[str] = []
    # "relation.column" pattern -> a named mask (redact, email, phone, null, hash) or SQL
    # with {column}; e.g. "*.email": email masks every column named email, in any relation
    masks: dict[str, str] = {}
    # relation pattern -> a SQL condition over that relation's columns
    row_filters: dict[str, str] = {}


class UserPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str


@dataclass(frozen=True)
class Guard:
    """A role's policy, ready to apply to query trees. ``user`` and ``role`` are named in
    refusals and the audit ledger."""

    user: str
    role: str
    policy: RolePolicy

    # -- grants ----------------------------------------------------------------------------

    def check_grants(self, tree: exp.Expression, is_view: Callable[[str], bool]) -> None:
        """Refuse the query if it names a relation the role is not granted."""
        for table in source_tables(tree):
            name = relation_name(table, is_view)
            if not self.granted(name):
                raise PermissionDeniedError(
                    f"user {self.user!r} (role {self.role!r}) may not read {name}",
                    hint="ask for the relation to be granted to the role in the catalog's "
                         "governance.roles")

    def granted(self, relation: str) -> bool:
        return any(_matches(relation, pattern) for pattern in self.policy.grants)

    # -- guarding --------------------------------------------------------------------------

    def guarded(self, relation: str, reference: exp.Expression, columns: list[str],
                alias: str) -> exp.Expression:
        """``reference`` (a table or an expanded view) behind this role's filters and masks,
        as a subquery named ``alias``; the reference itself when none apply."""
        masks = self._masks(relation, columns)
        conditions = [c for pattern, c in self.policy.row_filters.items()
                      if _matches(relation, pattern)]
        if not masks and not conditions:
            return reference
        inner = reference.copy()
        if isinstance(inner, exp.Table):
            inner.set("alias", None)
        source = inner if isinstance(inner, exp.Table) else exp.Subquery(
            this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias)))
        star = exp.Star(**({"replace": [exp.alias_(_parse(text, relation), column,
                                                   quoted=True)
                                        for column, text in masks]} if masks else {}))
        select = exp.select(star).from_(source)
        for condition in conditions:
            select = select.where(_parse(condition, relation))
        return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(alias)))

    def _masks(self, relation: str, columns: list[str]) -> list[tuple[str, str]]:
        found: dict[str, str] = {}
        for pattern, mask in self.policy.masks.items():
            rel_pattern, _, col_pattern = pattern.rpartition(".")
            if not _matches(relation, rel_pattern or "*"):
                continue
            for column in columns:
                if column.lower() not in {c.lower() for c in found} and fnmatch.fnmatchcase(
                        column.lower(), col_pattern.lower()):
                    found[column] = MASKS.get(mask, mask).replace(
                        "{column}", _quoted(column))
        return list(found.items())


def guard_for(users: dict[str, UserPolicy], roles: dict[str, RolePolicy],
              default_user: str | None, user: str | None) -> Guard | None:
    """The guard a query by ``user`` runs behind; None when the catalog declares no users
    (nothing to enforce). Unknown users are refused."""
    if not users:
        return None
    name = user or default_user
    if name is None:
        raise PermissionDeniedError("no user given, and the catalog names no default user",
                                    hint="pass --user (user= in Python), or set "
                                         "governance.default_user")
    login = users.get(name)
    if login is None:
        raise PermissionDeniedError(f"unknown user {name!r}",
                                    hint="users are declared under governance.users in the "
                                         "catalog")
    return Guard(name, login.role, roles[login.role])


def guard_tables(tree: exp.Expression, tables: list[tuple[exp.Table, str, list[str]]],
                 guard: Guard) -> None:
    """Put every source table reference behind the guard: (reference, relation name,
    column names) as the planner bound them."""
    for table, relation, columns in tables:
        guarded = guard.guarded(relation, table, columns, table.alias_or_name)
        if guarded is not table:
            table.replace(guarded)


def relation_name(table: exp.Table, is_view: Callable[[str], bool]) -> str:
    """``public.<view>`` or ``<source>.<object>`` as written (lowercased schema)."""
    if not table.db and is_view(table.name):
        return f"{VIEW_SCHEMA}.{table.name.lower()}"
    return f"{table.db.lower()}.{table.name}" if table.db else table.name


def _matches(relation: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(relation.lower(), pattern.lower())


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _parse(text: str, relation: str) -> exp.Expression:
    """A policy expression as a fresh tree (parsed once per text: planning is hot)."""
    try:
        return _parsed(text).copy()
    except sqlglot.errors.ParseError as exc:
        raise QueryError(f"the policy for {relation} does not parse: {text}",
                         hint="fix governance.roles in the catalog") from exc


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> exp.Expression:
    return sqlglot.parse_one(text, read="duckdb")
