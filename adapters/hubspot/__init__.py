"""HubSpot CRM: properties-based discovery, list and search scans, v4 associations."""

from adapters.hubspot.adapter import HubSpotAdapter, HubSpotOptions

__all__ = ["HubSpotAdapter", "HubSpotOptions"]
