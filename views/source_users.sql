-- source_users: the people who own records in each system (sales reps, service agents).
-- Grain: one row per (source_system, user_id).
-- Columns: source_system, user_id (as the system's owner fields reference it), user_name,
--   email (lower case: the key that links one person across systems), is_active.
-- Sources: Salesforce User, HubSpot owners, Dynamics 365 systemusers, NetSuite employee.
SELECT 'salesforce' AS source_system, Id AS user_id, Name AS user_name,
       lower(Email) AS email, IsActive AS is_active
FROM salesforce."User"
UNION ALL
SELECT 'hubspot', id, trim(concat_ws(' ', first_name, last_name)), lower(email), NOT archived
FROM hubspot.owners
UNION ALL
SELECT 'dynamics', systemuserid, fullname, lower(internalemailaddress), NOT isdisabled
FROM dynamics.systemusers
UNION ALL
SELECT 'netsuite', CAST(id AS VARCHAR), entityid, lower(email), NOT isinactive
FROM netsuite.employee
