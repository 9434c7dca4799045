"""The files adapter: CSV, Parquet and XLSX exports answer like DuckDB over the same data.

Every file is built here, in ``tmp_path``, from Python rows; the expected answers come
from DuckDB run directly on Arrow tables loaded independently of the adapter (the CSV
and XLSX rows as written, the Parquet file with pyarrow).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adapters.files import FilesAdapter, FilesOptions
from federation.catalog import CatalogCredentials, parse_catalog
from federation.engine import Federation
from federation.errors import (
    CatalogError,
    NotAllowedError,
    QueryError,
    SchemaMismatchError,
    SourceError,
    SourceUnavailableError,
)

PRICE_BOOK = pa.schema([("sku", pa.string()), ("name", pa.string()), ("price", pa.float64()),
                        ("active", pa.bool_()), ("valid_from", pa.date32()),
                        ("notes", pa.string())])
PRICE_ROWS = [
    ("A-1", 'Widget "Pro", large', 10.5, True, dt.date(2024, 1, 1), "first\nline two"),
    ("A-2", "Zoë's café ☕", 3.0, False, dt.date(2024, 2, 29), None),
    ("B-1", "O'Brien \\ backslash", None, True, None, "x"),
    ("B-2", "Ünïcödé 東京", 99.99, None, dt.date(2025, 12, 31), None),
    ("C-1", "", 0.0, True, dt.date(2023, 6, 15), "NA"),  # empty text reads as NULL
]
QUOTA_SCHEMA = pa.schema([("rep", pa.string()), ("quarter", pa.string()),
                          ("quota", pa.int64()), ("start", pa.date32()),
                          ("note", pa.string())])
QUOTAS = {
    "quotas/quotas_2024.xlsx": [
        ("Ana", "2024Q1", 1000, dt.date(2024, 1, 1), "new"),
        ("Bo", "2024Q1", 1500, dt.date(2024, 1, 1), None),
        ("Zoë", "2024Q2", 1200, dt.date(2024, 4, 1), "ramp"),
    ],
    "quotas/quotas_2025.xlsx": [
        ("Ana", "2025Q1", 1100, dt.date(2025, 1, 1), None),
        ("Bo", "2025Q1", None, dt.date(2025, 1, 1), "on leave"),
    ],
}


def write_csv(path: Path, header: list[str], rows: list[tuple[Any, ...]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else str(v).lower() if isinstance(v, bool)
                             else v.isoformat() if isinstance(v, dt.date) else v
                             for v in row])


def write_xlsx(path: Path, header: list[str], rows: list[tuple[Any, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    sheet.append([None] * len(header))  # a trailing blank row, as exports often have
    book.save(path)


def read_xlsx(path: Path, schema: pa.Schema) -> pa.Table:
    """The test's own XLSX loader: openpyxl cell values cast to the expected types."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = [r for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)
            if any(v is not None for v in r)]
    book.close()
    columns = {}
    for i, field in enumerate(schema):
        values = [r[i] for r in rows]
        if pa.types.is_date(field.type):
            values = [v.date() if isinstance(v, dt.datetime) else v for v in values]
        columns[field.name] = pa.array(values, field.type)
    return pa.table(columns, schema=schema)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    exports = tmp_path / "exports"
    exports.mkdir()
    write_csv(exports / "price_book.csv", PRICE_BOOK.names, PRICE_ROWS)
    orders = pa.table({
        "id": pa.array(range(1, 41), pa.int64()),
        "sku": pa.array([["A-1", "A-2", "B-1", None][i % 4] for i in range(40)]),
        "qty": pa.array([i % 7 for i in range(40)], pa.int64()),
        "amount": pa.array([None if i % 9 == 0 else math.nan if i % 10 == 3 else i * 2.5
                            for i in range(40)], pa.float64()),
        "day": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=i * 11) for i in range(40)],
                        pa.date32()),
    })
    pq.write_table(orders, exports / "orders.parquet", row_group_size=10)
    for name, rows in QUOTAS.items():
        write_xlsx(exports / name, QUOTA_SCHEMA.names, rows)
    return tmp_path


def tables_option() -> dict[str, Any]:
    return {
        "price_book": {"path": "price_book.csv", "format": "csv"},
        "orders": {"path": "orders.parquet"},
        "quotas": {"path": "quotas/quotas_*.xlsx", "format": "xlsx", "sheet": None,
                   "add_source_column": "source_file"},
    }


def federation(base: Path, tables: dict[str, Any] | None = None, **source: Any) -> Federation:
    options = {"tables": tables or tables_option()}
    source = {"type": "files", "url": "file:exports", "options": options, **source}
    raw = {"settings": {"cache_max_bytes": 0}, "sources": {"files": source}}
    return Federation(parse_catalog(raw, base_dir=base))


def reference(base: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB over the same data, loaded without the adapter."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA files")
    price_book = pa.Table.from_pylist(
        [dict(zip(PRICE_BOOK.names, (None if v == "" else v for v in row), strict=True))
         for row in PRICE_ROWS], schema=PRICE_BOOK)
    orders = pq.read_table(base / "exports" / "orders.parquet")
    parts = []
    for name in QUOTAS:
        part = read_xlsx(base / "exports" / name, QUOTA_SCHEMA)
        parts.append(part.append_column("source_file", pa.array([name] * part.num_rows)))
    quotas = pa.concat_tables(parts)
    for table_name, table in (("price_book", price_book), ("orders", orders),
                              ("quotas", quotas)):
        con.register(f"_{table_name}", table)
        con.execute(f"CREATE TABLE files.{table_name} AS SELECT * FROM _{table_name}")
    return con


def rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """Rows with NaN made comparable."""
    return [tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in row.values())
            for row in table.to_pylist()]


QUERIES = [
    "SELECT * FROM files.price_book ORDER BY sku",
    "SELECT sku, name FROM files.price_book WHERE price > 3 ORDER BY sku",
    "SELECT sku FROM files.price_book WHERE notes IS NULL OR NOT active ORDER BY sku",
    "SELECT count(*), sum(price) FROM files.price_book WHERE valid_from >= DATE '2024-01-01'",
    "SELECT * FROM files.orders WHERE amount > 40 ORDER BY id",  # NaN is above every number
    "SELECT id, amount FROM files.orders WHERE amount <= 20 OR amount IS NULL ORDER BY id",
    "SELECT sku, sum(qty) FROM files.orders WHERE day BETWEEN '2024-03-01' AND '2024-09-30' "
    "AND sku IN ('A-1', 'B-1') GROUP BY sku ORDER BY sku",
    "SELECT count(*) FROM files.orders WHERE sku != 'A-2' AND qty <> 3",
    "SELECT * FROM files.quotas ORDER BY source_file, rep",
    "SELECT rep, sum(quota) FROM files.quotas WHERE quota >= 1100 GROUP BY rep ORDER BY rep",
    "SELECT q.rep, count(o.id) FROM files.quotas q JOIN files.orders o "
    "ON o.qty = length(q.rep) WHERE q.start < '2025-01-01' GROUP BY 1 ORDER BY 1",
    "SELECT p.name, sum(o.qty) FROM files.orders o LEFT JOIN files.price_book p "
    "ON o.sku = p.sku GROUP BY 1 ORDER BY 1 NULLS FIRST",
]


def test_answers_match_duckdb_on_the_same_data(folder: Path) -> None:
    con = reference(folder)
    with federation(folder) as fed:
        for sql in QUERIES:
            assert rows(fed.sql(sql)) == rows(con.sql(sql).arrow().read_all()), sql
            assert rows(fed.sql(sql, pushdown=False)) == rows(fed.sql(sql)), sql


def test_types_are_inferred_from_the_files(folder: Path) -> None:
    with federation(folder) as fed:
        tables = fed.tables("files")
    types = {name: {c.name: c.type for c in info.columns} for name, info in tables.items()}
    assert types["price_book"] == dict(zip(PRICE_BOOK.names, PRICE_BOOK.types, strict=True))
    assert types["quotas"] == {**dict(zip(QUOTA_SCHEMA.names, QUOTA_SCHEMA.types,
                                          strict=True)), "source_file": pa.string()}
    assert types["orders"]["day"] == pa.date32()
    assert types["orders"]["amount"] == pa.float64()


def test_projection_and_filters_are_pushed(folder: Path) -> None:
    with federation(folder) as fed:
        fed.sql("SELECT name FROM files.price_book")
        scan = fed.last_stats.scans[0]
        assert scan.columns == ["name"]
        assert "COLUMNS name" in scan.native_request
        assert scan.pages == 1
        assert scan.bytes == (folder / "exports" / "price_book.csv").stat().st_size

        result = fed.sql("SELECT sku FROM files.orders WHERE qty > 5 AND sku LIKE 'A%'")
        scan = fed.last_stats.scans[0]
        assert sorted(scan.columns) == ["qty", "sku"]
        assert "COLUMNS sku, qty" in scan.native_request
        assert scan.pushed == [{"predicate": "qty > 5", "fidelity": "exact"}]
        assert scan.local == ["sku LIKE 'A%'"]
        assert scan.rows == 5  # qty 6 rows, filtered by pyarrow before DuckDB
        assert sorted(result.column("sku").to_pylist()) == ["A-1", "A-2"]
        whole = (folder / "exports" / "orders.parquet").stat().st_size
        assert 0 < scan.bytes < whole / 2  # only the two columns' chunks are read


def test_stacked_xlsx_files_name_their_source_file(folder: Path) -> None:
    with federation(folder) as fed:
        counts = fed.sql("SELECT source_file, count(*) AS n FROM files.quotas GROUP BY 1 "
                         "ORDER BY 1")
        assert counts.to_pylist() == [{"source_file": "quotas/quotas_2024.xlsx", "n": 3},
                                      {"source_file": "quotas/quotas_2025.xlsx", "n": 2}]
        assert fed.last_stats.scans[0].pages == 2
        one = fed.sql("SELECT rep FROM files.quotas "
                      "WHERE source_file = 'quotas/quotas_2025.xlsx' ORDER BY rep")
        assert one.column("rep").to_pylist() == ["Ana", "Bo"]
        scan = fed.last_stats.scans[0]
        assert scan.pushed[0]["fidelity"] == "exact" and scan.rows == 2


def test_a_file_that_disagrees_names_the_file_column_and_both_types(folder: Path) -> None:
    write_xlsx(folder / "exports" / "quotas" / "quotas_2026.xlsx", QUOTA_SCHEMA.names,
               [("Ana", "2026Q1", "n/a", dt.date(2026, 1, 1), None)])
    with federation(folder) as fed, pytest.raises(SchemaMismatchError) as info:
        fed.sql("SELECT rep FROM files.quotas")
    message = str(info.value)
    assert message.startswith("files.quotas.quota: quotas/quotas_2026.xlsx has it as string")
    assert "int64" in message


def test_a_file_that_lost_a_column_is_named(folder: Path) -> None:
    write_xlsx(folder / "exports" / "quotas" / "quotas_2026.xlsx", ["rep", "quarter"],
               [("Ana", "2026Q1")])
    with federation(folder) as fed, pytest.raises(SchemaMismatchError,
                                                  match="quotas_2026.xlsx has no column"):
        fed.tables("files")


def test_a_file_changed_after_discovery_is_schema_drift(folder: Path) -> None:
    with federation(folder) as fed:
        fed.tables("files")
        rows_now = [*PRICE_ROWS, ("D-1", "late", "call us", True, None, None)]
        write_csv(folder / "exports" / "price_book.csv", PRICE_BOOK.names, rows_now)
        with pytest.raises(SchemaMismatchError) as info:
            fed.sql("SELECT sku, price FROM files.price_book")
        assert str(info.value).startswith(
            "files.price_book.price: price_book.csv has values that no longer fit: "
            "discovered as double, now string")
        # rediscovered on the next query: the column is text now
        assert fed.sql("SELECT price FROM files.price_book WHERE sku = 'D-1'"
                       ).column("price").to_pylist() == ["call us"]


def test_missing_files_and_folders_name_the_path_and_catalog_key(folder: Path) -> None:
    tables = {**tables_option(), "targets": {"path": "targets/*.csv"}}
    with federation(folder, tables) as fed, pytest.raises(SourceUnavailableError) as info:
        fed.sql("SELECT * FROM files.price_book")
    assert "no file matches 'targets/*.csv'" in str(info.value)
    assert "sources.files.options.tables.targets.path" in str(info.value)

    (folder / "exports" / "price_book.csv").unlink()
    with federation(folder) as fed, pytest.raises(SourceUnavailableError) as info:
        fed.tables("files")
    assert "files.price_book: file 'price_book.csv' does not exist in " in str(info.value)

    with federation(folder / "nowhere") as fed, pytest.raises(SourceUnavailableError) as info:
        fed.tables("files")
    assert f"folder {folder / 'nowhere' / 'exports'} does not exist" in str(info.value)
    assert "sources.files.url" in str(info.value)


def test_a_corrupt_file_is_named(folder: Path) -> None:
    (folder / "exports" / "orders.parquet").write_bytes(b"not parquet at all")
    with federation(folder) as fed, pytest.raises(SourceError) as info:
        fed.tables("files")
    assert str(info.value).startswith("files.orders: orders.parquet is not a readable Parquet")


def test_user_sql_still_cannot_read_files(folder: Path) -> None:
    path = folder / "exports" / "price_book.csv"
    with federation(folder) as fed:
        for sql in (f"SELECT * FROM read_csv('{path}')",
                    f"SELECT count(*) FROM files.orders, read_parquet('{path}')"):
            with pytest.raises(NotAllowedError):
                fed.sql(sql)
        with pytest.raises(QueryError, match="unknown table"):  # a bare path is no table
            fed.sql(f"SELECT * FROM '{path}'")


@pytest.mark.parametrize(("table", "message"), [
    ({"path": "export.txt"}, "cannot tell the format of 'export.txt'"),
    ({"path": "a.csv", "sheet": "Q1"}, "sheet and header_row apply to xlsx files only"),
    ({"path": "a.csv", "colums": ["x"]}, "unknown key"),
])
def test_table_options_are_validated(folder: Path, table: dict[str, Any], message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        federation(folder, {"t": table})


def test_the_folder_is_a_file_url(folder: Path) -> None:
    """Relative file: URLs start at the catalog's folder, like secret files."""
    options = FilesOptions.model_validate({"tables": {"orders": {"path": "orders.parquet"}}})
    credentials = CatalogCredentials("files", {}, folder)
    for url in ("file:exports", f"file://{folder}/exports", f"file://localhost{folder}/exports"):
        adapter = FilesAdapter("files", None, options, credentials, url=url, base_dir=folder)
        assert adapter.root == folder / "exports"
        assert [c.name for c in adapter.discover()["orders"].columns][:2] == ["id", "sku"]
        adapter.close()
    with pytest.raises(CatalogError, match="must start with file://"):
        federation(folder, url="https://example.com/exports")
    with pytest.raises(CatalogError, match="is not a folder on this machine"):
        FilesAdapter("files", None, options, credentials, url="file://server/share",
                     base_dir=folder)
