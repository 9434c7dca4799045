"""Salesforce-shaped API errors.

The REST API always answers errors with a JSON array of ``{"message", "errorCode"}``
objects (plus ``fields`` for some codes). Raising one exception type everywhere keeps the
simulator's error bodies uniform, which is what adapters parse.
"""

from __future__ import annotations

from typing import Any


class SalesforceApiError(Exception):
    """An error the simulator answers with ``[{"message", "errorCode", "fields"?}]``."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields
        self.headers = headers or {}

    def body(self) -> list[dict[str, Any]]:
        item: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]


def positioned_message(query: str, line: int, column: int, text: str) -> str:
    """Build the message Salesforce uses for query errors: echoed line, caret, position.

    Salesforce echoes the offending query line, puts a caret under the column and adds
    ``ERROR at Row:<line>:Column:<column>`` (both 1-based) before the explanation.
    """
    lines = query.split("\n")
    line = max(1, min(line, len(lines)))
    echoed = lines[line - 1]
    caret = " " * max(0, column - 1) + "^"
    return f"\n{echoed}\n{caret}\nERROR at Row:{line}:Column:{column}\n{text}"


class SoqlError(SalesforceApiError):
    """A query rejected while parsing or resolving; always HTTP 400."""

    def __init__(
        self,
        error_code: str,
        text: str,
        query: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        if query is not None and line is not None and column is not None:
            message = positioned_message(query, line, column, text)
        else:
            message = text
        super().__init__(400, error_code, message)
        self.text = text
        self.line = line
        self.column = column


NOT_FOUND_MESSAGE = "The requested resource does not exist"


def not_found() -> SalesforceApiError:
    return SalesforceApiError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


def invalid_session() -> SalesforceApiError:
    return SalesforceApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
