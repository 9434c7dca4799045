"""NetSuite SuiteQL REST simulator: ``POST /services/rest/query/v1/suiteql`` with NetSuite's
paging, 1,000-row pages, 100,000-result cap, value rendering, OAuth 2.0 and TBA signatures,
concurrency governance, ``o:errorDetails`` errors and the REST metadata catalog."""

from .app import (
    SUITEQL_PATH,
    Fault,
    NetSuiteSimConfig,
    NetSuiteSimulator,
    SimStats,
    create_app,
    render_value,
)
from .auth import TbaCredential, TbaVerifier
from .errors import NetSuiteApiError
from .metadata import METADATA_PATH, record_schema
from .suiteql import CompiledQuery, QueryResult, SuiteQLEngine, SuiteQLError, format_date

__all__ = [
    "METADATA_PATH",
    "SUITEQL_PATH",
    "CompiledQuery",
    "Fault",
    "NetSuiteApiError",
    "NetSuiteSimConfig",
    "NetSuiteSimulator",
    "QueryResult",
    "SimStats",
    "SuiteQLEngine",
    "SuiteQLError",
    "TbaCredential",
    "TbaVerifier",
    "create_app",
    "format_date",
    "record_schema",
    "render_value",
]
