"""Repeated failed sign-ins lock a name out for a while, whoever the name belongs to."""

import pytest

from federation.errors import PermissionDeniedError
from federation.signin import SignInLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_name_is_locked_after_failures_in_a_row_until_the_lockout_passes():
    clock = Clock()
    limiter = SignInLimiter(limit=3, lockout_seconds=60, clock=clock)
    for _ in range(3):
        limiter.check("ann")
        limiter.failed("ann")
    with pytest.raises(PermissionDeniedError, match="too many failed sign-ins for 'ann'"):
        limiter.check("ann")
    limiter.check("bob")  # other names are not affected
    clock.now += 59
    with pytest.raises(PermissionDeniedError):
        limiter.check("ann")
    clock.now += 2  # 61 s after the last failure
    limiter.check("ann")


def test_a_success_clears_the_count_and_each_failure_restarts_the_lockout():
    clock = Clock()
    limiter = SignInLimiter(limit=2, lockout_seconds=60, clock=clock)
    limiter.failed("ann")
    limiter.succeeded("ann")
    limiter.failed("ann")
    limiter.check("ann")  # one failure since the success: not locked
    limiter.failed("ann")
    clock.now += 50
    limiter.failed("ann")  # a third try while locked restarts the minute
    clock.now += 50
    with pytest.raises(PermissionDeniedError):
        limiter.check("ann")
