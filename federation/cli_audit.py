"""``concord audit verify|show``: check the ledger's chain, and read it by user, time and
source."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from federation.audit import AuditLedger, matching
from federation.catalog import load_catalog
from federation.errors import ConcordError

audit_app = typer.Typer(no_args_is_help=True, help="Check and read the audit ledger.")
out = Console()
CatalogOpt = Annotated[Path, typer.Option("--catalog", "-c", help="catalog file")]


def _ledger(catalog: Path) -> AuditLedger:
    loaded = load_catalog(catalog)
    path = loaded.audit_ledger_path()
    if path is None:
        raise ConcordError("the catalog keeps no audit ledger",
                           hint="set governance.audit_ledger to a file path in the catalog")
    return AuditLedger(path)


def _moment(text: str | None, option: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConcordError(f"{option} {text!r} is not a date or time",
                           hint="use ISO 8601, e.g. 2026-11-22 or 2026-11-22T09:30") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@audit_app.command()
def verify(catalog: CatalogOpt = Path("catalog.yaml")) -> None:
    """Check every record's hash and link; exit 1 naming each edited, removed, reordered
    or torn record."""
    ledger = _ledger(catalog)
    verdict = ledger.verify()
    if verdict.ok:
        out.print(f"{ledger.path}: {verdict.records} records, chain intact", highlight=False)
        return
    for problem in verdict.problems:
        out.print(f"{ledger.path}: {problem.kind}: {problem.message}", highlight=False,
                  soft_wrap=True)
    raise typer.Exit(1)


@audit_app.command()
def show(
    catalog: CatalogOpt = Path("catalog.yaml"),
    user: Annotated[str | None, typer.Option(help="only this user's queries")] = None,
    since: Annotated[str | None, typer.Option(help="from this time (ISO 8601, UTC)")] = None,
    until: Annotated[str | None, typer.Option(help="up to this time (ISO 8601, UTC)")] = None,
    source: Annotated[str | None, typer.Option(help="only queries that read this source")]
    = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table|json")] = "table",
) -> None:
    """List the ledger's records, filtered."""
    records = list(matching(_ledger(catalog).records(), user=user,
                            since=_moment(since, "--since"), until=_moment(until, "--until"),
                            source=source))
    if fmt == "json":
        out.file.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        return
    if fmt != "table":
        raise ConcordError(f"unknown format {fmt!r}", hint="use table or json")
    table = Table("seq", "time", "user", "outcome", "rows", "sources", "sql")
    for r in records:
        table.add_row(str(r["seq"]), r["time"][:19], str(r.get("user")), r["outcome"],
                      str(r.get("rows")), ", ".join(r.get("sources", [])), r["sql"][:80])
    out.print(table)
