-- tableau.sql: recorded 2026-11-22 from the log of PostgreSQL 15.18 (log_statement=all) by tests/pgwire/replays/record.py.
-- Source: Tableau probes as quoted in cube-js/cube#10721 and crate/crate#10213 (Tableau is closed source), through pgJDBC; the ODBC cursor reads as postgresql-interfaces/psqlodbc convert.c and qresult.c write them; pgJDBC 42.5.5 (Debian), psycopg for the ODBC cursor.
-- One statement per entry, ended by a line ';'. Parameters of extended-protocol
-- statements are replaced by their logged values. Marks: '-- expect: 25006'
-- (Concord refuses the write), '-- lists: ...' (relations the answer named).

SET extra_float_digits = 3
;
SET application_name = 'PostgreSQL JDBC Driver'
;
-- expect: 25006
CREATE LOCAL TEMPORARY TABLE "#Tableau_0_1_Connect_Check" ("COL" INTEGER) ON COMMIT PRESERVE ROWS
;
-- expect: 25006
DROP TABLE "#Tableau_0_1_Connect_Check"
;
-- expect: 25006
SELECT *
INTO TEMPORARY TABLE "#Tableau_0_2_Connect_CheckSelectIntoCap"
FROM (SELECT 1 AS COL) AS CHECKTEMP
;
-- expect: 25006
DROP TABLE "#Tableau_0_2_Connect_CheckSelectIntoCap"
;
declare "SQL_CUR0x55d0c6e1a2b0" cursor with hold for SELECT "deals"."dealname" AS "dealname",
  SUM("deals"."amount") AS "sum:amount:ok"
FROM "hubspot"."deals" "deals"
GROUP BY 1
;
fetch 100 in "SQL_CUR0x55d0c6e1a2b0"
;
close "SQL_CUR0x55d0c6e1a2b0"
;
