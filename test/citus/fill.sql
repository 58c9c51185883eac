-- test/citus/fill.sql: fills a fresh healthpass through its API, before
-- distribute(): people with entry registrations, companions, e-passes,
-- family members, declarations, test results, a risk mark, health codes,
-- venues with staff, scans, an alert and a contact trace.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
SET search_path = healthpass, public;

-- an 18-digit resident id with its check digit (GB 11643)
CREATE FUNCTION pg_temp.rid(body text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT body || substr('10X98765432',
             (SELECT sum(substr(body, i, 1)::int * (ARRAY[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2])[i]) % 11
                FROM generate_series(1, 17) i)::int + 1, 1)
$$;

SELECT publish_notice('registration_notice', 'Notice', 'Read me.');
SELECT publish_notice('commitment_letter', 'Letter', 'I promise.');

-- 40 people, each with an entry registration
CREATE TEMP TABLE people AS
SELECT i, register_person('cn_resident_id', pg_temp.rid('44010419900101' || lpad(i::text, 3, '0')),
                          (ARRAY['王','李','张','刘','陈'])[i % 5 + 1] || (ARRAY['小明','红','伟','芳','强','丽','军','静'])[i % 8 + 1]) AS pid
  FROM generate_series(1, 40) i;
SELECT count(submit_entry(pid, 1, jsonb_build_object(
         'arrival_port', 'Gongbei', 'arrival_date', current_date::text, 'transport_mode', 'on_foot',
         'departure_country', 'MAC', 'departure_city', 'Macau', 'destination_district', 'Chancheng',
         'destination_address', '2 Zumiao Road', 'contact_phone', '13800138000', 'purpose', 'tourism')))
  FROM people;
-- companions: person 1 leads 2 and 3, person 4 leads 5
SELECT bind_companion((SELECT pid FROM people WHERE i = g), 'cn_resident_id', p.doc)
  FROM (VALUES (1, 2), (1, 3), (4, 5)) v(g, c)
  JOIN LATERAL (SELECT pg_temp.rid('44010419900101' || lpad(v.c::text, 3, '0')) AS doc) p ON true;
-- real-name approval, face checks and e-passes for the first ten
SELECT count(record_realname_result(p.person_id, p.version, 'approved'))
  FROM person p JOIN people x ON x.pid = p.person_id WHERE x.i <= 10;
SELECT count(record_face_check(pid, 'CTID', 'passed', '\xffd8ffe000104a46494600')) FROM people WHERE i <= 10;
SELECT count(apply_epass(pid, 1, '{"residence_district": "Chancheng", "residence_address": "3 Lianhua Road"}'))
  FROM people WHERE i <= 10;
-- family members of persons 6 and 7
SELECT add_family_member((SELECT pid FROM people WHERE i = 6), 'cn_resident_id', pg_temp.rid('44060619550808441'), '王大爷', 'parent');
SELECT add_family_member((SELECT pid FROM people WHERE i = 7), 'cn_resident_id', pg_temp.rid('44060620150101002'), '小明', 'child');
-- health: declarations for everyone, results for half, a risk mark for person 40
SELECT count(declare_health(pid, false, false)) FROM people;
SELECT count(record_test_result(pid, 'Lab', 'R-' || i, now() - interval '1 day', 'negative')) FROM people WHERE i % 2 = 0;
SELECT set_risk_mark((SELECT pid FROM people WHERE i = 40), 'close_contact', now() - interval '1 hour');
SELECT count(token) FROM people, LATERAL health_code(pid) WHERE i <= 20;

-- venues: three under one organisation, managed by person 11, staff person 12
CREATE TEMP TABLE venues AS
SELECT n, register_venue((SELECT pid FROM people WHERE i = 11), 'uscc', '91350100M000100Y43', '场所' || n,
                         '太平镇', '人民路 ' || n || ' 号', '0537-1234567', '\xffd8ffe000104a46494600') AS vid
  FROM generate_series(1, 3) n;
SELECT add_venue_staff((SELECT pid FROM people WHERE i = 11), vid, 'cn_resident_id',
                       pg_temp.rid('44010419900101012'), '张强')
  FROM venues;
-- scans: everyone self-scans the first venue, the even ones the second too
SELECT scan_maintenance();
SELECT count(*) FROM people, venues v, LATERAL scan_venue_code(pid, venue_code((SELECT pid FROM people WHERE i = 11), v.vid))
 WHERE v.n = 1 OR (v.n = 2 AND i % 2 = 0);
-- staff scan of the red person's code at the third venue: an alert
SELECT decision FROM staff_scan((SELECT pid FROM people WHERE i = 12), (SELECT vid FROM venues WHERE n = 3),
                                (SELECT token FROM health_code((SELECT pid FROM people WHERE i = 40))));
SELECT count(*) FROM trace_contacts((SELECT pid FROM people WHERE i = 2), now() - interval '1 day', now() + interval '1 hour');
