"""Oracle Fusion Cloud REST simulator: resource collections with ``q`` (query-by-example and
rowmatch expressions), ``fields``/``onlyData``, ``limit``/``offset``/``hasMore`` paging,
``orderBy``, ``/describe`` metadata, Basic and bearer auth, throttling and Oracle's REST
error bodies."""

from .app import (
    API_VERSION,
    DEFAULT_APPS,
    Fault,
    OracleApiError,
    OracleFusionSimulator,
    OracleSimConfig,
    SimStats,
    create_app,
    render_value,
)
from .query import QueryError, compile_q

__all__ = [
    "API_VERSION",
    "DEFAULT_APPS",
    "Fault",
    "OracleApiError",
    "OracleFusionSimulator",
    "OracleSimConfig",
    "QueryError",
    "SimStats",
    "compile_q",
    "create_app",
    "render_value",
]
