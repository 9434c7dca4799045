"""The asyncio server behind ``concord serve``: accepts connections, one Session each."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from federation.catalog import Catalog
from federation.engine import Federation
from federation.errors import CatalogError
from federation.pgwire.pgcatalog import PgCatalog
from federation.pgwire.session import ServerContext, Session

log = logging.getLogger("concord.pgwire")


def tls_context(catalog: Catalog) -> ssl.SSLContext | None:
    """The server's TLS context from the catalog's certificate and key, if it has them."""
    tls = catalog.server.tls
    if tls is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(catalog.path_of(tls.cert_file), catalog.path_of(tls.key_file))
    except (OSError, ssl.SSLError) as exc:
        raise CatalogError(f"server.tls: cannot load the certificate or key: {exc}",
                           hint="cert_file and key_file must be PEM files") from exc
    return context


class WireServer:
    """Serves one Federation over the PostgreSQL protocol on ``host:port``."""

    def __init__(self, federation: Federation, host: str = "127.0.0.1", port: int = 5433) -> None:
        catalog = federation.catalog
        self.ctx = ServerContext(
            federation, catalog.server_password,
            lambda user: catalog.server.users[user].auth, tls=tls_context(catalog),
            catalog=PgCatalog(federation, list(catalog.server.users)))
        self.host, self.port = host, port
        self._server: asyncio.AbstractServer | None = None
        self._warm: asyncio.Future | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port,
                                                  limit=2**20)
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        if self.ctx.catalog is not None:  # build the catalog before the first client asks
            self._warm = asyncio.ensure_future(asyncio.to_thread(self.ctx.catalog.warm))

    async def serve_forever(self) -> None:
        await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await Session(self.ctx, reader, writer).run()

    async def stop(self) -> None:
        """Stop accepting, close every session, and let a catalog build finish (it uses the
        engine, which the caller closes next)."""
        if self._server is not None:
            self._server.close()
        for session in list(self.ctx.sessions.values()):
            session.cancel()
            session.writer.close()
        if self.ctx.catalog is not None:
            self.ctx.catalog.close()
        if self._warm is not None:
            await asyncio.wait([self._warm], timeout=60)
        if self._server is not None:
            await self._server.wait_closed()


@contextmanager
def running(federation: Federation, host: str = "127.0.0.1", port: int = 0
            ) -> Iterator[WireServer]:
    """A server on a background event loop (tests, embedding); stops on exit."""
    server = WireServer(federation, host, port)
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=main, name="pgwire", daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
