-- reports on the scan history for DBAs (issue 11, item 6): scans per venue,
-- per street, hourly load, non-green encounters, staff activity, venues
-- without scans; suppression of small cells; who may see exact counts;
-- bad ranges; partition pruning and the venue index
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT plan(58);

-- ISO 7064 MOD 11-2 check character of 17 digits
CREATE FUNCTION pg_temp.cnid(d17 text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN d17 || substr('10X98765432',
    (SELECT sum(substr(d17, i, 1)::integer * ((2 ^ (18 - i))::integer % 11)) FROM generate_series(1, 17) i)::integer % 11 + 1, 1);

-- venues, staff and ten visitors, made through the API ------------------------------
SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明', phone => '13800138000') AS m \gset
SELECT healthpass.register_person('cn_resident_id', '440104199003071247', '李红', phone => '13900139000') AS s \gset
SELECT healthpass.register_person('cn_resident_id', '440106198506125313', '周建国', phone => '13700137000') AS s2 \gset
CREATE TEMP TABLE visitor AS
SELECT i, healthpass.register_person('cn_resident_id', pg_temp.cnid('44010419850101' || lpad(i::text, 3, '0')), n,
                                     phone => '1350000' || lpad(i::text, 4, '0')) AS pid
  FROM unnest(ARRAY['赵一', '钱二', '孙三', '李四', '周五', '吴六', '郑七', '王八', '冯九', '陈十']) WITH ORDINALITY u(n, i);
SELECT string_agg(format('%s AS v%s', pid, i), ', ' ORDER BY i) AS vs FROM visitor \gset
SELECT :vs \gset
SELECT healthpass.register_venue(:m, 'uscc', '91350100M000100Y43', '太平镇图书馆', '太平镇', '人民路 1 号',
                                 '0537-1234567', '\xffd8ffe000104a46494600') AS va,
       healthpass.register_venue(:m, 'uscc', '91350100M000100Y43', '太平镇超市', '太平镇', '人民路 2 号',
                                 '0537-1234567', '\xffd8ffe000104a46494600') AS vb,
       healthpass.register_venue(:m, 'uscc', '91350100M000100Y43', '新城书店', '新城街道', '新城路 3 号',
                                 '0537-1234567', '\xffd8ffe000104a46494600') AS vc,
       healthpass.register_venue(:m, 'uscc', '91350100M000100Y43', '冷清小店', '新城街道', '新城路 4 号',
                                 '0537-1234567', '\xffd8ffe000104a46494600') AS vq,
       healthpass.register_venue(:m, 'uscc', '91350100M000100Y43', '已关小店', '新城街道', '新城路 5 号',
                                 '0537-1234567', '\xffd8ffe000104a46494600') AS vx \gset
SELECT healthpass.add_venue_staff(:m, :va, 'cn_resident_id', '440104199003071247', '李红') = :s AS added,
       healthpass.add_venue_staff(:m, :vb, 'cn_resident_id', '440104199003071247', '李红') = :s AS added,
       healthpass.add_venue_staff(:m, :vb, 'cn_resident_id', '440106198506125313', '周建国') = :s2 AS added \gset
SELECT healthpass.close_venue(:m, :vx, 'moved away') AS closed \gset
SELECT public_ref AS s_ref FROM healthpass.person WHERE person_id = :s \gset
SELECT public_ref AS s2_ref FROM healthpass.person WHERE person_id = :s2 \gset

-- today, through the API: a self-scan, a staff scan and a manual check at A ---------
SELECT count(*) FROM healthpass.declare_health(:v1, false, false) \gset
SELECT count(*) FROM healthpass.declare_health(:v2, false, false) \gset
SELECT count(*) FROM healthpass.declare_health(:v9, true, false) \gset
SELECT count(*) AS made FROM healthpass.scan_maintenance() \gset
SELECT healthpass.venue_code(:m, :va) AS acode \gset
SELECT healthpass.personal_code(:v2) AS v2code \gset
SELECT decision AS dec1 FROM healthpass.scan_venue_code(:v1, :'acode') \gset
SELECT decision AS dec2 FROM healthpass.staff_scan(:s, :va, :'v2code') \gset
SELECT decision AS dec3 FROM healthpass.staff_manual_check(:s, :va, 'cn_resident_id',
       pg_temp.cnid('44010419850101009'), '冯九', '13500000009') \gset
SELECT date_trunc('day', now()) AS today, date_trunc('day', now()) + interval '1 day' AS tomorrow \gset

SELECT is((SELECT string_agg(method || '/' || colour || '/' || decision || '=' || scans || ':' || people || ':' || suppressed,
                             ', ' ORDER BY method)
             FROM healthpass.report_venue_day(:'today', :'tomorrow', exported => false)
            WHERE venue_id = :va),
          'manual/yellow/check=1:1:false, self/green/admit=1:1:false, staff/green/admit=1:1:false',
          'scans made through the API are reported by method, colour and decision');
SELECT is((SELECT string_agg(coalesce(scans::text, '-') || ':' || coalesce(people::text, '-') || ':' || suppressed, ', ')
             FROM healthpass.report_venue_day(:'today', :'tomorrow') WHERE venue_id = :va),
          '-:-:true, -:-:true, -:-:true', 'exported, cells of one person are suppressed');

-- history, inserted as the superuser: day b (three days ago) and b + 1 -------------
SELECT date_trunc('day', now()) - interval '3 days' AS d0, date_trunc('day', now()) - interval '2 days' AS d1,
       date_trunc('day', now()) - interval '1 day' AS d2 \gset
SELECT healthpass_internal.hp_scan_partition((:'d0'::timestamptz AT TIME ZONE 'UTC')::date) IS NOT NULL AS p,
       healthpass_internal.hp_scan_partition((:'d1'::timestamptz AT TIME ZONE 'UTC')::date) IS NOT NULL AS p \gset
INSERT INTO healthpass.scan (scanned_at, venue_id, person_id, staff_id, method, code_kind, colour, decision)
SELECT :'d0'::timestamptz + t::interval, venue, person, staff, method::"char", kind::"char", colour::healthpass.health_colour,
       decision::"char"
  FROM (VALUES
    -- A, day b: six people scan the poster at 8, one of them again at 12
    ('08:00:01', :va, :v1, NULL, 's', NULL, 'green', 'a'), ('08:00:02', :va, :v2, NULL, 's', NULL, 'green', 'a'),
    ('08:00:03', :va, :v3, NULL, 's', NULL, 'green', 'a'), ('08:00:04', :va, :v4, NULL, 's', NULL, 'green', 'a'),
    ('08:00:05', :va, :v5, NULL, 's', NULL, 'green', 'a'), ('08:00:06', :va, :v6, NULL, 's', NULL, 'green', 'a'),
    ('12:00:00', :va, :v1, NULL, 's', NULL, 'green', 'a'),
    -- staff scan two codes at 9, check one person by hand at 10; a red code at 10:30
    ('09:00:01', :va, :v7, :s, 't', 'h', 'green', 'a'), ('09:00:02', :va, :v8, :s, 't', 'p', 'green', 'a'),
    ('10:00:00', :va, :v9, :s, 'm', NULL, 'yellow', 'c'), ('10:30:00', :va, :v10, NULL, 's', NULL, 'red', 'r'),
    -- C, day b: three people and a light green one, early
    ('01:23:45', :vc, :v1, NULL, 's', NULL, 'green', 'a'), ('01:23:46', :vc, :v2, NULL, 's', NULL, 'green', 'a'),
    ('01:23:47', :vc, :v3, NULL, 's', NULL, 'green', 'a'), ('01:20:00', :vc, :v4, NULL, 's', NULL, 'light_green', 'd'),
    -- B, day b + 1: staff scan five codes late; the second staff member checks one by hand; a red code
    ('1 day 23:50:01', :vb, :v1, :s, 't', 'h', 'green', 'a'), ('1 day 23:50:02', :vb, :v2, :s, 't', 'h', 'green', 'a'),
    ('1 day 23:50:03', :vb, :v3, :s, 't', 'h', 'green', 'a'), ('1 day 23:50:04', :vb, :v4, :s, 't', 'h', 'green', 'a'),
    ('1 day 23:50:05', :vb, :v5, :s, 't', 'e', 'green', 'a'),
    ('1 day 10:00:00', :vb, :v6, :s2, 'm', NULL, 'yellow', 'c'), ('1 day 11:00:00', :vb, :v10, NULL, 's', NULL, 'red', 'r')
  ) d(t, venue, person, staff, method, kind, colour, decision);

-- scans per venue per day ------------------------------------------------------------
CREATE TEMP VIEW cells AS
SELECT venue_name || '/' || method || '/' || colour || '/' || decision || '='
       || coalesce(scans::text, '-') || ':' || coalesce(people::text, '-') || CASE WHEN suppressed THEN '*' ELSE '' END AS cell,
       venue_id, method, colour, decision, day, exported
  FROM (SELECT r.*, false AS exported FROM healthpass.report_venue_day(:'d0', :'d1', exported => false) r
        UNION ALL
        SELECT r.*, true FROM healthpass.report_venue_day(:'d0', :'d1') r) x;
SELECT is((SELECT string_agg(cell, ', ' ORDER BY venue_id, method, colour, decision) FROM cells WHERE NOT exported),
          '太平镇图书馆/manual/yellow/check=1:1, 太平镇图书馆/self/green/admit=7:6, 太平镇图书馆/self/red/refuse=1:1, '
          '太平镇图书馆/staff/green/admit=2:2, 新城书店/self/green/admit=3:3, 新城书店/self/light_green/declare=1:1',
          'exact counts: scans and distinct people per venue, day, method, colour and decision');
SELECT is((SELECT string_agg(cell, ', ' ORDER BY venue_id, method, colour, decision) FROM cells WHERE exported),
          '太平镇图书馆/manual/yellow/check=-:-*, 太平镇图书馆/self/green/admit=7:6, 太平镇图书馆/self/red/refuse=-:-*, '
          '太平镇图书馆/staff/green/admit=-:-*, 新城书店/self/green/admit=-:-*, 新城书店/self/light_green/declare=-:-*',
          'exported: cells of fewer than 5 people show NULL and are flagged');
SELECT is((SELECT array_agg(DISTINCT day) FROM cells), ARRAY[:'d0'::timestamptz],
          'the day is the start of the day in the session''s time zone; the range ends before b + 1');
SELECT is((SELECT street FROM healthpass.report_venue_day(:'d0', :'d1') WHERE venue_id = :vc LIMIT 1), '新城街道',
          'with the venue''s street');
SELECT is((SELECT string_agg(method || '=' || scans, ',' ORDER BY method)
             FROM healthpass.report_venue_day(:'d0', :'d2', venue => :vb, exported => false)),
          'manual=1,self=1,staff=5', 'one venue''s days');
SELECT is((SELECT count(*)::integer FROM healthpass.report_venue_day(:'d0', :'d1', venue => :vq)), 0,
          'a venue without scans has no rows');

-- the smallest cell is a setting ----------------------------------------------------
SELECT healthpass.configure('report_min_cell', '2') AS k \gset
SELECT is((SELECT string_agg(cell, ', ' ORDER BY venue_id, method, colour, decision)
             FROM (SELECT venue_name || '/' || method || '=' || coalesce(scans::text, '-') AS cell, venue_id, method, colour, decision
                     FROM healthpass.report_venue_day(:'d0', :'d1') WHERE venue_id = :va) x),
          '太平镇图书馆/manual=-, 太平镇图书馆/self=7, 太平镇图书馆/self=-, 太平镇图书馆/staff=2',
          'report_min_cell 2: cells of two people are shown, of one suppressed');
SELECT healthpass.configure('report_min_cell', NULL) AS k \gset

-- per street ---------------------------------------------------------------------------
SELECT is((SELECT string_agg(to_char(day, 'DD') || ' ' || street || ' ' || venues || '/' || scans || '/' || people, ', '
                             ORDER BY day, street)
             FROM healthpass.report_street_day(:'d0', :'d2', exported => false)),
          to_char(:'d0'::timestamptz, 'DD') || ' 太平镇 1/11/10, ' || to_char(:'d0'::timestamptz, 'DD') || ' 新城街道 1/4/4, '
          || to_char(:'d1'::timestamptz, 'DD') || ' 太平镇 1/7/7',
          'per street and day: venues scanned, scans, people');
SELECT is((SELECT string_agg(street || ' ' || coalesce(scans::text, '-') || '/' || coalesce(people::text, '-') || ' ' || suppressed,
                             ', ' ORDER BY day, street)
             FROM healthpass.report_street_day(:'d0', :'d2')),
          '太平镇 11/10 false, 新城街道 -/- true, 太平镇 7/7 false', 'exported: the street of four people is suppressed');

-- hourly load ---------------------------------------------------------------------------
CREATE TEMP TABLE hourly AS SELECT * FROM healthpass.report_hourly_load(:'d0', :'d1', exported => false);
SELECT is((SELECT count(*)::integer FROM hourly), 24, 'one row for every hour of the range, empty hours too');
SELECT is((SELECT sum(scans)::integer FROM hourly), 15, 'every scan of the day is in one hour');
SELECT is((SELECT string_agg(extract(hour FROM hour) || ':' || scans || '/' || self_scans || '/' || staff_scans || '/'
                             || manual_checks || '/' || venues || '/' || people, ', ' ORDER BY hour)
             FROM hourly WHERE scans > 0),
          '1:4/4/0/0/1/4, 8:6/6/0/0/1/6, 9:2/0/2/0/1/2, 10:2/1/0/1/1/2, 12:1/1/0/0/1/1',
          'scans by method, venues and people per hour');
SELECT is((SELECT string_agg(extract(hour FROM hour) || ':' || coalesce(scans::text, '-') || ':' || suppressed, ', ' ORDER BY hour)
             FROM healthpass.report_hourly_load(:'d0', :'d1') WHERE extract(hour FROM hour) IN (1, 3, 8, 9)),
          '1:-:true, 3:0:false, 8:6:false, 9:-:true', 'exported: small hours suppressed, empty hours are zeros');
SELECT is((SELECT string_agg(extract(hour FROM hour) || ':' || scans, ', ' ORDER BY hour)
             FROM healthpass.report_hourly_load(:'d0', :'d1', venue => :vc, exported => false) WHERE scans > 0),
          '1:4', 'one venue''s hours');
SELECT is((SELECT count(*)::integer FROM healthpass.report_hourly_load(:'d0'::timestamptz + interval '90 minutes',
                                                                       :'d0'::timestamptz + interval '3 hours')),
          2, 'a range starting inside an hour starts with that hour');

-- non-green encounters --------------------------------------------------------------------
SELECT is((SELECT string_agg(venue_name || ' ' || light_green || '/' || yellow || '/' || red, ', ' ORDER BY day, venue_id)
             FROM healthpass.report_non_green(:'d0', :'d2', exported => false)),
          '太平镇图书馆 0/1/1, 新城书店 1/0/0, 太平镇超市 0/1/1',
          'people met with a light green, yellow or red code per venue and day');
SELECT is((SELECT string_agg(venue_name || ' ' || coalesce(light_green::text, '-') || '/' || coalesce(yellow::text, '-') || '/'
                             || coalesce(red::text, '-') || ' ' || suppressed, ', ' ORDER BY day, venue_id)
             FROM healthpass.report_non_green(:'d0', :'d2')),
          '太平镇图书馆 0/-/- true, 新城书店 -/0/0 true, 太平镇超市 0/-/- true',
          'exported: single encounters suppressed, zeros shown');

-- staff activity -----------------------------------------------------------------------------
SELECT is((SELECT string_agg(to_char(day, 'DD') || ' ' || staff_masked || ' ' || venues || '/' || scans || '/'
                             || manual_checks || '/' || people, ', ' ORDER BY day, scans)
             FROM healthpass.report_staff_activity(:'d0', :'d2', exported => false)),
          to_char(:'d0'::timestamptz, 'DD') || ' 李* 1/2/1/3, ' || to_char(:'d1'::timestamptz, 'DD') || ' 周*国 1/0/1/1, '
          || to_char(:'d1'::timestamptz, 'DD') || ' 李* 1/5/0/5',
          'per staff member and day: venues, codes scanned, manual checks, people');
SELECT is((SELECT array_agg(DISTINCT staff_ref ORDER BY staff_ref) FROM healthpass.report_staff_activity(:'d0', :'d2')),
          (SELECT array_agg(r ORDER BY r) FROM unnest(ARRAY[:'s_ref'::uuid, :'s2_ref'::uuid]) r),
          'staff appear by person_ref');
SELECT is((SELECT string_agg(staff_masked || ' ' || venues || '/' || coalesce(scans::text, '-') || '/'
                             || coalesce(manual_checks::text, '-') || ' ' || suppressed, ', ' ORDER BY day, scans NULLS FIRST)
             FROM healthpass.report_staff_activity(:'d0', :'d2')),
          '李* 1/-/- true, 周*国 1/-/- true, 李* 1/5/0 false', 'exported: a day of fewer than five people is suppressed');
SELECT is((SELECT scans::integer FROM healthpass.report_staff_activity(:'today', :'tomorrow', exported => false)
            WHERE staff_ref = :'s_ref'), 1, 'today''s staff scan through the API');

-- venues without scans ------------------------------------------------------------------------
SELECT is((SELECT string_agg(venue_name || ' ' || status || ' ' || coalesce(days_since::text, '-'), ', ' ORDER BY venue_id)
             FROM healthpass.report_quiet_venues(2)),
          '新城书店 active ' || floor(extract(epoch FROM now() - (:'d0'::timestamptz + interval '01:23:47')) / 86400) || ', 冷清小店 active -',
          'venues without a scan for two days: the last scan two or three days ago, and none at all');
SELECT is((SELECT last_scan_at FROM healthpass.report_quiet_venues(2) WHERE venue_id = :vc),
          :'d0'::timestamptz + interval '1 hour', 'exported: the last scan to the hour');
SELECT is((SELECT last_scan_at FROM healthpass.report_quiet_venues(2, exported => false) WHERE venue_id = :vc),
          :'d0'::timestamptz + interval '01:23:47', 'the health authority sees the instant');
SELECT is((SELECT string_agg(venue_name || ' ' || status, ', ' ORDER BY venue_id) FROM healthpass.report_quiet_venues(2, true)
            WHERE venue_id IN (:vq, :vx)),
          '冷清小店 active, 已关小店 closed', 'closed venues when asked for');
SELECT ok((SELECT registered_at <= now() FROM healthpass.report_quiet_venues(2) WHERE venue_id = :vq),
          'with when the venue was registered');
SELECT is((SELECT count(*)::integer FROM healthpass.report_quiet_venues(366) WHERE venue_id IN (:va, :vb, :vc)), 0,
          'venues scanned within the days are not listed');

-- bad ranges and arguments ---------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM healthpass.report_venue_day(NULL, now())$$, '22004', 'from_at is missing',
                 'a range has a start');
SELECT throws_ok($$SELECT * FROM healthpass.report_street_day(now(), NULL)$$, '22004', 'to_at is missing',
                 'and an end');
SELECT throws_ok($$SELECT * FROM healthpass.report_hourly_load('-infinity', now())$$, '22008', NULL,
                 'an infinite start is refused');
SELECT throws_ok($$SELECT * FROM healthpass.report_non_green(now(), now())$$, '22023', NULL,
                 'an empty range is refused');
SELECT throws_ok($$SELECT * FROM healthpass.report_staff_activity('2024-01-02 00:00+00', '2024-01-01 00:00+00')$$, '22023',
                 'report range from "2024-01-02 00:00:00+00" to "2024-01-01 00:00:00+00" is empty',
                 'a range that ends before it starts is refused');
SELECT throws_ok($$SELECT * FROM healthpass.report_venue_day('2023-01-01 00:00+00', '2024-01-03 00:00+00')$$, '22023',
                 'report range from "2023-01-01 00:00:00+00" to "2024-01-03 00:00:00+00" is longer than 366 days',
                 'a range covers at most 366 days');
SELECT lives_ok($$SELECT * FROM healthpass.report_hourly_load('2024-01-01 00:00+00', '2025-01-01 00:00+00')$$,
                'a leap year is 366 days');
SELECT throws_ok($$SELECT * FROM healthpass.report_venue_day(now() - interval '1 day', now(), venue => 999999)$$,
                 'P0002', 'venue 999999 does not exist', 'an unknown venue is refused');
SELECT throws_ok($$SELECT * FROM healthpass.report_quiet_venues(0)$$, '22023', 'quiet days "0" is out of range',
                 'quiet days are 1 to 366');
SELECT throws_ok($$SELECT * FROM healthpass.report_quiet_venues(NULL)$$, '22023', 'quiet days "NULL" is out of range',
                 'and given');
SELECT throws_ok($$SELECT * FROM healthpass.report_street_day(now() - interval '1 day', now(), NULL)$$, '22004',
                 'exported is missing', 'exported is true or false');

-- who may call them -----------------------------------------------------------------------------
SELECT is((SELECT string_agg(p.proname || ':' || has_function_privilege('healthpass_report', p.oid, 'EXECUTE')
                             || has_function_privilege('healthpass_health', p.oid, 'EXECUTE')
                             || has_function_privilege('healthpass_admin', p.oid, 'EXECUTE')
                             || has_function_privilege('healthpass_app', p.oid, 'EXECUTE')
                             || has_function_privilege('healthpass_scanner', p.oid, 'EXECUTE'), ',' ORDER BY p.proname)
             FROM pg_proc p WHERE p.pronamespace = 'healthpass'::regnamespace AND p.proname LIKE 'report\_%'),
          'report_hourly_load:truetruetruefalsefalse,report_non_green:truetruetruefalsefalse,'
          'report_quiet_venues:truetruetruefalsefalse,report_staff_activity:truetruetruefalsefalse,'
          'report_street_day:truetruetruefalsefalse,report_venue_day:truetruetruefalsefalse',
          'six reports for the report role, the health authority and administrators; not for apps or scanners');
SELECT is((SELECT count(*)::integer FROM pg_proc p WHERE p.pronamespace = 'healthpass'::regnamespace
             AND p.proname LIKE 'report\_%' AND p.prosecdef AND p.provolatile = 's' AND NOT p.proisstrict
             AND p.proconfig = ARRAY['search_path=healthpass, healthpass_internal, pg_temp']),
          6, 'SECURITY DEFINER, STABLE, not STRICT, with the search_path');
SET ROLE healthpass_app;
SELECT throws_ok($$SELECT * FROM healthpass.report_venue_day(now() - interval '1 day', now())$$, '42501',
                 'permission denied for function report_venue_day', 'an app server reads no report');
RESET ROLE;
SET ROLE healthpass_scanner;
SELECT throws_ok($$SELECT * FROM healthpass.report_staff_activity(now() - interval '1 day', now())$$, '42501',
                 'permission denied for function report_staff_activity', 'nor does a scanner');
RESET ROLE;
CREATE TEMP TABLE refused (f text, state text, msg text);
GRANT ALL ON refused TO PUBLIC;
SET ROLE healthpass_report;
SELECT is((SELECT string_agg(coalesce(scans::text, '-'), ',' ORDER BY venue_id, method, colour, decision)
             FROM healthpass.report_venue_day(:'d0', :'d1')),
          '-,7,-,-,-,-', 'the report role reads suppressed reports');
DO $$
DECLARE
    q text;
BEGIN
    FOREACH q IN ARRAY ARRAY[
        'SELECT * FROM healthpass.report_venue_day(now() - interval ''1 day'', now(), exported => false)',
        'SELECT * FROM healthpass.report_street_day(now() - interval ''1 day'', now(), exported => false)',
        'SELECT * FROM healthpass.report_hourly_load(now() - interval ''1 day'', now(), exported => false)',
        'SELECT * FROM healthpass.report_non_green(now() - interval ''1 day'', now(), exported => false)',
        'SELECT * FROM healthpass.report_staff_activity(now() - interval ''1 day'', now(), exported => false)',
        'SELECT * FROM healthpass.report_quiet_venues(7, exported => false)'] LOOP
        BEGIN
            EXECUTE q;
            INSERT INTO refused VALUES (q, 'accepted', NULL);
        EXCEPTION WHEN others THEN
            INSERT INTO refused VALUES (q, SQLSTATE, SQLERRM);
        END;
    END LOOP;
END $$;
SELECT is((SELECT string_agg(DISTINCT state || ' ' || msg, '; ') FROM refused),
          '42501 role "healthpass_report" may not see unsuppressed counts',
          'the report role may not pass exported => false to any report');
SELECT is((SELECT count(*)::integer FROM refused), 6, 'all six were tried');
RESET ROLE;
SET ROLE healthpass_health;
SELECT is((SELECT string_agg(coalesce(scans::text, '-'), ',' ORDER BY venue_id, method, colour, decision)
             FROM healthpass.report_venue_day(:'d0', :'d1', exported => false)),
          '1,7,1,2,3,1', 'the health authority sees exact counts');
SELECT is((SELECT string_agg(coalesce(scans::text, '-'), ',' ORDER BY venue_id, method, colour, decision)
             FROM healthpass.report_venue_day(:'d0', :'d1')),
          '-,7,-,-,-,-', 'and suppressed ones when it exports');
RESET ROLE;
SET ROLE healthpass_admin;
SELECT is((SELECT sum(scans)::integer FROM healthpass.report_hourly_load(:'d0', :'d1', exported => false)), 15,
          'an administrator sees exact counts');
RESET ROLE;
-- a login role's own memberships count when it has not SET ROLE (session_user)
CREATE ROLE hp_tap_dba LOGIN IN ROLE healthpass_report;
CREATE ROLE hp_tap_officer LOGIN IN ROLE healthpass_health, healthpass_report;
SET SESSION AUTHORIZATION hp_tap_dba;
SELECT throws_ok($$SELECT * FROM healthpass.report_non_green(now() - interval '1 day', now(), exported => false)$$,
                 '42501', 'role "hp_tap_dba" may not see unsuppressed counts', 'a DBA login may not see exact counts');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION hp_tap_officer;
SELECT is((SELECT sum(yellow)::integer FROM healthpass.report_non_green(:'d0', :'d2', exported => false)), 2,
          'a health officer''s login may');
SET ROLE healthpass_report;
SELECT throws_ok($$SELECT * FROM healthpass.report_non_green(now() - interval '1 day', now(), exported => false)$$,
                 '42501', 'role "healthpass_report" may not see unsuppressed counts',
                 'acting as the report role (SET ROLE), the same login may not');
RESET ROLE;
RESET SESSION AUTHORIZATION;
DROP ROLE hp_tap_dba;
DROP ROLE hp_tap_officer;

-- no names or ID numbers ------------------------------------------------------------------------
SELECT is((SELECT count(*)::integer FROM pg_proc p, unnest(p.proallargtypes::regtype[], p.proargnames, p.proargmodes) a(t, n, mode)
            WHERE p.pronamespace = 'healthpass'::regnamespace AND p.proname LIKE 'report\_%' AND a.mode = 't'
              AND (a.n IN ('name', 'doc_number', 'id_number', 'phone', 'person_id') OR a.n LIKE '%document%')),
          0, 'no report returns a name, a document or a phone number');
SELECT is((SELECT count(*)::integer FROM healthpass.report_staff_activity(:'d0', :'d2', exported => false)
            WHERE staff_masked IN ('李红', '周建国')), 0, 'staff names are masked');

-- partition pruning and the venue index -------------------------------------------------------------
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r record;
    t text := '';
BEGIN
    FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        t := t || r."QUERY PLAN" || E'\n';
    END LOOP;
    RETURN t;
END $$;
SELECT pg_temp.plan_of(format('SELECT * FROM healthpass_internal.hp_report_venue_day_rows(%L, %L)', :'d0', :'d1')) AS plan_day \gset
SELECT is((SELECT array_agg(DISTINCT m[1]) FROM regexp_matches(:'plan_day', 'on (scan_[0-9]{8})', 'g') m),
          ARRAY['scan_' || to_char(:'d0'::timestamptz, 'YYYYMMDD')], 'a day''s report reads that day''s partition only');
SELECT pg_temp.plan_of(format('SELECT * FROM healthpass_internal.hp_report_hourly_rows(%L, %L, %s)', :'d0', :'d2', :va)) AS plan_venue \gset
SELECT ok(:'plan_venue' ~ '(Index (Only )?Scan using|Bitmap Index Scan on) scan_[0-9]{8}_venue'
          AND :'plan_venue' !~ 'Seq Scan',
          'one venue''s report reads the venue index of each day');
-- on a Citus cluster report_quiet_venues reads each venue's latest scan with
-- a statement of its own (hp_report_last_scan_sql), one shard a venue
CREATE FUNCTION pg_temp.plan_of_venue(q text, v bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r record;
    t text := '';
BEGIN
    FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q USING v, now() LOOP
        t := t || r."QUERY PLAN" || E'\n';
    END LOOP;
    RETURN t;
END $$;
SELECT CASE WHEN current_setting('citus.version', true) IS NULL
            THEN pg_temp.plan_of('SELECT * FROM healthpass_internal.hp_report_last_scan_rows()')
            ELSE pg_temp.plan_of_venue(healthpass_internal.hp_report_last_scan_sql(), :vc) END AS plan_last \gset
SELECT ok(:'plan_last' ~ 'Limit' AND :'plan_last' ~ 'Index (Only )?Scan Backward using scan_[0-9]{8}_venue',
          'a venue''s last scan is read backwards through the venue index, newest day first');

SELECT * FROM finish();
