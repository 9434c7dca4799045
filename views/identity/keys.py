"""Deterministic candidate links: one equi-join per normalised key, UNIONed in DuckDB.

Never one join with OR between keys: DuckDB runs that as a nested loop (over 1,000 times
slower at 150k records). A key value shared by more than ``MAX_KEY_GROUP`` records (a
call-centre phone, a reseller's domain) says nothing about identity and is skipped.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

# (key name, SQL value over table acct), strongest first: the order also ranks match_rule.
KEYS: tuple[tuple[str, str], ...] = (
    ("tax_id", "tax_id_norm"),
    ("duns", "duns"),
    ("domain", "domain_norm"),
    ("email_domain", "email_domain"),
    ("phone", "phone_e164"),
    ("name+country", "CASE WHEN billing_country IS NOT NULL THEN name_norm || '|' || "
                     "billing_country END"),
    ("name+postcode", "CASE WHEN postcode_norm IS NOT NULL THEN name_norm || '|' || "
                      "postcode_norm END"),
    # The name alone, only where every record bearing it that has a country has the same
    # one: an ERP that keeps no address can still be matched by name, but never to one
    # of two same-named companies in different countries.
    ("name", "CASE WHEN count(DISTINCT billing_country) OVER (PARTITION BY name_norm) <= 1 "
             "AND length(name_norm) >= 4 THEN name_norm END"),
)
# A web site and an e-mail domain are the same kind of evidence: join them across.
_CROSS = ("domain~email", "domain_norm", "email_domain")
MAX_KEY_GROUP = 50
KEY_RANK = {name: i for i, (name, _) in enumerate(KEYS)}


def key_pairs(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Pairs (l < r) of records sharing at least one key: l, r, keys (list, by strength)."""
    parts = []
    for name, expr in KEYS:
        parts.append(f"""
        k_{KEY_RANK[name]} AS (
            SELECT rid, v FROM (SELECT rid, {expr} AS v FROM acct) WHERE v IS NOT NULL
            QUALIFY count(*) OVER (PARTITION BY v) BETWEEN 2 AND {MAX_KEY_GROUP})""")
    joins = [f"SELECT a.rid AS l, b.rid AS r, '{name}' AS k, {KEY_RANK[name]} AS rank "
             f"FROM k_{KEY_RANK[name]} a JOIN k_{KEY_RANK[name]} b "
             f"ON a.v = b.v AND a.rid < b.rid" for name, _ in KEYS]
    label, left_col, right_col = _CROSS
    rank = KEY_RANK["email_domain"]
    joins.append(f"""
        SELECT least(a.rid, b.rid), greatest(a.rid, b.rid), '{label}', {rank}
        FROM (SELECT rid, {left_col} AS v FROM acct WHERE {left_col} IS NOT NULL) a
        JOIN (SELECT rid, {right_col} AS v FROM acct WHERE {right_col} IS NOT NULL) b
          ON a.v = b.v AND a.rid <> b.rid
        WHERE a.v IN (SELECT v FROM (SELECT coalesce(domain_norm, email_domain) AS v
                                     FROM acct) GROUP BY v HAVING count(*) <= {MAX_KEY_GROUP})""")
    sql = (f"WITH {','.join(parts)}, hits AS ({' UNION ALL '.join(joins)}) "
           "SELECT l, r, list(DISTINCT k ORDER BY k) AS keys, min(rank) AS best "
           "FROM hits GROUP BY l, r ORDER BY best, l, r")
    return con.sql(sql).to_arrow_table()


def rule_name(keys: list[str]) -> str:
    """'domain+phone': the agreeing keys, strongest first, as one readable rule."""
    names = {("domain" if k == "domain~email" else k) for k in keys}
    by_name = [k for k in ("name+country", "name+postcode", "name") if k in names]
    out = sorted((k for k in names if k not in by_name), key=lambda k: KEY_RANK.get(k, 99))
    if "name+country" in by_name and "name+postcode" in by_name:
        out.append("name+country+postcode")
    elif by_name:
        out.append(by_name[0])
    return "+".join(out)


def candidate_pairs(con: duckdb.DuckDBPyConnection, det: pa.Table) -> str:
    """Create table ``cand`` (join_key_l < join_key_r, match_key): the pairs the model
    scores. Besides the key pairs: the same normalised name, and names one edit apart
    (typos), found as equi-joins on one-character-deletion variants of the name (a
    deletion neighbourhood), never by comparing every name with every other."""
    con.register("det_pairs", det.select(["l", "r"]))
    try:
        con.execute(f"""
        CREATE OR REPLACE TABLE name_variants AS
        WITH named AS (
            SELECT rid, name_norm FROM acct
            WHERE name_norm IS NOT NULL AND length(name_norm) BETWEEN 4 AND 80),
        variants AS (
            SELECT rid, name_norm AS v FROM named
            UNION ALL
            SELECT rid, left(name_norm, i - 1) || substr(name_norm, i + 1) AS v
            FROM (SELECT rid, name_norm, unnest(range(1, length(name_norm) + 1)) AS i
                  FROM named))
        SELECT DISTINCT rid, v FROM variants
        QUALIFY count(*) OVER (PARTITION BY v) <= {MAX_KEY_GROUP}""")
        con.execute("""
        CREATE OR REPLACE TABLE cand AS
        SELECT l AS join_key_l, r AS join_key_r, '0' AS match_key FROM (
            SELECT l, r FROM det_pairs
            UNION
            SELECT a.rid, b.rid FROM name_variants a JOIN name_variants b
              ON a.v = b.v AND a.rid < b.rid)
        ORDER BY l, r""")
    finally:
        con.unregister("det_pairs")
    return "cand"
