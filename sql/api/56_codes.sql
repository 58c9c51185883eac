-- 56_codes.sql: the dynamic health code, its verification by scanners, a
-- staff member's manual check (seed 004) and the e-pass health page.
--
-- The health code is an HP1 token of kind "health". Its body carries the
-- person's opaque reference, masked name, document kind and masked number
-- (person_claims), the colour when issued and the date of the last negative
-- test in 14 days. It is valid for health_settings().code_valid_for
-- (3 minutes by default), so a screenshot goes stale; an app refreshes it
-- while the page is open. Real-name rejected people get no code.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Issues the code for a person whose colour is materialised up to now.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_health_code(p person,
    OUT token text, OUT colour health_colour, OUT reasons text[], OUT since timestamptz,
    OUT last_negative_at timestamptz, OUT expires_at timestamptz)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    c colour_current;
    body jsonb;
BEGIN
    -- the person row first, then the colour (hp_issue_code share-locks the
    -- person again): the order every writer of a person's facts takes, so
    -- a code being issued and a result being recorded never deadlock
    PERFORM hp_lock_person(p.person_id, 'share');
    PERFORM hp_require_not_rejected(p);
    -- locks the person's colour: a code is never issued with a colour that
    -- another transaction is changing
    PERFORM hp_colour_refresh(ARRAY[p.person_id], false);
    SELECT * INTO STRICT c FROM colour_current x WHERE x.person_id = p.person_id FOR UPDATE;
    SELECT max(s.sampled_at) INTO last_negative_at
      FROM hp_recent_samples(p.person_id, now()) s WHERE s.result = 'negative';
    body := person_claims(p.person_id) || jsonb_build_object('colour', c.colour::text);
    IF last_negative_at IS NOT NULL THEN
        body := body || jsonb_build_object('negative_test',
                    to_char(last_negative_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'));
    END IF;
    token := hp_issue_code(p, 'health', body, hp_setting('code_valid_for')::interval);
    colour := c.colour;
    reasons := hp_reasons(c.rule_ids);
    since := c.since;
    expires_at := pass_expires_at(token::pass);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_health_code(person) IS 'issue a health code for a person (internal)';

CREATE OR REPLACE FUNCTION health_code(person_id bigint)
    RETURNS TABLE (token text, colour health_colour, reasons text[], since timestamptz,
                   last_negative_at timestamptz, expires_at timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    -- in FROM: "(f()).*" would call the function once per column
    RETURN QUERY SELECT h.* FROM hp_health_code(hp_get_person(health_code.person_id)) h;
END
$$;
COMMENT ON FUNCTION healthpass.health_code(bigint) IS
    'a fresh dynamic health code (HP1 kind "health", minutes long) with the colour, reasons and last negative test; 55000 when real-name was rejected';

CREATE OR REPLACE FUNCTION health_code_png(person_id bigint, module_px integer DEFAULT 6)
    RETURNS TABLE (token text, colour health_colour, expires_at timestamptz, png bytea)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    c := hp_health_code(hp_get_person(health_code_png.person_id));
    RETURN QUERY SELECT c.token, c.colour, c.expires_at,
                        qr_png(c.token, 'M', hp_module_px(module_px), 4, c.colour::text, 'white');
END
$$;
COMMENT ON FUNCTION healthpass.health_code_png(bigint, integer) IS
    'a fresh health code and its QR image as a PNG drawn in the code''s colour';

-- What a scanner learns from a personal code: the verdict and the claims
-- and, online, the colour now (which may differ from the colour at issue)
-- and the latest test. The live facts are given only for a valid code
-- issued here: a stale screenshot or another issuer's code (mutual
-- recognition: codes recognised, data not interconnected) tells nothing
-- about the person's current state. kinds: the code kinds the caller
-- accepts; any other kind is "wrong_kind".
CREATE OR REPLACE FUNCTION healthpass_internal.hp_scan(token text, kinds text[])
    RETURNS TABLE (valid boolean, reason text, kind text, issuer text, person_ref uuid,
                   name_masked text, doc_kind text, id_masked text,
                   code_colour health_colour, negative_test date,
                   issued_at timestamptz, expires_at timestamptz,
                   colour health_colour, reasons text[], since timestamptz,
                   latest_result text, latest_sampled_at timestamptz, token_id bytea,
                   last_negative_at timestamptz)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v verification;
    ok boolean;
    why text;
    ref uuid;
    col health_colour;
    neg date;
    pid bigint;
    now_colour health_colour;
    now_reasons text[];
    now_since timestamptz;
    test_result text;
    test_at timestamptz;
    negative_at timestamptz;
BEGIN
    IF token IS NULL THEN
        RAISE EXCEPTION '% is missing', CASE WHEN kinds = ARRAY['health'] THEN 'health code' ELSE 'scanned code' END
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Pass the scanned HP1 text.';
    END IF;
    v := verify_token(token);
    ok := v.valid;
    why := v.reason;
    IF v.kind IS NOT NULL AND NOT v.kind = ANY (kinds) THEN
        ok := false;
        why := coalesce(why, 'wrong_kind');
    END IF;
    IF v.body IS NOT NULL AND v.kind = ANY (kinds) THEN
        BEGIN
            ref := (v.body->>'ref')::uuid;
            col := (v.body->>'colour')::health_colour;
            neg := (v.body->>'negative_test')::date;
        EXCEPTION WHEN invalid_text_representation OR datetime_field_overflow
                    OR invalid_datetime_format THEN
            ok := false;
            why := coalesce(why, 'malformed');
            ref := NULL; col := NULL; neg := NULL;
        END;
    END IF;
    IF ok AND ref IS NOT NULL
       AND EXISTS (SELECT 1 FROM signing_key k WHERE k.kid = v.kid AND k.secret_box IS NOT NULL) THEN
        SELECT r.person_id INTO pid FROM ref_index r WHERE r.public_ref = ref;
        IF pid IS NOT NULL THEN
            SELECT c.colour, c.reasons, c.since INTO now_colour, now_reasons, now_since
              FROM colour_status(pid, now()) c;
            SELECT r.result, r.sampled_at, r.last_negative_at INTO test_result, test_at, negative_at
              FROM latest_test_result(pid, now()) r;
        END IF;
    END IF;
    RETURN QUERY SELECT ok, why, v.kind, v.issuer, ref,
        CASE WHEN v.kind = ANY (kinds) THEN v.body->>'name' END,
        CASE WHEN v.kind = ANY (kinds) THEN v.body->>'doc' END,
        CASE WHEN v.kind = ANY (kinds) THEN v.body->>'id' END,
        col, neg, v.issued_at, v.expires_at,
        now_colour, now_reasons, now_since, test_result, test_at, v.token_id, negative_at;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_scan(text, text[]) IS
    'verdict, claims and, for a valid local code, the live colour and latest test of a scanned code (internal)';

CREATE OR REPLACE FUNCTION verify_health_code(token text)
    RETURNS TABLE (valid boolean, reason text, person_ref uuid, name_masked text, doc_kind text,
                   id_masked text, issuer text, colour health_colour, negative_test date,
                   issued_at timestamptz, expires_at timestamptz,
                   current_colour health_colour, current_reasons text[], current_since timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT s.valid, s.reason, s.person_ref, s.name_masked, s.doc_kind, s.id_masked, s.issuer,
           s.code_colour, s.negative_test, s.issued_at, s.expires_at, s.colour, s.reasons, s.since
      FROM hp_scan(token, ARRAY['health']) s
$$;
COMMENT ON FUNCTION healthpass.verify_health_code(text) IS
    'verify a scanned health code: verdict (reason names the first failure), claims, and for a valid local code the colour now';

-- The scanner's one call for any personal code a person shows: the dynamic
-- health code, a printed personal or family code, the e-pass code, the
-- entry code. What the staff's screen shows: the verdict, the masked
-- identity, the colour now with its meaning and reasons, the latest test.
CREATE OR REPLACE FUNCTION scan_personal_code(token text)
    RETURNS TABLE (valid boolean, reason text, kind text, issuer text, person_ref uuid,
                   name_masked text, doc_kind text, id_masked text, expires_at timestamptz,
                   colour health_colour, meaning text, reasons text[], since timestamptz,
                   latest_result text, latest_sampled_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT s.valid, s.reason, s.kind, s.issuer, s.person_ref, s.name_masked, s.doc_kind, s.id_masked,
           s.expires_at, s.colour, colour_meaning(s.colour), s.reasons, s.since,
           s.latest_result, s.latest_sampled_at
      FROM hp_scan(token, ARRAY['health', 'personal', 'epass', 'entry']) s
$$;
COMMENT ON FUNCTION healthpass.scan_personal_code(text) IS
    'one call for any scanned personal code (health, personal/family, e-pass, entry): verdict, masked identity, the colour now and the latest test';

-- Seed 004: staff check a person without a smartphone by the name, ID
-- number and phone they say (a family member's phone for a member
-- registered by proxy: the guardian's; for a guardian without one, a
-- member's they registered). An unknown document, a name that
-- does not match and a phone that does not match all get the same answer,
-- so the check is no oracle for which field was wrong. Names match ignoring
-- case and spacing (Latin names are typed in many ways); phones ignoring
-- spaces, hyphens, brackets and a leading +86.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_same_name(a text, b text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN lower(regexp_replace(a, '[\s　]+', '', 'g')) = lower(regexp_replace(b, '[\s　]+', '', 'g'));
COMMENT ON FUNCTION healthpass_internal.hp_same_name(text, text) IS 'two names are the same ignoring case and spacing (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_same_phone(a text, b text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN regexp_replace(regexp_replace(a, '[\s\-()]', '', 'g'), '^(\+|00)86', '')
     = regexp_replace(regexp_replace(b, '[\s\-()]', '', 'g'), '^(\+|00)86', '');
COMMENT ON FUNCTION healthpass_internal.hp_same_phone(text, text) IS 'two phone numbers are the same ignoring separators and +86 (internal)';

-- The person a manual check names, or the one P0002 answer for every
-- mismatch (unknown document, wrong name, wrong phone: no oracle).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_manual_match(doc_kind text, doc_number text, name text, phone text)
    RETURNS person
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n text := hp_person_document(doc_kind, doc_number);
    given_name text := hp_text('name', hp_manual_match.name, 100);
    given_phone text := hp_text('phone', hp_manual_match.phone, 30);
    p person;
    pid bigint;
    known boolean;
BEGIN
    -- two reads, not a join: the number's row and the person's row are
    -- distributed by different keys on Citus (doc/citus.md)
    SELECT d.person_id INTO pid FROM document_index d
     WHERE d.doc_kind = hp_manual_match.doc_kind AND d.doc_number = n;
    SELECT x.* INTO p FROM person x WHERE x.person_id = pid;
    known := FOUND;
    IF NOT known OR given_name IS NULL OR given_phone IS NULL
       OR NOT hp_same_name(p.name, given_name)
       -- the person's phone, else a family member's: the guardian who
       -- registered them, or a member they registered
       OR NOT EXISTS (SELECT 1 FROM person f
                       WHERE (f.person_id = p.person_id OR f.person_id = p.guardian_id
                              OR f.person_id IN (SELECT m.member_id FROM family_member m
                                                  WHERE m.person_id = p.person_id))
                         AND hp_same_phone(f.phone, given_phone)) THEN
        RAISE EXCEPTION 'no person matches % "%" with the name and phone given', doc_kind, hp_mask_document(doc_kind, n)
            USING ERRCODE = 'no_data_found',
                  DETAIL = 'The document is not registered, or the name or the phone does not match it.';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_manual_match(text, text, text, text) IS
    'the person named by document, name and phone at a manual check, or one P0002 for any mismatch (internal)';

CREATE OR REPLACE FUNCTION manual_health_check(doc_kind text, doc_number text, name text, phone text)
    RETURNS TABLE (name_masked text, id_masked text, colour health_colour, meaning text,
                   reasons text[], since timestamptz, latest_result text, latest_sampled_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_manual_match(doc_kind, doc_number, name, phone);
    s record;
    t record;
BEGIN
    SELECT * INTO s FROM colour_status(p.person_id, now());
    SELECT * INTO t FROM latest_test_result(p.person_id, now());
    RETURN QUERY SELECT mask_name(p.name), hp_mask_document(p.doc_kind, p.doc_number),
                        s.colour, colour_meaning(s.colour), s.reasons, s.since, t.result, t.sampled_at;
END
$$;
COMMENT ON FUNCTION healthpass.manual_health_check(text, text, text, text) IS
    'staff check of a person without a smartphone by document, name and phone (the guardian''s for a member by proxy): masked identity, the colour now and the latest test';

-- The e-pass page's health-code section (epass_page, 43_epass.sql, shows
-- it): the live colour, why, since when, the last negative test,
-- and a fresh dynamic code. A rejected person gets no code.
CREATE OR REPLACE FUNCTION healthpass_internal.epass_health_section(person_id bigint) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(epass_health_section.person_id);
    c record;
BEGIN
    IF p.realname_status = 'rejected' THEN
        RETURN jsonb_build_object(
            'available', false,
            'message', 'real-name verification was rejected: edit your information to get a health code');
    END IF;
    c := hp_health_code(p);
    RETURN jsonb_build_object(
        'available', true,
        'colour', c.colour,
        'meaning', colour_meaning(c.colour),
        'since', c.since,
        'reasons', to_jsonb(c.reasons),
        'last_negative_test', c.last_negative_at,
        'code', c.token,
        'code_expires_at', c.expires_at);
END
$$;
COMMENT ON FUNCTION healthpass_internal.epass_health_section(bigint) IS
    'health-code part of the e-pass page: live colour, meaning, since, reasons, last negative test and a fresh dynamic code';

GRANT EXECUTE ON FUNCTION
    healthpass.health_code(bigint),
    healthpass.health_code_png(bigint, integer)
    TO healthpass_app, healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.verify_health_code(text), healthpass.scan_personal_code(text)
    TO healthpass_scanner, healthpass_app, healthpass_health, healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.manual_health_check(text, text, text, text)
    TO healthpass_scanner, healthpass_admin;
