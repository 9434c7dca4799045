"""Bearer tokens shared by adapters: fetched on first use, renewed once when refused.

A configured ``access_token`` is used as given and never renewed; otherwise ``fetch``
obtains one (an OAuth2 client-credentials call, say).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from adapters.contract import ScanContext
from federation.errors import AuthenticationError

T = TypeVar("T")


class BearerToken:
    def __init__(self, static: str | None,
                 fetch: Callable[[ScanContext | None], str]) -> None:
        self._static = static
        self._fetch = fetch
        self._token: str | None = static
        self._lock = threading.Lock()

    def header(self, ctx: ScanContext | None) -> dict[str, str]:
        with self._lock:
            if self._token is None:
                self._token = self._fetch(ctx)
            return {"Authorization": f"Bearer {self._token}"}

    def _renew(self, stale: dict[str, str], ctx: ScanContext | None) -> None:
        with self._lock:
            if {"Authorization": f"Bearer {self._token}"} == stale:  # not renewed meanwhile
                self._token = self._fetch(ctx)

    def call(self, send: Callable[[dict[str, str]], T], ctx: ScanContext | None) -> T:
        """``send(headers)``, once more with a fresh token if the session was refused."""
        headers = self.header(ctx)
        try:
            return send(headers)
        except AuthenticationError:
            if self._static is not None:
                raise
            self._renew(headers, ctx)
            return send(self.header(ctx))
