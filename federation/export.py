"""``concord export``: a query's answer written to a file, with a manifest beside it.

Concord reads sources live and keeps what it fetches in memory (the scan cache), not on
disk. This module is the deliberate way to put source data in a file, and only on
explicit request: the user names the output, an existing file is never replaced without
``force``, and a manifest records what was exported and how fresh it was, so the copy can
be traced back to its sources once it leaves Concord. (``concord query --output`` also
writes a result, but plainly: no manifest, no overwrite check.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import math
import os
import re
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from federation.engine import Federation
from federation.errors import ConcordError
from federation.stats import QueryStats

FORMATS = ("parquet", "csv", "arrow", "xlsx")

#: Excel's sheet limits (one row goes to the header)
XLSX_MAX_ROWS = 1_048_576 - 1
XLSX_MAX_COLUMNS = 16_384

_SQL_START = re.compile(r"\s*(\(|(select|with|from|values|table)\b)", re.IGNORECASE)
_NAME = re.compile(r'(?:[A-Za-z_][\w$]*|"[^"]+")(?:\.(?:[A-Za-z_][\w$]*|"[^"]+"))*')


def target_sql(target: str) -> str:
    """The SQL to run: a bare view or table name means all of it, anything else is SQL."""
    text = target.strip()
    if not text:
        raise ConcordError("nothing to export", hint="name a view or table, or give a query")
    if not _SQL_START.match(text) and _NAME.fullmatch(text):
        return f"SELECT * FROM {text}"
    return text


def manifest_path(output: Path) -> Path:
    """The manifest sits next to the output: ``<output>.manifest.json``."""
    return output.with_name(output.name + ".manifest.json")


def check_writable(output: Path, force: bool) -> None:
    """Fail before any work if the output or its manifest exists and ``force`` is off."""
    if not output.parent.is_dir():
        raise ConcordError(f"the folder {output.parent} does not exist",
                           hint="create it first or choose another --output")
    for path in (output, manifest_path(output)):
        if path.is_dir():
            raise ConcordError(f"{path} is a folder", hint="--output needs a file name")
        if path.exists() and not force:
            raise ConcordError(f"{path} already exists",
                               hint="pass --force to overwrite it")


def export(fed: Federation, target: str, fmt: str, output: Path, *, force: bool = False,
           progress: Callable[..., None] | None = None,
           user: str | None = None) -> dict[str, Any]:
    """Run ``target`` live, write it as ``fmt`` to ``output`` plus a manifest; return it.

    Both files are written to temporary names in the output's folder and renamed into
    place only once complete, so a failed export leaves no half-written file behind.
    """
    if fmt not in FORMATS:
        raise ConcordError(f"unknown export format {fmt!r}", hint="use " + "|".join(FORMATS))
    output = Path(output)
    check_writable(output, force)
    sql = target_sql(target)
    data_tmp: Path | None = None
    manifest_tmp: Path | None = None
    try:
        with fed.stream(sql, progress=progress, user=user) as result:
            created = dt.datetime.now(dt.UTC)
            data_tmp = _reserve(output)
            rows = write_batches(result, result.schema, fmt, data_tmp)  # a batch at a time
        manifest = build_manifest(result.schema, rows, sql=sql, fmt=fmt, output=output,
                                  stats=result.stats, created_at=created,
                                  sha256=_sha256(data_tmp))
        manifest_tmp = _reserve(manifest_path(output))
        manifest_tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                encoding="utf-8")
        check_writable(output, force)  # nobody created them while the query ran
        os.replace(data_tmp, output)
        os.replace(manifest_tmp, manifest_path(output))
    except OSError as exc:
        raise ConcordError(f"could not write {output}: {exc.strerror or exc}",
                           hint="check the folder is writable and has space") from exc
    finally:
        for tmp in (data_tmp, manifest_tmp):
            if tmp is not None:
                tmp.unlink(missing_ok=True)
    return manifest


def build_manifest(schema: pa.Schema, rows: int, *, sql: str, fmt: str, output: Path,
                   stats: QueryStats | None, created_at: dt.datetime,
                   sha256: str | None = None) -> dict[str, Any]:
    """What the file holds and how fresh each source's data was when it was read."""
    scans = list(stats.scans) if stats is not None else []
    sources: dict[str, dict[str, Any]] = {}
    for scan in scans:
        entry = sources.setdefault(scan.source, {"objects": [], "age": 0.0, "cached": False})
        if scan.object not in entry["objects"]:
            entry["objects"].append(scan.object)
        entry["age"] = max(entry["age"], scan.data_age_seconds)
        entry["cached"] = entry["cached"] or scan.cache_hit
    return {
        "concord_version": _version(),
        "created_at": _iso(created_at),
        "file": output.name,
        "format": fmt,
        "sha256": sha256,
        "sql": sql,
        "rows": rows,
        "columns": [{"name": f.name, "type": str(f.type)} for f in schema],
        "as_of": stats.as_of if stats is not None else _iso(created_at),
        "sources": [
            {"source": name, "objects": sorted(entry["objects"]),
             "as_of": _iso(created_at - dt.timedelta(seconds=entry["age"])),
             "from_cache": entry["cached"]}
            for name, entry in sorted(sources.items())
        ],
    }


def write_batches(batches: Iterable[pa.RecordBatch], schema: pa.Schema, fmt: str,
                  path: Path) -> int:
    """Write ``batches`` to ``path`` as ``fmt`` as they come, so an export holds one batch
    in memory, not the answer; return the rows written. pyarrow's refusals become
    ConcordErrors."""
    try:
        if fmt == "parquet":
            with pq.ParquetWriter(path, schema) as parquet:
                return _each(batches, parquet.write_batch)
        if fmt == "arrow":
            with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, schema) as writer:
                return _each(batches, writer.write_batch)
        if fmt == "csv":
            with pacsv.CSVWriter(path, _nested_as_json_schema(schema)) as csv:
                return _each(batches, lambda batch: csv.write(_nested_as_json(batch)))
        if fmt == "xlsx":
            return _write_xlsx(batches, schema, path)
        raise ConcordError(f"unknown export format {fmt!r}", hint="use " + "|".join(FORMATS))
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise ConcordError(f"could not write the result as {fmt}: {exc}",
                           hint="try --format parquet or arrow, which keep every type") from exc


def _each(batches: Iterable[pa.RecordBatch], write: Callable[[pa.RecordBatch], None]) -> int:
    rows = 0
    for batch in batches:
        write(batch)
        rows += batch.num_rows
    return rows


def _write_xlsx(batches: Iterable[pa.RecordBatch], schema: pa.Schema, path: Path) -> int:
    """Header plus rows; dates as Excel dates, tz-aware timestamps as naive UTC."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils.exceptions import IllegalCharacterError

    too_big = ConcordError(f"the answer does not fit an Excel sheet ({XLSX_MAX_ROWS:,} rows "
                           f"× {XLSX_MAX_COLUMNS:,} columns at most)",
                           hint="use --format parquet, arrow or csv")
    if len(schema) > XLSX_MAX_COLUMNS:
        raise too_big
    book = Workbook(write_only=True)
    sheet = book.create_sheet("export")
    sheet.freeze_panes = "A2"

    def cell(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None  # Excel has no NaN or infinity
        if isinstance(value, str) and value.startswith("="):
            text = WriteOnlyCell(sheet, value)
            text.data_type = "s"  # data, never a formula
            return text
        if isinstance(value, bytes):
            return value.hex()
        return value

    rows = 0
    try:
        sheet.append([cell(name) for name in schema.names])
        for batch in batches:
            rows += batch.num_rows
            if rows > XLSX_MAX_ROWS:
                raise too_big
            batch = _nested_as_json(_naive_utc(batch))
            columns = [column.to_pylist() for column in batch.columns]
            for row in zip(*columns, strict=True):
                sheet.append([cell(v) for v in row])
    except IllegalCharacterError as exc:
        raise ConcordError("the result holds control characters Excel cannot store",
                           hint="use --format parquet, arrow or csv") from exc
    book.save(str(path))
    return rows


def _naive_utc(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Excel has no time zones: timestamps with one become naive UTC."""
    for i, field in enumerate(batch.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            naive = pc.cast(batch.column(i), pa.timestamp(field.type.unit))
            batch = batch.set_column(i, field.name, naive)
    return batch


def _nested_as_json_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f.with_type(pa.string()) if pa.types.is_nested(f.type) else f
                      for f in schema])


def _nested_as_json(batch: pa.RecordBatch) -> pa.RecordBatch:
    """CSV and Excel cells hold scalars: lists, structs and maps become JSON text."""
    for i, field in enumerate(batch.schema):
        if pa.types.is_nested(field.type):
            text = [None if v is None else json.dumps(v, default=str, ensure_ascii=False)
                    for v in batch.column(i).to_pylist()]
            batch = batch.set_column(i, field.name, pa.array(text, pa.string()))
    return batch


def _reserve(path: Path) -> Path:
    """A fresh hidden temporary name in ``path``'s folder (same file system: atomic rename)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.open("xb").close()  # created with the usual permissions, not mkstemp's 0600
    return tmp


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _version() -> str:
    try:
        return importlib.metadata.version("concord")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")
