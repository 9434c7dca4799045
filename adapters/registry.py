"""Catalog ``type`` → adapter class. Later systems register here."""

from __future__ import annotations

from adapters.contract import Adapter
from adapters.salesforce import SalesforceAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    SalesforceAdapter.type_name: SalesforceAdapter,
}
