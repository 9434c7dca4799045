"""Every HubSpot and Dynamics 365 table Concord exposes (custom objects, pipelines, stages,
owners and every association link table included) equals the generator's truth: each
column, each row."""

from __future__ import annotations

import pytest

from tests.conftest import normalize


@pytest.mark.parametrize("system", ["hubspot", "dynamics"])
def test_every_table_equals_the_truth(fed, truth, truth_tables, system):
    exposed = {name.lower() for name in fed.tables(system)}
    tables = truth_tables[system]
    assert {name.lower() for name in tables} <= exposed
    wrong = []
    for name, table in sorted(tables.items()):
        columns = ", ".join(f'"{c}"' for c in table.column_names)
        sql = f'SELECT {columns} FROM {system}."{name}"'
        if normalize(fed.sql(sql)) != normalize(truth.sql(sql).to_arrow_table()):
            wrong.append(name)
    assert not wrong
    if system == "hubspot":  # the tables no other test reads
        assert {"subscriptions", "deal_pipelines", "deal_stages", "owners",
                "contact_companies", "ticket_contacts"} <= set(tables)
    else:
        assert {"accounts", "contacts", "opportunities", "incidents", "systemusers"} <= set(
            tables)
