-- The dashboard's role reads what analysts see and nothing else: no quarantine, no writes, no
-- partition maintenance. (Partitions need no grants: access goes through the parent.)

REVOKE ALL ON companies, statements, statement_revisions, prices_daily, quarantine, sp500_members
    FROM PUBLIC;
GRANT SELECT ON companies, sp500_members, statements, statement_revisions, prices_daily TO mycfa_reader;

REVOKE EXECUTE ON FUNCTION ensure_price_partitions(date, date), ensure_statement_partitions(date, date)
    FROM PUBLIC;
