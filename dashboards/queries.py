"""The SQL each dashboard panel runs: one fixed query per panel.

Every panel reads the unified views through the engine like any other client. Each query
is fixed text: what a user picks (a quarter, a slice, a customer) is applied to the answer
(``dashboards.shaping``), so no user value ever enters SQL and a new choice costs no
planning.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the slices pipeline_vs_booked rolls up by: label -> (dimension, column)
SLICES: dict[str, tuple[str, str | None]] = {
    "Everything": ("total", None),
    "Owner": ("owner", "owner_name"),
    "Region": ("region", "region"),
    "Segment": ("segment", "segment"),
    "Source system": ("source_system", "source_system"),
}


@dataclass(frozen=True)
class Slice:
    """One value of one pipeline_vs_booked dimension ("Region" = "EMEA"), or everything."""

    label: str = "Everything"
    value: str | None = None

    @property
    def dimension(self) -> str:
        return SLICES[self.label][0]

    @property
    def column(self) -> str | None:
        return SLICES[self.label][1]

    def matches(self, row: dict) -> bool:
        """Whether a detail row (a deal, an order) belongs to the slice."""
        return self.column is None or self.value is None or row[self.column] == self.value


def pipeline_all() -> str:
    """Every pipeline_vs_booked row (each slice's rows): a slice is picked from this one
    answer, so changing it never re-plans or re-runs the view."""
    return "SELECT * FROM pipeline_vs_booked ORDER BY fiscal_year, fiscal_quarter"


def as_of_quarter() -> str:
    """The fiscal quarter of the model's "today" (concord.settings.as_of_date)."""
    return ("SELECT c.fiscal_year, c.fiscal_quarter FROM concord.settings AS s "
            "JOIN fiscal_calendar AS c ON c.date_day = s.as_of_date")


def deals_all() -> str:
    """The system-of-record deals behind the CRM bars, every quarter."""
    return ("SELECT fiscal_year, fiscal_quarter, opportunity_id, opportunity_name, owner_name, "
            "region, segment, source_system, stage_name, forecast_category, is_won, "
            "is_closed, amount_corporate, weighted_amount_corporate, close_date, "
            "erp_order_ref FROM opportunities WHERE is_system_of_record "
            "ORDER BY amount_corporate DESC NULLS LAST")


def orders_all() -> str:
    """The booked orders behind the ERP bars, every quarter; owner, region and segment come
    from the deal the order references, as in pipeline_vs_booked."""
    deal = ("(SELECT source_opportunity_id, owner_name, region, segment FROM opportunities "
            "WHERE is_system_of_record)")
    return ("SELECT b.fiscal_year, b.fiscal_quarter, b.order_id, b.source_system, "
            "b.order_number, b.order_date, b.net_amount_corporate, b.currency_code, "
            "b.opportunity_ref, o.owner_name, o.region, o.segment "
            f"FROM bookings AS b LEFT JOIN {deal} AS o "
            "ON o.source_opportunity_id = b.opportunity_ref "
            "ORDER BY b.net_amount_corporate DESC")


def customers_all() -> str:
    """Every golden customer; the search filters this one answer."""
    return "SELECT * FROM customer_360 ORDER BY customer_name"


def conflicts_all() -> str:
    return ("SELECT customer_id, field_name, source_system, source_account_id, source_value, "
            "is_survivor, survivor_value, survivor_source, survivorship_rule "
            "FROM customer_field_conflicts ORDER BY field_name, source_system")


def links_all() -> str:
    return ("SELECT customer_id, source_system, source_account_id, match_rule, "
            "match_confidence FROM account_xref ORDER BY source_system, source_account_id")


def activity_all() -> str:
    return ("SELECT customer_id, activity_date, activity_type, source_system, activity_id, "
            "amount_corporate, detail FROM customer_activity "
            "ORDER BY activity_date DESC, activity_type")


def customer_revenue_all() -> str:
    """Won deals, bookings and open pipeline per customer and fiscal quarter."""
    return ("SELECT customer_id, fiscal_year, fiscal_quarter, sum(won) AS closed_won_amount, "
            "sum(booked) AS booked_amount, sum(open_amount) AS open_pipeline_amount FROM ("
            "SELECT customer_id, fiscal_year, fiscal_quarter, "
            "CASE WHEN is_won THEN amount_corporate END AS won, 0 AS booked, "
            "CASE WHEN NOT is_closed THEN amount_corporate END AS open_amount "
            "FROM opportunities WHERE is_system_of_record "
            "UNION ALL SELECT customer_id, fiscal_year, fiscal_quarter, 0, "
            "net_amount_corporate, 0 FROM bookings) WHERE customer_id IS NOT NULL "
            "GROUP BY ALL ORDER BY customer_id, fiscal_year, fiscal_quarter")


def reconciliation_all() -> str:
    """Every exception: the page summarises and filters this one answer, so changing a
    filter never re-runs the view."""
    return "SELECT * FROM reconciliation_exceptions"


def exception_deals() -> str:
    """The CRM side of exceptions: every deal, picked by id on the page."""
    return ("SELECT opportunity_id, opportunity_name, customer_id, owner_name, stage_name, "
            "amount, currency_code, amount_corporate, close_date, erp_order_ref "
            "FROM opportunities")


def exception_orders() -> str:
    """The ERP side of exceptions: every order, picked by id on the page."""
    return ("SELECT order_id, order_number, customer_id, order_date, order_status, "
            "net_amount, currency_code, net_amount_corporate, opportunity_ref "
            "FROM sales_orders")


def tolerance_settings() -> str:
    return "SELECT amount_tolerance_pct, amount_tolerance_min FROM concord.settings"
