"""product_availability: CRM products with the ERPs' stock, checked against the truth."""

from __future__ import annotations

import pyarrow as pa

from tests.conftest import normalize

# which legal entity's item master each ERP in the sandbox serves
ITEM_MASTERS = {"netsuite": "HQ", "quickbooks": "UK"}
COLUMNS = "product_code, erp_system, quantity_on_hand, erp_unit_price, erp_currency"


def test_stock_and_prices_come_from_the_erps(fed, sandbox):
    company = sandbox.world.company
    stock = {(s.entity_id, s.product_id): s.quantity_on_hand for s in company.inventory}
    price = {(p.entity_id, p.product_id): (p.price, p.currency) for p in company.item_prices}
    rows = [(p.sku, system, stock.get((entity, p.product_id)), *price[(entity, p.product_id)])
            for p in company.products for system, entity in ITEM_MASTERS.items()]
    expected = pa.Table.from_pylist([dict(zip(COLUMNS.split(", "), r, strict=True))
                                     for r in rows])
    assert normalize(fed.sql(f"SELECT {COLUMNS} FROM product_availability")) == \
        normalize(expected)
    assert any(r[2] for r in rows) and any(r[2] is None for r in rows)  # both cases exist


def test_a_product_filter_reaches_the_crms(fresh_fed, sandbox, salesforce_sim):
    sku = sandbox.world.company.products[0].sku
    sql = f"SELECT product_code, crm_systems FROM product_availability " \
          f"WHERE product_code = '{sku}'"
    salesforce_sim.reset_stats()
    got = fresh_fed.sql(sql).to_pylist()
    assert {r["product_code"] for r in got} == {sku} and len(got) == len(ITEM_MASTERS)
    assert got[0]["crm_systems"] == ["hubspot", "salesforce"]
    assert any(f"ProductCode = '{sku}'" in soql for soql in salesforce_sim.stats.soql)
    assert normalize(fresh_fed.sql(sql, pushdown=False)) == normalize(fresh_fed.sql(sql))
