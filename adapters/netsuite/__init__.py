"""NetSuite: metadata-catalog discovery and SuiteQL pushdown over REST."""

from adapters.netsuite.adapter import NetSuiteAdapter, NetSuiteOptions

__all__ = ["NetSuiteAdapter", "NetSuiteOptions"]
