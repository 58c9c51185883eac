-- 78_transfer.sql: green codes carried between two systems that never
-- connect (seed 002), both ways, with the same functions.
--
--   source                                   destination
--   transfer_material()  ---- out of band, once, public only ---->  import_transfer_partner()
--   request_transfer(person, destination, notice, form)
--        -> transfer token (HP1 kind "transfer": signed here, personal
--           data sealed to the destination's X25519 key)
--                         ---- carried by the traveller ---->  import_transfer(token, itinerary)
--
-- Refusals are errors with a specific SQLSTATE and a message naming them;
-- nothing is half-written by a refused import (one transaction).
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- C: sealing keys and sealed boxes (src/transfer.c) ---------------------------

CREATE OR REPLACE FUNCTION healthpass_internal._sealing_key_material(OUT kid bytea, OUT public_key bytea, OUT secret_box bytea)
    AS 'MODULE_PATHNAME', 'hp_sealing_key_material'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION healthpass_internal._sealing_key_material() IS
    'a new X25519 key pair: kid, public key and the seed sealed under the master key (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal._seal_box(public_key bytea, message bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'hp_seal_box'
    LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass_internal._seal_box(bytea, bytea) IS 'a sealed box (crypto_box_seal) to an X25519 public key (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal._open_box(kid bytea, secret_box bytea, sealed bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'hp_open_box'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass_internal._open_box(bytea, bytea, bytea) IS
    'opens a sealed box with one of our sealing keys, or NULL (internal)';

-- Sealing keys -------------------------------------------------------------------

-- The current sealing key, made on first use.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_current_sealing_key() RETURNS sealing_key
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    k sealing_key;
    m record;
BEGIN
    SELECT * INTO k FROM sealing_key s WHERE s.retired_at IS NULL ORDER BY s.created_at DESC LIMIT 1;
    IF FOUND THEN
        RETURN k;
    END IF;
    -- one current key: a concurrent first use waits here, then finds it
    LOCK TABLE sealing_key IN SHARE ROW EXCLUSIVE MODE;
    SELECT * INTO k FROM sealing_key s WHERE s.retired_at IS NULL ORDER BY s.created_at DESC LIMIT 1;
    IF FOUND THEN
        RETURN k;
    END IF;
    m := _sealing_key_material();
    INSERT INTO sealing_key (kid, public_key, secret_box) VALUES (m.kid, m.public_key, m.secret_box)
    RETURNING * INTO k;
    RETURN k;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_current_sealing_key() IS 'the sealing key partners seal to, made on first use (internal)';

-- A new sealing key; the previous one keeps opening packages for the grace
-- period (packages sealed to it before the partner imported the new key).
CREATE OR REPLACE FUNCTION rotate_sealing_key(grace interval DEFAULT '7 days') RETURNS bytea
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    m record;
BEGIN
    IF grace IS NULL OR grace < interval '0' OR grace > interval '90 days' THEN
        RAISE EXCEPTION 'grace period % is out of range', coalesce(grace::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The old sealing key keeps opening packages for 0 to 90 days after a rotation.';
    END IF;
    LOCK TABLE sealing_key IN SHARE ROW EXCLUSIVE MODE;
    UPDATE sealing_key s SET retired_at = now(), open_until = now() + grace WHERE s.retired_at IS NULL;
    m := _sealing_key_material();
    INSERT INTO sealing_key (kid, public_key, secret_box) VALUES (m.kid, m.public_key, m.secret_box);
    RETURN m.kid;
END
$$;
COMMENT ON FUNCTION healthpass.rotate_sealing_key(interval) IS
    'a new sealing key; the old one still opens packages for the grace period; returns the new kid';

CREATE OR REPLACE FUNCTION sealing_keys()
    RETURNS TABLE (kid bytea, public_key bytea, created_at timestamptz, retired_at timestamptz, open_until timestamptz, current boolean)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT s.kid, s.public_key, s.created_at, s.retired_at, s.open_until, s.retired_at IS NULL
      FROM sealing_key s ORDER BY s.created_at
$$;
COMMENT ON FUNCTION healthpass.sealing_keys() IS 'our sealing keys (public halves only), oldest first';

-- Exchanging public material ---------------------------------------------------

-- What this database hands a partner, once and out of band: its issuer,
-- its signing trust list and its sealing public keys. Nothing secret.
CREATE OR REPLACE FUNCTION transfer_material() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    PERFORM hp_current_sealing_key();
    PERFORM _ensure_signing_key(now());     -- the trust list names the key that will sign
    RETURN jsonb_build_object(
        'issuer', token_issuer(),
        'trust_list', trust_list(),
        'sealing_keys', (SELECT jsonb_agg(jsonb_build_object(
                                    'kid', _b64url_encode(s.kid), 'x25519', _b64url_encode(s.public_key),
                                    'created_at', _utc(s.created_at),
                                    'retired_at', CASE WHEN s.retired_at IS NOT NULL THEN _utc(s.retired_at) END)
                                ORDER BY s.created_at)
                           FROM sealing_key s WHERE s.retired_at IS NULL OR s.open_until > now()));
END
$$;
COMMENT ON FUNCTION healthpass.transfer_material() IS
    'public material for a partner: issuer, signing trust list, sealing public keys (nothing secret)';

-- Imports a partner's material and says which way transfers go. Every
-- field is checked before anything is stored; the partner cannot be us.
CREATE OR REPLACE FUNCTION import_transfer_partner(material jsonb, accept_from boolean, send_to boolean) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    iss text;
    k jsonb;
    pk bytea;
    key_kid bytea;
    key_created timestamptz;
    key_retired timestamptz;
    listed bytea[];
    t timestamptz := now();
    n integer := 0;
BEGIN
    IF material IS NULL OR jsonb_typeof(material) <> 'object' THEN
        RAISE EXCEPTION 'transfer material is not a JSON object'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Pass what the partner''s transfer_material() returned.';
    END IF;
    IF accept_from IS NULL OR send_to IS NULL THEN
        RAISE EXCEPTION 'transfer directions are missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Say whether transfers from the partner are accepted and whether transfers are sent to it.';
    END IF;
    iss := _trust_issuer('issuer', _trust_string(material, 'issuer', 'issuer'));
    IF jsonb_typeof(material->'sealing_keys') IS DISTINCT FROM 'array' OR jsonb_array_length(material->'sealing_keys') = 0 THEN
        RAISE EXCEPTION 'transfer material of "%" has no sealing keys', hp_quote(iss)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The material lists the partner''s X25519 public keys under "sealing_keys".';
    END IF;
    IF jsonb_typeof(material->'trust_list') IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'transfer material of "%" has no trust list', hp_quote(iss)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The material carries the partner''s signing keys under "trust_list".';
    END IF;
    IF (material->'trust_list'->>'issuer') IS DISTINCT FROM iss THEN
        RAISE EXCEPTION 'the trust list in the material of "%" is another issuer''s', hp_quote(iss)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A partner''s material vouches only for its own issuer.';
    END IF;
    -- the keys, checked before anything is stored
    FOR k IN SELECT e FROM jsonb_array_elements(material->'sealing_keys') e LOOP
        pk := _b64url_decode('sealing_keys.x25519', _trust_string(k, 'x25519', 'sealing_keys.x25519'));
        key_kid := _b64url_decode('sealing_keys.kid', _trust_string(k, 'kid', 'sealing_keys.kid'));
        IF length(pk) <> 32 OR key_kid <> substring(sha256(pk) FROM 1 FOR 8) THEN
            RAISE EXCEPTION 'sealing key "%" of "%" is not valid', hp_quote(k->>'kid'), hp_quote(iss)
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A sealing key is a 32-byte X25519 public key and its kid is the first 8 bytes of its SHA-256.';
        END IF;
        PERFORM _trust_time('sealing_keys.created_at', _trust_string(k, 'created_at', 'sealing_keys.created_at'));
        IF k ? 'retired_at' AND k->'retired_at' <> 'null' THEN
            PERFORM _trust_time('sealing_keys.retired_at', _trust_string(k, 'retired_at', 'sealing_keys.retired_at'));
        END IF;
    END LOOP;
    PERFORM import_trust_list(material->'trust_list');
    INSERT INTO transfer_partner AS t (issuer, accept_from, send_to) VALUES (iss, accept_from, send_to)
    ON CONFLICT (issuer) DO UPDATE SET accept_from = excluded.accept_from, send_to = excluded.send_to, updated_at = excluded.updated_at;
    FOR k IN SELECT e FROM jsonb_array_elements(material->'sealing_keys') e LOOP
        pk := _b64url_decode('sealing_keys.x25519', k->>'x25519');
        -- the times are computed first: Citus evaluates every function call
        -- of an INSERT's VALUES on the coordinator, a CASE's untaken branch too
        key_created := _trust_time('sealing_keys.created_at', k->>'created_at');
        key_retired := CASE WHEN k ? 'retired_at' AND k->'retired_at' <> 'null'
                            THEN _trust_time('sealing_keys.retired_at', k->>'retired_at') END;
        INSERT INTO partner_sealing_key AS s (issuer, kid, public_key, created_at, retired_at)
        VALUES (iss, substring(sha256(pk) FROM 1 FOR 8), pk, key_created, key_retired)
        ON CONFLICT (issuer, kid) DO UPDATE SET retired_at = excluded.retired_at;
        n := n + 1;
    END LOOP;
    -- keys the partner no longer lists are retired here too (the listed
    -- kids and the instant read first: Citus takes no function of a row's
    -- columns, nor now() in a COALESCE, in an UPDATE of its tables)
    listed := ARRAY(SELECT _b64url_decode('sealing_keys.kid', e->>'kid')
                      FROM jsonb_array_elements(material->'sealing_keys') e);
    UPDATE partner_sealing_key s SET retired_at = t
     WHERE s.issuer = iss AND s.retired_at IS NULL AND s.kid <> ALL (listed);
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass.import_transfer_partner(jsonb, boolean, boolean) IS
    'import a partner''s public material (trust list, sealing keys) and which way transfers go; returns the sealing keys stored';

CREATE OR REPLACE FUNCTION transfer_partners()
    RETURNS TABLE (issuer text, accept_from boolean, send_to boolean, sealing_kid bytea, updated_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT t.issuer, t.accept_from, t.send_to,
           (SELECT s.kid FROM partner_sealing_key s WHERE s.issuer = t.issuer AND s.retired_at IS NULL
             ORDER BY s.created_at DESC LIMIT 1),
           t.updated_at
      FROM transfer_partner t ORDER BY t.issuer
$$;
COMMENT ON FUNCTION healthpass.transfer_partners() IS 'partners, which way transfers go, and the key we seal to';

-- Export (source side: seed 002 申领澳门健康码) ----------------------------------

-- The destination's form (seed 002): name, birth date, document, phone and
-- the three questions; every answer present and of its type, or 22023
-- naming the first one missing. Returns the form normalised.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_transfer_form(p person, form jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    f text;
    number text;
    places text[] := '{}';
BEGIN
    IF form IS NULL OR jsonb_typeof(form) <> 'object' THEN
        RAISE EXCEPTION 'transfer form is missing'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The form is a JSON object with name, birth_date, doc_kind, doc_number, phone, fever_today, contact_14d and travel_14d.';
    END IF;
    FOREACH f IN ARRAY ARRAY['name', 'birth_date', 'doc_kind', 'doc_number', 'phone', 'fever_today', 'contact_14d', 'travel_14d'] LOOP
        IF NOT form ? f OR form->f = 'null' THEN
            RAISE EXCEPTION 'transfer form is missing "%"', f
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Every field of the destination''s form must be answered.';
        END IF;
    END LOOP;
    FOREACH f IN ARRAY ARRAY['name', 'birth_date', 'doc_kind', 'doc_number', 'phone'] LOOP
        IF jsonb_typeof(form->f) <> 'string' OR btrim(form->>f) = '' THEN
            RAISE EXCEPTION 'transfer form answer "%" is not a text', f
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Names, dates, the document and the phone are answered as text.';
        END IF;
    END LOOP;
    FOREACH f IN ARRAY ARRAY['fever_today', 'contact_14d', 'travel_14d'] LOOP
        IF jsonb_typeof(form->f) <> 'boolean' THEN
            RAISE EXCEPTION 'transfer form answer "%" is not yes or no', f
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The three questions are answered true or false.';
        END IF;
    END LOOP;
    IF NOT hp_same_name(hp_name('name', form->>'name'), p.name) THEN
        RAISE EXCEPTION 'the name on the transfer form does not match the person'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The form is filled in with the traveller''s own registered name.';
    END IF;
    BEGIN
        IF (form->>'birth_date')::date IS DISTINCT FROM p.birth_date THEN
            RAISE EXCEPTION 'the birth date on the transfer form does not match the person'
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The form is filled in with the traveller''s own birth date.';
        END IF;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
        RAISE EXCEPTION 'birth date "%" on the transfer form is not a date', hp_quote(form->>'birth_date')
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Give the birth date as YYYY-MM-DD.';
    END;
    number := hp_person_document(form->>'doc_kind', form->>'doc_number');
    IF NOT ((p.doc_kind = form->>'doc_kind' AND p.doc_number = number)
            OR EXISTS (SELECT 1 FROM travel_document t
                        WHERE t.person_id = p.person_id AND t.doc_kind = form->>'doc_kind' AND t.doc_number = number
                          AND hp_document_state(t.status, t.expires_at, t.issued_on, now()) = 'valid')) THEN
        RAISE EXCEPTION 'the document on the transfer form is not the person''s'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The form names the traveller''s identity document or one of their valid travel documents.';
    END IF;
    IF form->'travel_14d' = 'true' THEN
        IF jsonb_typeof(form->'travel_places') IS DISTINCT FROM 'array' OR jsonb_array_length(form->'travel_places') = 0 THEN
            RAISE EXCEPTION 'transfer form is missing "travel_places"'
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Whoever travelled in the last 14 days lists where.';
        END IF;
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(form->'travel_places') x WHERE jsonb_typeof(x) <> 'string') THEN
            RAISE EXCEPTION 'transfer form answer "travel_places" is not a list of places'
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The places visited are a list of texts, for example ["澳门"].';
        END IF;
        places := ARRAY(SELECT hp_clean_place('travel place', x) FROM jsonb_array_elements_text(form->'travel_places') x);
    END IF;
    RETURN jsonb_build_object(
        'name', p.name, 'birth_date', p.birth_date, 'sex', p.sex, 'nationality', p.nationality,
        'doc_kind', form->>'doc_kind', 'doc_number', number,
        'phone', hp_text('phone', form->>'phone', 30), 'fever_today', form->'fever_today', 'contact_14d', form->'contact_14d',
        'travel_14d', form->'travel_14d', 'travel_places', to_jsonb(places));
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_transfer_form(person, jsonb) IS
    'the destination''s form checked against the person, normalised (internal)';

-- A person whose code is green now asks for a transfer to a destination,
-- after reading the transfer notice (version accepted) and filling in the
-- destination's form. Returns the transfer token (HP1 kind "transfer") the
-- traveller carries, as text and as a QR-ready string. Refusals:
--   22023 the destination is not a partner we send to, or the form is
--         incomplete or not the person's
--   55000 the colour now is not green (the colour is named), or the
--         notice version is not the current one
CREATE OR REPLACE FUNCTION request_transfer(person_id bigint, destination text, notice_version integer, form jsonb)
    RETURNS TABLE (token text, package_id uuid, expires_at timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id, 'share');
    partner transfer_partner;
    key partner_sealing_key;
    status record;
    f jsonb;
    pkg uuid := gen_random_uuid();
    consented timestamptz;
    valid_for interval := hp_setting('transfer_valid_for')::interval;
    sealed bytea;
    code text;
    issued pass;
BEGIN
    PERFORM hp_require_not_rejected(p);
    SELECT * INTO partner FROM transfer_partner t WHERE t.issuer = destination AND t.send_to;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'destination "%" is not a transfer partner', hp_quote(destination)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Transfers go only to issuers whose material was imported with send_to (transfer_partners()).';
    END IF;
    SELECT * INTO key FROM partner_sealing_key s WHERE s.issuer = partner.issuer AND s.retired_at IS NULL
     ORDER BY s.created_at DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'destination "%" has no current sealing key', partner.issuer
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Import the partner''s current material first.';
    END IF;
    SELECT * INTO status FROM colour_status(p.person_id);
    IF status.colour IS DISTINCT FROM 'green' THEN
        RAISE EXCEPTION 'person % is not green: the code is %', p.person_id, status.colour
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('Only a green code is transferred; reasons: %s.', array_to_string(status.reasons, '; '));
    END IF;
    f := hp_transfer_form(p, form);
    consented := hp_accept_notice(p.person_id, 'transfer_notice', notice_version);
    sealed := _seal_box(key.public_key, convert_to(jsonb_build_object(
        'pkg', pkg, 'src', token_issuer(), 'dst', partner.issuer,
        'form', f,
        'colour', status.colour, 'colour_since', status.since, 'colour_at', now(),
        'last_negative_test', (SELECT max(t.sampled_at)::date FROM test_result t
                                WHERE t.person_id = p.person_id AND t.result = 'negative'),
        -- seed 002 Q2: people working across the border see their tests at home
        'tests', coalesce((SELECT jsonb_agg(jsonb_build_object('institution', t.institution, 'sample_ref', t.sample_ref,
                                                               'sampled_at', t.sampled_at, 'result', t.result,
                                                               'reported_at', t.reported_at) ORDER BY t.sampled_at)
                             FROM test_result t
                            WHERE t.person_id = p.person_id AND t.result <> 'pending'
                              AND t.sampled_at > now() - result_window()), '[]'),
        'notice_version', notice_version, 'consented_at', consented)::text, 'UTF8'));
    code := hp_issue_code(p, 'transfer',
                          jsonb_build_object('dst', partner.issuer, 'pkg', pkg, 'skid', _b64url_encode(key.kid),
                                             'box', _b64url_encode(sealed)),
                          valid_for);
    issued := code;
    INSERT INTO transfer_export (person_id, package_id, destination, token_id, notice_version, consented_at, expires_at)
    VALUES (p.person_id, pkg, partner.issuer, pass_token_id(issued), notice_version, consented, pass_expires_at(issued));
    RETURN QUERY SELECT code, pkg, pass_expires_at(issued);
END
$$;
COMMENT ON FUNCTION healthpass.request_transfer(bigint, text, integer, jsonb) IS
    'a green person''s transfer to a partner: the token (HP1 kind "transfer") with the personal data sealed to the destination';

CREATE OR REPLACE FUNCTION transfer_exports(person_id bigint)
    RETURNS TABLE (package_id uuid, destination text, notice_version integer, consented_at timestamptz,
                   created_at timestamptz, expires_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY SELECT e.package_id, e.destination, e.notice_version, e.consented_at, e.created_at, e.expires_at
                   FROM transfer_export e WHERE e.person_id = p.person_id ORDER BY e.created_at;
END
$$;
COMMENT ON FUNCTION healthpass.transfer_exports(bigint) IS 'the transfers a person asked for, oldest first';

-- Import (destination side) -------------------------------------------------------

-- Document kinds of this jurisdiction's own residents (the seed's
-- "submitted" outcome); everyone else gets the entry-person page.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_resident_kinds() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
RETURN CASE WHEN token_issuer() LIKE 'CN%' THEN ARRAY['cn_resident_id', 'hk_macau_permit', 'cn_passport']
            WHEN token_issuer() LIKE 'MO%' THEN ARRAY['macau_id']
            WHEN token_issuer() LIKE 'HK%' THEN ARRAY['hkid']
            ELSE ARRAY[]::text[] END;
COMMENT ON FUNCTION healthpass_internal.hp_resident_kinds() IS
    'document kinds of this issuer''s own residents: mainland for CN-*, Macau for MO, Hong Kong for HK (internal)';

-- Opens a transfer token: verified against the trust list (its issuer a
-- partner we accept from; issuer_mismatch refused by verify_token), for
-- us, sealed to one of our keys that still opens, the seal's contents bound
-- to the token (same package, source and destination), green at the
-- source. Returns the verification and the opened package, or raises.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_open_transfer(token text, OUT v verification, OUT pkg jsonb)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    skid bytea;
    k sealing_key;
    opened bytea;
BEGIN
    IF token IS NULL THEN
        RAISE EXCEPTION 'transfer token is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Pass the text of the transfer token the traveller carries.';
    END IF;
    v := verify_token(token);
    IF NOT v.valid THEN
        RAISE EXCEPTION 'transfer token is not valid: %', v.reason
            USING ERRCODE = CASE WHEN v.reason IN ('expired', 'not_yet_valid', 'revoked') THEN 'object_not_in_prerequisite_state'
                                 ELSE 'invalid_parameter_value' END,
                  DETAIL = CASE v.reason
                               WHEN 'expired' THEN 'The transfer token expired; the traveller asks the source for a new one.'
                               WHEN 'unknown_key' THEN 'The token is not signed by a key of a trusted issuer (import the partner''s current material).'
                               WHEN 'issuer_mismatch' THEN 'The key that signed the token belongs to another issuer.'
                               ELSE 'The token was not issued as it reads (see verify_token reasons).' END;
    END IF;
    IF v.kind <> 'transfer' THEN
        RAISE EXCEPTION 'token of kind "%" is not a transfer', hp_quote(v.kind, 32)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Pass a transfer token (HP1 kind "transfer").';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM transfer_partner t WHERE t.issuer = v.issuer AND t.accept_from) THEN
        RAISE EXCEPTION 'transfers from "%" are not accepted', hp_quote(v.issuer)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Only issuers imported with accept_from are recognised (transfer_partners()).';
    END IF;
    IF (v.body->>'dst') IS DISTINCT FROM token_issuer() THEN
        RAISE EXCEPTION 'transfer token is for "%", not for "%"', hp_quote(v.body->>'dst'), token_issuer()
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A transfer is imported only by the destination it names.';
    END IF;
    BEGIN
        skid := _b64url_decode('skid', v.body->>'skid');
        SELECT * INTO k FROM sealing_key s WHERE s.kid = skid AND (s.retired_at IS NULL OR s.open_until > now());
        IF FOUND THEN
            opened := _open_box(k.kid, k.secret_box, _b64url_decode('box', v.body->>'box'));
        END IF;
        IF opened IS NOT NULL THEN
            pkg := convert_from(opened, 'UTF8')::jsonb;
        END IF;
    EXCEPTION WHEN invalid_parameter_value OR invalid_text_representation OR character_not_in_repertoire
                   OR untranslatable_character THEN
        pkg := NULL;
    END;
    IF pkg IS NULL OR jsonb_typeof(pkg) <> 'object' THEN
        RAISE EXCEPTION 'the seal of the transfer does not open'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'It was sealed to a key of ours that is retired past its grace, to another database, or altered.';
    END IF;
    IF (pkg->>'pkg') IS DISTINCT FROM (v.body->>'pkg') OR (pkg->>'src') IS DISTINCT FROM v.issuer
       OR (pkg->>'dst') IS DISTINCT FROM token_issuer() THEN
        RAISE EXCEPTION 'the sealed package does not belong to this transfer token'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The seal names another package, source or destination.';
    END IF;
    IF (pkg->>'colour') IS DISTINCT FROM 'green' THEN
        RAISE EXCEPTION 'the source''s code is %, not green', hp_quote(pkg->>'colour', 20)
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Only a green code is recognised.';
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_open_transfer(text) IS
    'verifies and opens a transfer token for this destination, or raises naming the refusal (internal)';

-- The destination imports what the traveller carries, with the itinerary
-- its own form asks for (seed 002 行程申报: phone, the city going to today,
-- the address; the app's SMS and picture-captcha checks are recorded as
-- done, not performed here). In one transaction: the token is verified and
-- opened, the package is used once (replay refused, even after the token
-- expired), the person is found by document or registered, the received
-- data is kept with its provenance, the source's tests are recorded (seed
-- 002 Q2), a declaration of the answers and the itinerary is made, and the
-- destination computes its own colour and issues its own code.
-- outcome: "entry_person_page" for visitors, "submitted" for this
-- jurisdiction's residents (who then use their usual code).
CREATE OR REPLACE FUNCTION import_transfer(token text, itinerary jsonb)
    RETURNS TABLE (outcome text, person_id bigint, package_id uuid, source text,
                   colour health_colour, code text, code_expires_at timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    o record;
    v verification;
    pkg jsonb;
    f jsonb;
    pid bigint;
    p person;
    pkg_id uuid;
    phone text;
    city text;
    address text;
    result text;
    t jsonb;
    hc record;
BEGIN
    IF itinerary IS NULL OR jsonb_typeof(itinerary) <> 'object' THEN
        RAISE EXCEPTION 'itinerary is missing'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The itinerary is a JSON object with phone, destination_city, address, sms_checked and captcha_checked.';
    END IF;
    FOREACH result IN ARRAY ARRAY['phone', 'destination_city', 'address', 'sms_checked', 'captcha_checked'] LOOP
        IF NOT itinerary ? result OR itinerary->result = 'null' THEN
            RAISE EXCEPTION 'itinerary is missing "%"', result
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Every field of the itinerary declaration must be answered.';
        END IF;
        IF jsonb_typeof(itinerary->result) <> (CASE WHEN result LIKE '%_checked' THEN 'boolean' ELSE 'string' END) THEN
            RAISE EXCEPTION 'itinerary answer "%" is not a %', result,
                            CASE WHEN result LIKE '%_checked' THEN 'yes or no' ELSE 'text' END
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The phone, city and address are texts; the checks are true or false.';
        END IF;
    END LOOP;
    IF itinerary->'sms_checked' <> 'true' OR itinerary->'captcha_checked' <> 'true' THEN
        RAISE EXCEPTION 'the itinerary''s SMS and captcha checks are not done'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'The app verifies the phone by SMS and the picture captcha before submitting.';
    END IF;
    phone := nullif(btrim(hp_text('phone', itinerary->>'phone', 30)), '');
    city := hp_clean_place('destination city', itinerary->>'destination_city');
    address := hp_clean_place('address', itinerary->>'address');
    IF phone IS NULL THEN
        RAISE EXCEPTION 'itinerary phone is missing'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Give the phone number the SMS check verified.';
    END IF;

    SELECT * INTO o FROM hp_open_transfer(token);
    v := o.v;
    pkg := o.pkg;
    f := pkg->'form';
    pkg_id := (pkg->>'pkg')::uuid;
    -- used once: the key of this table is the package (a concurrent import of
    -- the same package waits here and is then refused)
    BEGIN
        INSERT INTO transfer_package (package_id, source) VALUES (pkg_id, v.issuer);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'transfer package % was already imported', pkg_id
            USING ERRCODE = 'unique_violation', DETAIL = 'A transfer is used once; the traveller asks the source for a new one.';
    END;
    SELECT i.person_id INTO pid FROM document_index i
     WHERE i.doc_kind = f->>'doc_kind' AND i.doc_number = f->>'doc_number';
    IF pid IS NULL THEN
        pid := register_person(f->>'doc_kind', f->>'doc_number', f->>'name', (f->>'birth_date')::date,
                               f->>'sex', f->>'nationality', phone);
    END IF;
    p := hp_lock_person(pid);
    IF NOT hp_same_name(p.name, f->>'name') OR p.birth_date IS DISTINCT FROM (f->>'birth_date')::date THEN
        RAISE EXCEPTION 'the transfer''s traveller does not match the person registered here with that document'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The name and birth date the source sent differ from those registered with the same document.';
    END IF;
    UPDATE transfer_package x SET person_id = p.person_id WHERE x.package_id = pkg_id;
    result := CASE WHEN f->>'doc_kind' = ANY (hp_resident_kinds()) THEN 'submitted' ELSE 'entry_person_page' END;
    INSERT INTO received_transfer (person_id, package_id, source, source_kid, token_issued_at, colour, colour_at, answers,
                                   last_negative_test, tests, notice_version, consented_at, phone, destination_city, address,
                                   sms_checked, captcha_checked, outcome)
    VALUES (p.person_id, pkg_id, v.issuer, v.kid, v.issued_at, pkg->>'colour', (pkg->>'colour_at')::timestamptz,
            jsonb_build_object('fever_today', f->'fever_today', 'contact_14d', f->'contact_14d',
                               'travel_14d', f->'travel_14d', 'travel_places', f->'travel_places'),
            (pkg->>'last_negative_test')::date, coalesce(pkg->'tests', '[]'),
            (pkg->>'notice_version')::integer, (pkg->>'consented_at')::timestamptz,
            phone, city, address, true, true, result);
    -- the source's results, named as the source's (provenance in the institution)
    FOR t IN SELECT e FROM jsonb_array_elements(coalesce(pkg->'tests', '[]')) e LOOP
        IF NOT EXISTS (SELECT 1 FROM test_result r
                        WHERE r.person_id = p.person_id AND r.institution = left(v.issuer || ': ' || (t->>'institution'), 100)
                          AND r.sample_ref = t->>'sample_ref' AND r.result = t->>'result') THEN
            PERFORM record_test_result(p.person_id, left(v.issuer || ': ' || (t->>'institution'), 100), t->>'sample_ref',
                                       (t->>'sampled_at')::timestamptz, t->>'result', (t->>'reported_at')::timestamptz);
        END IF;
    END LOOP;
    PERFORM declare_health(p.person_id, (f->>'fever_today')::boolean, (f->>'contact_14d')::boolean,
                           ARRAY(SELECT jsonb_array_elements_text(coalesce(f->'travel_places', '[]'))), city, address);
    -- a visitor's entry-person page shows the code now; a resident's
    -- submission is done, and their usual code (health_code) shows the colour
    IF result = 'entry_person_page' THEN
        SELECT * INTO hc FROM health_code(p.person_id);
        RETURN QUERY SELECT result, p.person_id, pkg_id, v.issuer, hc.colour, hc.token, hc.expires_at;
    ELSE
        RETURN QUERY SELECT result, p.person_id, pkg_id, v.issuer, s.colour, NULL::text, NULL::timestamptz
                       FROM colour_status(p.person_id) s;
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass.import_transfer(text, jsonb) IS
    'import a traveller''s transfer with the itinerary: verified, opened, used once; person found or registered; own colour and code';

CREATE OR REPLACE FUNCTION received_transfers(person_id bigint)
    RETURNS TABLE (package_id uuid, source text, colour text, colour_at timestamptz, answers jsonb,
                   last_negative_test date, tests integer, destination_city text, outcome text, received_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY SELECT r.package_id, r.source, r.colour, r.colour_at, r.answers, r.last_negative_test,
                        jsonb_array_length(r.tests), r.destination_city, r.outcome, r.received_at
                   FROM received_transfer r WHERE r.person_id = p.person_id ORDER BY r.received_at;
END
$$;
COMMENT ON FUNCTION healthpass.received_transfers(bigint) IS
    'what other issuers sent about a person, with provenance (source, colour and when), oldest first';

GRANT EXECUTE ON FUNCTION
    healthpass.rotate_sealing_key(interval),
    healthpass.sealing_keys(),
    healthpass.transfer_material(),
    healthpass.import_transfer_partner(jsonb, boolean, boolean),
    healthpass.transfer_partners()
  TO healthpass_admin;
GRANT EXECUTE ON FUNCTION
    healthpass.request_transfer(bigint, text, integer, jsonb),
    healthpass.transfer_exports(bigint),
    healthpass.import_transfer(text, jsonb),
    healthpass.received_transfers(bigint)
  TO healthpass_app;
GRANT EXECUTE ON FUNCTION healthpass.received_transfers(bigint) TO healthpass_health;
