-- 43_epass.sql: face verification, the certified photo and the electronic
-- pass (seed 000).
-- (replayed by every upgrade: CREATE OR REPLACE only)

CREATE OR REPLACE TRIGGER epass_keep_history
    BEFORE UPDATE ON epass
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION healthpass_internal.hp_keep_history('epass_history');

-- Largest certified photo accepted, in bytes.
CREATE OR REPLACE FUNCTION photo_limit() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 1048576;
COMMENT ON FUNCTION healthpass.photo_limit() IS 'certified photos are at most 1 MiB';

CREATE OR REPLACE FUNCTION record_face_check(
    person_id bigint, provider text, outcome text, photo bytea DEFAULT NULL,
    provider_ref text DEFAULT NULL, checked_at timestamptz DEFAULT now()) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    prov text := nullif(btrim(provider), '');
    media text;
    cid bigint;
BEGIN
    IF prov IS NULL OR length(prov) > 50 OR prov ~ hp_bad_chars(false) THEN
        RAISE EXCEPTION 'face check provider "%" is not valid', hp_quote(provider)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The provider is named by 1 to 50 characters, for example "CTID".';
    END IF;
    IF outcome IS NULL OR outcome NOT IN ('passed', 'failed') THEN
        RAISE EXCEPTION 'face check outcome "%" is not valid', hp_quote(outcome)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The outcome is "passed" or "failed".';
    END IF;
    PERFORM hp_instant('face check time', checked_at);
    IF checked_at > now() + interval '5 minutes' THEN
        RAISE EXCEPTION 'face check time % is in the future', checked_at
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A face check is recorded after it happened.';
    END IF;
    IF outcome = 'passed' AND photo IS NULL THEN
        RAISE EXCEPTION 'passed face check of person % has no certified photo', p.person_id
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A passed check returns the certified photo, which must be recorded with it.';
    END IF;
    IF outcome = 'failed' AND photo IS NOT NULL THEN
        RAISE EXCEPTION 'failed face check of person % carries a photo', p.person_id
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Only a passed check yields a certified photo.';
    END IF;
    IF photo IS NOT NULL THEN
        media := hp_image('certified photo', photo);
    END IF;
    INSERT INTO face_check (person_id, provider, provider_ref, outcome, checked_at)
        VALUES (p.person_id, prov, hp_text('provider reference', provider_ref, 200), outcome, checked_at)
        RETURNING check_id INTO cid;
    IF outcome = 'passed' THEN
        INSERT INTO certified_photo AS c (person_id, check_id, media_type, photo)
            VALUES (p.person_id, cid, media, photo)
            ON CONFLICT ON CONSTRAINT certified_photo_pkey DO UPDATE
               SET check_id = excluded.check_id, media_type = excluded.media_type,
                   photo = excluded.photo, bound_at = excluded.bound_at;
    END IF;
    RETURN cid;
END
$$;
COMMENT ON FUNCTION healthpass.record_face_check(bigint, text, text, bytea, text, timestamptz) IS
    'record an external face check; a passed one binds its certified photo (face verified)';

CREATE OR REPLACE FUNCTION face_checks(person_id bigint)
    RETURNS TABLE (check_id bigint, provider text, provider_ref text, outcome text,
                   checked_at timestamptz, photo_bound boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY
        SELECT f.check_id, f.provider, f.provider_ref, f.outcome, f.checked_at,
               EXISTS (SELECT 1 FROM certified_photo c
                        WHERE c.person_id = f.person_id AND c.check_id = f.check_id)
          FROM face_check f WHERE f.person_id = p.person_id
         ORDER BY f.check_id;
END
$$;
COMMENT ON FUNCTION healthpass.face_checks(bigint) IS 'a person''s face checks, oldest first, and which one''s photo is bound';

CREATE OR REPLACE FUNCTION certified_photo(person_id bigint)
    RETURNS TABLE (media_type text, photo bytea, bound_at timestamptz, provider text, checked_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY
        SELECT c.media_type, c.photo, c.bound_at, f.provider, f.checked_at
          FROM certified_photo c JOIN face_check f
            ON f.person_id = c.person_id AND f.check_id = c.check_id
         WHERE c.person_id = p.person_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no certified photo', p.person_id
            USING ERRCODE = 'no_data_found', DETAIL = 'No passed face check is bound, or its photo was unbound.',
                  HINT = 'Run the face check again.';
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass.certified_photo(bigint) IS 'the certified photo to show (person''s own flows only)';

CREATE OR REPLACE FUNCTION unbind_certified_photo(person_id bigint) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
BEGIN
    DELETE FROM certified_photo c WHERE c.person_id = p.person_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no certified photo', p.person_id
            USING ERRCODE = 'no_data_found', DETAIL = 'There is no bound photo to unbind.';
    END IF;
    -- the e-pass is suspended: its live codes go with it
    PERFORM hp_revoke_codes(p.person_id, 'certified photo unbound', ARRAY['epass']);
    RETURN CASE WHEN EXISTS (SELECT 1 FROM epass e WHERE e.person_id = p.person_id)
                THEN 'suspended' ELSE 'none' END;
END
$$;
COMMENT ON FUNCTION healthpass.unbind_certified_photo(bigint) IS
    'delete the certified photo; the e-pass is suspended until a new passed face check ("suspended"), or "none" without an e-pass';

-- Electronic pass ------------------------------------------------------------

CREATE OR REPLACE FUNCTION epass_fields() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['residence_district', 'residence_address', 'workplace',
                 'emergency_contact_name', 'emergency_contact_phone'];
COMMENT ON FUNCTION healthpass.epass_fields() IS 'the e-pass fields of "my information" (person fields are edited alongside)';

-- Validated, normalised e-pass form.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_check_epass(form jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    PERFORM hp_form_keys(form, epass_fields(), 'e-pass');
    RETURN jsonb_build_object(
        'residence_district', hp_form_text(form, 'residence_district', true, 100),
        'residence_address', hp_form_text(form, 'residence_address', true, 300),
        'workplace', hp_form_text(form, 'workplace', false, 200),
        'emergency_contact_name', hp_form_text(form, 'emergency_contact_name', false, 100),
        'emergency_contact_phone', hp_phone('emergency_contact_phone',
                                            hp_form_text(form, 'emergency_contact_phone', false, 30)));
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_check_epass(jsonb) IS 'validated, normalised e-pass form';

-- Why an e-pass is not active right now (empty array: active).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_epass_blocks(p person) RETURNS text[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    r text[] := '{}';
BEGIN
    IF p.realname_status <> 'approved' THEN
        r := r || ('realname_' || p.realname_status);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM certified_photo c WHERE c.person_id = p.person_id) THEN
        r := r || 'face_not_verified'::text;
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_epass_blocks(person) IS 'reasons an e-pass is suspended';

CREATE OR REPLACE FUNCTION epass_page(person_id bigint) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
    e epass;
    blocks text[];
    photo_at timestamptz;
BEGIN
    SELECT * INTO e FROM epass x WHERE x.person_id = p.person_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no electronic pass', p.person_id
            USING ERRCODE = 'no_data_found', DETAIL = 'The person has not applied for an electronic pass.',
                  HINT = 'Apply with apply_epass.';
    END IF;
    blocks := hp_epass_blocks(p);
    SELECT c.bound_at INTO photo_at FROM certified_photo c WHERE c.person_id = p.person_id;
    RETURN jsonb_build_object(
        'status', CASE WHEN blocks = '{}' THEN 'active' ELSE 'suspended' END,
        'reasons', to_jsonb(blocks),
        'person', person_claims(p.person_id),
        'realname_status', p.realname_status,
        'photo', jsonb_build_object('bound', photo_at IS NOT NULL, 'bound_at', photo_at),
        'info', to_jsonb(e) - 'person_id',
        'pass', CASE WHEN blocks = '{}'
                     THEN to_jsonb(hp_issue_code(p, 'epass', person_claims(p.person_id), interval '1 day')) END,
        'health', epass_health_section(p.person_id));
END
$$;
COMMENT ON FUNCTION healthpass.epass_page(bigint) IS
    'the e-pass page: status and reasons, masked person, my information, photo state, an HP1 epass code when active, and the health-code section';

CREATE OR REPLACE FUNCTION apply_epass(person_id bigint, letter_version integer, info jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    form jsonb;
BEGIN
    IF p.doc_kind <> 'cn_resident_id' THEN
        RAISE EXCEPTION 'document kind "%" cannot hold an electronic pass', p.doc_kind
            USING ERRCODE = 'check_violation', DETAIL = 'Electronic passes are for holders of a resident identity card.';
    END IF;
    IF EXISTS (SELECT 1 FROM epass x WHERE x.person_id = p.person_id) THEN
        RAISE EXCEPTION 'person % already has an electronic pass', p.person_id
            USING ERRCODE = 'unique_violation', DETAIL = 'Each person has one electronic pass.',
                  HINT = 'Change it with modify_epass.';
    END IF;
    IF p.realname_status <> 'approved' THEN
        RAISE EXCEPTION 'real-name status of person % is "%", not approved', p.person_id, p.realname_status
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'An electronic pass needs an approved real-name verification.',
                  HINT = CASE WHEN p.realname_status = 'rejected'
                              THEN 'The person must edit their information and wait for approval.'
                              ELSE 'Wait for the real-name result.' END;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM certified_photo c WHERE c.person_id = p.person_id) THEN
        RAISE EXCEPTION 'person % has not passed a face check', p.person_id
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'An electronic pass needs a passed face check with its certified photo.',
                  HINT = 'Run the face check (CTID) and record it with record_face_check.';
    END IF;
    PERFORM hp_accept_notice(p.person_id, 'commitment_letter', letter_version);
    form := hp_check_epass(info);
    BEGIN
        INSERT INTO epass (person_id, letter_version, residence_district, residence_address,
                           workplace, emergency_contact_name, emergency_contact_phone)
            SELECT p.person_id, apply_epass.letter_version, r.residence_district, r.residence_address,
                   r.workplace, r.emergency_contact_name, r.emergency_contact_phone
              FROM jsonb_populate_record(NULL::epass, form) r;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'person % already has an electronic pass', p.person_id
            USING ERRCODE = 'unique_violation', DETAIL = 'Each person has one electronic pass.',
                  HINT = 'Change it with modify_epass.';
    END;
    RETURN epass_page(p.person_id);
END
$$;
COMMENT ON FUNCTION healthpass.apply_epass(bigint, integer, jsonb) IS
    'apply for the electronic pass: resident ID card, real-name approved, face verified, accepted commitment letter; returns the page';

CREATE OR REPLACE FUNCTION modify_epass(person_id bigint, changes jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    e epass;
    person_keys CONSTANT text[] := ARRAY['name', 'doc_number', 'phone'];
    mine jsonb;
    theirs jsonb;
    form jsonb;
BEGIN
    SELECT * INTO e FROM epass x WHERE x.person_id = p.person_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no electronic pass', p.person_id
            USING ERRCODE = 'no_data_found', DETAIL = 'Only an existing electronic pass can be modified.',
                  HINT = 'Apply with apply_epass.';
    END IF;
    PERFORM hp_form_keys(changes, epass_fields() || person_keys, 'e-pass');
    SELECT coalesce(jsonb_object_agg(k, v) FILTER (WHERE k = ANY (person_keys)), '{}'),
           coalesce(jsonb_object_agg(k, v) FILTER (WHERE NOT k = ANY (person_keys)), '{}')
      INTO theirs, mine
      FROM jsonb_each(changes) AS j(k, v);
    IF theirs <> '{}' THEN
        PERFORM hp_edit_person(p, theirs);
    END IF;
    form := hp_check_epass(hp_stored_form(to_jsonb(e), epass_fields()) || mine);
    UPDATE epass x SET
        residence_district = r.residence_district, residence_address = r.residence_address,
        workplace = r.workplace, emergency_contact_name = r.emergency_contact_name,
        emergency_contact_phone = r.emergency_contact_phone
      FROM jsonb_populate_record(NULL::epass, form) r
     WHERE x.person_id = p.person_id;
    RETURN epass_page(p.person_id);
END
$$;
COMMENT ON FUNCTION healthpass.modify_epass(bigint, jsonb) IS
    '"modify my information": e-pass fields, and name, doc_number and phone of the person (identity edits suspend the pass until approved again)';

CREATE OR REPLACE FUNCTION epass_history(person_id bigint)
    RETURNS TABLE (version integer, valid_from timestamptz, valid_to timestamptz, data jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY SELECT * FROM hp_row_history('epass', p.person_id);
END
$$;
COMMENT ON FUNCTION healthpass.epass_history(bigint) IS 'every version of a person''s e-pass information, oldest first';

GRANT EXECUTE ON FUNCTION
    healthpass.photo_limit(),
    healthpass.record_face_check(bigint, text, text, bytea, text, timestamptz),
    healthpass.face_checks(bigint),
    healthpass.certified_photo(bigint),
    healthpass.unbind_certified_photo(bigint),
    healthpass.epass_fields(),
    healthpass.epass_page(bigint),
    healthpass.apply_epass(bigint, integer, jsonb),
    healthpass.modify_epass(bigint, jsonb),
    healthpass.epass_history(bigint)
  TO healthpass_app, healthpass_admin;
