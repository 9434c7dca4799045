"""Identity resolution on the sandbox company, judged against the generator's crosswalk."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pyarrow as pa
import pytest

from views.identity import Override, customer_id_for, resolve_accounts

SYSTEMS = ("salesforce", "hubspot", "dynamics", "netsuite", "sap", "quickbooks", "oracle",
           "legacy_erp")


@pytest.fixture(scope="module")
def accounts(fed) -> pa.Table:
    return fed.sql("SELECT * FROM source_accounts")


@pytest.fixture(scope="module")
def truth_of(sandbox) -> dict[tuple[str, str], str]:
    xw = sandbox.world.crosswalk.to_pylist()
    return {(r["system"], r["record_id"]): r["truth_id"] for r in xw
            if r["entity"] == "customer"}


@pytest.fixture(scope="module")
def resolved(accounts):
    return resolve_accounts(accounts, overrides=[])


def _keys(table: pa.Table, sys_col: str = "source_system",
          id_col: str = "source_account_id") -> list[tuple[str, str]]:
    return list(zip(table.column(sys_col).to_pylist(), table.column(id_col).to_pylist(),
                    strict=True))


def _pairs(groups: dict[str, list[tuple[str, str]]]) -> set[tuple]:
    return {pair for members in groups.values()
            for pair in itertools.combinations(sorted(members), 2)}


def _cluster_of(result) -> dict[tuple[str, str], str]:
    return dict(zip(_keys(result.xref), result.xref.column("customer_id").to_pylist(),
                    strict=True))


def test_source_accounts_cover_every_system_with_crosswalk_ids(fed, accounts, truth_of):
    keys = _keys(accounts)
    assert len(keys) == len(set(keys)), "one row per (source_system, source_account_id)"
    by_system = defaultdict(int)
    for system, _ in keys:
        by_system[system] += 1
    assert set(by_system) == set(SYSTEMS)
    for system, table in (("salesforce", "salesforce.Account"), ("hubspot", "hubspot.companies"),
                          ("dynamics", "dynamics.accounts"), ("netsuite", "netsuite.customer"),
                          ("sap", "sap.A_Customer"), ("quickbooks", "quickbooks.Customer"),
                          ("oracle", "oracle.accounts"), ("legacy_erp", "legacy_erp.customers")):
        n = fed.sql(f"SELECT count(*) AS n FROM {table}").column("n")[0].as_py()
        assert by_system[system] == n, system
    unknown = [k for k in keys if k not in truth_of]
    assert not unknown, f"ids not in the crosswalk: {unknown[:5]}"
    # Normalised keys are filled where the systems hold the data.
    filled = fed.sql("SELECT source_system, count(name_norm) AS names, count(phone_e164) AS "
                     "phones, count(billing_country) AS countries FROM source_accounts "
                     "GROUP BY 1").to_pylist()
    assert all(r["names"] > 0 for r in filled)
    assert {r["source_system"] for r in filled if r["phones"]} >= {"salesforce", "dynamics",
                                                                    "netsuite", "quickbooks"}


def test_filters_reach_through_the_view(fed, accounts):
    got = fed.sql("SELECT source_account_id FROM source_accounts "
                  "WHERE source_system = 'netsuite' AND NOT is_deleted")
    expected = [k for k, d in zip(_keys(accounts), accounts.column("is_deleted").to_pylist(),
                                  strict=True) if k[0] == "netsuite" and not d]
    assert sorted(got.column(0).to_pylist()) == sorted(i for _, i in expected)


@pytest.mark.slow
def test_pairwise_precision_and_recall_against_the_crosswalk(resolved, truth_of):
    predicted: dict[str, list] = defaultdict(list)
    true: dict[str, list] = defaultdict(list)
    for key, cid in _cluster_of(resolved).items():
        predicted[cid].append(key)
        true[truth_of[key]].append(key)
    got, want = _pairs(predicted), _pairs(true)
    assert want, "the sandbox has duplicate and cross-system records"
    precision = len(got & want) / len(got)
    recall = len(got & want) / len(want)
    print(f"sandbox identity: precision {precision:.4f} recall {recall:.4f} "
          f"({len(got)} predicted, {len(want)} true pairs)")
    assert precision >= 0.99
    assert recall >= 0.95


def test_one_xref_row_per_record_and_explained_pairs(accounts, resolved):
    xref, pairs = resolved.xref, resolved.pairs
    assert sorted(_keys(xref)) == sorted(_keys(accounts))
    assert pairs.num_rows > 0
    for row in pairs.to_pylist():
        assert row["explanation"], row
        assert row["decision"] in ("auto", "review", "rejected")
        assert (row["source_system_l"], row["source_account_id_l"]) < (
            row["source_system_r"], row["source_account_id_r"])
        assert row["decided_at"] is None  # no steward involved
        if row["match_rule"] == "splink":
            assert 0.5 <= row["match_probability"] <= 1
    singles = [r for r in xref.to_pylist() if r["match_rule"] == "singleton"]
    sizes = defaultdict(int)
    for cid in xref.column("customer_id").to_pylist():
        sizes[cid] += 1
    assert all(sizes[r["customer_id"]] == 1 for r in singles)
    # Every merged record is attached by an auto pair; review pairs are not merged.
    cluster = _cluster_of(resolved)
    for row in pairs.to_pylist():
        left = (row["source_system_l"], row["source_account_id_l"])
        right = (row["source_system_r"], row["source_account_id_r"])
        if row["decision"] == "auto":
            assert cluster[left] == cluster[right]


def test_customer_ids_are_stable_and_derived_from_the_smallest_member(accounts, resolved):
    again = resolve_accounts(accounts.take(list(range(accounts.num_rows))[::-1]),
                             overrides=[])
    assert _cluster_of(again) == _cluster_of(resolved)
    members: dict[str, list] = defaultdict(list)
    for key, cid in _cluster_of(resolved).items():
        members[cid].append(key)
    for cid, keys in members.items():
        assert cid == customer_id_for(*min(keys))


def test_no_customer_holds_two_tax_ids(accounts, resolved):
    tax = dict(zip(_keys(accounts), accounts.column("tax_id_norm").to_pylist(), strict=True))
    seen: dict[str, set] = defaultdict(set)
    for key, cid in _cluster_of(resolved).items():
        if tax[key]:
            seen[cid].add(tax[key])
    assert seen, "SAP records carry VAT numbers"
    assert all(len(v) == 1 for v in seen.values())


def test_cannot_link_splits_a_pair_the_keys_merged(accounts, resolved):
    auto = [r for r in resolved.pairs.to_pylist()
            if r["decision"] == "auto" and "phone" in r["match_rule"]]
    row = auto[0]
    left = (row["source_system_l"], row["source_account_id_l"])
    right = (row["source_system_r"], row["source_account_id_r"])
    assert _cluster_of(resolved)[left] == _cluster_of(resolved)[right]
    veto = Override("cannot_link", *left, *right, note="parent and subsidiary")
    split = resolve_accounts(accounts, overrides=[veto])
    cluster = _cluster_of(split)
    assert cluster[left] != cluster[right]
    steward = [r for r in split.pairs.to_pylist() if r["match_rule"] == "steward_cannot_link"]
    assert len(steward) == 1 and steward[0]["decision"] == "rejected"
    assert "parent and subsidiary" in steward[0]["explanation"]
    assert steward[0]["decided_at"] is not None


def test_must_link_joins_two_customers(accounts, resolved):
    cluster = _cluster_of(resolved)
    singles = sorted(k for k, r in zip(_keys(resolved.xref),
                                       resolved.xref.column("match_rule").to_pylist(),
                                       strict=True) if r == "singleton")
    left, right = singles[0], singles[-1]
    assert cluster[left] != cluster[right]
    joined = resolve_accounts(accounts, overrides=[Override("must_link", *left, *right)])
    after = _cluster_of(joined)
    assert after[left] == after[right]
    rules = dict(zip(_keys(joined.xref), joined.xref.column("match_rule").to_pylist(),
                     strict=True))
    assert rules[left] == rules[right] == "steward_must_link"
