"""SuiteQL REST values → Arrow arrays of the discovered types.

SuiteQL REST sends every value as a JSON string: numbers as decimal text, booleans as
``"T"``/``"F"``, and (because the scan selects them through ``TO_CHAR``) dates as
``YYYY-MM-DD`` and datetimes as ``YYYY-MM-DD HH24:MI:SS`` in UTC. NULL columns are left
out of the item, so a missing key is NULL.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from adapters.netsuite.suiteql import ARROW_TYPES, BOOLEAN, DATETIME, STRING


class Misfit(ValueError):
    """A value that does not fit the column's discovered type."""

    def __init__(self, value: Any) -> None:
        super().__init__(repr(value))
        self.value = value


def to_arrow(values: list[Any], native: str) -> pa.Array:
    """One column of raw values as an Arrow array of ``native``'s type; raises ``Misfit``
    naming the first value that does not fit."""
    target = ARROW_TYPES[native]
    if native == STRING:
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    if native == BOOLEAN:
        flags = []
        for v in values:
            if v is None:
                flags.append(None)
            elif v in ("T", True):
                flags.append(True)
            elif v in ("F", False):
                flags.append(False)
            else:
                raise Misfit(v)
        return pa.array(flags, pa.bool_())
    texts = [None if v is None else str(v) for v in values]
    try:
        return _cast(pa.array(texts, pa.string()), native, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for text in texts:  # find the culprit for the message
        if text is None:
            continue
        try:
            _cast(pa.array([text], pa.string()), native, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise Misfit(text) from None
    raise Misfit(next((t for t in texts if t is not None), None))


def _cast(array: pa.Array, native: str, target: pa.DataType) -> pa.Array:
    if native == DATETIME:
        # naive text is UTC wall-clock; a naive→UTC cast keeps the wall-clock value
        return array.cast(pa.timestamp("ms")).cast(target)
    return array.cast(target)
