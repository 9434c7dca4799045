"""``COPY ... TO STDOUT``: how psql's ``\\copy``, psycopg's ``cursor.copy()`` and bulk
readers take a whole answer, in PostgreSQL's text, CSV or binary COPY formats.

Only ``TO STDOUT`` is served (a read); ``COPY ... FROM`` is a write and gets 25006 like any
other. Rows are encoded a batch at a time by ``encode.py`` and sent one CopyData per row,
as PostgreSQL does.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from federation.pgwire import messages as m
from federation.pgwire.encode import encode_values, messages, tuples
from federation.pgwire.types import PgType

_COPY = re.compile(
    r"^\s*COPY\s+(?:\((?P<query>.+)\)|(?P<table>(?:\"[^\"]+\"|[\w$]+)(?:\.(?:\"[^\"]+\"|[\w$]+))?)"
    r"\s*(?:\((?P<columns>[^)]*)\))?)\s+TO\s+STDOUT\b(?P<options>.*?)\s*;?\s*$", re.I | re.S)
BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
BINARY_TRAILER = struct.pack(">h", -1)
_TEXT_ESCAPES = (("\\", "\\\\"), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))


@dataclass(frozen=True)
class CopyOut:
    """A parsed ``COPY ... TO STDOUT``: the query to run and how to write its rows."""

    sql: str
    format: str = "text"  # text | csv | binary
    header: bool = False
    delimiter: str = "\t"
    null: str = "\\N"

    def response(self, ncols: int) -> bytes:
        """CopyOutResponse: the overall format and each column's."""
        code = 1 if self.format == "binary" else 0
        return m.message(b"H", struct.pack(f">bh{ncols}h", code, ncols, *[code] * ncols))

    def start(self, names: list[str]) -> bytes:
        """What precedes the rows: the binary signature, or a CSV header line."""
        if self.format == "binary":
            return m.message(b"d", BINARY_SIGNATURE)
        if self.format == "csv" and self.header:
            line = self.delimiter.join(_csv_quoted(n, self.delimiter) for n in names) + "\n"
            return m.message(b"d", line.encode())
        return b""

    def rows(self, batch: pa.RecordBatch, types: list[PgType]) -> bytes:
        """The batch's rows, one CopyData message each."""
        if batch.num_rows == 0:
            return b""
        if self.format == "binary":
            return messages(b"d", tuples(batch, types, [1] * len(types)))
        fields = [self._field(encode_values(batch.column(i), types[i], binary=False))
                  for i in range(batch.num_columns)]
        line = pc.binary_join_element_wise(*fields, _text(self.delimiter))
        line = pc.binary_join_element_wise(line, _text("\n"), _text(""))
        return messages(b"d", pc.cast(line, pa.large_binary()))

    def end(self) -> bytes:
        trailer = m.message(b"d", BINARY_TRAILER) if self.format == "binary" else b""
        return trailer + m.message(b"c")

    def _field(self, values: pa.Array) -> pa.Array:
        text = pc.cast(values, pa.large_string())
        if self.format == "csv":
            special = pc.match_substring_regex(text, f"[{re.escape(self.delimiter)}\"\r\n]")
            special = pc.or_(special, pc.equal(text, ""))
            quoted = pc.binary_join_element_wise(
                _text('"'), pc.replace_substring(text, '"', '""'), _text('"'), _text(""))
            text = pc.if_else(special, quoted, text)
        else:
            for raw, escaped in (*_TEXT_ESCAPES, (self.delimiter, _escape(self.delimiter))):
                if raw != escaped:
                    text = pc.replace_substring(text, raw, escaped)
        return pc.fill_null(text, _text(self.null))


def parse_copy(sql: str) -> CopyOut | None:
    """The COPY TO STDOUT in ``sql``; None for any other statement."""
    match = _COPY.match(sql)
    if match is None:
        return None
    if match["query"]:
        query = match["query"]
    else:
        columns = match["columns"].strip() if match["columns"] else "*"
        query = f"SELECT {columns or '*'} FROM {match['table']}"
    options = match["options"].lower()
    words = set(re.findall(r"[a-z_]+", options))
    fmt = "binary" if "binary" in words else "csv" if "csv" in words else "text"
    header = bool(re.search(r"\bheader\b(?!\s+(?:false|off|0)\b)", options))
    delimiter = _option(match["options"], "delimiter") or ("," if fmt == "csv" else "\t")
    null = _option(match["options"], "null")
    return CopyOut(query, fmt, header, delimiter,
                   null if null is not None else ("" if fmt == "csv" else "\\N"))


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _option(options: str, name: str) -> str | None:
    found = re.search(rf"\b{name}\s+(?:as\s+)?'((?:[^']|'')*)'", options, re.I)
    return found.group(1).replace("''", "'") if found else None


def _escape(delimiter: str) -> str:
    return "\\" + delimiter if delimiter not in "\t\n\r\\" else delimiter


def _csv_quoted(value: str, delimiter: str) -> str:
    if value == "" or any(c in value for c in (delimiter, '"', "\r", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value

