-- every setting in one place (issue 10, item 4): settings() lists them,
-- configure() changes the database ones, within their bounds
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(19);

SELECT is((SELECT string_agg(name || ':' || kind, ',' ORDER BY name) FROM healthpass.settings()),
          'code_valid_for:database,companion_limit:fixed,contactless_code_valid_for:database,declaration_valid_for:database,'
          'face_check_valid_for:database,family_limit:fixed,'
          'healthpass.clock_skew:server,healthpass.issuer:server,healthpass.master_key_file:server,healthpass.poster_font:server,'
          'permit_retry_after:database,photo_limit:fixed,recolour_chunk_size:fixed,reminder_lease:database,'
          'reminder_max_attempts:database,reminder_offsets:database,report_min_cell:database,result_window:fixed,'
          'scan_retention:database,trace_window:database,transfer_valid_for:database',
          'settings() lists every setting with its kind');
SELECT is((SELECT value || ' ' || default_value || ' ' || changed FROM healthpass.settings() WHERE name = 'code_valid_for'),
          '00:03:00 00:03:00 false', 'a database setting starts at its default');
SELECT is((SELECT value FROM healthpass.settings() WHERE name = 'companion_limit'),
          healthpass.companion_limit()::text, 'a fixed setting shows its constant');
SELECT is((SELECT value FROM healthpass.settings() WHERE name = 'healthpass.issuer'),
          healthpass.token_issuer(), 'a server setting shows the GUC in force');
SELECT is((SELECT count(*)::integer FROM healthpass.setting), 0, 'nothing is stored until something changes');

SELECT is(healthpass.configure('code_valid_for', '5 minutes'), '00:05:00', 'configure returns the value in force');
SELECT is((SELECT value || ' ' || changed FROM healthpass.settings() WHERE name = 'code_valid_for'), '00:05:00 true',
          'settings() shows the change');
SELECT is((SELECT code_valid_for FROM healthpass.health_settings()), '00:05:00'::interval,
          'health_settings reads the same setting');
-- (a code's times are whole seconds of the clock when it is signed, not of
-- the transaction's start: compared with the clock after the call)
SELECT is((SELECT expires_at - clock_timestamp() <= interval '5 minutes' AND expires_at - clock_timestamp() > interval '4 minutes'
             FROM healthpass.health_code(healthpass.register_person('cn_resident_id', '440104199003071239', '王小明'))),
          true, 'new codes follow it');
SELECT is(healthpass.configure('code_valid_for', NULL), '00:03:00', 'NULL goes back to the default');
SELECT is((SELECT count(*)::integer FROM healthpass.setting), 0, 'and removes the stored row');

SELECT throws_ok($$SELECT healthpass.configure('code_valid_for', '10 seconds')$$, '22023',
    'health-code validity "00:00:10" is out of range', 'values are bounded');
SELECT throws_ok($$SELECT healthpass.configure('declaration_valid_for', 'soon')$$, '22023',
    'declaration validity "soon" is not an interval', 'values are typed');
SELECT is(healthpass.configure('report_min_cell', '10'), '10', 'a whole-number setting');
SELECT throws_ok($$SELECT healthpass.configure('report_min_cell', 'ten')$$, '22023',
    'smallest reported count "ten" is not a whole number', 'whole-number settings are typed');
SELECT throws_ok($$SELECT healthpass.configure('report_min_cell', '0')$$, '22023',
    'smallest reported count "0" is out of range', 'and bounded');
SELECT throws_ok($$SELECT healthpass.configure('healthpass.issuer', 'MO')$$, '22023',
    'server setting "healthpass.issuer" cannot be configured here', 'server settings are set in postgresql.conf');
SELECT throws_ok($$SELECT healthpass.configure('companion_limit', '20')$$, '22023',
    'fixed setting "companion_limit" cannot be configured here', 'fixed settings are rules of the seeds');
SELECT throws_ok($$SELECT healthpass.configure(E'no\x01such', '1')$$, '22023',
    'unknown setting "no?such" cannot be configured here', 'unknown names are refused, quoted safely');

SELECT * FROM finish();
