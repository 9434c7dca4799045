"""NetSuite REST web services error bodies.

NetSuite answers every REST error with one JSON shape (documented in "Error Handling in REST
Web Services"): ``type`` (an RFC 9110 section URL), ``title``, ``status`` and
``o:errorDetails``, a list of ``{detail, o:errorCode}`` with optional ``o:errorQueryParam``,
``o:errorHeader``, ``o:errorPath`` or ``o:urlPath`` naming the part of the request at fault.
Adapters parse ``o:errorDetails[0].detail``/``o:errorCode``, so one exception type keeps
every error uniform.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "INVALID_LOGIN_DETAIL",
    "SEARCH_PREFIX",
    "NetSuiteApiError",
    "bad_param",
    "bad_query",
    "concurrency_limited",
    "invalid_login",
]

# Type URLs as current NetSuite sends them (older releases used rfc2616 anchors).
_TYPES = {
    400: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1", "Bad Request"),
    401: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2", "Unauthorized"),
    403: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.4", "Forbidden"),
    404: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5", "Not Found"),
    405: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.6", "Method Not Allowed"),
    415: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.16", "Unsupported Media Type"),
    429: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.29", "Too Many Requests"),
    500: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.1", "Internal Server Error"),
    502: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.3", "Bad Gateway"),
    503: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.4", "Service Unavailable"),
    504: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.5", "Gateway Timeout"),
}
SEARCH_PREFIX = "Invalid search query. Detailed unprocessed description follows. "
INVALID_LOGIN_DETAIL = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
    "Setup > Users/Roles > User Management > View Login Audit Trail."
)


class NetSuiteApiError(Exception):
    """An error the simulator answers with NetSuite's error body."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        query_param: str | None = None,
        header: str | None = None,
        path: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.query_param = query_param
        self.header = header
        self.path = path
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        type_url, title = _TYPES.get(
            self.status, ("https://www.rfc-editor.org/rfc/rfc9110.html", "Error")
        )
        item: dict[str, Any] = {"detail": self.detail}
        if self.query_param is not None:
            item["o:errorQueryParam"] = self.query_param
        if self.header is not None:
            item["o:errorHeader"] = self.header
        if self.path is not None:
            item["o:errorPath"] = self.path
        item["o:errorCode"] = self.code
        return {"type": type_url, "title": title, "status": self.status, "o:errorDetails": [item]}


def bad_query(detail: str) -> NetSuiteApiError:
    """400 for SuiteQL NetSuite cannot run (unknown record or field, syntax, ...)."""
    return NetSuiteApiError(400, "INVALID_PARAMETER", SEARCH_PREFIX + detail, query_param="q")


def bad_param(name: str, detail: str) -> NetSuiteApiError:
    """400 for a bad ``limit``/``offset`` query parameter."""
    return NetSuiteApiError(400, "INVALID_PARAMETER", detail, query_param=name)


def invalid_login() -> NetSuiteApiError:
    """401 exactly as documented; NetSuite never says which check failed."""
    return NetSuiteApiError(401, "INVALID_LOGIN", INVALID_LOGIN_DETAIL)


def concurrency_limited() -> NetSuiteApiError:
    return NetSuiteApiError(
        429,
        "CONCURRENCY_LIMIT_EXCEEDED",
        "Concurrent request limit exceeded. Request blocked.",
    )
