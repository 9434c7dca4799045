"""NetSuite authentication: OAuth 2.0 bearer tokens and token-based authentication (TBA).

TBA is OAuth 1.0a (RFC 5849) with HMAC-SHA256: the client signs method, normalized URL, query
parameters and ``oauth_*`` parameters with ``consumer_secret&token_secret``. The simulator
really verifies the signature (with oauthlib's RFC 5849 primitives, not hand-rolled crypto)
so an adapter that signs the wrong URL, forgets ``limit``/``offset`` in the base string or
uses the wrong secret fails here as it would against NetSuite. Replayed nonces, stale
timestamps, other signature methods and a realm other than the account id are refused too.

NetSuite answers every authentication failure with the same 401 ``INVALID_LOGIN`` body and
records the reason only in its Login Audit Trail; the simulator keeps that reason in
``TbaVerifier.last_reason`` and the stats for tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import SimpleNamespace

from oauthlib.oauth1.rfc5849 import signature as oauth_sig
from oauthlib.oauth1.rfc5849 import utils as oauth_utils

__all__ = ["TbaCredential", "TbaVerifier"]


@dataclass(frozen=True)
class TbaCredential:
    """An integration record's consumer key/secret plus one access token's id/secret."""

    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str


class TbaVerifier:
    """Checks OAuth 1.0a ``Authorization`` headers against configured credentials."""

    def __init__(
        self,
        credentials: Iterable[TbaCredential],
        realm: str,
        timestamp_tolerance_s: float = 300.0,
        clock: Callable[[], float] = time.time,
        nonce_memory: int = 100_000,
    ) -> None:
        self.credentials = {(c.consumer_key, c.token_id): c for c in credentials}
        self.realm = realm
        self.tolerance = timestamp_tolerance_s
        self.clock = clock
        self._seen: set[tuple[str, str, str, str]] = set()
        self._order: deque[tuple[str, str, str, str]] = deque()
        self._memory = nonce_memory
        self._lock = threading.Lock()
        self.last_reason: str | None = None

    def verify(self, method: str, url: str, authorization: str, body: bytes) -> str | None:
        """None when the request is properly signed, else the reason it is not.

        ``url`` is the absolute request URL including its query string, as the client
        addressed it (scheme and host from the request, so the loopback port counts).
        """
        try:
            params = oauth_utils.parse_authorization_header(authorization)
        except ValueError:
            return "malformed Authorization header"
        # Header values are percent-encoded (RFC 5849 section 3.5.1).
        values = {k: oauth_utils.unescape(v) for k, v in params}
        required = (
            "oauth_consumer_key",
            "oauth_token",
            "oauth_signature_method",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
        )
        missing = [k for k in required if not values.get(k)]
        if missing:
            return f"missing {', '.join(missing)}"  # MissingTokenPassportRequiredFields
        if values.get("realm", "").upper() != self.realm.upper():
            return f"realm {values.get('realm')!r} is not account {self.realm}"
        if values.get("oauth_version", "1.0") != "1.0":
            return "oauth_version must be 1.0"
        if values["oauth_signature_method"] != "HMAC-SHA256":
            return f"unsupported signature method {values['oauth_signature_method']}"
        cred = self.credentials.get((values["oauth_consumer_key"], values["oauth_token"]))
        if cred is None:
            return "unknown consumer key or token"  # consumer_key_unknown / InvalidToken
        nonce = values["oauth_nonce"]
        if len(nonce) < 6:
            return "nonce shorter than 6 characters"  # nonce_rejected
        try:
            stamp = int(values["oauth_timestamp"])
        except ValueError:
            return "timestamp is not an integer"
        if abs(self.clock() - stamp) > self.tolerance:
            return "timestamp outside the allowed window"  # timestamp_refused
        body_hash = values.get("oauth_body_hash")
        if body_hash is not None:
            expected_hash = base64.b64encode(hashlib.sha1(body).digest()).decode()
            if not hmac.compare_digest(body_hash, expected_hash):
                return "oauth_body_hash does not match the body"
        query = url.split("?", 1)[1] if "?" in url else ""
        collected = oauth_sig.collect_parameters(
            uri_query=query, headers={"Authorization": authorization}
        )
        base = oauth_sig.signature_base_string(
            method.upper(),
            oauth_sig.base_string_uri(url),
            oauth_sig.normalize_parameters(collected),
        )
        secrets = SimpleNamespace(
            client_secret=cred.consumer_secret, resource_owner_secret=cred.token_secret
        )
        expected = oauth_sig.sign_hmac_sha256_with_client(base, secrets)
        if not hmac.compare_digest(expected, values["oauth_signature"]):
            return "signature mismatch"  # InvalidSignature
        key = (cred.consumer_key, cred.token_id, nonce, values["oauth_timestamp"])
        with self._lock:
            if key in self._seen:
                return "nonce already used"  # nonce_used
            self._seen.add(key)
            self._order.append(key)
            while len(self._order) > self._memory:
                self._seen.discard(self._order.popleft())
        return None
