-- test/citus/cross_worker.sql: the rules that span two people (companions,
-- family, venue staff, contact tracing, risk areas and re-colouring jobs)
-- with the people on DIFFERENT workers of a Citus cluster (issue 14 item 3).
-- Run by test/citus/run-citus-tests.sh in a distributed database, only there.
--
-- Every person's rows live on the person's shard; each assertion below first
-- checks where the people are, so that the rule is shown across workers, not
-- by chance on one. Tables are read in statements of their own (\gset) and
-- compared afterwards: a statement reading one shard runs whole on a worker,
-- where this session's pgTAP plan does not exist (doc/citus.md).
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(36);

-- the worker (its port) that holds a person's shard
CREATE FUNCTION pg_temp.node(pid bigint) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE port integer;
BEGIN
    SELECT p.nodeport INTO port FROM pg_dist_shard_placement p
     WHERE p.shardid = get_shard_id_for_distribution_column('healthpass.person', pid);
    RETURN port;
END $$;
-- the plan of a statement, one line a row
CREATE FUNCTION pg_temp.explain(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN ' || q;
END $$;
-- a traveller with a complete entry registration and a clean declaration
CREATE FUNCTION pg_temp.traveller(n integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE pid bigint := healthpass.register_person('passport', 'X' || lpad(n::text, 7, '0'),
                                                 'Traveller ' || chr(64 + n), '1990-01-01', NULL, 'GBR');
BEGIN
    PERFORM healthpass.submit_entry(pid, 1, jsonb_build_object(
         'arrival_port', 'Gongbei', 'arrival_date', current_date::text, 'transport_mode', 'on_foot',
         'departure_country', 'MAC', 'departure_city', 'Macau', 'destination_district', 'Chancheng',
         'destination_address', '2 Zumiao Road', 'contact_phone', '13800138000', 'purpose', 'tourism'));
    PERFORM healthpass.declare_health(pid, false, false);
    RETURN pid;
END $$;

SELECT healthpass.publish_notice('registration_notice', 'Notice', 'Read me.');
CREATE TEMP TABLE t (n integer, pid bigint, port integer);
INSERT INTO t SELECT n, pg_temp.traveller(n) FROM generate_series(1, 16) n;
UPDATE t SET port = pg_temp.node(pid);
-- A1, A2, A3 on the first worker; B1, B2, B3 on the other
SELECT min(port) AS wa, max(port) AS wb FROM t \gset
SELECT pid AS a1 FROM t WHERE port = :wa ORDER BY n LIMIT 1 \gset
SELECT pid AS a2 FROM t WHERE port = :wa ORDER BY n LIMIT 1 OFFSET 1 \gset
SELECT pid AS a3 FROM t WHERE port = :wa ORDER BY n LIMIT 1 OFFSET 2 \gset
SELECT pid AS b1 FROM t WHERE port = :wb ORDER BY n LIMIT 1 \gset
SELECT pid AS b2 FROM t WHERE port = :wb ORDER BY n LIMIT 1 OFFSET 1 \gset
SELECT pid AS b3 FROM t WHERE port = :wb ORDER BY n LIMIT 1 OFFSET 2 \gset
SELECT 'X' || lpad(n::text, 7, '0') AS b1_doc FROM t WHERE pid = :b1 \gset
SELECT 'X' || lpad(n::text, 7, '0') AS b2_doc FROM t WHERE pid = :b2 \gset
SELECT 'X' || lpad(n::text, 7, '0') AS b3_doc FROM t WHERE pid = :b3 \gset
SELECT is((SELECT count(DISTINCT port)::integer FROM t), 2, 'the travellers are spread over both workers');
SELECT ok(:wa <> :wb AND pg_temp.node(:a1) = :wa AND pg_temp.node(:b1) = :wb,
          'A1 and B1 are on different workers');

-- companions: the registrant's rows on one worker, the companion's on the other
SELECT is(healthpass.bind_companion(:a1, 'passport', :'b1_doc'), 2, 'A1 binds B1, who is on the other worker (position 2, after the registrant)');
SELECT count(*)::integer AS n FROM healthpass.companion WHERE person_id = :a1 AND companion_id = :b1 \gset
SELECT is(:n::integer, 1, 'the binding is on the registrant''s shard');
SELECT count(*)::integer AS n FROM healthpass.companion_of WHERE person_id = :b1 AND registrant_id = :a1 \gset
SELECT is(:n::integer, 1, 'and its mirror on the companion''s shard');
SELECT is((SELECT string_agg(is_registrant::text, ',' ORDER BY pos) FROM healthpass.group_codes(:b1)), 'true,false',
          'the companion sees the group from the other worker: the registrant first, then themselves');
SELECT throws_ok(format($$SELECT healthpass.bind_companion(%s, 'passport', %L)$$, :a2, :'b1_doc'),
    '23514', NULL, 'a second registrant on A1''s worker cannot take B1: a person accompanies one group at a time');
SELECT throws_ok(format($$SELECT healthpass.bind_companion(%s, 'passport', %L)$$, :b1, :'b2_doc'),
    '23514', NULL, 'B1, a companion, cannot bind B2: groups do not nest');
SELECT throws_ok(format($$SELECT healthpass.bind_companion(%s, 'passport', (SELECT 'X' || lpad(n::text, 7, '0') FROM pg_temp.t WHERE pid = %s))$$, :b2, :a1),
    '23514', NULL, 'B2 cannot bind A1, a registrant with companions, across workers either');
SELECT lives_ok(format($$SELECT healthpass.unbind_companion(%s, 'passport', %L)$$, :a1, :'b1_doc'),
    'A1 unbinds B1');
SELECT count(*)::integer AS n FROM healthpass.companion_of WHERE person_id = :b1 \gset
SELECT is(:n::integer, 0, 'the mirror on B1''s worker is gone with it');
SELECT is(healthpass.bind_companion(:a2, 'passport', :'b1_doc'), 2, 'and B1 is free to join A2''s group');

-- family: the guardian on one worker, a member registered by proxy on the other
CREATE FUNCTION pg_temp.member_on(guardian bigint, port integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE m bigint;
BEGIN
    FOR i IN 1 .. 8 LOOP
        m := healthpass.add_family_member(guardian, 'passport', 'F' || lpad(i::text, 7, '0'),
                                          'Member ' || chr(64 + i), 'child', '2015-01-01', NULL, 'GBR');
        IF pg_temp.node(m) = port THEN
            RETURN m;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
SELECT pg_temp.member_on(:a1, :wb) AS m \gset
SELECT ok(pg_temp.node(:m) = :wb, 'a member A1 registered by proxy lives on the other worker');
SELECT ok((SELECT bool_or(member_id = :m) FROM healthpass.family_members(:a1)), 'the guardian lists the member');
SELECT healthpass.record_test_result(:m, 'Lab', 'FM-1', now() - interval '2 hours', 'negative') AS r \gset
SELECT is((SELECT result FROM healthpass.family_test_results(:a1) WHERE member_id = :m), 'negative',
          'the member''s result, recorded on their worker, reaches the guardian''s page');
SELECT is((SELECT v.kind || ':' || v.valid FROM healthpass.verify_token(healthpass.family_member_code(:a1, :m)) v),
          'personal:true', 'the guardian prints the member''s personal code');
SELECT throws_ok(format($$SELECT healthpass.family_member_code(%s, %s)$$, :a2, :m),
    '42501', NULL, 'another person on the guardian''s worker cannot');

-- venue staff: a venue (reference table), staff on one worker, the person
-- scanned on the other, the scan on the venue's shard
SELECT healthpass.register_venue(:a3, 'uscc', '91350100M000100Y43', '太平镇图书馆', '太平镇', '人民路 1 号',
                                 '0537-1234567', '\xffd8ffe000104a46494600') AS v1 \gset
SELECT healthpass.register_venue(:a3, 'uscc', '91350100M000100Y43', '太平镇菜市场', '太平镇', '人民路 9 号',
                                 '0537-1234568', '\xffd8ffe000104a46494600') AS v2 \gset
SELECT healthpass.person_info(:b3) ->> 'name' AS b3_name \gset
SELECT is(healthpass.add_venue_staff(:a3, :v1, 'passport', :'b3_doc', :'b3_name'), :b3::bigint,
          'the manager on one worker adds staff from the other');
SELECT token AS a2_code FROM healthpass.health_code(:a2) \gset
SELECT is((SELECT valid::text || ':' || decision FROM healthpass.staff_scan(:b3, :v1, :'a2_code')), 'true:admit',
          'the staff member scans a traveller whose rows are on the manager''s worker');
SELECT count(*)::integer AS n FROM healthpass.scan WHERE venue_id = :v1 AND person_id = :a2 AND staff_id = :b3 \gset
SELECT is(:n::integer, 1, 'the scan is kept on the venue''s shard, with the staff member');
SELECT lives_ok(format($$SELECT healthpass.remove_venue_staff(%s, %s, %s)$$, :a3, :v1, :b3), 'the manager removes them');
SELECT throws_ok(format($$SELECT * FROM healthpass.staff_scan(%s, %s, %L)$$, :b3, :v1, :'a2_code'),
    '42501', NULL, 'and they can scan no more');

-- contact tracing: the case (A1) at two venues; B1 met them at the first,
-- A2 at the second, B2 was elsewhere; the contacts are on both workers
SELECT healthpass.venue_code(:a3, :v1) AS code1, healthpass.venue_code(:a3, :v2) AS code2 \gset
SELECT recorded AS s1 FROM healthpass.scan_venue_code(:a1, :'code1') \gset
SELECT recorded AS s2 FROM healthpass.scan_venue_code(:a1, :'code2') \gset
SELECT recorded AS s3 FROM healthpass.scan_venue_code(:b1, :'code1') \gset
SELECT recorded AS s4 FROM healthpass.scan_venue_code(:a2, :'code2') \gset
SELECT ok(pg_temp.node(:a1) <> pg_temp.node(:b1) AND pg_temp.node(:a1) = pg_temp.node(:a2),
          'the case and one contact are on one worker, the other contact on the other');
SELECT trace_id AS tr FROM healthpass.trace_contacts(:a1, now() - interval '1 hour', now()) LIMIT 1 \gset
SELECT is((SELECT string_agg(person_ref::text, ',' ORDER BY person_ref) FROM healthpass.trace_result(:tr)),
          (SELECT string_agg(r, ',' ORDER BY r) FROM (SELECT healthpass.person_info(:b1) ->> 'ref' AS r
                                                      UNION ALL SELECT healthpass.person_info(:a2) ->> 'ref') x),
          'the trace finds both contacts, one on each worker, and nobody else');
SELECT is(healthpass.mark_traced_contacts(:tr), 2, 'both are marked close contacts');
SELECT is((SELECT colour::text FROM healthpass.colour_status(:b1)), 'red', 'the contact on the other worker is red at once');
SELECT is((SELECT colour::text FROM healthpass.colour_status(:a2)), 'red', 'and the one on the case''s worker');
SELECT is((SELECT colour::text FROM healthpass.colour_status(:b2)), 'green', 'someone who met nobody stays green');

-- a risk area re-colours people on both workers in one call
SELECT healthpass.declare_health(:a3, false, false, ARRAY['广东省深圳市南山区']);
SELECT healthpass.declare_health(:b3, false, false, ARRAY['广东省深圳市南山区']);
SELECT healthpass.declare_risk_area('广东省深圳市') AS area \gset
SELECT quote_nullable((SELECT string_agg(colour::text, ',') FROM healthpass.colour_current WHERE person_id IN (:a3, :b3))) AS got \gset
SELECT is(:got::text, 'yellow,yellow', 'declaring an area re-colours its travellers on both workers at once');
SELECT healthpass.lift_risk_area(:area);
SELECT quote_nullable((SELECT string_agg(colour::text, ',') FROM healthpass.colour_current WHERE person_id IN (:a3, :b3))) AS got \gset
SELECT is(:got::text, 'green,green', 'lifting it re-colours them back');

-- a rule change: a re-colouring job over every shard
SELECT healthpass.add_colour_rule('yellow', 'temperature 37.0 °C or higher',
                                  '{"fact": "temperature", "op": ">=", "value": 37.0}', 95) AS rule \gset
SELECT healthpass.declare_health(:b2, false, false, '{}', NULL, NULL, 37.5);
SELECT healthpass.declare_health(:a3, false, false, '{}', NULL, NULL, 37.2);
SELECT healthpass.declare_health(:b3, false, false, '{}', NULL, NULL, 36.5);
SELECT ok(healthpass.recolour_all() >= 0, 'the job runs over both workers');
SELECT count(*) AS everyone FROM healthpass.person \gset
SELECT is((SELECT state || ':' || done || '/' || total FROM healthpass.recolour_progress()),
          'done:' || :everyone || '/' || :everyone, 'everyone is brought to the new rules');
SELECT count(*)::integer AS n FROM healthpass.colour_current WHERE ruleset < (SELECT max(version) FROM healthpass.colour_rulesets()) \gset
SELECT is(:n::integer, 0, 'nobody on either worker is left on the old rule set');
SELECT quote_nullable((SELECT string_agg(colour::text, ',' ORDER BY person_id) FROM healthpass.colour_current WHERE person_id IN (:a3, :b2))) AS got \gset
SELECT is(:got::text, 'yellow,yellow', 'a fever on either worker is yellow under the new rule');
SELECT is((SELECT colour::text FROM healthpass.colour_status(:b3)), 'green', 'and the others keep green');

-- the hot single-person calls stay on one shard
SELECT ok((SELECT bool_or(l ~ 'Task Count: 1') FROM (SELECT * FROM pg_temp.explain(format('SELECT * FROM healthpass.colour_current WHERE person_id = %s', :b1))) e(l)),
          'one person''s colour is one task');
SELECT * FROM finish();
