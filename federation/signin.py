"""Sign-ins that fail again and again: after ``limit`` in a row for one name, that name is
refused for ``lockout`` seconds, so a password cannot be guessed at the speed of a loop.

Any name counts, declared or not, so the refusal says nothing of which users exist. The
counts live in a bounded TTL cache: a name's lockout runs from its last failure, and
memory stays flat however many names are tried."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import TTLCache

from federation.errors import PermissionDeniedError


class SignInLimiter:
    def __init__(self, limit: int = 5, lockout_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.lockout_seconds = lockout_seconds
        self._failures: TTLCache = TTLCache(maxsize=10_000, ttl=lockout_seconds, timer=clock)
        self._lock = threading.Lock()

    def check(self, user: str) -> None:
        """Refuse ``user`` while it is locked out (before the password is even looked at)."""
        with self._lock:
            locked = self._failures.get(user, 0) >= self.limit
        if locked:
            raise PermissionDeniedError(
                f"too many failed sign-ins for {user!r}",
                hint=f"wait {self.lockout_seconds:.0f} s after the last attempt, then try again")

    def failed(self, user: str) -> None:
        with self._lock:
            self._failures[user] = self._failures.get(user, 0) + 1  # restarts the lockout

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(user, None)
