"""Project quotas and the price book into the spreadsheet exports finance sends around.

``quotas/quotas_<fiscal year>.xlsx``: one workbook per fiscal year, one row per seller and
quarter (owner e-mail and name, fiscal year and quarter, amount and currency; the
acquired subsidiary's sellers have GBP quotas). ``price_book.csv``: list price per
product and currency with the date it applies from. A few of these prices disagree with
the ERPs' item masters (``Company.item_prices``); that is truth, not noise added here.

The sandbox writes the files at start; this module only returns the tables, keyed by
relative path, typed as a reader infers them (int64 years, float64 money, date32 dates).
"""

from __future__ import annotations

import pyarrow as pa

from sandbox.company import Company
from sandbox.projections.erp_model import FileExports

__all__ = ["PRICE_BOOK_SCHEMA", "QUOTA_SCHEMA", "project_files", "project_files_crosswalk"]

CrosswalkRow = tuple[str, str, str, str, str]
QUOTA_SCHEMA = pa.schema([
    ("owner_email", pa.string()), ("owner_name", pa.string()), ("fiscal_year", pa.int64()),
    ("fiscal_quarter", pa.int64()), ("quota_amount", pa.float64()), ("currency", pa.string()),
])
PRICE_BOOK_SCHEMA = pa.schema([
    ("product_code", pa.string()), ("product_name", pa.string()), ("currency", pa.string()),
    ("list_price", pa.float64()), ("valid_from", pa.date32()),
])


def project_files(company: Company) -> FileExports:
    """The exports, keyed by relative path."""
    return project_files_crosswalk(company)[0]


def project_files_crosswalk(company: Company) -> tuple[FileExports, list[CrosswalkRow]]:
    """The exports plus one crosswalk row per seller in the quota files and per product in
    the price book (``record_id``: owner e-mail, product code)."""
    users = {u.user_id: u for u in company.users + company.subsidiary_users}
    by_year: dict[int, list[tuple]] = {}
    for q in company.quotas:
        u = users[q.user_id]
        by_year.setdefault(q.fiscal_year, []).append(
            (u.email, f"{u.first_name} {u.last_name}", q.fiscal_year, q.fiscal_quarter,
             q.amount, q.currency))
    files: dict[str, pa.Table] = {}
    for year in sorted(by_year):
        rows = sorted(by_year[year], key=lambda r: (r[0], r[3]))
        cols = list(zip(*rows, strict=True))
        files[f"quotas/quotas_{year}.xlsx"] = pa.Table.from_arrays(
            [pa.array(col, f.type) for col, f in zip(cols, QUOTA_SCHEMA, strict=True)],
            schema=QUOTA_SCHEMA)
    products = {p.product_id: p for p in company.products}
    rows = [(products[e.product_id].sku, products[e.product_id].name, e.currency,
             e.list_price, e.valid_from) for e in company.price_book]
    cols = list(zip(*rows, strict=True))
    files["price_book.csv"] = pa.Table.from_arrays(
        [pa.array(col, f.type) for col, f in zip(cols, PRICE_BOOK_SCHEMA, strict=True)],
        schema=PRICE_BOOK_SCHEMA)
    xwalk: list[CrosswalkRow] = []
    seen: set[str] = set()
    for q in company.quotas:
        if q.user_id not in seen:
            seen.add(q.user_id)
            xwalk.append(("user", q.user_id, "files", "quotas", users[q.user_id].email))
    xwalk += [("product", p.product_id, "files", "price_book", p.sku) for p in company.products]
    return FileExports(files=files), xwalk
