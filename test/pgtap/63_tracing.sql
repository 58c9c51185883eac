-- contact tracing (issue 11, item 7): who met a case at a venue within the
-- window, the second ring, the stored and audited trace, marking what a
-- trace returned (which re-colours them), every refusal, the roles, and the
-- shape of the plan
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT plan(72);

-- people, two venues ------------------------------------------------------------
SELECT healthpass.register_person('passport', 'M1234567', 'Venue Manager', '1980-01-01', NULL, 'GBR') AS manager \gset
-- the case
SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明') AS c \gset
-- met the case twice at V1
SELECT healthpass.register_person('cn_resident_id', '440104199003071247', '李红') AS a \gset
-- met the case at V2
SELECT healthpass.register_person('cn_resident_id', '440606198506153311', '赵六') AS b \gset
-- 31 minutes after: just outside
SELECT healthpass.register_person('cn_resident_id', '440606195508084416', '王大爷') AS d \gset
-- 30 minutes after: on the edge
SELECT healthpass.register_person('cn_resident_id', '440606195802025521', '王奶奶') AS e \gset
-- met A after A met the case
SELECT healthpass.register_person('cn_resident_id', '440104200002297717', '钱七') AS f \gset
-- met A before A met the case
SELECT healthpass.register_person('cn_resident_id', '11010519491231002X', '张三') AS h \gset
-- met the case before the range
SELECT healthpass.register_person('passport', 'G1234567', 'Grace Early', '1985-05-05', NULL, 'GBR') AS g \gset
SELECT count(*) FROM (SELECT healthpass.declare_health(p, false, false)
                        FROM unnest(ARRAY[:c, :a, :b, :d, :e, :f, :h, :g]::bigint[]) p) x \gset
SELECT healthpass.register_venue(:manager, 'uscc', '91350100M000100Y43', '太平镇图书馆', '太平镇', '人民路 1 号',
                                 '0537-1234567', '\xffd8ffe000104a46494600') AS v1 \gset
SELECT healthpass.register_venue(:manager, 'uscc', '91350100M000100Y43', '太平镇菜市场', '太平镇', '人民路 9 号',
                                 '0537-1234568', '\xffd8ffe000104a46494600') AS v2 \gset

-- scans, written straight into the history: t0 is 10:00 two days ago --------------
SELECT (date_trunc('day', now()) - interval '2 days' + interval '10 hours') AS t0 \gset
SELECT count(*) FROM (SELECT healthpass_internal.hp_scan_partition(d::date)
                        FROM generate_series(current_date - 5, current_date, interval '1 day') d) x \gset
CREATE FUNCTION pg_temp.at(p bigint, v bigint, t interval) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO healthpass.scan (scanned_at, venue_id, person_id, method, colour, decision)
    VALUES (date_trunc('day', now()) - interval '2 days' + interval '10 hours' + t, v, p, 's', 'green', 'a');
END $$;
SELECT pg_temp.at(:c, :v1, '0');                        -- the case at V1, 10:00
SELECT pg_temp.at(:c, :v1, '3 hours');                  -- again at V1, 13:00
SELECT pg_temp.at(:c, :v2, '1 day');                    -- at V2 the next day, 10:00
SELECT pg_temp.at(:c, :v2, '-3 days');                  -- at V2 three days before (outside the range below)
SELECT pg_temp.at(:a, :v1, '10 minutes');               -- A: 10 minutes after the case
SELECT pg_temp.at(:a, :v1, '2 hours 55 minutes');       -- A: 5 minutes before the case's second visit
SELECT pg_temp.at(:b, :v2, '1 day -25 minutes');        -- B: 25 minutes before the case at V2
SELECT pg_temp.at(:d, :v1, '31 minutes');               -- D: 31 minutes after: outside the window
SELECT pg_temp.at(:e, :v1, '30 minutes');               -- E: 30 minutes after: inside (the window is closed)
SELECT pg_temp.at(:d, :v2, '3 hours');                  -- D at V2 on the case's first day (the case was at V1)
SELECT pg_temp.at(:a, :v2, '1 day 2 hours 10 minutes'); -- A at V2 the next day, after meeting the case
SELECT pg_temp.at(:f, :v2, '1 day 2 hours');            -- F: 10 minutes before A there: ring 2
SELECT pg_temp.at(:b, :v2, '1 day 2 hours 20 minutes'); -- B meets A too, but B is ring 1
SELECT pg_temp.at(:a, :v2, '-1 hour');                  -- A at V2 before meeting the case
SELECT pg_temp.at(:h, :v2, '-1 hour 5 minutes');        -- H met A then: not ring 2
SELECT pg_temp.at(:g, :v2, '-3 days 5 minutes');        -- G met the case three days before

-- ring 1 -------------------------------------------------------------------------------
CREATE TEMP TABLE t1 AS
SELECT * FROM healthpass.trace_contacts(:c, :'t0'::timestamptz - interval '1 hour', :'t0'::timestamptz + interval '2 days');
SELECT is((SELECT string_agg(format('%s %s %s %s', name_masked, ring, encounters, closest_gap), ', ' ORDER BY rank) FROM t1),
          '李* 1 2 00:05:00, 赵* 1 1 00:25:00, 王*奶 1 1 00:30:00',
          'ring 1: everyone within ± 30 minutes of one of the case''s scans, closest first');
SELECT is((SELECT count(DISTINCT trace_id)::integer FROM t1), 1, 'every row carries the one trace id');
SELECT trace_id AS tr1 FROM t1 LIMIT 1 \gset
-- (people's references are read first: on Citus person is distributed and
-- the temporary table t1 is not, and the two do not join)
SELECT public_ref AS ref_d FROM healthpass.person WHERE person_id = :d \gset
SELECT public_ref AS ref_c FROM healthpass.person WHERE person_id = :c \gset
SELECT public_ref AS ref_g FROM healthpass.person WHERE person_id = :g \gset
SELECT public_ref AS ref_h FROM healthpass.person WHERE person_id = :h \gset
SELECT public_ref AS ref_a FROM healthpass.person WHERE person_id = :a \gset
SELECT ok(NOT EXISTS (SELECT FROM t1 WHERE t1.person_ref = :'ref_d'::uuid),
          'a scan 31 minutes after is outside the window');
SELECT ok(NOT EXISTS (SELECT FROM t1 WHERE t1.person_ref IN (:'ref_c'::uuid, :'ref_g'::uuid)),
          'neither the case nor someone met before the range');
SELECT is((SELECT format('%s %s %s %s', first_at - :'t0'::timestamptz, last_at - :'t0'::timestamptz,
                         source_at - :'t0'::timestamptz, contact_at - :'t0'::timestamptz)
             FROM t1 WHERE rank = 1),
          '00:10:00 02:55:00 03:00:00 02:55:00',
          'first and last encounter, and both instants of the closest one (the case''s, the contact''s)');
SELECT is((SELECT format('%s %s', venue_ids = ARRAY[:v1]::bigint[], venue_names) FROM t1 WHERE rank = 1),
          't {太平镇图书馆}', 'the venue of A''s encounters, id and name');
SELECT is((SELECT format('%s %s', venue_ids = ARRAY[:v2]::bigint[], venue_names) FROM t1 WHERE rank = 2),
          't {太平镇菜市场}', 'B met the case at the other venue, another day');
SELECT is((SELECT person_ref FROM t1 WHERE rank = 1), :'ref_a'::uuid,
          'people are named by their public reference');
SELECT is((SELECT count(*)::integer FROM t1 WHERE via_ref IS NOT NULL OR ring <> 1), 0, 'no second ring unless asked');

-- the window and the range -------------------------------------------------------------
SELECT is((SELECT string_agg(name_masked, ', ' ORDER BY rank)
             FROM healthpass.trace_contacts(:c, :'t0'::timestamptz - interval '1 hour', :'t0'::timestamptz + interval '2 days',
                                            trace_window => '31 minutes')),
          '李*, 赵*, 王*奶, 王*爷', 'a wider window takes in the scan 31 minutes after');
SELECT is((SELECT string_agg(name_masked, ', ' ORDER BY rank)
             FROM healthpass.trace_contacts(:c, :'t0'::timestamptz - interval '4 days', :'t0'::timestamptz + interval '2 days')),
          '李*, G**** E****, 赵*, 王*奶', 'a range that starts earlier takes in the earlier encounter (as close as A, fewer encounters)');
SELECT is((SELECT string_agg(name_masked, ', ' ORDER BY rank)
             FROM healthpass.trace_contacts(:c, :'t0'::timestamptz + interval '1 hour', :'t0'::timestamptz + interval '2 hours')),
          NULL, 'no scan of the case in the range: nobody (and still audited)');
SELECT healthpass.configure('trace_window', '20 minutes') IS NOT NULL AS configured \gset
SELECT is((SELECT string_agg(name_masked || ' ' || closest_gap, ', ' ORDER BY rank)
             FROM healthpass.trace_contacts(:c, :'t0'::timestamptz - interval '1 hour', :'t0'::timestamptz + interval '2 days')),
          '李* 00:05:00', 'no window given: the database setting trace_window');
SELECT is((SELECT trace_window::text FROM healthpass.trace_audit(1)), '00:20:00', 'the audit records the window used');
SELECT healthpass.configure('trace_window', NULL) IS NOT NULL AS reset \gset

-- ring 2 --------------------------------------------------------------------------------
CREATE TEMP TABLE t2 AS
SELECT * FROM healthpass.trace_contacts(:c, :'t0'::timestamptz - interval '1 hour', :'t0'::timestamptz + interval '2 days',
                                        second_ring => true);
SELECT trace_id AS tr2 FROM t2 LIMIT 1 \gset
SELECT is((SELECT string_agg(format('%s %s %s', name_masked, ring, closest_gap), ', ' ORDER BY rank) FROM t2),
          '李* 1 00:05:00, 赵* 1 00:25:00, 王*奶 1 00:30:00, 王*爷 2 00:01:00, 钱* 2 00:10:00',
          'ring 2: who met a ring-1 contact after that contact met the case (D a minute after E, F after A); ring 1 first');
SELECT is((SELECT array_agg(via_ref ORDER BY rank) FROM t2 WHERE ring = 2),
          (SELECT array_agg(public_ref ORDER BY person_id DESC) FROM healthpass.person WHERE person_id IN (:a, :e)),
          'ring 2 says through whom');
SELECT is((SELECT (source_at - :'t0'::timestamptz) || ' ' || (contact_at - :'t0'::timestamptz) FROM t2 WHERE name_masked = '钱*'),
          '1 day 02:10:00 1 day 02:00:00', 'with the ring-1 contact''s scan and their own');
SELECT ok(NOT EXISTS (SELECT FROM t2 WHERE t2.person_ref IN (:'ref_h'::uuid, :'ref_c'::uuid)),
          'someone who met a contact before the contact met the case is not in ring 2, nor is the case');
SELECT is((SELECT count(*)::integer FROM t2 WHERE name_masked = '赵*'), 1, 'a ring-1 contact met again by another is not repeated in ring 2');
SELECT is((SELECT count(*)::integer FROM t2 WHERE ring = 1 AND via_ref IS NULL), 3, 'ring 1 comes through nobody');

-- the audit and the stored result ------------------------------------------------------------
SELECT is((SELECT format('%s %s %s %s %s %s %s %s', traced_by = session_user, case_person_id = :c, trace_window,
                         to_at - from_at, second_ring, returned, ring1, ring2)
             FROM healthpass.trace_audit() WHERE trace_id = :tr2),
          't t 00:30:00 2 days 01:00:00 t 5 3 2',
          'the audit: who traced which case, window, range, second ring, how many came back (per ring)');
SELECT is((SELECT ring2 IS NULL AND NOT second_ring FROM healthpass.trace_audit() WHERE trace_id = :tr1), true,
          'a trace without the second ring has no count for it');
SELECT is((SELECT case_name_masked FROM healthpass.trace_audit() WHERE trace_id = :tr1), '王*明', 'the case, masked');
SELECT is((SELECT count(*)::integer FROM healthpass.trace_audit()), 6, 'every trace is audited, the empty one too');
SELECT is((SELECT array_agg(trace_id) FROM healthpass.trace_audit(2)),
          (SELECT array_agg(trace_id ORDER BY trace_id DESC)
             FROM (SELECT trace_id FROM healthpass.trace_audit ORDER BY trace_id DESC LIMIT 2) x),
          'the audit, newest first, max_rows at a time');
SELECT is((SELECT array_agg(t ORDER BY rank)::text FROM healthpass.trace_result(:tr2) t),
          (SELECT array_agg(t ORDER BY rank)::text FROM (SELECT *, NULL::bigint AS mark_id FROM t2) t),
          'trace_result reads the stored trace back as it was returned');

-- marking ---------------------------------------------------------------------------------------
SELECT is(healthpass.mark_traced_contacts(:tr2), 5, 'one call marks the five people of the trace');
CREATE FUNCTION pg_temp.col(p bigint) RETURNS text LANGUAGE sql AS $$
    SELECT colour || ': ' || array_to_string(reasons, ' | ') FROM healthpass.health_status(p)
$$;
SELECT is(pg_temp.col(:a), 'red: close contact of a case', 'ring 1 is marked a close contact: red at once');
SELECT is(pg_temp.col(:e), 'red: close contact of a case', 'the contact on the edge of the window too');
SELECT is(pg_temp.col(:f), 'yellow: secondary contact', 'ring 2 is marked a secondary contact: yellow at once');
SELECT quote_nullable((SELECT colour::text FROM healthpass.colour_current WHERE person_id = :f)) AS got \gset
SELECT is(:got::text, 'yellow', 'the stored colour follows');
SELECT is(pg_temp.col(:h), 'green: declaration in force and no risk found', 'who was not traced keeps their colour');
SELECT is((SELECT format('%s %s %s', kind, valid_until - valid_from, note) FROM healthpass.risk_marks(:a)),
          format('close_contact 14 days contact trace %s, ring 1', :tr2), 'a close-contact mark for 14 days, naming the trace');
SELECT is((SELECT count(*)::integer FROM healthpass.trace_result(:tr2) WHERE mark_id IS NOT NULL), 5,
          'the trace keeps the mark of each person');
SELECT is((SELECT format('%s %s', marked, marked_by = session_user) FROM healthpass.trace_audit() WHERE trace_id = :tr2),
          '5 t', 'the audit records the marking');
SELECT is(healthpass.mark_traced_contacts(:tr2), 0, 'marking the same trace again marks nobody twice');
SELECT is((SELECT count(*)::integer FROM healthpass.risk_marks(:a)), 1, 'one mark a person');

-- as the caller says: ring 1 as secondary contacts, ring 2 left for later
SELECT healthpass.lift_risk_mark(:f, (SELECT mark_id FROM healthpass.risk_marks(:f)), 'test') IS NOT NULL AS lifted \gset
SELECT trace_id AS tr3 FROM healthpass.trace_contacts(:a, :'t0'::timestamptz + interval '1 day', :'t0'::timestamptz + interval '2 days')
 LIMIT 1 \gset
SELECT is(healthpass.mark_traced_contacts(:tr3, 'secondary_contact', valid_for => '7 days', note => 'cluster at the market'), 2,
          'A''s contacts at the market marked as the caller says');
SELECT is(pg_temp.col(:f), 'yellow: secondary contact', 'marked secondary: yellow');
SELECT is((SELECT format('%s %s %s', kind, valid_until - valid_from, note) FROM healthpass.risk_marks(:f) WHERE lifted_at IS NULL),
          'secondary_contact 7 days cluster at the market', 'with the validity and note given');
SELECT trace_id AS tr4 FROM healthpass.trace_contacts(:c, :'t0'::timestamptz - interval '4 days', :'t0'::timestamptz - interval '2 days',
                                                      second_ring => true) LIMIT 1 \gset
SELECT is(healthpass.mark_traced_contacts(:tr4, 'none', 'secondary_contact'), 0, '"none" leaves a ring unmarked');
SELECT is(healthpass.mark_traced_contacts(:tr4), 1, 'a later call marks it');
SELECT is(pg_temp.col(:g), 'red: close contact of a case', 'the person met before the first range, now marked');

-- refusals: nothing is traced, nothing audited ----------------------------------------------------
SELECT count(*)::integer AS audited FROM healthpass.trace_audit() \gset
SELECT throws_ok(format($$SELECT * FROM healthpass.trace_contacts(%s, now() - interval '1 day', now(), '59 seconds')$$, :c),
    '22023', 'tracing window "00:00:59" is out of range', 'the window is at least a minute');
SELECT throws_ok(format($$SELECT * FROM healthpass.trace_contacts(%s, now() - interval '1 day', now(), '1 day 1 second')$$, :c),
    '22023', 'tracing window "1 day 00:00:01" is out of range', 'and at most a day');
SELECT throws_ok(format($$SELECT * FROM healthpass.trace_contacts(%s, '2030-01-02', '2030-01-02')$$, :c),
    '22008', 'tracing range "2030-01-02 00:00:00+00" to "2030-01-02 00:00:00+00" is empty', 'from before to');
SELECT throws_ok(format($$SELECT * FROM healthpass.trace_contacts(%s, '2030-01-01', '2030-01-29 00:00:01')$$, :c),
    '22023', 'tracing range "2030-01-01 00:00:00+00" to "2030-01-29 00:00:01+00" is longer than 28 days',
    'at most 28 days');
SELECT lives_ok(format($$SELECT * FROM healthpass.trace_contacts(%s, '2030-01-01', '2030-01-29')$$, :c),
    'exactly 28 days is allowed');
SELECT throws_ok(format($$SELECT * FROM healthpass.trace_contacts(%s, NULL, now())$$, :c),
    '22004', 'from_at is missing', 'a range has a start');
SELECT throws_ok(format($$SELECT * FROM healthpass.trace_contacts(%s, now() - interval '1 day', 'infinity')$$, :c),
    '22008', 'to_at "infinity" is not a point in time', 'and a finite end');
SELECT throws_ok($$SELECT * FROM healthpass.trace_contacts(NULL, now() - interval '1 day', now())$$,
    '22004', 'person id is missing', 'a case is named');
SELECT throws_ok($$SELECT * FROM healthpass.trace_contacts(999999, now() - interval '1 day', now())$$,
    'P0002', 'person 999999 does not exist', 'an unknown case');
SELECT throws_ok(format($$SELECT * FROM healthpass.trace_contacts(%s, now() - interval '1 day', now(), NULL, NULL)$$, :c),
    '22004', 'second_ring is missing', 'second ring or not');
SELECT is((SELECT count(*)::integer FROM healthpass.trace_audit()), :audited + 1, 'a refused trace leaves no audit row');
SELECT healthpass.configure('scan_retention', '40 days') IS NOT NULL AS longer \gset
SELECT lives_ok(format($$SELECT * FROM healthpass.trace_contacts(%s, now() - interval '35 days', now())$$, :c),
    'a longer retention allows a longer range');
SELECT healthpass.configure('scan_retention', NULL) IS NOT NULL AS reset \gset
SELECT throws_ok($$SELECT healthpass.mark_traced_contacts(NULL)$$, '22004', 'trace id is missing', 'a trace is named');
SELECT throws_ok($$SELECT healthpass.mark_traced_contacts(999999)$$, 'P0002', 'trace 999999 does not exist', 'an unknown trace');
SELECT throws_ok(format($$SELECT healthpass.mark_traced_contacts(%s, 'confirmed')$$, :tr1),
    '22023', 'kind "confirmed" is not valid', 'contacts are marked as contacts');
SELECT throws_ok(format($$SELECT healthpass.mark_traced_contacts(%s, 'close_contact', NULL)$$, :tr1),
    '22023', 'second_ring_kind "NULL" is not valid', 'a NULL kind is refused');
SELECT throws_ok(format($$SELECT healthpass.mark_traced_contacts(%s, valid_for => '31 days')$$, :tr1),
    '22023', 'mark validity "31 days" is out of range', 'a contact mark lasts at most 30 days');
SELECT throws_ok(format($$SELECT healthpass.mark_traced_contacts(%s, valid_for => NULL)$$, :tr1),
    '22023', 'mark validity "NULL" is out of range', 'a mark lasts a while');
SELECT throws_ok(format($$SELECT healthpass.mark_traced_contacts(%s, note => U&'x\202E')$$, :tr1),
    '22023', 'note "x?" holds a control character', 'the note is checked text');
SELECT throws_ok($$SELECT * FROM healthpass.trace_audit(0)$$, '22023', 'max_rows 0 is out of range', 'the audit is read in pages');
SELECT throws_ok($$SELECT * FROM healthpass.trace_result(NULL)$$, '22004', 'trace id is missing', 'trace_result names a trace');
SELECT throws_ok($$SELECT * FROM healthpass.trace_result(999999)$$, 'P0002', 'trace 999999 does not exist', 'an unknown trace');

-- roles --------------------------------------------------------------------------------------------
SET ROLE healthpass_scanner;
SELECT throws_ok(format($$SELECT * FROM healthpass.trace_contacts(%s, now() - interval '1 day', now())$$, :c),
    '42501', 'permission denied for function trace_contacts', 'a scanner may not trace');
RESET ROLE;
SET ROLE healthpass_app;
SELECT throws_ok(format($$SELECT healthpass.mark_traced_contacts(%s)$$, :tr1),
    '42501', 'permission denied for function mark_traced_contacts', 'nor may an app mark');
RESET ROLE;
SET ROLE healthpass_report;
SELECT throws_ok($$SELECT * FROM healthpass.trace_audit()$$,
    '42501', 'permission denied for function trace_audit', 'the audit is the health authority''s only');
RESET ROLE;
SET ROLE healthpass_health;
SELECT lives_ok(format($$SELECT * FROM healthpass.trace_contacts(%s, now() - interval '3 days', now())$$, :c),
    'the health authority traces');
RESET ROLE;

-- the plan: nested loops from the case's scans into each venue's range, over the two indexes ----
-- (on a Citus cluster a ring runs as two statements, hp_trace_scans_sql and
-- hp_trace_around_sql, that every shard of scan runs: their plans, with the
-- arguments of this trace, are checked the same way)
CREATE FUNCTION pg_temp.explain_lines(q text, args text DEFAULT NULL) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    IF args IS NULL THEN
        FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP RETURN NEXT r."QUERY PLAN"; END LOOP;
    ELSE
        EXECUTE 'PREPARE hp_plan_q AS ' || q;
        FOR r IN EXECUTE format('EXPLAIN (COSTS OFF) EXECUTE hp_plan_q(%s)', args) LOOP RETURN NEXT r."QUERY PLAN"; END LOOP;
        DEALLOCATE hp_plan_q;
    END IF;
END $$;
SET enable_seqscan = off;   -- the partitions here are a few rows each
SELECT healthpass_internal.hp_distributed() AS on_citus \gset
SELECT format('SELECT * FROM healthpass_internal.hp_trace_encounters(ARRAY[%s]::bigint[], ARRAY[%L]::timestamptz[], %L, %L)',
              :c, :'t0'::timestamptz - interval '1 hour', :'t0'::timestamptz + interval '2 days', '30 minutes') AS plan_q \gset
SELECT format($$SELECT l FROM pg_temp.explain_lines(%L, %L) l UNION ALL SELECT l FROM pg_temp.explain_lines(%L, %L) l$$,
              healthpass_internal.hp_trace_scans_sql(),
              format('ARRAY[%s]::bigint[], ARRAY[%L]::timestamptz[], %L', :c, :'t0'::timestamptz - interval '1 hour',
                     :'t0'::timestamptz + interval '2 days'),
              healthpass_internal.hp_trace_around_sql(),
              format('ARRAY[%s]::bigint[], ARRAY[%s]::bigint[], ARRAY[%L]::timestamptz[], ARRAY[%L]::timestamptz[], ARRAY[%L]::timestamptz[]',
                     :c, :v1, :'t0'::timestamptz, :'t0'::timestamptz - interval '30 minutes', :'t0'::timestamptz + interval '30 minutes'))
       AS plan_lines \gset
SELECT results_eq(
    format($$SELECT count(*) FILTER (WHERE l ~ 'Nested Loop')::integer > 0, count(*) FILTER (WHERE l ~ 'Hash|Merge|Sort')::integer,
                    count(*) FILTER (WHERE l ~ 'Index Scan using scan_\d+_person')::integer > 0,
                    count(*) FILTER (WHERE l ~ 'Index Only Scan using scan_\d+_venue')::integer > 0
               FROM (%s) e(l)$$,
           CASE WHEN :'on_citus'::boolean THEN :'plan_lines'
                ELSE format('SELECT l FROM pg_temp.explain_lines(%L) l', :'plan_q') END),
    $$VALUES (true, 0, true, true)$$,
    'the trace runs as nested loops over the person index and the venue index');
RESET enable_seqscan;

-- trace results are kept no longer than the scans (scan_maintenance)
UPDATE healthpass.trace_audit SET traced_at = now() - interval '40 days'
 WHERE trace_id = (SELECT min(trace_id) FROM healthpass.trace_audit);
SELECT is((SELECT count(*)::integer FROM healthpass.scan_maintenance() WHERE action = 'pruned'), 1,
          'maintenance prunes the results of traces older than the scan retention');
SELECT is((SELECT count(*)::integer FROM healthpass.trace_result r JOIN healthpass.trace_audit a USING (trace_id)
            WHERE a.traced_at < now() - interval '28 days'), 0, 'their rows are gone; the audit stays');

SELECT * FROM finish();
