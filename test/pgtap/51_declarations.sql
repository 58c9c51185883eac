-- health declarations (seed 002's questions, seed 004's expiry)
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT plan(20);

SELECT healthpass.register_person('cn_resident_id', '11010519491231002X', '张三') AS p \gset

SELECT * FROM healthpass.declare_health(:p, false, false, ARRAY['  广东省深圳市南山区 ', '澳门', '澳门'],
                                        '佛山市', ' 禅城区  莲花路 3 号 ', 36.54) \gset d_
SELECT is(:'d_valid_until'::timestamptz - :'d_declared_at'::timestamptz, interval '1 day', 'valid for a day by default');
SELECT is((SELECT array_to_string(travel_places, '|') || '/' || destination_city || '/' || destination_address || '/' || temperature
             FROM healthpass.health_declarations(:p)),
          '广东省深圳市南山区|澳门/佛山市/禅城区 莲花路 3 号/36.5', 'places are trimmed and deduplicated, temperature rounded');
SELECT is((SELECT in_force FROM healthpass.health_declarations(:p)), true, 'the latest valid declaration is in force');

SELECT healthpass.configure_health(declaration_valid_for => '12 hours');
SELECT * FROM healthpass.declare_health(:p, true, false) \gset e_
SELECT is(:'e_valid_until'::timestamptz - :'e_declared_at'::timestamptz, interval '12 hours', 'the validity comes from the settings');
SELECT is((SELECT string_agg(in_force::text || ':' || fever_today::text, ',' ORDER BY declaration_id DESC)
             FROM healthpass.health_declarations(:p)),
          'true:true,false:false', 'a new declaration supersedes the old');
SELECT is((SELECT count(*)::integer FROM healthpass.health_declarations(:p, 1)), 1, 'max_rows limits the list');

-- refusals
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, NULL, false)$$, :p),
    '22023', 'fever_today is missing', 'the fever question must be answered');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, NULL)$$, :p),
    '22023', 'contact_14d is missing', 'the contact question must be answered');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, ARRAY['']::text[])$$, :p),
    '22023', 'travel place "" is empty', 'no empty places');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, ARRAY[NULL]::text[])$$, :p),
    '22023', 'travel place "" is empty', 'no NULL places');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, ARRAY[repeat('x', 101)])$$, :p),
    '22023', format('travel place "%s" is not valid', repeat('x', 101)), 'places are short');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, array_fill('x'::text, ARRAY[31]))$$, :p),
    '54000', 'travel history lists 31 places', 'at most 30 places');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, '{}', E'\t')$$, :p),
    '22023', E'destination city "\t" is empty', 'destination city must name a place');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, '{}', '佛山', repeat('路', 201))$$, :p),
    '22023', format('destination address "%s" is not valid', repeat('路', 201)), 'addresses are at most 200 characters');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, temperature => 45.1)$$, :p),
    '22023', 'temperature 45.1 is out of range', 'temperature range (high)');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, temperature => 33.9)$$, :p),
    '22023', 'temperature 33.9 is out of range', 'temperature range (low)');
SELECT throws_ok($$SELECT healthpass.declare_health(999999, false, false)$$,
    'P0002', 'person 999999 does not exist', 'unknown person');
SELECT throws_ok(format($$SELECT * FROM healthpass.health_declarations(%s, 0)$$, :p),
    '22023', 'max_rows 0 is out of range', 'max_rows range');

-- privileges: the app declares, the scanner cannot
SET ROLE healthpass_app;
SELECT ok((SELECT declaration_id FROM healthpass.declare_health(:p, false, false)) > 0, 'the app role declares');
RESET ROLE;
SET ROLE healthpass_scanner;
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false)$$, :p),
    '42501', 'permission denied for function declare_health', 'the scanner role cannot declare');
RESET ROLE;

SELECT * FROM finish();
