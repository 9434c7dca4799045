"""The shape of one HubSpot portal as the simulator serves it.

The generator fills it from the company's truth; the HubSpot simulator reads it.
HubSpot stores and sends every property value as a string, so records keep strings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class HubSpotOption:
    label: str
    value: str
    display_order: int = 0
    hidden: bool = False


@dataclass(frozen=True)
class HubSpotProperty:
    name: str
    label: str
    type: str  # bool, date, datetime, enumeration, number, phone_number, string
    field_type: str  # booleancheckbox, checkbox, date, number, phonenumber, radio, select,
    # text, textarea, calculation_equation
    group_name: str = ""
    hubspot_defined: bool = True
    options: tuple[HubSpotOption, ...] = ()
    calculated: bool = False
    has_unique_value: bool = False
    description: str = ""
    # returned by list/search when the request names no properties
    default: bool = False


@dataclass
class HubSpotRecord:
    id: str  # numeric string; equals properties["hs_object_id"]
    # Every value is a string as HubSpot stores it ("1234.5", "true", "2024-01-31",
    # "2024-01-31T12:00:00.000Z"), or None when unset.
    properties: dict[str, str | None]
    created_at: dt.datetime  # tz-aware UTC
    updated_at: dt.datetime
    archived: bool = False
    archived_at: dt.datetime | None = None


@dataclass
class HubSpotObject:
    name: str  # companies, contacts, deals, line_items, products, tickets, or a custom name
    object_type_id: str  # "0-2" companies, "0-1" contacts, "0-3" deals, "0-8" line_items,
    # "0-7" products, "0-5" tickets, "2-<n>" custom objects
    singular: str
    plural: str
    properties: list[HubSpotProperty]
    records: list[HubSpotRecord] = field(default_factory=list)
    custom: bool = False
    primary_display_property: str = ""
    fully_qualified_name: str = ""  # custom objects: "p<portal>_<name>"


@dataclass(frozen=True)
class HubSpotAssociation:
    from_object: str  # object name, e.g. "deals"
    from_id: str
    to_object: str  # e.g. "companies"
    to_id: str
    type_id: int  # HubSpot-defined ids, e.g. deal→company 5, contact→company 1 (primary)
    category: str = "HUBSPOT_DEFINED"
    label: str | None = None


@dataclass
class HubSpotOwner:
    id: str
    email: str
    first_name: str
    last_name: str
    user_id: int
    created_at: dt.datetime
    updated_at: dt.datetime
    archived: bool = False


@dataclass(frozen=True)
class HubSpotStage:
    id: str  # e.g. "appointmentscheduled", "closedwon"
    label: str
    display_order: int
    # deal stages: metadata {"isClosed": "true"|"false", "probability": "0.2"}
    # ticket stages: metadata {"ticketState": "OPEN"|"CLOSED"}
    metadata: tuple[tuple[str, str], ...] = ()
    archived: bool = False


@dataclass
class HubSpotPipeline:
    id: str  # "default" for the default deal pipeline
    object_type: str  # "deals" or "tickets"
    label: str
    display_order: int
    stages: list[HubSpotStage]
    created_at: dt.datetime
    updated_at: dt.datetime
    archived: bool = False


@dataclass
class HubSpotPortal:
    """Everything one simulated HubSpot account holds."""

    objects: dict[str, HubSpotObject]
    associations: list[HubSpotAssociation] = field(default_factory=list)
    owners: list[HubSpotOwner] = field(default_factory=list)
    pipelines: list[HubSpotPipeline] = field(default_factory=list)
    portal_id: int = 4400123
    today: dt.date = field(default_factory=dt.date.today)
