-- health declarations (seed 002's questions, seed 004's expiry)
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT plan(36);

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
    '54000', format('travel place "%s…" is 101 characters long', repeat('x', 40)), 'places are short');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, array_fill('x'::text, ARRAY[31]))$$, :p),
    '54000', 'travel history lists 31 places', 'at most 30 places');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, '{}', E'\t')$$, :p),
    '22023', 'destination city "?" is empty', 'destination city must name a place (the tab is quoted as "?")');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, '{}', '佛山', repeat('路', 201))$$, :p),
    '54000', format('destination address "%s…" is 201 characters long', repeat('路', 40)), 'addresses are at most 200 characters');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, temperature => 45.1)$$, :p),
    '22023', 'temperature 45.1 is out of range', 'temperature range (high)');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, temperature => 33.9)$$, :p),
    '22023', 'temperature 33.9 is out of range', 'temperature range (low)');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, temperature => ('1' || repeat('0', 999))::numeric)$$, :p),
    '22023', format('temperature 1000%s0000… is out of range', repeat('*', 32)), 'a huge temperature is quoted cut, its digits masked');
SELECT throws_ok($$SELECT healthpass.declare_health(999999, false, false)$$,
    'P0002', 'person 999999 does not exist', 'unknown person');
SELECT throws_ok(format($$SELECT * FROM healthpass.health_declarations(%s, 0)$$, :p),
    '22023', 'max_rows 0 is out of range', 'max_rows range');

-- free text: length limits (54000) and no control or bidi characters (22023)
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, ARRAY[E'澳门\n氹仔'])$$, :p),
    '22023', 'travel place "澳门?氹仔" holds a control character', 'no line break inside a place');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, ARRAY[U&'\202E澳门'])$$, :p),
    '22023', 'travel place "?澳门" holds a control character', 'no bidi override in a place');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, ARRAY[U&'澳\200B门'])$$, :p),
    '22023', 'travel place "澳?门" holds a control character', 'no zero-width character in a place');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, '{}', repeat('佛', 101))$$, :p),
    '54000', format('destination city "%s…" is 101 characters long', repeat('佛', 40)), 'destination city is at most 100 characters');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, '{}', U&'佛山\2066市')$$, :p),
    '22023', 'destination city "佛山?市" holds a control character', 'no bidi isolate in the destination city');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, '{}', '佛山', E'莲花路\r3 号')$$, :p),
    '22023', 'destination address "莲花路?3 号" holds a control character', 'the address is one line');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, '{}', '佛山', U&'\202D3 Lianhua Road')$$, :p),
    '22023', 'destination address "?3 Lianhua Road" holds a control character', 'no bidi override in the address');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, '{}', '佛山', '　')$$, :p),
    '22023', 'destination address "　" is empty', 'a given address is not blank');
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false, ARRAY[U&'\00A0\3000'])$$, :p),
    '22023', U&'travel place "\00A0\3000" is empty', 'a place of spaces of other widths is empty');

-- places in one form (hp_place_form): spaces between CJK characters removed,
-- full-width ASCII folded, NFC; spelled variants of one place are one place
SET search_path = healthpass, healthpass_internal, public;  -- the internal checker, called directly
SELECT is(healthpass_internal.hp_clean_place('travel place', '广东省 珠海市　香洲区'), '广东省珠海市香洲区',
          'spaces (also ideographic ones) between CJK characters are removed');
SELECT is(healthpass_internal.hp_clean_place('travel place', 'ＨＯＮＧ　ＫＯＮＧ（ＳＡＲ）'), 'HONG KONG(SAR)',
          'full-width letters and brackets are folded, the space between Latin words stays');
SELECT is(healthpass_internal.hp_clean_place('travel place', U&' 广东省\00A0 珠海市 ｘｉａｎｇ  ｚｈｏｕ '), '广东省珠海市 xiang zhou',
          'mixed: no-break and ideographic spaces, full-width Latin, runs of spaces');
SELECT is(healthpass_internal.hp_clean_place('travel place', U&'Ame\0301lie'), U&'Am\00E9lie', 'places are NFC');
SELECT is(healthpass_internal.hp_clean_place('travel place', '澳门 Macau'), '澳门 Macau', 'a space between CJK and Latin stays');
RESET search_path;
SELECT * FROM healthpass.declare_health(:p, false, false,
        ARRAY['广东省 珠海市 香洲区', '广东省珠海市香洲区', 'ＭＡＣＡＵ', 'MACAU'], ' 佛山　市 ') \gset f_
SELECT is((SELECT array_to_string(travel_places, '|') || '/' || destination_city
             FROM healthpass.health_declarations(:p) WHERE declaration_id = :f_declaration_id),
          'MACAU|广东省珠海市香洲区/佛山市', 'declared places are stored in their one form, spelled variants once');

-- privileges: the app declares, the scanner cannot
SET ROLE healthpass_app;
SELECT ok((SELECT declaration_id FROM healthpass.declare_health(:p, false, false)) > 0, 'the app role declares');
RESET ROLE;
SET ROLE healthpass_scanner;
SELECT throws_ok(format($$SELECT healthpass.declare_health(%s, false, false)$$, :p),
    '42501', 'permission denied for function declare_health', 'the scanner role cannot declare');
RESET ROLE;

SELECT * FROM finish();
