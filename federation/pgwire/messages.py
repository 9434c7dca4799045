"""PostgreSQL protocol 3.0 framing: reading frontend messages, building backend ones."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence

from federation.pgwire.types import PgType

PROTOCOL_3 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
MAX_MESSAGE = 256 * 1024 * 1024


class ProtocolError(Exception):
    """The client broke the protocol; the connection is closed after saying so."""


async def read_startup(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The first packet: (code, payload) of StartupMessage, SSLRequest or CancelRequest."""
    length = struct.unpack(">i", await reader.readexactly(4))[0]
    if not 8 <= length <= 10_000:
        raise ProtocolError(f"invalid startup packet length {length}")
    body = await reader.readexactly(length - 4)
    return struct.unpack(">i", body[:4])[0], body[4:]


async def read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One typed message: (type byte, payload)."""
    header = await reader.readexactly(5)
    kind, length = header[:1], struct.unpack(">i", header[1:])[0]
    if not 4 <= length <= MAX_MESSAGE:
        raise ProtocolError(f"invalid message length {length}")
    return kind, await reader.readexactly(length - 4)


def startup_parameters(payload: bytes) -> dict[str, str]:
    parts = payload.split(b"\x00")
    return {parts[i].decode(): parts[i + 1].decode()
            for i in range(0, len(parts) - 1, 2) if parts[i]}


class Buffer:
    """Reads the fields of one message payload in order."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def cstring(self) -> str:
        end = self.data.index(b"\x00", self.pos)
        text = self.data[self.pos:end].decode()
        self.pos = end + 1
        return text

    def int16(self) -> int:
        value = struct.unpack_from(">h", self.data, self.pos)[0]
        self.pos += 2
        return value

    def int32(self) -> int:
        value = struct.unpack_from(">i", self.data, self.pos)[0]
        self.pos += 4
        return value

    def bytes(self, n: int) -> bytes:
        value = self.data[self.pos:self.pos + n]
        self.pos += n
        return value

    def value(self) -> bytes | None:
        n = self.int32()
        return None if n == -1 else self.bytes(n)


def message(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + struct.pack(">i", len(payload) + 4) + payload


def cstr(text: str) -> bytes:
    return text.encode() + b"\x00"


def negotiate_protocol_version(minor: int, unrecognised: list[str]) -> bytes:
    """The newest 3.x minor version we speak, and the ``_pq_.`` options we ignored."""
    return message(b"v", struct.pack(">ii", minor, len(unrecognised))
                   + b"".join(cstr(o) for o in unrecognised))


def auth(code: int, data: bytes = b"") -> bytes:
    return message(b"R", struct.pack(">i", code) + data)


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def backend_key(pid: int, secret: int) -> bytes:
    return message(b"K", struct.pack(">ii", pid, secret))


def ready(status: str) -> bytes:
    return message(b"Z", status.encode())


def row_description(names: Sequence[str], types: Sequence[PgType],
                    formats: Sequence[int]) -> bytes:
    fields = b"".join(cstr(name) + struct.pack(">ihihih", 0, 0, t.oid, t.size, -1, fmt)
                      for name, t, fmt in zip(names, types, formats, strict=True))
    return message(b"T", struct.pack(">h", len(names)) + fields)


def data_row(values: Sequence[bytes | None]) -> bytes:
    parts = [struct.pack(">h", len(values))]
    for v in values:
        parts.append(b"\xff\xff\xff\xff" if v is None else struct.pack(">i", len(v)) + v)
    return message(b"D", b"".join(parts))


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def parameter_description(oids: Sequence[int]) -> bytes:
    return message(b"t", struct.pack(f">h{len(oids)}i", len(oids), *oids))


def error(severity: str, code: str, text: str, hint: str | None = None) -> bytes:
    fields = b"S" + cstr(severity) + b"V" + cstr(severity) + b"C" + cstr(code) + b"M" + cstr(text)
    if hint:
        fields += b"H" + cstr(hint)
    return message(b"E", fields + b"\x00")


PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
PORTAL_SUSPENDED = message(b"s")
EMPTY_QUERY = message(b"I")
