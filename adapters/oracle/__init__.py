"""Oracle Fusion Cloud: ``/describe`` discovery and REST ``q`` rowmatch pushdown."""

from adapters.oracle.adapter import OracleAdapter, OracleOptions

__all__ = ["OracleAdapter", "OracleOptions"]
