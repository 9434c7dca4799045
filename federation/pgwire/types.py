"""Arrow types as PostgreSQL types: OIDs, and values in text and binary wire formats.

OIDs are PostgreSQL's own (``pg_type.oid``), so clients pick the right decoders. Text
follows PostgreSQL's output functions (``t``/``f``, ISO dates, ``+00`` offsets with
TimeZone UTC); binary follows its send functions (big-endian, days and microseconds since
2000-01-01, numeric as base-10000 digits).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    oid: int
    name: str  # as format_type() prints it
    size: int  # typlen: -1 for variable length
    text: Callable[[Any], str]
    binary: Callable[[Any], bytes]


def _text_bool(v: bool) -> str:
    return "t" if v else "f"


def _text_float(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(v)


def _text_timestamp(v: dt.datetime) -> str:
    return v.isoformat(sep=" ")


def _text_timestamptz(v: dt.datetime) -> str:
    text = v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    return f"{text}+00"


def _text_interval(v: Any) -> str:
    if isinstance(v, dt.timedelta):
        return str(v)
    return str(v)


def _text_json(v: Any) -> str:
    return json.dumps(v, default=str, ensure_ascii=False)


def _bin_numeric(v: decimal.Decimal | float | int) -> bytes:
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


def _bin_date(v: dt.date) -> bytes:
    return struct.pack(">i", (v - PG_EPOCH_DATE).days)


def _micros(delta: dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _bin_timestamp(v: dt.datetime) -> bytes:
    return struct.pack(">q", _micros(v - PG_EPOCH))


def _bin_timestamptz(v: dt.datetime) -> bytes:
    return struct.pack(">q", _micros(v - PG_EPOCH_TZ))


def _bin_time(v: dt.time) -> bytes:
    return struct.pack(">q", ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000
                       + v.microsecond)


def _utf8(text: Callable[[Any], str]) -> Callable[[Any], bytes]:
    return lambda v: text(v).encode()


_TEXT = PgType(TEXT, "text", -1, str, lambda v: str(v).encode())
_TYPES = {
    "bool": PgType(BOOL, "boolean", 1, _text_bool, lambda v: b"\x01" if v else b"\x00"),
    "int16": PgType(INT2, "smallint", 2, str, lambda v: struct.pack(">h", v)),
    "int32": PgType(INT4, "integer", 4, str, lambda v: struct.pack(">i", v)),
    "int64": PgType(INT8, "bigint", 8, str, lambda v: struct.pack(">q", v)),
    "float32": PgType(FLOAT4, "real", 4, _text_float, lambda v: struct.pack(">f", v)),
    "float64": PgType(FLOAT8, "double precision", 8, _text_float,
                      lambda v: struct.pack(">d", v)),
    "numeric": PgType(NUMERIC, "numeric", -1, str, _bin_numeric),
    "date": PgType(DATE, "date", 4, dt.date.isoformat, _bin_date),
    "time": PgType(TIME, "time without time zone", 8, dt.time.isoformat, _bin_time),
    "timestamp": PgType(TIMESTAMP, "timestamp without time zone", 8, _text_timestamp,
                        _bin_timestamp),
    "timestamptz": PgType(TIMESTAMPTZ, "timestamp with time zone", 8, _text_timestamptz,
                          _bin_timestamptz),
    "interval": PgType(INTERVAL, "interval", 16, _text_interval, _utf8(_text_interval)),
    "bytea": PgType(BYTEA, "bytea", -1, lambda v: "\\x" + bytes(v).hex(), bytes),
    "json": PgType(TEXT, "text", -1, _text_json, _utf8(_text_json)),
}


def pg_type(arrow: pa.DataType) -> PgType:
    """The PostgreSQL type a column of this Arrow type is served as."""
    t = pa.types
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


def encode_column(values: list[Any], pgt: PgType, binary: bool) -> list[bytes | None]:
    """One column's values on the wire (None stays NULL)."""
    encode = pgt.binary if binary else _utf8(pgt.text)
    return [None if v is None else encode(v) for v in values]


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
    value = sum(decimal.Decimal(d) * decimal.Decimal(10000) ** (weight - i)
                for i, d in enumerate(digits))
    value = -value if sign == 0x4000 else value
    return value.quantize(decimal.Decimal(1).scaleb(-dscale)) if dscale else value
