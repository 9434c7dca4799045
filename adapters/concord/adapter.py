"""The unified model's own tables, served like any other source.

Views read the catalog's ``model:`` section (corporate currency, fiscal calendar,
tolerances, system-of-record rules) and the identity resolution's output through this
source, so changing the catalog changes every view with no code change, and the
dashboards and the wire server see them as ordinary tables. Identity tables are computed
by reading ``source_accounts`` back through the engine and running the matcher; one
resolution serves every query for ``identity.refresh_seconds``.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from adapters.contract import (
    Adapter,
    Column,
    Credentials,
    Pushdown,
    ScanContext,
    ScanRequest,
    TableInfo,
)
from federation.errors import SourceError

if TYPE_CHECKING:
    from federation.catalog import ModelSettings
    from views.identity import IdentityResult

Query = Callable[[str], pa.Table]

_TS = pa.timestamp("ms", tz="UTC")
MODEL_TABLES: dict[str, tuple[str, pa.Schema]] = {
    "settings": ("one row: the catalog's model settings", pa.schema([
        ("corporate_currency", pa.string()), ("fiscal_year_start_month", pa.int64()),
        ("amount_tolerance_pct", pa.float64()), ("amount_tolerance_min", pa.float64()),
        ("won_grace_days", pa.int64()), ("as_of_date", pa.date32()),
        ("auto_merge_probability", pa.float64()), ("review_probability", pa.float64()),
    ])),
    "system_of_record": ("per canonical field: the systems that may supply it, in order",
                         pa.schema([
        ("field_name", pa.string()), ("priority", pa.int64()), ("source_system", pa.string()),
        ("rule", pa.string()),
    ])),
    "steward_overrides": ("must-link / cannot-link pairs from the steward file", pa.schema([
        ("kind", pa.string()), ("source_system_l", pa.string()),
        ("source_account_id_l", pa.string()), ("source_system_r", pa.string()),
        ("source_account_id_r", pa.string()), ("note", pa.string()), ("decided_at", _TS),
    ])),
    "account_match_pairs": ("candidate links between source accounts", pa.schema([
        ("source_system_l", pa.string()), ("source_account_id_l", pa.string()),
        ("source_system_r", pa.string()), ("source_account_id_r", pa.string()),
        ("match_rule", pa.string()), ("match_probability", pa.float64()),
        ("match_weight", pa.float64()), ("decision", pa.string()),
        ("explanation", pa.string()), ("decided_at", _TS),
    ])),
    "account_xref": ("golden customer id for every source account", pa.schema([
        ("customer_id", pa.string()), ("source_system", pa.string()),
        ("source_account_id", pa.string()), ("match_rule", pa.string()),
        ("match_confidence", pa.float64()), ("linked_at", _TS),
    ])),
}
_IDENTITY_TABLES = ("account_match_pairs", "account_xref")
ACCOUNTS_SQL = "SELECT * FROM source_accounts"


class ModelAdapter(Adapter):
    """Not declared in catalogs: the engine adds it under the name ``concord``."""

    type_name = "concord"
    uses_http = False
    url_schemes = ()

    def __init__(self, name: str, settings: ModelSettings, *, query: Query,
                 base_dir: Path) -> None:
        super().__init__(name, None, settings, _NoCredentials(), base_dir=base_dir)
        self.settings = settings
        self._query = query
        self._lock = threading.Lock()
        self._identity: tuple[float, IdentityResult] | None = None

    def discover(self) -> dict[str, TableInfo]:
        return {
            name: TableInfo(name, tuple(Column(f.name, f.type, str(f.type))
                                        for f in schema), description)
            for name, (description, schema) in MODEL_TABLES.items()
        }

    def classify(self, table: TableInfo, predicate: exp.Expression) -> Pushdown:
        return Pushdown.UNSUPPORTED  # small tables: DuckDB filters them

    def native_request(self, table: TableInfo, request: ScanRequest) -> str:
        if table.name in _IDENTITY_TABLES:
            return f"identity resolution over ({ACCOUNTS_SQL})"
        return f"catalog model: {table.name}"

    def scan(self, table: TableInfo, request: ScanRequest,
             ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        ctx.metrics.native_requests.append(self.native_request(table, request))
        full = self._table(table.name)
        out = full.select(list(request.columns))
        ctx.metrics.rows += out.num_rows
        ctx.metrics.bytes += out.nbytes
        yield from out.to_batches()

    # -- the tables --------------------------------------------------------------------

    def _table(self, name: str) -> pa.Table:
        schema = MODEL_TABLES[name][1]
        if name == "settings":
            return pa.Table.from_pylist([self._settings_row()], schema=schema)
        if name == "system_of_record":
            rows = [{"field_name": field_name, "priority": i, "source_system": system,
                     "rule": rule.rule}
                    for field_name, rule in self.settings.system_of_record.items()
                    for i, system in enumerate(rule.systems, 1)]
            return pa.Table.from_pylist(rows, schema=schema)
        if name == "steward_overrides":
            rows = [{f: getattr(o, f) for f in schema.names} for o in self._overrides()]
            return pa.Table.from_pylist(rows, schema=schema)
        result = self._resolve()
        table = result.pairs if name == "account_match_pairs" else result.xref
        return table.select(schema.names).cast(schema, safe=False)  # linked_at: µs → ms

    def _settings_row(self) -> dict[str, Any]:
        s = self.settings
        return {
            "corporate_currency": s.corporate_currency,
            "fiscal_year_start_month": s.fiscal_year_start_month,
            "amount_tolerance_pct": s.reconciliation.amount_tolerance_pct,
            "amount_tolerance_min": s.reconciliation.amount_tolerance_min,
            "won_grace_days": s.reconciliation.won_grace_days,
            "as_of_date": s.as_of_date or dt.datetime.now(dt.UTC).date(),
            "auto_merge_probability": s.identity.auto_merge_probability,
            "review_probability": s.identity.review_probability,
        }

    def _overrides(self) -> list[Any]:
        from views.identity import load_overrides

        path = self.settings.identity.steward_overrides
        if path is None:
            return []
        full = Path(path) if Path(path).is_absolute() else self.base_dir / path
        return load_overrides(full)

    def _resolve(self) -> IdentityResult:
        """One resolution per refresh period, shared by both identity tables."""
        from views.identity import resolve_accounts

        with self._lock:
            refresh = self.settings.identity.refresh_seconds
            if self._identity is not None and time.monotonic() - self._identity[0] < refresh:
                return self._identity[1]
            accounts = self._query(ACCOUNTS_SQL)
            if accounts.num_rows == 0:
                raise SourceError("source_accounts returned no accounts to resolve",
                                  source=self.name, object="account_xref",
                                  hint="check the sources source_accounts reads")
            ident = self.settings.identity
            result = resolve_accounts(accounts, overrides=self._overrides(),
                                      auto_merge=ident.auto_merge_probability,
                                      review=ident.review_probability)
            self._identity = (time.monotonic(), result)
            return result


class _NoCredentials(Credentials):
    def get(self, key: str) -> str | None:
        return None

    def describe(self, key: str) -> str:
        return "not needed"
