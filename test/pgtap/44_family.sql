-- family members registered by proxy (seed 004)
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(27);

SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明', phone => '13800138000') AS g \gset
SELECT healthpass.register_person('cn_resident_id', '440104199003071247', '李红') AS other \gset

SELECT healthpass.add_family_member(:g, 'cn_resident_id', '440606195508084416', '王大爷', 'Parent') AS m1 \gset
SELECT healthpass.add_family_member(:g, 'cn_resident_id', '440606201505056637', '王小宝', 'child', phone => '13700137000') AS m2 \gset

SELECT is((SELECT string_agg(name || ':' || relation || ':' || doc_masked, ',' ORDER BY added_at, member_id)
             FROM healthpass.family_members(:g)),
          '王大爷:parent:4406**********4416,王小宝:child:4406**********6637', 'the guardian lists the members in order');
SELECT is(healthpass.person_info(:m1)->>'guardian_id', :g::text, 'a member is a full person marked with the guardian');
SELECT is(healthpass.person_info(:m1)->>'phone', '13800138000', 'without a phone of their own, the guardian''s is used');
SELECT is(healthpass.person_info(:m2)->>'phone', '13700137000', 'a member''s own phone is kept');
SELECT is(healthpass.person_info(:m1)->>'realname_status', 'pending', 'members go through real-name verification too');
SELECT is(healthpass.find_person('cn_resident_id', '440606195508084416'), :m1::bigint, 'members are found by document');

-- refusals
SELECT throws_ok(format($$SELECT healthpass.add_family_member(%s, 'cn_resident_id', '440606195802025521', '王奶奶', 'aunt')$$, :g),
    '22023', 'relation "aunt" is not valid', 'known relations only');
SELECT throws_ok(format($$SELECT healthpass.add_family_member(%s, 'cn_resident_id', '440104199003071247', '李红', 'spouse')$$, :g),
    '23505', 'document cn_resident_id "4401**********1247" is already registered', 'a registered person cannot be added');
SELECT throws_ok(format($$SELECT healthpass.add_family_member(%s, 'cn_resident_id', '440606195802025521', '王奶奶', 'parent')$$, :m1),
    '23514', format('person %s was registered by proxy and cannot register family members', :m1), 'members do not register others');
SELECT throws_ok($$SELECT healthpass.add_family_member(999999, 'cn_resident_id', '440606195802025521', '王奶奶', 'parent')$$,
    'P0002', 'person 999999 does not exist', 'unknown guardian');
SELECT throws_ok(format($$SELECT healthpass.edit_family_member(%s, %s, '{"name": "王老爷"}')$$, :other, :m1),
    '42501', format('person %s is not a family member of person %s', :m1, :other), 'only the guardian edits a member');
SELECT throws_ok(format($$SELECT healthpass.family_member_code(%s, %s)$$, :other, :m1),
    '42501', format('person %s is not a family member of person %s', :m1, :other), 'only the guardian gets a member''s code');

-- edits
SELECT is(healthpass.edit_family_member(:g, :m1, '{"name": "王 大爷", "relation": "grandparent"}'), 2, 'the guardian edits a member');
SELECT is((SELECT name || ':' || relation FROM healthpass.family_members(:g) WHERE member_id = :m1), '王 大爷:grandparent',
          'name and relation are changed');
SELECT throws_ok(format($$SELECT healthpass.edit_family_member(%s, %s, '{"relation": "pet"}')$$, :g, :m1),
    '22023', 'relation "pet" is not valid', 'edited relations are checked');
SELECT throws_ok(format($$SELECT healthpass.edit_family_member(%s, %s, '{"hobby": "tea"}')$$, :g, :m1),
    '22023', 'unknown person field "hobby"', 'edited fields are checked');
SELECT is((SELECT count(*) FROM healthpass.person_history(:m1)), 2::bigint, 'member edits keep history');
SELECT is((SELECT string_agg(version || ':' || relation, ',' ORDER BY version) FROM healthpass.family_member_history(:g, :m1)),
          '1:parent,2:grandparent', 'relation edits keep history');
SELECT throws_ok(format($$SELECT * FROM healthpass.family_member_history(%s, %s)$$, :other, :m1),
    '42501', format('person %s is not a family member of person %s', :m1, :other), 'only the guardian sees the history');

-- printable codes
SELECT healthpass.family_member_code(:g, :m2) AS code \gset
SELECT is((SELECT kind || ' ' || (body->>'ref') || ' ' || (body->>'id') FROM healthpass.verify_token(:'code')),
          'personal ' || (healthpass.person_info(:m2)->>'ref') || ' 4406**********6637',
          'a member''s personal code carries the reference and the masked ID');
SELECT is(substr(healthpass.family_member_qr_png(:g, :m2), 1, 8), '\x89504e470d0a1a0a'::bytea,
          'the printable code is a PNG image');
SELECT throws_ok(format($$SELECT healthpass.family_member_code(%s, %s, '0 days')$$, :g, :m2),
    '22023', 'validity 00:00:00 is out of range', 'validity is checked');
SELECT healthpass.record_realname_result(:m2, (healthpass.person_info(:m2)->>'version')::integer, 'rejected', 'name does not match') AS r \gset
SELECT throws_ok(format($$SELECT healthpass.family_member_qr_png(%s, %s)$$, :g, :m2),
    '55000', format('real-name verification of person %s was rejected', :m2), 'a rejected member gets no printable code');
SELECT lives_ok(format($$SELECT healthpass.edit_family_member(%s, %s, '{"name": "王小保"}')$$, :g, :m2),
    'the guardian corrects the name');
SELECT ok(healthpass.family_member_code(:g, :m2) LIKE 'HP1:%', 'after the correction the code is available again');

-- the limit
SELECT is((SELECT count(healthpass.add_family_member(:g, 'passport', 'P00000' || i, 'Member ' || chr(64 + i), 'other', '2000-01-01',
                                                     nationality => 'GBR'))
             FROM generate_series(3, 10) i), 8::bigint, 'a guardian registers up to 10 members');
SELECT throws_ok(format($$SELECT healthpass.add_family_member(%s, 'passport', 'P0000011', 'Member K', 'other', '2000-01-01', nationality => 'GBR')$$, :g),
    '54000', format('person %s already has 10 family members', :g), 'the eleventh is refused');

SELECT * FROM finish();
