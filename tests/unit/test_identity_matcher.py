"""The matcher on hand-made records: keys, tax-id guard, overrides, stable ids."""

from __future__ import annotations

import pyarrow as pa
import pytest

from federation.errors import CatalogError, QueryError
from views.identity import Override, customer_id_for, resolve_accounts
from views.identity.cluster import constrained_components

COLUMNS = ("source_system", "source_account_id", "name_norm", "domain_norm", "email_domain",
           "tax_id_norm", "duns", "phone_e164", "billing_country", "billing_city",
           "billing_postal_code")


def _table(rows: list[dict]) -> pa.Table:
    return pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in COLUMNS})


ROWS = [
    # One company in three systems: shared domain (site vs e-mail) and phone.
    {"source_system": "salesforce", "source_account_id": "001A", "name_norm": "acme analytics",
     "domain_norm": "acmeanalytics.com", "phone_e164": "+14155550100", "billing_country": "US"},
    {"source_system": "netsuite", "source_account_id": "1042", "name_norm": "acme analytics",
     "email_domain": "acmeanalytics.com", "phone_e164": "+14155550100"},
    {"source_system": "hubspot", "source_account_id": "77", "name_norm": "acme analytics",
     "billing_country": "US"},
    # Parent and subsidiary: same domain, different tax ids.
    {"source_system": "sap", "source_account_id": "0001000001", "name_norm": "globex",
     "domain_norm": "globex.de", "tax_id_norm": "DE111111111", "billing_country": "DE"},
    {"source_system": "sap", "source_account_id": "0001000002", "name_norm": "globex services",
     "domain_norm": "globex.de", "tax_id_norm": "DE222222222", "billing_country": "DE"},
    {"source_system": "dynamics", "source_account_id": "g-1", "name_norm": "globex",
     "domain_norm": "globex.de", "billing_country": "DE"},
    # Same name in two countries: not one company by name alone.
    {"source_system": "salesforce", "source_account_id": "001B", "name_norm": "nova retail",
     "billing_country": "US"},
    {"source_system": "dynamics", "source_account_id": "g-2", "name_norm": "nova retail",
     "billing_country": "MX"},
    {"source_system": "oracle", "source_account_id": "300", "name_norm": "nova retail"},
]


@pytest.fixture(scope="module")
def result():
    return resolve_accounts(_table(ROWS), overrides=[])


def _cluster(result) -> dict[tuple[str, str], str]:
    x = result.xref
    return dict(zip(zip(x.column("source_system").to_pylist(),
                        x.column("source_account_id").to_pylist(), strict=True),
                    x.column("customer_id").to_pylist(), strict=True))


def test_keys_merge_and_explain(result):
    c = _cluster(result)
    assert c[("salesforce", "001A")] == c[("netsuite", "1042")] == c[("hubspot", "77")]
    assert c[("salesforce", "001A")] == customer_id_for("hubspot", "77")  # smallest member
    pair = next(r for r in result.pairs.to_pylist() if r["source_account_id_l"] == "1042")
    assert pair["match_rule"] == "domain+phone+name"
    assert "acmeanalytics.com" in pair["explanation"] and "+14155550100" in pair["explanation"]


def test_different_tax_ids_never_share_a_customer(result):
    c = _cluster(result)
    assert c[("sap", "0001000001")] != c[("sap", "0001000002")]
    # The tax-less record joins exactly one of them (whichever edge came first).
    assert c[("dynamics", "g-1")] in (c[("sap", "0001000001")], c[("sap", "0001000002")])
    rejected = [r for r in result.pairs.to_pylist() if r["decision"] == "rejected"]
    assert any("tax ids differ" in r["explanation"] or "different tax ids" in r["explanation"]
               for r in rejected)


def test_a_name_used_in_two_countries_is_no_key(result):
    c = _cluster(result)
    assert len({c[("salesforce", "001B")], c[("dynamics", "g-2")], c[("oracle", "300")]}) == 3


def test_overrides_win_and_contradictions_fail():
    must = Override("must_link", "salesforce", "001B", "oracle", "300", note="checked")
    cannot = Override("cannot_link", "hubspot", "77", "salesforce", "001A")
    res = resolve_accounts(_table(ROWS), overrides=[must, cannot])
    c = _cluster(res)
    assert c[("salesforce", "001B")] == c[("oracle", "300")]
    assert c[("hubspot", "77")] != c[("salesforce", "001A")]
    chain = [Override("must_link", "salesforce", "001A", "netsuite", "1042"),
             Override("must_link", "netsuite", "1042", "hubspot", "77"), cannot]
    with pytest.raises(CatalogError, match="overrides contradict"):
        resolve_accounts(_table(ROWS), overrides=chain)


def test_bad_input_is_a_clear_error():
    with pytest.raises(QueryError, match="lacks column"):
        resolve_accounts(pa.table({"source_system": ["x"]}), overrides=[])
    with pytest.raises(QueryError, match="2 rows for sap record 1"):
        resolve_accounts(_table([{"source_system": "sap", "source_account_id": "1"}] * 2),
                         overrides=[])
    with pytest.raises(QueryError, match="review"):
        resolve_accounts(_table(ROWS), overrides=[], review=0.9, auto_merge=0.5)


def test_constrained_components_refuses_edges():
    roots, refused = constrained_components(
        4, ["T1", None, "T2", None], must=[], cannot=[(1, 3)],
        edges=[(0, 1), (1, 2), (2, 3), (1, 3)])
    assert roots[0] == roots[1] and roots[2] == roots[3] and roots[1] != roots[2]
    assert [k for k, _ in refused] == [1, 3]
    assert "different tax ids" in refused[0][1]
    roots, refused = constrained_components(
        3, [None] * 3, must=[], cannot=[(0, 2)], edges=[(0, 1), (1, 2)])
    assert roots[0] == roots[1] != roots[2]
    assert refused == [(1, "a steward's cannot_link separates the two clusters")]
