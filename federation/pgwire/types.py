"""Arrow types as PostgreSQL types: OIDs, and values in text and binary wire formats.

OIDs are PostgreSQL's own (``pg_type.oid``), so clients pick the right decoders. Text
follows PostgreSQL's output functions (``t``/``f``, ISO dates, ``+00`` offsets with
TimeZone UTC); binary follows its send functions (big-endian, days and microseconds since
2000-01-01, numeric as base-10000 digits).
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

PG_EPOCH_DATE = dt.date(2000, 1, 1)
PG_EPOCH = dt.datetime(2000, 1, 1)
PG_EPOCH_TZ = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

BOOL, BYTEA, INT8, INT2, INT4, TEXT, FLOAT4, FLOAT8 = 16, 17, 20, 21, 23, 25, 700, 701
VARCHAR, DATE, TIME, TIMESTAMP, TIMESTAMPTZ, INTERVAL, NUMERIC = (
    1043, 1082, 1083, 1114, 1184, 1186, 1700)
UNKNOWN = 705


@dataclass(frozen=True)
class PgType:
    """A PostgreSQL type a result column is served as. ``text``/``binary`` encode one
    value, for the types ``encode.py`` has no whole-column encoder for."""

    oid: int
    name: str  # as format_type() prints it
    size: int  # typlen: -1 for variable length
    text: Callable[[Any], str] = str
    binary: Callable[[Any], bytes] | None = None
    element: PgType | None = None  # of an array type


def _text_float(v: float, *, single: bool = False) -> str:
    """float8out / float4out: the shortest digits that read back the same value, in
    positional notation for decimal exponents from -4 up to 14 (float4: 5), else in
    scientific notation with a two-digit exponent (``1e+15``, ``9.5e-05``)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    value = np.float32(v) if single else np.float64(v)
    scientific = np.format_float_scientific(value, unique=True, trim="-", exp_digits=2)
    exponent = int(scientific.rsplit("e", 1)[1])
    if -4 <= exponent < (6 if single else 15):
        return np.format_float_positional(value, unique=True, trim="-")
    return scientific


def _text_json(v: Any) -> str:
    return json.dumps(v, default=str, ensure_ascii=False)


def bin_numeric(v: decimal.Decimal | float | int) -> bytes:
    """PostgreSQL's numeric_send: ndigits, weight, sign, dscale, base-10000 digits."""
    value = decimal.Decimal(str(v)) if not isinstance(v, decimal.Decimal) else v
    if value.is_nan():
        return struct.pack(">hhHh", 0, 0, 0xC000, 0)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    dscale = max(0, -exponent)
    text = "".join(map(str, digits)) or "0"
    if exponent > 0:
        text += "0" * exponent
        exponent = 0
    integer = text[:len(text) + exponent] if exponent < 0 else text
    fraction = text[len(text) + exponent:] if exponent < 0 else ""
    integer = integer.lstrip("0")
    integer = "0" * (-len(integer) % 4) + integer
    fraction = fraction + "0" * (-len(fraction) % 4)
    groups = [int(integer[i:i + 4]) for i in range(0, len(integer), 4)]
    weight = len(groups) - 1
    groups += [int(fraction[i:i + 4]) for i in range(0, len(fraction), 4)]
    while groups and groups[0] == 0:  # leading zero groups lower the weight
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    return struct.pack(f">hhHh{len(groups)}H", len(groups), weight,
                       0x4000 if sign else 0, dscale, *groups)


def _interval_parts(v: Any) -> tuple[int, int, int]:
    """(months, days, microseconds) of an Arrow month-day-nano interval or a duration."""
    if isinstance(v, dt.timedelta):
        return 0, 0, (v.days * 86_400 + v.seconds) * 1_000_000 + v.microseconds
    return v.months, v.days, v.nanoseconds // 1000


def _text_interval(v: Any) -> str:
    """interval_out with IntervalStyle postgres: ``1 year 2 mons 3 days 04:05:06.5``."""
    months, days, micros = _interval_parts(v)
    years, months = divmod(abs(months), 12) if months >= 0 else (
        -(abs(months) // 12), -(abs(months) % 12))
    parts = [f"{n} {unit}{'' if n == 1 else plural}"
             for n, unit, plural in ((years, "year", "s"), (months, "mon", "s"),
                                     (days, "day", "s")) if n]
    if micros or not parts:
        sign = "-" if micros < 0 else ""
        seconds, fraction = divmod(abs(micros), 1_000_000)
        clock = (f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}:"
                 f"{seconds % 60:02d}")
        parts.append(clock + (f".{fraction:06d}".rstrip("0") if fraction else ""))
    return " ".join(parts)


def _bin_interval(v: Any) -> bytes:
    months, days, micros = _interval_parts(v)
    return struct.pack(">qii", micros, days, months)


def _utf8(text: Callable[[Any], str]) -> Callable[[Any], bytes]:
    return lambda v: text(v).encode()


_TEXT = PgType(TEXT, "text", -1, str, _utf8(str))
_TYPES = {
    "bool": PgType(BOOL, "boolean", 1),
    "int16": PgType(INT2, "smallint", 2),
    "int32": PgType(INT4, "integer", 4),
    "int64": PgType(INT8, "bigint", 8),
    "float32": PgType(FLOAT4, "real", 4, lambda v: _text_float(v, single=True)),
    "float64": PgType(FLOAT8, "double precision", 8, _text_float),
    "numeric": PgType(NUMERIC, "numeric", -1, str, bin_numeric),
    "date": PgType(DATE, "date", 4),
    "time": PgType(TIME, "time without time zone", 8),
    "timestamp": PgType(TIMESTAMP, "timestamp without time zone", 8),
    "timestamptz": PgType(TIMESTAMPTZ, "timestamp with time zone", 8),
    "interval": PgType(INTERVAL, "interval", 16, _text_interval, _bin_interval),
    "bytea": PgType(BYTEA, "bytea", -1, lambda v: "\\x" + bytes(v).hex()),
    "json": PgType(TEXT, "text", -1, _text_json, _utf8(_text_json)),
}


#: element type OID -> its array type's OID (pg_type.typarray)
ARRAY_OIDS = {BOOL: 1000, BYTEA: 1001, INT8: 1016, INT2: 1005, INT4: 1007, TEXT: 1009,
              FLOAT4: 1021, FLOAT8: 1022, VARCHAR: 1015, DATE: 1182, TIME: 1183,
              TIMESTAMP: 1115, TIMESTAMPTZ: 1185, INTERVAL: 1187, NUMERIC: 1231}


@functools.lru_cache(maxsize=256)
def pg_type(arrow: pa.DataType) -> PgType:
    """The PostgreSQL type a column of this Arrow type is served as: lists of scalars as
    one-dimensional arrays, other nested values as JSON text."""
    t = pa.types
    if t.is_dictionary(arrow):
        arrow = arrow.value_type
    if t.is_list(arrow) or t.is_large_list(arrow) or t.is_list_view(arrow):
        element = pg_type(arrow.value_type)
        if element.element is None and element.oid in ARRAY_OIDS and element is not (
                _TYPES["json"]):
            return PgType(ARRAY_OIDS[element.oid], f"{element.name}[]", -1, element=element)
    key = ("bool" if t.is_boolean(arrow) else
           "int16" if t.is_int8(arrow) or t.is_int16(arrow) or t.is_uint8(arrow) else
           "int32" if t.is_int32(arrow) or t.is_uint16(arrow) else
           "int64" if t.is_integer(arrow) else
           "float32" if t.is_float32(arrow) else
           "float64" if t.is_floating(arrow) else
           "numeric" if t.is_decimal(arrow) else
           "date" if t.is_date(arrow) else
           "time" if t.is_time(arrow) else
           "timestamptz" if t.is_timestamp(arrow) and arrow.tz else
           "timestamp" if t.is_timestamp(arrow) else
           "interval" if t.is_duration(arrow) or t.is_interval(arrow) else
           "bytea" if t.is_binary(arrow) or t.is_large_binary(arrow) else
           "json" if t.is_list(arrow) or t.is_struct(arrow) or t.is_map(arrow) else
           None)
    return _TYPES[key] if key else _TEXT


def decode_parameter(data: bytes | None, oid: int, binary: bool) -> Any:
    """A Bind parameter as a Python value (text parameters with OID 0 stay strings)."""
    if data is None:
        return None
    if not binary:
        return data.decode()
    if oid == INT8:
        return struct.unpack(">q", data)[0]
    if oid == INT4:
        return struct.unpack(">i", data)[0]
    if oid == INT2:
        return struct.unpack(">h", data)[0]
    if oid == FLOAT8:
        return struct.unpack(">d", data)[0]
    if oid == FLOAT4:
        return struct.unpack(">f", data)[0]
    if oid == BOOL:
        return data != b"\x00"
    if oid == DATE:
        return PG_EPOCH_DATE + dt.timedelta(days=struct.unpack(">i", data)[0])
    if oid in (TIMESTAMP, TIMESTAMPTZ):
        moment = dt.timedelta(microseconds=struct.unpack(">q", data)[0])
        return (PG_EPOCH_TZ if oid == TIMESTAMPTZ else PG_EPOCH) + moment
    if oid == NUMERIC:
        return _numeric_from_binary(data)
    return data.decode()


def _numeric_from_binary(data: bytes) -> decimal.Decimal:
    ndigits, weight, sign, dscale = struct.unpack(">hhHh", data[:8])
    digits = struct.unpack(f">{ndigits}H", data[8:8 + 2 * ndigits])
    value = sum((decimal.Decimal(d) * decimal.Decimal(10000) ** (weight - i)
                 for i, d in enumerate(digits)), decimal.Decimal(0))
    value = -value if sign == 0x4000 else value
    return value.quantize(decimal.Decimal(1).scaleb(-dscale)) if dscale else value
