"""Shared HTTP plumbing for adapters: one client per source, retries with backoff.

Retries use tenacity. A transient failure (429, 5xx, timeout, reset) is retried with
exponential backoff and jitter, or after exactly the ``Retry-After`` the source asked
for, as long as the source's per-query retry budget lasts. Everything else surfaces
at once as a typed error.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import tenacity
from pyrate_limiter import Duration, Limiter, Rate

from adapters.contract import ScanContext
from federation.errors import (
    RateLimitedError,
    SourceError,
    SourceUnavailableError,
    TransientHTTPError,
)

TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # per request, first try included
    budget: int = 20  # retries per source per query
    backoff_initial: float = 0.2
    backoff_max: float = 10.0
    retry_after_max: float = 60.0  # never sleep longer than this on a Retry-After


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class SourceHTTP:
    """An httpx client bound to one source, with retries and request counting."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        policy: RetryPolicy,
        timeout: float = 30.0,
        max_connections: int = 8,
        transport: httpx.BaseTransport | None = None,
        requests_per_second: int | None = None,
        rate_limit_headers: tuple[str, ...] = (),
    ) -> None:
        self.source = source
        self.policy = policy
        self.rate_limit_headers = rate_limit_headers
        # client-side throttles, so we stay under the source's limits instead of
        # spending the retry budget on 429s; "all" applies to every request
        self._limiters: dict[str, Limiter] = {}
        if requests_per_second:
            self.limit("all", requests_per_second)
        self.client = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
            transport=transport,
            headers={"User-Agent": "concord/0.1", "Accept": "application/json"},
        )

    def limit(self, bucket: str, per_second: int) -> None:
        """Allow at most ``per_second`` requests a second in ``bucket``."""
        self._limiters[bucket] = Limiter(Rate(per_second, Duration.SECOND))

    def _throttle(self, bucket: str | None) -> None:
        for name in ("all", bucket):
            limiter = self._limiters.get(name) if name else None
            if limiter is not None:
                limiter.try_acquire(self.source)

    def close(self) -> None:
        self.client.close()

    def send(
        self,
        method: str,
        url: str,
        ctx: ScanContext | None,
        *,
        classify: Callable[[httpx.Response], SourceError | None],
        bucket: str | None = None,
        **kwargs: object,
    ) -> httpx.Response:
        """Send with retries. ``classify`` turns a non-2xx response into a typed error."""

        def attempt() -> httpx.Response:
            if ctx is not None:
                if ctx.cancelled.is_set():
                    raise SourceUnavailableError("query cancelled", source=self.source)
                ctx.metrics.http_requests += 1
            self._throttle(bucket)
            try:
                response = self.client.request(method, url, **kwargs)  # type: ignore[arg-type]
            except httpx.TimeoutException as exc:
                raise TransientHTTPError(f"timed out: {exc.__class__.__name__}",
                                         source=self.source) from exc
            except httpx.TransportError as exc:
                raise TransientHTTPError(f"cannot reach {self.client.base_url}: {exc}",
                                         source=self.source) from exc
            if ctx is not None:
                ctx.metrics.bytes += len(response.content)
                left = [(h, response.headers[h]) for h in self.rate_limit_headers
                        if h in response.headers]
                if left:  # one header's value speaks for itself; several are named
                    ctx.metrics.rate_limit = left[0][1] if len(left) == 1 else "; ".join(
                        f"{h}={v}" for h, v in left)
            if response.is_success:
                return response
            error = classify(response)
            if response.status_code in TRANSIENT_STATUS and not _is_final(error):
                raise TransientHTTPError(
                    str(error) if error else f"HTTP {response.status_code}",
                    retry_after=parse_retry_after(response.headers.get("Retry-After")),
                    status=response.status_code,
                    source=self.source,
                )
            raise error or SourceError(f"HTTP {response.status_code}", source=self.source)

        def may_retry(state: tenacity.RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            if not isinstance(exc, TransientHTTPError):
                return False
            if state.attempt_number >= self.policy.max_attempts:
                return False
            if ctx is None:
                return True
            if not ctx.retry_budget.take():
                return False
            ctx.metrics.retries += 1
            return True

        backoff = tenacity.wait_exponential_jitter(
            multiplier=self.policy.backoff_initial, max=self.policy.backoff_max,
            jitter=self.policy.backoff_initial,
        )

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, TransientHTTPError) and exc.retry_after is not None:
                return min(exc.retry_after, self.policy.retry_after_max)
            return backoff(state)

        retrying = tenacity.Retrying(retry=may_retry, wait=wait, reraise=True,
                                     stop=tenacity.stop_never)
        try:
            return retrying(attempt)
        except TransientHTTPError as exc:
            raise _give_up(exc, self.source) from exc


def _is_final(error: SourceError | None) -> bool:
    """A 403/400-class error wrapped in a 5xx-looking status is still final."""
    return error is not None and not isinstance(error, (SourceUnavailableError, RateLimitedError,
                                                        TransientHTTPError))


def _give_up(exc: TransientHTTPError, source: str) -> SourceError:
    if exc.status == 429:
        return RateLimitedError(
            f"still rate limited after retries ({exc.message})",
            source=source,
            hint="raise retry.budget in the catalog, lower concurrency, or try again later",
        )
    return SourceUnavailableError(
        f"unavailable after retries: {exc.message}",
        source=source,
        hint="check that the system is up and reachable; the query was not answered",
    )
