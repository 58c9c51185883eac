-- healthpass demo: people (seed 000 entry registration with companions,
-- the electronic pass; seed 004 family by proxy)
\pset footer off
\echo
\echo '== people: entry registration, companions, e-pass, family by proxy'
SET search_path = healthpass, public;

\echo '-- an administrator publishes the registration notice and the commitment letter'
SELECT publish_notice('registration_notice', 'Entry registration notice',
         'Fill in true information; false information is an offence.') AS "registration notice version",
       publish_notice('commitment_letter', 'Commitment letter',
         'I promise that the information I give is true and that I will follow the health rules.') AS "commitment letter version";

\echo '-- a traveller types their ID card number: unknown, so they read the notice and register'
SELECT state, notice_version FROM entry_lookup('cn_resident_id', '440104199003071239');
SELECT register_person('cn_resident_id', '440104199003071239', '王小明', phone => '13800138000') AS traveller \gset
SELECT left(submit_entry(:traveller, 1, jsonb_build_object(
          'arrival_port', 'Hong Kong-Zhuhai-Macao Bridge', 'arrival_date', current_date::text,
          'transport_mode', 'road', 'departure_country', 'HKG', 'departure_city', 'Hong Kong',
          'destination_district', 'Chancheng', 'destination_address', '3 Lianhua Road, Foshan',
          'contact_phone', '13800138000', 'purpose', 'return_home')), 40) || '…' AS "entry code (HP1, first 40 characters)";
\echo '-- next time the look-up goes straight to the entry code'
SELECT state, length(entry_code) AS "entry code length" FROM entry_lookup('cn_resident_id', '440104199003071239');

\echo '-- two companions register themselves, then the traveller binds them by document'
SELECT count(submit_entry(register_person('cn_resident_id', n, name), 1, jsonb_build_object(
          'arrival_port', 'Hong Kong-Zhuhai-Macao Bridge', 'arrival_date', current_date::text,
          'transport_mode', 'road', 'departure_country', 'HKG', 'departure_city', 'Hong Kong',
          'destination_district', 'Chancheng', 'destination_address', '3 Lianhua Road, Foshan',
          'contact_phone', '13800138000', 'purpose', 'family'))) AS "companions registered"
  FROM (VALUES ('440104199003071247', '李红'), ('440606201001010029', '王小红')) v(n, name);
SELECT bind_companion(:traveller, 'cn_resident_id', '440104199003071247') AS "page of companion 1",
       bind_companion(:traveller, 'cn_resident_id', '440606201001010029') AS "page of companion 2";
\echo '-- binding someone who has not registered is refused with a hint'
\set ON_ERROR_STOP 0
SELECT register_person('cn_resident_id', '440606198506153311', '赵六') IS NOT NULL AS "registered without entry";
SELECT bind_companion(:traveller, 'cn_resident_id', '440606198506153311');
\set ON_ERROR_STOP 1
\echo '-- the group pages: previous / next'
SELECT pos, name_masked, doc_masked, is_registrant,
       left(prev_ref::text, 8) AS prev, left(next_ref::text, 8) AS next, left(person_ref::text, 8) AS ref,
       left(entry_code, 16) || '…' AS entry_code
  FROM group_codes(:traveller) ORDER BY pos;

\echo '-- the electronic pass: real-name approved, face check (CTID) with its certified photo, commitment letter'
SELECT record_realname_result(:traveller, (person_info(:traveller)->>'version')::integer, 'approved') AS "real-name";
SELECT record_face_check(:traveller, 'CTID', 'passed', '\xffd8ffe000104a46494600'::bytea, 'ctid-demo-1') > 0 AS "face check recorded";
SELECT p->>'status' AS status, p#>>'{person,name}' AS name, p#>>'{person,id}' AS id,
       p#>>'{health,available}' AS "health code shown", p#>>'{health,colour}' AS colour,
       left(p#>>'{health,code}', 16) || '…' AS health_code, left(p->>'pass', 16) || '…' AS epass_code
  FROM apply_epass(:traveller, 1, '{"residence_district": "Chancheng", "residence_address": "3 Lianhua Road"}') p;
\echo '-- unbinding the certified photo suspends the e-pass until the face is verified again'
SELECT unbind_certified_photo(:traveller) AS "e-pass after unbinding", epass_page(:traveller)->'reasons' AS reasons;

\echo '-- family by proxy: the traveller registers their father, who has no smartphone'
SELECT add_family_member(:traveller, 'cn_resident_id', '440606195508084416', '王大爷', 'parent') AS member \gset
SELECT member_id, name, doc_masked, relation, realname_status FROM family_members(:traveller);
\pset format unaligned
\pset tuples_only on
\set cmd '| base64 -d > "' :out '/family_member_code.png"'
SELECT translate(encode(family_member_qr_png(:traveller, :member), 'base64'), E'\n', '') \g :cmd
\set cmd '| base64 -d > "' :out '/entry_code.png"'
SELECT translate(encode(qr_png(entry_code(:traveller), 'M', 4), 'base64'), E'\n', '') \g :cmd
\pset tuples_only off
\pset format aligned
\echo 'wrote family_member_code.png (the father''s printable personal code) and entry_code.png to' :out
RESET search_path;
