"""Serve an ASGI app with uvicorn on a loopback port in a background thread.

Tests and benchmarks talk to simulators over real HTTP (and TLS when an SDK insists on
https), so the server must start fast, report its real port, and not add latency.

Nagle: asyncio's selector transport calls ``base_events._set_nodelay`` on every accepted
socket (CPython 3.11 ``selector_events._SelectorSocketTransport.__init__``), but that helper
only acts when ``sock.proto == IPPROTO_TCP``. Accepted sockets inherit ``proto`` from the
listening socket, and uvicorn's own ``Config.bind_socket`` creates it with proto 0, which
would silently skip TCP_NODELAY. We therefore bind the listener ourselves with an explicit
``IPPROTO_TCP`` (so asyncio sets TCP_NODELAY on each connection) and also set TCP_NODELAY on
the listener (Linux copies it to accepted sockets). ``tests/sandbox`` checks the option on a
live server-side connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

__all__ = ["RunningServer", "serve_in_thread"]


@dataclass
class RunningServer:
    """A uvicorn server running in a daemon thread; stop it or use it as a context manager."""

    url: str
    host: str
    port: int
    server: uvicorn.Server = field(repr=False)
    thread: threading.Thread = field(repr=False)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():  # pragma: no cover - stuck connections
            self.server.force_exit = True
            self.thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _listen_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    startup_timeout: float = 10.0,
) -> RunningServer:
    """Start ``app`` on ``host:port`` (0 = any free port); return once it accepts connections."""
    sock = _listen_socket(host, port)
    real_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host=host,
        port=real_port,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        access_log=False,
        log_level="warning",
        lifespan="off",
        # Keep-alive on, with an idle timeout long enough that pooled client connections
        # are not closed under them between benchmark iterations.
        timeout_keep_alive=60,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            # Fresh event loop per thread; uvicorn skips signal handlers off the main thread.
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # pragma: no cover - surfaced to the caller below
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{real_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if errors or not thread.is_alive():
            with contextlib.suppress(OSError):
                sock.close()
            raise RuntimeError(f"server failed to start: {errors[:1]}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"server on port {real_port} did not start")
        time.sleep(0.005)
    # started is set after the listener is created; confirm it really accepts.
    with socket.create_connection((host, real_port), timeout=startup_timeout):
        pass
    scheme = "https" if ssl_certfile else "http"
    shown = f"[{host}]" if ":" in host else host
    return RunningServer(f"{scheme}://{shown}:{real_port}", host, real_port, server, thread)
