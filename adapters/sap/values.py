"""Turn SAP OData v2 JSON values into Arrow arrays of the discovered types.

v2 JSON is lossy in known ways, so the conversion is strict instead of guessing: a value
that does not have the shape its Edm type is sent in raises ``ValueError`` and the adapter
reports schema drift rather than silently reading, say, ``"n/a"`` as NULL.

- Edm.DateTime / DateTimeOffset: ``/Date(<ms since epoch, UTC>)/``, DateTimeOffset with a
  ``+0000``-style offset in minutes after the milliseconds (the instant is still UTC);
- Edm.Decimal: a string, possibly with fewer decimals than the scale (amounts follow their
  currency's decimals); Edm.Int64, Double and Single: strings; smaller integers: numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")
_MS_PER_DAY = 86_400_000


def _date_ms(value: Any) -> int:
    if not isinstance(value, str):
        raise ValueError(value)
    match = _DATE.match(value)
    if match is None:
        raise ValueError(value)
    return int(match.group(1))


def _day(value: Any) -> int:
    days, rest = divmod(_date_ms(value), _MS_PER_DAY)
    if rest:
        raise ValueError(value)  # a "Date" property that carries a time is no longer a date
    return days


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    raise ValueError(value)


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(value)
    return float(value)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(value)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(value) from None
    if not number.is_finite():
        raise ValueError(value)
    return number


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(value)
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(value)
    return value


def converter(kind: pa.DataType) -> Callable[[Any], Any]:
    """The function reading one non-null JSON value for an Arrow column type."""
    if pa.types.is_string(kind):
        return _string
    if pa.types.is_boolean(kind):
        return _boolean
    if pa.types.is_integer(kind):
        return _integer
    if pa.types.is_floating(kind):
        return _float
    if pa.types.is_decimal(kind):
        return _decimal
    if pa.types.is_date(kind):
        return _day
    if pa.types.is_timestamp(kind):
        return _date_ms
    raise TypeError(f"no converter for {kind}")


def to_array(values: list[Any], kind: pa.DataType) -> pa.Array:
    """An Arrow array of ``kind``; raises ``ValueError`` naming the first value that misfits."""
    if pa.types.is_string(kind):
        try:  # most columns are text: let Arrow check the types in one pass
            return pa.array(values, type=kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # find and name the culprit below
    convert = converter(kind)
    out: list[Any] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        try:
            out.append(convert(value))
        except (ValueError, TypeError, OverflowError):
            raise ValueError(value) from None
    try:
        return pa.array(out, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        # e.g. a decimal with more digits than its precision/scale: name the culprit
        for value, converted in zip(values, out, strict=True):
            try:
                pa.array([converted], type=kind)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                raise ValueError(value) from None
        raise
