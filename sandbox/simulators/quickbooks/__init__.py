"""QuickBooks Online Accounting API simulator: the ``/v3/company/{realm}/query`` endpoint
(GET ``?query=`` and POST ``application/text``) with Intuit's query language, paging,
Fault bodies, bearer tokens and the 500-per-minute / 10-concurrent throttles."""

from .app import (
    DOCUMENTED_PROPERTIES,
    Fault,
    QboApiError,
    QuickBooksSimConfig,
    QuickBooksSimulator,
    SimStats,
    create_app,
)
from .query import ParsedQuery, QueryError, evaluate, parse

__all__ = [
    "DOCUMENTED_PROPERTIES",
    "Fault",
    "ParsedQuery",
    "QboApiError",
    "QueryError",
    "QuickBooksSimConfig",
    "QuickBooksSimulator",
    "SimStats",
    "create_app",
    "evaluate",
    "parse",
]
