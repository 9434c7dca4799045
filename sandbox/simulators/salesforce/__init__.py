"""Salesforce REST API simulator: OAuth token, describe, SOQL query/queryAll with paging."""

from .app import Fault, SalesforceSimConfig, SalesforceSimulator, SimStats, create_app
from .errors import SalesforceApiError, SoqlError
from .soql import SoqlEngine

__all__ = [
    "Fault",
    "SalesforceApiError",
    "SalesforceSimConfig",
    "SalesforceSimulator",
    "SimStats",
    "SoqlEngine",
    "SoqlError",
    "create_app",
]
