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
CREATE OR REPLACE FUNCTION hp_health_code(p person,
    OUT token text, OUT colour health_colour, OUT reasons text[], OUT since timestamptz,
    OUT last_negative_at timestamptz, OUT expires_at timestamptz)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    c colour_current;
    body jsonb;
BEGIN
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
    token := hp_issue_code(p, 'health', body, (hp_health_config()).code_valid_for);
    colour := c.colour;
    reasons := hp_reasons(c.rule_ids);
    since := c.since;
    expires_at := pass_expires_at(token::pass);
END
$$;
COMMENT ON FUNCTION hp_health_code(person) IS 'issue a health code for a person (internal)';

CREATE OR REPLACE FUNCTION health_code(person_id bigint)
    RETURNS TABLE (token text, colour health_colour, reasons text[], since timestamptz,
                   last_negative_at timestamptz, expires_at timestamptz)
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    -- in FROM: "(f()).*" would call the function once per column
    RETURN QUERY SELECT h.* FROM hp_health_code(hp_get_person(health_code.person_id)) h;
END
$$;
COMMENT ON FUNCTION health_code(bigint) IS
    'a fresh dynamic health code (HP1 kind "health", minutes long) with the colour, reasons and last negative test; 55000 when real-name was rejected';

CREATE OR REPLACE FUNCTION health_code_png(person_id bigint, module_px integer DEFAULT 6)
    RETURNS TABLE (token text, colour health_colour, expires_at timestamptz, png bytea)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    c := hp_health_code(hp_get_person(health_code_png.person_id));
    RETURN QUERY SELECT c.token, c.colour, c.expires_at,
                        qr_png(c.token, 'M', hp_module_px(module_px), 4, c.colour::text, 'white');
END
$$;
COMMENT ON FUNCTION health_code_png(bigint, integer) IS
    'a fresh health code and its QR image as a PNG drawn in the code''s colour';

-- What a scanner learns from a health code: the verdict and the claims and,
-- online, the colour now (which may differ from the colour at issue). The
-- colour now is given only for a valid code issued here: a stale screenshot
-- or another issuer's code (mutual recognition: codes recognised, data not
-- interconnected) tells nothing about the person's current state.
CREATE OR REPLACE FUNCTION verify_health_code(token text)
    RETURNS TABLE (valid boolean, reason text, person_ref uuid, name_masked text, doc_kind text,
                   id_masked text, issuer text, colour health_colour, negative_test date,
                   issued_at timestamptz, expires_at timestamptz,
                   current_colour health_colour, current_reasons text[], current_since timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
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
BEGIN
    IF token IS NULL THEN
        RAISE EXCEPTION 'health code is missing'
            USING ERRCODE = '22023', DETAIL = 'Pass the scanned HP1 text.';
    END IF;
    v := verify_token(token);
    ok := v.valid;
    why := v.reason;
    IF ok AND v.kind IS DISTINCT FROM 'health' THEN
        ok := false;
        why := 'wrong_kind';
    END IF;
    IF v.body IS NOT NULL AND v.kind = 'health' THEN
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
            SELECT s.colour, s.reasons, s.since INTO now_colour, now_reasons, now_since
              FROM colour_status(pid, now()) s;
        END IF;
    END IF;
    RETURN QUERY SELECT ok, why, ref,
        CASE WHEN v.kind = 'health' THEN v.body->>'name' END,
        CASE WHEN v.kind = 'health' THEN v.body->>'doc' END,
        CASE WHEN v.kind = 'health' THEN v.body->>'id' END,
        v.issuer, col, neg, v.issued_at, v.expires_at,
        now_colour, now_reasons, now_since;
END
$$;
COMMENT ON FUNCTION verify_health_code(text) IS
    'verify a scanned health code: verdict (reason names the first failure), claims, and for a valid local code the colour now';

-- Seed 004: staff check a person without a phone by name and ID number.
-- Unknown documents and names that do not match get the same answer.
CREATE OR REPLACE FUNCTION manual_health_check(doc_kind text, doc_number text, name text)
    RETURNS TABLE (name_masked text, id_masked text, colour health_colour, meaning text,
                   reasons text[], since timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    n text := hp_person_document(doc_kind, doc_number);
    given text := btrim(regexp_replace(coalesce(manual_health_check.name, ''), '[\s　]+', ' ', 'g'));
    p person;
    s record;
BEGIN
    SELECT x.* INTO p FROM document_index d JOIN person x ON x.person_id = d.person_id
     WHERE d.doc_kind = manual_health_check.doc_kind AND d.doc_number = n;
    IF NOT FOUND OR p.name <> given THEN
        RAISE EXCEPTION 'no person matches % "%" and the name given', doc_kind, hp_mask_document(doc_kind, n)
            USING ERRCODE = 'P0002', DETAIL = 'The document is not registered, or the name does not match it.';
    END IF;
    SELECT * INTO s FROM colour_status(p.person_id, now());
    RETURN QUERY SELECT mask_name(p.name), hp_mask_document(p.doc_kind, p.doc_number),
                        s.colour, colour_meaning(s.colour), s.reasons, s.since;
END
$$;
COMMENT ON FUNCTION manual_health_check(text, text, text) IS
    'staff check of a person without a phone by document and name: masked identity and the colour now';

-- The e-pass page's health-code section (replaces the placeholder of
-- 43_epass.sql): the live colour, why, since when, the last negative test,
-- and a fresh dynamic code. A rejected person gets no code.
CREATE OR REPLACE FUNCTION epass_health_section(person_id bigint) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
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
COMMENT ON FUNCTION epass_health_section(bigint) IS
    'health-code part of the e-pass page: live colour, meaning, since, reasons, last negative test and a fresh dynamic code';

GRANT EXECUTE ON FUNCTION
    health_code(bigint),
    health_code_png(bigint, integer)
    TO healthpass_app, healthpass_admin;
GRANT EXECUTE ON FUNCTION verify_health_code(text)
    TO healthpass_scanner, healthpass_app, healthpass_health, healthpass_admin;
GRANT EXECUTE ON FUNCTION manual_health_check(text, text, text)
    TO healthpass_scanner, healthpass_admin;
