"""The whole demo world: the company's truth, its three CRMs, and the crosswalk between them.

Identity resolution is judged against the crosswalk: one row per projected record saying
which truth entity it stands for, so a match between a Salesforce account, a HubSpot
company and a Dynamics account is right exactly when their rows share a ``truth_id``.
Each projection draws from its own seeded RNG, so adding a system never changes another.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa

from sandbox.company import Company, generate_company
from sandbox.projections.dataverse_model import DataverseOrg
from sandbox.projections.dynamics import dataverse_truth_tables, project_dynamics_crosswalk
from sandbox.projections.hubspot import portal_truth_tables, project_hubspot_crosswalk
from sandbox.projections.hubspot_model import HubSpotPortal
from sandbox.projections.salesforce import org_truth_tables, project_salesforce_crosswalk
from sandbox.projections.salesforce_model import SalesforceOrg

__all__ = ["CROSSWALK_SCHEMA", "SYSTEMS", "World", "build_world", "world_truth_tables"]

SYSTEMS = ("salesforce", "hubspot", "dynamics")
CROSSWALK_SCHEMA = pa.schema(
    [
        pa.field("entity", pa.string(), nullable=False),  # customer, contact, opportunity,
        # case, user, product
        pa.field("truth_id", pa.string(), nullable=False),
        pa.field("system", pa.string(), nullable=False),  # salesforce, hubspot, dynamics
        pa.field("object", pa.string(), nullable=False),  # Account, companies, accounts, ...
        pa.field("record_id", pa.string(), nullable=False),
    ]
)


@dataclass
class World:
    """One company and every system that holds a piece of it."""

    company: Company
    salesforce: SalesforceOrg
    hubspot: HubSpotPortal
    dynamics: DataverseOrg
    crosswalk: pa.Table  # CROSSWALK_SCHEMA


def build_world(seed: int = 42, scale: float = 1.0, today: dt.date | None = None) -> World:
    """Generate the truth and project it into Salesforce, HubSpot and Dynamics 365.

    The crosswalk has one row per projected user, customer, contact, product, opportunity
    and case record, soft-deleted, archived, inactive and duplicate records included (so
    one truth id may map to several records of one system).
    """
    company = generate_company(seed=seed, scale=scale, today=today)
    salesforce, sf_rows = project_salesforce_crosswalk(company)
    hubspot, hs_rows = project_hubspot_crosswalk(company)
    dynamics, d365_rows = project_dynamics_crosswalk(company)
    rows = sf_rows + hs_rows + d365_rows
    columns = list(zip(*rows, strict=True)) if rows else [()] * 5
    crosswalk = pa.Table.from_arrays(
        [pa.array(col, pa.string()) for col in columns], schema=CROSSWALK_SCHEMA
    )
    return World(company, salesforce, hubspot, dynamics, crosswalk)


def world_truth_tables(world: World) -> dict[str, dict[str, pa.Table]]:
    """System -> table name -> the typed table the federated source for it must return."""
    return {
        "salesforce": org_truth_tables(world.salesforce),
        "hubspot": portal_truth_tables(world.hubspot),
        "dynamics": dataverse_truth_tables(world.dynamics),
    }
