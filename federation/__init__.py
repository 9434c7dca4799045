"""Concord's engine: ``federation.connect("catalog.yaml").sql("SELECT ...")``.

The engine is imported lazily so adapters can import ``federation.errors`` without
pulling in the engine (which imports the adapters).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from federation.errors import (
    AuthenticationError,
    CatalogError,
    ConcordError,
    NotAllowedError,
    QueryError,
    RateLimitedError,
    SchemaMismatchError,
    SourceError,
    SourceQueryError,
    SourceUnavailableError,
)

if TYPE_CHECKING:
    from federation.engine import Federation, connect

__all__ = [
    "AuthenticationError", "CatalogError", "ConcordError", "Federation", "NotAllowedError",
    "QueryError", "RateLimitedError", "SchemaMismatchError", "SourceError", "SourceQueryError",
    "SourceUnavailableError", "connect",
]


def __getattr__(name: str) -> Any:
    if name in ("Federation", "connect"):
        from federation import engine

        return getattr(engine, name)
    raise AttributeError(name)
