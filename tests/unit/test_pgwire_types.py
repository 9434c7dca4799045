"""Values on the PostgreSQL wire: OIDs, text output and binary send formats, checked
against what PostgreSQL's own functions produce for the same values."""

from __future__ import annotations

import datetime as dt
import decimal
import struct

import pyarrow as pa
import pytest

from federation.pgwire import types as t
from federation.pgwire.encode import data_rows, encode_values
from federation.pgwire.scram import ScramError, ScramServer
from federation.pgwire.session import substitute


@pytest.mark.parametrize("arrow, oid", [
    (pa.bool_(), 16), (pa.int16(), 21), (pa.int32(), 23), (pa.int64(), 20),
    (pa.float32(), 700), (pa.float64(), 701), (pa.decimal128(10, 2), 1700),
    (pa.date32(), 1082), (pa.timestamp("us"), 1114), (pa.timestamp("ms", tz="UTC"), 1184),
    (pa.string(), 25), (pa.binary(), 17), (pa.list_(pa.int64()), 1016),
    (pa.list_(pa.string()), 1009), (pa.list_(pa.struct([("a", pa.int64())])), 25)])
def test_oids_are_postgresqls(arrow, oid):
    assert t.pg_type(arrow).oid == oid


def _text(values: list, arrow: pa.DataType) -> list[str | None]:
    column = pa.array(values, arrow)
    encoded = encode_values(column, t.pg_type(arrow), binary=False).to_pylist()
    return [None if v is None else v.decode() for v in encoded]


def _binary(values: list, arrow: pa.DataType) -> list[bytes | None]:
    column = pa.array(values, arrow)
    return encode_values(column, t.pg_type(arrow), binary=True).to_pylist()


def test_text_output_like_postgresql():
    """Each expected string is what PostgreSQL 15 prints for the same value."""
    moment = dt.datetime(2026, 6, 15, 10, 30, 0, 250000, tzinfo=dt.UTC)
    assert _text([moment, None], pa.timestamp("us", tz="UTC")) == [
        "2026-06-15 10:30:00.25+00", None]
    assert _text([dt.datetime(2026, 6, 15, 10, 30)], pa.timestamp("ns")) == [
        "2026-06-15 10:30:00"]
    assert _text([dt.time(12, 0, 0, 500000)], pa.time64("us")) == ["12:00:00.5"]
    assert _text([False, True], pa.bool_()) == ["f", "t"]
    assert _text([decimal.Decimal("5.00"), decimal.Decimal("-0.50")],
                 pa.decimal128(18, 2)) == ["5.00", "-0.50"]
    assert _text([1.5, 100.0, 1e20, 0.1, 1e15, 1e14, 1e-5, float("inf"), float("nan")],
                 pa.float64()) == ["1.5", "100", "1e+20", "0.1", "1e+15", "100000000000000",
                                   "1e-05", "Infinity", "NaN"]
    assert _text([123456789.0, 1234567.0, 123456.0], pa.float32()) == [
        "1.2345679e+08", "1.234567e+06", "123456"]
    assert _text([b"\x01\xff"], pa.binary()) == ["\\x01ff"]
    assert _text([pa.scalar((14, 3, 14_706_500_000_000), pa.month_day_nano_interval())
                  .as_py(), pa.scalar((0, -1, 0), pa.month_day_nano_interval()).as_py()],
                 pa.month_day_nano_interval()) == ["1 year 2 mons 3 days 04:05:06.5",
                                                   "-1 days"]


@pytest.mark.parametrize("value, expected", [
    # numeric_send(ndigits, weight, sign, dscale, digits) as PostgreSQL 15 returns them
    ("12.345", (2, 0, 0x0000, 3, (12, 3450))),
    ("-0.500", (1, -1, 0x4000, 3, (5000,))),
    ("10000.000", (1, 1, 0x0000, 3, (1,))),
    ("0.000", (0, 0, 0x0000, 3, ())),
    ("123456789.0001", (4, 2, 0x0000, 4, (1, 2345, 6789, 1))),
])
def test_numeric_binary_is_base_10000(value, expected):
    """The whole-column encoder and the per-value one (for numerics wider than 64 bits)
    both send what PostgreSQL does."""
    scale = expected[3]
    vectorised = _binary([decimal.Decimal(value)], pa.decimal128(38, scale))[0]
    for data in (vectorised, t.bin_numeric(decimal.Decimal(value))):
        ndigits, weight, sign, dscale = struct.unpack(">hhHh", data[:8])
        digits = struct.unpack(f">{ndigits}H", data[8:])
        assert (ndigits, weight, sign, dscale, digits) == expected
        assert t.decode_parameter(data, t.NUMERIC, binary=True) == decimal.Decimal(value)


def test_binary_fixed_width_values_as_postgresql_sends_them():
    assert _binary([dt.date(2000, 1, 2), None, dt.date(1999, 12, 31)], pa.date32()) == [
        struct.pack(">i", 1), None, struct.pack(">i", -1)]
    moment = dt.datetime(2000, 1, 1, 0, 0, 1, tzinfo=dt.UTC)
    assert _binary([moment], pa.timestamp("us", tz="UTC")) == [struct.pack(">q", 1_000_000)]
    assert _binary([dt.datetime(2000, 1, 1, 0, 0, 1)], pa.timestamp("ms")) == [
        struct.pack(">q", 1_000_000)]
    assert _binary([True, False], pa.bool_()) == [b"\x01", b"\x00"]
    assert _binary([-2, 7], pa.int16()) == [struct.pack(">h", -2), struct.pack(">h", 7)]
    assert _binary([2**40], pa.int64()) == [struct.pack(">q", 2**40)]
    assert _binary([1.5], pa.float64()) == [struct.pack(">d", 1.5)]
    assert _binary([dt.time(0, 0, 1)], pa.time64("us")) == [struct.pack(">q", 1_000_000)]


def test_arrays_as_array_out_and_array_send_write_them():
    values = [["a", "b c", None, "", 'x"y'], None, [], ["NULL"]]
    assert _text(values, pa.list_(pa.string())) == [
        '{a,"b c",NULL,"","x\\"y"}', None, "{}", '{"NULL"}']
    one, _, empty, _ = _binary(values, pa.list_(pa.string()))
    # ndim, has nulls, element OID, length, lower bound, then each element
    assert one[:20] == struct.pack(">iiiii", 1, 1, 25, 5, 1)
    assert one[20:] == (struct.pack(">i", 1) + b"a" + struct.pack(">i", 3) + b"b c"
                        + struct.pack(">i", -1) + struct.pack(">i", 0)
                        + struct.pack(">i", 3) + b'x"y')
    assert empty == struct.pack(">iii", 0, 0, 25)


def test_data_rows_frame_every_row_with_nulls_as_minus_one():
    batch = pa.record_batch({"id": pa.array([1, None], pa.int32()),
                             "name": pa.array(["é", None])})
    types = [t.pg_type(f.type) for f in batch.schema]
    wire = data_rows(batch, types, [1, 0])
    first = b"\x00\x02" + struct.pack(">i", 4) + struct.pack(">i", 1) + struct.pack(">i", 2) + (
        "é".encode())
    second = b"\x00\x02" + struct.pack(">i", -1) * 2
    assert wire == (b"D" + struct.pack(">i", 4 + len(first)) + first
                    + b"D" + struct.pack(">i", 4 + len(second)) + second)


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
