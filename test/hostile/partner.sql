-- Hostile-argument suite, the transfer partner (run by test/scripts/90_hostile.sh
-- as a superuser before setup.sql, in a second database of the cluster whose
-- healthpass.issuer is MO and where CREATE EXTENSION healthpass was run).
--
-- Imports the material of the database under test (psql variable :material,
-- what its transfer_material() returned) to send transfers to it and accept
-- them from it, registers a Macau resident who is green, and prints three
-- lines (doc/transfer.md):
--   1. this database's transfer_material(), for import_transfer_partner()
--      over there;
--   2. a transfer token of that resident to the database under test, which
--      setup.sql imports (received_transfers() then has a row);
--   3. a second one, the baseline token of import_transfer(). Every hostile
--      call is rolled back, so no call uses it up for the next.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET search_path = pg_catalog;
SET TimeZone = 'UTC';

SELECT healthpass.publish_notice('transfer_notice', '下载个人资料申请粤康码', 'Your answers are sealed for Guangdong.') AS notice_version \gset
SELECT healthpass.import_transfer_partner(:'material'::jsonb, accept_from => true, send_to => true) AS keys_stored \gset
SELECT healthpass.register_person('macau_id', '1234567(8)', 'CHAN Siu Ming', birth_date => '1979-03-02',
                                  nationality => 'MAC', phone => '85366660000') AS x \gset
SELECT (healthpass.declare_health(:x, false, false)).valid_until IS NOT NULL AS declared \gset
SELECT jsonb_build_object('name', 'CHAN Siu Ming', 'birth_date', '1979-03-02', 'doc_kind', 'macau_id',
                          'doc_number', '1234567(8)', 'phone', '85366660000', 'fever_today', false,
                          'contact_14d', false, 'travel_14d', false) AS form,
       :'material'::jsonb->>'issuer' AS destination \gset

SELECT healthpass.transfer_material();
SELECT token FROM healthpass.request_transfer(:x, :'destination', :notice_version, :'form'::jsonb);
SELECT token FROM healthpass.request_transfer(:x, :'destination', :notice_version, :'form'::jsonb);
