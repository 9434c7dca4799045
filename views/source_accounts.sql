-- source_accounts: every customer account record of every CRM and ERP, in one shape, with
-- the normalised match keys identity resolution (views/identity) joins on.
-- Grain: one row per (source_system, source_account_id); duplicates, soft-deleted and
--   inactive records included (is_deleted says which), so every record gets a golden id.
-- Columns: source_system, source_account_id, account_name, name_norm, domain_norm,
--   email_domain, tax_id_norm, duns, phone_e164, billing_country (ISO 3166 alpha-2 where
--   derivable, else as given), billing_city, billing_postal_code, currency_code, owner_id,
--   industry, segment, credit_limit, balance, payment_terms, is_deleted, updated_at
--   (TIMESTAMPTZ), plus the raw survivorship attributes: legal_name, website, email, phone,
--   billing_street, billing_state, region, annual_revenue, employees, created_at.
--   NULL where a system does not hold a field.
-- Normalisation (DuckDB core functions only):
--   name_norm    accents folded, lower case, '&' -> 'and', parentheses and department
--                suffixes (' - Accounts Payable') dropped, punctuation removed, legal forms
--                (Inc, LLC, GmbH, S.A. de C.V., Pty Ltd, K.K., ...) stripped from the end.
--   domain_norm  registrable domain of the web site (scheme, www, path dropped; keeps
--                co.uk-style second levels).
--   email_domain registrable domain of the account e-mail, NULL for free-mail providers.
--   phone_e164   '+' and digits; 10-digit national numbers of US/CA (or unknown country)
--                get +1; other national formats without a country prefix are NULL.
--   tax_id_norm  upper case, letters and digits only (SAP VATRegistration; country prefix).
-- Record ids, exactly as the systems' other tables reference them:
--   salesforce  Account.Id                 hubspot     companies.id
--   dynamics    accounts.accountid         netsuite    customer.id (VARCHAR)
--   sap         A_Customer.Customer (= A_BusinessPartner.BusinessPartner)
--   quickbooks  Customer.Id                oracle      accounts.CustomerAccountId (VARCHAR)
--   legacy_erp  customers.cust_no (VARCHAR)
-- Integration keys that carry the generator's own customer key (Salesforce
-- Customer_Key__c, NetSuite externalid, SAP BusinessPartnerIDByExtSystem, Oracle
-- OrigSystemReference) are deliberately not exposed: matching must not lean on them.
WITH raw AS (
    SELECT 'salesforce' AS source_system, a.Id AS source_account_id, a.Name AS account_name,
           CAST(NULL AS VARCHAR) AS legal_name, a.Website AS website,
           CAST(NULL AS VARCHAR) AS domain_raw, CAST(NULL AS VARCHAR) AS email,
           a.Phone AS phone, CAST(NULL AS VARCHAR) AS tax_id, CAST(NULL AS VARCHAR) AS duns,
           a.BillingCountry AS country_raw, a.BillingCity AS billing_city,
           a.BillingPostalCode AS billing_postal_code, a.BillingStreet AS billing_street,
           a.BillingState AS billing_state, CAST(NULL AS VARCHAR) AS currency_code,
           a.OwnerId AS owner_id, a.Industry AS industry, a.Segment__c AS segment,
           a.Region__c AS region, CAST(NULL AS DOUBLE) AS credit_limit,
           CAST(NULL AS DOUBLE) AS balance, CAST(NULL AS VARCHAR) AS payment_terms,
           CAST(a.AnnualRevenue AS DOUBLE) AS annual_revenue,
           CAST(a.NumberOfEmployees AS BIGINT) AS employees, a.IsDeleted AS is_deleted,
           a.LastModifiedDate AS updated_at, a.CreatedDate AS created_at
    FROM salesforce.Account AS a
    UNION ALL
    SELECT 'hubspot', c.id, c.name, NULL, NULL, c.domain, NULL, c.phone, NULL, NULL,
           c.country, c.city, NULL, NULL, c.state, NULL, c.hubspot_owner_id, c.industry,
           NULL, NULL, NULL, NULL, NULL, c.annualrevenue,
           CAST(c.numberofemployees AS BIGINT), FALSE, c.hs_lastmodifieddate, c.createdate
    FROM hubspot.companies AS c
    UNION ALL
    SELECT 'dynamics', d.accountid, d.name, NULL, d.websiteurl, NULL, NULL, d.telephone1,
           NULL, NULL, d.address1_country, d.address1_city, d.address1_postalcode,
           d.address1_line1, NULL, NULL, d.ownerid, d.industrycode_label, NULL,
           d.new_region_label, NULL, NULL, NULL, d.revenue,
           CAST(d.numberofemployees AS BIGINT), d.statecode <> 0, d.modifiedon, d.createdon
    FROM dynamics.accounts AS d
    UNION ALL
    SELECT 'netsuite', CAST(n.id AS VARCHAR), n.companyname, n.companyname, NULL, NULL,
           n.email, n.phone, NULL, NULL, NULL, NULL, NULL, NULL, NULL, cur.symbol,
           NULL, NULL, NULL, NULL, CAST(n.creditlimit AS DOUBLE), CAST(n.balance AS DOUBLE),
           NULL, NULL, NULL, coalesce(n.isinactive, FALSE), n.lastmodifieddate,
           n.datecreated
    FROM netsuite.customer AS n
    LEFT JOIN netsuite.currency AS cur ON cur.id = n.currency
    UNION ALL
    SELECT 'sap', c.Customer, coalesce(b.OrganizationBPName1 || coalesce(b.OrganizationBPName2,
           ''), c.CustomerName), c.CustomerFullName, NULL, NULL, NULL, NULL,
           c.VATRegistration, NULL, left(c.VATRegistration, 2), NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           coalesce(c.DeletionIndicator, FALSE) OR coalesce(b.IsMarkedForArchiving, FALSE)
               OR coalesce(b.BusinessPartnerIsBlocked, FALSE),
           timezone('UTC', CAST(b.LastChangeDate AS TIMESTAMP)
               + to_seconds(coalesce(CAST(regexp_extract(b.LastChangeTime, '(\d+)H', 1)
                                          AS BIGINT), 0) * 3600
                            + coalesce(CAST(regexp_extract(b.LastChangeTime, '(\d+)M', 1)
                                            AS BIGINT), 0) * 60
                            + coalesce(CAST(regexp_extract(b.LastChangeTime, '(\d+)S', 1)
                                            AS BIGINT), 0))),
           timezone('UTC', CAST(c.CreationDate AS TIMESTAMP))
    FROM sap.A_Customer AS c
    LEFT JOIN sap.A_BusinessPartner AS b ON b.BusinessPartner = c.Customer
    UNION ALL
    SELECT 'quickbooks', q.Id, coalesce(q.CompanyName, q.DisplayName), q.CompanyName, NULL,
           NULL, q.PrimaryEmailAddr_Address, q.PrimaryPhone_FreeFormNumber, NULL, NULL,
           q.BillAddr_Country, q.BillAddr_City, q.BillAddr_PostalCode, q.BillAddr_Line1,
           q.BillAddr_CountrySubDivisionCode, q.CurrencyRef_value, NULL, NULL, NULL, NULL,
           NULL, CAST(q.Balance AS DOUBLE), NULL, NULL, NULL, NOT coalesce(q.Active, TRUE),
           q.MetaData_LastUpdatedTime, q.MetaData_CreateTime
    FROM quickbooks.Customer AS q
    UNION ALL
    SELECT 'oracle', CAST(o.CustomerAccountId AS VARCHAR),
           coalesce(o.AccountName, o.PartyName), o.OrganizationName, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, o.CurrencyCode, NULL, NULL, NULL, NULL,
           CAST(o.CreditLimit AS DOUBLE), NULL, NULL, NULL, NULL,
           coalesce(o.Status, 'A') <> 'A', o.LastUpdateDate, o.CreationDate
    FROM oracle.accounts AS o
    UNION ALL
    SELECT 'legacy_erp', CAST(l.cust_no AS VARCHAR), l.name, l.name, NULL, NULL, NULL, NULL,
           NULL, NULL, l.country, NULL, NULL, NULL, NULL, l.currency, NULL, NULL, NULL, NULL,
           CAST(l.credit_limit AS DOUBLE), NULL, NULL, NULL, NULL, FALSE,
           timezone('UTC', CAST(l.created_at AS TIMESTAMP)),
           timezone('UTC', CAST(l.created_at AS TIMESTAMP))
    FROM legacy_erp.customers AS l
),
step AS (
    SELECT *,
           -- name: fold, drop parentheses and department suffixes, dots vanish (S.A. -> sa)
           regexp_replace(regexp_replace(regexp_replace(regexp_replace(replace(
               lower(strip_accents(trim(coalesce(account_name, legal_name, '')))), '&',
               ' and '), '\([^)]*\)', ' ', 'g'),
               '\s+[-–|/]\s+(accounts? payable|a/?p|billing|invoices?|finance|support|'
               || 'head office|hq|headquarters)\s*$', ''),
               '\.', '', 'g'), '[^\p{L}\p{N}]+', ' ', 'g') AS name_clean,
           lower(trim(regexp_replace(regexp_replace(regexp_replace(
               coalesce(domain_raw, website, ''), '^\s*[A-Za-z][A-Za-z0-9+.-]*://', ''),
               '[/:?#].*$', ''), '^(www\d*\.)', ''), ' .')) AS host,
           lower(trim(split_part(email, '@', 2))) AS email_host,
           regexp_replace(coalesce(phone, ''), '[^0-9+]', '', 'g') AS phone_digits,
           upper(trim(coalesce(country_raw, ''))) AS country_up
    FROM raw
),
keyed AS (
    SELECT *,
           trim(regexp_replace(' ' || trim(name_clean) || ' ',
               '(\s(inc|incorporated|llc|l l c|corporation|corp|co|company|ltd|limited|plc|'
               || 'gmbh|ag|se|sa|sas|sarl|bv|nv|sl|ab|kk|k k|pty|pte|pvt|private|ltda|dac|'
               || 'de cv|sa de cv|oy|as|aps|spa|srl|kg|gmbh co kg|llp|lp))+\s*$', ' ')) AS nm,
           CASE
               WHEN country_up IN ('US', 'USA', 'U.S.', 'U.S.A.', 'UNITED STATES',
                                   'UNITED STATES OF AMERICA', 'AMERICA') THEN 'US'
               WHEN country_up IN ('GB', 'UK', 'U.K.', 'UNITED KINGDOM', 'GREAT BRITAIN',
                                   'ENGLAND', 'SCOTLAND', 'WALES', 'NORTHERN IRELAND')
                   THEN 'GB'
               WHEN country_up IN ('DE', 'GERMANY', 'DEUTSCHLAND') THEN 'DE'
               WHEN country_up IN ('JP', 'JAPAN', '日本', 'NIPPON') THEN 'JP'
               WHEN country_up IN ('CA', 'CANADA') THEN 'CA'
               WHEN country_up IN ('BR', 'BRAZIL', 'BRASIL') THEN 'BR'
               WHEN country_up IN ('MX', 'MEXICO', 'MÉXICO') THEN 'MX'
               WHEN country_up IN ('IE', 'IRELAND', 'EIRE', 'ÉIRE') THEN 'IE'
               WHEN country_up IN ('FR', 'FRANCE') THEN 'FR'
               WHEN country_up IN ('NL', 'NETHERLANDS', 'THE NETHERLANDS', 'HOLLAND',
                                   'NEDERLAND') THEN 'NL'
               WHEN country_up IN ('ES', 'SPAIN', 'ESPAÑA', 'ESPANA') THEN 'ES'
               WHEN country_up IN ('CH', 'SWITZERLAND', 'SCHWEIZ', 'SUISSE', 'SVIZZERA')
                   THEN 'CH'
               WHEN country_up IN ('SE', 'SWEDEN', 'SVERIGE') THEN 'SE'
               WHEN country_up IN ('AU', 'AUSTRALIA') THEN 'AU'
               WHEN country_up IN ('SG', 'SINGAPORE') THEN 'SG'
               WHEN country_up IN ('IN', 'INDIA', 'BHARAT') THEN 'IN'
               WHEN country_up IN ('IT', 'ITALY', 'ITALIA') THEN 'IT'
               WHEN country_up IN ('AT', 'AUSTRIA', 'ÖSTERREICH') THEN 'AT'
               WHEN country_up IN ('BE', 'BELGIUM', 'BELGIQUE', 'BELGIË') THEN 'BE'
               WHEN country_up IN ('DK', 'DENMARK', 'DANMARK') THEN 'DK'
               WHEN country_up IN ('NO', 'NORWAY', 'NORGE') THEN 'NO'
               WHEN country_up IN ('FI', 'FINLAND', 'SUOMI') THEN 'FI'
               WHEN country_up IN ('PL', 'POLAND', 'POLSKA') THEN 'PL'
               WHEN country_up IN ('PT', 'PORTUGAL') THEN 'PT'
               WHEN country_up IN ('CN', 'CHINA') THEN 'CN'
               WHEN country_up IN ('NZ', 'NEW ZEALAND') THEN 'NZ'
               WHEN country_up IN ('EL', 'GR', 'GREECE') THEN 'GR'
               WHEN country_up = '' THEN NULL
               ELSE trim(country_raw)
           END AS billing_country
    FROM step
)
SELECT source_system,
       source_account_id,
       account_name,
       nullif(nm, '') AS name_norm,
       nullif(CASE
           WHEN regexp_matches(host, '\.(co|com|net|org|gov|ac|edu|ne|or|ltd|plc)\.[a-z]{2}$')
               THEN regexp_extract(host, '([^.]+\.[^.]+\.[^.]+)$', 1)
           ELSE regexp_extract(host, '([^.]+\.[^.]+)$', 1)
       END, '') AS domain_norm,
       CASE
           WHEN email_host = '' OR email_host IS NULL THEN NULL
           WHEN regexp_matches(email_host, '(^|\.)(gmail|googlemail|yahoo|ymail|hotmail|outlook|'
                || 'live|msn|aol|icloud|me|mac|gmx|web|protonmail|proton|mail|yandex|qq|163|'
                || '126|zoho|btinternet|orange|free|wanadoo|t-online|libero|fastmail|hey)'
                || '\.[a-z.]+$') THEN NULL
           WHEN regexp_matches(email_host, '\.(co|com|net|org|gov|ac|edu|ne|or)\.[a-z]{2}$')
               THEN regexp_extract(email_host, '([^.]+\.[^.]+\.[^.]+)$', 1)
           ELSE nullif(regexp_extract(email_host, '([^.]+\.[^.]+)$', 1), '')
       END AS email_domain,
       nullif(upper(regexp_replace(coalesce(tax_id, ''), '[^A-Za-z0-9]', '', 'g')), '')
           AS tax_id_norm,
       nullif(regexp_replace(coalesce(duns, ''), '[^0-9]', '', 'g'), '') AS duns,
       CASE
           WHEN phone_digits LIKE '+%' AND length(phone_digits) BETWEEN 8 AND 16
               THEN '+' || replace(phone_digits, '+', '')
           WHEN phone_digits LIKE '00%' AND length(phone_digits) BETWEEN 9 AND 17
               THEN '+' || substr(phone_digits, 3)
           WHEN length(phone_digits) = 10 AND coalesce(billing_country, 'US') IN ('US', 'CA')
               THEN '+1' || phone_digits
           WHEN length(phone_digits) = 11 AND phone_digits LIKE '1%'
                AND coalesce(billing_country, 'US') IN ('US', 'CA')
               THEN '+' || phone_digits
       END AS phone_e164,
       billing_country,
       billing_city,
       billing_postal_code,
       currency_code,
       owner_id,
       industry,
       segment,
       credit_limit,
       balance,
       payment_terms,
       coalesce(is_deleted, FALSE) AS is_deleted,
       updated_at,
       legal_name,
       website,
       email,
       phone,
       billing_street,
       billing_state,
       region,
       annual_revenue,
       employees,
       created_at
FROM keyed
