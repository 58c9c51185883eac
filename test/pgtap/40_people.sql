-- people: registration, look-ups, edits with history, real-name status,
-- personal codes and privileges
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(78);
-- A table is read in a statement of its own (\gset), then compared: on Citus a
-- statement reading one shard runs whole on a worker, where this session's
-- pgTAP plan does not exist.

-- registration -------------------------------------------------------------
SELECT healthpass.register_person('cn_resident_id', '440104199003071239', ' 王  小明 ',
                                  phone => '138 0013 8000') AS p1 \gset
SELECT ok(:p1 > 0, 'register_person returns a person_id');
SELECT is(healthpass.person_info(:p1)->>'birth_date', '1990-03-07', 'birth date comes from the resident ID number');
SELECT is(healthpass.person_info(:p1)->>'sex', 'male', 'sex comes from the resident ID number');
SELECT is(healthpass.person_info(:p1)->>'name', '王 小明', 'name is trimmed and spaces collapsed');
SELECT is(healthpass.person_info(:p1)->>'phone', '13800138000', 'phone separators are removed');
SELECT is(healthpass.person_info(:p1)->>'realname_status', 'pending', 'a new person is pending real-name verification');
SELECT is(healthpass.person_info(:p1)->>'doc_masked', '4401**********1239', 'masked document number');
SELECT ok((healthpass.person_info(:p1)->>'ref') ~ '^[0-9a-f-]{36}$', 'the public reference is a uuid');
SELECT isnt(healthpass.person_info(:p1)->>'ref', '440104199003071239', 'the reference is not the ID number');

SELECT lives_ok($$SELECT healthpass.register_person('cn_resident_id', '440104199003071247', '李红',
                  birth_date => '1990-03-07', sex => 'FEMALE')$$,
                'a birth date and sex that agree with the card are accepted');
SELECT healthpass.register_person('hkid', 'A123456(3)', 'CHAN Tai Man', '1980-05-01', 'male', 'hkg') AS p_hk \gset
SELECT is(healthpass.person_info(:p_hk)->>'nationality', 'HKG', 'nationality is upper-cased');
SELECT healthpass.register_person('passport', 'ｇｂ 1234-5678', 'John Smith', '1975-01-02', nationality => 'GBR') AS p_gb \gset
SELECT is(healthpass.person_info(:p_gb)->>'doc_number', 'GB12345678', 'foreign passport numbers are normalised');
SELECT is(healthpass.person_info(:p_gb)->>'doc_masked', 'GB******78', 'foreign passport numbers are masked');

SELECT throws_ok($$SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明')$$,
    '23505', 'document cn_resident_id "4401**********1239" is already registered', 'a document registers once');
SELECT throws_ok($$SELECT healthpass.register_person('uscc', '91350100M000100Y43', 'ACME')$$,
    '22023', 'document kind "uscc" does not identify a person', 'organisation codes are not personal documents');
SELECT throws_ok($$SELECT healthpass.register_person('cn_resident_id', '440104199003071230', '王小明')$$,
    '22P02', NULL, 'a bad check character is refused by normalize_document');
SELECT throws_ok($$SELECT healthpass.register_person('cn_resident_id', NULL, '王小明')$$,
    '22004', 'document number is missing for kind "cn_resident_id"', 'a document number is required');
SELECT throws_ok($$SELECT healthpass.register_person('passport', 'AB#1', 'X', '1990-01-01', nationality => 'USA')$$,
    '22P02', 'invalid passport number: "****"', 'bad passport numbers are refused');
SELECT throws_ok($$SELECT healthpass.register_person('cn_resident_id', '440606198506153311', '   ')$$,
    '22023', 'name "   " is empty', 'a blank name is refused');
SELECT throws_ok($$SELECT healthpass.register_person('cn_resident_id', '440606198506153311', repeat('x', 101))$$,
    '22023', format('name "%s…" is 101 characters long', repeat('x', 40)), 'an overlong name is refused');
SELECT throws_ok($$SELECT healthpass.register_person('cn_resident_id', '440606198506153311', '赵六', birth_date => '1985-06-16')$$,
    '23514', 'birth date 1985-06-16 does not match resident identity card "4406**********3311"',
    'a birth date contradicting the card is refused');
SELECT throws_ok($$SELECT healthpass.register_person('cn_resident_id', '440606198506153311', '赵六', sex => 'female')$$,
    '23514', 'sex "female" does not match resident identity card "4406**********3311"',
    'a sex contradicting the card is refused');
SELECT throws_ok($$SELECT healthpass.register_person('cn_resident_id', '440606198506153311', '赵六', sex => 'x')$$,
    '22023', 'sex "x" is not valid', 'sex is male or female');
SELECT throws_ok($$SELECT healthpass.register_person('cn_passport', 'E12345678', '赵六')$$,
    '22023', 'birth date is missing for document kind "cn_passport"', 'other documents need a birth date');
SELECT throws_ok($$SELECT healthpass.register_person('cn_passport', 'E12345678', '赵六', '1899-12-31')$$,
    '22008', 'birth date 1899-12-31 is out of range', 'birth dates before 1900 are refused');
SELECT throws_ok($$SELECT healthpass.register_person('cn_passport', 'E12345678', '赵六', current_date + 1)$$,
    '22008', format('birth date %s is out of range', current_date + 1), 'birth dates in the future are refused');
SELECT throws_ok($$SELECT healthpass.register_person('cn_passport', 'E12345678', '赵六', '1980-01-01', nationality => 'China')$$,
    '22023', 'nationality "China" is not valid', 'nationality is an alpha-3 code');
SELECT throws_ok($$SELECT healthpass.register_person('passport', 'X1234567', 'Anna', '1980-01-01')$$,
    '22023', 'nationality is missing for passport "X1****67"', 'a foreign passport needs a nationality');
SELECT throws_ok($$SELECT healthpass.register_person('cn_passport', 'E12345678', '赵六', '1980-01-01', phone => '12a45')$$,
    '22023', 'phone number "12a45" is not valid', 'bad phone numbers are refused');

-- look-ups -------------------------------------------------------------------
SELECT is(healthpass.find_person('cn_resident_id', '440104 19900307 1239'), :p1::bigint,
          'find_person normalises the number before looking it up');
SELECT is(healthpass.find_person('passport', 'gb12345678'), :p_gb::bigint, 'find_person finds a foreign passport');
SELECT throws_ok($$SELECT healthpass.find_person('cn_resident_id', '440606198506153311')$$,
    'P0002', 'no person has document cn_resident_id "4406**********3311"', 'unknown documents are not found');
SELECT is(healthpass.person_by_ref((healthpass.person_info(:p1)->>'ref')::uuid), :p1::bigint, 'person_by_ref finds the person');
SELECT throws_ok($$SELECT healthpass.person_by_ref('00000000-0000-0000-0000-000000000000')$$,
    'P0002', 'no person has reference "00000000-0000-0000-0000-000000000000"', 'unknown references are not found');
SELECT throws_ok($$SELECT healthpass.person_info(999999)$$, 'P0002', 'person 999999 does not exist', 'unknown person ids');

-- real-name verification ------------------------------------------------------
SELECT ok(EXISTS (SELECT 1 FROM healthpass.realname_queue() q WHERE q.person_id = :p1 AND q.version = 1),
          'a new person is in the real-name queue with its version');
SELECT throws_ok($$SELECT healthpass.realname_queue(0)$$, '22023', 'max_rows 0 is out of range', 'queue size is checked');
SELECT throws_ok(format($$SELECT healthpass.record_realname_result(%s, 1, 'maybe')$$, :p1),
    '22023', 'real-name result "maybe" is not valid', 'results are approved or rejected');
SELECT throws_ok(format($$SELECT healthpass.record_realname_result(%s, 1, 'rejected')$$, :p1),
    '22023', format('a rejection of person %s needs a reason', :p1), 'a rejection needs a reason');
SELECT throws_ok(format($$SELECT healthpass.record_realname_result(%s, NULL, 'approved')$$, :p1),
    '22004', format('real-name result for person %s names no checked version', :p1), 'the checked version is required');
SELECT throws_ok(format($$SELECT healthpass.record_realname_result(%s, 'approved')$$, :p1),
    '42883', NULL, 'a call without the checked version finds no function');
SELECT throws_ok(format($$SELECT healthpass.record_realname_result(%s, 7, 'approved')$$, :p1),
    '55000', format('real-name result for version 7 of person %s is stale', :p1), 'results for an old version are refused');
SELECT is(healthpass.record_realname_result(:p1, 1, 'rejected', 'name does not match the ID number'), 'rejected',
          'a rejection is recorded');
SELECT throws_ok(format($$SELECT healthpass.record_realname_result(%s, 1, 'approved')$$, :p1),
    '55000', format('real-name status of person %s is "rejected", not pending', :p1), 'only pending people get results');
SELECT throws_ok(format($$SELECT healthpass.personal_code(%s)$$, :p1),
    '55000', format('real-name verification of person %s was rejected', :p1), 'a rejected person gets no personal code');
SELECT ok(NOT EXISTS (SELECT 1 FROM healthpass.realname_queue() q WHERE q.person_id = :p1), 'a rejected person leaves the queue');

-- editing keeps history; identity edits make the person pending again ----------
SELECT is(healthpass.edit_person(:p1, '{"phone": "+852 9123 4567"}'), 3, 'a contact edit gives a new version');
SELECT is(healthpass.person_info(:p1)->>'realname_status', 'rejected', 'a contact edit does not change the real-name status');
SELECT is(healthpass.edit_person(:p1, '{"name": "王晓明"}'), 4, 'a name edit gives a new version');
SELECT is(healthpass.person_info(:p1)->>'realname_status', 'pending', 'an identity edit puts the person back to pending');
SELECT ok(healthpass.personal_code(:p1) LIKE 'HP1:%', 'a pending person gets a personal code again');
SELECT is(healthpass.record_realname_result(:p1, 4, 'approved'), 'approved', 'approval is recorded');
SELECT is((SELECT array_agg(h.data->>'name' ORDER BY h.version) FROM healthpass.person_history(:p1) h),
          ARRAY['王 小明', '王 小明', '王 小明', '王晓明', '王晓明'], 'every version is kept, oldest first');
SELECT is((SELECT count(*) FROM healthpass.person_history(:p1) h WHERE h.valid_to IS NULL), 1::bigint,
          'only the current version is open-ended');
SELECT is((SELECT h.data->>'realname_status' FROM healthpass.person_history(:p1) h WHERE h.version = 2),
          'rejected', 'history shows the rejection');

SELECT lives_ok(format($$SELECT healthpass.edit_person(%s, '{"doc_number": "440104199511118937"}')$$, :p1),
          'the document number can be corrected');
SELECT is(healthpass.person_info(:p1)->>'birth_date', '1995-11-11', 'the birth date follows the corrected number');
SELECT is(healthpass.find_person('cn_resident_id', '440104199511118937'), :p1::bigint, 'the new number finds the person');
SELECT throws_ok($$SELECT healthpass.find_person('cn_resident_id', '440104199003071239')$$,
    'P0002', 'no person has document cn_resident_id "4401**********1239"', 'the old number is released');
SELECT throws_ok(format($$SELECT healthpass.edit_person(%s, '{"doc_number": "440104199003071247"}')$$, :p1),
    '23505', 'document cn_resident_id "4401**********1247" is already registered', 'cannot take another person''s document');
SELECT throws_ok(format($$SELECT healthpass.edit_person(%s, '{"email": "x@y"}')$$, :p1),
    '22023', 'unknown person field "email"', 'unknown fields are refused');
-- names: one check for every name a function takes (issue 9, item 7)
SELECT throws_ok(format($$SELECT healthpass.edit_person(%s, '{"name": {"a": 1}}')$$, :p1),
    '22023', 'person field "name" must be a string, not {"a": 1}', 'a name is a string, not an object');
SELECT throws_ok(format($$SELECT healthpass.edit_person(%s, '{"name": ["王"]}')$$, :p1),
    '22023', 'person field "name" must be a string, not ["王"]', 'nor an array');
SELECT throws_ok(format($$SELECT healthpass.edit_person(%s, '{"name": true}')$$, :p1),
    '22023', 'person field "name" must be a string, not true', 'nor a boolean');
SELECT throws_ok(format($$SELECT healthpass.edit_person(%s, '{"phone": 13800138000}')$$, :p1),
    '22023', 'person field "phone" must be a string, not 13800138000', 'every field is a string');
SELECT throws_ok(format($$SELECT healthpass.edit_person(%s, jsonb_build_object('name', E'\u202eAlice\nBob'))$$, :p1),
    '22023', 'name "?Alice?Bob" is not valid', 'bidi overrides and line breaks in a name are refused');
SELECT throws_ok($$SELECT healthpass.register_person('cn_resident_id', '440606198506153311', E'Ali\tce')$$,
    '22023', 'name "Ali?ce" is not valid', 'a tab in a name is refused, not turned into a space');
SELECT throws_ok($$SELECT healthpass.register_person('cn_resident_id', '440606198506153311', E'Ali\x01ce')$$,
    '22023', 'name "Ali?ce" is not valid', 'control characters in a name are refused');
SELECT throws_ok($$SELECT healthpass.register_person('cn_resident_id', '440606198506153311', '12345')$$,
    '22023', 'name "12345" is not valid', 'a name of digits is refused');
SELECT throws_ok($$SELECT healthpass.register_person('cn_resident_id', '440606198506153311', '王5')$$,
    '22023', 'name "王5" is not valid', 'digits in a name are refused');
SELECT throws_ok($$SELECT healthpass.register_person('cn_resident_id', '440606198506153311', '<b>王</b>')$$,
    '22023', 'name "<b>王</b>" is not valid', 'markup in a name is refused');
SELECT throws_ok($$SELECT healthpass.register_person('cn_resident_id', '440606198506153311', '- ''')$$,
    '22023', 'name "- ''" is not valid', 'a name needs a letter');
SELECT healthpass.register_person('passport', 'E98765432', E'Zoe\u0308 O''Brien-Chan', '1980-05-01', nationality => 'GBR') AS zoe \gset
SELECT quote_nullable((SELECT name FROM healthpass.person WHERE person_id = :zoe)) AS got \gset
SELECT is(:got::text,
    E'Zo\u00eb O''Brien-Chan', 'names are stored in NFC; apostrophes and hyphens are kept');
SELECT healthpass.register_person('cn_resident_id', '440104198808081237', '阿卜杜·热合曼') AS dot \gset
SELECT quote_nullable((SELECT name FROM healthpass.person WHERE person_id = :dot)) AS got \gset
SELECT is(:got::text, '阿卜杜·热合曼', 'a middle dot is kept');
SELECT throws_ok(format($$SELECT healthpass.edit_person(%s, '[1]')$$, :p1),
    '22023', 'changes "[1]" are not a JSON object', 'changes are an object');
SELECT throws_ok(format($$SELECT healthpass.edit_person(%s, '{"birth_date": "soon"}')$$, :p_hk),
    '22007', 'birth date "soon" is not a date', 'bad dates are refused');

-- privileges -------------------------------------------------------------------
SET ROLE healthpass_app;
SELECT throws_ok('SELECT * FROM healthpass.person', '42501', 'permission denied for table person',
                 'the app role cannot read the person table');
SELECT throws_ok($$SELECT healthpass_internal.hp_insert_person('hkid', 'A1234563', 'x', '1990-01-01', NULL, NULL, NULL, NULL)$$,
                 '42501', 'permission denied for schema healthpass_internal', 'internal functions are out of reach: no purpose role may use their schema');
RESET ROLE;

SELECT * FROM finish();
