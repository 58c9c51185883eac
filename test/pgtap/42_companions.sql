-- companions: binding rules, group order and paging
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(58);
-- A table is read in a statement of its own (\gset), then compared: on Citus a
-- statement reading one shard runs whole on a worker, where this session's
-- pgTAP plan does not exist.

SELECT healthpass.publish_notice('registration_notice', 'Notice', 'Read me.') AS nv \gset
-- a person with a complete entry registration
CREATE FUNCTION pg_temp.traveller(number text, name text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE pid bigint := healthpass.register_person('cn_resident_id', number, name);
BEGIN
    PERFORM healthpass.submit_entry(pid, 1, jsonb_build_object(
        'arrival_port', 'Gongbei', 'arrival_date', current_date::text, 'transport_mode', 'on_foot',
        'departure_country', 'MAC', 'departure_city', 'Macau', 'destination_district', 'Chancheng',
        'destination_address', '2 Zumiao Road', 'contact_phone', '13800138000', 'purpose', 'tourism'));
    RETURN pid;
END $$;

SELECT pg_temp.traveller('440104199003071239', '王小明') AS a \gset
SELECT pg_temp.traveller('440104199003071247', '李红') AS b \gset
SELECT pg_temp.traveller('440606201001010029', '王小红') AS c \gset
SELECT pg_temp.traveller('440606198506153311', '赵六') AS d \gset
SELECT healthpass.register_person('cn_resident_id', '440104199511118822', '钱七') AS unreg \gset

-- a group of one ---------------------------------------------------------------
SELECT is((SELECT count(*) FROM healthpass.group_codes(:a)), 1::bigint, 'a registrant alone is a group of one');
SELECT is((SELECT prev_ref IS NULL AND next_ref IS NULL FROM healthpass.group_codes(:a)), true,
          'a group of one has no previous or next page');

-- binding ------------------------------------------------------------------------
SELECT is(healthpass.bind_companion(:a, 'cn_resident_id', '440104199003071247'), 2, 'first companion is page 2');
SELECT is(healthpass.bind_companion(:a, 'cn_resident_id', '4406 0620 1001 0100 29'), 3, 'second companion is page 3');

SELECT is((SELECT array_agg(pos ORDER BY pos) FROM healthpass.group_codes(:a)), ARRAY[1, 2, 3], 'three pages');
SELECT is((SELECT array_agg(name_masked ORDER BY pos) FROM healthpass.group_codes(:a)),
          ARRAY[healthpass.mask_name('王小明'), healthpass.mask_name('李红'), healthpass.mask_name('王小红')],
          'registrant first, then companions in binding order, names masked');
SELECT is((SELECT array_agg(is_registrant ORDER BY pos) FROM healthpass.group_codes(:a)), ARRAY[true, false, false],
          'the registrant is marked');
SELECT ok((SELECT bool_and(g.next_ref = n.person_ref) FROM healthpass.group_codes(:a) g
             JOIN healthpass.group_codes(:a) n ON n.pos = g.pos + 1), 'next points at the following page');
SELECT ok((SELECT bool_and(g.prev_ref = n.person_ref) FROM healthpass.group_codes(:a) g
             JOIN healthpass.group_codes(:a) n ON n.pos = g.pos - 1), 'previous points at the preceding page');
SELECT is((SELECT count(*) FROM healthpass.group_codes(:a) WHERE prev_ref IS NULL OR next_ref IS NULL), 2::bigint,
          'only the first and the last page end the navigation');
SELECT is((SELECT array_agg((SELECT v.body->>'ref' FROM healthpass.verify_token(g.entry_code) v) ORDER BY g.pos)
             FROM healthpass.group_codes(:a) g),
          (SELECT array_agg(g.person_ref::text ORDER BY g.pos) FROM healthpass.group_codes(:a) g),
          'each page carries the entry code of that person');
SELECT is((SELECT array_agg(person_ref ORDER BY pos) FROM healthpass.group_codes(:b)),
          (SELECT array_agg(person_ref ORDER BY pos) FROM healthpass.group_codes(:a)),
          'a companion sees the same group in the same order');

-- refusals -------------------------------------------------------------------------
SELECT throws_ok(format($$SELECT healthpass.bind_companion(%s, 'cn_resident_id', '440104199003071239')$$, :a),
    '23514', format('person %s cannot accompany themselves', :a), 'no binding yourself');
SELECT throws_ok(format($$SELECT healthpass.bind_companion(%s, 'cn_resident_id', '440104199003071247')$$, :a),
    '23505', 'companion cn_resident_id "4401**********1247" is already bound to this group', 'no duplicates');
SELECT throws_ok(format($$SELECT healthpass.bind_companion(%s, 'cn_resident_id', '440104199511118822')$$, :a),
    '55000', 'companion cn_resident_id "4401**********8822" has not completed the entry registration',
    'a companion must be registered');
SELECT throws_ok(format($$SELECT healthpass.bind_companion(%s, 'cn_resident_id', '440104197001010169')$$, :a),
    'P0002', 'no person has document cn_resident_id "4401**********0169"', 'an unknown companion must register first');
SELECT throws_ok(format($$SELECT healthpass.bind_companion(%s, 'cn_resident_id', '440606198506153311')$$, :unreg),
    '55000', format('person %s has no entry registration', :unreg), 'the registrant must be registered');
SELECT throws_ok(format($$SELECT healthpass.bind_companion(%s, 'cn_resident_id', '440104199003071247')$$, :d),
    '23514', 'companion cn_resident_id "4401**********1247" already accompanies another group', 'one group at a time');
SELECT throws_ok(format($$SELECT healthpass.bind_companion(%s, 'cn_resident_id', '440104199003071239')$$, :d),
    '23514', 'companion cn_resident_id "4401**********1239" leads a group of their own', 'a registrant with companions cannot join');
SELECT throws_ok(format($$SELECT healthpass.bind_companion(%s, 'cn_resident_id', '440606198506153311')$$, :b),
    '23514', format('person %s accompanies another group and cannot bind companions', :b), 'companions do not bind');
SELECT throws_ok(format($$SELECT healthpass.bind_companion(%s, 'plate', '粤A12345')$$, :a),
    '22023', 'document kind "plate" does not identify a person', 'only personal documents');
SELECT throws_ok($$SELECT healthpass.bind_companion(999999, 'cn_resident_id', '440606198506153311')$$,
    'P0002', 'person 999999 does not exist', 'unknown registrant');
SELECT throws_ok($$SELECT * FROM healthpass.group_codes(999999)$$, 'P0002', 'person 999999 does not exist', 'unknown person');
SELECT throws_ok(format($$SELECT * FROM healthpass.group_codes(%s)$$, :unreg), 'P0002',
    format('person %s has no entry registration', :unreg), 'no group without a registration');

-- unbinding keeps the others' order --------------------------------------------------
SELECT lives_ok(format($$SELECT healthpass.unbind_companion(%s, 'cn_resident_id', '440104199003071247')$$, :a), 'unbind');
SELECT is((SELECT array_agg(name_masked ORDER BY pos) FROM healthpass.group_codes(:a)),
          ARRAY[healthpass.mask_name('王小明'), healthpass.mask_name('王小红')], 'the group closes up in the same order');
SELECT is((SELECT count(*) FROM healthpass.group_codes(:b)), 1::bigint, 'the unbound companion is on their own again');
SELECT throws_ok(format($$SELECT healthpass.unbind_companion(%s, 'cn_resident_id', '440104199003071247')$$, :a),
    'P0002', format('document cn_resident_id "4401**********1247" is not bound to the group of person %s', :a),
    'only bound companions are unbound');
SELECT is(healthpass.bind_companion(:d, 'cn_resident_id', '440104199003071247'), 2, 'now another registrant can bind them');
SELECT throws_ok(format($$SELECT healthpass.bind_companion(%s, 'cn_resident_id', '440104199003071247')$$, :a),
    '23514', 'companion cn_resident_id "4401**********1247" already accompanies another group', 'the first registrant cannot');

-- a rejected companion shows without a code --------------------------------------------
SELECT healthpass.record_realname_result(:c, (healthpass.person_info(:c)->>'version')::integer, 'rejected', 'photo mismatch') IS NOT NULL AS r \gset
SELECT is((SELECT code_status || ' ' || coalesce(entry_code, '-') FROM healthpass.group_codes(:a) WHERE pos = 2),
          'realname_rejected -', 'a rejected companion keeps their page but gets no code');

-- the group limit ---------------------------------------------------------------------
-- names are letters only (no digits): 同行甲 … 同行壬
SELECT count(pg_temp.traveller(n, '同行' || substr('甲乙丙丁戊己庚辛壬', i, 1))) AS eight FROM (VALUES
    (1, '440606195508084416'), (2, '440606195802025521'), (3, '440606201505056637'),
    (4, '440104200002297717'), (5, '440104199511118937'), (6, '440606198808089044'),
    (7, '440606198808089159'), (8, '440104197001010273'), (9, '440606199202020311')) v(i, n) \gset
SELECT is((SELECT max(healthpass.bind_companion(:a, 'cn_resident_id', n)) FROM (VALUES
    ('440606195508084416'), ('440606195802025521'), ('440606201505056637'), ('440104200002297717'),
    ('440104199511118937'), ('440606198808089044'), ('440606198808089159'), ('440104197001010273')) v(n)), 10,
    'a group grows to 9 companions: 10 pages');
SELECT is(healthpass.companion_limit(), 9, 'the limit is 9 companions');
SELECT throws_ok(format($$SELECT healthpass.bind_companion(%s, 'cn_resident_id', '440606199202020311')$$, :a),
    '54000', format('the group of person %s already has 9 companions', :a), 'a tenth companion is refused');

-- the tables defend themselves: direct INSERTs (as a DBA would write them) ---------
-- state here: a leads c and 8 more (9 companions), d leads b, e and f are free
SELECT healthpass.find_person('cn_resident_id', '440606199202020311') AS e \gset
SELECT pg_temp.traveller('440104198001010120', '孙八') AS f \gset
SELECT throws_ok(format('INSERT INTO healthpass.companion (person_id, companion_id, pos) VALUES (%s, %s, 1)', :e, :e),
    '23514', format('person %s cannot accompany themselves', :e), 'companion: no binding yourself');
SELECT throws_ok(format('INSERT INTO healthpass.companion_of (person_id, registrant_id) VALUES (%s, %s)', :e, :e),
    '23514', format('person %s cannot accompany themselves', :e), 'companion_of: no accompanying yourself');
SELECT throws_ok(format('INSERT INTO healthpass.companion (person_id, companion_id) VALUES (%s, %s)', :b, :e),
    '23514', format('person %s accompanies another group and cannot bind companions', :b), 'companion: a companion does not bind (no nesting)');
SELECT throws_ok(format('INSERT INTO healthpass.companion_of (person_id, registrant_id) VALUES (%s, %s)', :a, :d),
    '23514', format('person %s leads a group of their own', :a), 'companion_of: a registrant with companions does not join (no nesting)');
SELECT throws_ok(format('INSERT INTO healthpass.companion_of (person_id, registrant_id) VALUES (%s, %s)', :b, :e),
    '23514', format('person %s already accompanies the group of person %s', :b, :d), 'companion_of: one group at a time');
SELECT throws_ok(format('INSERT INTO healthpass.companion_of (person_id, registrant_id) VALUES (%s, %s)', :b, :d),
    '23505', format('person %s is already bound to the group of person %s', :b, :d), 'companion_of: bound once');
SELECT throws_ok(format('INSERT INTO healthpass.companion (person_id, companion_id) VALUES (%s, %s)', :d, :b),
    '23505', format('person %s is already bound to the group of person %s', :b, :d), 'companion: bound once');
SELECT throws_ok(format('INSERT INTO healthpass.companion (person_id, companion_id) VALUES (%s, %s)', :a, :e),
    '54000', format('the group of person %s already has 9 companions', :a), 'companion: the limit holds for direct inserts');
SELECT throws_ok(format('INSERT INTO healthpass.companion (person_id, companion_id, pos) VALUES (%s, %s, 1)', :d, :e),
    '23505', format('position 1 in the group of person %s is taken', :d), 'companion: positions are unique in a group');
SELECT throws_ok(format('INSERT INTO healthpass.companion (person_id, companion_id, pos) VALUES (%s, %s, 0)', :d, :e),
    '23514', NULL, 'companion: positions are positive');
SELECT throws_ok(format('UPDATE healthpass.companion SET companion_id = %s WHERE person_id = %s', :e, :d),
    '55000', format('the companion binding of person %s to the group of person %s cannot be moved', :b, :d),
    'companion: a binding is not moved to another companion');
SELECT throws_ok(format('UPDATE healthpass.companion_of SET registrant_id = %s WHERE person_id = %s', :a, :b),
    '55000', format('the companion binding of person %s to the group of person %s cannot be moved', :b, :d),
    'companion_of: a binding is not moved to another group');
SELECT count(*)::integer AS n FROM healthpass.companion WHERE person_id = :d \gset
SELECT is(:n::integer, 1, 'the refused inserts left the group as it was');

-- what bind_companion would do is accepted
SELECT lives_ok(format('INSERT INTO healthpass.companion (person_id, companion_id) VALUES (%s, %s)', :d, :e),
    'companion: a direct insert of a valid binding');
SELECT lives_ok(format('INSERT INTO healthpass.companion_of (person_id, registrant_id) VALUES (%s, %s)', :e, :d),
    'companion_of: its other half');
SELECT quote_nullable((SELECT pos FROM healthpass.companion WHERE person_id = :d AND companion_id = :e)) AS got \gset
SELECT is(:got::integer, 2,
    'pos left out: the next position is given');
SELECT lives_ok(format('INSERT INTO healthpass.companion (person_id, companion_id, pos) VALUES (%s, %s, 7)', :d, :f),
    'companion: an explicit position after the last one');
SELECT lives_ok(format('INSERT INTO healthpass.companion_of (person_id, registrant_id) VALUES (%s, %s)', :f, :d),
    'companion_of: its other half');
SELECT lives_ok(format($$UPDATE healthpass.companion SET bound_at = now() - interval '1 hour' WHERE person_id = %s$$, :d),
    'companion: other columns may be corrected');
SELECT throws_ok(format('UPDATE healthpass.companion SET pos = 7 WHERE person_id = %s AND companion_id = %s', :d, :b),
    '23505', format('position 7 in the group of person %s is taken', :d), 'companion: a position is not moved onto another');
SELECT is((SELECT array_agg(name_masked ORDER BY pos) FROM healthpass.group_codes(:d)),
          ARRAY[healthpass.mask_name('赵六'), healthpass.mask_name('李红'), healthpass.mask_name('同行壬'), healthpass.mask_name('孙八')],
          'the group lists them in binding order');
SELECT lives_ok(format($$SELECT healthpass.unbind_companion(%s, 'cn_resident_id', '440606199202020311')$$, :d),
    'a directly inserted companion is unbound by the function');
SELECT is(healthpass.bind_companion(:d, 'cn_resident_id', '440606199202020311'), 4, 'and bound again: last, page 4');
SELECT quote_nullable((SELECT pos FROM healthpass.companion WHERE person_id = :d AND companion_id = :e)) AS got \gset
SELECT is(:got::integer, 8,
    'bind_companion gives the position after the last one');

SELECT * FROM finish();
