"""SAP S/4HANA Cloud (OData v2) adapter."""

from adapters.sap.adapter import SapAdapter, SapOptions

__all__ = ["SapAdapter", "SapOptions"]
