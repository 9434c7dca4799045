"""HubSpot CRM API simulator: objects list/read/search, properties, schemas, owners,
pipelines and v4 associations, with HubSpot's paging, caps, case rules and rate limits."""

from .app import Fault, HubSpotSimConfig, HubSpotSimulator, SimStats, create_app
from .errors import HubSpotApiError
from .search import SearchError, SearchIndex, SearchLimits, parse_instant

__all__ = [
    "Fault",
    "HubSpotApiError",
    "HubSpotSimConfig",
    "HubSpotSimulator",
    "SearchError",
    "SearchIndex",
    "SearchLimits",
    "SimStats",
    "create_app",
    "parse_instant",
]
