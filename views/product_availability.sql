-- product_availability: what sales can promise. CRM products with the ERPs' stock on hand.
-- The ERP owns inventory: quantities come only from the ERP item masters; the CRMs say
-- which products are sold (Salesforce Product2, HubSpot products), joined on the SKU.
-- Grain: one row per product code and ERP item master holding it (one row with NULL ERP
-- columns when no ERP carries the product).
-- Columns: product_code, product_name, family, crm_systems (sorted list), is_active (in
--   any CRM), erp_system, erp_item_id, tracks_inventory, quantity_on_hand (NULL when the
--   ERP does not track stock for the item), erp_unit_price, erp_currency.
-- Sources: the erp_items view (NetSuite and QuickBooks item masters).
WITH crm_products AS (
    SELECT ProductCode AS product_code, Name AS product_name, Family AS family,
           IsActive AS is_active, 'salesforce' AS source_system, 1 AS preference
    FROM salesforce.Product2
    UNION ALL
    SELECT hs_sku, name, NULL, TRUE, 'hubspot', 2
    FROM hubspot.products
),
products AS (
    SELECT product_code,
           arg_min(product_name, preference) AS product_name,
           arg_min(family, preference) AS family,
           list(DISTINCT source_system ORDER BY source_system) AS crm_systems,
           bool_or(is_active) AS is_active
    FROM crm_products
    WHERE product_code IS NOT NULL
    GROUP BY product_code
)
SELECT p.product_code, p.product_name, p.family, p.crm_systems, p.is_active,
       e.erp_system, e.erp_item_id, e.tracks_inventory, e.quantity_on_hand,
       e.erp_unit_price, e.erp_currency
FROM products AS p
LEFT JOIN erp_items AS e ON e.product_code = p.product_code
