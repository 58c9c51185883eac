-- notices and entry registration (seed 000)
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(5 + 49);
-- A table is read in a statement of its own (\gset), then compared: on Citus a
-- statement reading one shard runs whole on a worker, where this session's
-- pgTAP plan does not exist.

-- a complete entry form, arriving tomorrow
CREATE TEMP TABLE form AS SELECT jsonb_build_object(
    'arrival_port', 'Hong Kong-Zhuhai-Macao Bridge',
    'arrival_date', (current_date + 1)::text,
    'transport_mode', 'road',
    'departure_country', 'hkg',
    'departure_city', 'Hong Kong',
    'destination_district', 'Shunde',
    'destination_address', '1 Daliang Road',
    'contact_phone', '138-0013-8000',
    'purpose', 'family') AS f;

-- notices ---------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM healthpass.current_notice('registration_notice')$$,
    'P0002', 'no registration notice has been published', 'no notice before the first publication');
SELECT throws_ok($$SELECT healthpass.publish_notice('privacy', 't', 'b')$$,
    '22023', 'notice kind "privacy" is not valid', 'unknown notice kinds are refused');
SELECT throws_ok($$SELECT healthpass.publish_notice('registration_notice', ' ', 'b')$$,
    '22023', 'the registration notice needs a title and a body', 'notices need a title and a body');
SELECT is(healthpass.publish_notice('registration_notice', 'Registration notice', 'Tell the truth.'), 1, 'first version');
SELECT is(healthpass.publish_notice('registration_notice', 'Registration notice', 'Tell the whole truth.'), 2, 'second version');
SELECT is((SELECT version || ' ' || body FROM healthpass.current_notice('registration_notice')), '2 Tell the whole truth.',
          'the current notice is the latest version');
SET ROLE healthpass_app;
SELECT throws_ok($$SELECT healthpass.publish_notice('registration_notice', 't', 'b')$$,
    '42501', 'permission denied for function publish_notice', 'only administrators publish notices');
SELECT is((SELECT version FROM healthpass.current_notice('registration_notice')), 2, 'the app reads the current notice');
RESET ROLE;

-- look-up, first registration --------------------------------------------------
SELECT is((SELECT state || ' ' || notice_version FROM healthpass.entry_lookup('cn_resident_id', '440606198506153311')),
          'unknown 2', 'an unknown document: register, with the notice version to show');
SELECT healthpass.register_person('cn_resident_id', '440606198506153311', '赵六') AS p \gset
SELECT is((SELECT state FROM healthpass.entry_lookup('cn_resident_id', '440606198506153311')),
          'unregistered', 'a person without an entry registration');
SELECT throws_ok(format($$SELECT healthpass.entry_code(%s)$$, :p), 'P0002',
    format('person %s has no entry registration', :p), 'no entry code before registering');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, NULL, (SELECT f FROM form))$$, :p), '55000',
    'the registration notice has not been accepted', 'the notice must be accepted');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 1, (SELECT f FROM form))$$, :p), '55000',
    'registration notice version 1 is not the current one', 'an old notice version is refused');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f - 'arrival_port' FROM form))$$, :p), '22023',
    'field "arrival_port" is required', 'required fields');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f || '{"pets": "cat"}' FROM form))$$, :p), '22023',
    'unknown entry field "pets"', 'unknown fields');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f || '{"arrival_date": "2024-02-30"}' FROM form))$$, :p), '22007',
    'arrival date "2024-02-30" is not a date', 'bad dates');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f || jsonb_build_object('arrival_date', current_date + 181) FROM form))$$, :p), '22008',
    format('arrival date %s is out of range', current_date + 181), 'arrival too far ahead');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f || '{"transport_mode": "rocket"}' FROM form))$$, :p), '22023',
    'transport mode "rocket" is not valid', 'transport modes');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f || '{"transport_mode": "flight"}' FROM form))$$, :p), '22023',
    'field "transport_number" is required', 'a flight needs its number');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f || '{"transport_mode": "flight", "transport_number": "CX/123"}' FROM form))$$, :p), '22023',
    'transport number "CX/123" is not valid', 'bad flight numbers');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f || '{"departure_country": "Hong Kong"}' FROM form))$$, :p), '22023',
    'departure country "HONG KONG" is not valid', 'countries are alpha-3 codes');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f || '{"contact_phone": "call me"}' FROM form))$$, :p), '22023',
    'field "contact_phone" is not a phone number: "call me"', 'bad phone numbers');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f || '{"purpose": "smuggling"}' FROM form))$$, :p), '22023',
    'purpose "smuggling" is not valid', 'purposes');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f || '{"destination_address": 5}' FROM form))$$, :p), '22023',
    'field "destination_address" must be a string, not 5', 'fields are strings');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f || jsonb_build_object('destination_address', repeat('x', 301)) FROM form))$$, :p), '54000',
    format('field "destination_address" "%s…" is 301 characters long', repeat('x', 40)), 'overlong fields');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f || jsonb_build_object('destination_address', E'2 Zumiao\x01Road') FROM form))$$, :p), '22023',
    'field "destination_address" "2 Zumiao?Road" holds a control character', 'control characters in form fields');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f || jsonb_build_object('destination_address', E'\u202e2 Zumiao Road') FROM form))$$, :p), '22023',
    'field "destination_address" "?2 Zumiao Road" holds a control character', 'text-direction overrides in form fields');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, '"x"')$$, :p), '22023',
    'entry ""x"" is not a JSON object', 'the form is an object');

SELECT healthpass.submit_entry(:p, 2, (SELECT f FROM form)) AS code1 \gset
SELECT is((SELECT kind || ' ' || (body->>'rv') || ' ' || (body->>'id') FROM healthpass.verify_token(:'code1')),
          'entry 1 4406**********3311', 'submitting the registration returns the entry code with the masked ID');
SELECT is((SELECT kind || ' ' || version FROM healthpass.notice_acceptances(:p)), 'registration_notice 2',
          'the accepted notice version is recorded');
SELECT is(healthpass.entry_registration(:p)->>'contact_phone', '13800138000', 'phone is normalised');
SELECT is(healthpass.entry_registration(:p)->>'departure_country', 'HKG', 'country is upper-cased');
SELECT is(healthpass.entry_registration(:p)->>'transport_number', NULL::text, 'no number for road crossings');
SELECT throws_ok(format($$SELECT healthpass.submit_entry(%s, 2, (SELECT f FROM form))$$, :p), '23505',
    format('person %s already has an entry registration', :p), 'one registration per person');
SELECT is((SELECT state FROM healthpass.entry_lookup('cn_resident_id', '440606198506153311')),
          'registered', 'a registered person goes straight to the code');
SELECT ok((SELECT entry_code FROM healthpass.entry_lookup('cn_resident_id', '440606198506153311')) LIKE 'HP1:%',
          'the look-up returns the entry code');
SELECT is((SELECT notice_version FROM healthpass.entry_lookup('cn_resident_id', '440606198506153311')), NULL::integer,
          'no notice to show to a registered person');
SELECT is((SELECT may_apply_epass FROM healthpass.entry_lookup('cn_resident_id', '440606198506153311')), true,
          'a mainland resident ID holder without an e-pass may apply for one (seed 000 step 5)');
SELECT healthpass.submit_entry(healthpass.register_person('hkid', 'A123456(3)', 'CHAN Tai Man', '1980-05-01'), 2,
                               (SELECT f FROM form)) IS NOT NULL AS hk_done \gset
SELECT is((SELECT state || ' ' || may_apply_epass FROM healthpass.entry_lookup('hkid', 'A123456(3)')), 'registered false',
          'other documents are not offered the e-pass');
SELECT is((SELECT may_apply_epass FROM healthpass.entry_lookup('cn_resident_id', '440104199003071239')), false,
          'nor is anyone not registered');

-- modification -------------------------------------------------------------------
SELECT entry_code AS code1 FROM healthpass.entry_lookup('cn_resident_id', '440606198506153311') \gset
SELECT is((SELECT valid FROM healthpass.verify_token(:'code1')), true, 'the code before the modification is valid');
SELECT healthpass.modify_entry(:p, '{"transport_mode": "ship", "transport_number": "sk 8"}') AS code2 \gset
SELECT is((SELECT body->>'rv' FROM healthpass.verify_token(:'code2')), '2', 'a modification issues a new code for the new version');
SELECT is((SELECT reason FROM healthpass.verify_token(:'code1')), 'revoked', 'a modification revokes the earlier entry codes');
SELECT count(*)::integer AS n FROM healthpass.code_issued WHERE person_id = :p AND kind = 'entry' \gset
SELECT is(:n::integer, 1,
          'only the new code is left to revoke next time');
SELECT is(healthpass.entry_registration(:p)->>'transport_number', 'SK8', 'the change is stored normalised');
SELECT is(healthpass.entry_registration(:p)->>'version', '2', 'the registration has a new version');
SELECT is((SELECT string_agg(h.version || ':' || (h.data->>'transport_mode'), ',' ORDER BY h.version)
             FROM healthpass.entry_history(:p) h), '1:road,2:ship', 'the history keeps the old version');
SELECT throws_ok(format($$SELECT healthpass.modify_entry(%s, '{"transport_mode": "flight", "transport_number": null}')$$, :p),
    '22023', 'field "transport_number" is required', 'a modification is validated as a whole');
SELECT throws_ok(format($$SELECT healthpass.modify_entry(%s, '{"x": 1}')$$, :p),
    '22023', 'unknown entry field "x"', 'unknown fields in a modification');
SELECT is(healthpass.entry_registration(:p)->>'version', '2', 'a refused modification changes nothing');
SELECT healthpass.register_person('cn_resident_id', '440104199511118822', '钱七') AS q \gset
SELECT throws_ok(format($$SELECT healthpass.modify_entry(%s, '{}')$$, :q),
    'P0002', format('person %s has no entry registration', :q), 'only a submitted registration is modified');

-- a rejected person gets no entry code ------------------------------------------------
SELECT healthpass.record_realname_result(:p, (healthpass.person_info(:p)->>'version')::integer, 'rejected', 'no such person') IS NOT NULL AS rej \gset
SELECT is((SELECT state FROM healthpass.entry_lookup('cn_resident_id', '440606198506153311')),
          'realname_rejected', 'the look-up reports a rejected person');
SELECT throws_ok(format($$SELECT healthpass.entry_code(%s)$$, :p), '55000',
    format('real-name verification of person %s was rejected', :p), 'a rejected person gets no entry code');

SET ROLE healthpass_app;
SELECT throws_ok('SELECT * FROM healthpass.entry_registration', '42501',
    'permission denied for table entry_registration', 'the app role cannot read the table');
RESET ROLE;

SELECT * FROM finish();
