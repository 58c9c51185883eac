-- 0.2.0 -> 0.3.0: the schema changes of this step (tables, types, indexes,
-- seed rows, and functions that must be dropped before they are replayed
-- with another signature). Every sql/api file is appended after this one.

-- every identity sequence of a dumped table is dumped too: without it a
-- restored database hands out ids its restored rows already hold (found by
-- the transfer test's restore; test/pgtap/99_dump.sql checks the class)
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.health_declaration', 'declaration_id'), '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.test_result', 'result_id'), '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.risk_mark', 'mark_id'), '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.risk_area', 'area_id'), '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.recolour_job', 'job_id'), '');

-- issue 12: the border (seeds 001 and 003): a new domain, created whole
--@include sql/schema/70_border.sql
--@include sql/schema/75_reminders.sql
--@include sql/schema/74_records.sql

-- issue 13: a third notice kind, the transfer notice (seed 002 申领须知)
ALTER TABLE notice DROP CONSTRAINT notice_kind_check;
ALTER TABLE notice ADD CONSTRAINT notice_kind_check
    CHECK (kind IN ('registration_notice', 'commitment_letter', 'transfer_notice'));
COMMENT ON TABLE notice IS 'versions of the registration notice, the e-pass commitment letter and the transfer notice';

-- issue 13: cross-border transfers, a new domain
--@include sql/schema/78_transfer.sql

-- issue 13: HC1 (EU DCC) certificates, a new domain; colour_facts gains the
-- facts of foreign certificates (its result columns change: dropped here,
-- sql/api/54_rules.sql creates it again)
DROP FUNCTION healthpass_internal.colour_facts(bigint, bigint, bigint[], timestamptz[]);
--@include sql/schema/80_hc1.sql
