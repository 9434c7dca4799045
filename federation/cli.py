"""``concord``: the command line. Every command goes through the same engine."""

from __future__ import annotations

import json
import logging
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from federation import export as exporter
from federation import render
from federation.cli_audit import audit_app
from federation.engine import Federation, connect
from federation.errors import ConcordError
from federation.planner import PlannedScan

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Concord: live SQL across your CRMs and ERPs.")
out = Console()
err = Console(stderr=True, soft_wrap=True)  # an error stays one line
_state = {"debug": False}

CatalogOpt = Annotated[Path, typer.Option("--catalog", "-c", help="catalog file")]
UserOpt = Annotated[str | None, typer.Option("--user", "-u", help="who is asking (the "
                                            "catalog's default user if not given)")]
app.add_typer(audit_app, name="audit")


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="show tracebacks and log "
                                              "everything (HTTP requests too) to stderr")]
          = False) -> None:
    _state["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _open(catalog: Path) -> Federation:
    return connect(catalog)


class _ScanProgress:
    """A progress line per scan on stderr while sources are read."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                 TextColumn("{task.fields[rows]} rows"), TimeElapsedColumn(),
                                 console=err, transient=True, disable=not enabled)
        self.tasks: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, scan: PlannedScan, rows: int) -> None:
        with self.lock:
            task = self.tasks.get(scan.relation)
            if task is None:
                task = self.tasks[scan.relation] = self.progress.add_task(
                    f"reading {scan.name}", rows=0, total=None)
            self.progress.update(task, rows=rows)

    def __enter__(self) -> _ScanProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="the SQL query")],
    catalog: CatalogOpt = Path("catalog.yaml"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="table|csv|json|parquet")] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here")] = None,
    stats: Annotated[bool, typer.Option("--stats", help="statistics as JSON on stderr")] = False,
    no_pushdown: Annotated[bool, typer.Option("--no-pushdown",
                                              help="fetch whole tables; filter locally")] = False,
    dialect: Annotated[str, typer.Option(help="duckdb or postgres")] = "duckdb",
    user: UserOpt = None,
) -> None:
    """Run a query live against the sources."""
    if fmt not in render.FORMATS:
        raise ConcordError(f"unknown format {fmt!r}", hint="use " + "|".join(render.FORMATS))
    with _open(catalog) as fed, _ScanProgress(err.is_terminal) as progress:
        table = fed.sql(sql, pushdown=not no_pushdown, dialect=dialect, progress=progress,
                        user=user)
        last = fed.last_stats
    try:
        render.write_result(table, fmt, output, out)
    except ValueError as exc:
        raise ConcordError(str(exc)) from exc
    if stats and last is not None:
        sys.stderr.write(json.dumps(last.to_dict(), indent=1, default=str) + "\n")


@app.command("export")
def export_(
    target: Annotated[str, typer.Argument(help="a view or table name, or a SQL query")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="parquet|csv|arrow|xlsx")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the file to write")],
    catalog: CatalogOpt = Path("catalog.yaml"),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")]
    = False,
    user: UserOpt = None,
) -> None:
    """Write a view, table or query to a file, with a manifest of its sources beside it."""
    if fmt not in exporter.FORMATS:
        raise ConcordError(f"unknown format {fmt!r}", hint="use " + "|".join(exporter.FORMATS))
    exporter.check_writable(output, force)  # before the query, not after a long wait
    with _open(catalog) as fed, _ScanProgress(err.is_terminal) as progress:
        manifest = exporter.export(fed, target, fmt, output, force=force, progress=progress,
                                   user=user)
    out.print(f"wrote {manifest['rows']} rows to {output} "
              f"(manifest {exporter.manifest_path(output)})", highlight=False, soft_wrap=True)


@app.command()
def explain(
    sql: Annotated[str, typer.Argument(help="the SQL query")],
    catalog: CatalogOpt = Path("catalog.yaml"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="text|json")] = "text",
    no_pushdown: Annotated[bool, typer.Option("--no-pushdown")] = False,
    dialect: Annotated[str, typer.Option(help="duckdb or postgres")] = "duckdb",
) -> None:
    """Show the plan: per scan the native request, what is pushed and what stays local."""
    with _open(catalog) as fed:
        plan = fed.explain(sql, pushdown=not no_pushdown, dialect=dialect)
        native = {s.relation: fed.adapter(s.source).native_request(s.table, s.request)
                  for s in plan.scans}
    if fmt == "json":
        out.file.write(json.dumps(render.plan_to_dict(plan, native), indent=1) + "\n")
    elif fmt == "text":
        out.file.write(render.plan_to_text(plan, native) + "\n")
    else:
        raise ConcordError(f"unknown format {fmt!r}", hint="use text or json")


@app.command()
def sources(
    catalog: CatalogOpt = Path("catalog.yaml"),
    source: Annotated[str | None, typer.Option(help="only this source")] = None,
    table: Annotated[str | None, typer.Option(help="only this table (shows columns)")] = None,
    columns: Annotated[bool, typer.Option("--columns", help="list every column")] = False,
) -> None:
    """List sources, their tables, columns and types (discovered live)."""
    with _open(catalog) as fed:
        names = fed.source_names()
        if source is not None and source not in names:
            raise ConcordError(f"unknown source {source!r}", hint="known: " + ", ".join(names))
        listing = {}
        for name in [source] if source else names:
            tables = fed.tables(name)
            if table is not None:
                tables = {k: v for k, v in tables.items() if k.lower() == table.lower()}
            if tables:
                listing[name] = tables
        if table is not None and not listing:
            where = source or "any source"
            raise ConcordError(f"no table {table!r} in {where}",
                               hint="run `concord sources` to list the tables")
    out.print(render.sources_table(listing, columns=columns or table is not None))


@app.command()
def sandbox(
    port_base: Annotated[int, typer.Option("--port-base", help="first port (0: free ports)")]
    = 18100,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    scale: Annotated[float, typer.Option(help="data scale (1.0 ≈ 5,000 opportunities)")] = 1.0,
    seed: Annotated[int, typer.Option(help="random seed")] = 42,
    catalog_out: Annotated[Path | None, typer.Option("--catalog-out",
                                                     help="write a catalog for these ports")]
    = None,
    data_dir: Annotated[Path, typer.Option("--data-dir", help="where the legacy database and "
                                                              "the file exports are written")]
    = Path("sandbox-data"),
) -> None:
    """Serve every simulated system until interrupted."""
    from sandbox.run import start_sandbox

    with err.status("generating the sandbox company..."):
        box = start_sandbox(seed=seed, scale=scale, port_base=port_base, host=host,
                            data_dir=data_dir)
    try:
        for name, url in box.urls().items():
            out.print(f"{name:<12} {url}")
        if catalog_out is not None:
            box.write_catalog(catalog_out)
            out.print(f"catalog written to {catalog_out}")
        out.print("[dim]serving; press Ctrl-C to stop[/dim]")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        box.stop()


@app.command()
def serve(
    catalog: CatalogOpt = Path("catalog.yaml"),
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="port to serve on")] = 5433,
) -> None:
    """Serve the views and sources over the PostgreSQL wire protocol until interrupted."""
    import asyncio

    from federation.pgwire.server import WireServer

    with _open(catalog) as fed:
        if not fed.catalog.server.users:
            raise ConcordError("the catalog declares no server.users, so nobody could log in",
                               hint="add server: {users: {NAME: {password: {env: VAR}}}}")
        server = WireServer(fed, host, port)

        async def main() -> None:
            await server.start()
            tls = "TLS available" if server.ctx.tls else "no TLS (server.tls not set)"
            out.print(f"Concord on postgresql://{host}:{server.port}/concord ({tls}); "
                      "press Ctrl-C to stop")
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            loop.add_signal_handler(signal.SIGINT, stop.set)
            await stop.wait()
            await server.stop()

        asyncio.run(main())


#: the flags `concord dashboard` gives Streamlit (.streamlit/config.toml says the same)
STREAMLIT_FLAGS = ("--server.headless", "true", "--server.fileWatcherType", "none",
                   "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
                   "--client.toolbarMode", "viewer", "--client.showErrorDetails", "type")


def dashboard_command(catalog: Path, port: int, host: str = "127.0.0.1"
                      ) -> tuple[list[str], dict[str, str]]:
    """The Streamlit command line and environment that serve the dashboards."""
    import os

    import dashboards

    app_path = Path(dashboards.__file__).parent / "app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(app_path),
               "--server.port", str(port), "--server.address", host, *STREAMLIT_FLAGS]
    return command, {**os.environ, "CONCORD_CATALOG": str(catalog.resolve())}


@app.command()
def dashboard(
    catalog: CatalogOpt = Path("catalog.yaml"),
    port: Annotated[int, typer.Option("--port", "-p", help="port to serve on")] = 8501,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    sandbox: Annotated[bool, typer.Option("--sandbox", help="start the sandbox company on "
                                          "free ports and show it (ignores --catalog)")]
    = False,
    scale: Annotated[float, typer.Option(help="sandbox data scale")] = 1.0,
) -> None:
    """Serve the Streamlit dashboards over the catalog's sources until interrupted."""
    import subprocess

    box = None
    with tempfile.TemporaryDirectory() as tmp:
        if sandbox:
            from sandbox.run import start_sandbox

            with err.status("starting the sandbox company on free ports..."):
                box = start_sandbox(scale=scale, port_base=0)
            catalog = box.write_catalog(Path(tmp) / "catalog.yaml")
        try:
            connect(catalog).close()  # a bad catalog fails here, with its message
            command, env = dashboard_command(catalog, port, host)
            out.print(f"Concord dashboards on http://{host}:{port} (catalog {catalog}); "
                      "press Ctrl-C to stop")
            server = subprocess.Popen(command, env=env)
            signal.signal(signal.SIGTERM, lambda *_: server.terminate())
            try:
                code = server.wait()
            except KeyboardInterrupt:
                server.terminate()
                code = server.wait()
            if code not in (0, -signal.SIGTERM):
                raise ConcordError(f"the dashboard server stopped with exit code {code}",
                                   hint="rerun with --debug, or check the port is free")
        finally:
            if box is not None:
                box.stop()


DEMO_QUERIES = [
    ("Open pipeline by stage (filter pushed as SOQL WHERE)",
     "SELECT StageName, count(*) AS deals, round(sum(Amount)) AS amount\n"
     "FROM salesforce.Opportunity\nWHERE IsClosed = false AND Amount > 0\n"
     "GROUP BY StageName ORDER BY amount DESC"),
    ("Top accounts by won USD deals in the last year (a join across objects)",
     "SELECT a.Name AS account, a.Industry, round(sum(o.Amount)) AS won_usd\n"
     "FROM salesforce.Opportunity o JOIN salesforce.Account a ON o.AccountId = a.Id\n"
     "WHERE o.IsWon AND o.CurrencyIsoCode = 'USD'\n"
     "  AND o.CloseDate >= current_date - INTERVAL 365 DAY\n"
     "GROUP BY ALL ORDER BY won_usd DESC LIMIT 5"),
    ("Five largest deals (top-N pushed: ORDER BY + LIMIT in SOQL)",
     "SELECT Name, Amount, CloseDate FROM salesforce.Opportunity\n"
     "ORDER BY Amount DESC NULLS LAST LIMIT 5"),
    ("SOQL ignores case, DuckDB does not: the superset SOQL returns is filtered locally",
     "SELECT count(*) AS deals FROM salesforce.Opportunity WHERE StageName = 'closed won'"),
    ("The acquired subsidiary's won deals by currency (HubSpot search filter groups)",
     "SELECT deal_currency_code AS currency, count(*) AS deals, round(sum(amount)) AS amount\n"
     "FROM hubspot.deals\nWHERE dealstage = 'closedwon' AND closedate >= DATE '2025-01-01'\n"
     "GROUP BY 1 ORDER BY amount DESC"),
    ("Open high-priority service cases by account (Dataverse OData, choice labels)",
     "SELECT a.name AS account, count(*) AS open_cases\n"
     "FROM dynamics.incidents i JOIN dynamics.accounts a ON i.customerid = a.accountid\n"
     "WHERE i.prioritycode_label = 'High' AND i.statecode = 0\n"
     "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5"),
    ("Three CRMs as one: open pipeline and open cases, fetched in parallel",
     "SELECT 'salesforce' AS crm, count(*) AS open_items FROM salesforce.Opportunity\n"
     "  WHERE NOT IsClosed\n"
     "UNION ALL SELECT 'hubspot', count(*) FROM hubspot.deals WHERE NOT hs_is_closed\n"
     "UNION ALL SELECT 'dynamics (cases)', count(*) FROM dynamics.incidents\n"
     "  WHERE statecode = 0"),
    ("Orders per ERP (SuiteQL, SAP OData v2, Oracle q=, QuickBooks query, legacy SQL)",
     "SELECT 'netsuite' AS erp, count(*) AS orders FROM netsuite.transaction\n"
     "  WHERE type = 'SalesOrd' AND trandate >= DATE '2026-01-01'\n"
     "UNION ALL SELECT 'sap', count(*) FROM sap.A_SalesOrder\n"
     "  WHERE SalesOrderDate >= DATE '2026-01-01'\n"
     "UNION ALL SELECT 'oracle', count(*) FROM oracle.salesOrdersForOrderHub\n"
     "  WHERE OrderedDate >= TIMESTAMP '2026-01-01 00:00:00'\n"
     "UNION ALL SELECT 'quickbooks', count(*) FROM quickbooks.Invoice\n"
     "  WHERE TxnDate >= DATE '2026-01-01'\n"
     "UNION ALL SELECT 'legacy_erp (before the migration)', count(*) FROM legacy_erp.orders"),
    ("Legacy revenue by country: the join and aggregate run inside the old database",
     "SELECT c.country, count(*) AS orders, sum(o.total_amount) AS amount\n"
     "FROM legacy_erp.orders o JOIN legacy_erp.customers c ON o.cust_no = c.cust_no\n"
     "GROUP BY c.country ORDER BY amount DESC"),
    ("Won in Salesforce, booked in NetSuite: CRM and ERP joined on the deal id",
     "SELECT count(*) AS won_deals, count(t.id) AS with_order\n"
     "FROM salesforce.Opportunity o\n"
     "LEFT JOIN netsuite.transaction t ON t.otherrefnum = o.Id AND t.type = 'SalesOrd'\n"
     "WHERE o.IsWon AND o.CloseDate >= DATE '2025-01-01'"),
    ("Quotas from the finance team's Excel exports",
     "SELECT fiscal_year, round(sum(quota_amount)) AS quota, count(*) AS rows\n"
     "FROM files.quotas GROUP BY 1 ORDER BY 1"),
]


@app.command()
def demo(
    scale: Annotated[float, typer.Option(help="data scale")] = 1.0,
    seed: Annotated[int, typer.Option(help="random seed")] = 42,
) -> None:
    """Start the sandbox on free ports and run example queries, showing the pushdown."""
    from sandbox.run import start_sandbox

    with err.status("starting the sandbox company on free ports..."):
        box = start_sandbox(seed=seed, scale=scale, port_base=0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            catalog_path = box.write_catalog(Path(tmp) / "catalog.yaml")
            with connect(catalog_path) as fed:
                for title, sql in DEMO_QUERIES:
                    _demo_query(fed, title, sql)
    finally:
        box.stop()
    out.print("\nTry your own: [bold]concord sandbox[/bold] in one terminal, then "
              "[bold]concord query \"SELECT ...\"[/bold] in another.")


def _demo_query(fed: Federation, title: str, sql: str) -> None:
    out.rule(f"[bold]{title}")
    out.print(sql, style="cyan", highlight=False)
    started = time.perf_counter()
    table = fed.sql(sql)
    elapsed = (time.perf_counter() - started) * 1000
    render.write_result(table, "table", None, out, max_rows=10)
    stats = fed.last_stats
    if stats is None:
        return
    for scan in stats.scans:
        out.print(f"[green]{scan.source}.{scan.object}[/green] "
                  f"{'(cache)' if scan.cache_hit else ''}")
        out.print(f"  sent: {scan.native_request}", highlight=False)
        for p in scan.pushed:
            out.print(f"  pushed ({p['fidelity']}): {p['predicate']}", highlight=False)
        for p in scan.local:
            out.print(f"  applied locally: {p}", highlight=False)
        out.print(f"  {scan.rows} rows in {scan.pages} page(s), {scan.http_requests} HTTP "
                  f"request(s), {scan.bytes:,} bytes")
    out.print(f"[dim]{stats.rows_returned} rows returned in {elapsed:.0f} ms "
              f"(planning {stats.planning_ms:.1f} ms)[/dim]")


def main() -> None:
    try:
        app()
    except ConcordError as exc:
        if _state["debug"]:
            raise
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last line of defence for a clean message
        if _state["debug"]:
            raise
        err.print(f"[red]internal error:[/red] {exc.__class__.__name__}: {exc} "
                  "(rerun with --debug for a traceback)", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
