"""The SQL each dashboard panel runs: plain functions from the page's choices to a query.

Every panel reads the unified views through the engine like any other client; values a
user picked are quoted as SQL literals, never pasted.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

#: the slices pipeline_vs_booked rolls up by: label -> (dimension, column)
SLICES: dict[str, tuple[str, str | None]] = {
    "Everything": ("total", None),
    "Owner": ("owner", "owner_name"),
    "Region": ("region", "region"),
    "Segment": ("segment", "segment"),
    "Source system": ("source_system", "source_system"),
}


def literal(value: object) -> str:
    """A Python value as a DuckDB literal (strings quoted, never interpolated raw)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return exp.Literal.number(value).sql("duckdb")
    return exp.Literal.string(str(value)).sql("duckdb")


@dataclass(frozen=True)
class Slice:
    """One value of one pipeline_vs_booked dimension ("Region" = "EMEA"), or everything."""

    label: str = "Everything"
    value: str | None = None

    @property
    def dimension(self) -> str:
        return SLICES[self.label][0]

    def where(self, table: str = "") -> str:
        """The slice as a condition on a view with owner_name/region/segment/source_system."""
        column = SLICES[self.label][1]
        if column is None or self.value is None:
            return "TRUE"
        prefix = f"{table}." if table else ""
        return f"{prefix}{column} = {literal(self.value)}"


def slice_values(label: str) -> str:
    """The values a slice can take, as pipeline_vs_booked knows them."""
    dimension, column = SLICES[label]
    return (f"SELECT DISTINCT {column} AS value FROM pipeline_vs_booked "
            f"WHERE dimension = {literal(dimension)} AND {column} IS NOT NULL ORDER BY 1")


def pipeline_by_quarter(slice_: Slice) -> str:
    """One row per fiscal quarter of the chosen slice: every pipeline_vs_booked measure."""
    return (f"SELECT * FROM pipeline_vs_booked WHERE dimension = {literal(slice_.dimension)}"
            f" AND {slice_.where()} ORDER BY fiscal_year, fiscal_quarter")


def as_of_quarter() -> str:
    """The fiscal quarter of the model's "today" (concord.settings.as_of_date)."""
    return ("SELECT c.fiscal_year, c.fiscal_quarter FROM concord.settings AS s "
            "JOIN fiscal_calendar AS c ON c.date_day = s.as_of_date")


def deals_in_quarter(slice_: Slice, year: int, quarter: int) -> str:
    """The system-of-record deals behind a quarter's CRM bars."""
    return ("SELECT opportunity_id, opportunity_name, owner_name, region, segment, "
            "source_system, stage_name, forecast_category, is_won, is_closed, "
            "amount_corporate, weighted_amount_corporate, close_date, erp_order_ref "
            f"FROM opportunities WHERE is_system_of_record AND fiscal_year = {year} "
            f"AND fiscal_quarter = {quarter} AND {slice_.where()} "
            "ORDER BY amount_corporate DESC NULLS LAST")


def orders_in_quarter(slice_: Slice, year: int, quarter: int) -> str:
    """The booked orders behind a quarter's ERP bar; ERP dimensions come from the deal the
    order references, as in pipeline_vs_booked."""
    deal = ("(SELECT source_opportunity_id, owner_name, region, segment FROM opportunities "
            "WHERE is_system_of_record)")
    condition = slice_.where("b" if slice_.dimension == "source_system" else "o")
    return ("SELECT b.order_id, b.source_system, b.order_number, b.order_date, "
            "b.net_amount_corporate, b.currency_code, b.opportunity_ref, o.owner_name, "
            f"o.region, o.segment FROM bookings AS b LEFT JOIN {deal} AS o "
            "ON o.source_opportunity_id = b.opportunity_ref "
            f"WHERE b.fiscal_year = {year} AND b.fiscal_quarter = {quarter} AND {condition} "
            "ORDER BY b.net_amount_corporate DESC")


def customer_search(text: str, limit: int = 50) -> str:
    """Golden customers whose name or domain contains ``text`` (any case)."""
    pattern = literal(f"%{text.strip()}%")
    return ("SELECT customer_id, customer_name, domain, billing_country, segment, "
            "source_record_count FROM customer_360 "
            f"WHERE customer_name ILIKE {pattern} OR domain ILIKE {pattern} "
            f"OR legal_name ILIKE {pattern} ORDER BY customer_name LIMIT {int(limit)}")


def customer_record(customer_id: str) -> str:
    return f"SELECT * FROM customer_360 WHERE customer_id = {literal(customer_id)}"


def customer_conflicts(customer_id: str) -> str:
    return ("SELECT field_name, source_system, source_account_id, source_value, is_survivor, "
            "survivor_value, survivor_source, survivorship_rule FROM customer_field_conflicts "
            f"WHERE customer_id = {literal(customer_id)} ORDER BY field_name, source_system")


def customer_links(customer_id: str) -> str:
    return ("SELECT source_system, source_account_id, match_rule, match_confidence "
            f"FROM account_xref WHERE customer_id = {literal(customer_id)} "
            "ORDER BY source_system, source_account_id")


def customer_timeline(customer_id: str) -> str:
    return ("SELECT activity_date, activity_type, source_system, activity_id, "
            "amount_corporate, detail FROM customer_activity "
            f"WHERE customer_id = {literal(customer_id)} "
            "ORDER BY activity_date DESC, activity_type")


def customer_revenue(customer_id: str) -> str:
    """Won deals and bookings of one customer per fiscal quarter."""
    cid = literal(customer_id)
    return ("SELECT fiscal_year, fiscal_quarter, sum(won) AS closed_won_amount, "
            "sum(booked) AS booked_amount, sum(open_amount) AS open_pipeline_amount FROM ("
            "SELECT fiscal_year, fiscal_quarter, CASE WHEN is_won THEN amount_corporate END "
            "AS won, 0 AS booked, CASE WHEN NOT is_closed THEN amount_corporate END "
            "AS open_amount FROM opportunities "
            f"WHERE is_system_of_record AND customer_id = {cid} "
            "UNION ALL SELECT fiscal_year, fiscal_quarter, 0, net_amount_corporate, 0 "
            f"FROM bookings WHERE customer_id = {cid}) "
            "GROUP BY ALL ORDER BY fiscal_year, fiscal_quarter")


def reconciliation_all() -> str:
    """Every exception: the page summarises and filters this one answer, so changing a
    filter never re-runs the view."""
    return "SELECT * FROM reconciliation_exceptions"


def reconciliation_deal(opportunity_id: str) -> str:
    """The CRM side of an exception."""
    return ("SELECT opportunity_id, opportunity_name, customer_id, owner_name, stage_name, "
            "amount, currency_code, amount_corporate, close_date, erp_order_ref "
            f"FROM opportunities WHERE opportunity_id = {literal(opportunity_id)}")


def reconciliation_order(order_id: str) -> str:
    """The ERP side of an exception."""
    return ("SELECT order_id, order_number, customer_id, order_date, order_status, "
            "net_amount, currency_code, net_amount_corporate, opportunity_ref "
            f"FROM sales_orders WHERE order_id = {literal(order_id)}")


def tolerance_settings() -> str:
    return "SELECT amount_tolerance_pct, amount_tolerance_min FROM concord.settings"
