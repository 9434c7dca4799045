"""Bind the query as written with DuckDB over empty tables of the discovered types.

This catches unknown columns, type errors, bad function calls and literals that do not
fit the column they are compared with before any request reaches a source, phrases them
in the source's terms (``salesforce.Opportunity.Amount``, never the internal relation
names), and yields the result's column names exactly as DuckDB would name them.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope, traverse_scope

from federation.errors import QueryError
from federation.local import LocalDuckDB
from federation.policy import Guard

DIALECT = "duckdb"
_MISSING_COLUMN = re.compile(r'Referenced column "([^"]+)" not found')
_CANDIDATES = re.compile(r"Candidate bindings: (.*)")
# a qualified reference: DuckDB names registered Arrow relations "Values list"
_NOT_IN_TABLE = re.compile(r'(?:Values list|Table(?: with name)?) "([^"]+)" does not have a '
                           r'column named "([^"]+)"')
_MISSING_TABLE = re.compile(r'Referenced table "([^"]+)" not found!(?:\s*Candidate tables: '
                            r'"([^"]+)")?')
_PROBE = re.compile(r'"?(__probe_\d+)"?')
_ERROR_PREFIX = re.compile(r"^[A-Z][A-Za-z ]*Error: ")
_LITERAL_CHECK = "__literal_check"
_COLUMNS_HINT = "run `concord sources --columns` to list the columns"


@dataclass
class _Query:
    """What error messages need to know about the probed query: which alias is which
    source table, and what each relation holds."""

    sql: str
    names: dict[str, str]  # relation -> source.object
    relations: dict[str, pa.Schema] = field(default_factory=dict)
    _tree: exp.Expression | None = None

    @property
    def tree(self) -> exp.Expression | None:
        if self._tree is None and self.sql:
            try:
                self._tree = sqlglot.parse_one(self.sql, read=DIALECT)
            except SqlglotError:
                return None
        return self._tree

    def relation_of(self, alias: str) -> str | None:
        """The relation a table alias (or bare table name) stands for, if a source table."""
        tree = self.tree
        if tree is None:
            return None
        found = {t.name for t in tree.find_all(exp.Table)
                 if t.name in self.names and t.alias_or_name.lower() == alias.lower()}
        return found.pop() if len(found) == 1 else None

    def columns_of(self, relation: str) -> list[str]:
        schema = self.relations.get(relation)
        return list(schema.names) if schema is not None else []

    def derived_columns(self, alias: str) -> list[str]:
        """Output columns of a subquery, CTE or view named ``alias`` (none if it has a *)."""
        tree = self.tree
        if tree is None:
            return []
        for scope in traverse_scope(tree):
            for name, source in scope.sources.items():
                if name.lower() == alias.lower() and isinstance(source, Scope):
                    select = _leftmost_select(source.expression)
                    if select is None:
                        return []
                    if not select.is_star:
                        return list(select.named_selects)
                    return [c for t in select.find_all(exp.Table) if t.name in self.names
                            for c in self.columns_of(t.name)]
        return []


def explain_error(message: str, names: dict[str, str], sql: str = "",
                  relations: dict[str, pa.Schema] | None = None) -> QueryError:
    """DuckDB's binder message, in the source's terms, on one line, with a fix."""
    query = _Query(sql, names, relations or {})
    text = _PROBE.sub(lambda m: names.get(m.group(1), m.group(0)), message.strip())
    qualified = _NOT_IN_TABLE.search(text)
    if qualified:
        return _unknown_qualified_column(query, qualified.group(1), qualified.group(2))
    missing = _MISSING_COLUMN.search(text)
    if missing:
        candidates = _CANDIDATES.search(text)
        found = [c.strip().strip('"') for c in candidates.group(1).split(",")] \
            if candidates else []
        return _unknown_column(query, missing.group(1), found)
    table = _MISSING_TABLE.search(text)
    if table:
        hint = (f"did you mean {table.group(2)}?" if table.group(2)
                else "name a table or alias from the FROM clause")
        return QueryError(f"unknown table or alias {table.group(1)}", hint=hint)
    first_line = next((line for line in text.splitlines() if line.strip()), text)
    return QueryError(first_line, hint="check the query against `concord sources --columns`")


def _suggest(name: str, options: list[str]) -> str | None:
    by_lower = {o.lower(): o for o in options}
    match = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def _unknown_qualified_column(query: _Query, alias: str, column: str) -> QueryError:
    """``o.Amout`` where ``o`` is a source table, a subquery, a CTE or a view."""
    relation = query.relation_of(alias)
    if relation is not None:
        table = query.names[relation]
        suggestion = _suggest(column, query.columns_of(relation))
        source, _, obj = table.partition(".")
        hint = (f"did you mean {suggestion}?" if suggestion else
                f"run `concord sources --source {source} --table {obj}` to list its columns")
        return QueryError(f"unknown column {table}.{column}", hint=hint)
    suggestion = _suggest(column, query.derived_columns(alias))
    return QueryError(f"unknown column {alias}.{column}",
                      hint=f"did you mean {suggestion}?" if suggestion else
                      f"check the columns {alias} selects")


def _unknown_column(query: _Query, column: str, candidates: list[str]) -> QueryError:
    """An unqualified unknown column: named with the table whose column it resembles."""
    bare = {c.split(".")[-1]: c for c in reversed(candidates)}  # DuckDB's first wins
    suggestion = _suggest(column, list(bare))
    owners: set[str] = set()
    if suggestion is not None:
        alias, _, _ = bare[suggestion].rpartition(".")
        relation = query.relation_of(alias) if alias else None
        if relation is not None:
            owners = {query.names[relation]}
        else:
            owners = {query.names[r] for r in query.names
                      if suggestion.lower() in (c.lower() for c in query.columns_of(r))}
    tables = sorted(set(query.names.values()))
    if not owners and len(tables) == 1:
        owners = set(tables)
    if len(owners) == 1:
        name = f"{owners.pop()}.{column}"
    elif 1 < len(owners) <= 3:
        name = f"{column} (like {suggestion} in {', '.join(sorted(owners))})"
    elif not suggestion and 1 < len(tables) <= 4:
        name = f"{column} (in none of {', '.join(tables)})"
    else:
        name = column
    return QueryError(f"unknown column {name}",
                      hint=f"did you mean {suggestion}?" if suggestion else _COLUMNS_HINT)


def bind_schema(local: LocalDuckDB, sql: str, relations: dict[str, pa.Schema],
                names: dict[str, str]) -> pa.Schema:
    """The output columns of ``sql``: names as DuckDB gives them to the query as written
    (duplicates kept) and Arrow types, bound over empty relations without running it;
    ``names`` maps each relation to ``source.object`` for error messages."""
    empty = {relation: schema.empty_table() for relation, schema in relations.items()}
    with local.session(empty) as con:
        try:
            relation = con.sql(sql)
            columns = relation.columns
            types = relation.limit(0).to_arrow_table().schema.types  # binds, runs nothing
        except duckdb.Error as exc:
            raise explain_error(str(exc), names, sql, relations) from None
        check_literals(con, _Query(sql, names, relations))
    return pa.schema([pa.field(name, kind) for name, kind in
                      zip(columns, types, strict=True)])


@functools.lru_cache(maxsize=512)
def _expression_type(local: LocalDuckDB, sql: str, kind: pa.DataType) -> pa.DataType:
    with local.session({"__typed": pa.table({"v": pa.nulls(0, kind)})}) as con:
        return con.sql(f"SELECT {sql} FROM __typed").limit(0).to_arrow_table().schema[0].type


def expression_type(local: LocalDuckDB, template: str, kind: pa.DataType) -> pa.DataType:
    """The type of ``template`` (SQL over ``{column}``) applied to a ``kind`` column, as
    DuckDB binds it: what a mask turns a column into."""
    try:
        return _expression_type(local, template.replace("{column}", "v"), kind)
    except duckdb.Error as exc:
        raise QueryError(f"{template!r} does not apply to a {kind} column: "
                         f"{str(exc).strip().splitlines()[0]}",
                         hint="fix the mask in the catalog's governance.roles") from None


def schema_as_seen(local: LocalDuckDB, guard: Guard | None, relation: str,
                   schema: pa.Schema) -> pa.Schema:
    """A relation's columns as ``guard``'s role reads them: masked columns take their
    mask's type (binding, Describe and the wire catalog all see what queries return)."""
    if guard is None:
        return schema
    return guard.masked_schema(relation, schema,
                               lambda sql, kind: expression_type(local, sql, kind))


# -- literals that cannot become the column's type ---------------------------------------
#
# DuckDB casts a string literal compared with a typed column (``Amount > 'abc'``) only when
# it executes, and over empty tables it never does: without this check the mistake would
# surface after every source was read, as a multi-line error quoting the rewritten SQL.

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ,
                exp.NullSafeNEQ, exp.In, exp.Between)


# a column name compared with a string literal, as sqlglot renders the probe query (each
# pattern starts at a word boundary, so scanning a view's 200 kB of SQL takes milliseconds)
_OPERATOR = r"(?:=|<>|!=|<=|>=|<|>|IS\s+(?:NOT\s+)?DISTINCT\s+FROM)"
_NAME = r'(?<![\w$])([A-Za-z_][\w$]*)"?'
_COMPARED = (re.compile(rf"{_NAME}\s*{_OPERATOR}\s*'", re.I),
             re.compile(rf"'\s*{_OPERATOR}\s*(?:\"?[\w$]+\"?\.)*\"?([A-Za-z_][\w$]*)", re.I),
             re.compile(rf"{_NAME}\s+(?:NOT\s+)?(?:IN\s*\([^()]*'|BETWEEN\s)", re.I))
_CAST = re.compile(r"(?<![\w$])CAST\('((?:[^']|'')*)' AS "
                   r"([A-Z][A-Z0-9_ ]*(?:\(\d+(?:, ?\d+)?\))?)\)")
# Parsing a query this long costs tens of milliseconds; beyond it (views expanded) only
# comparisons naming a typed source column are checked.
_PARSE_ALWAYS = 8000


def check_literals(con: duckdb.DuckDBPyConnection, query: _Query) -> None:
    """Raise QueryError for a literal that DuckDB would fail to convert when it runs."""
    if "'" not in query.sql:
        return
    for text, target in dict.fromkeys(_CAST.findall(query.sql)):
        literal = text.replace("''", "'")
        _convert(con, f"SELECT CAST({exp.Literal.string(literal).sql(DIALECT)} AS {target})",
                 f"{literal!r} is not a valid {target}", _literal_hint(target))
    typed = {f.name.lower() for schema in query.relations.values() for f in schema
             if not _is_text(f.type)}
    short = len(query.sql) <= _PARSE_ALWAYS
    named = set() if short else {match.group(1).lower() for pattern in _COMPARED
                                 for match in pattern.finditer(query.sql)}
    if not (short or typed & named) or query.tree is None:
        return
    checks = [(node, column) for node in query.tree.find_all(*_COMPARISONS)
              if (column := _column_against_strings(node)) is not None
              and (short or column.name.lower() in typed)]
    if not checks:
        return
    scopes = {id(scope.expression): scope for scope in traverse_scope(query.tree)}
    for node, column in checks:
        scope = _scope_of(node, scopes)
        resolved = _resolve(scope, column.table, column.name, query) if scope else None
        if resolved is None or _is_text(resolved[1]):
            continue
        where, kind = resolved
        if where.rpartition(".")[2].lower() != column.name.lower():
            where = f"{column.name} ({where})"  # a renamed column of a subquery or view
        probe = node.copy()
        probe_column = probe if isinstance(probe, exp.Column) else probe.find(exp.Column)
        if probe_column is None:
            continue
        probe_column.replace(exp.column("v"))
        literal = next((lit.this for lit in node.find_all(exp.Literal) if lit.is_string), "")
        con.register(_LITERAL_CHECK, pa.table({"v": pa.nulls(1, kind)}))
        try:
            _convert(con, exp.select(probe).from_(_LITERAL_CHECK).sql(DIALECT),
                     f"cannot compare {where} with {literal!r}", _literal_hint(kind))
        finally:
            con.unregister(_LITERAL_CHECK)


def _convert(con: duckdb.DuckDBPyConnection, sql: str, problem: str, hint: str) -> None:
    """Run a one-row conversion; a failure becomes ``problem: DuckDB's reason``."""
    try:
        con.sql(sql).to_arrow_table()  # Arrow, not Python objects (no pytz for TIMESTAMPTZ)
    except (duckdb.ConversionException, duckdb.OutOfRangeException) as exc:
        first = str(exc).strip().splitlines()[0]
        reason = _ERROR_PREFIX.sub("", first)
        raise QueryError(f"{problem}: {reason[:1].lower()}{reason[1:]}", hint=hint) from None
    except duckdb.Error:
        return  # not a conversion problem: DuckDB reports it when the query runs


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _literal_hint(kind: pa.DataType | str) -> str:
    """How to write a value of the column's (or cast's) type."""
    name = str(kind).upper()
    if isinstance(kind, pa.DataType):
        number = pa.types.is_integer(kind) or pa.types.is_floating(kind) or \
            pa.types.is_decimal(kind)
    else:
        number = name.startswith(("DOUBLE", "FLOAT", "DECIMAL", "NUMERIC", "REAL", "INT",
                                  "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "U"))
    if number:
        return "write a number without quotes, e.g. 1000"
    if name.startswith("BOOL"):
        return "write true or false"
    if name.startswith("TIMESTAMP"):
        return "write a timestamp as 'YYYY-MM-DD HH:MM:SS', e.g. TIMESTAMP '2026-01-31 12:00:00'"
    if name.startswith("DATE"):
        return "write a date as 'YYYY-MM-DD', e.g. DATE '2026-01-31'"
    return "write a value of the column's type (see `concord sources --columns`)"


def _is_string(node: exp.Expression | None) -> bool:
    return isinstance(node, exp.Literal) and node.is_string


def _unparen(node: exp.Expression | None) -> exp.Expression | None:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _column_against_strings(node: exp.Expression) -> exp.Column | None:
    """The column of ``col <op> 'text'``, ``col IN ('a', 1)`` or ``col BETWEEN ...``
    when everything else in the comparison is a literal and one of them is a string."""
    if isinstance(node, exp.In):
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            return None
        column, others = _unparen(node.this), [_unparen(e) for e in node.expressions]
    elif isinstance(node, exp.Between):
        column = _unparen(node.this)
        others = [_unparen(node.args.get("low")), _unparen(node.args.get("high"))]
    else:
        left, right = _unparen(node.left), _unparen(node.right)
        column, others = (left, [right]) if isinstance(left, exp.Column) else (right, [left])
    if not isinstance(column, exp.Column) or not isinstance(column.this, exp.Identifier):
        return None
    if not others or not all(isinstance(o, exp.Literal) for o in others):
        return None
    return column if any(_is_string(o) for o in others) else None


def _scope_of(node: exp.Expression, scopes: dict[int, Scope]) -> Scope | None:
    parent: exp.Expression | None = node
    while parent is not None:
        scope = scopes.get(id(parent))
        if scope is not None:
            return scope
        parent = parent.parent
    return None


def _plain_star(select: exp.Select) -> bool:
    """``SELECT *`` or ``t.*`` passing every column on unchanged (no REPLACE or RENAME)."""
    stars = [p.this if isinstance(p, exp.Column) else p for p in select.expressions
             if p.is_star]
    return bool(stars) and not any(s.args.get("replace") or s.args.get("rename")
                                   for s in stars)


def _leftmost_select(node: exp.Expression) -> exp.Select | None:
    while isinstance(node, exp.SetOperation | exp.Subquery):
        node = node.this if isinstance(node, exp.Subquery) else node.left
    return node if isinstance(node, exp.Select) else None


def _resolve(scope: Scope, table: str, name: str, query: _Query, depth: int = 0
             ) -> tuple[str, pa.DataType] | None:
    """``source.object.Field`` and Arrow type of a column as seen from ``scope``, through
    subqueries, CTEs and views that pass it on unchanged; None when unsure."""
    if depth > 16:
        return None
    current: Scope | None = scope
    while current is not None:
        if table:
            matches = [s for alias, s in current.sources.items() if alias.lower() == table.lower()]
        else:
            matches = [source for _, source in current.selected_sources.values()
                       if _has_column(source, name, query)]
        if len(matches) > 1:
            return None
        if matches:
            return _resolve_in(matches[0], name, query, depth)
        current = current.parent
    return None


def _has_column(source: exp.Expression | Scope, name: str, query: _Query) -> bool:
    if isinstance(source, exp.Table):
        return name.lower() in (c.lower() for c in query.columns_of(source.name))
    select = _leftmost_select(source.expression)
    if select is None:
        return False
    return select.is_star or name.lower() in (n.lower() for n in select.named_selects)


def _resolve_in(source: exp.Expression | Scope, name: str, query: _Query, depth: int,
                position: int | None = None) -> tuple[str, pa.DataType] | None:
    """Resolve ``name`` (or the ``position``-th output, for set-operation branches)."""
    if isinstance(source, exp.Table):
        schema = query.relations.get(source.name)
        if schema is None or position is not None:
            return None
        spelled = next((f for f in schema if f.name.lower() == name.lower()), None)
        if spelled is None:
            return None
        return f"{query.names[source.name]}.{spelled.name}", spelled.type
    branches = getattr(source, "set_operation_scopes", None) or getattr(
        source, "union_scopes", None)
    if branches:
        if position is None:
            leftmost = _leftmost_select(source.expression)
            names = [n.lower() for n in leftmost.named_selects] if leftmost else []
            if leftmost is None or leftmost.is_star or name.lower() not in names:
                return None
            position = names.index(name.lower())
        found = [_resolve_in(b, name, query, depth + 1, position) for b in branches]
        kinds = {f[1] for f in found if f is not None}
        return found[0] if None not in found and len(kinds) == 1 else None
    select = source.expression
    if not isinstance(select, exp.Select):
        return None
    if position is not None:
        if select.is_star or position >= len(select.expressions):
            return None
        projections = [select.expressions[position]]
    else:
        projections = [p for p in select.expressions if p.alias_or_name.lower() == name.lower()]
    for projection in projections[:1]:
        inner = _unparen(projection.this if isinstance(projection, exp.Alias) else projection)
        if isinstance(inner, exp.Column) and isinstance(inner.this, exp.Identifier):
            return _resolve(source, inner.table, inner.name, query, depth + 1)
        return None
    if _plain_star(select) and position is None:
        return _resolve(source, "", name, query, depth + 1)
    return None
