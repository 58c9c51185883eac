-- healthpass demo: venues and scanning (seed 004 一 and 四): a venue, its
-- printable poster, staff, and scans both ways and by hand
\pset footer off
\echo
\echo '== venues: a poster at the door, staff, scans both ways'
SET search_path = healthpass, public;
SET client_min_messages = notice;

SELECT find_person('cn_resident_id', '440104199003071239') AS manager \gset
SELECT find_person('cn_resident_id', '440104199003071247') AS staff \gset
SELECT find_person('cn_resident_id', '440606198805123016') AS green_person \gset
SELECT find_person('cn_resident_id', '44060619920823402X') AS red_person \gset

\echo '-- the traveller registers the library they run (seed 004 一.1): identifier, name, street, address, phone, licence'
SELECT register_venue(:manager, 'uscc', '91350100M000100Y43', '太平镇图书馆', '太平镇', '人民路 1 号',
                      '0537-1234567', '\xffd8ffe000104a46494600') AS venue \gset
SELECT venue_id, name, street, status, role FROM my_venues(:manager);

\echo '-- the poster (一.2): the venue code at error-correction level Q, with the name and address (SVG and PNG)'
\pset format unaligned
\pset tuples_only on
\set cmd '| base64 -d > "' :out '/venue_poster.png"'
SELECT translate(encode(venue_poster_png(:manager, :venue), 'base64'), E'\n', '') \g :cmd
\set svgfile :out '/venue_poster.svg'
SELECT venue_poster_svg(:manager, :venue) \g :svgfile
\pset tuples_only off
\pset format aligned
\echo 'wrote venue_poster.png and venue_poster.svg to' :out

\echo '-- staff (一.3): a registered person whose name matches their registration'
SELECT add_venue_staff(:manager, :venue, 'cn_resident_id', '440104199003071247', '李红') IS NOT NULL AS "staff added";

\echo '-- a visitor scans the poster (四): the phone shows the staff the venue, time, masked name, colour and test'
SELECT venue_code(:manager, :venue) AS vcode \gset
SELECT venue_name, name_masked, colour, latest_result, decision, prompt FROM scan_venue_code(:green_person, :'vcode');

\echo '-- staff scan a visitor''s dynamic health code (一.4-5): red is refused and the health authority alerted'
SELECT token AS red_code FROM health_code(:red_person) \gset
SELECT kind, name_masked, colour, decision, prompt FROM staff_scan(:staff, :venue, :'red_code');
SELECT venue_name, name_masked, colour FROM venue_alerts();

\echo '-- staff check someone without a smartphone by hand (一.6): recorded as manual'
SELECT pg_sleep(1) \gset
SELECT name_masked, colour, decision FROM staff_manual_check(:staff, :venue, 'cn_resident_id', '44060619920823402x',
                                                             '黄丽', '137 0013 7001');

\echo '-- the scan history: one row a scan, by method'
SELECT CASE method WHEN 's' THEN 'self' WHEN 't' THEN 'staff' ELSE 'manual' END AS method,
       colour, CASE decision WHEN 'a' THEN 'admit' WHEN 'c' THEN 'check' WHEN 'r' THEN 'refuse' ELSE 'declare' END AS decision
  FROM scan WHERE venue_id = :venue ORDER BY scanned_at, method;

\echo '-- a DBA report (role healthpass_report): scans per venue and day; small cells are suppressed when exported'
SELECT day, venue_name, method, colour, decision, scans, people, suppressed
  FROM report_venue_day(now() - interval '1 day', now() + interval '1 hour', exported => false)
 ORDER BY day, method, colour;

\echo '-- contact tracing (role healthpass_health): who was at the same venue within 30 minutes of the red person'
SELECT ring, name_masked, encounters, closest_gap, venue_names
  FROM trace_contacts(:red_person, now() - interval '1 day', now() + interval '1 hour');
RESET search_path;
