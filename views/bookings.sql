-- bookings: booked ERP sales orders (the finance side of "bookings").
-- Purpose: what the ERPs booked, per order, in document and corporate currency.
-- Grain: one row per booked order (approved and not cancelled) in any ERP; every column
--   of `sales_orders` (see there), so is_cancelled is always false and is_approved true.
-- Columns: order_id, source_system, order_number, customer_id, source_customer_id,
--   order_date, fiscal_year, fiscal_quarter, order_status, is_cancelled, is_approved,
--   is_booked, net_amount, currency_code, fx_rate, net_amount_corporate, subsidiary,
--   opportunity_ref, customer_po.
-- Definitions: booked = approved and not cancelled; converted at the order date's rate
--   and rounded to cents per order (sum the rounded amounts). Pending-approval and
--   cancelled orders are in `sales_orders`.
SELECT *
FROM sales_orders
WHERE is_booked
