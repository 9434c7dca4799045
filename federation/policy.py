"""Who may see what: roles' grants, column masks and row filters, enforced by rewriting the
query tree in the engine, before any pushdown decision.

Every reference to a relation the role masks or filters is read through a guard: a
subquery of the same name that applies the row filters to the raw rows and the masks to
the columns. Views are guarded where they are expanded (``guarded_view``:
``(SELECT * REPLACE (mask AS col) FROM (<view>) WHERE filter) AS view``), source tables
where the planner turns them into scans (``TableGuard.wrap``: only the columns the query
reads). No alias, CTE, subquery, ``SELECT *``, join or function call can reach a raw
value: the raw value never leaves the guard. The planner pushes the filters to the source
with the query's own predicates, except those on masked columns.

A query may name only relations the role is granted (views as ``public.<view>``, source
tables as ``<source>.<object>``); what a granted view reads inside is the view's business.
"""

from __future__ import annotations

import fnmatch
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import pyarrow as pa
import sqlglot
from cachetools import LRUCache
from pydantic import BaseModel, ConfigDict, model_validator
from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from federation.errors import PermissionDeniedError, QueryError
from federation.sqlparse import source_tables

T = TypeVar("T")
VIEW_SCHEMA = "public"
#: readable by every user: the catalog's model settings (as-of date, fiscal year,
#: tolerances) are configuration, not data from any source
ALWAYS_GRANTED = frozenset({"concord.settings"})
DIALECT = "duckdb"
#: named masks; anything else is a SQL expression with ``{column}`` in it
MASKS = {
    "redact": "CASE WHEN {column} IS NULL THEN NULL ELSE '****' END",
    "email": "regexp_replace(CAST({column} AS VARCHAR), '^[^@]*', '****')",
    # NULL in, NULL out: || and the string functions propagate it
    "phone": "'****' || right(regexp_replace(CAST({column} AS VARCHAR), '[^0-9]', '', 'g'), 4)",
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

    @model_validator(mode="after")
    def _expressions_parse(self) -> RolePolicy:
        """A mask or filter that cannot apply is refused when the catalog loads, not when a
        query happens to touch its relation."""
        for pattern, mask in self.masks.items():
            _check_expression(MASKS.get(mask, mask).replace("{column}", "masked_column"),
                              f"masks[{pattern!r}]")
        for pattern, condition in self.row_filters.items():
            _check_expression(condition, f"row_filters[{pattern!r}]")
        return self


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
    # what planning asks for each table, again and again: table guards, masked schemas
    _memo: LRUCache = field(default_factory=lambda: LRUCache(maxsize=1024), compare=False,
                            repr=False)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock, compare=False,
                                       repr=False)

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
        return relation.lower() in ALWAYS_GRANTED or any(
            _matches(relation, pattern) for pattern in self.policy.grants)

    # -- guarding ----------------------------------------------------------------------------

    def guarded_view(self, relation: str, body: exp.Expression, alias: str
                     ) -> exp.Subquery | None:
        """An expanded view behind this role's filters and masks, as a subquery named
        ``alias``; None when none apply. Views are guarded as they are expanded, before
        qualification, so a filter may name any column of the view."""
        masks = self._masks(relation, list(body.named_selects))
        conditions = self._conditions(relation)
        if not masks and not conditions:
            return None
        source = exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier(alias)))
        star = exp.Star(**({"replace": [
            exp.alias_(_parse(template.replace("{column}", _quoted(column))), column,
                       quoted=True)
            for column, template in masks.items()]} if masks else {}))
        return _guard_select([star], source, [_parse(c) for c in conditions],
                             exp.to_identifier(alias))

    def table_guard(self, relation: str, columns: list[str], alias: str
                    ) -> TableGuard | None:
        """This role's masks and filters on a source table read as ``alias`` (None when
        none apply), for the scan that reads it."""
        def build() -> TableGuard | None:
            masks = self._masks(relation, columns)
            conditions = self._conditions(relation)
            if not masks and not conditions:
                return None
            quoted_alias = _quoted(alias)
            return TableGuard(
                alias,
                {c.lower(): _parse(m.replace("{column}",
                                             f"{quoted_alias}.{_quoted(c.lower())}"))
                 for c, m in masks.items()},
                [_qualified(_parse(c), alias) for c in conditions])

        return self._remember(("table", relation, tuple(columns), alias), build)

    def masked_schema(self, relation: str, schema: pa.Schema,
                      type_of: Callable[[str, pa.DataType], pa.DataType]) -> pa.Schema:
        """``schema`` as this role reads it: masked columns take their mask's type
        (``type_of(mask SQL over {column}, column type)``), so binding and Describe see
        what the query will return."""
        return self._remember(("schema", relation, schema),
                              lambda: self._masked_schema(relation, schema, type_of))

    def _remember(self, key: tuple, build: Callable[[], T]) -> T:
        with self._memo_lock:
            if key in self._memo:
                return self._memo[key]
        value = build()  # outside the lock: a mask's type is bound by DuckDB
        with self._memo_lock:
            self._memo[key] = value
        return value

    def _masked_schema(self, relation: str, schema: pa.Schema,
                       type_of: Callable[[str, pa.DataType], pa.DataType]) -> pa.Schema:
        masks = self._masks(relation, schema.names)
        if not masks:
            return schema
        fields = []
        for column in schema:
            if column.name in masks:
                try:
                    column = column.with_type(type_of(masks[column.name], column.type))
                except QueryError as exc:
                    raise QueryError(f"the mask on {relation}.{column.name}: {exc.message}",
                                     hint=exc.hint) from None
            fields.append(column)
        return pa.schema(fields)

    def _masks(self, relation: str, columns: list[str]) -> dict[str, str]:
        """column -> mask SQL with ``{column}``; the first matching pattern wins."""
        found: dict[str, str] = {}
        taken: set[str] = set()
        for pattern, mask in self.policy.masks.items():
            rel_pattern, _, col_pattern = pattern.rpartition(".")
            if not _matches(relation, rel_pattern or "*"):
                continue
            for column in columns:
                if column.lower() not in taken and fnmatch.fnmatchcase(
                        column.lower(), col_pattern.lower()):
                    found[column] = MASKS.get(mask, mask)
                    taken.add(column.lower())
        return found

    def _conditions(self, relation: str) -> list[str]:
        return [condition for pattern, condition in self.policy.row_filters.items()
                if _matches(relation, pattern)]


@dataclass(frozen=True)
class TableGuard:
    """A role's masks and row filters on one source table, as the scan reading it applies
    them: the table is read through ``wrap`` (filters on raw values, masked columns out),
    and the scan pushes the filters to the source but no predicate on a masked column."""

    alias: str
    masks: dict[str, exp.Expression]  # lowercase column -> its mask over alias.column
    conditions: list[exp.Expression]  # over the raw columns, qualified by ``alias``

    def reads_masked(self, node: exp.Expression) -> bool:
        """Whether ``node`` reads a masked column of this table."""
        return any(c.table == self.alias and c.name.lower() in self.masks
                   for c in node.find_all(exp.Column))

    def condition_columns(self) -> set[str]:
        return {c.name.lower() for condition in self.conditions
                for c in condition.find_all(exp.Column)}

    def wrap(self, table: exp.Table, columns: list[str]) -> exp.Subquery:
        """``(SELECT <columns, masked> FROM table WHERE <filters>) AS alias``."""
        projections = []
        for column in columns:
            mask = self.masks.get(column.lower())
            value = exp.column(column, table=self.alias, quoted=True) if mask is None \
                else mask.copy()
            projections.append(exp.Alias(this=value, alias=exp.to_identifier(column,
                                                                             quoted=True)))
        return _guard_select(projections, table, [c.copy() for c in self.conditions],
                             exp.to_identifier(self.alias, quoted=True))


def _guard_select(projections: list[exp.Expression], source: exp.Expression,
                  conditions: list[exp.Expression], alias: exp.Identifier
                  ) -> exp.Subquery:
    """``(SELECT projections FROM source WHERE conditions) AS alias``, built from nodes:
    sqlglot's builders copy their arguments, and a view's body is large."""
    select = exp.Select(expressions=projections, from_=exp.From(this=source))
    if conditions:
        select.set("where", exp.Where(this=exp.and_(*conditions, copy=False)))
    return exp.Subquery(this=select, alias=exp.TableAlias(this=alias))


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


def relation_name(table: exp.Table, is_view: Callable[[str], bool]) -> str:
    """``public.<view>`` or ``<source>.<object>`` as written (lowercased schema)."""
    if not table.db and is_view(table.name):
        return f"{VIEW_SCHEMA}.{table.name.lower()}"
    return f"{table.db.lower()}.{table.name}" if table.db else table.name


def _matches(relation: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(relation.lower(), pattern.lower())


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _check_expression(text: str, where: str) -> None:
    try:
        tree = sqlglot.parse_one(text, read=DIALECT)
    except sqlglot.errors.ParseError as exc:
        raise ValueError(f"{where} does not parse as SQL: {text!r}") from exc
    if tree.find(exp.Select, exp.Table, exp.Subquery) is not None:
        raise ValueError(f"{where} reads another relation ({text!r}): masks and row filters "
                         "may use only the relation's own columns")


def _qualified(condition: exp.Expression, alias: str) -> exp.Expression:
    """A row filter's columns named as qualification names them, under ``alias``."""
    condition = normalize_identifiers(condition, dialect=DIALECT)
    for column in condition.find_all(exp.Column):
        column.set("table", exp.to_identifier(alias, quoted=True))
        column.set("this", exp.to_identifier(column.name, quoted=True))
    return condition


def _parse(text: str) -> exp.Expression:
    """A policy expression as a fresh tree, parsed once per text (planning is hot); the
    catalog checked every mask and filter parses when it loaded."""
    return _parsed(text).copy()


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> exp.Expression:
    return sqlglot.parse_one(text, read=DIALECT)
