"""Catalog ``type`` → adapter class. Later systems register here."""

from __future__ import annotations

from adapters.contract import Adapter
from adapters.dynamics import DynamicsAdapter
from adapters.files import FilesAdapter
from adapters.hubspot import HubSpotAdapter
from adapters.netsuite import NetSuiteAdapter
from adapters.oracle import OracleAdapter
from adapters.quickbooks import QuickBooksAdapter
from adapters.salesforce import SalesforceAdapter
from adapters.sap import SapAdapter
from adapters.sql import SqlAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    adapter.type_name: adapter for adapter in (SalesforceAdapter, HubSpotAdapter, DynamicsAdapter,
                                         SqlAdapter, FilesAdapter, NetSuiteAdapter, SapAdapter,
                                         OracleAdapter, QuickBooksAdapter)
}
