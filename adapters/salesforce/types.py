"""Salesforce describe types → Arrow types, and JSON values → Arrow arrays."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

_FLOAT = {"currency", "percent", "double"}
_INT = {"int", "long"}
_STRINGLIKE = {
    "id", "string", "picklist", "multipicklist", "combobox", "reference", "email", "phone",
    "url", "textarea", "encryptedstring",
}


def arrow_type(describe_type: str) -> pa.DataType:
    t = describe_type.lower()
    if t in _FLOAT:
        return pa.float64()
    if t in _INT:
        return pa.int64()
    if t == "boolean":
        return pa.bool_()
    if t == "date":
        return pa.date32()
    if t == "datetime":
        return pa.timestamp("ms", tz="UTC")
    return pa.string()


def is_string(describe_type: str) -> bool:
    return describe_type.lower() in _STRINGLIKE or arrow_type(describe_type) == pa.string()


def to_arrow(values: list[Any], target: pa.DataType) -> pa.Array:
    """Convert one column of JSON values (dates and datetimes arrive as strings).

    Raises ValueError naming the first value that does not fit.
    """
    try:
        if pa.types.is_date32(target) or pa.types.is_timestamp(target):
            return pa.array(values, type=pa.string()).cast(target)
        return pa.array(values, type=target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        sample = next((v for v in values if v is not None), None)
        raise ValueError(repr(sample)) from None
