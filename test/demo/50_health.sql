-- healthpass demo: health codes (seeds 002 and 004): declarations, test
-- results, risk marks, colour rules as data, history, dynamic codes drawn
-- in their colour, the e-pass health page
\pset footer off
\echo
\echo '== health codes: declarations, results, marks, colour rules, dynamic codes'
SET search_path = healthpass, public;
SET client_min_messages = notice;

\echo '-- the colours (seed 004), most severe last'
SELECT c AS colour, colour_meaning(c) AS meaning FROM unnest(enum_range(NULL::health_colour)) c;
\echo '-- the colour rules in force: data, not code (the worst matching colour wins)'
SELECT rule_id, priority, colour, reason, condition FROM colour_rules();

\echo '-- two people register; with nothing reported their code is light green'
SELECT register_person('cn_resident_id', '440606198805123016', '陈志强', phone => '13900139000') AS green_person \gset
SELECT register_person('cn_resident_id', '44060619920823402X', '黄丽', phone => '13700137001') AS red_person \gset
SELECT colour, reasons FROM health_status(:green_person);

\echo '-- both answer the three questions of seed 002 and give their destination'
SELECT declaration_id, valid_until FROM declare_health(:green_person, fever_today => false, contact_14d => false,
       travel_places => ARRAY['澳门'], destination_city => '佛山市', destination_address => '禅城区莲花路 3 号',
       temperature => 36.6);
SELECT declaration_id, valid_until FROM declare_health(:red_person, false, false, ARRAY['广东省广州市'], '佛山市');
\echo '-- the health authority records their nucleic-acid results'
SELECT record_test_result(:green_person, '佛山市第一人民医院', 'FS-0001', now() - interval '30 hours', 'negative') AS result_id;
SELECT record_test_result(:red_person, '佛山市第一人民医院', 'FS-0002', now() - interval '20 hours', 'positive') AS result_id;
SELECT 'green person' AS who, * FROM health_status(:green_person)
UNION ALL
SELECT 'red person', * FROM health_status(:red_person);

\echo '-- dynamic health codes (HP1 kind "health", valid a few minutes), drawn in the colour of the code'
\pset format unaligned
\pset tuples_only on
\set cmd '| base64 -d > "' :out '/health_code_green.png"'
SELECT translate(encode(png, 'base64'), E'\n', '') FROM health_code_png(:green_person, 6) \g :cmd
\set cmd '| base64 -d > "' :out '/health_code_red.png"'
SELECT translate(encode(png, 'base64'), E'\n', '') FROM health_code_png(:red_person, 6) \g :cmd
\pset tuples_only off
\pset format aligned
\echo 'wrote health_code_green.png and health_code_red.png to' :out

\echo '-- what a venue scanner learns from a code: the claims (masked) and, online, the colour now'
SELECT token AS green_token FROM health_code(:green_person) \gset
SELECT valid, name_masked, id_masked, colour AS "colour at issue", negative_test, current_colour, expires_at - issued_at AS lifetime
  FROM verify_health_code(:'green_token');
\echo '-- the health authority marks the green person as a secondary contact; the screenshot still says green, the scanner knows better'
SELECT set_risk_mark(:green_person, 'secondary_contact', valid_until => now() + interval '14 days') AS mark_id \gset
SELECT colour AS "colour at issue", current_colour, current_reasons FROM verify_health_code(:'green_token');
SELECT clock_timestamp() AS while_marked \gset
SELECT lift_risk_mark(:green_person, :mark_id, 'traced contact tested negative') IS NOT NULL AS "mark lifted";

\echo '-- staff check someone without a smartphone by ID number, name and phone (seed 004)'
SELECT name_masked, id_masked, colour, reasons, latest_result
  FROM manual_health_check('cn_resident_id', '44060619920823402x', '黄丽', '137 0013 7001');
\echo '-- a venue scans a printed personal code: one call gives the verdict, the masked identity, the colour now and the latest test'
SELECT valid, kind, name_masked, colour, meaning, latest_result
  FROM scan_personal_code(personal_code(:red_person, '90 days'));

\echo '-- a place becomes a risk area: people whose declaration lists it are re-coloured at once'
SELECT declare_risk_area('澳门', 'demo cluster') AS area_id \gset
SELECT colour, reasons FROM health_status(:green_person);
SELECT lift_risk_area(:area_id) IS NOT NULL AS "area lifted";

\echo '-- an administrator adds a rule without code: no negative test in the last 24 hours -> yellow'
SELECT add_colour_rule('yellow', 'no negative nucleic-acid test in the last 24 hours',
       '{"not": {"fact": "last_negative_at", "op": "within", "value": "24 hours"}}', 115) AS rule_id \gset
SELECT colour_condition_sql('{"not": {"fact": "last_negative_at", "op": "within", "value": "24 hours"}}') AS "compiled condition";
\echo '-- everyone is re-coloured set-wise, chunk by chunk, with progress'
SELECT recolour_all() AS "colours changed";
SELECT job_id, version, note, state, done, total, percent, changed FROM recolour_progress();
SELECT colour, reasons, since FROM health_status(:green_person);

\echo '-- the history answers any instant'
SELECT since, until, colour, reasons FROM colour_history(:green_person);
SELECT colour_at(:green_person, :'while_marked') AS "while marked as a secondary contact",
       colour_at(:green_person, now()) AS "now";
SELECT retire_colour_rule(:rule_id) AS "rule set version after retiring the demo rule";
SELECT recolour_all() AS "colours changed back";

\echo '-- the e-pass page (the traveller of the people demo declares first) shows the live colour and a fresh dynamic code'
SELECT declaration_id > 0 AS declared FROM declare_health(find_person('cn_resident_id', '440104199003071239'), false, false);
SELECT e->>'available' AS available, e->>'colour' AS colour, e->'reasons' AS reasons,
       left(e->>'code', 24) || '…' AS code, e->>'code_expires_at' AS code_expires_at
  FROM (SELECT epass_page(find_person('cn_resident_id', '440104199003071239'))->'health' AS e) p;
RESET search_path;
