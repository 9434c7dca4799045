"""The matcher's view of an account: normalised keys plus blocking helpers, in DuckDB.

``source_accounts`` already normalises names, domains, phones and countries; this adds
what only matching needs (one web domain from site or e-mail, folded city and postcode,
name tokens for blocking) and a dense integer ``rid`` per record.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from federation.errors import QueryError

REQUIRED = ("source_system", "source_account_id", "name_norm", "domain_norm", "email_domain",
            "tax_id_norm", "duns", "phone_e164", "billing_country", "billing_city",
            "billing_postal_code")

FEATURES_SQL = r"""
CREATE OR REPLACE TABLE acct AS
SELECT CAST(rid AS BIGINT) AS rid,
       CAST(source_system AS VARCHAR) AS source_system,
       CAST(source_account_id AS VARCHAR) AS source_account_id,
       nullif(trim(name_norm), '') AS name_norm,
       nullif(coalesce(domain_norm, email_domain), '') AS web_domain,
       nullif(domain_norm, '') AS domain_norm,
       nullif(email_domain, '') AS email_domain,
       nullif(tax_id_norm, '') AS tax_id_norm,
       nullif(duns, '') AS duns,
       nullif(phone_e164, '') AS phone_e164,
       nullif(upper(trim(billing_country)), '') AS billing_country,
       nullif(lower(strip_accents(trim(billing_city))), '') AS city_norm,
       nullif(upper(regexp_replace(coalesce(billing_postal_code, ''), '[^A-Za-z0-9]', '',
                                   'g')), '') AS postcode_norm,
       nullif(split_part(name_norm, ' ', 1), '') AS name_tok1,
       nullif(left(split_part(name_norm, ' ', 2), 1), '') AS name_tok2_initial,
       nullif(regexp_extract(name_norm, '(\S+)$', 1), '') AS name_toklast,
       nullif(left(name_norm, 3), '') AS name_p3
FROM incoming
"""


def load_accounts(con: duckdb.DuckDBPyConnection, accounts: pa.Table) -> int:
    """Create table ``acct`` in ``con`` from ``accounts`` (rid = row position)."""
    missing = [c for c in REQUIRED if c not in accounts.column_names]
    if missing:
        raise QueryError(f"source_accounts lacks column(s) {', '.join(missing)}",
                         object="source_accounts",
                         hint="pass the result of SELECT * FROM source_accounts")
    cols = {c: accounts.column(c) for c in REQUIRED}
    incoming = pa.table({"rid": pa.array(range(accounts.num_rows), pa.int64()), **cols})
    con.register("incoming", incoming)
    try:
        con.execute(FEATURES_SQL)
    finally:
        con.unregister("incoming")
    dup = con.execute("SELECT source_system, source_account_id, count(*) FROM acct "
                      "GROUP BY ALL HAVING count(*) > 1 LIMIT 1").fetchall()
    if dup:
        raise QueryError(f"source_accounts has {dup[0][2]} rows for {dup[0][0]} record "
                         f"{dup[0][1]}", object="source_accounts",
                         hint="each (source_system, source_account_id) must be unique")
    return accounts.num_rows
