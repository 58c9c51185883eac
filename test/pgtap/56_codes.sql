-- the dynamic health code, scanner verification, manual checks, the e-pass page
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT plan(39);

SELECT healthpass.register_person('cn_resident_id', '11010519491231002X', '张三') AS p \gset
SELECT healthpass.declare_health(:p, false, false);
SELECT healthpass.record_test_result(:p, 'Lab', 'S3', now() - interval '2 days', 'negative');
SELECT max(sampled_at) AS neg FROM healthpass.test_result WHERE person_id = :p \gset

SELECT * FROM healthpass.health_code(:p) \gset c_
SELECT is(:'c_colour'::text, 'green', 'the code carries the colour');
SELECT is(:'c_last_negative_at'::timestamptz, :'neg'::timestamptz, 'and the last negative test');
SELECT * FROM healthpass.verify_token(:'c_token') \gset v_
SELECT is(:'v_valid'::text, 't', 'the code is a valid HP1 token');
SELECT is(:'v_kind'::text, 'health', 'of kind health');
SELECT is(:'v_expires_at'::timestamptz - :'v_issued_at'::timestamptz, interval '3 minutes', 'a code lives 3 minutes by default');
SELECT is(:'c_expires_at'::timestamptz, :'v_expires_at'::timestamptz, 'health_code reports the expiry');
SELECT is((:'v_body'::jsonb) - 'ref',
          jsonb_build_object('v', 1, 'k', 'health', 'name', '张*', 'doc', 'cn_resident_id', 'id', '1101**********002X',
                             'colour', 'green',
                             'negative_test', to_char(:'neg'::timestamptz AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')),
          'the body: masked name and ID, colour, last negative test date (China time)');
SELECT is((:'v_body'::jsonb)->>'ref', (healthpass.person_info(:p)->>'ref'), 'and the opaque reference, never the number');
SELECT ok(position('11010519491231002X' IN :'v_body') = 0 AND position('张三' IN :'v_body') = 0, 'no full ID or name inside');

-- the scanner
SELECT is((SELECT valid::text || ':' || colour || ':' || current_colour || ':' || name_masked || ':' || id_masked
             FROM healthpass.verify_health_code(:'c_token')),
          'true:green:green:张*:1101**********002X', 'a scanner gets the claims and the colour now');
SELECT healthpass.set_risk_mark(:p, 'close_contact');
SELECT is((SELECT colour || ':' || current_colour || ':' || current_reasons[1] FROM healthpass.verify_health_code(:'c_token')),
          'green:red:close contact of a case', 'online, the scanner sees that the colour has changed since issue');
SELECT is((SELECT colour::text FROM healthpass.health_code(:p)), 'red', 'a new code carries the new colour');
SELECT is((SELECT valid::text || ':' || reason || ':' || coalesce(current_colour::text, '-')
             FROM healthpass.verify_health_code(healthpass.personal_code(:p))),
          'false:wrong_kind:-', 'another kind of code is not a health code');
SELECT is((SELECT valid::text || ':' || reason FROM healthpass.verify_health_code('HP1:garbage')),
          'false:malformed', 'garbage is malformed');
SELECT is((SELECT reason FROM healthpass.verify_token(:'c_token', now() + interval '10 minutes')),
          'expired', 'the code expires after its validity (plus the clock skew): a screenshot goes stale');
SELECT throws_ok($$SELECT * FROM healthpass.verify_health_code(NULL)$$, '22023', 'health code is missing', 'a code is needed');

-- configurable validity
SELECT healthpass.configure_health(code_valid_for => '1 minute');
SELECT is((SELECT expires_at - issued_at FROM healthpass.verify_token((SELECT token FROM healthpass.health_code(:p)))),
          interval '1 minute', 'the validity follows the settings');

-- the QR image in the code's colour
SELECT * FROM healthpass.health_code_png(:p, 4) \gset q_
SELECT is(substr(:'q_png'::bytea, 1, 8), '\x89504e470d0a1a0a'::bytea, 'a PNG');
SELECT is(:'q_png'::bytea, healthpass.qr_png(:'q_token', 'M', 4, 4, 'red', 'white'), 'drawn in the colour of the code');
SELECT throws_ok(format($$SELECT * FROM healthpass.health_code_png(%s, 0)$$, :p),
    '22023', 'module size 0 is out of range', 'module size range');

-- staff check of a person without a smartphone: name, ID number and phone (seed 004)
SELECT healthpass.edit_person(:p, '{"phone": "138 0013 8000"}') \gset
SELECT is((SELECT name_masked || ':' || id_masked || ':' || colour
             FROM healthpass.manual_health_check('cn_resident_id', '11010519491231002x', '张三', '13800138000')),
          '张*:1101**********002X:red', 'staff check by ID number, name and phone');
SELECT is((SELECT colour::text FROM healthpass.manual_health_check('cn_resident_id', '11010519491231002X', ' 张 三 ', '+86 138-0013-8000')),
          'red', 'spacing in the name and separators or +86 in the phone do not matter');
SELECT throws_ok($$SELECT * FROM healthpass.manual_health_check('cn_resident_id', '11010519491231002X', '李四', '13800138000')$$,
    'P0002', 'no person matches cn_resident_id "1101**********002X" with the name and phone given', 'the name must match');
SELECT throws_ok($$SELECT * FROM healthpass.manual_health_check('cn_resident_id', '11010519491231002X', '张三', '13900139000')$$,
    'P0002', 'no person matches cn_resident_id "1101**********002X" with the name and phone given',
    'a wrong phone gets the same answer as a wrong name');
SELECT throws_ok($$SELECT * FROM healthpass.manual_health_check('cn_resident_id', '440104199003071239', '李四', '13800138000')$$,
    'P0002', 'no person matches cn_resident_id "4401**********1239" with the name and phone given', 'unknown documents get the same answer');
SELECT throws_ok($$SELECT * FROM healthpass.manual_health_check('cn_resident_id', '11010519491231002X', '张三', NULL)$$,
    'P0002', 'no person matches cn_resident_id "1101**********002X" with the name and phone given', 'no phone, no match');
-- a member registered by proxy has no phone: the guardian's matches
SELECT healthpass.add_family_member(:p, 'passport', 'E12345678', 'Mary Anne SMITH', 'other', '1950-02-03',
                                    nationality => 'GBR') AS member \gset
SELECT is((SELECT name_masked FROM healthpass.manual_health_check('passport', 'e1234 5678', 'mary anne smith', '13800138000')),
          'M*** A*** S****', 'a member by proxy matches on the guardian''s phone; Latin names ignore case and spacing');
SELECT is((SELECT latest_result FROM healthpass.manual_health_check('passport', 'E12345678', 'MaryAnne Smith', '13800138000')),
          NULL, 'the latest test is given (none here)');
SELECT throws_ok($$SELECT * FROM healthpass.manual_health_check('passport', 'E12345678', 'Mary Anne Smith', '13700137000')$$,
    'P0002', 'no person matches passport "E1*****78" with the name and phone given', 'another phone does not match a member');

-- the e-pass page's health section
SELECT is((SELECT (s->>'available') || ':' || (s->>'colour') || ':' || (s->'reasons'->>0) || ':' || left(s->>'code', 4)
             FROM healthpass_internal.epass_health_section(:p) s),
          'true:red:close contact of a case:HP1:', 'the e-pass page shows the live colour and a fresh code');
SELECT is((SELECT (healthpass.verify_health_code(healthpass_internal.epass_health_section(:p)->>'code')).valid), true,
          'the page''s code verifies');

-- real-name rejected people get no code
SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明') AS r \gset
SELECT healthpass.record_realname_result(:r, (healthpass.person_info(:r)->>'version')::integer, 'rejected', 'name does not match the card');
SELECT throws_ok(format($$SELECT * FROM healthpass.health_code(%s)$$, :r),
    '55000', format('real-name verification of person %s was rejected', :r), 'no health code when real-name was rejected');
SELECT throws_ok(format($$SELECT * FROM healthpass.health_code_png(%s)$$, :r),
    '55000', format('real-name verification of person %s was rejected', :r), 'no QR image either');
SELECT is((SELECT (s->>'available') || ':' || (s->>'message') FROM healthpass_internal.epass_health_section(:r) s),
          'false:real-name verification was rejected: edit your information to get a health code',
          'the e-pass page says why');
SELECT is((SELECT colour::text FROM healthpass.health_status(:r)), 'light_green', 'the colour itself is still known');
SELECT throws_ok($$SELECT * FROM healthpass.health_code(999999)$$, 'P0002', 'person 999999 does not exist', 'unknown person');

-- privileges
SET ROLE healthpass_scanner;
SELECT is((SELECT valid FROM healthpass.verify_health_code(:'c_token')), true, 'scanners verify codes');
SELECT throws_ok(format($$SELECT * FROM healthpass.health_code(%s)$$, :p),
    '42501', 'permission denied for function health_code', 'scanners do not issue codes');
RESET ROLE;
SET ROLE healthpass_app;
SELECT is((SELECT colour::text FROM healthpass.health_code(:p)), 'red', 'the app issues codes');
RESET ROLE;

SELECT * FROM finish();
