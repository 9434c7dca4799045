"""HubSpot property types → Arrow, and HubSpot's string values → Arrow arrays.

HubSpot sends every property value as a string (or null / ""): numbers "1000.5",
booleans "true"/"false", dates "2024-01-31" or epoch milliseconds, datetimes ISO-8601.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa


def arrow_type(hubspot_type: str) -> pa.DataType:
    return {
        "number": pa.float64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "datetime": pa.timestamp("ms", tz="UTC"),
    }.get(hubspot_type, pa.string())


_BOOLS = {"true": True, "false": False}


def convert(values: list[Any], target: pa.DataType) -> pa.Array:
    """Raise ValueError (with the offending value) when a value does not fit ``target``."""
    cleaned = [None if v is None or v == "" else v for v in values]
    if pa.types.is_string(target):
        return pa.array([None if v is None else str(v) for v in cleaned], type=target)
    if pa.types.is_boolean(target):
        out = []
        for v in cleaned:
            if v is None:
                out.append(None)
            elif str(v).lower() in _BOOLS:
                out.append(_BOOLS[str(v).lower()])
            else:
                raise ValueError(repr(v))
        return pa.array(out, type=target)
    if pa.types.is_floating(target):
        try:
            return pa.array(cleaned, type=pa.string()).cast(target)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            raise ValueError(_first_bad(cleaned, float)) from None
    if pa.types.is_date(target) or pa.types.is_timestamp(target):
        return _temporal(cleaned, target)
    return pa.array(cleaned, type=target)


def _temporal(values: list[Any], target: pa.DataType) -> pa.Array:
    if any(isinstance(v, str) and v.isdigit() for v in values):  # epoch milliseconds
        moments = [None if v is None else _from_ms(v) for v in values]
        array = pa.array(moments, type=pa.timestamp("ms", tz="UTC"))
        return array.cast(pa.date32()) if pa.types.is_date(target) else array
    try:
        if pa.types.is_date(target):
            texts = [None if v is None else str(v)[:10] for v in values]
            return pa.array(texts, type=pa.string()).cast(target)
        return pa.array(values, type=pa.string()).cast(target)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise ValueError(_first_bad(values, dt.datetime.fromisoformat)) from None


def _from_ms(value: str) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.UTC)
    except (ValueError, OverflowError):
        raise ValueError(repr(value)) from None


def _first_bad(values: list[Any], parse: Any) -> str:
    for v in values:
        if v is None:
            continue
        try:
            parse(str(v).replace("Z", "+00:00"))
        except (ValueError, TypeError):
            return repr(v)
    return "a value"
