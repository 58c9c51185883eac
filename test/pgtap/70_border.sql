-- travel documents, endorsements, the electronic permit, the document-free
-- channel and crossings (issue 12 items 1-4 and 6; seeds 001 and 003)
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(147);
-- A table is read in a statement of its own (\gset), then compared: on Citus a
-- statement reading one shard runs whole on a worker, where this session's
-- pgTAP plan does not exist.

-- today in China Standard Time, and the instants documents turn on
SELECT healthpass_internal.hp_cst_day(now()) AS today \gset

-- a traveller: approved, a fresh passed face check, and (optionally) a
-- Guangdong permit with one endorsement
CREATE FUNCTION pg_temp.traveller(id text, nm text, birth date DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    pid bigint := healthpass.register_person('cn_resident_id', id, nm, birth_date => birth);
BEGIN
    PERFORM healthpass.record_realname_result(pid, 1, 'approved');
    PERFORM healthpass.record_face_check(pid, 'CTID', 'passed', '\xffd8ffe000104a46494600');
    RETURN pid;
END $$;
CREATE FUNCTION pg_temp.permit(pid bigint, number text, province text DEFAULT '44', official boolean DEFAULT false,
                               until date DEFAULT NULL) RETURNS bigint
    LANGUAGE sql AS $$
    SELECT healthpass.record_travel_document(pid, 'hk_macau_permit', number, '广东省公安厅出入境管理局',
                                             healthpass_internal.hp_cst_day(now()) - 400,
                                             coalesce(until, healthpass_internal.hp_cst_day(now()) + 3000), province, official)
$$;
CREATE FUNCTION pg_temp.gate(number text, dir text DEFAULT 'exit', chan text DEFAULT 'manual',
                             at_time timestamptz DEFAULT now(), kind text DEFAULT 'hk_macau_permit', port text DEFAULT 'shenzhen_bay')
    RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN passed THEN 'passed' ELSE refusal END
      FROM healthpass.cross_border(port, dir, chan, kind, number, crossed_at => at_time)
$$;

SELECT pg_temp.traveller('440104199003071239', '王小明') AS a \gset
SELECT pg_temp.permit(:a, 'C12345678') AS a_doc \gset

-- travel documents (item 1) -------------------------------------------------------
SELECT is((SELECT doc_kind || ' ' || doc_number_masked || ' ' || state || ' ' || official || ' ' || issuing_province
             FROM healthpass.travel_documents(:a)),
          'hk_macau_permit C1*****78 valid false 44', 'a recorded permit is listed masked, valid, private, from Guangdong');
SELECT quote_nullable((SELECT expires_at FROM healthpass.travel_document WHERE document_id = :a_doc)) AS got \gset
SELECT is(:got::timestamptz,
          ((:'today'::date + 3001)::timestamp AT TIME ZONE 'Asia/Shanghai'),
          'a document stops at the start of the day after its expiry date, China Standard Time');
SELECT throws_ok(format($$SELECT healthpass.record_travel_document(%s, 'hk_macau_permit', 'C12345678', 'X', current_date - 1, current_date + 1)$$, :a),
    '23505', 'hk_macau_permit "C1*****78" is already recorded', 'a document number is recorded once');
SELECT throws_ok(format($$SELECT healthpass.record_travel_document(%s, 'cn_resident_id', '440104199003071239', 'X', current_date - 1, current_date + 1)$$, :a),
    '22023', 'document kind "cn_resident_id" is not a travel document', 'only travel document kinds');
SELECT throws_ok(format($$SELECT healthpass.record_travel_document(%s, 'hk_macau_permit', 'X1234', 'X', current_date - 1, current_date + 1)$$, :a),
    '22P02', NULL, 'a bad number is refused');
SELECT throws_ok(format($$SELECT healthpass.record_travel_document(%s, 'hk_macau_permit', 'C00000001', 'X', current_date, current_date - 1)$$, :a),
    '22023', NULL, 'expiry before issue is refused');
SELECT throws_ok(format($$SELECT healthpass.record_travel_document(%s, 'hk_macau_permit', 'C00000001', 'X', current_date + 5, current_date + 9)$$, :a),
    '22023', NULL, 'a document issued in the future is refused');
SELECT throws_ok(format($$SELECT healthpass.record_travel_document(%s, 'hk_macau_permit', 'C00000001', ' ', current_date, current_date + 9)$$, :a),
    '22004', 'issuing authority is missing', 'the issuing authority is required');
SELECT throws_ok(format($$SELECT healthpass.record_travel_document(%s, 'hk_macau_permit', 'C00000001', 'X', NULL, current_date + 9)$$, :a),
    '22004', 'issue date is missing', 'the issue date is required');
SELECT throws_ok(format($$SELECT healthpass.record_travel_document(%s, 'hk_macau_permit', 'C00000001', 'X', current_date, 'infinity')$$, :a),
    '22008', NULL, 'an infinite expiry is refused');
SELECT throws_ok(format($$SELECT healthpass.record_travel_document(%s, 'hk_macau_permit', 'C00000001', 'X', current_date, current_date + 9, 'GD')$$, :a),
    '22023', 'issuing province "GD" is not valid', 'a province is its GB/T 2260 code');
SELECT throws_ok(format($$SELECT healthpass.record_travel_document(%s, 'home_return_permit', 'H00000001', 'X', current_date, current_date + 9, '44')$$, :a),
    '22023', 'a home_return_permit has no issuing province', 'a home return permit has no province');
SELECT throws_ok(format($$SELECT healthpass.record_travel_document(%s, 'passport', 'K1234567', 'X', current_date, current_date + 9, official => true)$$, :a),
    '22023', 'a passport is not issued for public business', 'a foreign passport is not official');
SELECT throws_ok(format($$SELECT healthpass.record_travel_document(%s, 'passport', 'K1234567', 'X', current_date, current_date + 9, official => NULL)$$, :a),
    '22004', 'official is missing', 'official is required');
SELECT throws_ok($$SELECT healthpass.record_travel_document(NULL, 'passport', 'K1234567', 'X', current_date, current_date + 9)$$,
    '22004', 'person id is missing', 'the person is required');
SELECT throws_ok($$SELECT healthpass.record_travel_document(-1, 'passport', 'K1234567', 'X', current_date, current_date + 9)$$,
    'P0002', 'person -1 does not exist', 'an unknown person is refused');

-- official and private passports are two current documents
SELECT healthpass.record_travel_document(:a, 'cn_passport', 'E12345678', '公安部出入境管理局', current_date - 1, current_date + 3000) AS a_pp \gset
SELECT healthpass.record_travel_document(:a, 'cn_passport', 'E12345679', '外交部', current_date - 1, current_date + 1000, official => true) AS a_off \gset
SELECT is((SELECT count(*)::int FROM healthpass.travel_documents(:a) WHERE state = 'valid'), 3,
          'a private and an official passport are both current beside the permit');

-- electronic permit (item 2) -----------------------------------------------------
SELECT healthpass.record_endorsement(:a, :a_doc, 'HK', 'T', '2', :'today'::date - 1, :'today'::date + 90, 14) AS a_e \gset
SELECT is((SELECT outcome || ' ' || (retry_after > now()) FROM healthpass.bind_electronic_permit(:a, 'C87654321', 'read_digits')),
          'retry true', 'a number the issuing system has not sent is a retryable failure, not a refusal');
SELECT quote_nullable((SELECT retry_after - attempted_at FROM healthpass.permit_binding WHERE person_id = :a ORDER BY attempt_id DESC LIMIT 1)) AS got \gset
SELECT cmp_ok(:got::interval,
              '=', interval '20 minutes', 'retry after the seed''s 20 minutes (permit_retry_after)');
SELECT is((SELECT reason FROM healthpass.bind_electronic_permit(:a, 'C87654321', 'read_digits')),
          'document information does not exist yet: the issuing system may not have sent it; try again later',
          'the seed''s "document information does not exist"');
SELECT is((SELECT outcome || ' ' || document_id FROM healthpass.bind_electronic_permit(:a, 'c 1234 5678', 'read_digits')),
          'bound ' || :a_doc, 'binding finds the permit by its number, spaces and case aside');
SELECT quote_nullable((SELECT liveness_method FROM healthpass.electronic_permit WHERE person_id = :a)) AS got \gset
SELECT is(:got::text, 'read_digits',
          'the liveness method is recorded (the seed reads digits aloud)');
SELECT throws_ok(format($$SELECT * FROM healthpass.bind_electronic_permit(%s, 'C12345678', 'read_digits')$$, :a),
    '23505', NULL, 'one electronic permit per person');
SELECT is((SELECT string_agg(outcome, ',' ORDER BY attempted_at) FROM healthpass.permit_bindings(:a)), 'retry,retry,bound',
          'every attempt is kept');
SELECT is((SELECT e->>'entries_remaining' || ' ' || (e->>'as_of' IS NOT NULL) FROM jsonb_array_elements(healthpass.electronic_permit(:a)->'endorsements') e),
          '2 true', 'the permit shows the remaining entries as of a time');
SELECT ok(healthpass.electronic_permit(:a)->'notes' @> '["The remaining entries are for reference and may lag; the physical document prevails."]',
          'and says the physical document prevails');
SELECT is(healthpass.electronic_permit(:a)->'document'->>'doc_number_masked', 'C1*****78', 'the permit page masks the number');

-- refusals of binding
SELECT pg_temp.traveller('440104199003071247', '李红') AS b \gset
SELECT pg_temp.permit(:b, 'C22222222', '45') AS b_doc \gset
SELECT is((SELECT outcome || ': ' || reason FROM healthpass.bind_electronic_permit(:b, 'C22222222', 'silent')),
          'refused: the permit was not issued in Guangdong', 'only a Guangdong-issued permit');
SELECT pg_temp.permit(:b, 'C22222223', official => true) AS b_off \gset
SELECT is((SELECT outcome FROM healthpass.bind_electronic_permit(:b, 'C22222223', 'silent')), 'refused',
          'not a permit for public business');
SELECT is((SELECT outcome FROM healthpass.bind_electronic_permit(:b, 'C12345678', 'silent')), 'retry',
          'another person''s number answers as an unknown one (no oracle)');
UPDATE healthpass.face_check SET checked_at = now() - interval '11 minutes' WHERE person_id = :b;
SELECT is((SELECT reason FROM healthpass.bind_electronic_permit(:b, 'C22222222', 'silent')),
          'no face check passed in the last 00:10:00', 'the face check must be recent (face_check_valid_for)');
SELECT healthpass.record_face_check(:b, 'CTID', 'failed');
SELECT matches((SELECT reason FROM healthpass.bind_electronic_permit(:b, 'C22222222', 'silent')),
          'trusted acceptance point', 'a failed face check points to the trusted acceptance points');
SELECT healthpass.register_person('cn_resident_id', '440106198506125313', '周建国') AS c \gset
SELECT healthpass.record_face_check(:c, 'CTID', 'passed', '\xffd8ffe000104a46494600');
SELECT is((SELECT reason FROM healthpass.bind_electronic_permit(:c, 'C33333333', 'silent')),
          'real-name verification is not approved', 'real-name verification comes first');
SELECT throws_ok(format($$SELECT * FROM healthpass.bind_electronic_permit(%s, 'C22222222', 'blink')$$, :b),
    '22023', 'liveness method "blink" is not valid', 'the liveness method is one of three');
SELECT throws_ok(format($$SELECT * FROM healthpass.bind_electronic_permit(%s, 'H22222222', 'silent')$$, :b),
    '22P02', NULL, 'the number must be a permit number');
SELECT throws_ok(format($$SELECT * FROM healthpass.bind_electronic_permit(%s, NULL, 'silent')$$, :b),
    '22004', NULL, 'the number is required');
SELECT throws_ok($$SELECT healthpass.electronic_permit(-5)$$, 'P0002', NULL, 'no permit page for an unknown person');
SELECT throws_ok(format($$SELECT healthpass.electronic_permit(%s)$$, :b), 'P0002', NULL, 'no permit page before binding');

-- trusted acceptance points
SELECT is((SELECT count(*)::int FROM healthpass.trusted_acceptance_points()), 45, 'the seed''s 45 points in Guangzhou');
SELECT is((SELECT count(*)::int FROM healthpass.trusted_acceptance_points('天河')), 10, 'by district, with or without 区');
SELECT is((SELECT count(*)::int FROM healthpass.trusted_acceptance_points('白云区', '广州')), 15, 'by city with or without 市');
SELECT is((SELECT count(*)::int FROM healthpass.trusted_acceptance_points(NULL, '深圳市')), 0, 'other cities follow');
SELECT ok(healthpass.add_acceptance_point('深圳市', '福田区', '福田街道 1 号') >= 1000, 'an administrator adds a point');
SELECT throws_ok($$SELECT * FROM healthpass.trusted_acceptance_points(NULL, NULL)$$, '22004', NULL, 'the city is required');

-- endorsements (item 3) -------------------------------------------------------------
SELECT throws_ok(format($$SELECT healthpass.record_endorsement(%s, %s, 'TW', 'T', '1', current_date, current_date + 9, 7)$$, :a, :a_doc),
    '22023', 'endorsement region "TW" is not valid', 'region HK or MO');
SELECT throws_ok(format($$SELECT healthpass.record_endorsement(%s, %s, 'HK', 'X', '1', current_date, current_date + 9, 7)$$, :a, :a_doc),
    '22023', 'endorsement type "X" is not valid', 'the seven types');
SELECT throws_ok(format($$SELECT healthpass.record_endorsement(%s, %s, 'HK', 'T', '3', current_date, current_date + 9, 7)$$, :a, :a_doc),
    '22023', 'endorsement entries "3" are not valid', 'entries 1, 2 or multiple');
SELECT throws_ok(format($$SELECT healthpass.record_endorsement(%s, %s, 'HK', 'T', '1', current_date, current_date - 1, 7)$$, :a, :a_doc),
    '22023', NULL, 'end before start');
SELECT throws_ok(format($$SELECT healthpass.record_endorsement(%s, %s, 'HK', 'T', '1', current_date, current_date + 4000, 7)$$, :a, :a_doc),
    '22023', NULL, 'an endorsement cannot outlast its document');
SELECT throws_ok(format($$SELECT healthpass.record_endorsement(%s, %s, 'HK', 'T', '1', current_date, current_date + 9, 0)$$, :a, :a_doc),
    '22023', 'days per stay 0 are out of range', 'days per stay 1 or more');
SELECT throws_ok(format($$SELECT healthpass.record_endorsement(%s, %s, 'HK', 'T', '1', current_date, current_date + 9, 7)$$, :a, :a_pp),
    '22023', 'a cn_passport carries no endorsements', 'endorsements go on a permit');
SELECT throws_ok(format($$SELECT healthpass.record_endorsement(%s, 99999, 'HK', 'T', '1', current_date, current_date + 9, 7)$$, :a),
    'P0002', NULL, 'an unknown document');
SELECT throws_ok(format($$SELECT healthpass.record_endorsement(%s, %s, 'HK', 'T', '1', current_date, current_date + 9, 7)$$, :b, :a_doc),
    'P0002', NULL, 'another person''s document is not found');

-- every type is recorded and shown
SELECT is((SELECT string_agg(t || ':' || (healthpass.record_endorsement(:b, :b_doc, 'MO', t, '1', :'today'::date, :'today'::date + 30, 7) > 0)::text, ' ' ORDER BY o)
             FROM unnest(ARRAY['T', 'S', 'L', 'G', 'R', 'Q', 'D']) WITH ORDINALITY x(t, o)),
          'T:true S:true L:true G:true R:true Q:true D:true', 'each of the seven types is recorded');
SELECT quote_nullable((SELECT string_agg(status, ',' ORDER BY endorsement_id) FROM healthpass.endorsement WHERE person_id = :b AND region = 'MO')) AS got \gset
SELECT is(:got::text,
          'replaced,replaced,replaced,replaced,replaced,replaced,active', 'each replaced the last: one active per region');
SELECT count(*)::int AS n FROM healthpass.endorsement WHERE person_id = :b AND status = 'replaced' AND replaced_by IS NULL \gset
SELECT is(:n::integer, 0,
          'a replaced endorsement names its successor');

-- online renewal
SELECT throws_ok(format($$SELECT healthpass.renew_endorsement(%s, 'HK', 'T', '1', current_date + 30, 7)$$, :b),
    '55000', NULL, 'renewal online needs a bound electronic permit');
SELECT throws_ok(format($$SELECT healthpass.renew_endorsement(%s, 'HK', 'S', '1', current_date + 30, 7)$$, :a),
    '55000', 'endorsement type "S" cannot be renewed online', 'business endorsements are renewed at an office');
SELECT throws_ok(format($$SELECT healthpass.renew_endorsement(%s, 'HK', 'G', '1', current_date + 30, 7, current_date - 5)$$, :a),
    '22023', NULL, 'a renewal does not start in the past');
SELECT healthpass.renew_endorsement(:a, 'HK', 'G', 'multiple', :'today'::date + 360, 7, :'today'::date) AS a_e2 \gset
SELECT quote_nullable((SELECT status || ' ' || replaced_by FROM healthpass.endorsement WHERE endorsement_id = :a_e)) AS got \gset
SELECT is(:got::text, 'replaced ' || :a_e2,
          'renewal replaces the region''s endorsement');
SELECT quote_nullable((SELECT issued_via || ' ' || coalesce(entries_allowed::text, 'multiple') FROM healthpass.endorsement WHERE endorsement_id = :a_e2)) AS got \gset
SELECT is(:got::text,
          'online_renewal multiple', 'the renewed endorsement is marked online');

-- crossings (item 4) -----------------------------------------------------------------
-- entries 1 / 2 / multiple
SELECT pg_temp.traveller('440106198506125321', '陈一') AS p1 \gset
SELECT pg_temp.permit(:p1, 'C40000001') AS p1_doc \gset
SELECT healthpass.record_endorsement(:p1, :p1_doc, 'HK', 'L', '1', :'today'::date - 1, :'today'::date + 30, 7) AS p1_e \gset
SELECT is(pg_temp.gate('C40000001', at_time => now() - interval '3 hours'), 'passed', 'a single-entry endorsement lets one exit through');
SELECT quote_nullable((SELECT entries_used FROM healthpass.endorsement WHERE endorsement_id = :p1_e)) AS got \gset
SELECT is(:got::integer, 1, 'and counts it');
SELECT is(pg_temp.gate('C40000001', 'entry', at_time => now() - interval '2 hours'), 'passed', 'coming back needs no entry');
SELECT is(pg_temp.gate('C40000001', at_time => now() - interval '1 hour'), 'no_entry_left', 'a second exit is refused: no entry left');
SELECT count(*)::int AS n FROM healthpass.crossing WHERE person_id = :p1 \gset
SELECT is(:n::integer, 2, 'a refused crossing records nothing');
SELECT quote_nullable((SELECT entries_used FROM healthpass.endorsement WHERE endorsement_id = :p1_e)) AS got \gset
SELECT is(:got::integer, 1, 'and uses nothing');

SELECT pg_temp.traveller('440106198506125348', '陈二') AS p2 \gset
SELECT pg_temp.permit(:p2, 'C40000002') AS p2_doc \gset
SELECT healthpass.record_endorsement(:p2, :p2_doc, 'MO', 'T', '2', :'today'::date - 1, :'today'::date + 30, 7) AS p2_e \gset
SELECT is(pg_temp.gate('C40000002', port => 'gongbei', at_time => now() - interval '4 hours') || ' '
          || pg_temp.gate('C40000002', 'entry', port => 'gongbei', at_time => now() - interval '3 hours') || ' '
          || pg_temp.gate('C40000002', port => 'gongbei', at_time => now() - interval '2 hours') || ' '
          || pg_temp.gate('C40000002', 'entry', port => 'gongbei', at_time => now() - interval '90 minutes') || ' '
          || pg_temp.gate('C40000002', port => 'gongbei', at_time => now() - interval '1 hour'),
          'passed passed passed passed no_entry_left', 'a two-entry endorsement lets two exits through');
SELECT quote_nullable((SELECT (e->>'entries_remaining') || ' ' || (e->>'state') FROM jsonb_array_elements(
              (SELECT jsonb_agg(healthpass_internal.hp_endorsement_json(x, now())) FROM healthpass.endorsement x WHERE x.endorsement_id = :p2_e)) e)) AS got \gset
SELECT is(:got::text,
          '0 used_up', 'a used-up endorsement shows 0 remaining');
SELECT is(pg_temp.gate('C40000002', at_time => now() - interval '30 minutes'), 'no_endorsement',
          'a Macau endorsement does not take one to Hong Kong');

SELECT pg_temp.traveller('440106198506125356', '陈三') AS p3 \gset
SELECT pg_temp.permit(:p3, 'C40000003') AS p3_doc \gset
SELECT healthpass.record_endorsement(:p3, :p3_doc, 'HK', 'S', 'multiple', :'today'::date - 1, :'today'::date + 30, 7) AS p3_e \gset
SELECT is((SELECT string_agg(pg_temp.gate('C40000003', CASE WHEN i % 2 = 1 THEN 'exit' ELSE 'entry' END,
                                          at_time => now() - (20 - i) * interval '1 minute'), ',')
             FROM generate_series(1, 10) i), 'passed,passed,passed,passed,passed,passed,passed,passed,passed,passed',
          'a multiple-entry endorsement never runs out');
SELECT quote_nullable((SELECT entries_used FROM healthpass.endorsement WHERE endorsement_id = :p3_e)) AS got \gset
SELECT is(:got::integer, 5, 'its uses are still counted');

-- the port decides the region; a port serving both needs it named
SELECT throws_ok($$SELECT * FROM healthpass.cross_border('hzmb_zhuhai', 'exit', 'manual', 'hk_macau_permit', 'C40000003')$$,
    '22023', 'port "hzmb_zhuhai" serves Hong Kong and Macau', 'the bridge port needs the region');
SELECT is((SELECT refusal FROM healthpass.cross_border('hzmb_zhuhai', 'exit', 'manual', 'hk_macau_permit', 'C40000003', region => 'MO')),
          'no_endorsement', 'with the region named, its endorsement is checked');
SELECT throws_ok($$SELECT * FROM healthpass.cross_border('gongbei', 'exit', 'manual', 'hk_macau_permit', 'C40000003', region => 'HK')$$,
    '22023', 'port "gongbei" does not serve region "HK"', 'a port serves its regions only');
SELECT throws_ok($$SELECT * FROM healthpass.cross_border('narnia', 'exit', 'manual', 'hk_macau_permit', 'C40000003')$$,
    '22023', 'port "narnia" does not exist', 'an unknown port');
SELECT throws_ok($$SELECT * FROM healthpass.cross_border('gongbei', 'out', 'manual', 'hk_macau_permit', 'C40000003')$$,
    '22023', 'direction "out" is not valid', 'direction exit or entry');
SELECT throws_ok($$SELECT * FROM healthpass.cross_border('gongbei', 'exit', 'vip', 'hk_macau_permit', 'C40000003')$$,
    '22023', 'channel "vip" is not valid', 'the four channels');
SELECT throws_ok($$SELECT * FROM healthpass.cross_border('gongbei', 'exit', 'manual', 'hk_macau_permit', 'C49999999')$$,
    'P0002', 'hk_macau_permit "C*******9" is not recorded', 'an unknown document, quoted masked');
SELECT throws_ok($$SELECT * FROM healthpass.cross_border('gongbei', 'exit', 'manual', 'hk_macau_permit', 'C40000003', crossed_at => now() + interval '1 hour')$$,
    '22008', NULL, 'a crossing is not in the future');
SELECT throws_ok($$SELECT * FROM healthpass.cross_border('gongbei', 'exit', 'manual', 'hk_macau_permit', 'C40000003', crossed_at => 'infinity')$$,
    '22008', NULL, 'nor at infinity');
SELECT throws_ok(format($$SELECT * FROM healthpass.cross_border('gongbei', 'exit', 'manual', 'hk_macau_permit', 'C40000003', person_id => %s)$$, :p3),
    '22023', NULL, 'a gate reading a document does not also name a person');
SELECT throws_ok($$SELECT * FROM healthpass.cross_border('shenzhen_bay', 'exit', 'manual', NULL, 'C40000003')$$,
    '22023', 'document kind "NULL" is not a travel document', 'the gate names the kind it read');
SELECT throws_ok(format($$SELECT healthpass.confirm_endorsement_entries(%s, NULL, 1)$$, :p3),
    '22004', 'endorsement id is missing', 'the endorsement is named');
SELECT throws_ok(format($$SELECT healthpass.confirm_endorsement_entries(%s, %s, NULL)$$, :p3, :p3_e),
    '22004', 'entries used is missing', 'the count is given');
SELECT throws_ok(format($$SELECT healthpass.confirm_endorsement_entries(%s, %s, 10001)$$, :p3, :p3_e),
    '22023', 'entries used 10001 are out of range', 'a multiple-entry count is bounded');
SELECT throws_ok(format($$SELECT * FROM healthpass.crossings(%s, NULL, now())$$, :p3),
    '22004', 'from_time is missing', 'a period has a start');
SELECT is((SELECT refusal FROM healthpass.cross_border('shenzhen_bay', 'exit', 'manual', 'cn_passport', 'E12345678')),
          'wrong_document', 'a mainland passport does not take one to Hong Kong');

-- expiry boundaries at the exact instant ------------------------------------------------
-- an endorsement that began today (00:00 CST) and one that ended yesterday
SELECT pg_temp.traveller('440106198506125364', '陈四') AS p4 \gset
SELECT pg_temp.permit(:p4, 'C40000004') AS p4_doc \gset
SELECT healthpass.record_endorsement(:p4, :p4_doc, 'HK', 'T', 'multiple', :'today'::date, :'today'::date + 30, 7) AS p4_e \gset
SELECT (:'today'::date)::timestamp AT TIME ZONE 'Asia/Shanghai' AS today_start \gset
SELECT is(pg_temp.gate('C40000004', at_time => :'today_start'::timestamptz - interval '1 microsecond'), 'endorsement_expired',
          'one microsecond before an endorsement starts: refused');
SELECT is((SELECT detail FROM healthpass.cross_border('shenzhen_bay', 'exit', 'manual', 'hk_macau_permit', 'C40000004',
                                                      crossed_at => :'today_start'::timestamptz - interval '1 microsecond')),
          'The endorsement is valid from ' || :'today' || '.', 'the refusal says from when');
SELECT is(pg_temp.gate('C40000004', at_time => :'today_start'::timestamptz), 'passed', 'at the instant it starts: passed');

SELECT pg_temp.traveller('440106198506125372', '陈五') AS p5 \gset
SELECT pg_temp.permit(:p5, 'C40000005') AS p5_doc \gset
SELECT healthpass.record_endorsement(:p5, :p5_doc, 'HK', 'T', 'multiple', :'today'::date - 10, :'today'::date - 1, 7) AS p5_e \gset
SELECT is(pg_temp.gate('C40000005', at_time => :'today_start'::timestamptz - interval '1 microsecond'), 'passed',
          'the last microsecond of an endorsement''s last day: passed');
SELECT is(pg_temp.gate('C40000005', at_time => :'today_start'::timestamptz), 'endorsement_expired',
          'the instant its last day ends: expired');

-- a document that expired yesterday (a Hong Kong resident's home return permit)
SELECT healthpass.register_person('hkid', 'A123456(3)', 'CHAN Tai Man', birth_date => '1980-05-01', nationality => 'HKG') AS h \gset
SELECT healthpass.record_travel_document(:h, 'home_return_permit', 'H12345678', '公安部出入境管理局', :'today'::date - 3650, :'today'::date - 1) AS h_old \gset
SELECT is(pg_temp.gate('H12345678', kind => 'home_return_permit', at_time => :'today_start'::timestamptz - interval '1 microsecond'),
          'passed', 'the last microsecond of a document''s last day: passed');
SELECT is(pg_temp.gate('H12345678', kind => 'home_return_permit', at_time => :'today_start'::timestamptz), 'document_invalid',
          'the instant it ends: the document is invalid');
SELECT is(pg_temp.gate('H12345678', 'entry', 'manual', kind => 'home_return_permit', at_time => :'today_start'::timestamptz + interval '1 second'),
          'document_invalid', 'a home return permit holder enters on a valid one, even by hand');
SELECT is(pg_temp.gate('C40000005', 'entry', 'manual', at_time => now()), 'passed',
          'a mainland resident comes home by hand whatever the permit''s state');
SELECT is(pg_temp.gate('C40000004', 'entry', 'self_service'), 'not_enrolled', 'self-service needs biometrics on file');

-- a replaced document: its endorsements go; the electronic permit follows the new card
SELECT healthpass.record_travel_document(:a, 'hk_macau_permit', 'C12345670', '广东省公安厅出入境管理局', :'today'::date, :'today'::date + 3650, '44') AS a_doc2 \gset
SELECT is((SELECT state || ' ' || replaced_by FROM healthpass.travel_documents(:a) WHERE document_id = :a_doc), 'replaced ' || :a_doc2,
          'a new permit replaces the old');
SELECT quote_nullable((SELECT string_agg(DISTINCT status, ',') FROM healthpass.endorsement WHERE person_id = :a AND document_id = :a_doc)) AS got \gset
SELECT is(:got::text, 'cancelled,replaced',
          'the old card''s endorsements are cancelled');
SELECT quote_nullable((SELECT document_id FROM healthpass.electronic_permit WHERE person_id = :a)) AS got \gset
SELECT is(:got::bigint, :a_doc2::bigint,
          'the electronic permit moves to the new Guangdong card');
SELECT is(pg_temp.gate('C12345678'), 'document_invalid', 'the old card no longer passes');
SELECT is(pg_temp.gate('C12345670'), 'no_endorsement', 'the new card needs its own endorsement');
SELECT healthpass.record_document_lost(:a, :a_doc2);
SELECT count(*)::int AS n FROM healthpass.electronic_permit WHERE person_id = :a \gset
SELECT is(:n::integer, 0, 'reporting the card lost unbinds the electronic permit');
SELECT is((SELECT outcome || ': ' || reason FROM healthpass.permit_bindings(:a) ORDER BY attempted_at DESC LIMIT 1),
          'unbound: the document was reported lost', 'and says why');
SELECT throws_ok(format($$SELECT healthpass.record_document_lost(%s, %s)$$, :a, :a_doc2), '55000', NULL, 'a document is reported lost once');

-- the stay and its overrun on return
SELECT pg_temp.traveller('440106198506125380', '陈六') AS p6 \gset
SELECT pg_temp.permit(:p6, 'C40000006') AS p6_doc \gset
SELECT healthpass.record_endorsement(:p6, :p6_doc, 'HK', 'T', 'multiple', :'today'::date - 30, :'today'::date + 30, 7) AS p6_e \gset
SELECT is(pg_temp.gate('C40000006', at_time => now() - interval '10 days'), 'passed', 'an exit ten days ago');
SELECT is((SELECT stay_days || ' ' || overstay_days || ' ' || detail FROM healthpass.cross_border('shenzhen_bay', 'entry', 'manual', 'hk_macau_permit', 'C40000006')),
          '10 3 The stay of 10 days overran the 7 allowed by 3 days.', 'coming back after 10 days of a 7-day stay reports 3 days over');
SELECT is((SELECT string_agg(direction || coalesce('/' || overstay_days, ''), ',' ORDER BY crossed_at) FROM healthpass.crossings(:p6)),
          'exit,entry/3', 'the overrun is kept with the crossing');
SELECT throws_ok(format($$SELECT * FROM healthpass.crossings(%s, now(), now() - interval '1 day')$$, :p6), '22023', NULL,
          'a period ends after it starts');

-- the document-free channel (item 6) -----------------------------------------------------
-- a fully eligible mainland resident
SELECT pg_temp.traveller('440106198506125399', '林一') AS f \gset
SELECT pg_temp.permit(:f, 'C50000001') AS f_doc \gset
SELECT healthpass.record_endorsement(:f, :f_doc, 'HK', 'T', 'multiple', :'today'::date - 1, :'today'::date + 300, 7) AS f_e \gset
SELECT healthpass.give_biometric_consent(:f);
SELECT ok(healthpass.enrol_biometrics(:f, 'shenzhen_bay_collection', '警号 012345', 'tmpl:sz:000001') > 0, 'enrolment at a collection point');
SELECT is((SELECT eligible::text || cardinality(reasons) FROM healthpass.document_free_eligibility(:f, 'shenzhen_bay')), 'true0',
          'eligible: age, permit, multiple-entry family-visit endorsement, consent, enrolment');
SELECT is((SELECT passed::text FROM healthpass.cross_border('shenzhen_bay', 'entry', 'document_free', person_id => :f)), 'true',
          'crosses into the mainland without showing a document');
SELECT quote_nullable((SELECT channel || ' ' || t.doc_kind FROM healthpass.crossing c JOIN healthpass.travel_document t USING (person_id, document_id)
            WHERE c.person_id = :f)) AS got \gset
SELECT is(:got::text, 'document_free hk_macau_permit', 'recorded with the channel and the document on file');
SELECT throws_ok(format($$SELECT * FROM healthpass.cross_border('shenzhen_bay', 'exit', 'document_free', person_id => %s)$$, :f),
    '22023', 'the document-free channel is for entering the mainland', 'leaving still needs the document');
SELECT throws_ok($$SELECT * FROM healthpass.cross_border('shenzhen_bay', 'entry', 'document_free', 'hk_macau_permit', 'C50000001')$$,
    '22023', NULL, 'the face, not the document, names the person');
SELECT is((SELECT refusal || ' ' || detail FROM healthpass.cross_border('luohu', 'entry', 'document_free', person_id => :f)),
          'not_eligible port_not_in_pilot', 'only at the pilot ports');
SELECT is((SELECT reasons FROM healthpass.document_free_eligibility(:f, 'shenzhen_bay', at_time => '2024-11-19 12:00+08')),
          ARRAY['no_valid_document', 'no_consent', 'not_enrolled', 'port_not_in_pilot'],
          'before 2024-11-20 the pilot had not begun (nor had this permit or consent)');
-- each reason on its own
SELECT healthpass.record_endorsement(:f, :f_doc, 'MO', 'L', 'multiple', :'today'::date - 1, :'today'::date + 300, 7);
SELECT is((SELECT reasons FROM healthpass.document_free_eligibility(:f, 'gongbei')), ARRAY['endorsement_type'],
          'a group-tour multiple endorsement is not enough (T, S, R, Q only)');
SELECT healthpass.record_endorsement(:f, :f_doc, 'MO', 'R', '2', :'today'::date - 1, :'today'::date + 300, 7);
SELECT is((SELECT reasons FROM healthpass.document_free_eligibility(:f, 'gongbei')), ARRAY['no_multiple_entry_endorsement'],
          'a two-entry endorsement is not multiple');
CREATE FUNCTION pg_temp.with_type(pid bigint, did bigint, t text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM healthpass.record_endorsement(pid, did, 'MO', t, 'multiple', healthpass_internal.hp_cst_day(now()) - 1,
                                          healthpass_internal.hp_cst_day(now()) + 300, 7);
    RETURN (SELECT eligible FROM healthpass.document_free_eligibility(pid, 'gongbei'));
END $$;
SELECT is((SELECT string_agg(t || ':' || pg_temp.with_type(:f, :f_doc, t), ' ' ORDER BY o)
             FROM unnest(ARRAY['T', 'S', 'L', 'G', 'R', 'Q', 'D']) WITH ORDINALITY x(t, o)),
          'T:true S:true L:false G:false R:true Q:true D:false', 'each type: family visit, business, talent and other qualify');
SELECT pg_temp.traveller('440106201303015311', '林小', '2013-03-01') AS kid \gset
SELECT pg_temp.permit(:kid, 'C50000002') AS kid_doc \gset
SELECT healthpass.record_endorsement(:kid, :kid_doc, 'HK', 'T', 'multiple', :'today'::date - 1, :'today'::date + 300, 7);
SELECT healthpass.give_biometric_consent(:kid);
SELECT healthpass.enrol_biometrics(:kid, 'gongbei_collection', '警号 2', 'tmpl:gb:000002');
SELECT is((SELECT reasons FROM healthpass.document_free_eligibility(:kid, 'shenzhen_bay')), ARRAY['under_14'], 'under 14 alone');
SELECT is((SELECT eligible FROM healthpass.document_free_eligibility(:kid, 'shenzhen_bay', at_time => '2027-03-01 00:00+08')), true,
          'from the 14th birthday (China Standard Time)');
SELECT is((SELECT eligible FROM healthpass.document_free_eligibility(:kid, 'shenzhen_bay', at_time => '2027-02-28 23:59:59+08')), false,
          'not the second before');
SELECT healthpass.withdraw_biometric_consent(:kid) AS refs \gset
SELECT is(:'refs'::text, '{tmpl:gb:000002}', 'withdrawing consent hands back the template references to delete');
SELECT is((SELECT reasons FROM healthpass.document_free_eligibility(:kid, 'shenzhen_bay', at_time => '2027-03-01 00:00+08')),
          ARRAY['no_consent', 'not_enrolled'], 'and ends eligibility at once');
SELECT is((SELECT refusal FROM healthpass.cross_border('shenzhen_bay', 'entry', 'document_free', person_id => :kid)), 'not_eligible',
          'a crossing checks eligibility at its instant');
SELECT throws_ok(format($$SELECT healthpass.enrol_biometrics(%s, 'gongbei_collection', 'x', 'tmpl:gb:000003')$$, :kid),
    '55000', NULL, 'no enrolment without consent');
SELECT healthpass.give_biometric_consent(:kid);
SELECT throws_ok(format($$SELECT healthpass.enrol_biometrics(%s, 'gongbei_collection', 'x', '%s')$$, :kid, repeat('/9j/4AAQSkZJRg', 20)),
    '22023', NULL, 'a face image is not a template reference: never stored');
SELECT throws_ok(format($$SELECT healthpass.enrol_biometrics(%s, 'airport', 'x', 'tmpl:gb:000003')$$, :kid),
    '22023', 'enrolment point "airport" does not exist', 'enrolment at the two ports'' points');
SELECT throws_ok(format($$SELECT healthpass.enrol_biometrics(%s, 'gongbei_collection', ' ', 'tmpl:gb:000003')$$, :kid),
    '22004', 'operator is missing', 'the operator is recorded');
-- enrolled with the permit application
SELECT pg_temp.traveller('440106198506125401', '林二') AS g \gset
SELECT healthpass.record_travel_document(:g, 'hk_macau_permit', 'C50000003', '广东省公安厅出入境管理局', :'today'::date - 1,
                                         :'today'::date + 3000, '44', biometric_ref => 'tmpl:app:000003') AS g_doc \gset
SELECT quote_nullable((SELECT source FROM healthpass.biometric_enrolment WHERE person_id = :g)) AS got \gset
SELECT is(:got::text, 'permit_application',
          'face and fingerprints left with the permit application enrol already');
SELECT is((SELECT reasons FROM healthpass.document_free_eligibility(:g, 'shenzhen_bay')), ARRAY['no_multiple_entry_endorsement', 'no_consent'],
          'the reasons come together');
-- an official document
SELECT pg_temp.traveller('440106198506125428', '林三') AS o \gset
SELECT pg_temp.permit(:o, 'C50000004', official => true);
SELECT is((SELECT reasons FROM healthpass.document_free_eligibility(:o, 'shenzhen_bay')), ARRAY['official_document', 'no_consent', 'not_enrolled'],
          'official documents are excluded');
-- every reason at once
SELECT pg_temp.traveller('440106201501015320', '林四', '2015-01-01') AS z \gset
SELECT is((SELECT reasons FROM healthpass.document_free_eligibility(:z, 'luohu')),
          ARRAY['under_14', 'no_valid_document', 'no_consent', 'not_enrolled', 'port_not_in_pilot'], 'every reason at once');
SELECT is((SELECT cardinality(explanations) FROM healthpass.document_free_eligibility(:z, 'luohu')), 5, 'each with its sentence');
-- a Hong Kong resident with a home return permit
SELECT healthpass.record_travel_document(:h, 'home_return_permit', 'H12345679', '公安部出入境管理局', :'today'::date - 1, :'today'::date + 3650,
                                         biometric_ref => 'tmpl:hrp:000001') AS h_doc \gset
SELECT healthpass.give_biometric_consent(:h);
SELECT is((SELECT eligible FROM healthpass.document_free_eligibility(:h, 'shenzhen_bay')), true,
          'a Hong Kong resident needs a valid home return permit, no endorsement');
SELECT crossing_id AS h_cross FROM healthpass.cross_border('shenzhen_bay', 'entry', 'document_free', person_id => :h) \gset
SELECT quote_nullable((SELECT t.doc_kind FROM healthpass.crossing x JOIN healthpass.travel_document t USING (person_id, document_id)
            WHERE x.crossing_id = :h_cross)) AS got \gset
SELECT is(:got::text, 'home_return_permit', 'and enters on it');
SELECT is(pg_temp.gate('H12345679', 'entry', 'e_channel', kind => 'home_return_permit'), 'passed', 'the e-channel with biometrics on file');
SELECT throws_ok($$SELECT * FROM healthpass.document_free_eligibility(NULL)$$, '22004', NULL, 'the person is required');
SELECT throws_ok(format($$SELECT * FROM healthpass.document_free_eligibility(%s, 'x')$$, :h), '22023', NULL, 'a known port');
SELECT throws_ok(format($$SELECT * FROM healthpass.document_free_eligibility(%s, region => 'TW')$$, :h), '22023', NULL, 'HK or MO');

-- consent is idempotent
SELECT is(healthpass.give_biometric_consent(:h), healthpass.give_biometric_consent(:h), 'giving consent twice is the same consent');

-- privileges: tables never granted, functions to purpose roles
SELECT is((SELECT count(*)::int FROM information_schema.role_table_grants
            WHERE table_schema = 'healthpass'
              AND table_name IN ('travel_document', 'travel_document_index', 'endorsement', 'electronic_permit', 'permit_binding',
                                 'biometric_consent', 'biometric_enrolment', 'crossing', 'port', 'acceptance_point', 'enrolment_point')
              AND grantee LIKE 'healthpass_%'), 0, 'no border table is granted');
SELECT ok(has_function_privilege('healthpass_border', 'healthpass.cross_border(text, text, text, text, text, bigint, text, timestamptz)', 'EXECUTE')
          AND NOT has_function_privilege('healthpass_app', 'healthpass.cross_border(text, text, text, text, text, bigint, text, timestamptz)', 'EXECUTE'),
          'gates cross, apps do not');
SELECT ok(has_function_privilege('healthpass_app', 'healthpass.bind_electronic_permit(bigint, text, text)', 'EXECUTE')
          AND NOT has_function_privilege('healthpass_border', 'healthpass.bind_electronic_permit(bigint, text, text)', 'EXECUTE'),
          'apps bind, the border does not');
SELECT ok(NOT has_function_privilege('healthpass_app', 'healthpass.record_travel_document(bigint, text, text, text, date, date, text, boolean, text)', 'EXECUTE'),
          'apps do not record documents');

SELECT * FROM finish();
