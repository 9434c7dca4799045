"""Salesforce: describe-based discovery and SOQL pushdown over the REST API."""

from adapters.salesforce.adapter import SalesforceAdapter, SalesforceOptions

__all__ = ["SalesforceAdapter", "SalesforceOptions"]
