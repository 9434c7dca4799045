"""Dynamics 365 / Dataverse: EntityDefinitions discovery and OData v4 pushdown."""

from adapters.dynamics.adapter import DynamicsAdapter, DynamicsOptions

__all__ = ["DynamicsAdapter", "DynamicsOptions"]
