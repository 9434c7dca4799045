"""Typed errors: every failure names where it happened and what to do about it.

Kept free of imports from the rest of Concord so adapters, engine, CLI and wire
server can all raise and catch the same types.
"""

from __future__ import annotations


class ConcordError(Exception):
    """Base class. ``str(err)`` is the one-line message users see."""

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        object: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.object = object
        self.field = field
        self.hint = hint

    def __str__(self) -> str:
        where = ".".join(p for p in (self.source, self.object, self.field) if p)
        text = f"{where}: {self.message}" if where and not self.message.startswith(where) else (
            self.message
        )
        return f"{text} — {self.hint}" if self.hint else text

    def to_dict(self) -> dict[str, str | None]:
        return {
            "kind": self.kind,
            "message": self.message,
            "source": self.source,
            "object": self.object,
            "field": self.field,
            "hint": self.hint,
        }


class CatalogError(ConcordError):
    """The catalog file is missing, unreadable or invalid."""

    kind = "catalog"


class QueryError(ConcordError):
    """The SQL cannot be parsed or bound (syntax, unknown table or column)."""

    kind = "query"


class QueryCancelledError(ConcordError):
    """The query was cancelled by its caller (a wire client's CancelRequest, Ctrl-C)."""

    kind = "cancelled"


class NotAllowedError(ConcordError):
    """The statement would write, change configuration, or touch files or the network."""

    kind = "not_allowed"


class PermissionDeniedError(ConcordError):
    """The user is unknown, or their role is not granted what the query reads."""

    kind = "permission_denied"


class SourceError(ConcordError):
    """A source system failed to answer; the query fails rather than answer partially."""

    kind = "source"


class SourceUnavailableError(SourceError):
    kind = "source_unavailable"


class AuthenticationError(SourceError):
    kind = "authentication"


class RateLimitedError(SourceError):
    kind = "rate_limited"


class SourceQueryError(SourceError):
    """The source rejected the native request we sent (a pushdown bug or an API limit)."""

    kind = "source_query"


class SchemaMismatchError(SourceError):
    """The source sent data that does not fit the schema it described."""

    kind = "schema_mismatch"


class TransientHTTPError(SourceError):
    """A failure worth retrying (429, 5xx, timeout, reset); raised inside the retry loop."""

    kind = "transient"

    def __init__(self, message: str, *, retry_after: float | None = None, status: int = 0,
                 **kw: str | None) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after
        self.status = status
