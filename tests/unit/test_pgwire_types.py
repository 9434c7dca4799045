"""Values on the PostgreSQL wire: OIDs, text output and binary send formats, checked
against what PostgreSQL's own functions produce for the same values."""

from __future__ import annotations

import datetime as dt
import decimal
import struct

import pyarrow as pa
import pytest

from federation.pgwire import types as t
from federation.pgwire.scram import ScramError, ScramServer
from federation.pgwire.session import substitute


@pytest.mark.parametrize("arrow, oid", [
    (pa.bool_(), 16), (pa.int16(), 21), (pa.int32(), 23), (pa.int64(), 20),
    (pa.float32(), 700), (pa.float64(), 701), (pa.decimal128(10, 2), 1700),
    (pa.date32(), 1082), (pa.timestamp("us"), 1114), (pa.timestamp("ms", tz="UTC"), 1184),
    (pa.string(), 25), (pa.binary(), 17), (pa.list_(pa.int64()), 25)])
def test_oids_are_postgresqls(arrow, oid):
    assert t.pg_type(arrow).oid == oid


def test_text_output_like_postgresql():
    ts = t.pg_type(pa.timestamp("us", tz="UTC"))
    moment = dt.datetime(2026, 6, 15, 10, 30, 0, 250000, tzinfo=dt.UTC)
    assert ts.text(moment) == "2026-06-15 10:30:00.250000+00"
    assert t.pg_type(pa.bool_()).text(False) == "f"
    assert t.pg_type(pa.float64()).text(float("inf")) == "Infinity"
    assert t.pg_type(pa.float64()).text(0.1) == "0.1"
    assert t.pg_type(pa.binary()).text(b"\x01\xff") == "\\x01ff"


@pytest.mark.parametrize("value, expected", [
    # numeric_send(ndigits, weight, sign, dscale, digits) as PostgreSQL 15 returns them
    ("12.345", (2, 0, 0x0000, 3, (12, 3450))),
    ("-0.50", (1, -1, 0x4000, 2, (5000,))),
    ("10000", (1, 1, 0x0000, 0, (1,))),
    ("0", (0, 0, 0x0000, 0, ())),
    ("123456789.0001", (4, 2, 0x0000, 4, (1, 2345, 6789, 1))),
])
def test_numeric_binary_is_base_10000(value, expected):
    data = t._bin_numeric(decimal.Decimal(value))
    ndigits, weight, sign, dscale = struct.unpack(">hhHh", data[:8])
    digits = struct.unpack(f">{ndigits}H", data[8:])
    assert (ndigits, weight, sign, dscale, digits) == expected
    assert t.decode_parameter(data, t.NUMERIC, binary=True) == decimal.Decimal(value)


def test_binary_dates_and_times_count_from_2000():
    assert t._bin_date(dt.date(2000, 1, 2)) == struct.pack(">i", 1)
    moment = dt.datetime(2000, 1, 1, 0, 0, 1, tzinfo=dt.UTC)
    assert t._bin_timestamptz(moment) == struct.pack(">q", 1_000_000)
    assert t.decode_parameter(struct.pack(">i", -1), t.DATE, binary=True) == dt.date(1999, 12,
                                                                                        31)


def test_parameters_become_literals_never_pasted():
    sql = substitute("SELECT * FROM t WHERE a = $1 AND b = '$2' AND c = $2",
                     ["x'); DROP TABLE t; --", 5])
    assert sql == ("SELECT * FROM t WHERE a = 'x''); DROP TABLE t; --' AND b = '$2' "
                   "AND c = 5")


def test_scram_accepts_the_right_proof_only():
    """RFC 7677's exchange, computed the way a client does."""
    import base64
    import hashlib
    import hmac

    def client_proof(password: str, server_first: str, client_first_bare: str,
                     without_proof: str) -> str:
        attrs = dict(p.split("=", 1) for p in server_first.split(","))
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(),
                                     base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored = hashlib.sha256(client_key).digest()
        auth = f"{client_first_bare},{server_first},{without_proof}".encode()
        signature = hmac.new(stored, auth, hashlib.sha256).digest()
        return base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature,
                                                            strict=True))).decode()

    for password, tried, ok in (("s3cret", "s3cret", True), ("s3cret", "wrong", False)):
        server = ScramServer(password)
        first = server.server_first_message("n,,n=,r=abc")  # libpq sends no user name
        nonce = dict(p.split("=", 1) for p in first.split(","))["r"]
        without_proof = f"c=biws,r={nonce}"
        final = f"{without_proof},p={client_proof(tried, first, 'n=,r=abc', without_proof)}"
        if ok:
            assert server.server_final_message(final).startswith("v=")
        else:
            with pytest.raises(ScramError, match="wrong password"):
                server.server_final_message(final)
