"""Salesforce describe types → Arrow types, and JSON values → Arrow arrays."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from federation.errors import SchemaMismatchError

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


def to_arrow(values: list[Any], target: pa.DataType, *, source: str, object: str,
             field: str) -> pa.Array:
    """Convert one column of JSON values; dates and datetimes arrive as strings."""
    try:
        if pa.types.is_date32(target) or pa.types.is_timestamp(target):
            return pa.array(values, type=pa.string()).cast(target)
        return pa.array(values, type=target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        sample = next((v for v in values if v is not None), None)
        raise SchemaMismatchError(
            f"value {sample!r} does not fit the described type {target}: {exc}",
            source=source, object=object, field=field,
            hint="the object's describe and its data disagree; report it to the source's admin",
        ) from exc
