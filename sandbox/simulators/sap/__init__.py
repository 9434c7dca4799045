"""SAP S/4HANA Cloud OData v2 simulator: real EDMX ``$metadata``, v2 JSON, SAP Gateway paging."""

from .app import Fault, SapSimConfig, SapSimulator, SimStats, create_app, error_body, render_value
from .edmx import EdmxService, available_services, erp_fields, load_service, parse_edmx
from .filter import FilterError, compile_filter, parse_filter

__all__ = [
    "EdmxService",
    "Fault",
    "FilterError",
    "SapSimConfig",
    "SapSimulator",
    "SimStats",
    "available_services",
    "compile_filter",
    "create_app",
    "erp_fields",
    "error_body",
    "load_service",
    "parse_edmx",
    "parse_filter",
    "render_value",
]
