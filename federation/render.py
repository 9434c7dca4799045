"""Turn results, plans and source listings into text for people and machines."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from adapters.contract import TableInfo
from federation.planner import Plan

FORMATS = ("table", "csv", "json", "parquet")


def write_result(table: pa.Table, fmt: str, output: Path | None, console: Console,
                 max_rows: int = 100) -> None:
    """Write ``table`` as ``fmt`` to ``output`` (or stdout)."""
    if fmt == "parquet":
        if output is None:
            raise ValueError("--format parquet needs --output FILE")
        pq.write_table(table, output)
        return
    if fmt == "csv":
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer)
        _emit(buffer.getvalue().decode("utf-8"), output, console)
        return
    if fmt == "json":
        text = json.dumps(table.to_pylist(), default=str, ensure_ascii=False, indent=1)
        _emit(text + "\n", output, console)
        return
    if output is not None:
        raise ValueError("--format table prints to the terminal; choose csv, json or parquet "
                         "for --output")
    console.print(result_table(table, max_rows=max_rows))
    shown = min(table.num_rows, max_rows)
    more = f" (showing {shown})" if shown < table.num_rows else ""
    console.print(f"[dim]{table.num_rows} row{'s' if table.num_rows != 1 else ''}{more}[/dim]")


def _emit(text: str, output: Path | None, console: Console) -> None:
    if output is None:
        console.file.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def result_table(table: pa.Table, max_rows: int = 100) -> Table:
    view = Table(show_lines=False, header_style="bold")
    for name in table.column_names:
        view.add_column(name, overflow="fold")
    for row in table.slice(0, max_rows).to_pylist():
        view.add_row(*("∅" if v is None else str(v) for v in row.values()))
    return view


def plan_to_dict(plan: Plan, native: dict[str, str]) -> dict[str, Any]:
    return {
        "pushdown": plan.pushdown,
        "scans": [
            {
                "relation": scan.relation,
                "source": scan.source,
                "object": scan.table.name,
                "columns": list(scan.request.columns),
                "native_request": native[scan.relation],
                "pushed": [{"predicate": p, "fidelity": f.name.lower()} for p, f in scan.pushed],
                "local_only": list(scan.local),
                "limit": scan.request.limit,
                "order_by": [
                    {"column": k.column, "descending": k.descending,
                     "nulls_first": k.nulls_first}
                    for k in scan.request.order_by
                ],
            }
            for scan in plan.scans
        ],
        "local_sql": plan.local_sql,
    }


def plan_to_text(plan: Plan, native: dict[str, str]) -> str:
    lines = [f"plan (pushdown {'on' if plan.pushdown else 'off'})"]
    for scan in plan.scans:
        lines.append(f"scan {scan.relation}: {scan.source}.{scan.table.name}")
        lines.append(f"  native request: {native[scan.relation]}")
        lines.append(f"  columns: {', '.join(scan.request.columns)}")
        for predicate, fidelity in scan.pushed:
            note = "exact" if fidelity.name == "EXACT" else "inexact, re-applied by DuckDB"
            lines.append(f"  pushed: {predicate}  [{note}]")
        for predicate in scan.local:
            lines.append(f"  local only: {predicate}")
        if scan.request.limit is not None:
            lines.append(f"  limit pushed: {scan.request.limit}")
    lines.append("DuckDB runs:")
    lines.append("  " + plan.local_sql)
    return "\n".join(lines)


def sources_table(listing: dict[str, dict[str, TableInfo]], *, columns: bool) -> Table:
    view = Table(header_style="bold")
    view.add_column("source")
    view.add_column("table")
    if columns:
        view.add_column("column")
        view.add_column("type")
        view.add_column("source type")
    else:
        view.add_column("columns", justify="right")
        view.add_column("description")
    for source, tables in listing.items():
        for name, info in sorted(tables.items()):
            if not columns:
                view.add_row(source, name, str(len(info.columns)), info.description)
                continue
            for col in info.columns:
                view.add_row(source, name, col.name, str(col.type), col.native_type)
    return view
