"""Files adapter: tables declared in the catalog, each a glob of CSV, Parquet or XLSX files.

Legacy systems that only export files (quotas per rep and quarter, the price book) are a
source like any other. Files are read here, inside the adapter, never by user SQL: the
engine still refuses ``read_csv`` and friends, and DuckDB still runs without external
access. Discovery reads the files for their columns and types (several files matched by
one glob are stacked and must agree); scans read only the needed columns and apply the
pushed predicates with pyarrow, which for Parquet also skips row groups by statistics.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
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
from adapters.files import filters, readers
from adapters.http import SourceHTTP
from federation.errors import (
    CatalogError,
    SchemaMismatchError,
    SourceError,
    SourceUnavailableError,
)

_SUFFIXES: dict[str, readers.Format] = {
    ".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx",
}
_LISTED_FILES = 5  # how many file names the native request shows


class FileTableOptions(BaseModel):
    """One table: a path or glob under the source's folder, and how to parse it."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1)  # relative to the folder; globs (* ? [] **) stack files
    format: readers.Format | None = None  # default: from the extension
    sheet: str | int | None = None  # xlsx: sheet name or 0-based index; None = first sheet
    header_row: int = Field(1, ge=1)  # xlsx: the row holding the column names
    delimiter: str = Field(",", min_length=1, max_length=1)  # csv
    encoding: str = "utf-8"  # csv
    add_source_column: str | None = Field(None, min_length=1)  # column naming each row's file
    description: str = ""

    @model_validator(mode="after")
    def _format_and_its_options(self) -> FileTableOptions:
        if self.format is None:
            suffix = PurePath(self.path).suffix.lower()
            if suffix not in _SUFFIXES:
                raise ValueError(f"cannot tell the format of {self.path!r} from its "
                                 "extension; set format: csv, parquet or xlsx")
            self.format = _SUFFIXES[suffix]
        given = self.model_fields_set
        if self.format != "xlsx" and given & {"sheet", "header_row"}:
            raise ValueError("sheet and header_row apply to xlsx files only")
        if self.format != "csv" and given & {"delimiter", "encoding"}:
            raise ValueError("delimiter and encoding apply to csv files only")
        return self

    def spec(self) -> readers.ReadSpec:
        assert self.format is not None  # set by the validator
        return readers.ReadSpec(self.format, self.delimiter, self.encoding, self.sheet,
                                self.header_row)


class FilesOptions(BaseModel):
    """The tables of one folder (the folder itself is the source's ``url``)."""

    model_config = ConfigDict(extra="forbid")

    tables: dict[str, FileTableOptions] = Field(min_length=1)

    @field_validator("tables")
    @classmethod
    def _table_names(cls, value: dict[str, FileTableOptions]) -> dict[str, FileTableOptions]:
        seen: set[str] = set()
        for name in value:
            if not name.strip():
                raise ValueError("table names must not be empty")
            if name.lower() in seen:  # SQL names are case-insensitive
                raise ValueError(f"table {name!r} is declared twice (names ignore case)")
            seen.add(name.lower())
        return value


class FilesAdapter(Adapter):
    """Reads one folder of exported files. No credentials: the files' permissions apply.

    The folder is the catalog ``url``: ``file:///abs/path``, or ``file:relative/path``
    resolved against the catalog's folder (as secret files are). The catalog's folder is
    ``base_dir`` when given, else the one the catalog credentials resolve files against.
    """

    type_name = "files"
    Options = FilesOptions
    url_schemes = ("file",)
    uses_http = False

    def __init__(self, name: str, http: SourceHTTP | None, options: FilesOptions,
                 credentials: Credentials, *, url: str = "",
                 base_dir: Path | None = None) -> None:
        super().__init__(name, http, options, credentials, url=url, base_dir=base_dir)
        self.root = self._resolve_root(url)

    def _resolve_root(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            raise CatalogError(f"url {url!r} is not a folder on this machine",
                               source=self.name, object="url",
                               hint="use file:///abs/path, or file:path relative to the "
                                    "catalog's folder")
        where = Path(unquote(parts.path) or ".").expanduser()
        return Path(os.path.abspath(where if where.is_absolute() else self.base_dir / where))

    def _where_root(self) -> str:
        return f"sources.{self.name}.url"

    # -- files --------------------------------------------------------------------------

    def _files(self, table: str) -> list[Path]:
        """The table's files, sorted by name (the order rows are stacked in)."""
        if not self.root.is_dir():
            state = "is not a folder" if self.root.exists() else "does not exist"
            raise SourceUnavailableError(f"folder {self.root} {state}", source=self.name,
                                         hint=f"check {self._where_root()}")
        pattern = self.options.tables[table].path
        full = pattern if os.path.isabs(pattern) else os.path.join(
            glob.escape(str(self.root)), pattern)
        found = sorted(Path(p) for p in glob.glob(full, recursive=True)
                       if os.path.isfile(p) and not os.path.basename(p).startswith("~$"))
        if not found:
            what = (f"no file matches {pattern!r}" if glob.has_magic(pattern)
                    else f"file {pattern!r} does not exist")
            raise SourceUnavailableError(
                f"{what} in {self.root}", source=self.name, object=table,
                hint=f"check sources.{self.name}.options.tables.{table}.path (relative to "
                     f"{self._where_root()})")
        return found  # Excel's "~$name.xlsx" lock files are skipped above

    def _relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    # -- discovery ----------------------------------------------------------------------

    def discover(self) -> dict[str, TableInfo]:
        return {table: self._table_info(table) for table in self.options.tables}

    def _table_info(self, table: str) -> TableInfo:
        options = self.options.tables[table]
        spec = options.spec()
        merged: dict[str, pa.DataType] = {}
        first = ""
        for path in self._files(table):
            rel = self._relative(path)
            try:
                schema = readers.infer_schema(path, spec)
            except readers.FileProblem as exc:
                raise self._unreadable(table, rel, exc) from exc
            except OSError as exc:
                raise SourceError(f"cannot read {rel}: {exc.strerror}", source=self.name,
                                  object=table, hint="check the file's permissions") from exc
            if not first:
                first, merged = rel, dict(zip(schema.names, schema.types, strict=True))
                continue
            self._stack(table, merged, first, rel, schema)
        columns = [Column(name, pa.string() if pa.types.is_null(kind) else kind,
                          native_type=f"{spec.format} {kind}")
                   for name, kind in merged.items()]
        source_column = options.add_source_column
        if source_column is not None:
            if source_column.lower() in {n.lower() for n in merged}:
                raise CatalogError(f"add_source_column {source_column!r} is already a column "
                                   f"of {first}", source=self.name, object=table,
                                   hint="choose another name")
            columns.append(Column(source_column, pa.string(), native_type="file name",
                                  description="the file the row was read from, relative to "
                                              "the folder"))
        return TableInfo(table, tuple(columns),
                         description=options.description or f"{spec.format} {options.path}")

    def _stack(self, table: str, merged: dict[str, pa.DataType], first: str, rel: str,
               schema: pa.Schema) -> None:
        """Fold one more file's schema into ``merged``; columns and types must agree."""
        hint = ("files matched by one path must have the same columns and types; fix the "
                "file or narrow options.tables path")
        for name in merged:
            if name not in schema.names:
                raise SchemaMismatchError(f"{rel} has no column {name!r}, which {first} has",
                                          source=self.name, object=table, field=name,
                                          hint=hint)
        for name, kind in zip(schema.names, schema.types, strict=True):
            if name not in merged:
                raise SchemaMismatchError(f"{rel} has column {name!r}, which {first} has not",
                                          source=self.name, object=table, field=name,
                                          hint=hint)
            both = readers.merge_types(merged[name], kind)
            if both is None:
                raise SchemaMismatchError(
                    f"{rel} has it as {kind}, while {first} (and the files before {rel}) "
                    f"have it as {merged[name]}", source=self.name, object=table, field=name,
                    hint=hint)
            merged[name] = both

    def _unreadable(self, table: str, rel: str, problem: Exception) -> SourceError:
        return SourceError(f"{rel} {problem}", source=self.name, object=table,
                           hint="fix or replace the file; it is read again on the next query")

    # -- pushdown -----------------------------------------------------------------------

    def classify(self, table: TableInfo, predicate: exp.Expression) -> Pushdown:
        compiled = filters.compile_filter(table, predicate)
        return Pushdown.UNSUPPORTED if compiled is None else compiled[0].pushdown

    def _plan(self, table: TableInfo, request: ScanRequest
              ) -> tuple[dict[str, pa.DataType], pc.Expression | None, pc.Expression | None]:
        """File columns to read, the filter a file reader applies, and the one applied
        after the source column is added (a filter that reads it)."""
        source_column = self.options.tables[table.name].add_source_column
        in_file: list[pc.Expression] = []
        after: list[pc.Expression] = []
        needed = {c.lower() for c in request.columns}
        for predicate in request.filters:
            compiled = filters.compile_filter(table, predicate)
            if compiled is None:
                raise ValueError(f"predicate cannot be pushed: {predicate.sql()}")
            expression, used = compiled[0].text, compiled[1]
            needed |= {c.lower() for c in used}
            (after if source_column in used else in_file).append(expression)
        file_columns = [c for c in table.columns if c.name != source_column]
        types = {c.name: c.type for c in file_columns if c.name.lower() in needed}
        if not types:  # only the source column (or COUNT(*)): one column for the rows
            types = {file_columns[0].name: file_columns[0].type}
        return types, _all(in_file), _all(after)

    def native_request(self, table: TableInfo, request: ScanRequest) -> str:
        options = self.options.tables[table.name]
        types, in_file, after = self._plan(table, request)
        try:
            names = [self._relative(p) for p in self._files(table.name)]
            listed = ", ".join(names[:_LISTED_FILES]) + (
                f", … ({len(names)} files)" if len(names) > _LISTED_FILES else "")
        except SourceError:
            listed = "no file found"
        text = f"READ {options.format} {options.path} [{listed}] COLUMNS {', '.join(types)}"
        if options.add_source_column in request.columns:
            text += f" ADD {options.add_source_column}"
        where = _all([e for e in (in_file, after) if e is not None])
        return text if where is None else f"{text} WHERE {' '.join(str(where).split())}"

    # -- scanning -----------------------------------------------------------------------

    def scan(self, table: TableInfo, request: ScanRequest,
             ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        ctx.metrics.native_requests.append(self.native_request(table, request))
        options = self.options.tables[table.name]
        spec = options.spec()
        types, in_file, after = self._plan(table, request)
        schema = table.arrow_schema(request.columns)
        for path in self._files(table.name):
            if ctx.cancelled.is_set():
                return
            rel = self._relative(path)
            try:
                for batch in readers.read(path, spec, types, in_file):
                    out = _finish(batch, schema, options.add_source_column, rel, after)
                    if out.num_rows:
                        ctx.metrics.rows += out.num_rows
                        yield out
                ctx.metrics.bytes += readers.bytes_read(path, spec, list(types))
            except readers.ColumnMissing as exc:
                raise SchemaMismatchError(
                    f"{rel} no longer has this column", source=self.name, object=table.name,
                    field=exc.column, hint="the file changed since discovery; Concord "
                                           "rediscovers on the next query") from exc
            except readers.ColumnDrift as exc:
                before = types.get(exc.column)
                raise SchemaMismatchError(
                    f"{rel} has values that no longer fit: discovered as {before}, now "
                    f"{exc.now}", source=self.name, object=table.name, field=exc.column,
                    hint="the file changed since discovery; Concord rediscovers on the next "
                         "query") from exc
            except readers.FileProblem as exc:
                raise self._unreadable(table.name, rel, exc) from exc
            except FileNotFoundError as exc:
                raise SourceUnavailableError(
                    f"{rel} disappeared while it was read", source=self.name,
                    object=table.name, hint="run the query again") from exc
            except OSError as exc:
                raise SourceError(f"cannot read {rel}: {exc.strerror or exc}",
                                  source=self.name, object=table.name,
                                  hint="check the file's permissions") from exc
            ctx.metrics.pages += 1


def _all(parts: list[Any]) -> Any | None:
    """AND of pyarrow expressions, or None for none."""
    if not parts:
        return None
    result = parts[0]
    for part in parts[1:]:
        result = result & part
    return result


def _finish(batch: pa.RecordBatch, schema: pa.Schema, source_column: str | None, rel: str,
            after: pc.Expression | None) -> pa.RecordBatch:
    """The batch with the source column, the filters that read it, and the asked columns."""
    table = pa.Table.from_batches([batch])
    if source_column is not None:
        table = table.append_column(source_column, pa.array([rel] * table.num_rows,
                                                            pa.string()))
    if after is not None:
        table = table.filter(after)
    arrays = [table.column(name).combine_chunks() for name in schema.names]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
