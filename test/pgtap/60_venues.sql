-- venues, the venue code and its poster, staff (issue 11 items 1-3 and
-- their bad input from item 8; seed 004 一.1-3)
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(126);

SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明', phone => '13800138000') AS m \gset
SELECT healthpass.register_person('cn_resident_id', '440104199003071247', '李红') AS s \gset
SELECT healthpass.register_person('hkid', 'A123456(3)', 'CHAN Tai Man', birth_date => '1980-05-01', nationality => 'HKG') AS s2 \gset
SELECT healthpass.register_person('cn_resident_id', '440106198506125313', '周建国') AS o \gset
SELECT '\xffd8ffe000104a46494600'::bytea AS jpeg, '\x89504e470d0a1a0a0000000d49484452'::bytea AS png \gset

-- registering (一.1) -----------------------------------------------------------
SELECT healthpass.register_venue(:m, 'uscc', '91350100-M000100Y4-3', '老王烧烤  (东门店)', ' 太平镇 ', '幸福路 1 号',
                                 '0537-123 4567', :'jpeg') AS v \gset
SELECT ok(:v > 0, 'a registered person registers a venue under a unified social credit code');
SELECT is((SELECT id_kind || ' ' || id_masked || ' | ' || name || ' | ' || street || ' | ' || phone || ' | ' || image_type
                  || ' | ' || status || ' | ' || role || ' | ' || version
             FROM healthpass.venue_details(:m, :v)),
          'uscc 9135**********0Y43 | 老王烧烤 (东门店) | 太平镇 | 05371234567 | image/jpeg | active | manager | 1',
          'the identifier is normalised and masked; runs of spaces are one; the phone is normalised');
SELECT is((SELECT id_number FROM healthpass.venue WHERE venue_id = :v), '91350100M000100Y43', 'the identifier is stored normalised');
SELECT healthpass.register_venue(:m, 'uscc', '91350100M000100Y43', '老王烧烤 (西门店)', '太平镇', '幸福路 9 号',
                                 '0537-1234567', :'jpeg', 48) AS v_west \gset
SELECT ok(:v_west > :v, 'an organisation runs several venues under different names');
SELECT is((SELECT negative_test_hours FROM healthpass.venue_details(:m, :v_west)), 48, 'a venue may ask for a negative test within N hours');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'uscc', '91350100M000100Y43', '老王烧烤 (东门店)', '太平镇', '幸福路 1 号', '0537-1234567', '\xffd8ff')$$, :m),
    '23505', 'venue "老王烧烤 (东门店)" of uscc "9135**********0Y43" is already registered', 'one venue per identifier and name');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'uscc', '91350100M000100Y43', E'老王烧烤\u3000(东门店)', '太平镇', '幸福路 1 号', '0537-1234567', '\xffd8ff')$$, :o),
    '23505', NULL, 'another spelling of the same name is the same name, whoever registers it');
SELECT ok(healthpass.register_venue(:m, 'org_code', 'd2143569x', '太平镇卫生院', '太平镇', '卫生路 3 号', '0537-7654321', :'jpeg') > 0,
          'an organisation code identifies a venue');
SELECT healthpass.register_venue(:m, 'plate', '粵b·D12345', '流动早餐车', '太平镇', '集市', '13800138000', :'png') AS v_car \gset
SELECT is((SELECT id_masked || ' ' || image_type FROM healthpass.venue_details(:m, :v_car)), '粤B****45 image/png',
          'a vehicle is registered by its plate, with a PNG photo');
SELECT healthpass.register_venue(:m, 'cn_resident_id', '44010419900307123 9', '王记小卖部', '太平镇', '幸福路 2 号', '13800138000', :'jpeg') AS v_own \gset
SELECT is((SELECT id_masked FROM healthpass.venue_details(:m, :v_own)), '4401**********1239',
          'without an organisation code, the manager''s own resident ID number');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'cn_resident_id', '440104199003071247', '李记小卖部', '太平镇', '幸福路 4 号', '13800138000', '\xffd8ff')$$, :m),
    '23514', 'resident ID number "4401**********1247" is not the manager''s own', 'not someone else''s resident ID number');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'hkid', 'A123456(3)', 'Tai Man Store', 'Central', '1 Queen''s Road', '85212345678', '\xffd8ff')$$, :s2),
    '22023', 'venue identifier kind "hkid" is not valid', 'other personal documents do not identify a venue');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'uscc', '440105199308151058', 'X', '太平镇', '幸福路', '13800138000', '\xffd8ff')$$, :m),
    '22P02', 'invalid uscc number: "4401**********1058"', 'a bad identifier is refused and quoted masked');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'plate', NULL, 'X', '太平镇', '幸福路', '13800138000', '\xffd8ff')$$, :m),
    '22023', 'venue identifier is missing for kind "plate"', 'the identifier is required');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, NULL, 'x', 'X', '太平镇', '幸福路', '13800138000', '\xffd8ff')$$, :m),
    '22023', 'venue identifier kind "NULL" is not valid', 'the identifier kind is required');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'org_code', 'D2143569-X', ' ', '太平镇', '幸福路', '13800138000', '\xffd8ff')$$, :m),
    '22023', 'venue name is missing', 'the name is required');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'org_code', 'D2143569-X', E'Cafe\nBar', '太平镇', '幸福路', '13800138000', '\xffd8ff')$$, :m),
    '22023', 'venue name "Cafe?Bar" holds a control character', 'no control characters in a name');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'org_code', 'D2143569-X', repeat('店', 101), '太平镇', '幸福路', '13800138000', '\xffd8ff')$$, :m),
    '54000', NULL, 'a name has at most 100 characters');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'org_code', 'D2143569-X', 'X', NULL, '幸福路', '13800138000', '\xffd8ff')$$, :m),
    '22023', 'street is missing', 'the street is required');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'org_code', 'D2143569-X', 'X', '太平镇', repeat('路', 301), '13800138000', '\xffd8ff')$$, :m),
    '54000', NULL, 'an address has at most 300 characters');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'org_code', 'D2143569-X', 'X', '太平镇', '幸福路', '11010519491231002X', '\xffd8ff')$$, :m),
    '22023', 'phone number "1101**********002X" is not valid', 'a bad phone is refused, an ID-shaped one quoted masked');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'org_code', 'D2143569-X', 'X', '太平镇', '幸福路', NULL, '\xffd8ff')$$, :m),
    '22023', 'phone is missing', 'the phone is required');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'org_code', 'D2143569-X', 'X', '太平镇', '幸福路', '13800138000', NULL)$$, :m),
    '22023', 'licence image is missing', 'the licence image is required');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'plate', '粤B54321', 'X', '太平镇', '幸福路', '13800138000', '\x474946383961')$$, :m),
    '22023', 'vehicle photo starting with "474946383961" is not a JPEG or PNG image', 'a GIF is refused by its first bytes');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'org_code', 'D2143569-X', 'X', '太平镇', '幸福路', '13800138000', '\x')$$, :m),
    '22023', 'licence image starting with "" is not a JPEG or PNG image', 'an empty image is refused');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'org_code', 'D2143569-X', 'X', '太平镇', '幸福路', '13800138000', '\xffd8ff'::bytea || decode(repeat('00', healthpass.photo_limit()), 'hex'))$$, :m),
    '54000', format('licence image of %s bytes is too large', healthpass.photo_limit() + 3), 'an image has at most photo_limit() bytes');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'org_code', 'D2143569-X', 'X', '太平镇', '幸福路', '13800138000', '\xffd8ff', 0)$$, :m),
    '22023', 'negative test window of 0 hours is out of range', 'a negative-test window is at least an hour');
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'org_code', 'D2143569-X', 'X', '太平镇', '幸福路', '13800138000', '\xffd8ff', 169)$$, :m),
    '22023', 'negative test window of 169 hours is out of range', 'and at most a week');
SELECT throws_ok($$SELECT healthpass.register_venue(999999, 'org_code', 'D2143569-X', 'X', '太平镇', '幸福路', '13800138000', '\xffd8ff')$$,
    'P0002', 'person 999999 does not exist', 'the manager is a registered person');
SELECT throws_ok($$SELECT healthpass.register_venue(NULL, 'org_code', 'D2143569-X', 'X', '太平镇', '幸福路', '13800138000', '\xffd8ff')$$,
    '22004', 'person id is missing', 'a missing manager is 22004');
SELECT healthpass.register_person('cn_resident_id', '440606195508084416', '王大爷') AS rejected \gset
SELECT healthpass.record_realname_result(:rejected, 1, 'rejected', 'the name does not match the ID number') \gset
SELECT throws_ok(format($$SELECT healthpass.register_venue(%s, 'org_code', 'D2143569-X', 'X', '太平镇', '幸福路', '13800138000', '\xffd8ff')$$, :rejected),
    '55000', format('real-name verification of person %s was rejected', :rejected), 'a rejected person registers no venue');
SELECT is((SELECT count(*) FROM healthpass.venue), 5::bigint, 'nothing is half-written by a refusal');

-- my venues, details ------------------------------------------------------------
SELECT is((SELECT string_agg(name || ':' || role || ':' || status, ',' ORDER BY venue_id) FROM healthpass.my_venues(:m)),
          '老王烧烤 (东门店):manager:active,老王烧烤 (西门店):manager:active,太平镇卫生院:manager:active,流动早餐车:manager:active,王记小卖部:manager:active',
          'my venues lists the venues a person manages');
SELECT is((SELECT count(*) FROM healthpass.my_venues(:o)), 0::bigint, 'and none for someone else');
SELECT throws_ok(format($$SELECT * FROM healthpass.venue_details(%s, %s)$$, :o, :v),
    '42501', format('person %s is not staff of venue %s', :o, :v), 'only the manager and staff see a venue');
SELECT throws_ok(format($$SELECT * FROM healthpass.venue_details(%s, 999999)$$, :m),
    'P0002', 'venue 999999 does not exist', 'an unknown venue');
SELECT throws_ok(format($$SELECT * FROM healthpass.venue_details(%s, NULL)$$, :m),
    '22004', 'venue id is missing', 'a missing venue id is 22004');
SELECT throws_ok($$SELECT * FROM healthpass.my_venues(NULL)$$, '22004', 'person id is missing', 'my venues needs a person');

-- staff (一.3) ----------------------------------------------------------------------
SELECT is(healthpass.add_venue_staff(:m, :v, 'cn_resident_id', '440104199003071247', '李 红'), :s::bigint,
          'the manager adds a registered person whose name matches (spacing ignored)');
SELECT is(healthpass.add_venue_staff(:m, :v_west, 'hkid', 'a123456(3)', 'chan tai man'), :s2::bigint,
          'names match ignoring case, documents however typed');
SELECT is(healthpass.add_venue_staff(:m, :v_west, 'cn_resident_id', '440104199003071247', '李红'), :s::bigint,
          'a person serves several venues');
SELECT throws_ok(format($$SELECT healthpass.add_venue_staff(%s, %s, 'cn_resident_id', '440104199003071247', '李白')$$, :m, :v),
    'P0002', 'no registered person matches cn_resident_id "4401**********1247" with the name given', 'a wrong name is refused');
SELECT throws_ok(format($$SELECT healthpass.add_venue_staff(%s, %s, 'cn_resident_id', '440104199003071255', '李红')$$, :m, :v),
    'P0002', 'no registered person matches cn_resident_id "4401**********1255" with the name given',
    'an unregistered person is refused with the same answer (no oracle)');
SELECT throws_ok(format($$SELECT healthpass.add_venue_staff(%s, %s, 'cn_resident_id', '440104199003071247', '李红')$$, :m, :v),
    '23505', format('person %s is staff of venue %s already', :s, :v), 'a person is added once');
SELECT throws_ok(format($$SELECT healthpass.add_venue_staff(%s, %s, 'cn_resident_id', '440104199003071239', '王小明')$$, :m, :v),
    '23514', format('person %s manages venue %s and scans for it already', :m, :v), 'the manager is not added as staff');
SELECT throws_ok(format($$SELECT healthpass.add_venue_staff(%s, %s, 'cn_resident_id', '440106198506125313', '周建国')$$, :s, :v),
    '42501', format('person %s does not manage venue %s', :s, :v), 'staff do not add staff');
SELECT throws_ok(format($$SELECT healthpass.add_venue_staff(%s, %s, 'uscc', '91350100M000100Y43', '周建国')$$, :m, :v),
    '22023', 'document kind "uscc" does not identify a person', 'staff are people');
SELECT throws_ok(format($$SELECT healthpass.add_venue_staff(%s, %s, 'cn_resident_id', '440104199003071247', NULL)$$, :m, :v),
    '22023', 'name is missing', 'the name is required');
SELECT is((SELECT string_agg(staff_id || ':' || name_masked || ':' || id_masked, ',' ORDER BY added_at, staff_id)
             FROM healthpass.venue_staff(:m, :v_west)),
          format('%s:C*** T** M**:A1*****(3),%s:李*:4401**********1247', :s2, :s), 'the manager lists the staff, masked');
SELECT throws_ok(format($$SELECT * FROM healthpass.venue_staff(%s, %s)$$, :s, :v),
    '42501', format('person %s does not manage venue %s', :s, :v), 'staff do not list staff');
SELECT is((SELECT string_agg(venue_id || ':' || role, ',' ORDER BY venue_id) FROM healthpass.my_venues(:s)),
          format('%s:staff,%s:staff', :v, :v_west), 'my venues lists the venues a person scans for');
SELECT is((SELECT role || ' ' || staff_count FROM healthpass.venue_details(:s, :v_west)), 'staff 2', 'staff see the details');
SELECT is(ARRAY[healthpass_internal.hp_is_active_staff(:v, :s), healthpass_internal.hp_is_active_staff(:v, :m),
                healthpass_internal.hp_is_active_staff(:v, :o), healthpass_internal.hp_is_active_staff(:v, :s2),
                healthpass_internal.hp_is_active_staff(NULL, :s)],
          ARRAY[true, true, false, false, false], 'the manager and added staff scan for a venue, nobody else');
SELECT lives_ok(format($$SELECT healthpass.remove_venue_staff(%s, %s, %s)$$, :m, :v_west, :s2), 'the manager removes staff');
SELECT is(healthpass_internal.hp_is_active_staff(:v_west, :s2), false, 'a removed staff member scans no more');
SELECT is((SELECT count(*) FROM healthpass.venue_staff_history WHERE venue_id = :v_west AND person_id = :s2), 1::bigint,
          'a removal is kept');
SELECT throws_ok(format($$SELECT healthpass.remove_venue_staff(%s, %s, %s)$$, :m, :v_west, :s2),
    'P0002', format('person %s is not staff of venue %s', :s2, :v_west), 'removing twice is refused');
SELECT throws_ok(format($$SELECT healthpass.remove_venue_staff(%s, %s, NULL)$$, :m, :v_west),
    '22004', 'staff id is missing', 'a missing staff id is 22004');
SELECT throws_ok(format($$SELECT healthpass.remove_venue_staff(%s, %s, %s)$$, :s, :v_west, :s),
    '42501', format('person %s does not manage venue %s', :s, :v_west), 'staff do not remove staff');

-- the venue code (一.2) ----------------------------------------------------------
SELECT healthpass.venue_code(:m, :v) AS code \gset
SELECT is(healthpass.venue_code(:s, :v), :'code', 'manager and staff get the same code, again and again');
SELECT is((SELECT kind || ' ' || (body->>'venue') || ' ' || (body->>'name') || ' ' || (body->>'street') || ' ' || (body->>'vv')
                  || ' ' || (expires_at - issued_at)
             FROM healthpass.verify_token(:'code')),
          format('venue %s 老王烧烤 (东门店) 太平镇 1 365 days', :v), 'an HP1 code of kind venue, a year long');
SELECT is((SELECT count(*) FROM healthpass.venue_code_issued WHERE venue_id = :v), 1::bigint, 'recorded in the ledger once');
SELECT throws_ok(format($$SELECT healthpass.venue_code(%s, %s)$$, :o, :v),
    '42501', format('person %s is not staff of venue %s', :o, :v), 'others get no venue code');
SELECT is((healthpass_internal.hp_venue_of_token(:'code')).venue_id, :v::bigint, 'a scanned venue code gives the venue');

-- edits keep history; what the poster shows revokes the code
SELECT is(healthpass.edit_venue(:m, :v, '{"phone": "0537 7654321", "negative_test_hours": 24}'), 2, 'the manager edits a venue');
SELECT is((SELECT phone || ' ' || negative_test_hours FROM healthpass.venue_details(:m, :v)), '05377654321 24', 'the fields are changed');
SELECT is((SELECT coalesce(reason, 'valid') FROM healthpass.verify_token(:'code')), 'valid', 'a phone change leaves the poster valid');
SELECT is(healthpass.venue_code(:m, :v), :'code', 'and the code the same');
SELECT is(healthpass.edit_venue(:m, :v, '{"name": "老王烧烤（东门店）"}'), 3, 'a name change');
SELECT is((SELECT reason FROM healthpass.verify_token(:'code')), 'revoked', 'revokes the printed code');
SELECT throws_ok(format($$SELECT healthpass_internal.hp_venue_of_token(%L)$$, :'code'),
    '22023', 'venue code is not valid: revoked', 'a revoked venue code is refused by name');
SELECT healthpass.venue_code(:m, :v) AS code2 \gset
SELECT is((SELECT (body->>'name') || ' ' || (body->>'vv') FROM healthpass.verify_token(:'code2')), '老王烧烤（东门店） 3',
          'the next call issues a new code with the new name and version');
SELECT is(healthpass.edit_venue(:m, :v, '{"negative_test_hours": null}', image => :'png'), 4, 'a new image, and no test asked');
SELECT is((SELECT image_type || ' ' || coalesce(negative_test_hours::text, 'none') FROM healthpass.venue_details(:m, :v)),
          'image/png none', 'the image replaced, the window cleared');
SELECT is((SELECT string_agg(version || ':' || (data->>'name') || ':' || (data ? 'image') || ':' || length(data->>'image_sha256')
                             || ':' || (valid_to IS NULL), ',' ORDER BY version)
             FROM healthpass.venue_history(:m, :v)),
          '1:老王烧烤 (东门店):false:64:false,2:老王烧烤 (东门店):false:64:false,3:老王烧烤（东门店）:false:64:false,4:老王烧烤（东门店）:false:64:true',
          'every version is kept, the image as its digest');
SELECT throws_ok(format($$SELECT healthpass.edit_venue(%s, %s, '{"id_number": "D2143569-X"}')$$, :m, :v),
    '22023', 'unknown venue field "id_number"', 'the identifier is not edited');
SELECT throws_ok(format($$SELECT healthpass.edit_venue(%s, %s, '{"name": 7}')$$, :m, :v),
    '22023', 'venue field "name" must be a string, not 7', 'texts are strings');
SELECT throws_ok(format($$SELECT healthpass.edit_venue(%s, %s, '{"name": null}')$$, :m, :v),
    '22023', 'venue field "name" must be a string, not null', 'the name is not cleared');
SELECT throws_ok(format($$SELECT healthpass.edit_venue(%s, %s, '{"negative_test_hours": "24"}')$$, :m, :v),
    '22023', 'venue field "negative_test_hours" must be a number, not "24"', 'the window is a number');
SELECT throws_ok(format($$SELECT healthpass.edit_venue(%s, %s, '{"negative_test_hours": 1.5}')$$, :m, :v),
    '22023', 'negative test window of 1.5 hours is out of range', 'of whole hours');
SELECT throws_ok(format($$SELECT healthpass.edit_venue(%s, %s, '[]')$$, :m, :v),
    '22023', 'changes "[]" are not a JSON object', 'changes are an object');
SELECT throws_ok(format($$SELECT healthpass.edit_venue(%s, %s, '{"name": "老王烧烤 (西门店)"}')$$, :m, :v),
    '23505', 'venue "老王烧烤 (西门店)" of uscc "9135**********0Y43" is already registered', 'an edit keeps names unique');
SELECT throws_ok(format($$SELECT healthpass.edit_venue(%s, %s, '{"phone": "1"}')$$, :s, :v),
    '42501', format('person %s does not manage venue %s', :s, :v), 'staff do not edit');
SELECT throws_ok(format($$SELECT healthpass.edit_venue(%s, %s, '{}', image => '\x00')$$, :m, :v),
    '22023', 'licence image starting with "00" is not a JPEG or PNG image', 'a new image is checked');
SELECT throws_ok($$SELECT * FROM healthpass.venue_history(NULL, 1)$$, '22004', 'person id is missing', 'history needs a person');

-- expired, revoked, foreign-kind, garbled and empty venue codes (item 8)
-- (the key is made older than the expired code it signs)
UPDATE healthpass.signing_key SET not_before = now() - interval '3 days' WHERE secret_box IS NOT NULL AND status = 'active';
SELECT throws_ok(format($$SELECT healthpass_internal.hp_venue_of_token(healthpass.issue_token_at('venue', '{"venue": %s}', now() - interval '2 days', now() - interval '1 day', '\x00112233445566778899aabbccddeeff'))$$, :v),
    '22023', 'venue code is not valid: expired', 'an expired venue code');
SELECT throws_ok($$SELECT healthpass_internal.hp_venue_of_token('HP1:NOT-A-CODE')$$,
    '22023', 'venue code is not valid: malformed', 'a garbled code');
SELECT throws_ok(format($$SELECT healthpass_internal.hp_venue_of_token(healthpass.personal_code(%s))$$, :m),
    '22023', 'venue code is not valid: wrong_kind', 'a personal code is not a venue code');
SELECT throws_ok($$SELECT healthpass_internal.hp_venue_of_token(healthpass.issue_token('venue', '{"venue": "1"}', '1 day'))$$,
    '22023', 'venue code is not valid: malformed', 'a venue code naming no venue id');
SELECT throws_ok($$SELECT healthpass_internal.hp_venue_of_token(healthpass.issue_token('venue', '{"venue": 999999}', '1 day'))$$,
    'P0002', 'venue 999999 does not exist', 'a venue code of no venue');
SELECT throws_ok($$SELECT healthpass_internal.hp_venue_of_token(NULL)$$,
    '22023', 'venue code is not valid: missing', 'no code');

-- a code that an administrator revoked, or that is about to expire, is replaced
SELECT healthpass.revoke_pass(:'code2', 'poster stolen') \gset
SELECT isnt(healthpass.venue_code(:m, :v), :'code2', 'a revoked code is not handed out again');
UPDATE healthpass.venue_code_issued SET expires_at = now() + interval '10 days' WHERE venue_id = :v;
SELECT healthpass.venue_code(:m, :v) AS code3 \gset
SELECT is((SELECT count(*) FROM healthpass.venue_code_issued WHERE venue_id = :v), 2::bigint,
          'a code with under 30 days left is renewed, the old one still recorded');

-- suspending, reopening, closing --------------------------------------------------
SELECT throws_ok(format($$SELECT healthpass.suspend_venue(%s, %s, 'renovation')$$, :s, :v),
    '42501', format('person %s does not manage venue %s', :s, :v), 'staff do not suspend');
SELECT throws_ok(format($$SELECT healthpass.suspend_venue(%s, %s, NULL)$$, :m, :v),
    '22023', 'reason is missing', 'a suspension needs a reason');
SELECT is(healthpass.suspend_venue(:m, :v, 'renovation'), 'suspended', 'the manager suspends a venue');
SELECT is((SELECT count(*) FROM healthpass.venue_code_issued WHERE venue_id = :v), 0::bigint, 'its codes leave the ledger');
SELECT is((SELECT reason FROM healthpass.verify_token(:'code3')), 'revoked', 'and are revoked');
SELECT throws_ok(format($$SELECT healthpass.venue_code(%s, %s)$$, :m, :v),
    '55000', format('venue %s is suspended', :v), 'a suspended venue has no code');
SELECT throws_ok(format($$SELECT healthpass_internal.hp_venue_of_token(healthpass.issue_token('venue', '{"venue": %s}', '1 day'))$$, :v),
    '55000', format('venue %s is suspended', :v), 'a code of a suspended venue is refused');
SELECT throws_ok(format($$SELECT healthpass.suspend_venue(%s, %s, 'again')$$, :m, :v),
    '55000', format('venue %s is suspended already', :v), 'suspended once');
SELECT is(healthpass.edit_venue(:m, :v, '{"address": "幸福路 3 号"}'), 6, 'a suspended venue is still edited');
SELECT is(healthpass.reopen_venue(:m, :v, 'renovation done'), 'active', 'the manager reopens it');
SELECT isnt(healthpass.venue_code(:m, :v), :'code3', 'with a new code');
SELECT throws_ok(format($$SELECT healthpass.reopen_venue(%s, %s, 'again')$$, :m, :v),
    '55000', format('venue %s is not suspended', :v), 'only a suspended venue is reopened');
SELECT healthpass.venue_code(:m, :v) AS code4 \gset
SELECT is(healthpass.close_venue(:m, :v, 'moved away'), 'closed', 'the manager closes it');
SELECT is((SELECT reason FROM healthpass.verify_token(:'code4')), 'revoked', 'its code is revoked');
SELECT throws_ok(format($$SELECT healthpass.reopen_venue(%s, %s, 'back')$$, :m, :v),
    '55000', format('venue %s is closed', :v), 'closing is final');
SELECT throws_ok(format($$SELECT healthpass.edit_venue(%s, %s, '{"phone": "13800138000"}')$$, :m, :v),
    '55000', format('venue %s is closed', :v), 'a closed venue is not edited');
SELECT throws_ok(format($$SELECT healthpass.add_venue_staff(%s, %s, 'hkid', 'A123456(3)', 'CHAN Tai Man')$$, :m, :v),
    '55000', format('venue %s is closed', :v), 'a closed venue gets no staff');
SELECT is((SELECT string_agg(data->>'status' || '/' || coalesce(data->>'status_reason', '-'), ',' ORDER BY version)
             FROM healthpass.venue_history(:m, :v) WHERE version >= 5),
          'suspended/renovation,suspended/renovation,active/renovation done,closed/moved away', 'status changes are versions too');
SELECT is((SELECT status FROM healthpass.my_venues(:s) WHERE venue_id = :v), 'closed', 'staff see it closed');

-- the poster ----------------------------------------------------------------------
SELECT healthpass.edit_venue(:m, :v_west, '{"name": "Lao Wang''s Grill & <Bar> \"West\""}') \gset
SELECT healthpass.venue_poster_svg(:s, :v_west) AS svg \gset
SELECT ok(xml_is_well_formed_document(:'svg'), 'the poster is a well-formed SVG document');
SELECT ok(strpos(:'svg', '<title>Lao Wang&apos;s Grill &amp; &lt;Bar&gt; &quot;West&quot;</title>') > 0
          AND (SELECT string_agg(m[1], ' ') FROM regexp_matches(:'svg', '<text [^>]*font-weight="bold">([^<]*)</text>', 'g') m)
              = 'Lao Wang&apos;s Grill &amp; &lt;Bar&gt; &quot;West&quot;'
          AND strpos(:'svg', '>太平镇 幸福路 9 号</text>') > 0,
          'with the name and the address under the code, escaped');
SELECT ok(strpos(:'svg', '<path ') > 0 AND strpos(:'svg', 'width="160mm"') > 0, 'and the code drawn, 16 cm wide');
SELECT healthpass.venue_poster_png(:m, :v_west) AS poster \gset
SELECT is(substr(:'poster'::bytea, 1, 8), '\x89504e470d0a1a0a'::bytea, 'the PNG poster is a PNG image');
SELECT ok(position(convert_to('iTXtTitle', 'UTF8') || '\x0000000000'::bytea || convert_to('Lao Wang''s Grill & <Bar> "West"', 'UTF8')
                   IN :'poster'::bytea) > 0
          AND position(convert_to('iTXtDescription', 'UTF8') IN :'poster'::bytea) > 0,
          'with the name and the address as text chunks');
SELECT is(length(healthpass.venue_poster_png(:m, :v_west, 2)) < length(:'poster'::bytea), true, 'a module size may be chosen');
SELECT throws_ok(format($$SELECT healthpass.venue_poster_png(%s, %s, 0)$$, :m, :v_west),
    '22023', 'module size 0 is out of range', 'a module size is checked');
SELECT throws_ok(format($$SELECT healthpass.venue_poster_svg(%s, %s)$$, :o, :v_west),
    '42501', format('person %s is not staff of venue %s', :o, :v_west), 'others print no poster');
SELECT throws_ok(format($$SELECT healthpass.venue_poster_png(%s, %s)$$, :m, :v),
    '55000', format('venue %s is closed', :v), 'a closed venue prints no poster');
SELECT is(healthpass_internal.hp_crc32(convert_to('123456789', 'UTF8')), 3421780262::bigint, 'the PNG CRC-32 is the standard one');

-- roles, and the foreign venue code -----------------------------------------------
SELECT is((SELECT string_agg(f, ',' ORDER BY f) FROM unnest(ARRAY[
              'register_venue(bigint, text, text, text, text, text, text, bytea, integer)', 'my_venues(bigint)',
              'venue_details(bigint, bigint)', 'edit_venue(bigint, bigint, jsonb, bytea)', 'venue_history(bigint, bigint)',
              'suspend_venue(bigint, bigint, text)', 'close_venue(bigint, bigint, text)', 'reopen_venue(bigint, bigint, text)',
              'venue_code(bigint, bigint)', 'venue_poster_svg(bigint, bigint)', 'venue_poster_png(bigint, bigint, integer)',
              'add_venue_staff(bigint, bigint, text, text, text)', 'remove_venue_staff(bigint, bigint, bigint)',
              'venue_staff(bigint, bigint)']) f
            WHERE NOT (has_function_privilege('healthpass_app', 'healthpass.' || f, 'EXECUTE')
                       AND has_function_privilege('healthpass_admin', 'healthpass.' || f, 'EXECUTE'))
               OR has_function_privilege('healthpass_scanner', 'healthpass.' || f, 'EXECUTE')
               OR has_function_privilege('healthpass_report', 'healthpass.' || f, 'EXECUTE')
               OR has_function_privilege('public', 'healthpass.' || f, 'EXECUTE')),
          NULL, 'every venue function is granted to app and admin, and to nobody else');
SET ROLE healthpass_app;
SELECT ok(healthpass.register_venue(:o, 'plate', '粤B54321', '周师傅出租车', '太平镇', '车', '13800138000', :'jpeg') > 0,
          'an app server registers a venue');
SELECT throws_ok($$SELECT * FROM healthpass.venue$$, '42501', NULL, 'but reads no table');
RESET ROLE;
SELECT healthpass.venue_code(:m, :v_west) AS west \gset
-- this server's key looks like an imported one: its codes are another issuer's
UPDATE healthpass.signing_key SET secret_box = NULL WHERE kid = (healthpass.verify_token(:'west')).kid;
SELECT throws_ok(format($$SELECT healthpass_internal.hp_venue_of_token(%L)$$, :'west'),
    '22023', 'venue code is not valid: foreign', 'a venue code of another issuer is refused');

SELECT * FROM finish();
