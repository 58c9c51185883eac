-- codes do not outlive what they stand for: every personal code is in the
-- ledger of live codes, and each state change that makes codes wrong
-- revokes them (issue 9, item 4)
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(23);
-- A table is read in a statement of its own (\gset), then compared: on Citus a
-- statement reading one shard runs whole on a worker, where this session's
-- pgTAP plan does not exist.

SELECT healthpass.publish_notice('registration_notice', 'Notice', 'Read me.') AS nv \gset
SELECT healthpass.publish_notice('commitment_letter', 'Letter', 'I promise.') AS lv \gset
CREATE TEMP TABLE form AS SELECT jsonb_build_object(
         'arrival_port', 'Gongbei', 'arrival_date', current_date::text, 'transport_mode', 'on_foot',
         'departure_country', 'MAC', 'departure_city', 'Macau', 'destination_district', 'Chancheng',
         'destination_address', '2 Zumiao Road', 'contact_phone', '13800138000', 'purpose', 'tourism') AS f;
CREATE FUNCTION pg_temp.verdict(code text) RETURNS text
    LANGUAGE sql RETURN (SELECT coalesce(reason, 'valid') FROM healthpass.verify_token(code));

-- a traveller with every kind of code: entry, personal, health, e-pass -------
SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明') AS p \gset
SELECT healthpass.submit_entry(:p, :nv, (SELECT f FROM form)) AS entry1 \gset
SELECT healthpass.personal_code(:p, '90 days') AS personal1 \gset
SELECT token AS health1 FROM healthpass.health_code(:p) \gset
SELECT quote_nullable((SELECT array_agg(kind ORDER BY kind) FROM healthpass.code_issued WHERE person_id = :p)) AS got \gset
SELECT is(:got::text[],
          ARRAY['entry', 'health', 'personal'], 'every code issued to the person is in the ledger');

-- a rejected real-name check revokes every live code ------------------------
SELECT healthpass.record_realname_result(:p, (healthpass.person_info(:p)->>'version')::integer, 'rejected', 'name does not match the ID number') \gset
SELECT is(pg_temp.verdict(:'entry1'), 'revoked', 'rejection revokes the entry code (30 days)');
SELECT is(pg_temp.verdict(:'personal1'), 'revoked', 'rejection revokes the personal code');
SELECT is(pg_temp.verdict(:'health1'), 'revoked', 'rejection revokes the health code');
SELECT count(*)::integer AS n FROM healthpass.code_issued WHERE person_id = :p \gset
SELECT is(:n::integer, 0,
          'the ledger is empty after the revocation');
SELECT throws_ok(format($$SELECT healthpass.personal_code(%s)$$, :p), '55000', NULL,
                 'no new code while the rejection stands');

-- an identity edit revokes the codes carrying the old masked name -----------
SELECT healthpass.edit_person(:p, '{"name": "王晓明"}') \gset
SELECT healthpass.record_realname_result(:p, (healthpass.person_info(:p)->>'version')::integer, 'approved') \gset
SELECT healthpass.personal_code(:p) AS personal2 \gset
SELECT is(pg_temp.verdict(:'personal2'), 'valid', 'after editing and approval a new code is valid');
SELECT healthpass.edit_person(:p, '{"name": "王小明"}') \gset
SELECT is(pg_temp.verdict(:'personal2'), 'revoked', 'an identity edit revokes the codes with the old name');
SELECT healthpass.edit_person(:p, '{"phone": "13900139000"}') \gset
SELECT healthpass.record_realname_result(:p, (healthpass.person_info(:p)->>'version')::integer, 'approved') \gset
SELECT healthpass.personal_code(:p) AS personal3 \gset
SELECT healthpass.edit_person(:p, '{"phone": "13700137000"}') \gset
SELECT is(pg_temp.verdict(:'personal3'), 'valid', 'a phone edit keeps the codes (they do not carry it)');

-- unbinding the certified photo suspends the e-pass and revokes its codes ---
SELECT healthpass.record_face_check(:p, 'CTID', 'passed', '\xffd8ffe000104a46494600') \gset
SELECT healthpass.apply_epass(:p, :lv, '{"residence_district": "Chancheng", "residence_address": "3 Lianhua Road"}') \gset
SELECT healthpass.epass_page(:p)->>'pass' AS epass1 \gset
SELECT is((SELECT may_apply_epass FROM healthpass.entry_lookup('cn_resident_id', '440104199003071239')), false,
          'a person with an e-pass is not offered another');
SELECT is(pg_temp.verdict(:'epass1'), 'valid', 'the e-pass code is valid while the e-pass is active');
SELECT is(healthpass.unbind_certified_photo(:p), 'suspended', 'unbinding the photo suspends the e-pass');
SELECT is(pg_temp.verdict(:'epass1'), 'revoked', 'unbinding the photo revokes the e-pass code at once');
SELECT is(pg_temp.verdict(:'personal3'), 'valid', 'it leaves the other kinds of code alone');
SELECT is(healthpass.epass_page(:p)->>'pass', NULL, 'a suspended e-pass shows no code');

-- a modification revokes the entry codes only -------------------------------
SELECT entry_code AS entry2 FROM healthpass.entry_lookup('cn_resident_id', '440104199003071239') \gset
SELECT healthpass.modify_entry(:p, '{"transport_mode": "ship", "transport_number": "sk 8"}') AS entry3 \gset
SELECT is(pg_temp.verdict(:'entry2'), 'revoked', 'a modified registration revokes the earlier entry code');
SELECT is(pg_temp.verdict(:'entry3'), 'valid', 'and issues a valid one');
SELECT is(pg_temp.verdict(:'personal3'), 'valid', 'the personal code stays valid');

-- a family member's printed code (90 days) goes when the member is rejected --
SELECT healthpass.add_family_member(:p, 'cn_resident_id', '440606195508084416', '王大爷', 'parent') AS m \gset
SELECT healthpass.family_member_code(:p, :m, '90 days') AS family1 \gset
SELECT is(pg_temp.verdict(:'family1'), 'valid', 'the printed family code is valid');
SELECT healthpass.record_realname_result(:m, (healthpass.person_info(:m)->>'version')::integer, 'rejected', 'no such person') \gset
SELECT is(pg_temp.verdict(:'family1'), 'revoked', 'rejecting the member revokes the printed family code');
SELECT is(pg_temp.verdict(:'entry3'), 'valid', 'the guardian''s own codes stay valid');

-- expired rows leave the ledger when the next code is issued ---------------
UPDATE healthpass.code_issued SET expires_at = now() - interval '1 second' WHERE person_id = :p;
SELECT healthpass.personal_code(:p) AS personal4 \gset
SELECT count(*)::integer AS n FROM healthpass.code_issued WHERE person_id = :p \gset
SELECT is(:n::integer, 1,
          'expired ledger rows are removed when a new code is issued');

-- a code an administrator revoked already does not block a rejection -------
SELECT healthpass.personal_code(:p) AS personal5 \gset
SELECT healthpass.revoke_token((healthpass.verify_token(:'personal5')).token_id, 'lost phone') IS NOT NULL AS r5 \gset
SELECT healthpass.edit_person(:p, '{"name": "王晓明"}') \gset
SELECT lives_ok(format($$SELECT healthpass.record_realname_result(%s, %s, 'rejected', 'name does not match')$$,
                       :p, (healthpass.person_info(:p)->>'version')::integer),
                'a rejection goes through when one of the codes was revoked by hand before');

SELECT * FROM finish();
