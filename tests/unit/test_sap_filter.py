"""SAP OData v2 ``$filter`` compilation, sort pushdown and ``$metadata`` type mapping."""

from __future__ import annotations

import pyarrow as pa
import pytest
import sqlglot

from adapters.contract import Column, Pushdown, SortKey, TableInfo
from adapters.sap.filter import MAX_IN_VALUES, can_sort, compile_predicate
from adapters.sap.metadata import parse_metadata

TS = pa.timestamp("ms", tz="UTC")
ORDERS = TableInfo("A_SalesOrder", (
    Column("SalesOrder", pa.string(), "Edm.String"),
    Column("SoldToParty", pa.string(), "Edm.String"),
    Column("TotalNetAmount", pa.decimal128(16, 3), "Edm.Decimal"),
    Column("Quantity", pa.int64(), "Edm.Int32"),
    Column("Counter", pa.int64(), "Edm.Int64"),
    Column("Ratio", pa.float64(), "Edm.Double"),
    Column("CreationDate", pa.date32(), "Edm.DateTime"),
    Column("LastChangeDateTime", TS, "Edm.DateTimeOffset"),
    Column("PostedAt", TS, "Edm.DateTime"),
    Column("IsBlocked", pa.bool_(), "Edm.Boolean"),
    Column("PartnerUUID", pa.string(), "Edm.Guid"),
    Column("CreationTime", pa.string(), "Edm.Time"),
    Column("Hidden", pa.string(), "Edm.String", filterable=False, sortable=False),
))
GUID = "3f2a1c9e-0000-4000-8000-00000000d365"


def compiled(sql: str) -> tuple[str, Pushdown] | None:
    result = compile_predicate(ORDERS, sqlglot.parse_one(sql, read="duckdb"))
    return None if result is None else (result.text, result.pushdown)


@pytest.mark.parametrize("sql, text, fidelity", [
    # strings: SAP compares case-sensitively and excludes NULLs, like DuckDB
    ("SoldToParty = 'O''Brien'", "SoldToParty eq 'O''Brien'", Pushdown.EXACT),
    ("SoldToParty != 'ACME'", "SoldToParty ne 'ACME'", Pushdown.EXACT),
    ("SoldToParty = 'Müller 東'", "SoldToParty eq 'Müller 東'", Pushdown.EXACT),
    ("SoldToParty IN ('a', 'B', 'a')", "(SoldToParty eq 'a' or SoldToParty eq 'B')",
     Pushdown.EXACT),
    ("SoldToParty IN ('x')", "SoldToParty eq 'x'", Pushdown.EXACT),
    ("SoldToParty LIKE 'Ac%'", "startswith(SoldToParty,'Ac') eq true", Pushdown.EXACT),
    ("SoldToParty LIKE '%Co'", "endswith(SoldToParty,'Co') eq true", Pushdown.EXACT),
    ("SoldToParty LIKE '%''B%'", "substringof('''B',SoldToParty) eq true", Pushdown.EXACT),
    ("SoldToParty LIKE 'ACME'", "SoldToParty eq 'ACME'", Pushdown.EXACT),
    # numbers
    ("TotalNetAmount > 12.50", "TotalNetAmount gt 12.50M", Pushdown.EXACT),
    ("TotalNetAmount <= -3", "TotalNetAmount le -3M", Pushdown.EXACT),
    ("TotalNetAmount != 0", "TotalNetAmount ne 0M", Pushdown.EXACT),
    ("TotalNetAmount BETWEEN 1 AND 2",
     "(TotalNetAmount ge 1M and TotalNetAmount le 2M)", Pushdown.EXACT),
    ("Quantity >= 10", "Quantity ge 10", Pushdown.EXACT),
    ("Counter = 7", "Counter eq 7L", Pushdown.EXACT),
    ("Quantity IN (1, 2)", "(Quantity eq 1 or Quantity eq 2)", Pushdown.EXACT),
    # dates and timestamps (timestamps on the millisecond grid the values arrive on)
    ("CreationDate < DATE '2024-02-01'", "CreationDate lt datetime'2024-02-01T00:00:00'",
     Pushdown.EXACT),
    ("CreationDate = '2024-02-01'", "CreationDate eq datetime'2024-02-01T00:00:00'",
     Pushdown.EXACT),
    ("LastChangeDateTime >= TIMESTAMP '2024-01-31 10:00:00'",
     "LastChangeDateTime ge datetimeoffset'2024-01-31T10:00:00Z'", Pushdown.EXACT),
    ("LastChangeDateTime < TIMESTAMP '2024-01-31 10:00:00'",
     "LastChangeDateTime lt datetimeoffset'2024-01-31T10:00:00Z'", Pushdown.EXACT),
    ("LastChangeDateTime <= TIMESTAMP '2024-01-31 10:00:00'",
     "LastChangeDateTime lt datetimeoffset'2024-01-31T10:00:00.001Z'", Pushdown.EXACT),
    ("LastChangeDateTime > TIMESTAMP '2024-01-31 10:00:00.250'",
     "LastChangeDateTime ge datetimeoffset'2024-01-31T10:00:00.251Z'", Pushdown.EXACT),
    ("PostedAt = TIMESTAMP '2024-01-31 10:00:00'",
     "(PostedAt ge datetime'2024-01-31T10:00:00' and "
     "PostedAt lt datetime'2024-01-31T10:00:00.001')", Pushdown.EXACT),
    ("PostedAt != TIMESTAMP '2024-01-31 10:00:00'",
     "(PostedAt lt datetime'2024-01-31T10:00:00' or "
     "PostedAt ge datetime'2024-01-31T10:00:00.001')", Pushdown.EXACT),
    ("PostedAt >= DATE '2024-01-31'", "PostedAt ge datetime'2024-01-31T00:00:00'",
     Pushdown.EXACT),
    # booleans, nulls, GUIDs
    ("IsBlocked", "IsBlocked eq true", Pushdown.EXACT),
    ("NOT IsBlocked", "IsBlocked eq false", Pushdown.EXACT),
    ("IsBlocked = false", "IsBlocked eq false", Pushdown.EXACT),
    ("IsBlocked != true", "IsBlocked ne true", Pushdown.EXACT),
    ("TotalNetAmount IS NULL", "TotalNetAmount eq null", Pushdown.EXACT),
    ("SoldToParty IS NOT NULL", "SoldToParty ne null", Pushdown.EXACT),
    ("CreationTime IS NULL", "CreationTime eq null", Pushdown.UNSUPPORTED),
    (f"PartnerUUID = '{GUID}'", f"PartnerUUID eq guid'{GUID}'", Pushdown.EXACT),
    # connectives: AND/OR as weak as their weakest side; NOT only over exact, then inexact
    ("Quantity > 1 OR SoldToParty = 'x'", "(Quantity gt 1 or SoldToParty eq 'x')",
     Pushdown.EXACT),
    ("NOT (Quantity > 1)", "not (Quantity gt 1)", Pushdown.INEXACT),
    ("SoldToParty NOT IN ('a', 'b')", "not ((SoldToParty eq 'a' or SoldToParty eq 'b'))",
     Pushdown.INEXACT),
    # sqlglot spells NOT LIKE as Like(negate=True): it must not be pushed as LIKE
    ("SoldToParty NOT LIKE 'A%'", "not (startswith(SoldToParty,'A') eq true)",
     Pushdown.INEXACT),
    ("NOT (SoldToParty NOT LIKE '%z')", "not (not (endswith(SoldToParty,'z') eq true))",
     Pushdown.UNSUPPORTED),
])
def test_filters(sql: str, text: str, fidelity: Pushdown) -> None:
    if fidelity is Pushdown.UNSUPPORTED:
        assert compiled(sql) is None
    else:
        assert compiled(sql) == (text, fidelity)


@pytest.mark.parametrize("sql", [
    "SoldToParty < 'b'",  # string ranges: HANA's collation may differ from DuckDB
    "SoldToParty >= 'A'",
    "SoldToParty ILIKE 'ac%'",  # no case-insensitive match in v2
    "SoldToParty LIKE 'a_c%'",
    "SoldToParty LIKE 'a%b%'",
    "SoldToParty LIKE '%'",
    "SoldToParty LIKE 'a\\%'",
    "Ratio > 1.5",  # binary floats rendered in E notation: kept local
    "Quantity = 1.5",  # an Int32 compared with a fraction
    "CreationTime = 'PT12H30M00S'",
    "Hidden = 'x'",  # sap:filterable="false"
    "PartnerUUID = 'NOT-A-GUID'",
    f"PartnerUUID = '{GUID.upper()}'",
    "PartnerUUID > 'a'",
    "IsBlocked > false",
    "LastChangeDateTime = TIMESTAMP '2024-01-31 10:00:00.000123'",
    "upper(SoldToParty) = 'X'",
    "Quantity = Counter",
    "NOT (SoldToParty LIKE 'a_%')",
    "SoldToParty NOT ILIKE 'a%'",
    "Quantity > 1 AND SoldToParty < 'x'",
    "Quantity IN (" + ", ".join(str(i) for i in range(MAX_IN_VALUES + 1)) + ")",
])
def test_stays_local(sql: str) -> None:
    assert compiled(sql) is None


def test_in_list_at_the_limit_is_pushed() -> None:
    sql = "Quantity IN (" + ", ".join(str(i) for i in range(MAX_IN_VALUES)) + ")"
    result = compiled(sql)
    assert result is not None and result[0].count(" or ") == MAX_IN_VALUES - 1


@pytest.mark.parametrize("key, ok", [
    (SortKey("TotalNetAmount", descending=True, nulls_first=False), True),
    (SortKey("TotalNetAmount", descending=False, nulls_first=True), True),
    (SortKey("TotalNetAmount", descending=False, nulls_first=False), False),  # DuckDB default
    (SortKey("CreationDate", descending=True), True),
    (SortKey("LastChangeDateTime", descending=True), True),
    (SortKey("SoldToParty", descending=True), False),  # collation
    (SortKey("IsBlocked", descending=True), False),
    (SortKey("Hidden", descending=True), False),  # sap:sortable="false"
    (SortKey("Nope", descending=True), False),
])
def test_can_sort(key: SortKey, ok: bool) -> None:
    assert can_sort(ORDERS, key) is ok


EDMX = b"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"
    xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
    xmlns:sap="http://www.sap.com/Protocols/SAPData">
 <edmx:DataServices m:DataServiceVersion="2.0">
  <Schema Namespace="ZSRV" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">
   <EntityType Name="A_ThingType">
    <Key><PropertyRef Name="Thing"/></Key>
    <Property Name="Thing" Type="Edm.String" Nullable="false" MaxLength="10"/>
    <Property Name="Amount" Type="Edm.Decimal" Precision="16" Scale="3"/>
    <Property Name="Ratio" Type="Edm.Decimal"/>
    <Property Name="Day" Type="Edm.DateTime" Precision="0" sap:display-format="Date"/>
    <Property Name="Changed" Type="Edm.DateTimeOffset" Precision="7"/>
    <Property Name="Posted" Type="Edm.DateTime" Precision="0"/>
    <Property Name="At" Type="Edm.Time" Precision="0"/>
    <Property Name="Id" Type="Edm.Guid"/>
    <Property Name="Flag" Type="Edm.Boolean" sap:filterable="false"/>
    <Property Name="Small" Type="Edm.Byte" sap:sortable="false"/>
    <Property Name="Big" Type="Edm.Int64"/>
    <Property Name="Share" Type="Edm.Single"/>
    <Property Name="Blob" Type="Edm.Binary"/>
    <NavigationProperty Name="to_Item" Relationship="ZSRV.assoc" FromRole="A" ToRole="B"/>
   </EntityType>
   <EntityContainer Name="ZSRV_Entities" m:IsDefaultEntityContainer="true">
    <EntitySet Name="A_Thing" EntityType="ZSRV.A_ThingType"/>
   </EntityContainer>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>"""


def test_metadata_types_in_document_order() -> None:
    thing = parse_metadata(EDMX)["A_Thing"]
    assert thing.keys == ("Thing",)
    assert [(c.name, c.type) for c in thing.columns] == [
        ("Thing", pa.string()), ("Amount", pa.decimal128(16, 3)), ("Ratio", pa.float64()),
        ("Day", pa.date32()), ("Changed", TS), ("Posted", TS), ("At", pa.string()),
        ("Id", pa.string()), ("Flag", pa.bool_()), ("Small", pa.int64()),
        ("Big", pa.int64()), ("Share", pa.float64()),
    ]  # Binary and the navigation property are not columns
    flags = {c.name: (c.filterable, c.sortable) for c in thing.columns}
    assert flags["Flag"] == (False, True) and flags["Small"] == (True, False)
    assert thing.edm_types["Blob"] == "Edm.Binary"


def test_metadata_that_is_not_edmx() -> None:
    with pytest.raises(ValueError):
        parse_metadata(b"<html><body>login</body></html>")
    with pytest.raises(ValueError):
        parse_metadata(b"{}")
