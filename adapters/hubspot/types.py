"""HubSpot property types → Arrow, and HubSpot's string values → Arrow arrays.

HubSpot sends every property value as a string (or null / ""): numbers "1000.5",
booleans "true"/"false", dates "2024-01-31" or epoch milliseconds, datetimes ISO-8601.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def arrow_type(hubspot_type: str) -> pa.DataType:
    return {
        "number": pa.float64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "datetime": pa.timestamp("ms", tz="UTC"),
    }.get(hubspot_type, pa.string())


_BOOLS = {"true": True, "false": False}
_EPOCH = re.compile(r"-?[0-9]+")  # epoch milliseconds, possibly before 1970


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
    """Each value on its own: one page may mix ISO text and epoch milliseconds."""
    epoch = [_is_epoch(v) for v in values]
    texts = [None if v is None or ms else str(v) for v, ms in zip(values, epoch, strict=True)]
    try:
        if pa.types.is_date(target):
            texts = [None if t is None else t[:10] for t in texts]
        parsed = pa.array(texts, type=pa.string()).cast(target)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        originals = [None if ms else v for v, ms in zip(values, epoch, strict=True)]
        raise ValueError(_first_bad(originals, dt.datetime.fromisoformat)) from None
    if not any(epoch):
        return parsed
    moments = pa.array([_from_ms(v) if ms else None for v, ms in zip(values, epoch, strict=True)],
                       type=pa.timestamp("ms", tz="UTC"))
    if pa.types.is_date(target):
        moments = moments.cast(target)
    return pc.if_else(pa.array(epoch, type=pa.bool_()), moments, parsed)


def _is_epoch(value: Any) -> bool:
    """HubSpot sends some dates as epoch milliseconds (text, or a number) instead of ISO."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str)
                                      and _EPOCH.fullmatch(value) is not None)


def _from_ms(value: str | int) -> dt.datetime:
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
