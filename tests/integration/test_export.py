"""`concord export`: files that read back as the live answer, a manifest, no clobbering."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from federation import export as exporter
from federation.errors import ConcordError
from federation.results import BATCH_ROWS
from tests.conftest import write_catalog

CONCORD = str(Path(sys.executable).parent / "concord")
# strings, numbers, dates, tz-aware timestamps, booleans and NULLs in one source table
SQL = "SELECT * FROM salesforce.Opportunity ORDER BY Id"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CONCORD, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "300"})


@pytest.fixture(scope="module")
def catalog(sandbox, tmp_path_factory) -> str:
    return str(write_catalog(tmp_path_factory.mktemp("export") / "catalog.yaml",
                             sandbox.catalog()))


@pytest.fixture(scope="module")
def expected(fed) -> pa.Table:
    return fed.sql(SQL)


def read_back(path: Path, fmt: str, schema: pa.Schema) -> pa.Table:
    if fmt == "parquet":
        return pq.read_table(path)
    if fmt == "arrow":
        with ipc.open_file(path) as reader:
            return reader.read_all()
    options = pacsv.ConvertOptions(column_types=schema, strings_can_be_null=True,
                                   quoted_strings_can_be_null=False)
    return pacsv.read_csv(path, convert_options=options)


@pytest.mark.parametrize("fmt", ["parquet", "arrow", "csv"])
def test_arrow_formats_round_trip(fed, expected, tmp_path, fmt):
    output = tmp_path / f"opps.{fmt}"
    manifest = exporter.export(fed, SQL, fmt, output)
    table = read_back(output, fmt, expected.schema)
    assert table.schema.equals(expected.schema)
    assert table.equals(expected)
    assert expected.column("Amount").null_count > 0  # NULLs made the trip
    assert manifest["rows"] == expected.num_rows


def test_exports_are_written_a_batch_at_a_time(fed, tmp_path):
    """Each batch of the streamed answer is written as it arrives (a Parquet row group per
    batch), so an export never holds the whole answer."""
    sql = ("SELECT a.Id, x.n FROM salesforce.Account a CROSS JOIN range(250) AS x(n) "
           "ORDER BY a.Id, x.n")
    output = tmp_path / "big.parquet"
    manifest = exporter.export(fed, sql, "parquet", output)
    expected = fed.sql(sql)
    assert expected.num_rows > 2 * BATCH_ROWS
    assert pq.ParquetFile(output).metadata.num_row_groups >= 3
    assert pq.read_table(output).equals(expected)
    assert manifest["rows"] == expected.num_rows


def excel_value(value: Any) -> Any:
    """What an Excel cell holds for a value: naive UTC times to the millisecond, dates as
    midnight datetimes."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return value


def same_cell(got: Any, want: Any) -> bool:
    if isinstance(want, dt.datetime):
        return isinstance(got, dt.datetime) and abs(got - want) <= dt.timedelta(milliseconds=1)
    if isinstance(want, float):
        return isinstance(got, int | float) and math.isclose(got, want, rel_tol=1e-12)
    return got == want and type(got) is type(want)


def test_xlsx_round_trip(fed, expected, tmp_path):
    output = tmp_path / "opps.xlsx"
    exporter.export(fed, SQL, "xlsx", output)
    book = openpyxl.load_workbook(output, read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert list(rows[0]) == expected.column_names
    assert len(rows) - 1 == expected.num_rows
    for got_row, want_row in zip(rows[1:], expected.to_pylist(), strict=True):
        for name, got in zip(expected.column_names, got_row, strict=True):
            want = excel_value(want_row[name])
            assert same_cell(got, want), (name, got, want)


def test_xlsx_keeps_text_as_text_and_flattens_what_excel_cannot_hold(tmp_path):
    """Formula-looking strings stay data; NaN is empty; lists are JSON; any zone is UTC."""
    table = pa.table({
        "text": ["=HYPERLINK(\"http://x\")", None],
        "ratio": [float("nan"), 1.5],
        "tags": [["a", "b"], None],
        "at": pa.array([dt.datetime(2026, 1, 1, 12, 0), None],
                       pa.timestamp("us", tz="America/New_York")),
    })
    path = tmp_path / "edge.xlsx"
    exporter.write_batches(table.to_batches(), table.schema, "xlsx", path)
    sheet = openpyxl.load_workbook(path).active
    assert sheet["A2"].value == "=HYPERLINK(\"http://x\")" and sheet["A2"].data_type == "s"
    assert sheet["B2"].value is None and sheet["B3"].value == 1.5
    assert json.loads(sheet["C2"].value) == ["a", "b"] and sheet["C3"].value is None
    # 12:00 UTC stored (Arrow keeps UTC instants); Excel gets it without a zone
    assert sheet["D2"].value == dt.datetime(2026, 1, 1, 12, 0)


def test_cli_export_writes_file_and_manifest(catalog, fed, tmp_path):
    output = tmp_path / "accounts.parquet"
    proc = run("export", "salesforce.Account", "--format", "parquet", "--output", str(output),
               "--catalog", catalog)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout
    table = pq.read_table(output)
    live = fed.sql("SELECT * FROM salesforce.Account")
    assert table.schema.equals(live.schema)
    assert sorted(table.column("Id").to_pylist()) == sorted(live.column("Id").to_pylist())

    manifest = json.loads((tmp_path / "accounts.parquet.manifest.json").read_text())
    assert manifest["concord_version"] == importlib.metadata.version("concord")
    assert manifest["sql"] == "SELECT * FROM salesforce.Account"
    assert manifest["format"] == "parquet" and manifest["file"] == "accounts.parquet"
    assert manifest["rows"] == table.num_rows
    assert manifest["columns"] == [{"name": f.name, "type": str(f.type)} for f in table.schema]
    assert manifest["sha256"] == hashlib.sha256(output.read_bytes()).hexdigest()
    [source] = manifest["sources"]
    assert source["source"] == "salesforce" and source["objects"] == ["Account"]
    created = dt.datetime.fromisoformat(manifest["created_at"])
    assert created.utcoffset() == dt.timedelta(0)
    assert dt.datetime.fromisoformat(source["as_of"]) <= created
    assert dt.datetime.fromisoformat(manifest["as_of"]) <= created + dt.timedelta(seconds=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "accounts.parquet", "accounts.parquet.manifest.json"]


def test_manifest_lists_each_source_with_its_as_of(fed, tmp_path):
    fed.sql("SELECT count(*) FROM hubspot.companies")  # cached now: its data has an age
    sql = ("SELECT 'sf' AS crm, count(*) AS n FROM salesforce.Account "
           "UNION ALL SELECT 'hs', count(*) FROM hubspot.companies")
    manifest = exporter.export(fed, sql, "csv", tmp_path / "counts.csv")
    assert manifest["sql"] == sql and manifest["rows"] == 2
    by_source = {s["source"]: s for s in manifest["sources"]}
    assert set(by_source) == {"salesforce", "hubspot"}
    assert by_source["hubspot"]["from_cache"] is True
    created = dt.datetime.fromisoformat(manifest["created_at"])
    stamps = [dt.datetime.fromisoformat(s["as_of"]) for s in manifest["sources"]]
    assert all(stamp <= created for stamp in stamps)
    # the overall as_of is the oldest source's (to the second both are rounded to)
    overall = dt.datetime.fromisoformat(manifest["as_of"])
    assert abs(overall - min(stamps)) <= dt.timedelta(seconds=1)


def test_refuses_to_overwrite_without_force(catalog, tmp_path):
    output = tmp_path / "keep.csv"
    output.write_text("original\n")
    proc = run("export", "salesforce.User", "-f", "csv", "-o", str(output), "-c", catalog)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert str(output) in lines[0] and "--force" in lines[0]
    assert "Traceback" not in proc.stderr
    assert output.read_text() == "original\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.csv"]


def test_existing_manifest_also_needs_force(fed, tmp_path):
    output = tmp_path / "users.arrow"
    exporter.manifest_path(output).write_text("{}")
    with pytest.raises(ConcordError, match="manifest.json already exists.*--force"):
        exporter.export(fed, "salesforce.User", "arrow", output)
    assert not output.exists()


def test_force_overwrites(catalog, tmp_path):
    output = tmp_path / "users.csv"
    output.write_text("original\n")
    exporter.manifest_path(output).write_text("{}")
    proc = run("export", "salesforce.User", "-f", "csv", "-o", str(output), "-c", catalog,
               "--force")
    assert proc.returncode == 0, proc.stderr
    assert output.read_text().startswith('"Id",')
    manifest = json.loads(exporter.manifest_path(output).read_text())
    assert manifest["rows"] == len(output.read_text().splitlines()) - 1


def test_bad_query_leaves_nothing(catalog, tmp_path):
    output = tmp_path / "bad.parquet"
    proc = run("export", "SELECT no_such_column FROM salesforce.Account", "-f", "parquet",
               "-o", str(output), "-c", catalog)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_unknown_format(catalog, tmp_path):
    proc = run("export", "salesforce.User", "-f", "json", "-o", str(tmp_path / "u.json"),
               "-c", catalog)
    assert proc.returncode == 1
    assert "unknown format 'json'" in proc.stderr and "parquet|csv|arrow|xlsx" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file_and_no_temp_files(fed, tmp_path, monkeypatch):
    output = tmp_path / "users.parquet"
    output.write_bytes(b"old")

    def half_write(batches, schema: pa.Schema, fmt: str, path: Path) -> int:
        path.write_bytes(b"partial")
        raise ConcordError("disk trouble")

    monkeypatch.setattr(exporter, "write_batches", half_write)
    with pytest.raises(ConcordError, match="disk trouble"):
        exporter.export(fed, "salesforce.User", "parquet", output, force=True)
    assert output.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["users.parquet"]


@pytest.mark.parametrize(("target", "sql"), [
    ("customer_360", "SELECT * FROM customer_360"),
    ("salesforce.Opportunity", "SELECT * FROM salesforce.Opportunity"),
    ('files."my quotas"', 'SELECT * FROM files."my quotas"'),
    ("SELECT 1", "SELECT 1"),
    ("  with x AS (SELECT 1) SELECT * FROM x ", "with x AS (SELECT 1) SELECT * FROM x"),
    ("select*from salesforce.User", "select*from salesforce.User"),
])
def test_target_sql(target, sql):
    assert exporter.target_sql(target) == sql
