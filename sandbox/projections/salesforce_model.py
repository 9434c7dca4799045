"""The shape of one Salesforce org as the simulator serves it.

The generator fills it from the company's truth; the simulator reads it. Keeping the
shape in one small module lets both sides evolve without importing each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

# Salesforce describe field types (lowercase, as the API sends them).
FieldType = str


@dataclass(frozen=True)
class SObjectField:
    name: str
    type: FieldType  # id, string, picklist, email, phone, url, textarea, reference,
    # boolean, currency, percent, double, int, date, datetime
    label: str
    custom: bool = False
    nillable: bool = True
    length: int = 0
    precision: int = 0
    scale: int = 0
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist_values: tuple[str, ...] = ()
    filterable: bool = True
    sortable: bool = True


@dataclass
class SObject:
    name: str
    label: str
    fields: list[SObjectField]
    # One dict per record, keyed by field name. Values are plain Python:
    # str, int, float, bool, datetime.date, datetime.datetime (tz-aware UTC), or None.
    records: list[dict[str, Any]] = field(default_factory=list)
    custom: bool = False
    label_plural: str = ""
    key_prefix: str = ""

    def field(self, name: str) -> SObjectField:
        for f in self.fields:
            if f.name.lower() == name.lower():
                return f
        raise KeyError(name)


@dataclass
class SalesforceOrg:
    """Everything one simulated org holds."""

    objects: dict[str, SObject]
    org_id: str = "00D000000000001EAA"
    # The reference date of the generated data ("today" for relative date literals).
    today: dt.date = field(default_factory=dt.date.today)
