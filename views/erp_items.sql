-- erp_items: the ERP item masters (what the ERP sells, its stock and its price).
-- Grain: one row per (erp_system, erp_item_id).
-- Columns: product_code (the SKU the CRMs and the price book use), erp_system,
--   erp_item_id, tracks_inventory, quantity_on_hand (NULL when the item is not stocked),
--   erp_unit_price, erp_currency (the currency that price is in).
-- Sources: NetSuite item (baseprice in the base currency: currency.isbasecurrency) and
--   QuickBooks Item (UnitPrice in the home currency: the currency of payments recorded
--   without an exchange rate). SAP and Oracle item masters are not in their simulated APIs.
SELECT i.itemid AS product_code, 'netsuite' AS erp_system,
       CAST(i.id AS VARCHAR) AS erp_item_id,
       i.itemtype IN ('InvtPart', 'Assembly') AS tracks_inventory,
       i.quantityonhand AS quantity_on_hand, i.baseprice AS erp_unit_price,
       (SELECT symbol FROM netsuite.currency WHERE isbasecurrency) AS erp_currency
FROM netsuite.item AS i
UNION ALL
SELECT it.Sku, 'quickbooks', it.Id, it.TrackQtyOnHand,
       CASE WHEN it.TrackQtyOnHand THEN it.QtyOnHand END, it.UnitPrice,
       (SELECT arg_max(k.currency, k.n)
        FROM (SELECT pay.CurrencyRef_value AS currency, count(*) AS n
              FROM quickbooks.Payment AS pay
              WHERE pay.ExchangeRate IS NULL OR pay.ExchangeRate = 1
              GROUP BY pay.CurrencyRef_value) AS k)
FROM quickbooks.Item AS it
