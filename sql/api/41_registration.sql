-- 41_registration.sql: versioned notices (registration notice, commitment
-- letter) and the entry-person registration of seed 000.
-- (replayed by every upgrade: CREATE OR REPLACE only)

CREATE OR REPLACE TRIGGER entry_registration_keep_history
    BEFORE UPDATE ON entry_registration
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION healthpass_internal.hp_keep_history('entry_registration_history');

-- Notices ----------------------------------------------------------------

-- Raises 22023 unless kind names a notice.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_check_notice_kind(kind text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF kind IS NULL OR kind NOT IN ('registration_notice', 'commitment_letter', 'transfer_notice') THEN
        RAISE EXCEPTION 'notice kind "%" is not valid', hp_quote(kind)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Notice kinds are "registration_notice", "commitment_letter" and "transfer_notice".';
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_check_notice_kind(text) IS 'refuses unknown notice kinds';

-- The current version of a notice kind; P0002 when none was published.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_current_notice_version(kind text) RETURNS integer
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v integer;
BEGIN
    PERFORM hp_check_notice_kind(kind);
    SELECT max(n.version) INTO v FROM notice n WHERE n.kind = hp_current_notice_version.kind;
    IF v IS NULL THEN
        RAISE EXCEPTION 'no % has been published', replace(kind, '_', ' ')
            USING ERRCODE = 'no_data_found',
                  DETAIL = 'An administrator must publish one with publish_notice before travellers can accept it.';
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_current_notice_version(text) IS 'current notice version, or P0002';

-- Records that a person accepted the given version, which must be current.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_accept_notice(pid bigint, kind text, accepted integer) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    cur integer := hp_current_notice_version(kind);
    label text := replace(kind, '_', ' ');
BEGIN
    IF accepted IS NULL THEN
        RAISE EXCEPTION 'the % has not been accepted', label
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('The traveller must read and accept version %s first.', cur),
                  HINT = 'Pass the version the traveller accepted.';
    END IF;
    IF accepted <> cur THEN
        RAISE EXCEPTION '% version % is not the current one', label, accepted
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('The current version is %s.', cur),
                  HINT = 'Show the current version and ask the traveller to accept it.';
    END IF;
    INSERT INTO notice_acceptance (person_id, kind, version)
        VALUES (pid, kind, accepted)
        ON CONFLICT ON CONSTRAINT notice_acceptance_pkey DO NOTHING;
    RETURN now();
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_accept_notice(bigint, text, integer) IS 'record acceptance of the current notice version';

CREATE OR REPLACE FUNCTION publish_notice(kind text, title text, body text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v integer;
BEGIN
    PERFORM hp_check_notice_kind(kind);
    IF nullif(btrim(title), '') IS NULL OR nullif(btrim(body), '') IS NULL THEN
        RAISE EXCEPTION 'the % needs a title and a body', replace(kind, '_', ' ')
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Neither the title nor the body may be empty.';
    END IF;
    PERFORM hp_text('notice title', title, 200), hp_text('notice body', body, 20000, multiline => true);
    -- one publisher at a time per kind
    PERFORM pg_advisory_xact_lock(hashtext('healthpass.notice'), hashtext(kind));
    SELECT coalesce(max(n.version), 0) + 1 INTO v FROM notice n WHERE n.kind = publish_notice.kind;
    INSERT INTO notice (kind, version, title, body) VALUES (kind, v, btrim(title), body);
    RETURN v;
END
$$;
COMMENT ON FUNCTION healthpass.publish_notice(text, text, text) IS
    'publish a new version of the registration notice or the commitment letter; returns its version';

CREATE OR REPLACE FUNCTION current_notice(kind text)
    RETURNS TABLE (version integer, title text, body text, published_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v integer := hp_current_notice_version(kind);
BEGIN
    RETURN QUERY SELECT n.version, n.title, n.body, n.published_at
                   FROM notice n WHERE n.kind = current_notice.kind AND n.version = v;
END
$$;
COMMENT ON FUNCTION healthpass.current_notice(text) IS 'the current version of a notice, to show before asking for acceptance';

CREATE OR REPLACE FUNCTION notice_acceptances(person_id bigint)
    RETURNS TABLE (kind text, version integer, accepted_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY SELECT a.kind, a.version, a.accepted_at
                   FROM notice_acceptance a WHERE a.person_id = p.person_id
                  ORDER BY a.accepted_at, a.kind, a.version;
END
$$;
COMMENT ON FUNCTION healthpass.notice_acceptances(bigint) IS 'the notice versions a person accepted, and when';

-- Entry registration ------------------------------------------------------

-- A text field of a JSON form: trimmed, NULL when absent or blank; raises
-- 22023 when required and missing, or longer than maxlen.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_form_text(form jsonb, field text, required boolean, maxlen integer) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    t text;
BEGIN
    IF form ? field AND jsonb_typeof(form->field) NOT IN ('string', 'null') THEN
        RAISE EXCEPTION 'field "%" must be a string, not %', field, hp_quote((form->field)::text)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Form fields are JSON strings.';
    END IF;
    t := nullif(btrim(regexp_replace(form->>field, '[\s　]+', ' ', 'g')), '');
    IF t IS NULL AND required THEN
        RAISE EXCEPTION 'field "%" is required', field
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The form is complete only when every required field is filled in.';
    END IF;
    RETURN hp_text(format('field "%s"', field), t, maxlen);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_form_text(jsonb, text, boolean, integer) IS 'one validated text field of a JSON form';

-- Refuses keys a form does not have.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_form_keys(form jsonb, allowed text[], what text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    k text;
BEGIN
    IF form IS NULL OR jsonb_typeof(form) <> 'object' THEN
        RAISE EXCEPTION '% "%" is not a JSON object', what, hp_quote(form::text)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Forms are given as {"field": value, ...}.';
    END IF;
    FOR k IN SELECT jsonb_object_keys(form) LOOP
        IF NOT k = ANY (allowed) THEN
            RAISE EXCEPTION 'unknown % field "%"', what, hp_quote(k)
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The fields are %s.', array_to_string(allowed, ', '));
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_form_keys(jsonb, text[], text) IS 'refuses unknown form fields';

-- The form fields of a stored row (given as JSON) that are not NULL: what a
-- modification's changes are laid over before the whole form is checked.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_stored_form(stored jsonb, fields text[]) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT jsonb_object_agg(k, v) FROM jsonb_each(stored) AS j(k, v)
             WHERE k = ANY (fields) AND jsonb_typeof(v) <> 'null');
COMMENT ON FUNCTION healthpass_internal.hp_stored_form(jsonb, text[]) IS 'the non-NULL form fields of a stored row';

-- A phone number as people type it, normalised; NULL stays NULL.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_phone(field text, phone text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    p text := regexp_replace(phone, '[\s\-()]', '', 'g');
BEGIN
    IF p IS NOT NULL AND p !~ '^\+?[0-9]{5,20}$' THEN
        RAISE EXCEPTION 'field "%" is not a phone number: "%"', field, hp_quote(phone)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A phone number has 5 to 20 digits, optionally after a leading +.';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_phone(text, text) IS 'normalised phone number of a form field';

CREATE OR REPLACE FUNCTION entry_fields() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['arrival_port', 'arrival_date', 'transport_mode', 'transport_number',
                 'seat_number', 'departure_country', 'departure_city', 'destination_district',
                 'destination_address', 'contact_phone', 'purpose', 'emergency_contact_name',
                 'emergency_contact_phone'];
COMMENT ON FUNCTION healthpass.entry_fields() IS 'the fields of the entry registration form';

-- Validates a whole entry form and returns it normalised (keys as the
-- table's columns).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_check_entry(form jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    r jsonb := '{}';
    arrival date;
    t text;
BEGIN
    PERFORM hp_form_keys(form, entry_fields(), 'entry');
    r := r || jsonb_build_object('arrival_port', hp_form_text(form, 'arrival_port', true, 200));

    t := hp_form_text(form, 'arrival_date', true, 10);
    BEGIN
        arrival := t::date;
    EXCEPTION WHEN others THEN
        RAISE EXCEPTION 'arrival date "%" is not a date', hp_quote(t)
            USING ERRCODE = 'invalid_datetime_format', DETAIL = 'Dates are written YYYY-MM-DD.';
    END;
    IF arrival < current_date - 30 OR arrival > current_date + 180 THEN
        RAISE EXCEPTION 'arrival date % is out of range', arrival
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'The arrival date lies between 30 days ago and 180 days ahead.';
    END IF;
    r := r || jsonb_build_object('arrival_date', arrival);

    t := lower(hp_form_text(form, 'transport_mode', true, 20));
    IF t NOT IN ('flight', 'train', 'ship', 'road', 'on_foot') THEN
        RAISE EXCEPTION 'transport mode "%" is not valid', hp_quote(t)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The transport mode is flight, train, ship, road or on_foot.';
    END IF;
    r := r || jsonb_build_object('transport_mode', t);
    t := upper(replace(hp_form_text(form, 'transport_number', t IN ('flight', 'train', 'ship'), 20), ' ', ''));
    IF t !~ '^[A-Z0-9-]{1,20}$' THEN
        RAISE EXCEPTION 'transport number "%" is not valid', hp_quote(t)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A flight, train or ship number has letters, digits and hyphens.';
    END IF;
    r := r || jsonb_build_object('transport_number', t,
                                 'seat_number', upper(hp_form_text(form, 'seat_number', false, 10)));

    t := upper(hp_form_text(form, 'departure_country', true, 60));
    IF t !~ '^[A-Z]{3}$' THEN
        RAISE EXCEPTION 'departure country "%" is not valid', hp_quote(t)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The country or region is an ISO 3166-1 alpha-3 code such as HKG, MAC or GBR.';
    END IF;
    r := r || jsonb_build_object(
        'departure_country', t,
        'departure_city', hp_form_text(form, 'departure_city', true, 100),
        'destination_district', hp_form_text(form, 'destination_district', true, 100),
        'destination_address', hp_form_text(form, 'destination_address', true, 300),
        'contact_phone', hp_phone('contact_phone', hp_form_text(form, 'contact_phone', true, 30)));

    t := lower(hp_form_text(form, 'purpose', true, 20));
    IF t NOT IN ('business', 'family', 'tourism', 'study', 'work', 'return_home', 'transit', 'other') THEN
        RAISE EXCEPTION 'purpose "%" is not valid', hp_quote(t)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The purpose is business, family, tourism, study, work, return_home, transit or other.';
    END IF;
    r := r || jsonb_build_object(
        'purpose', t,
        'emergency_contact_name', hp_form_text(form, 'emergency_contact_name', false, 100),
        'emergency_contact_phone', hp_phone('emergency_contact_phone',
                                            hp_form_text(form, 'emergency_contact_phone', false, 30)));
    RETURN r;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_check_entry(jsonb) IS 'validated, normalised entry form';

-- The entry code of a person (HP1 kind "entry"): the person's masked claims
-- and the arrival. Valid 30 days from issue.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_entry_code(p person) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    e entry_registration;
BEGIN
    SELECT * INTO e FROM entry_registration WHERE person_id = p.person_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no entry registration', p.person_id
            USING ERRCODE = 'no_data_found', DETAIL = 'The person has not completed the entry registration.',
                  HINT = 'Submit the entry registration with submit_entry.';
    END IF;
    PERFORM hp_require_not_rejected(p);
    RETURN hp_issue_code(p, 'entry',
        person_claims(p.person_id) || jsonb_build_object(
            'port', e.arrival_port, 'arr', e.arrival_date::text, 'rv', e.version),
        interval '30 days');
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_entry_code(person) IS 'HP1 entry code of a registered person (internal)';

CREATE OR REPLACE FUNCTION entry_lookup(doc_kind text, doc_number text)
    RETURNS TABLE (state text, person_id bigint, entry_code text, notice_version integer,
                   may_apply_epass boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n text := hp_person_document(doc_kind, doc_number);
    p person;
BEGIN
    SELECT max(x.version) INTO notice_version FROM notice x WHERE x.kind = 'registration_notice';
    SELECT d.person_id INTO person_id FROM document_index d
     WHERE d.doc_kind = entry_lookup.doc_kind AND d.doc_number = n;
    IF person_id IS NULL THEN
        state := 'unknown';
    ELSIF NOT EXISTS (SELECT 1 FROM entry_registration e WHERE e.person_id = entry_lookup.person_id) THEN
        state := 'unregistered';
    ELSE
        p := hp_get_person(person_id);
        notice_version := NULL;
        IF p.realname_status = 'rejected' THEN
            state := 'realname_rejected';
        ELSE
            state := 'registered';
            entry_code := hp_entry_code(p);
            -- seed 000 step 5: the "apply for an e-pass" button is shown to
            -- mainland resident ID holders who have none yet
            may_apply_epass := p.doc_kind = 'cn_resident_id'
                AND NOT EXISTS (SELECT 1 FROM epass e WHERE e.person_id = p.person_id);
        END IF;
    END IF;
    may_apply_epass := coalesce(may_apply_epass, false);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION healthpass.entry_lookup(text, text) IS
    'step 3 of seed 000: registered (with the entry code, and whether the person may apply for an e-pass), unregistered or unknown (with the current notice version), or realname_rejected';

CREATE OR REPLACE FUNCTION submit_entry(person_id bigint, notice_version integer, entry jsonb) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    form jsonb;
BEGIN
    IF EXISTS (SELECT 1 FROM entry_registration e WHERE e.person_id = p.person_id) THEN
        RAISE EXCEPTION 'person % already has an entry registration', p.person_id
            USING ERRCODE = 'unique_violation', DETAIL = 'Each person has one entry registration.',
                  HINT = 'Change it with modify_entry.';
    END IF;
    PERFORM hp_accept_notice(p.person_id, 'registration_notice', notice_version);
    form := hp_check_entry(entry) || jsonb_build_object('person_id', p.person_id, 'notice_version', notice_version);
    INSERT INTO entry_registration (person_id, notice_version, arrival_port, arrival_date, transport_mode,
            transport_number, seat_number, departure_country, departure_city, destination_district,
            destination_address, contact_phone, purpose, emergency_contact_name, emergency_contact_phone)
        SELECT r.person_id, r.notice_version, r.arrival_port, r.arrival_date, r.transport_mode,
               r.transport_number, r.seat_number, r.departure_country, r.departure_city,
               r.destination_district, r.destination_address, r.contact_phone, r.purpose,
               r.emergency_contact_name, r.emergency_contact_phone
          FROM jsonb_populate_record(NULL::entry_registration, form) r;
    RETURN hp_entry_code(p);
END
$$;
COMMENT ON FUNCTION healthpass.submit_entry(bigint, integer, jsonb) IS
    'first-time entry registration: the accepted notice version and the entry form; returns the entry code';

CREATE OR REPLACE FUNCTION modify_entry(person_id bigint, changes jsonb) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    e entry_registration;
    form jsonb;
BEGIN
    SELECT * INTO e FROM entry_registration x WHERE x.person_id = p.person_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no entry registration', p.person_id
            USING ERRCODE = 'no_data_found', DETAIL = 'Only a submitted registration can be modified.',
                  HINT = 'Submit the entry registration with submit_entry.';
    END IF;
    PERFORM hp_form_keys(changes, entry_fields(), 'entry');
    form := hp_check_entry(hp_stored_form(to_jsonb(e), entry_fields()) || changes);
    UPDATE entry_registration x SET
        arrival_port = r.arrival_port, arrival_date = r.arrival_date,
        transport_mode = r.transport_mode, transport_number = r.transport_number,
        seat_number = r.seat_number, departure_country = r.departure_country,
        departure_city = r.departure_city, destination_district = r.destination_district,
        destination_address = r.destination_address, contact_phone = r.contact_phone,
        purpose = r.purpose, emergency_contact_name = r.emergency_contact_name,
        emergency_contact_phone = r.emergency_contact_phone
      FROM jsonb_populate_record(NULL::entry_registration, form) r
     WHERE x.person_id = p.person_id;
    PERFORM hp_revoke_codes(p.person_id, 'entry registration modified', ARRAY['entry']);
    RETURN hp_entry_code(p);
END
$$;
COMMENT ON FUNCTION healthpass.modify_entry(bigint, jsonb) IS
    'change fields of the entry registration (history kept); revokes the earlier entry codes and returns a new one';

CREATE OR REPLACE FUNCTION entry_code(person_id bigint) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN hp_entry_code(hp_get_person(person_id));
END
$$;
COMMENT ON FUNCTION healthpass.entry_code(bigint) IS 'a fresh HP1 entry code for a registered person';

CREATE OR REPLACE FUNCTION entry_registration(person_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
    r jsonb;
BEGIN
    SELECT to_jsonb(e) INTO r FROM entry_registration e WHERE e.person_id = p.person_id;
    IF r IS NULL THEN
        RAISE EXCEPTION 'person % has no entry registration', p.person_id
            USING ERRCODE = 'no_data_found', DETAIL = 'The person has not completed the entry registration.';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION healthpass.entry_registration(bigint) IS 'the current entry registration of a person, as JSON';

CREATE OR REPLACE FUNCTION entry_history(person_id bigint)
    RETURNS TABLE (version integer, valid_from timestamptz, valid_to timestamptz, data jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY SELECT * FROM hp_row_history('entry_registration', p.person_id);
END
$$;
COMMENT ON FUNCTION healthpass.entry_history(bigint) IS 'every version of a person''s entry registration, oldest first';

GRANT EXECUTE ON FUNCTION healthpass.publish_notice(text, text, text) TO healthpass_admin;
GRANT EXECUTE ON FUNCTION
    healthpass.current_notice(text),
    healthpass.notice_acceptances(bigint),
    healthpass.entry_fields(),
    healthpass.entry_lookup(text, text),
    healthpass.submit_entry(bigint, integer, jsonb),
    healthpass.modify_entry(bigint, jsonb),
    healthpass.entry_code(bigint),
    healthpass.entry_registration(bigint),
    healthpass.entry_history(bigint)
  TO healthpass_app, healthpass_admin;
