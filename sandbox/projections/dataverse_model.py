"""The shape of one Dynamics 365 / Dataverse environment as the simulator serves it.

The generator fills it from the company's truth; the Dataverse simulator reads it and
renders OData v4 (lookups as ``_<name>_value``, choices as integers with
FormattedValue labels on request).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DataverseOption:
    value: int
    label: str


@dataclass(frozen=True)
class DataverseAttribute:
    logical_name: str
    # AttributeType as Dataverse metadata names it: Uniqueidentifier, String, Memo, Integer,
    # BigInt, Decimal, Double, Money, Boolean, DateTime, Picklist, State, Status, Lookup,
    # Owner, Customer
    attribute_type: str
    display_name: str
    date_only: bool = False  # DateTime with DateOnly behaviour: sent as "2024-01-31"
    options: tuple[DataverseOption, ...] = ()  # Picklist, State, Status (Boolean: 0/1)
    targets: tuple[str, ...] = ()  # Lookup/Owner/Customer: target entity logical names
    is_primary_id: bool = False
    is_primary_name: bool = False
    is_custom: bool = False
    max_length: int | None = None
    precision: int | None = None


@dataclass
class DataverseEntity:
    logical_name: str  # "account"
    entity_set_name: str  # "accounts"
    primary_id: str  # "accountid"
    primary_name: str  # "name"
    display_name: str
    attributes: list[DataverseAttribute]
    # One dict per row keyed by attribute logical name (lookups by their attribute name,
    # e.g. "parentcustomerid", holding the target's GUID string). Values are plain Python:
    # str, int, float, bool, datetime.date (DateOnly), tz-aware UTC datetime, or None.
    records: list[dict[str, Any]] = field(default_factory=list)
    is_custom: bool = False


@dataclass
class DataverseOrg:
    """Everything one simulated environment holds, keyed by entity logical name."""

    entities: dict[str, DataverseEntity]
    organization_id: str = "3f2a1c9e-0000-4000-8000-00000000d365"
    tenant_id: str = "72f988bf-0000-4000-8000-0000000a1b2c"
    today: dt.date = field(default_factory=dt.date.today)
