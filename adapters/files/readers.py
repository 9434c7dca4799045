"""Reading one CSV, Parquet or XLSX file: its schema, and its rows as Arrow batches.

Kept free of catalog and engine concerns: problems surface as the three exceptions
below, and the adapter turns them into Concord errors naming the source, table and
file. Types are inferred per file the same way at discovery and at scan, so a file
that changed since discovery is told apart from one that is merely read again.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

Format = Literal["csv", "parquet", "xlsx"]
_BLOCK_MAX = 2**31 - 1  # pyarrow's CSV block size is a 32-bit int
_MISSING_CSV_COLUMN = re.compile(r"Column '(.*)' in include_columns does not exist")
_TIME_FORMAT = re.compile(r"[hs]", re.IGNORECASE)
_INT64 = (-(2**63), 2**63 - 1)


class FileProblem(Exception):
    """The file cannot be read at all (corrupt, wrong format, bad header)."""


class ColumnMissing(Exception):
    """A column the scan needs is not in the file (any more)."""

    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


class ColumnDrift(Exception):
    """A column's values in the file no longer fit the discovered type."""

    def __init__(self, column: str, now: pa.DataType | str) -> None:
        super().__init__(column)
        self.column = column
        self.now = now


@dataclass(frozen=True)
class ReadSpec:
    """How to parse the files of one table (from the catalog)."""

    format: Format
    delimiter: str = ","
    encoding: str = "utf-8"
    sheet: str | int | None = None
    header_row: int = 1


# -- types ------------------------------------------------------------------------------


def merge_types(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """The type two files' versions of one column stack as, or None if they conflict.

    Only lossless-in-practice widenings are allowed: an all-empty column (null) takes
    the other type, integers widen to int64 and mixed integers/floats to float64 (an
    xlsx column is int64 only when every number in *that* file is integral), and
    timestamps of one time zone but different units meet at microseconds.
    """
    if a == b:
        return a
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b):
        return a
    if pa.types.is_integer(a) and pa.types.is_integer(b):
        return pa.int64()
    numeric = (pa.types.is_integer, pa.types.is_floating)
    if any(t(a) for t in numeric) and any(t(b) for t in numeric):
        return pa.float64()
    if pa.types.is_timestamp(a) and pa.types.is_timestamp(b) and a.tz == b.tz:
        return pa.timestamp("us", a.tz)
    return None


def _normalize(kind: pa.DataType) -> pa.DataType:
    """Dictionary-encoded columns read as their values; inferred timestamps in µs."""
    if pa.types.is_dictionary(kind):
        return _normalize(kind.value_type)
    return kind


def _check_names(names: list[str]) -> None:
    seen: dict[str, str] = {}
    for name in names:
        if not name:
            raise FileProblem("has a column without a name in its header")
        if name.lower() in seen:  # SQL identifiers are case-insensitive
            raise FileProblem(f"has two columns named {seen[name.lower()]!r} and {name!r}")
        seen[name.lower()] = name


# -- discovery --------------------------------------------------------------------------


def infer_schema(path: Path, spec: ReadSpec) -> pa.Schema:
    """Column names and Arrow types of one file (``null`` for all-empty columns)."""
    if spec.format == "csv":
        table = _read_csv(path, spec, whole_file=True)
        schema = pa.schema([pa.field(f.name, _csv_type(f.type)) for f in table.schema])
    elif spec.format == "parquet":
        try:
            raw = pq.read_schema(path)
        except (pa.ArrowException, OSError) as exc:
            raise FileProblem(f"is not a readable Parquet file ({exc})") from exc
        schema = pa.schema([pa.field(f.name, _normalize(f.type)) for f in raw])
    else:
        sheet = _read_sheet(path, spec)
        schema = pa.schema([pa.field(n, _xlsx_type(sheet.values[n], n in sheet.timelike))
                            for n in sheet.names])
    _check_names(schema.names)
    return schema


# -- scanning ---------------------------------------------------------------------------


def read(path: Path, spec: ReadSpec, types: dict[str, pa.DataType],
         where: pc.Expression | None) -> Iterator[pa.RecordBatch]:
    """Batches of exactly ``types`` (name → discovered type), filtered by ``where``."""
    if spec.format == "parquet":
        yield from _read_parquet(path, types, where)
        return
    scan = _scan_csv if spec.format == "csv" else _scan_sheet
    table = scan(path, spec, types)
    if where is not None:
        table = table.filter(where)
    yield from table.to_batches()


def bytes_read(path: Path, spec: ReadSpec, columns: list[str]) -> int:
    """Bytes a scan reads: the needed column chunks for Parquet, the whole file otherwise."""
    if spec.format != "parquet":
        return path.stat().st_size
    try:
        meta = pq.read_metadata(path)
    except (pa.ArrowException, OSError):
        return path.stat().st_size
    wanted = set(columns)
    total = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            if chunk.path_in_schema.split(".")[0] in wanted:
                total += chunk.total_compressed_size
    return total


def _conform(table: pa.Table, types: dict[str, pa.DataType]) -> pa.Table:
    """``table`` with the columns in ``types``' order, cast to the discovered types."""
    arrays = []
    for name, want in types.items():
        column = table.column(name)
        if column.type != want:
            try:
                column = column.cast(want)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ColumnDrift(name, column.type) from exc
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=pa.schema(list(types.items())))


def _check_type(name: str, want: pa.DataType, now: pa.DataType) -> None:
    if merge_types(want, now) != want:
        raise ColumnDrift(name, now)


# -- CSV --------------------------------------------------------------------------------


def _csv_type(kind: pa.DataType) -> pa.DataType:
    return pa.timestamp("us", kind.tz) if pa.types.is_timestamp(kind) else kind


def _read_csv(path: Path, spec: ReadSpec, *, whole_file: bool,
              types: dict[str, pa.DataType] | None = None) -> pa.Table:
    """Empty cells (quoted or not) are NULL; nothing else is ("NA" may be Namibia)."""
    read_options = pacsv.ReadOptions(encoding=spec.encoding)
    if whole_file:
        # pyarrow infers types from the first block only and then fails on a later
        # value that does not fit, so discovery reads the file as one block
        read_options.block_size = max(1 << 20, min(path.stat().st_size + 1, _BLOCK_MAX))
    convert = pacsv.ConvertOptions(
        null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
        include_columns=list(types or {}), column_types=types or {})
    parse = pacsv.ParseOptions(delimiter=spec.delimiter, newlines_in_values=True)
    try:
        return pacsv.read_csv(path, read_options=read_options, parse_options=parse,
                              convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError, LookupError) as exc:
        missing = _MISSING_CSV_COLUMN.search(str(exc))
        if missing:
            raise ColumnMissing(missing.group(1)) from exc
        if types and "conversion error" in str(exc):
            raise _csv_drift(path, spec, types) from exc
        raise FileProblem(f"is not a readable CSV file ({exc})") from exc


def _csv_drift(path: Path, spec: ReadSpec, types: dict[str, pa.DataType]) -> Exception:
    """Re-infer the file to name the column that no longer fits, and its type now."""
    try:
        now = _read_csv(path, spec, whole_file=True).schema
    except FileProblem as exc:
        return exc
    for name, want in types.items():
        if name in now.names:
            found = _csv_type(now.field(name).type)
            if merge_types(want, found) != want:
                return ColumnDrift(name, found)
    return FileProblem("has a value that does not fit its column's type")


def _scan_csv(path: Path, spec: ReadSpec, types: dict[str, pa.DataType]) -> pa.Table:
    return _conform(_read_csv(path, spec, whole_file=False, types=types), types)


# -- Parquet ----------------------------------------------------------------------------


def _read_parquet(path: Path, types: dict[str, pa.DataType],
                  where: pc.Expression | None) -> Iterator[pa.RecordBatch]:
    """Projected and filtered by pyarrow.dataset, which also skips row groups by stats."""
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise FileProblem(f"is not a readable Parquet file ({exc})") from exc
    for name, want in types.items():
        if schema.get_field_index(name) < 0:
            raise ColumnMissing(name)
        _check_type(name, want, _normalize(schema.field(name).type))
    try:
        dataset = ds.dataset(str(path), format="parquet")
        for batch in dataset.to_batches(columns=list(types), filter=where):
            yield from _conform(pa.Table.from_batches([batch]), types).to_batches()
    except (pa.ArrowInvalid, pa.ArrowIOError) as exc:
        raise FileProblem(f"could not be read ({exc})") from exc


# -- XLSX -------------------------------------------------------------------------------


@dataclass
class _Sheet:
    names: list[str]
    values: dict[str, list[Any]]  # column → cell values, None for empty cells
    timelike: set[str]  # columns with a time of day or a time number format


def _read_sheet(path: Path, spec: ReadSpec) -> _Sheet:
    """Header row, then every non-empty row below it (cached formula values)."""
    # imported here: openpyxl takes ~0.25 s to import and most runs read no xlsx
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise FileProblem(f"is not a readable .xlsx file ({exc})") from exc
    try:
        sheet = _pick_sheet(book, spec.sheet)
        sheet.reset_dimensions()  # some writers store a wrong used range
        rows = sheet.iter_rows(min_row=spec.header_row)
        header = next(rows, None)
        if header is None:
            raise FileProblem(f"has no header in row {spec.header_row} of sheet "
                              f"{sheet.title!r}")
        names = [_header_text(cell.value) for cell in header]
        while names and not names[-1]:
            names.pop()
        _check_names(names)
        values: dict[str, list[Any]] = {n: [] for n in names}
        timelike: set[str] = set()
        for row in rows:
            cells: list[Any] = [None] * len(names)
            for i, cell in enumerate(row):
                value = cell.value
                if value is None or value == "":
                    continue
                if i >= len(names):
                    raise FileProblem(f"cell {cell.coordinate} has data but its column has "
                                      "no header")
                if isinstance(value, dt.datetime) and (
                        value.time() != dt.time() or _TIME_FORMAT.search(cell.number_format
                                                                         or "")):
                    timelike.add(names[i])
                cells[i] = value
            if any(v is not None for v in cells):  # blank rows (e.g. trailing) are skipped
                for name, value in zip(names, cells, strict=True):
                    values[name].append(value)
        return _Sheet(names, values, timelike)
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise FileProblem(f"is not a readable .xlsx file ({exc})") from exc
    finally:
        book.close()


def _pick_sheet(book: Any, sheet: str | int | None) -> Any:
    if sheet is None:
        return book.worksheets[0]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(book.worksheets):
            raise FileProblem(f"has no sheet number {sheet} (it has {len(book.worksheets)})")
        return book.worksheets[sheet]
    if sheet not in book.sheetnames:
        raise FileProblem(f"has no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
    return book[sheet]


def _header_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _xlsx_type(values: list[Any], timelike: bool) -> pa.DataType:
    """Numbers → float64 (int64 when all integral), dates → date32 or timestamp, ...

    A column mixing kinds (numbers and text, say) reads as text, as a person looking at
    the sheet would read it.
    """
    present = [v for v in values if v is not None]
    if not present:
        return pa.null()
    if all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if all(_is_number(v) for v in present):
        integral = all(
            isinstance(v, int) or (math.isfinite(v) and v.is_integer()) for v in present)
        if integral and all(_INT64[0] <= v <= _INT64[1] for v in present):
            return pa.int64()
        return pa.float64()
    if all(isinstance(v, (dt.datetime, dt.date)) for v in present):
        return pa.timestamp("us") if timelike else pa.date32()
    if all(isinstance(v, dt.time) for v in present):
        return pa.time64("us")
    return pa.string()


def _text(value: Any) -> str:
    """How a cell reads as text when its column mixes kinds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _xlsx_array(values: list[Any], now: pa.DataType, want: pa.DataType) -> pa.Array:
    if pa.types.is_null(now):
        return pa.nulls(len(values), want)
    if pa.types.is_string(now):
        converted = [None if v is None else _text(v) for v in values]
    elif pa.types.is_integer(now):
        converted = [None if v is None else int(v) for v in values]
    elif pa.types.is_date(now):
        converted = [v.date() if isinstance(v, dt.datetime) else v for v in values]
    else:
        converted = values
    return pa.array(converted, now).cast(want)


def _scan_sheet(path: Path, spec: ReadSpec, types: dict[str, pa.DataType]) -> pa.Table:
    sheet = _read_sheet(path, spec)
    arrays = []
    for name, want in types.items():
        if name not in sheet.values:
            raise ColumnMissing(name)
        now = _xlsx_type(sheet.values[name], name in sheet.timelike)
        _check_type(name, want, now)
        arrays.append(_xlsx_array(sheet.values[name], now, want))
    return pa.Table.from_arrays(arrays, schema=pa.schema(list(types.items())))
