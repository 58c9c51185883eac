-- request_transfer refusals at the source (run by test/scripts/78_transfer.sh
-- in the Guangdong database with -v form=...): not green, no consent, the
-- destination, the form.
\set QUIET 1
SET client_min_messages = warning;
SELECT plan(19);
SELECT healthpass.find_person('cn_resident_id', '440402198808084562') AS he \gset
SELECT healthpass.find_person('cn_resident_id', '440104199003071239') AS wang \gset
CREATE TEMP TABLE the_form AS SELECT :'form'::jsonb AS form;
CREATE FUNCTION pg_temp.f(changes jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT form || changes FROM the_form $$;
CREATE FUNCTION pg_temp.f_without(field text) RETURNS jsonb LANGUAGE sql AS $$ SELECT form - field FROM the_form $$;

SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'MO', 1, %L)$$, :wang,
                        pg_temp.f('{"name": "王小明", "birth_date": "1990-03-07", "doc_number": "440104199003071239", "phone": "13800138000"}')),
    '55000', format('person %s is not green: the code is yellow', :wang), 'a yellow code is not transferred');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'MO', NULL, %L)$$, :he, :'form'),
    '55000', 'the transfer notice has not been accepted', 'no transfer without consent to the notice');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'MO', 7, %L)$$, :he, :'form'),
    '55000', 'transfer notice version 7 is not the current one', 'consent to the current notice only');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'TW', 1, %L)$$, :he, :'form'),
    '22023', 'destination "TW" is not a transfer partner', 'only to partners');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, NULL, 1, %L)$$, :he, :'form'),
    '22023', 'destination "NULL" is not a transfer partner', 'a destination is named');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'MO', 1, %L)$$, :he, pg_temp.f_without('fever_today')),
    '22023', 'transfer form is missing "fever_today"', 'every question is answered');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'MO', 1, %L)$$, :he, pg_temp.f_without('phone')),
    '22023', 'transfer form is missing "phone"', 'the phone is given');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'MO', 1, %L)$$, :he, pg_temp.f('{"contact_14d": "no"}')),
    '22023', 'transfer form answer "contact_14d" is not yes or no', 'answers are yes or no');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'MO', 1, %L)$$, :he, pg_temp.f('{"travel_14d": true}')),
    '22023', 'transfer form is missing "travel_places"', 'travel in 14 days names where');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'MO', 1, %L)$$, :he, pg_temp.f('{"name": "王小明"}')),
    '22023', 'the name on the transfer form does not match the person', 'the form is the person''s own: name');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'MO', 1, %L)$$, :he, pg_temp.f('{"birth_date": "1988-08-09"}')),
    '22023', 'the birth date on the transfer form does not match the person', 'birth date');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'MO', 1, %L)$$, :he, pg_temp.f('{"doc_number": "440104199003071239"}')),
    '22023', 'the document on the transfer form is not the person''s', 'document');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'MO', 1, %L)$$, :he, pg_temp.f('{"phone": [1, 2]}')),
    '22023', 'transfer form answer "phone" is not a text', 'texts are texts');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'MO', 1, %L)$$, :he, pg_temp.f('{"doc_kind": "venue"}')),
    '22023', 'document kind "venue" does not identify a person', 'a document kind of a person');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'MO', 1, %L)$$, :he,
                        pg_temp.f('{"travel_14d": true, "travel_places": [{"x": 1}]}')),
    '22023', 'transfer form answer "travel_places" is not a list of places', 'places are texts');
SELECT throws_ok(format($$SELECT * FROM healthpass.request_transfer(%s, 'MO', 1, NULL)$$, :he),
    '22023', 'transfer form is missing', 'the form is required');
SELECT throws_ok($$SELECT * FROM healthpass.request_transfer(NULL, 'MO', 1, '{}')$$,
    '22004', 'person id is missing', 'the person is required');
SELECT is((SELECT count(*)::int FROM healthpass.transfer_exports(:he)), 0, 'nothing is recorded by a refused request');
SELECT ok(NOT has_function_privilege('healthpass_app', 'healthpass_internal._open_box(bytea, bytea, bytea)', 'EXECUTE')
          AND NOT has_function_privilege('healthpass_admin', 'healthpass_internal._open_box(bytea, bytea, bytea)', 'EXECUTE'),
          'no purpose role can open a box');
SELECT * FROM finish();
