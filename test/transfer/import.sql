-- import_transfer in Macau (run by test/scripts/78_transfer.sh with
-- -v t1=... -v t2=... -v itin=...): the itinerary's refusals, a good
-- import, its replay, a garbled token.
\set QUIET 1
SET client_min_messages = warning;
SELECT plan(15);
CREATE TEMP TABLE the_itinerary AS SELECT :'itin'::jsonb AS itin;
CREATE FUNCTION pg_temp.i(changes jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT itin || changes FROM the_itinerary $$;

SELECT throws_ok(format($$SELECT * FROM healthpass.import_transfer(%L, %L)$$, :'t1', :'itin'::jsonb - 'address'),
    '22023', 'itinerary is missing "address"', 'the itinerary asks for the address today');
SELECT throws_ok(format($$SELECT * FROM healthpass.import_transfer(%L, %L)$$, :'t1', pg_temp.i('{"sms_checked": false}')),
    '55000', 'the itinerary''s SMS and captcha checks are not done', 'the app''s SMS check is recorded as done');
SELECT throws_ok(format($$SELECT * FROM healthpass.import_transfer(%L, %L)$$, :'t1', pg_temp.i('{"phone": ["1"]}')),
    '22023', 'itinerary answer "phone" is not a text', 'the itinerary''s texts are texts');
SELECT throws_ok(format($$SELECT * FROM healthpass.import_transfer(%L, NULL)$$, :'t1'),
    '22023', 'itinerary is missing', 'the itinerary is required');
SELECT throws_ok($$SELECT * FROM healthpass.import_transfer(NULL, '{"phone": "1", "destination_city": "澳门", "address": "x", "sms_checked": true, "captcha_checked": true}')$$,
    '22004', 'transfer token is missing', 'the token is required');
SELECT throws_ok(format($$SELECT * FROM healthpass.import_transfer('HP1:NOT A TOKEN', %L)$$, :'itin'),
    '22023', 'transfer token is not valid: malformed', 'a garbled token is refused by name');
SELECT is((SELECT count(*)::int FROM healthpass.person), 0, 'refusals registered nobody');

SELECT * INTO TEMP imported FROM healthpass.import_transfer(:'t1', :'itin');
SELECT is((SELECT outcome || ' ' || source || ' ' || colour FROM imported), 'entry_person_page CN-44 green',
          'a Guangdong resident arriving in Macau gets the entry-person page, green');
SELECT ok((SELECT (healthpass.verify_token(code)).issuer = 'MO' FROM imported), 'with Macau''s own code');
SELECT is((SELECT name || ' ' || doc_kind FROM healthpass.person), '何敏 cn_resident_id', 'the traveller is registered by document');
SELECT is((SELECT source || ' ' || colour || ' ' || (answers->>'fever_today') || ' ' || destination_city || ' ' || outcome
             FROM healthpass.received_transfers((SELECT person_id FROM imported))),
          'CN-44 green false 澳门 entry_person_page', 'what was received, from whom, is kept');
SELECT throws_ok(format($$SELECT * FROM healthpass.import_transfer(%L, %L)$$, :'t1', :'itin'),
    '23505', format('transfer package %s was already imported', (SELECT package_id FROM imported)),
    'a package is used once: replay refused');
SELECT is((SELECT outcome FROM healthpass.import_transfer(:'t2', :'itin')), 'entry_person_page',
          'a second transfer of the same person is a new package');
SELECT is((SELECT count(*)::int FROM healthpass.person), 1, 'and finds the person registered the first time');
SELECT ok(NOT has_function_privilege('healthpass_app', 'healthpass.import_transfer_partner(jsonb, boolean, boolean)', 'EXECUTE'),
          'apps do not import partners');
SELECT * FROM finish();
