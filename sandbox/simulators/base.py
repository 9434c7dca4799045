"""Test-hook plumbing shared by the vendor simulators (Salesforce, HubSpot, Dataverse).

Each simulator answers its vendor's wire protocol differently, but the harness around it is
the same: a fault queue that makes the next requests fail, resettable counters, a Starlette
app with one catch-all route, a loopback server, and the ``/__sandbox/...`` HTTP hooks that
expose those to tests running against a served simulator. ``SimulatorBase`` owns that part
once; subclasses supply only what differs per vendor (their ``Fault`` and stats classes, the
JSON encoding, the extra stats and reset routes, and the body of an unknown hook).
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["Fault", "NetworkFault", "SimulatorBase"]


@dataclass
class Fault:
    """One queued failure: the next ``count`` matching requests answer ``status``.

    Vendors subclass it to add the default error body for a status in their own format.
    """

    status: int
    count: int = 1
    retry_after: float | None = None
    body: Any = None  # JSON-able value, or str for a raw (e.g. HTML gateway) body
    kinds: tuple[str, ...] | None = None  # request kinds affected; None = all


@dataclass
class NetworkFault:
    """One queued failure below HTTP, for the next ``count`` requests whose path contains
    ``path_contains`` (None = any): ``stall`` sends nothing until the client hangs up (or
    ``seconds`` pass, then a 504), ``reset`` starts a response and resets the TCP
    connection midway through its body. Neither reaches the vendor's handler, so its
    counters stay as if the request never arrived."""

    mode: Literal["stall", "reset"]
    count: int = 1
    seconds: float = 30.0
    path_contains: str | None = None


class _Stats(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


StatsT = TypeVar("StatsT", bound=_Stats)
FaultT = TypeVar("FaultT", bound=Fault)


class SimulatorBase(Generic[StatsT, FaultT]):
    """The ASGI ``app`` and vendor-neutral test hooks (``stats``, ``inject``, ``serve``).

    Subclasses set the class attributes below, implement ``_dispatch`` (handing
    ``/__sandbox/`` paths to ``_sandbox``) and may extend ``_stats_body``.
    """

    fault_class: ClassVar[type[Any]]  # the vendor's ``Fault`` subclass
    stats_class: ClassVar[Callable[[], Any]]  # builds a fresh, zeroed stats object
    # The vendor's JSON response builder: (body, status) -> Response.
    json_response: ClassVar[Callable[..., Response]]
    # JSON body answered (with 404) for an unknown /__sandbox/ route, in the vendor's format.
    unknown_hook_body: ClassVar[Any]
    # Vendor-specific POST reset hooks: route -> name of a no-argument method to call.
    sandbox_resets: ClassVar[Mapping[str, str]] = {}

    def __init__(self) -> None:
        self.stats: StatsT = self.stats_class()
        self._lock = threading.Lock()
        self._faults: deque[FaultT] = deque()
        self._network_faults: deque[NetworkFault] = deque()
        # (time.monotonic(), method, path) of each vendor request as it arrives, so tests
        # can measure the client's waits (a Retry-After honoured, a backoff) at the server
        self.request_log: deque[tuple[float, str, str]] = deque(maxlen=10_000)
        self.app = Starlette(
            routes=[
                Route(
                    "/{path:path}",
                    self._arrive,
                    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
                )
            ]
        )
        self.app.state.simulator = self

    # ------------------------------------------------------------------ vendor hooks
    async def _dispatch(self, request: Request) -> Response:
        raise NotImplementedError

    async def _arrive(self, request: Request) -> Response:
        """Log the request and apply a queued network fault before the vendor sees it."""
        path = request.url.path
        if path.startswith("/__sandbox/"):
            return await self._dispatch(request)
        self.request_log.append((time.monotonic(), request.method, path))
        fault = self._take_network_fault(path)
        if fault is None:
            return await self._dispatch(request)
        if fault.mode == "stall":  # until the client gives up (or ``seconds`` pass)
            deadline = time.monotonic() + fault.seconds
            while time.monotonic() < deadline and not await request.is_disconnected():
                await asyncio.sleep(0.05)
            return Response("stalled by the sandbox", 504, media_type="text/plain")
        return _ResetMidway()

    def _stats_body(self) -> dict[str, Any]:
        """What GET ``/__sandbox/stats`` answers; vendors add their usage counters."""
        return self.stats.to_dict()

    # ------------------------------------------------------------------ test hooks
    def inject(
        self,
        status: int,
        count: int = 1,
        retry_after: float | None = None,
        body: Any = None,
        kinds: tuple[str, ...] | list[str] | None = None,
    ) -> None:
        """Make the next ``count`` requests (of ``kinds``, default any) fail with ``status``."""
        fault = self.fault_class(status, count, retry_after, body, tuple(kinds) if kinds else None)
        with self._lock:
            self._faults.append(fault)

    def inject_network(
        self,
        mode: Literal["stall", "reset"],
        count: int = 1,
        seconds: float = 30.0,
        path_contains: str | None = None,
    ) -> None:
        """Make the next ``count`` requests (whose path contains ``path_contains``) time
        out (``stall`` for ``seconds``) or lose their connection midway (``reset``)."""
        with self._lock:
            self._network_faults.append(NetworkFault(mode, count, seconds, path_contains))

    def _take_network_fault(self, path: str) -> NetworkFault | None:
        with self._lock:
            for fault in self._network_faults:
                if fault.path_contains is None or fault.path_contains in path:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._network_faults.remove(fault)
                    return fault
        return None

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._network_faults.clear()

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = self.stats_class()

    def serve(self, **kwargs: Any) -> Any:
        """Serve ``app`` on a loopback port; see ``sandbox.simulators.serve.serve_in_thread``."""
        from sandbox.simulators.serve import serve_in_thread

        return serve_in_thread(self.app, **kwargs)

    def _take_fault(self, kind: str) -> FaultT | None:
        """Consume one use of the oldest queued fault that applies to ``kind``, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.kinds is None or kind in fault.kinds:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # ------------------------------------------------------------------ sandbox hooks
    def _fault_response(self, fault: Any) -> Response:
        """Answer with a queued fault: its status, ``Retry-After`` and a raw or JSON body.

        Simulators whose fault class has ``default_error()`` use its vendor error body
        when the fault carries none.
        """
        self.stats.faults_served += 1
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(int(fault.retry_after + 0.999))
        if isinstance(fault.body, str):
            return Response(fault.body, fault.status, headers, media_type="text/html")
        body = fault.body if fault.body is not None else fault.default_error().body()
        return self.json_response(body, fault.status, headers)

    async def _sandbox(self, request: Request, path: str) -> Response:
        """Answer the ``/__sandbox/...`` HTTP hooks (for tests against a served simulator)."""
        route = path.rstrip("/")
        method = request.method
        if route == "/__sandbox/stats" and method == "GET":
            return self.json_response(self._stats_body())
        if route == "/__sandbox/stats/reset" and method == "POST":
            self.reset_stats()
            return self.json_response({"ok": True})
        if route == "/__sandbox/faults" and method == "POST":
            spec = json.loads(await request.body() or b"{}")
            self.inject(
                status=int(spec["status"]),
                count=int(spec.get("count", 1)),
                retry_after=spec.get("retry_after"),
                body=spec.get("body"),
                kinds=spec.get("kinds"),
            )
            return self.json_response({"ok": True, "queued": len(self._faults)})
        if route == "/__sandbox/faults" and method == "DELETE":
            self.clear_faults()
            return self.json_response({"ok": True})
        reset = self.sandbox_resets.get(route)
        if reset is not None and method == "POST":
            getattr(self, reset)()
            return self.json_response({"ok": True})
        return self.json_response(self.unknown_hook_body, 404)


class _ResetMidway(Response):
    """Starts a 200 response, sends part of its body, then resets the connection (RST).

    uvicorn hands its connection object to the app only as ``receive.__self__``; without it
    the connection is simply closed midway, which clients see as a broken response too.
    """

    def __init__(self) -> None:
        super().__init__(b"", 200)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": b'{"totalSize": ',
                    "more_body": True})
        cycle = getattr(receive, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is None:
            return  # uvicorn closes a connection whose response did not complete
        sock = transport.get_extra_info("socket")
        if sock is not None:  # linger 0: close() sends RST, as a dropped connection does
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        cycle.disconnected = True  # uvicorn: the client is gone, nothing more to report
