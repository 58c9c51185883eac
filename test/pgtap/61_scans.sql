-- scanning at venues (issue 11, item 4, and the bad input of item 8): the
-- visitor scans the poster, staff scan a code, staff check by hand; the
-- decision by colour; recorded once; alerts; checks; partitions
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(38);

-- a venue, its manager and staff; visitors of every colour -------------------
SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明', phone => '13800138000') AS manager \gset
SELECT healthpass.register_person('cn_resident_id', '440104199003071247', '李红', phone => '13900139000') AS staff \gset
SELECT healthpass.register_person('cn_resident_id', '440606198506153311', '赵六', phone => '13700137000') AS green \gset
SELECT healthpass.register_person('cn_resident_id', '440606195508084416', '王大爷', phone => '13600136000') AS yellow \gset
SELECT healthpass.register_person('cn_resident_id', '440606195802025521', '王奶奶', phone => '13500135000') AS red \gset
-- registered by proxy: no phone of his own, the guardian's is checked
SELECT healthpass.add_family_member(:manager, 'cn_resident_id', '440606201505056637', '王小宝', 'child') AS lightgreen \gset
SELECT healthpass.register_person('cn_resident_id', '440104200002297717', '钱七', phone => '13400134000') AS stranger \gset
SELECT healthpass.register_venue(:manager, 'uscc', '91350100M000100Y43', '太平镇图书馆', '太平镇', '人民路 1 号',
                                 '0537-1234567', '\xffd8ffe000104a46494600') AS venue \gset
SELECT healthpass.add_venue_staff(:manager, :venue, 'cn_resident_id', '440104199003071247', '李红') IS NOT NULL AS added \gset
SELECT healthpass.venue_code(:manager, :venue) AS vcode \gset
SELECT count(*) FROM healthpass.declare_health(:green, false, false) \gset
SELECT count(*) FROM healthpass.declare_health(:yellow, true, false) \gset
SELECT count(*) FROM healthpass.declare_health(:red, false, false) \gset
SELECT healthpass.record_test_result(:red, 'Lab', 'R-9', now() - interval '1 day', 'positive') IS NOT NULL AS pos \gset
SELECT healthpass.record_test_result(:green, 'Lab', 'R-1', now() - interval '2 hours', 'negative') IS NOT NULL AS neg \gset

-- the visitor scans the poster (seed 004 四) --------------------------------------
CREATE TEMP TABLE seen AS SELECT 'green' AS who, s.* FROM healthpass.scan_venue_code(:green, :'vcode') s;
SELECT is((SELECT venue_name || ' ' || name_masked || ' ' || colour || ' ' || decision || ' ' || recorded FROM seen),
          '太平镇图书馆 赵* green admit true', 'a green visitor scanning the poster is admitted and recorded');
SELECT is((SELECT latest_result || ' ' || (latest_sampled_at < now()) FROM seen), 'negative true',
          'the phone shows the latest test');
SELECT is((SELECT count(*)::integer FROM healthpass.scan WHERE person_id = :green AND method = 's'), 1,
          'the self-scan is in the history');
CREATE TEMP TABLE twice (n integer, recorded boolean);
INSERT INTO twice SELECT 1, recorded FROM healthpass.scan_venue_code(:lightgreen, :'vcode')
            UNION ALL SELECT 2, recorded FROM healthpass.scan_venue_code(:lightgreen, :'vcode');
SELECT is((SELECT array_agg(recorded ORDER BY recorded DESC) FROM twice), ARRAY[true, false],
          'scanning twice in the same second (one statement: one now()) is one scan');
SELECT is((SELECT string_agg(decision::text, ',') FROM healthpass.scan WHERE person_id = :lightgreen), 'd',
          'light green: declare first (one row)');
SELECT is((SELECT decision || ' ' || prompt FROM healthpass.scan_venue_code(:yellow, :'vcode')),
          'check yellow code: check (for example the temperature) before admitting', 'yellow: check first');
SELECT is((SELECT decision FROM healthpass.scan_venue_code(:red, :'vcode')), 'refuse', 'red: refused');
SELECT is((SELECT count(*)::integer FROM healthpass.venue_alerts() WHERE name_masked = '王*奶'), 1,
          'a red code raises an alert for the health authority');

-- staff scan a code (seed 004 一.4-5) ------------------------------------------------
SELECT token AS hcode FROM healthpass.health_code(:red) \gset
SELECT healthpass.personal_code(:green) AS pcode \gset
SELECT healthpass.family_member_code(:manager, healthpass.add_family_member(:manager, 'cn_resident_id',
         '440606201001010029', '王小红', 'child')) AS fcode \gset
SELECT pg_sleep(1.1);
CREATE TEMP TABLE staffed AS
SELECT k, s.* FROM (VALUES ('health', :'hcode'), ('personal', :'pcode'), ('family', :'fcode')) c(k, t),
       healthpass.staff_scan(:staff, :venue, c.t) s;
SELECT is((SELECT string_agg(k || '=' || kind || '/' || decision || '/' || recorded, ',' ORDER BY k) FROM staffed),
          'family=personal/declare/true,health=health/refuse/true,personal=personal/admit/true',
          'staff scan every kind of personal code and get the decision');
SELECT is((SELECT count(*)::integer FROM healthpass.scan WHERE method = 't' AND staff_id = :staff), 3,
          'staff scans are recorded with the staff member');
SELECT is((SELECT code_kind::text FROM healthpass.scan WHERE method = 't' AND person_id = :red), 'h',
          'with the kind of code shown');
SELECT ok((SELECT token_id IS NOT NULL FROM healthpass.scan WHERE method = 't' AND person_id = :red),
          'and its token id (a replayed code is recorded, not refused)');
SELECT is((SELECT valid || ' ' || reason || ' ' || decision || ' ' || recorded
             FROM healthpass.staff_scan(:staff, :venue, 'HP1:NOT-A-CODE')),
          'false malformed refuse false', 'a garbled code is a named refusal, nothing recorded');
SELECT is((SELECT reason || ' ' || decision FROM healthpass.staff_scan(:staff, :venue, :'vcode')),
          'wrong_kind refuse', 'a venue code shown as a personal code is the wrong kind');
SELECT throws_ok(format($$SELECT * FROM healthpass.staff_scan(%s, %s, %L)$$, :stranger, :venue, :'pcode'),
    '42501', format('person %s is not staff of venue %s', :stranger, :venue), 'only the venue''s staff scan for it');
SELECT throws_ok(format($$SELECT * FROM healthpass.staff_scan(%s, NULL, %L)$$, :staff, :'pcode'),
    '22004', 'venue id is missing', 'a venue is named');
SELECT throws_ok(format($$SELECT * FROM healthpass.staff_scan(NULL, %s, %L)$$, :venue, :'pcode'),
    '22004', 'person id is missing', 'the staff member is named');

-- manual check (seed 004 一.6) --------------------------------------------------------
SELECT is((SELECT name_masked || ' ' || colour || ' ' || decision || ' ' || recorded
             FROM healthpass.staff_manual_check(:staff, :venue, 'cn_resident_id', '440606201505056637', '王小宝', '13800138000')),
          '王*宝 light_green declare true', 'a manual check by name, ID number and a family member''s phone');
SELECT is((SELECT method::text FROM healthpass.scan WHERE person_id = :lightgreen AND staff_id = :staff), 'm',
          'recorded as manual');
SELECT throws_ok(format($$SELECT * FROM healthpass.staff_manual_check(%s, %s, 'cn_resident_id', '440606201505056637', '王小宝', '13000000000')$$, :staff, :venue),
    'P0002', 'no person matches cn_resident_id "4406**********6637" with the name and phone given',
    'a wrong phone: the same answer as an unknown person');

-- the check after "check" ---------------------------------------------------------------
SELECT s.scanned_at AS ysat, s.person_ref AS yref FROM healthpass.staff_manual_check(:staff, :venue, 'cn_resident_id',
       '440606195508084416', '王大爷', '13600136000') s \gset
SELECT is(healthpass.record_scan_check(:staff, :venue, :'yref', :'ysat', true, 36.6), 'admitted',
          'staff record the temperature and admit');
SELECT is((SELECT temperature::text || ' ' || admitted FROM healthpass.scan_check WHERE person_id = :yellow), '36.6 true',
          'the check is kept');
SELECT throws_ok(format($$SELECT healthpass.record_scan_check(%s, %s, %L, %L, true)$$, :staff, :venue, :'yref', :'ysat'),
    '23505', NULL, 'a scan gets one check');
SELECT throws_ok(format($$SELECT healthpass.record_scan_check(%s, %s, %L, %L, true, 52)$$, :staff, :venue, :'yref', :'ysat'),
    '22023', 'temperature 52 is out of range', 'temperatures are checked');
SELECT throws_ok(format($$SELECT healthpass.record_scan_check(%s, %s, %L, now(), true)$$, :staff, :venue, :'yref'),
    'P0002', NULL, 'a check follows a recorded scan');

-- a venue requiring a negative test ---------------------------------------------------
-- (a new name is on the poster: the old venue code is revoked)
SELECT healthpass.edit_venue(:manager, :venue, '{"negative_test_hours": 1, "name": "太平镇图书馆 新馆"}') IS NOT NULL AS edited \gset
SELECT healthpass.venue_code(:manager, :venue) AS vcode2 \gset
SELECT pg_sleep(1.1);
SELECT is((SELECT decision FROM healthpass.scan_venue_code(:green, :'vcode2')), 'check',
          'a green visitor without a negative test in the last hour is checked first');

-- suspended venue, revoked code, rejected person ---------------------------------------
SELECT throws_ok(format($$SELECT * FROM healthpass.scan_venue_code(%s, %L)$$, :green, :'vcode'),
    '22023', 'venue code is not valid: revoked', 'the code from before the renaming was revoked');
SELECT healthpass.suspend_venue(:manager, :venue, 'renovation') IS NOT NULL AS suspended \gset
SELECT throws_ok(format($$SELECT * FROM healthpass.staff_scan(%s, %s, %L)$$, :staff, :venue, :'pcode'),
    '55000', format('venue %s is suspended', :venue), 'a suspended venue records no staff scans');
SELECT throws_ok(format($$SELECT * FROM healthpass.scan_venue_code(%s, %L)$$, :green, :'vcode2'),
    NULL, NULL, 'nor self-scans');
SELECT healthpass.reopen_venue(:manager, :venue, 'reopened') IS NOT NULL AS reopened \gset
SELECT healthpass.venue_code(:manager, :venue) AS vcode3 \gset
SELECT healthpass.record_realname_result(:stranger, 1, 'rejected', 'name does not match') \gset
SELECT throws_ok(format($$SELECT * FROM healthpass.scan_venue_code(%s, %L)$$, :stranger, :'vcode3'),
    '55000', format('real-name verification of person %s was rejected', :stranger),
    'a person whose real-name check was rejected cannot scan (seed 004)');
SELECT healthpass.remove_venue_staff(:manager, :venue, :staff) IS NOT NULL AS removed \gset
SELECT throws_ok(format($$SELECT * FROM healthpass.staff_scan(%s, %s, %L)$$, :staff, :venue, :'pcode'),
    '42501', NULL, 'removed staff no longer scan');

-- admission rules as data ---------------------------------------------------------------
SELECT is((SELECT string_agg(colour || '=' || decision, ',' ORDER BY colour) FROM healthpass.admission_rules()),
          'green=admit,light_green=declare,yellow=check,red=refuse', 'the seed''s decisions');
SELECT lives_ok($$SELECT healthpass.set_admission_rule('yellow', 'refuse', 'yellow code: not today')$$,
                'an administrator changes a decision');
SELECT is((SELECT decision FROM healthpass.scan_venue_code(:yellow, :'vcode3')), 'refuse', 'and it applies');
SELECT throws_ok($$SELECT healthpass.set_admission_rule('green', 'maybe', 'x')$$, '22023',
                 'admission decision "maybe" is not valid', 'decisions are admit, check, refuse or declare');

-- partitions ------------------------------------------------------------------------------
SELECT ok((SELECT count(*) FROM healthpass.scan_maintenance() WHERE action = 'created') >= 7,
          'maintenance makes the days ahead');
SELECT is((SELECT count(*)::integer FROM healthpass.scan_maintenance()), 0, 'and does nothing when run again');
SELECT throws_ok($$SELECT * FROM healthpass.scan_maintenance(0)$$, '22023', 'days ahead 0 is out of range',
                 'the horizon is bounded');

SELECT * FROM finish();
