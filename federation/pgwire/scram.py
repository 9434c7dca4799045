"""SCRAM-SHA-256 (RFC 5802, RFC 7677) as a PostgreSQL server runs it.

Hand-written because PostgreSQL clients send an empty SCRAM user name (``n=,r=...``: the
role comes from the startup packet), which scramp's server refuses. No channel binding is
offered, so clients send the ``n,,`` or ``y,,`` GS2 header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ITERATIONS = 4096


class ScramError(Exception):
    """The exchange failed: a malformed message or a wrong password."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _attributes(message: str) -> dict[str, str]:
    try:
        return dict(part.split("=", 1) for part in message.split(","))
    except ValueError:
        raise ScramError(f"malformed SCRAM message {message!r:.60}") from None


class ScramServer:
    """One authentication exchange for one password."""

    def __init__(self, password: str) -> None:
        self.salt = secrets.token_bytes(16)
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, ITERATIONS)
        self.stored_key = hashlib.sha256(_hmac(salted, "Client Key")).digest()
        self.server_key = _hmac(salted, "Server Key")
        self.client_first_bare = self.server_first = self.nonce = self.gs2_header = ""

    def server_first_message(self, client_first: str) -> str:
        if not client_first.startswith(("n,", "y,")):
            raise ScramError("channel binding is not offered by this server")
        header_end = client_first.index(",", 2) + 1
        self.gs2_header, self.client_first_bare = (client_first[:header_end],
                                                   client_first[header_end:])
        client_nonce = _attributes(self.client_first_bare).get("r")
        if not client_nonce:
            raise ScramError("the client sent no nonce")
        self.nonce = client_nonce + _b64(secrets.token_bytes(18))
        self.server_first = f"r={self.nonce},s={_b64(self.salt)},i={ITERATIONS}"
        return self.server_first

    def server_final_message(self, client_final: str) -> str:
        """Verify the client's proof; the server's signature proves we knew the password."""
        without_proof, _, proof_part = client_final.rpartition(",p=")
        attributes = _attributes(without_proof)
        if attributes.get("r") != self.nonce:
            raise ScramError("the nonce does not match")
        if attributes.get("c") != _b64(self.gs2_header.encode()):
            raise ScramError("the channel binding does not match")
        auth_message = f"{self.client_first_bare},{self.server_first},{without_proof}"
        signature = _hmac(self.stored_key, auth_message)
        try:
            proof = base64.b64decode(proof_part, validate=True)
        except ValueError:
            raise ScramError("malformed proof") from None
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=False))
        if len(proof) != len(signature) or not hmac.compare_digest(
                hashlib.sha256(client_key).digest(), self.stored_key):
            raise ScramError("wrong password")
        return f"v={_b64(_hmac(self.server_key, auth_message))}"
