"""HubSpot-shaped API errors.

HubSpot answers errors with one JSON object: ``status``, ``message``, ``correlationId``,
``category`` and optionally ``subCategory``, ``context``, ``errors`` and ``links``; rate-limit
errors add ``errorType``, ``policyName`` and ``groupName``. One exception type keeps every
error body uniform, which is what adapters parse.
"""

from __future__ import annotations

from typing import Any

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
    "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


class HubSpotApiError(Exception):
    """An error the simulator answers with HubSpot's error body."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        sub_category: str | None = None,
        context: dict[str, list[str]] | None = None,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{category}: {message}")
        self.status = status
        self.category = category
        self.message = message
        self.sub_category = sub_category
        self.context = context
        self.errors = errors
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self, correlation_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"status": "error", "message": self.message}
        out.update(self.extra)
        out["correlationId"] = correlation_id
        out["category"] = self.category
        if self.sub_category is not None:
            out["subCategory"] = self.sub_category
        if self.context is not None:
            out["context"] = self.context
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def validation_error(
    message: str, context: dict[str, list[str]] | None = None, sub_category: str | None = None
) -> HubSpotApiError:
    return HubSpotApiError(400, "VALIDATION_ERROR", message, sub_category, context)


def not_found(message: str = "resource not found") -> HubSpotApiError:
    return HubSpotApiError(404, "OBJECT_NOT_FOUND", message)


def unauthenticated() -> HubSpotApiError:
    return HubSpotApiError(401, "INVALID_AUTHENTICATION", AUTH_MESSAGE)


def rate_limited(policy: str, group: str, headers: dict[str, str]) -> HubSpotApiError:
    """429 as HubSpot sends it; ``category`` is kept as recorded traffic also carries it."""
    what = {"SECONDLY": "secondly", "TEN_SECONDLY_ROLLING": "ten_secondly_rolling"}.get(
        policy, policy.lower()
    )
    return HubSpotApiError(
        429,
        "RATE_LIMITS",
        f"You have reached your {what} limit.",
        extra={"errorType": "RATE_LIMIT", "policyName": policy, "groupName": group},
        headers=headers,
    )
