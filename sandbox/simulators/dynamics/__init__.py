"""Microsoft Dataverse (Dynamics 365) Web API simulator: Entra token, metadata, OData queries."""

from .app import DataverseSimConfig, DataverseSimulator, Fault, SimStats, create_app
from .odata import ODataError, compile_filter, parse_filter

__all__ = [
    "DataverseSimConfig",
    "DataverseSimulator",
    "Fault",
    "ODataError",
    "SimStats",
    "compile_filter",
    "create_app",
    "parse_filter",
]
