"""resolve_accounts: source account records -> match pairs and golden customer ids.

Order of evidence: steward must_links, then deterministic keys (one equi-join per key),
then the Splink model for pairs no key decided. Links merge by constrained connected
components (never two tax ids in one customer, never across a cannot_link); the pairs
table keeps every link considered with its decision and a readable explanation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from federation.errors import CatalogError, QueryError
from views.identity.cluster import constrained_components
from views.identity.features import load_accounts
from views.identity.keys import KEY_RANK, candidate_pairs, key_pairs, rule_name
from views.identity.linker import ACCOUNT_MODEL, explain, load_model, predict
from views.identity.overrides import Override

PAIRS_SCHEMA = pa.schema([
    ("source_system_l", pa.string()), ("source_account_id_l", pa.string()),
    ("source_system_r", pa.string()), ("source_account_id_r", pa.string()),
    ("match_rule", pa.string()), ("match_probability", pa.float64()),
    ("match_weight", pa.float64()), ("decision", pa.string()), ("explanation", pa.string()),
    ("decided_at", pa.timestamp("us", tz="UTC")),
])
XREF_SCHEMA = pa.schema([
    ("customer_id", pa.string()), ("source_system", pa.string()),
    ("source_account_id", pa.string()), ("match_rule", pa.string()),
    ("match_confidence", pa.float64()), ("linked_at", pa.timestamp("us", tz="UTC")),
])
_KEY_COLUMN = {"tax_id": "tax_id_norm", "duns": "duns", "domain": "domain_norm",
               "email_domain": "email_domain", "phone": "phone_e164",
               "name+country": "name_norm", "name+postcode": "name_norm",
               "name": "name_norm"}


@dataclass(frozen=True)
class IdentityResult:
    """``pairs`` = account_match_pairs, ``xref`` = account_xref (one row per input record)."""

    pairs: pa.Table
    xref: pa.Table


@dataclass
class _Pair:
    a: int
    b: int
    rule: str
    probability: float
    weight: float | None
    decision: str
    explanation: str
    rank: tuple  # merge order: smaller merges first
    decided_at: dt.datetime | None = None


def customer_id_for(source_system: str, source_account_id: str) -> str:
    """The golden id of a cluster, from its smallest member: stable while that member is."""
    digest = hashlib.sha256(f"{source_system}|{source_account_id}".encode()).hexdigest()
    return f"C-{digest[:12]}"


def _key_explanation(keys: list[str], rec_l: dict[str, Any], rec_r: dict[str, Any]) -> str:
    parts = []
    for k in sorted(set(keys), key=lambda k: KEY_RANK.get(k, KEY_RANK["email_domain"])):
        if k == "domain~email":
            value = rec_l["domain_norm"] or rec_l["email_domain"]
            parts.append(f"web site and e-mail domain agree ({value})")
        elif k == "name+country":
            parts.append(f"name '{rec_l['name_norm']}' and country "
                         f"{rec_l['billing_country']} agree")
        elif k == "name+postcode":
            parts.append(f"name '{rec_l['name_norm']}' and postcode "
                         f"{rec_l['postcode_norm']} agree")
        else:
            parts.append(f"{k} agrees ({rec_l[_KEY_COLUMN[k]]})")
    return "; ".join(parts)


def resolve_accounts(accounts: pa.Table, *, overrides: list[Override], auto_merge: float = 0.99,
                     review: float = 0.5, model_path: Path | None = None) -> IdentityResult:
    """Match ``SELECT * FROM source_accounts`` into golden customers.

    Auto-merges deterministic key agreements and model scores >= ``auto_merge``; scores in
    [``review``, ``auto_merge``) are listed for a steward but not merged.
    """
    if not 0 < review <= auto_merge <= 1:
        raise QueryError(f"identity thresholds must satisfy 0 < review ({review}) <= "
                         f"auto_merge ({auto_merge}) <= 1", hint="fix the thresholds")
    now = dt.datetime.now(dt.UTC)
    model = load_model(model_path or ACCOUNT_MODEL)
    con = duckdb.connect(":memory:")
    try:
        n = load_accounts(con, accounts)
        cols = ("source_system", "source_account_id", "name_norm", "domain_norm",
                "email_domain", "tax_id_norm", "duns", "phone_e164", "billing_country",
                "postcode_norm")
        acct = con.sql(f"SELECT {', '.join(cols)} FROM acct ORDER BY rid").to_arrow_table()
        det = key_pairs(con)
        scored = None
        if n > 1:
            scored = predict(con, "acct", model, n, threshold=review,
                             pairs_table=candidate_pairs(con, det))
    finally:
        con.close()
    data = {c: acct.column(c).to_pylist() for c in cols}
    systems, ids = data["source_system"], data["source_account_id"]

    def rec(i: int) -> dict[str, Any]:
        return {c: data[c][i] for c in cols}

    pairs: dict[tuple[int, int], _Pair] = {}
    splink_rows: dict[tuple[int, int], dict[str, Any]] = {}
    labels = model.level_labels()
    if scored is not None and scored.num_rows:
        for row in scored.to_pylist():
            a, b = sorted((row["rid_l"], row["rid_r"]))
            splink_rows[(a, b)] = row
    taxes = data["tax_id_norm"]
    for lo, hi, keys, best in zip(*(det.column(c).to_pylist()
                                    for c in ("l", "r", "keys", "best")), strict=True):
        s = splink_rows.get((lo, hi))
        text = _key_explanation(keys, rec(lo), rec(hi))
        if s is not None:
            text += (f" | model p={s['match_probability']:.4f}: "
                     f"{explain(s, labels)}")
        decision = "auto"
        if taxes[lo] and taxes[hi] and taxes[lo] != taxes[hi]:
            decision = "rejected"
            text += f" | not merged: tax ids differ ({taxes[lo]} vs {taxes[hi]})"
        pairs[(lo, hi)] = _Pair(lo, hi, rule_name(keys), 1.0, s["match_weight"] if s else None,
                                decision, text, (1, best, lo, hi))
    for (lo, hi), s in splink_rows.items():
        if (lo, hi) in pairs:
            continue
        p = s["match_probability"]
        decision = "auto" if p >= auto_merge else "review" if p >= review else "rejected"
        text = f"model p={p:.4f} (weight {s['match_weight']:.2f}): {explain(s, labels)}"
        if decision == "auto" and taxes[lo] and taxes[hi] and taxes[lo] != taxes[hi]:
            decision = "rejected"
            text += f" | not merged: tax ids differ ({taxes[lo]} vs {taxes[hi]})"
        pairs[(lo, hi)] = _Pair(lo, hi, "splink", p, s["match_weight"], decision, text,
                                (2, -p, lo, hi))

    # Steward overrides win over anything the matcher said about the same pair.
    rid_of = {(s, i): k for k, (s, i) in enumerate(zip(systems, ids, strict=True))}
    must: list[tuple[int, int]] = []
    cannot: list[tuple[int, int]] = []
    for o in overrides:
        a, b = rid_of.get(o.left), rid_of.get(o.right)
        if a is None or b is None:
            continue  # the record is gone from its system; nothing to link
        a, b = sorted((a, b))
        before = pairs.get((a, b))
        was = f" (matcher said: {before.decision}, {before.rule})" if before else ""
        note = f": {o.note}" if o.note else ""
        if o.kind == "must_link":
            must.append((a, b))
            pairs[(a, b)] = _Pair(a, b, "steward_must_link", 1.0, None, "auto",
                                  f"steward must_link{note}{was}", (0, 0, a, b),
                                  o.decided_at or now)
        else:
            cannot.append((a, b))
            pairs[(a, b)] = _Pair(a, b, "steward_cannot_link", 0.0, None, "rejected",
                                  f"steward cannot_link{note}{was}", (9, 0, a, b),
                                  o.decided_at or now)

    edges = sorted((p for p in pairs.values()
                    if p.decision == "auto" and p.rule != "steward_must_link"),
                   key=lambda p: p.rank)
    try:
        roots, refused = constrained_components(
            n, taxes, must, cannot, [(p.a, p.b) for p in edges])
    except ValueError as exc:
        raise CatalogError(f"steward overrides contradict each other: {exc}",
                           hint="a chain of must_links joins a cannot_link pair; "
                                "remove one of them") from exc
    for k, reason in refused:
        p = edges[k]
        p.decision = "rejected"
        p.explanation += f" | not merged: {reason}"

    # Golden ids and per-record attachment.
    members: dict[int, list[int]] = {}
    for i, root in enumerate(roots.tolist()):
        members.setdefault(root, []).append(i)
    cid = [""] * n
    for group in members.values():
        smallest = min(group, key=lambda i: (systems[i], ids[i]))
        golden = customer_id_for(systems[smallest], ids[smallest])
        for i in group:
            cid[i] = golden
    best: dict[int, _Pair] = {}
    for p in pairs.values():
        if p.decision != "auto":
            continue
        for i in (p.a, p.b):
            cur = best.get(i)
            if cur is None or p.rank < cur.rank:
                best[i] = p
    rules, conf, linked = [], [], []
    for i in range(n):
        p = best.get(i)
        if p is None or len(members[int(roots[i])]) == 1:
            rules.append("singleton")
            conf.append(None)
            linked.append(None)
        else:
            rules.append(p.rule)
            conf.append(p.probability)
            linked.append(p.decided_at or now)
    xref = pa.table([cid, systems, ids, rules, conf, linked], schema=XREF_SCHEMA)

    rows = []
    for p in sorted(pairs.values(), key=lambda p: p.rank):
        a, b = sorted(((systems[p.a], ids[p.a]), (systems[p.b], ids[p.b])))
        rows.append((*a, *b, p.rule, p.probability, p.weight, p.decision, p.explanation,
                     p.decided_at))
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(PAIRS_SCHEMA)
    out = pa.table([pa.array(c, f.type) for c, f in zip(columns, PAIRS_SCHEMA, strict=True)],
                   schema=PAIRS_SCHEMA)
    return IdentityResult(pairs=out, xref=xref)
