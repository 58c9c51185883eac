-- Hostile-argument suite, set-up (run by test/scripts/90_hostile.sh as a
-- superuser, in a fresh database where CREATE EXTENSION healthpass was run).
--
-- Builds, in schema "hostile":
--   base    baseline data (people, codes, keys, ...) made through the API
--   fn      every routine of schema healthpass a purpose role may EXECUTE,
--           found in the catalogue, with the SQL that calls it and a
--           baseline argument for every position
--   val     hostile values per (routine, argument position), derived from
--           the argument's type (and, for jsonb, from the baseline's shape)
--   calls   one call per routine x role that may execute it x (the
--           baseline, or one hostile value in one position)
--   result  what each call did (filled by hostile.try, see run.sql)
-- psql variables: :trust_list the test vectors' trust list (JSON); :hc1
-- test/hc1/fixed.json (HC1 signers and certificates valid until 2099);
-- :partner_material, :transfer_token_setup and :transfer_token what
-- test/hostile/partner.sql printed in the partner database (issuer MO):
-- its transfer_material() and two transfer tokens to this database.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET search_path = pg_catalog;
SET TimeZone = 'UTC';

CREATE SCHEMA hostile;
CREATE TABLE hostile.base (k text PRIMARY KEY, v text);
CREATE TABLE hostile.fn (
    fn        regprocedure PRIMARY KEY,
    name      text NOT NULL,          -- healthpass.f(argtypes), for reports
    prokind   "char" NOT NULL,
    argnames  text[] NOT NULL,
    argtypes  regtype[] NOT NULL,
    baseline  text[] NOT NULL,        -- one text per position (NULL allowed)
    roles     name[] NOT NULL,
    callsql   text,                   -- NULL: not callable from SQL
    skip_why  text
);
CREATE TABLE hostile.val (
    fn     regprocedure,
    pos    integer,
    label  text,
    v      text,
    castable boolean NOT NULL,
    PRIMARY KEY (fn, pos, label)
);
CREATE TABLE hostile.calls (
    call_id serial PRIMARY KEY,
    fn      regprocedure NOT NULL,
    role    name NOT NULL,
    pos     integer NOT NULL,         -- 0: the baseline call
    label   text NOT NULL
);
CREATE TABLE hostile.result (
    call_id  integer PRIMARY KEY,
    outcome  text NOT NULL,           -- accepted, refused, timeout, unrepresentable, crash
    sqlstate text,
    message  text,
    detail   text,
    hint     text,
    output   text,
    ms       numeric
);

-- ISO 7064 MOD 11-2 check character of 17 digits
CREATE FUNCTION hostile.cnid(d17 text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN d17 || substr('10X98765432',
    (SELECT sum(substr(d17, i, 1)::integer * ((2 ^ (18 - i))::integer % 11)) FROM generate_series(1, 17) i)::integer % 11 + 1, 1);

CREATE FUNCTION hostile.b(key text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT v FROM hostile.base WHERE k = key);

-- what came from outside: HC1 material, the partner's material and tokens
INSERT INTO hostile.base VALUES
    ('hc1_fr_der', '\x' || ((:'hc1'::jsonb)->'signers'->>'fr_ps256')),
    ('hc1_de_der', '\x' || ((:'hc1'::jsonb)->'signers'->>'de_es256')),
    ('hc1_fr_kid', '\x' || ((:'hc1'::jsonb)->'kids'->>'fr_ps256')),
    ('hc1_cert', (:'hc1'::jsonb)->'certificates'->>'vaccination_complete'),    -- signed by fr_ps256
    ('partner_material', :'partner_material'::jsonb::text),
    ('tok_transfer_setup', :'transfer_token_setup'),
    ('tok_transfer', :'transfer_token');

-- Baseline data, made through the API as a superuser -----------------------------
DO $setup$
DECLARE
    form jsonb;
    info jsonb := '{"residence_district": "Chancheng", "residence_address": "3 Lianhua Road",
                    "workplace": "Foshan No. 1 Middle School", "emergency_contact_name": "王大明",
                    "emergency_contact_phone": "13800138002"}';
    jpeg bytea := '\xffd8ffe000104a46494600';
    p bigint; q bigint; r bigint; s bigint; t bigint; m bigint;
    nv integer; lv integer;
    ids text[] := ARRAY[hostile.cnid('44010419900307123'),   -- P 王小明 (440104199003071239)
                        hostile.cnid('44010419900307124'),   -- Q, bound companion of P
                        hostile.cnid('44060619850615331'),   -- R, registered, not bound
                        hostile.cnid('44060619950101002'),   -- S, pending real-name, no entry
                        hostile.cnid('44060619880808003'),   -- T, ready to apply for an e-pass
                        hostile.cnid('44060619550808441'),   -- M, family member of P
                        hostile.cnid('44060620000229005'),   -- N1, not registered (register_person)
                        hostile.cnid('44060620010101006')];  -- N2, not registered (add_family_member)
    tok text;
    today date := (now() AT TIME ZONE 'Asia/Shanghai')::date;   -- documents are dated in China Standard Time
    permit bigint; permit_r bigint; e_hk bigint; e_mo bigint; rid bigint; h bigint; h1 bigint; h2 bigint; tv integer;
    rec record;
    transfer_form jsonb;
BEGIN
    ASSERT ids[1] = '440104199003071239', 'check character helper';
    nv := healthpass.publish_notice('registration_notice', 'Notice', 'Read me.');
    lv := healthpass.publish_notice('commitment_letter', 'Letter', 'I promise.');
    form := jsonb_build_object(
        'arrival_port', 'Gongbei', 'arrival_date', current_date::text, 'transport_mode', 'flight',
        'transport_number', 'NX001', 'seat_number', '12A', 'departure_country', 'MAC',
        'departure_city', 'Macau', 'destination_district', 'Chancheng',
        'destination_address', '2 Zumiao Road', 'contact_phone', '13800138000', 'purpose', 'tourism',
        'emergency_contact_name', '王大明', 'emergency_contact_phone', '13800138002');
    p := healthpass.register_person('cn_resident_id', ids[1], '王小明', phone => '13800138000');
    q := healthpass.register_person('cn_resident_id', ids[2], '李红');
    r := healthpass.register_person('cn_resident_id', ids[3], '赵六');
    s := healthpass.register_person('cn_resident_id', ids[4], '孙七');
    t := healthpass.register_person('cn_resident_id', ids[5], '周八', phone => '13800138005');
    PERFORM healthpass.submit_entry(x, nv, form) FROM unnest(ARRAY[p, q, r, t]) x;
    PERFORM healthpass.bind_companion(p, 'cn_resident_id', ids[2]);
    PERFORM healthpass.record_realname_result(x, (healthpass.person_info(x)->>'version')::integer, 'approved')
       FROM unnest(ARRAY[p, q, r, t]) x;
    PERFORM healthpass.record_face_check(x, 'CTID', 'passed', jpeg) FROM unnest(ARRAY[p, t]) x;
    PERFORM healthpass.apply_epass(p, lv, info);
    m := healthpass.add_family_member(p, 'cn_resident_id', ids[6], '王大爷', 'parent');
    PERFORM healthpass.declare_health(x, false, false, ARRAY['广东省深圳市南山区'], '佛山', '2 Zumiao Road', 36.6)
       FROM unnest(ARRAY[p, q, m]) x;
    PERFORM healthpass.record_test_result(p, 'Lab', 'R-1', now() - interval '1 hour', 'negative');
    INSERT INTO hostile.base VALUES
        ('P', p), ('Q', q), ('R', r), ('S', s), ('T', t), ('M', m),
        ('id_P', ids[1]), ('id_Q', ids[2]), ('id_R', ids[3]), ('id_S', ids[4]), ('id_T', ids[5]),
        ('id_M', ids[6]), ('id_N1', ids[7]), ('id_N2', ids[8]),
        ('notice_version', nv), ('letter_version', lv),
        ('S_version', (SELECT max(version) FROM healthpass.person_history(s))),
        ('entry_form', form), ('epass_info', info), ('jpeg', jpeg::text),
        ('mark', healthpass.set_risk_mark(q, 'secondary_contact', now(), now() + interval '14 days', 'traced')),
        ('area', healthpass.declare_risk_area('广东省深圳市福田区', 'cluster')),
        ('rule', healthpass.add_colour_rule('yellow', 'nucleic-acid result pending',
                    '{"fact": "latest_result", "op": "=", "value": "pending"}', 105)),
        ('ref_P', (SELECT public_ref FROM healthpass.ref_index WHERE person_id = p)),
        ('tok_personal', healthpass.personal_code(p)),
        ('tok_entry', healthpass.entry_code(p)),
        ('tok_family', healthpass.family_member_code(p, m)),
        ('tok_health', (SELECT h.token FROM healthpass.health_code(p) h)),
        ('tok_other', healthpass.issue_token('venue', '{"v": 1, "x": [1, {"y": "z"}]}', '1 hour'));
    INSERT INTO hostile.base VALUES ('job', healthpass.recolour_start());
    INSERT INTO hostile.base VALUES
        ('V', healthpass.register_venue(p, 'uscc', '91350100M000100Y43', '老王烧烤', '太平镇', '幸福路 1 号', '0537-1234567', jpeg, 24)),
        ('V2', healthpass.register_venue(p, 'org_code', 'D2143569-X', '太平镇卫生院', '太平镇', '卫生路 3 号', '0537-7654321', jpeg));
    PERFORM healthpass.add_venue_staff(p, (SELECT v::bigint FROM hostile.base WHERE k = 'V'), 'cn_resident_id', ids[2], '李红');
    PERFORM healthpass.suspend_venue(p, (SELECT v::bigint FROM hostile.base WHERE k = 'V2'), 'inspection');
    INSERT INTO hostile.base VALUES
        ('tok_venue', healthpass.venue_code(p, (SELECT v::bigint FROM hostile.base WHERE k = 'V')));
    PERFORM healthpass.recolour_all();
    tok := healthpass.issue_token('entry', '{}', '1 hour');
    PERFORM healthpass.revoke_pass(tok::healthpass.pass, 'lost');
    INSERT INTO hostile.base VALUES
        ('tok_revoked', tok),
        ('tok_expired', healthpass.issue_token_at('health', '{}', now() - interval '2 days',
                             now() - interval '1 day', '\x00112233445566778899aabbccddeeff')),
        ('kid', (SELECT kid FROM healthpass.signing_keys() WHERE local AND status = 'active' LIMIT 1)::text),
        ('token_id', (healthpass.verify_token((SELECT v FROM hostile.base WHERE k = 'tok_personal'))).token_id::text);

    -- The border (doc/border.md): P holds a Guangdong permit with a
    -- multiple-entry HK endorsement and a one-entry MO one, consented and
    -- enrolled, bound as the electronic permit (the reminders are made by
    -- triggers then); T holds a Guangdong permit, not bound. Face checks and
    -- contactless codes stay valid a day, so baseline calls made minutes
    -- after set-up still bind and pass.
    PERFORM healthpass.configure('face_check_valid_for', '1 day');
    PERFORM healthpass.configure('contactless_code_valid_for', '1 day');
    permit := healthpass.record_travel_document(p, 'hk_macau_permit', 'c 1357 2468', '广东省公安厅出入境管理局',
                                                today - 200, today + 3450, '44');
    e_hk := healthpass.record_endorsement(p, permit, 'HK', 'T', 'multiple', today - 60, today + 300, 14);
    e_mo := healthpass.record_endorsement(p, permit, 'MO', 'T', '1', today - 60, today + 60, 7);
    PERFORM healthpass.record_travel_document(t, 'hk_macau_permit', 'C24681357', '广东省公安厅出入境管理局',
                                              today - 100, today + 3550, '44');
    PERFORM healthpass.give_biometric_consent(p);
    PERFORM healthpass.enrol_biometrics(p, 'shenzhen_bay_collection', '警号 031234', 'tmpl:szb:7f3a9c01');
    SELECT * INTO STRICT rec FROM healthpass.bind_electronic_permit(p, 'C13572468', 'read_digits');
    ASSERT rec.outcome = 'bound', format('binding P''s permit: %s %s', rec.outcome, rec.reason);
    -- crossings in the past: to Hong Kong and back, to Macau (its one entry:
    -- the used-up reminder, due now) and back
    FOR rec IN SELECT * FROM (VALUES ('shenzhen_bay', 'exit', 20), ('shenzhen_bay', 'entry', 15),
                                   ('gongbei', 'exit', 10), ('gongbei', 'entry', 8)) v(port, dir, days_ago) LOOP
        ASSERT (SELECT c.passed FROM healthpass.cross_border(rec.port, rec.dir, 'manual', 'hk_macau_permit', 'C13572468',
                                                           crossed_at => now() - make_interval(days => rec.days_ago)) c),
               format('crossing %s %s', rec.port, rec.dir);
    END LOOP;
    SELECT c.reminder_id INTO rid FROM healthpass.claim_due_reminders('worker-1', 100) c WHERE c.reason = 'endorsement_used_up';
    -- R's permit is bound too, and the one entry of its endorsement used:
    -- a used-up reminder due and not claimed, for claim_due_reminders
    PERFORM healthpass.record_face_check(r, 'CTID', 'passed', jpeg);
    permit_r := healthpass.record_travel_document(r, 'hk_macau_permit', 'C35792468', '广东省公安厅出入境管理局',
                                                  today - 50, today + 3000, '44');
    PERFORM healthpass.record_endorsement(r, permit_r, 'HK', 'L', '1', today - 10, today + 20, 7);
    SELECT * INTO STRICT rec FROM healthpass.bind_electronic_permit(r, 'C35792468', 'head_motion');
    ASSERT rec.outcome = 'bound', format('binding R''s permit: %s %s', rec.outcome, rec.reason);
    ASSERT (SELECT c.passed FROM healthpass.cross_border('futian', 'exit', 'manual', 'hk_macau_permit', 'C35792468',
                                                       crossed_at => now() - interval '1 day') c), 'crossing futian exit';
    -- Records (doc/records.md): a certificate of P's last 30 days; a Hong
    -- Kong resident and a contactless code
    h := healthpass.register_person('hkid', 'A123456(3)', 'CHAN Tai Man', birth_date => '1980-05-01', nationality => 'HKG');
    -- Transfers (doc/transfer.md): the partner MO both ways, a notice here,
    -- one of its tokens imported (the other is import_transfer's baseline),
    -- and a transfer of P to MO
    tv := healthpass.publish_notice('transfer_notice', '入澳申报 申领须知', 'Your answers are sealed for Macau.');
    PERFORM healthpass.import_transfer_partner(hostile.b('partner_material')::jsonb, true, true);
    SELECT * INTO STRICT rec FROM healthpass.import_transfer(hostile.b('tok_transfer_setup'),
        '{"phone": "85366660000", "destination_city": "珠海市", "address": "拱北 1 号", "sms_checked": true, "captcha_checked": true}');
    transfer_form := jsonb_build_object('name', '王小明', 'birth_date', '1990-03-07', 'doc_kind', 'cn_resident_id',
                                        'doc_number', ids[1], 'phone', '13800138000', 'fever_today', false,
                                        'contact_14d', false, 'travel_14d', true, 'travel_places', jsonb_build_array('广东省深圳市南山区'));
    PERFORM healthpass.request_transfer(p, 'MO', tv, transfer_form);
    -- HC1 (doc/hc1.md): the FR signer, its certificate recorded for H1, not
    -- yet for H2 (the same holder under another passport)
    PERFORM healthpass.add_hc1_signer('FR', hostile.b('hc1_fr_der')::bytea);
    h1 := healthpass.register_person('passport', 'C01X00T47', 'Anna Maria Mueller', '1985-03-14', nationality => 'DEU');
    h2 := healthpass.register_person('passport', 'C01X00T49', 'Mueller Anna Maria', '1985-03-14', nationality => 'DEU');
    PERFORM healthpass.record_hc1(h1, hostile.b('hc1_cert'));
    INSERT INTO hostile.base VALUES
        ('today', today), ('permit_P', 'C13572468'), ('permit_T', 'C24681357'), ('document_P', permit),
        ('endorsement_HK', e_hk), ('endorsement_MO', e_mo), ('reminder', rid), ('HK', h),
        ('tok_record', healthpass.crossing_record(p, now() - interval '30 days', now())),
        ('tok_contactless', healthpass.hk_contactless_code(h, 'iam_smart')),
        ('transfer_notice_version', tv), ('transfer_form', transfer_form), ('X', rec.person_id),
        ('H1', h1), ('H2', h2);
END
$setup$;
-- another issuer's trust list: the test vectors' keys that are not published
-- under this server's own issuer, under the issuer they name
INSERT INTO hostile.base
SELECT 'trust_list', jsonb_set(jsonb_set(tl, '{keys}', keys), '{issuer}', to_jsonb(coalesce(keys->0->>'iss', 'MO')))
  FROM (SELECT (:'trust_list'::jsonb)->'trust_list' AS tl) t
 CROSS JOIN LATERAL (
        SELECT coalesce(jsonb_agg(k), '[]') AS keys
          FROM jsonb_array_elements(tl->'keys') k
         WHERE coalesce(k->>'iss', '') <> healthpass.token_issuer()) k;

-- Baseline argument: by (function, argument name), then argument name, then type.
CREATE FUNCTION hostile.baseline(f text, a text, t regtype) RETURNS text
    LANGUAGE plpgsql STABLE AS $$
DECLARE b text := NULL;
BEGIN
    b := CASE f || '.' || a
        WHEN 'register_person.doc_number' THEN hostile.b('id_N1')
        WHEN 'register_person.name' THEN '钱九'
        WHEN 'register_person.birth_date' THEN healthpass.cn_resident_id_birth_date(hostile.b('id_N1')::healthpass.cn_resident_id)::text
        WHEN 'register_person.sex' THEN healthpass.cn_resident_id_sex(hostile.b('id_N1')::healthpass.cn_resident_id)
        WHEN 'add_family_member.doc_number' THEN hostile.b('id_N2')
        WHEN 'add_family_member.name' THEN '王小宝'
        WHEN 'add_family_member.relation' THEN 'child'
        WHEN 'add_family_member.birth_date' THEN healthpass.cn_resident_id_birth_date(hostile.b('id_N2')::healthpass.cn_resident_id)::text
        WHEN 'add_family_member.sex' THEN healthpass.cn_resident_id_sex(hostile.b('id_N2')::healthpass.cn_resident_id)
        WHEN 'bind_companion.doc_number' THEN hostile.b('id_R')
        WHEN 'unbind_companion.doc_number' THEN hostile.b('id_Q')
        WHEN 'submit_entry.person_id' THEN hostile.b('S')
        WHEN 'apply_epass.person_id' THEN hostile.b('T')
        WHEN 'record_realname_result.person_id' THEN hostile.b('S')
        WHEN 'record_realname_result.result' THEN 'approved'
        WHEN 'record_realname_result.checked_version' THEN '1'
        WHEN 'record_test_result.result' THEN 'negative'
        WHEN 'lift_risk_mark.person_id' THEN hostile.b('Q')
        WHEN 'edit_person.changes' THEN '{"name": "王小明", "phone": "13900139000", "nationality": "CHN", "sex": "male", "birth_date": "1990-03-07"}'
        WHEN 'edit_family_member.changes' THEN '{"name": "王大爷", "phone": "13900139001", "nationality": "CHN", "relation": "parent"}'
        WHEN 'modify_entry.changes' THEN hostile.b('entry_form')
        WHEN 'submit_entry.entry' THEN hostile.b('entry_form')
        WHEN 'apply_epass.info' THEN hostile.b('epass_info')
        WHEN 'modify_epass.changes' THEN hostile.b('epass_info')
        WHEN 'normalize_document.kind' THEN 'cn_resident_id'
        WHEN 'is_valid_document.kind' THEN 'cn_resident_id'
        WHEN 'mask_document.kind' THEN 'cn_resident_id'
        WHEN 'issue_token.kind' THEN 'venue'
        WHEN 'issue_token.valid_for' THEN '1 hour'
        WHEN 'set_risk_mark.kind' THEN 'close_contact'
        WHEN 'set_risk_mark.person_id' THEN hostile.b('R')
        WHEN 'verify_health_code.token' THEN hostile.b('tok_health')
        WHEN 'revoke_pass.token' THEN hostile.b('tok_health')
        WHEN 'base45_decode.data' THEN 'X50U5'
        WHEN 'family_member_qr_png.module_px' THEN '8'
        WHEN 'health_code_png.module_px' THEN '6'
        WHEN 'qr_text.level' THEN 'L'
        WHEN 'colour_rules.version' THEN '1'
        WHEN 'rotate_signing_key.valid_for' THEN '1 year'
        WHEN 'family_member_code.valid_for' THEN '90 days'
        WHEN 'family_member_qr_png.valid_for' THEN '90 days'
        WHEN 'worse.a' THEN 'green'
        WHEN 'worse.b' THEN 'red'
        WHEN 'register_venue.id_kind' THEN 'uscc'
        WHEN 'register_venue.id_number' THEN '91350100M000100Y43'
        WHEN 'register_venue.name' THEN '老王烧烤 (新店)'
        WHEN 'register_venue.street' THEN '太平镇'
        WHEN 'register_venue.address' THEN '幸福路 2 号'
        WHEN 'register_venue.image' THEN hostile.b('jpeg')
        WHEN 'register_venue.negative_test_hours' THEN '24'
        WHEN 'edit_venue.changes' THEN '{"name": "老王烧烤 二店", "phone": "13800138000", "negative_test_hours": 12}'
        WHEN 'edit_venue.image' THEN hostile.b('jpeg')
        WHEN 'reopen_venue.venue_id' THEN hostile.b('V2')
        WHEN 'add_venue_staff.doc_number' THEN hostile.b('id_R')
        WHEN 'add_venue_staff.name' THEN '赵六'
        WHEN 'remove_venue_staff.staff_id' THEN hostile.b('Q')
        WHEN 'scan_venue_code.venue_token' THEN hostile.b('tok_venue')
        WHEN 'staff_scan.token' THEN hostile.b('tok_personal')
        WHEN 'staff_manual_check.doc_number' THEN hostile.b('id_P')
        WHEN 'staff_manual_check.name' THEN '王小明'
        WHEN 'staff_manual_check.phone' THEN '13800138000'
        WHEN 'record_scan_check.person_ref' THEN hostile.b('ref_P')
        WHEN 'record_scan_check.scanned_at' THEN now()::text
        WHEN 'set_admission_rule.decision' THEN 'check'
        WHEN 'set_admission_rule.prompt' THEN 'check first'
        WHEN 'trace_contacts.from_at' THEN (now() - interval '7 days')::text
        WHEN 'report_venue_day.venue' THEN hostile.b('V')
        WHEN 'report_hourly_load.venue' THEN hostile.b('V')
        WHEN 'recolour_step.job' THEN hostile.b('job')
        WHEN 'recolour_progress.job' THEN hostile.b('job')
        WHEN 'recolour_run.job' THEN hostile.b('job')
        WHEN 'document_kind_holder.kind' THEN 'cn_resident_id'
        WHEN 'configure.setting_name' THEN 'face_check_valid_for'
        WHEN 'configure.value' THEN '1 day'
        -- the border (doc/border.md): P's permit, endorsements, crossings; T binds
        WHEN 'trusted_acceptance_points.district' THEN '越秀'
        WHEN 'trusted_acceptance_points.city' THEN '广州市'
        WHEN 'add_acceptance_point.city' THEN '广州市'
        WHEN 'add_acceptance_point.district' THEN '天河区'
        WHEN 'add_acceptance_point.address' THEN '天河路 385 号'
        WHEN 'record_travel_document.doc_kind' THEN 'hk_macau_permit'
        WHEN 'record_travel_document.doc_number' THEN 'C98765432'          -- a new card replacing P's
        WHEN 'record_travel_document.issued_on' THEN (hostile.b('today')::date - 1)::text
        WHEN 'record_travel_document.valid_until' THEN (hostile.b('today')::date + 3600)::text
        WHEN 'record_travel_document.issuing_province' THEN '44'
        WHEN 'record_travel_document.biometric_ref' THEN 'tmpl:app:5a6b7c8d'
        WHEN 'record_endorsement.valid_from' THEN hostile.b('today')
        WHEN 'record_endorsement.valid_until' THEN (hostile.b('today')::date + 300)::text
        WHEN 'confirm_endorsement_entries.entries_used' THEN '2'
        WHEN 'confirm_endorsement_entries.as_of' THEN (now() - interval '1 minute')::text
        WHEN 'renew_endorsement.valid_from' THEN hostile.b('today')
        WHEN 'renew_endorsement.valid_until' THEN (hostile.b('today')::date + 360)::text
        WHEN 'bind_electronic_permit.person_id' THEN hostile.b('T')
        WHEN 'bind_electronic_permit.doc_number' THEN hostile.b('permit_T')
        WHEN 'enrol_biometrics.operator' THEN '警号 031235'
        WHEN 'cross_border.doc_kind' THEN 'hk_macau_permit'
        WHEN 'cross_border.doc_number' THEN hostile.b('permit_P')
        WHEN 'cross_border.person_id' THEN '<NULL>'                        -- a manual gate reads the document
        WHEN 'cross_border.crossed_at' THEN now()::text
        -- records (doc/records.md)
        WHEN 'verify_record_certificate.token' THEN hostile.b('tok_record')
        WHEN 'hk_contactless_code.person_id' THEN hostile.b('HK')
        WHEN 'scan_contactless_code.token' THEN hostile.b('tok_contactless')
        WHEN 'scan_contactless_code.direction' THEN 'arrival'
        -- reminders (doc/reminders.md): worker-2 claims R's used-up reminder;
        -- P's was claimed by worker-1 in set-up (mark_reminder_sent, _failed)
        WHEN 'claim_due_reminders.worker' THEN 'worker-2'
        -- transfers (doc/transfer.md)
        WHEN 'request_transfer.notice_version' THEN hostile.b('transfer_notice_version')
        WHEN 'import_transfer.token' THEN hostile.b('tok_transfer')
        WHEN 'received_transfers.person_id' THEN hostile.b('X')
        -- HC1 (doc/hc1.md): the FR signer is added, DE is not
        WHEN 'add_hc1_signer.certificate' THEN hostile.b('hc1_de_der')
        WHEN 'remove_hc1_signer.kid' THEN hostile.b('hc1_fr_kid')
        WHEN 'record_hc1.person_id' THEN hostile.b('H2')
        WHEN 'hc1_records.person_id' THEN hostile.b('H1')
        ELSE NULL END;
    IF b IS NOT NULL THEN RETURN nullif(b, '<NULL>'); END IF;
    b := CASE a
        WHEN 'person_id' THEN hostile.b('P')
        WHEN 'manager_id' THEN hostile.b('P')
        WHEN 'venue_id' THEN hostile.b('V')
        WHEN 'staff_id' THEN hostile.b('Q')
        WHEN 'guardian_id' THEN hostile.b('P')
        WHEN 'member_id' THEN hostile.b('M')
        WHEN 'doc_kind' THEN 'cn_resident_id'
        WHEN 'doc_number' THEN hostile.b('id_P')
        WHEN 'number' THEN hostile.b('id_P')
        WHEN 'name' THEN '王小明'
        WHEN 'relation' THEN 'parent'
        WHEN 'birth_date' THEN '1990-03-07'
        WHEN 'sex' THEN 'male'
        WHEN 'nationality' THEN 'CHN'
        WHEN 'phone' THEN '13800138000'
        WHEN 'notice_version' THEN hostile.b('notice_version')
        WHEN 'letter_version' THEN hostile.b('letter_version')
        WHEN 'checked_version' THEN hostile.b('S_version')
        WHEN 'reason' THEN 'checked by staff'
        WHEN 'kind' THEN 'registration_notice'
        WHEN 'title' THEN 'Notice, second version'
        WHEN 'body' THEN CASE WHEN t = 'jsonb'::regtype THEN '{"n": "张*明", "r": "P-1"}' ELSE 'Read me again.' END
        WHEN 'valid_for' THEN '1 day'
        WHEN 'token' THEN hostile.b('tok_personal')
        WHEN 'data' THEN CASE WHEN t = 'bytea'::regtype THEN '\x0102ff' ELSE 'HP1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL' END
        WHEN 'level' THEN 'M'
        WHEN 'module_px' THEN '4'
        WHEN 'margin' THEN '4'
        WHEN 'fg' THEN 'black'
        WHEN 'bg' THEN 'white'
        WHEN 'invert' THEN 'false'
        WHEN 'kid' THEN hostile.b('kid')
        WHEN 'token_id' THEN hostile.b('token_id')
        WHEN 'doc' THEN hostile.b('trust_list')
        WHEN 'provider' THEN 'CTID'
        WHEN 'outcome' THEN 'passed'
        WHEN 'photo' THEN hostile.b('jpeg')
        WHEN 'provider_ref' THEN 'tx-1'
        WHEN 'checked_at' THEN now()::text
        WHEN 'fever_today' THEN 'false'
        WHEN 'contact_14d' THEN 'false'
        WHEN 'travel_places' THEN '{广东省深圳市南山区,澳门}'
        WHEN 'destination_city' THEN '佛山'
        WHEN 'destination_address' THEN '2 Zumiao Road'
        WHEN 'temperature' THEN '36.6'
        WHEN 'institution' THEN 'Lab'
        WHEN 'sample_ref' THEN 'R-2'
        WHEN 'sampled_at' THEN (now() - interval '2 hours')::text
        WHEN 'reported_at' THEN now()::text
        WHEN 'at' THEN CASE WHEN t = 'date'::regtype THEN current_date::text ELSE now()::text END
        WHEN 'from_at' THEN (now() - interval '30 days')::text
        WHEN 'to_at' THEN (now() + interval '1 day')::text
        WHEN 'max_rows' THEN '10'
        WHEN 'exported' THEN 'true'
        WHEN 'case_person_id' THEN hostile.b('P')
        WHEN 'max_people' THEN '100'
        WHEN 'chunk_size' THEN '100'
        WHEN 'mark_id' THEN hostile.b('mark')
        WHEN 'area_id' THEN hostile.b('area')
        WHEN 'rule_id' THEN hostile.b('rule')
        WHEN 'job' THEN NULL
        WHEN 'place' THEN '广东省珠海市'
        WHEN 'note' THEN 'cluster'
        WHEN 'valid_from' THEN now()::text
        WHEN 'valid_until' THEN (now() + interval '14 days')::text
        WHEN 'include_lifted' THEN 'false'
        WHEN 'code_valid_for' THEN '5 minutes'
        WHEN 'declaration_valid_for' THEN '1 day'
        WHEN 'colour' THEN 'yellow'
        WHEN 'condition' THEN '{"all": [{"fact": "temperature", "op": ">=", "value": 37.3},
                                        {"not": {"fact": "last_negative_at", "op": "within", "value": "3 days"}}]}'
        WHEN 'priority' THEN '500'
        WHEN 'ref' THEN hostile.b('ref_P')
        WHEN 'result' THEN 'approved'
        -- the border, records, reminders, transfers, HC1
        WHEN 'region' THEN 'HK'
        WHEN 'endorsement_type' THEN 'T'
        WHEN 'entries' THEN 'multiple'
        WHEN 'days_per_stay' THEN '14'
        WHEN 'liveness_method' THEN 'read_digits'
        WHEN 'port_code' THEN 'shenzhen_bay'
        WHEN 'direction' THEN 'exit'
        WHEN 'channel' THEN 'manual'
        WHEN 'point_code' THEN 'shenzhen_bay_collection'
        WHEN 'operator' THEN '警号 031234'
        WHEN 'template_ref' THEN 'tmpl:szb:7f3a9c02'
        WHEN 'issuing_authority' THEN '广东省公安厅出入境管理局'
        WHEN 'document_id' THEN hostile.b('document_P')
        WHEN 'endorsement_id' THEN hostile.b('endorsement_HK')
        WHEN 'official' THEN 'false'
        WHEN 'at_time' THEN now()::text
        WHEN 'from_time' THEN (now() - interval '30 days')::text
        WHEN 'to_time' THEN now()::text
        WHEN 'authenticated_via' THEN 'iam_smart'
        WHEN 'worker' THEN 'worker-1'
        WHEN 'max_count' THEN '10'
        WHEN 'reminder_id' THEN hostile.b('reminder')
        WHEN 'error' THEN 'SMS gateway timed out'
        WHEN 'grace' THEN '7 days'
        WHEN 'material' THEN hostile.b('partner_material')
        WHEN 'accept_from' THEN 'true'
        WHEN 'send_to' THEN 'true'
        WHEN 'destination' THEN 'MO'
        WHEN 'form' THEN hostile.b('transfer_form')
        WHEN 'itinerary' THEN '{"phone": "85366660000", "destination_city": "珠海市", "address": "拱北 1 号",
                                "sms_checked": true, "captcha_checked": true}'
        WHEN 'certificate' THEN CASE WHEN t = 'bytea'::regtype THEN hostile.b('hc1_de_der') ELSE hostile.b('hc1_cert') END
        WHEN 'country' THEN 'DE'
        ELSE NULL END;
    IF b IS NOT NULL THEN RETURN b; END IF;
    -- unnamed arguments and anything else: by type
    RETURN CASE t
        WHEN 'healthpass.cn_resident_id'::regtype THEN hostile.b('id_P')
        WHEN 'healthpass.pass'::regtype THEN hostile.b('tok_personal')
        WHEN 'healthpass.health_colour'::regtype THEN 'yellow'
        WHEN 'cstring'::regtype THEN CASE WHEN f LIKE 'pass%' THEN hostile.b('tok_personal') ELSE hostile.b('id_P') END
        WHEN 'text'::regtype THEN 'x'
        WHEN 'integer'::regtype THEN '1'
        WHEN 'bigint'::regtype THEN '0'
        WHEN 'boolean'::regtype THEN 'false'
        WHEN 'date'::regtype THEN current_date::text
        WHEN 'timestamp with time zone'::regtype THEN now()::text
        WHEN 'interval'::regtype THEN '1 day'
        WHEN 'jsonb'::regtype THEN '{}'
        WHEN 'bytea'::regtype THEN '\x0102'
        WHEN 'uuid'::regtype THEN hostile.b('ref_P')
        ELSE NULL END;
END
$$;

-- The routines under test: from the catalogue ---------------------------------------
INSERT INTO hostile.fn (fn, name, prokind, argnames, argtypes, baseline, roles, callsql, skip_why)
SELECT p.oid::regprocedure,
       p.oid::regprocedure::text,
       p.prokind, a.names, a.types,
       (SELECT coalesce(array_agg(hostile.baseline(p.proname, a.names[i], a.types[i]) ORDER BY i), '{}')
          FROM generate_subscripts(a.types, 1) i),
       r.roles, NULL, NULL
  FROM pg_proc p
 CROSS JOIN LATERAL (
        SELECT coalesce(array_agg(coalesce(p.proargnames[i + 1], '') ORDER BY i), '{}') AS names,
               coalesce(array_agg(p.proargtypes[i]::regtype ORDER BY i), '{}') AS types
          FROM generate_series(0, p.pronargs - 1) i) a
 CROSS JOIN LATERAL (
        SELECT array_agg(ro ORDER BY o) AS roles
          FROM unnest(ARRAY['healthpass_admin', 'healthpass_app', 'healthpass_scanner',
                            'healthpass_health', 'healthpass_report', 'healthpass_border',
                            'healthpass_messenger']::name[]) WITH ORDINALITY x(ro, o)
         WHERE has_function_privilege(ro, p.oid, 'EXECUTE')) r
 WHERE p.pronamespace = 'healthpass'::regnamespace
   AND r.roles IS NOT NULL;
-- (proargnames lists IN arguments first only when there are no OUT ones:
--  take the names of the IN/INOUT/VARIADIC arguments in order)
UPDATE hostile.fn f
   SET argnames = (SELECT coalesce(array_agg(coalesce(n, '') ORDER BY i), '{}')
                     FROM unnest(p.proargnames, p.proargmodes) WITH ORDINALITY u(n, mode, i)
                    WHERE mode IN ('i', 'b', 'v'))
  FROM pg_proc p
 WHERE p.oid = f.fn AND p.proargmodes IS NOT NULL;
UPDATE hostile.fn f
   SET baseline = (SELECT coalesce(array_agg(hostile.baseline(p.proname, f.argnames[i], f.argtypes[i]) ORDER BY i), '{}')
                     FROM generate_subscripts(f.argtypes, 1) i)
  FROM pg_proc p
 WHERE p.oid = f.fn AND p.proargmodes IS NOT NULL;

UPDATE hostile.fn f
   SET skip_why = 'takes an argument of type ' || (SELECT min(t::text) FROM unnest(f.argtypes) t
                                                   WHERE t IN ('internal'::regtype, 'anyelement'::regtype))
                  || ': not callable from SQL'
 WHERE EXISTS (SELECT FROM unnest(f.argtypes) t WHERE t IN ('internal'::regtype, 'anyelement'::regtype));
UPDATE hostile.fn f SET skip_why = 'returns ' || pg_get_function_result(f.fn) || ': not callable from SQL'
 WHERE skip_why IS NULL AND pg_get_function_result(f.fn) IN ('trigger', 'event_trigger');

-- the call: arguments come as one text[] ($1) cast to each position's type;
-- the result is forced through its output functions (x::text)
UPDATE hostile.fn f
   SET callsql = CASE f.prokind
        WHEN 'p' THEN format('CALL %s(%s)', f.fn::oid::regproc, args)
        WHEN 'a' THEN format('SELECT count(*) || '' rows: '' || coalesce(string_agg(coalesce(x::text, ''<NULL>''), '' | ''), '''') FROM (SELECT %s(%s) AS x FROM (VALUES (%s)) s(%s)) q',
                             f.fn::oid::regproc,
                             (SELECT string_agg('v' || i, ', ' ORDER BY i) FROM generate_subscripts(f.argtypes, 1) i),
                             args,
                             (SELECT string_agg('v' || i, ', ' ORDER BY i) FROM generate_subscripts(f.argtypes, 1) i))
        ELSE format('SELECT count(*) || '' rows: '' || coalesce(string_agg(coalesce(x::text, ''<NULL>''), '' | ''), '''') FROM %s(%s) x',
                    f.fn::oid::regproc, args) END
  FROM (SELECT f2.fn AS id,
               coalesce((SELECT string_agg(format('$1[%s]::%s', i, f2.argtypes[i]), ', ' ORDER BY i)
                           FROM generate_subscripts(f2.argtypes, 1) i), '') AS args
          FROM hostile.fn f2) g
 WHERE g.id = f.fn AND f.skip_why IS NULL;

-- Hostile values -------------------------------------------------------------------
CREATE FUNCTION hostile.json_nodes(j jsonb) RETURNS TABLE (path text[], node jsonb)
    LANGUAGE sql IMMUTABLE AS $$
    WITH RECURSIVE t(path, node) AS (
        SELECT ARRAY[]::text[], j
        UNION ALL
        SELECT t.path || c.k, c.v
          FROM t CROSS JOIN LATERAL (
                 SELECT key AS k, value AS v FROM jsonb_each(CASE WHEN jsonb_typeof(t.node) = 'object' THEN t.node END)
                 UNION ALL
                 SELECT (o - 1)::text, value FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t.node) = 'array' THEN t.node END)
                        WITH ORDINALITY e(value, o) WHERE o <= 2) c
         WHERE cardinality(t.path) < 4)
    SELECT path, node FROM t WHERE cardinality(path) > 0
$$;

CREATE FUNCTION hostile.values_for(f hostile.fn, pos integer) RETURNS TABLE (label text, v text)
    LANGUAGE plpgsql AS $$
DECLARE
    t regtype := f.argtypes[pos];
    a text := f.argnames[pos];
    b text := f.baseline[pos];
    mb text := repeat('x', 1048576);
    tok text := hostile.b('tok_personal');
    rnd text;
    nd record;
    bj jsonb;
BEGIN
    label := 'NULL'; v := NULL; RETURN NEXT;
    IF t = 'internal'::regtype THEN RETURN; END IF;
    IF t IN ('text'::regtype, 'cstring'::regtype) THEN
        RETURN QUERY VALUES
            ('empty', ''), ('blank', '   '), ('1MB', mb),
            ('bidi', E'\u202e' || coalesce(b, 'Alice')),
            ('newline', coalesce(b, 'Alice') || E'\nBob'),
            ('ctrl_01', coalesce(b, 'x') || E'\x01'),
            ('digits', '1234567890'),
            ('bad_id', '440105199308151058'),          -- 17 right digits, wrong check digit
            ('unknown_id', hostile.b('id_N2')),         -- a valid number nobody registered
            ('id_15', '440104900307123');               -- first-generation form of P's number
        IF a IN ('token', 'data') OR t = 'cstring'::regtype THEN
            RETURN QUERY SELECT * FROM hostile.hp1_values();
        END IF;
    ELSIF t = 'text[]'::regtype THEN
        RETURN QUERY VALUES ('empty', '{}'), ('null_elem', '{NULL}'), ('empty_elem', '{""}'),
            ('10000_elems', (SELECT array_agg('广东省' || i)::text FROM generate_series(1, 10000) i)),
            ('1MB_elem', ARRAY[mb]::text),
            ('bidi_elem', ARRAY[E'\u202e广东省', E'澳门\n']::text),
            ('bad_id_elem', ARRAY['440105199308151058']::text);
    ELSIF t = 'bytea'::regtype THEN
        rnd := (SELECT string_agg(md5(i::text || 'hostile'), '') FROM generate_series(1, 65536) i);
        RETURN QUERY VALUES ('empty', '\x'), ('random_8', '\x' || left(rnd, 16)),
            ('random_16', '\x' || left(rnd, 32)), ('random_1000', '\x' || left(rnd, 2000)),
            ('1MB', '\x' || rnd);
    ELSIF t IN ('integer'::regtype, 'smallint'::regtype) THEN
        RETURN QUERY VALUES ('zero', '0'), ('minus_1', '-1'), ('max', '2147483647'),
            ('min', '-2147483648'), ('nonexistent', '999999');
    ELSIF t = 'bigint'::regtype THEN
        RETURN QUERY VALUES ('zero', '0'), ('minus_1', '-1'), ('max', '9223372036854775807'),
            ('min', '-9223372036854775808'), ('nonexistent', '999999999'), ('int_max', '2147483647');
    ELSIF t = 'numeric'::regtype THEN
        RETURN QUERY VALUES ('zero', '0'), ('minus_1', '-1'), ('NaN', 'NaN'), ('infinity', 'Infinity'),
            ('-infinity', '-Infinity'), ('1e100', '1e100'), ('tiny', '0.000000000000000000001');
    ELSIF t = 'interval'::regtype THEN
        RETURN QUERY VALUES ('1us', '1 microsecond'), ('minus_1_day', '-1 day'), ('zero', '0'),
            ('178000000_years', '178000000 years'), ('minus_178000000_years', '-178000000 years'),
            ('1_month_minus_30_days', '1 month -30 days');
    ELSIF t = 'timestamp with time zone'::regtype THEN
        RETURN QUERY VALUES ('infinity', 'infinity'), ('-infinity', '-infinity'),
            ('4713BC', '4713-01-01 00:00:00+00 BC'), ('year_294276', '294276-12-31 23:59:59+00'),
            ('1900', '1900-01-01 00:00:00+00'), ('2999', '2999-01-01 00:00:00+00');
    ELSIF t = 'date'::regtype THEN
        RETURN QUERY VALUES ('infinity', 'infinity'), ('-infinity', '-infinity'),
            ('4713BC', '4713-01-01 BC'), ('year_5874897', '5874897-12-31'),
            ('1899', '1899-12-31'), ('2999', '2999-01-01');
    ELSIF t = 'boolean'::regtype THEN
        RETURN QUERY VALUES ('true', 'true'), ('false', 'false');
    ELSIF t = 'uuid'::regtype THEN
        RETURN QUERY VALUES ('zero', '00000000-0000-0000-0000-000000000000'),
            ('unknown', 'b1c2d3e4-0000-4000-8000-000000000001');
    ELSIF t = 'jsonb'::regtype THEN
        RETURN QUERY VALUES ('null', 'null'), ('array', '[]'), ('string', '"x"'), ('number', '1'),
            ('true', 'true'), ('empty_object', '{}'), ('nested_object', '{"a": {"b": 1}}'),
            ('deep_100', repeat('{"a": ', 100) || '1' || repeat('}', 100)),
            ('deep_5000', repeat('[', 5000) || '1' || repeat(']', 5000)),
            ('huge_object', (SELECT jsonb_object_agg('k' || i, i)::text FROM generate_series(1, 100000) i)),
            ('1MB_string', to_jsonb(mb)::text);
        -- every node of the baseline: wrong value types, and left out
        bj := b::jsonb;
        FOR nd IN SELECT * FROM hostile.json_nodes(bj) LOOP
            RETURN QUERY SELECT 'at ' || array_to_string(nd.path, '.') || ': ' || w.l,
                                CASE WHEN w.l = 'missing' THEN (bj #- nd.path)::text
                                     ELSE jsonb_set(bj, nd.path, w.j)::text END
              FROM (VALUES ('object', '{"a": 1}'::jsonb), ('array', '[1, 2]'), ('true', 'true'),
                           ('null', 'null'), ('number', '12345'), ('negative', '-1'), ('float', '1e300'),
                           ('empty_string', '""'), ('1MB_string', to_jsonb(mb)),
                           ('ctrl_string', to_jsonb(E'\u202e' || coalesce(nd.node #>> '{}', 'x') || E'\n\x01')),
                           ('bad_id', '"440105199308151058"'), ('missing', NULL)) w(l, j);
        END LOOP;
    ELSIF t = 'healthpass.health_colour'::regtype THEN
        RETURN QUERY SELECT 'colour_' || c::text, c::text FROM unnest(enum_range(NULL::healthpass.health_colour)) c;
    ELSIF t = 'healthpass.cn_resident_id'::regtype THEN
        RETURN QUERY VALUES ('gb_example', '11010519491231002X'), ('id_15', '110105491231002'),
            ('unknown_id', hostile.b('id_N2')), ('bad_id', '440105199308151058');
    ELSIF t = 'healthpass.pass'::regtype THEN
        RETURN QUERY SELECT * FROM hostile.hp1_values();
    END IF;
END
$$;

-- garbled and out-of-place HP1 tokens
CREATE FUNCTION hostile.hp1_values() RETURNS TABLE (label text, v text) LANGUAGE sql STABLE AS $$
    SELECT * FROM (VALUES
        ('hp1_empty', 'HP1:'),
        ('hp1_percent', 'HP1:' || repeat('%', 64)),
        ('hp1_lowercase', 'hp1:' || substr(hostile.b('tok_personal'), 5)),
        ('hp1_truncated', left(hostile.b('tok_personal'), length(hostile.b('tok_personal')) / 2)),
        ('hp1_last_char', left(hostile.b('tok_personal'), -1)
                          || CASE WHEN right(hostile.b('tok_personal'), 1) = 'A' THEN 'B' ELSE 'A' END),
        ('hp1_flip_mid', overlay(hostile.b('tok_personal') placing
                          CASE WHEN substr(hostile.b('tok_personal'), 40, 1) = '0' THEN '1' ELSE '0' END
                          from 40 for 1)),
        ('hp1_trailing', hostile.b('tok_personal') || '00'),
        ('hp1_random', 'HP1:' || healthpass.base45_encode(decode(md5('a') || md5('b') || md5('c'), 'hex'))),
        ('hp1_zlib_garbage', 'HP1:' || healthpass.base45_encode(decode('789c' || md5('z') || md5('y'), 'hex'))),
        ('hp1_1MB', 'HP1:' || repeat('0', 1048576)),
        ('tok_entry', hostile.b('tok_entry')),
        ('tok_family', hostile.b('tok_family')),
        ('tok_health', hostile.b('tok_health')),
        ('tok_other_kind', hostile.b('tok_other')),
        ('tok_revoked', hostile.b('tok_revoked')),
        ('tok_expired', hostile.b('tok_expired'))) v(label, v)
$$;

DO $gen$
DECLARE
    f hostile.fn;
    i integer;
    x record;
    ok boolean;
BEGIN
    FOR f IN SELECT * FROM hostile.fn WHERE skip_why IS NULL LOOP
        FOR i IN 1 .. coalesce(array_length(f.argtypes, 1), 0) LOOP
            FOR x IN SELECT * FROM hostile.values_for(f, i) LOOP
                ok := true;
                IF x.v IS NOT NULL THEN
                    BEGIN
                        EXECUTE format('SELECT ($1::%s) IS NULL', f.argtypes[i]) USING x.v;
                    EXCEPTION WHEN OTHERS THEN ok := false;
                    END;
                END IF;
                INSERT INTO hostile.val VALUES (f.fn, i, x.label, x.v, ok) ON CONFLICT DO NOTHING;
            END LOOP;
        END LOOP;
    END LOOP;
END
$gen$;

INSERT INTO hostile.calls (fn, role, pos, label)
SELECT f.fn, r, 0, 'baseline' FROM hostile.fn f, unnest(f.roles) r WHERE f.skip_why IS NULL
UNION ALL
SELECT f.fn, r, v.pos, v.label FROM hostile.fn f JOIN hostile.val v ON v.fn = f.fn, unnest(f.roles) r
 WHERE f.skip_why IS NULL
 ORDER BY 1, 3, 4, 2;

-- One call: as the role, in a subtransaction that is always rolled back ---------------
CREATE FUNCTION hostile.try(id integer) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    c hostile.calls;
    f hostile.fn;
    args text[];
    hv text;
    ok boolean := false;
    castable boolean := true;
    res text;
    st text; msg text; det text; hnt text;
    t0 timestamptz;
BEGIN
    SELECT * INTO STRICT c FROM hostile.calls WHERE call_id = id;
    SELECT * INTO STRICT f FROM hostile.fn WHERE fn = c.fn;
    args := f.baseline;
    IF c.pos > 0 THEN
        SELECT v.v, v.castable INTO STRICT hv, castable
          FROM hostile.val v WHERE v.fn = c.fn AND v.pos = c.pos AND v.label = c.label;
        args[c.pos] := hv;
    END IF;
    IF NOT castable THEN
        INSERT INTO hostile.result (call_id, outcome) VALUES (id, 'unrepresentable');
        RETURN;
    END IF;
    t0 := clock_timestamp();
    BEGIN
        EXECUTE format('SET LOCAL ROLE %I', c.role);
        IF f.prokind = 'p' THEN
            EXECUTE f.callsql USING args;
            res := 'called';
        ELSE
            EXECUTE f.callsql INTO res USING args;
        END IF;
        ok := true;
        RAISE EXCEPTION 'rolled back' USING ERRCODE = 'HPRB0';
    EXCEPTION
        WHEN query_canceled THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                                    hnt = PG_EXCEPTION_HINT;
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                                    hnt = PG_EXCEPTION_HINT;
    END;
    INSERT INTO hostile.result VALUES (id,
        CASE WHEN ok THEN 'accepted' WHEN st = '57014' THEN 'timeout' ELSE 'refused' END,
        CASE WHEN ok THEN NULL ELSE st END,
        CASE WHEN ok THEN NULL ELSE msg END,
        CASE WHEN ok THEN NULL ELSE nullif(det, '') END,
        CASE WHEN ok THEN NULL ELSE nullif(hnt, '') END,
        left(res, 300),
        round(extract(epoch FROM clock_timestamp() - t0) * 1000, 2));
END
$$;
