-- the scanner's one call: any personal code a person shows gives the
-- verdict, the masked identity, the colour now and the latest test
-- (issue 9, item 18; seed 004 "show the printed code to staff")
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(15);

SELECT healthpass.publish_notice('registration_notice', 'Notice', 'Read me.') AS nv \gset
SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明', phone => '13800138000') AS p \gset
SELECT healthpass.add_family_member(:p, 'cn_resident_id', '440606195508084416', '王大爷', 'parent') AS m \gset
SELECT healthpass.submit_entry(:p, :nv, jsonb_build_object(
         'arrival_port', 'Gongbei', 'arrival_date', current_date::text, 'transport_mode', 'on_foot',
         'departure_country', 'MAC', 'departure_city', 'Macau', 'destination_district', 'Chancheng',
         'destination_address', '2 Zumiao Road', 'contact_phone', '13800138000', 'purpose', 'tourism')) AS entry \gset
SELECT healthpass.record_test_result(:p, 'Lab', 'R-1', now() - interval '1 day', 'negative') \gset
SELECT healthpass.personal_code(:p) AS personal \gset
SELECT healthpass.family_member_code(:p, :m) AS family \gset
SELECT token AS health FROM healthpass.health_code(:p) \gset

CREATE TEMP TABLE shown AS
SELECT k, s.* FROM (VALUES ('personal', :'personal'), ('family', :'family'), ('health', :'health'), ('entry', :'entry')) c(k, t),
       healthpass.scan_personal_code(c.t) s;
SELECT is((SELECT string_agg(k || '=' || valid || '/' || kind, ',' ORDER BY k) FROM shown),
          'entry=true/entry,family=true/personal,health=true/health,personal=true/personal',
          'every personal code kind verifies in one call');
SELECT is((SELECT name_masked || ' ' || id_masked FROM shown WHERE k = 'personal'), '王*明 4401**********1239',
          'the staff see the masked identity');
SELECT is((SELECT name_masked FROM shown WHERE k = 'family'), '王*爷', 'a printed family code shows the member');
SELECT is((SELECT colour::text FROM shown WHERE k = 'personal'),
          (SELECT colour::text FROM healthpass.colour_status(:p)), 'the colour is the colour now');
SELECT ok((SELECT meaning IS NOT NULL AND reasons IS NOT NULL FROM shown WHERE k = 'entry'), 'with its meaning and reasons');
SELECT is((SELECT latest_result || ' ' || (latest_sampled_at < now()) FROM shown WHERE k = 'health'), 'negative true',
          'and the latest test');
SELECT is((SELECT colour FROM shown WHERE k = 'family'), (SELECT colour FROM healthpass.colour_status(:m)),
          'a member''s code gives the member''s colour');

-- not a personal code, not a code, no longer a code ------------------------
SELECT is((SELECT reason || ' ' || (colour IS NULL) || ' ' || (name_masked IS NULL)
             FROM healthpass.scan_personal_code(healthpass.issue_token('venue', '{"name": "Library"}', '1 day'))),
          'wrong_kind true true', 'a venue code is the wrong kind and tells nothing');
SELECT is((SELECT reason FROM healthpass.scan_personal_code('HP1:NOT-A-CODE')), 'malformed', 'garbage is malformed');
SELECT throws_ok($$SELECT * FROM healthpass.scan_personal_code(NULL)$$, '22023', 'scanned code is missing',
                 'a missing code is an error');
SELECT healthpass.record_realname_result(:m, (healthpass.person_info(:m)->>'version')::integer, 'rejected', 'no such person') \gset
SELECT is((SELECT reason || ' ' || (colour IS NULL) FROM healthpass.scan_personal_code(:'family')), 'revoked true',
          'a revoked family code gives no colour');
SELECT is((SELECT colour FROM healthpass.scan_personal_code(:'health')), (SELECT colour FROM healthpass.colour_status(:p)),
          'the guardian''s own codes still work');
SELECT is((SELECT valid FROM healthpass.verify_health_code(:'personal')), false,
          'verify_health_code still takes health codes only');
SET ROLE healthpass_scanner;
SELECT is((SELECT valid FROM healthpass.scan_personal_code(:'personal')), true, 'scanners may call it');
RESET ROLE;
-- (item 21) scanners get colours from what a person shows, never by person id
SELECT is(has_function_privilege('healthpass_scanner', 'healthpass.colour_status(bigint, timestamptz)', 'EXECUTE')
          OR has_function_privilege('healthpass_scanner', 'healthpass.health_status(bigint)', 'EXECUTE'),
          false, 'scanners may call neither colour_status nor health_status');

SELECT * FROM finish();
