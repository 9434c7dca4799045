"""Put the sandbox's file-based systems on disk: the legacy ERP database and the exports.

These stand for systems Concord reads, not copies Concord keeps: the legacy ERP as a
SQLite database (PostgreSQL in the tests), the finance team's exports as CSV and Excel.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import adbc_driver_sqlite.dbapi as sqlite
import pyarrow as pa
import pyarrow.csv as pacsv

from sandbox.projections.erp_model import FileExports, LegacyDatabase

_SQLITE_TYPES = {
    "int64": "INTEGER", "string": "TEXT", "date32[day]": "DATE", "double": "REAL",
    "bool": "BOOLEAN",
}


def _sqlite_type(kind: pa.DataType) -> str:
    if pa.types.is_decimal(kind):
        return f"NUMERIC({kind.precision},{kind.scale})"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP"
    return _SQLITE_TYPES.get(str(kind), "TEXT")


def _sqlite_value(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def write_legacy_sqlite(legacy: LegacyDatabase, path: Path) -> Path:
    """Create (or replace) the legacy ERP as a SQLite file with declared column types."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with sqlite.connect(str(path)) as con, con.cursor() as cur:
        for name, table in legacy.tables.items():
            columns = ", ".join(f'"{f.name}" {_sqlite_type(f.type)}' for f in table.schema)
            cur.execute(f'CREATE TABLE "{name}" ({columns})')
            marks = ", ".join("?" for _ in table.schema)
            rows = [tuple(_sqlite_value(v) for v in row.values()) for row in table.to_pylist()]
            if rows:
                cur.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)
        con.commit()
    return path


def write_exports(files: FileExports, folder: Path) -> Path:
    """Write every export under ``folder`` in the format its name says (.csv, .xlsx)."""
    from openpyxl import Workbook

    for relative, table in files.files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix == ".csv":
            pacsv.write_csv(table, target)
        elif target.suffix == ".xlsx":
            book = Workbook()
            sheet = book.active
            sheet.append(table.column_names)
            for row in table.to_pylist():
                sheet.append([float(v) if isinstance(v, Decimal) else v for v in row.values()])
            book.save(target)
        elif target.suffix == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, target)
        else:
            raise ValueError(f"unknown export format: {relative}")
    return folder
