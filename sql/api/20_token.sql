-- 20_token.sql: signed HP1 pass tokens (../shared/spec/hp1-token.md):
-- signing keys under a master key, issuing, verifying, the pass type,
-- revocation and trust lists.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- ---------------------------------------------------------------------
-- base45 (RFC 9285)
-- ---------------------------------------------------------------------
CREATE OR REPLACE FUNCTION base45_encode(data bytea) RETURNS text
    AS 'MODULE_PATHNAME', 'base45_encode'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.base45_encode(bytea) IS 'base45 text (RFC 9285) of bytes';
CREATE OR REPLACE FUNCTION base45_decode(data text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'base45_decode'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.base45_decode(text) IS 'bytes of a base45 text (RFC 9285)';

CREATE OR REPLACE FUNCTION token_issuer() RETURNS text
    AS 'MODULE_PATHNAME', 'token_issuer'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.token_issuer() IS 'the iss claim this server writes (GUC healthpass.issuer)';

-- base64url without padding (RFC 4648 section 5), as JWK and the trust list use it
CREATE OR REPLACE FUNCTION healthpass_internal._b64url_encode(data bytea) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN rtrim(translate(replace(encode(data, 'base64'), E'\n', ''), '+/', '-_'), '=');
CREATE OR REPLACE FUNCTION healthpass_internal._b64url_decode(field text, data text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF data !~ '^[A-Za-z0-9_-]*$' OR length(data) % 4 = 1 THEN
        RAISE EXCEPTION 'invalid base64url in trust list field "%": "%"', field, hp_quote(data)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Trust list keys carry base64url (RFC 4648 section 5) without padding.';
    END IF;
    RETURN decode(translate(data, '-_', '+/') || repeat('=', (4 - length(data) % 4) % 4), 'base64');
END
$$;

-- every backend's key and revocation caches are invalidated on change
CREATE OR REPLACE FUNCTION healthpass_internal._key_cache_invalidate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'hp_key_cache_invalidate'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE OR REPLACE TRIGGER signing_key_cache AFTER INSERT OR UPDATE OR DELETE ON signing_key
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal._key_cache_invalidate();
CREATE OR REPLACE TRIGGER revoked_token_cache AFTER INSERT OR UPDATE OR DELETE ON revoked_token
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal._key_cache_invalidate();

-- key material: the secret leaves C only encrypted
CREATE OR REPLACE FUNCTION healthpass_internal._signing_key_material(OUT kid bytea, OUT public_key bytea, OUT secret_box bytea)
    AS 'MODULE_PATHNAME', 'hp_signing_key_material'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE OR REPLACE FUNCTION healthpass_internal._signing_key_material_from_file(seed_file text,
        OUT kid bytea, OUT public_key bytea, OUT secret_box bytea)
    AS 'MODULE_PATHNAME', 'hp_signing_key_material_from_file'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- _signing_key_until: the end of a key's validity valid_for after
-- valid_from. Like a token, a key is valid for at least one second; it ends
-- by 9999-12-31 23:59:59 UTC, the last second a token can carry. Huge,
-- negative and zero intervals get these errors, never a bare "timestamp out
-- of range".
CREATE OR REPLACE FUNCTION healthpass_internal._signing_key_until(valid_from timestamptz, valid_for interval)
    RETURNS timestamptz
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    until timestamptz;
BEGIN
    IF valid_for IS NULL THEN
        RAISE EXCEPTION 'signing key validity is missing'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Give how long the key signs, such as 1 year.';
    END IF;
    BEGIN
        until := valid_from + valid_for;
    EXCEPTION WHEN datetime_field_overflow THEN
        until := CASE WHEN valid_for > interval '0' THEN 'infinity' ELSE '-infinity' END;
    END;
    IF until = '-infinity' OR extract(epoch FROM until) - extract(epoch FROM valid_from) < 1 THEN
        RAISE EXCEPTION 'signing key validity "%" is too short', hp_quote(valid_for::text)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A signing key is valid for at least one second, as a token is.';
    END IF;
    IF until > timestamptz '9999-12-31 23:59:59Z' THEN
        RAISE EXCEPTION 'signing key validity "%" is too long', hp_quote(valid_for::text)
            USING ERRCODE = 'datetime_field_overflow',
                  DETAIL = 'A signing key''s validity ends by 9999-12-31 23:59:59 UTC, the last second a token can carry.';
    END IF;
    RETURN until;
END
$$;

-- _add_signing_key: stores key material as the new active key, retiring the old one
CREATE OR REPLACE FUNCTION healthpass_internal._add_signing_key(m record, not_before timestamptz, not_after timestamptz)
    RETURNS bytea
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM signing_key WHERE public_key = m.public_key) THEN
        RAISE EXCEPTION 'signing key % is already stored', encode(m.kid, 'hex')
            USING ERRCODE = 'unique_violation', DETAIL = 'Each public key is stored once.';
    END IF;
    UPDATE signing_key SET status = 'retired', changed_at = now()
     WHERE secret_box IS NOT NULL AND status = 'active';
    INSERT INTO signing_key (kid, public_key, secret_box, issuer, not_before, not_after, status)
    VALUES (m.kid, m.public_key, m.secret_box, token_issuer(), not_before, not_after, 'active');
    RETURN m.kid;
END
$$;

CREATE OR REPLACE FUNCTION rotate_signing_key(valid_for interval DEFAULT interval '1 year')
    RETURNS bytea
    LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    nb timestamptz := date_trunc('second', clock_timestamp());
    na timestamptz := _signing_key_until(nb, valid_for);
BEGIN
    LOCK TABLE signing_key IN SHARE ROW EXCLUSIVE MODE;
    RETURN _add_signing_key(_signing_key_material(), nb, na);
END
$$;
COMMENT ON FUNCTION healthpass.rotate_signing_key(interval) IS
    'new active signing key (returns its kid); the previous one is retired and keeps verifying';

-- _ensure_signing_key: called by issue_token when no active key is usable at
-- issue time "at" (first use, or the active key expired or was revoked)
CREATE OR REPLACE FUNCTION healthpass_internal._ensure_signing_key(at timestamptz) RETURNS bytea
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    k bytea;
BEGIN
    LOCK TABLE signing_key IN SHARE ROW EXCLUSIVE MODE;
    SELECT kid INTO k FROM signing_key
     WHERE secret_box IS NOT NULL AND status = 'active' AND not_before <= at AND at < not_after;
    IF FOUND THEN
        RETURN k;
    END IF;
    RETURN _add_signing_key(_signing_key_material(), date_trunc('second', at),
                            _signing_key_until(date_trunc('second', at), interval '1 year'));
END
$$;

CREATE OR REPLACE FUNCTION import_signing_key(seed_file text,
        not_before timestamptz DEFAULT date_trunc('second', now()),
        not_after timestamptz DEFAULT date_trunc('second', now()) + interval '1 year')
    RETURNS bytea
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    PERFORM hp_instant('not_before', not_before), hp_instant('not_after', not_after);
    IF extract(epoch FROM not_after) - extract(epoch FROM not_before) < 1 THEN
        RAISE EXCEPTION 'signing key not_after "%" is not after not_before "%"', not_after, not_before
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A signing key is valid for at least one second, as a token is.';
    END IF;
    IF not_after > timestamptz '9999-12-31 23:59:59Z' THEN
        RAISE EXCEPTION 'signing key not_after "%" is too late', not_after
            USING ERRCODE = 'datetime_field_overflow',
                  DETAIL = 'A signing key''s validity ends by 9999-12-31 23:59:59 UTC, the last second a token can carry.';
    END IF;
    LOCK TABLE signing_key IN SHARE ROW EXCLUSIVE MODE;
    RETURN _add_signing_key(_signing_key_material_from_file(seed_file), not_before, not_after);
END
$$;
COMMENT ON FUNCTION healthpass.import_signing_key(text, timestamptz, timestamptz) IS
    'superuser: makes the Ed25519 seed in a server-side file (64 hex digits, mode 0600) the active signing key';

CREATE OR REPLACE FUNCTION revoke_signing_key(kid bytea, reason text) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    PERFORM hp_text('revocation reason', reason, 500, required => true);
    IF NOT EXISTS (SELECT 1 FROM signing_key k WHERE k.kid = revoke_signing_key.kid) THEN
        RAISE EXCEPTION 'no signing key with kid %', hp_quote(encode(kid, 'hex'))
            USING ERRCODE = 'no_data_found', DETAIL = 'Neither a local nor an imported key has this kid.';
    END IF;
    UPDATE signing_key k SET status = 'revoked', status_reason = reason, changed_at = now()
     WHERE k.kid = revoke_signing_key.kid AND k.status <> 'revoked';
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RAISE EXCEPTION 'signing key % is already revoked', encode(kid, 'hex')
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'A revoked key stays revoked.';
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass.revoke_signing_key(bytea, text) IS
    'revokes every key with this kid; tokens they signed verify as key_revoked';

CREATE OR REPLACE FUNCTION signing_keys(OUT kid bytea, OUT issuer text, OUT local boolean,
        OUT status text, OUT not_before timestamptz, OUT not_after timestamptz,
        OUT status_reason text, OUT created_at timestamptz)
    RETURNS SETOF record
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT kid, issuer, secret_box IS NOT NULL, status, not_before, not_after,
           status_reason, created_at
      FROM signing_key ORDER BY created_at, key_id
$$;
COMMENT ON FUNCTION healthpass.signing_keys() IS 'public facts about every stored key (never a secret)';

-- ---------------------------------------------------------------------
-- trust lists
-- ---------------------------------------------------------------------
CREATE OR REPLACE FUNCTION healthpass_internal._utc(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');

CREATE OR REPLACE FUNCTION trust_list() RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT jsonb_build_object(
        'issuer', token_issuer(),
        'generated_at', _utc(now()),
        'keys', COALESCE(jsonb_agg(jsonb_build_object(
            'kid', _b64url_encode(kid), 'kty', 'OKP', 'crv', 'Ed25519',
            'x', _b64url_encode(public_key),
            'not_before', _utc(not_before), 'not_after', _utc(not_after),
            'status', status) ORDER BY not_before, key_id), '[]'::jsonb))
      FROM signing_key WHERE secret_box IS NOT NULL
$$;
COMMENT ON FUNCTION healthpass.trust_list() IS
    'this issuer''s public keys as the HP1 trust list (RFC 8037 OKP JWKs)';

-- _trust_string: the string member "member" of a trust list object, named
-- "field" in messages; NULL when absent and not required. A member that is
-- there must be a JSON string (null is not one).
CREATE OR REPLACE FUNCTION healthpass_internal._trust_string(obj jsonb, member text, field text, required boolean DEFAULT true)
    RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF NOT obj ? member THEN
        IF required THEN
            RAISE EXCEPTION 'trust list field "%" is missing', field
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A trust list has "issuer", "generated_at" and "keys", and every key "kid", "kty", "crv", "x", "not_before" and "not_after".';
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(obj->member) <> 'string' THEN
        RAISE EXCEPTION 'trust list field "%" is not a string: %', field, hp_quote((obj->member)::text)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The field "%s" holds a JSON string.', member);
    END IF;
    RETURN obj->>member;
END
$$;

-- _trust_issuer: an issuer named by a trust list: 1 to 64 letters, digits,
-- hyphens, underscores and dots, and never this server's own issuer (whose
-- keys are this server's own; compared without regard to case)
CREATE OR REPLACE FUNCTION healthpass_internal._trust_issuer(field text, value text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF value !~ '^[A-Za-z0-9._-]{1,64}$' THEN
        RAISE EXCEPTION 'trust list field "%" is not a valid issuer: "%"', field, hp_quote(value)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'An issuer is 1 to 64 ASCII letters, digits, hyphens, underscores and dots, such as CN-44.';
    END IF;
    IF upper(value) = upper(token_issuer()) THEN
        RAISE EXCEPTION 'trust list field "%" names this server''s own issuer "%"', field, value
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Only this server''s own keys sign for its own issuer (healthpass.issuer); a trust list cannot add keys for it.';
    END IF;
    RETURN value;
END
$$;

-- _trust_time: a time of a trust list (a string already): ISO 8601, finite
CREATE OR REPLACE FUNCTION healthpass_internal._trust_time(field text, value text) RETURNS timestamptz
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    t timestamptz;
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION 'trust list field "%" is missing', field
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A trust list carries generated_at, and every key not_before and not_after.';
    END IF;
    BEGIN
        t := value::timestamptz;
    EXCEPTION WHEN data_exception THEN
        t := NULL;
    END;
    IF t IS NULL OR NOT isfinite(t) THEN
        RAISE EXCEPTION 'trust list field "%" is not a valid time: "%"', field, hp_quote(value)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Times are ISO 8601 with a time zone, such as 2026-01-01T00:00:00Z.';
    END IF;
    RETURN t;
END
$$;

-- import_trust_list: every field is checked before anything is stored (22023
-- naming the field). Each key belongs to its own "iss" or else to the
-- list's "issuer"; neither may be this server's issuer, and a kid already
-- stored for one issuer never moves to another.
CREATE OR REPLACE FUNCTION import_trust_list(doc jsonb) RETURNS integer
    LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    iss text;
    key_iss text;
    issuers text[];
    k jsonb;
    i bigint;
    f text;
    x bytea;
    key_kid bytea;
    nb timestamptz;
    na timestamptz;
    st text;
    old_iss text;
    seen bytea[] := '{}';
    n integer := 0;
BEGIN
    IF jsonb_typeof(doc) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'trust list is not a JSON object: %', hp_quote(doc::text)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A trust list is an object with "issuer", "generated_at" and "keys".';
    END IF;
    iss := _trust_issuer('issuer', _trust_string(doc, 'issuer', 'issuer'));
    issuers := ARRAY[iss];
    PERFORM _trust_time('generated_at', _trust_string(doc, 'generated_at', 'generated_at'));
    IF jsonb_typeof(doc->'keys') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'trust list field "keys" is %', CASE WHEN doc ? 'keys' THEN 'not an array: ' || hp_quote((doc->'keys')::text) ELSE 'missing' END
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The field "keys" holds a JSON array of keys (RFC 8037 JWKs).';
    END IF;
    LOCK TABLE signing_key IN SHARE ROW EXCLUSIVE MODE;
    FOR k, i IN SELECT e.value, e.n - 1 FROM jsonb_array_elements(doc->'keys') WITH ORDINALITY e(value, n) LOOP
        f := format('keys[%s]', i);
        IF jsonb_typeof(k) <> 'object' THEN
            RAISE EXCEPTION 'trust list field "%" is not an object: %', f, hp_quote(k::text)
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Each key is a JSON object (an RFC 8037 JWK).';
        END IF;
        IF k ? 'd' THEN
            RAISE EXCEPTION 'trust list key % carries a secret key', hp_quote(k->>'kid')
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A trust list holds public keys only; the JWK member "d" is a private key.',
                      HINT = 'Remove "d" and treat that key as compromised.';
        END IF;
        PERFORM _trust_string(k, 'kid', f || '.kid');
        IF _trust_string(k, 'kty', f || '.kty') <> 'OKP' THEN
            RAISE EXCEPTION 'trust list field "%.kty" is not "OKP": "%"', f, hp_quote(k->>'kty')
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Keys are RFC 8037 JWKs with "kty": "OKP" and "crv": "Ed25519".';
        END IF;
        IF _trust_string(k, 'crv', f || '.crv') <> 'Ed25519' THEN
            RAISE EXCEPTION 'trust list field "%.crv" is not "Ed25519": "%"', f, hp_quote(k->>'crv')
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Keys are RFC 8037 JWKs with "kty": "OKP" and "crv": "Ed25519".';
        END IF;
        x := _b64url_decode(f || '.x', _trust_string(k, 'x', f || '.x'));
        key_kid := _b64url_decode(f || '.kid', k->>'kid');
        IF length(x) <> 32 THEN
            RAISE EXCEPTION 'trust list field "%.x" holds a public key of % bytes', f, length(x)
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'An Ed25519 public key has 32 bytes.';
        END IF;
        IF key_kid <> substring(sha256(x) FROM 1 FOR 8) THEN
            RAISE EXCEPTION 'trust list kid "%" does not match its public key', hp_quote(k->>'kid')
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A kid is the first 8 bytes of SHA-256 over the public key.';
        END IF;
        nb := _trust_time(f || '.not_before', _trust_string(k, 'not_before', f || '.not_before'));
        na := _trust_time(f || '.not_after', _trust_string(k, 'not_after', f || '.not_after'));
        IF nb >= na THEN
            RAISE EXCEPTION 'trust list key % has not_before % after not_after %', k->>'kid', nb, na
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A key''s validity is a non-empty period.';
        END IF;
        IF k ? 'status' AND (jsonb_typeof(k->'status') <> 'string'
                             OR k->>'status' NOT IN ('active', 'retired', 'revoked')) THEN
            RAISE EXCEPTION 'trust list field "%.status" is not active, retired or revoked: %', f, hp_quote((k->'status')::text)
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A key''s status is "active", "retired" or "revoked" (active when left out).';
        END IF;
        st := coalesce(k->>'status', 'active');
        key_iss := coalesce(_trust_issuer(f || '.iss', _trust_string(k, 'iss', f || '.iss', false)), iss);
        IF EXISTS (SELECT 1 FROM signing_key s WHERE s.public_key = x AND s.secret_box IS NOT NULL) THEN
            RAISE EXCEPTION 'trust list key % is one of this server''s own keys', k->>'kid'
                USING ERRCODE = 'unique_violation', DETAIL = 'Own keys are not imported.';
        END IF;
        IF x = ANY (seen) THEN
            RAISE EXCEPTION 'trust list lists key % twice', k->>'kid'
                USING ERRCODE = 'unique_violation', DETAIL = 'Each public key appears once.';
        END IF;
        SELECT s.issuer INTO old_iss FROM signing_key s
         WHERE s.kid = key_kid AND (s.secret_box IS NOT NULL OR s.issuer <> key_iss)
         ORDER BY s.key_id LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'trust list key % is stored for issuer "%" and cannot move to "%"', k->>'kid', old_iss, key_iss
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A key vouches for one issuer only; a later list cannot move a kid to another issuer.',
                      HINT = 'If the key really changed hands, delete the stored key first.';
        END IF;
        seen := seen || x;
        issuers := issuers || key_iss;
        INSERT INTO signing_key AS s (kid, public_key, issuer, not_before, not_after, status,
                                      status_reason)
        VALUES (key_kid, x, key_iss, nb, na, st, CASE WHEN st = 'revoked' THEN 'revoked by ' || key_iss END)
        ON CONFLICT (public_key) DO UPDATE
           SET not_before = EXCLUDED.not_before,
               not_after = EXCLUDED.not_after,
               status = CASE WHEN s.status = 'revoked' THEN 'revoked' ELSE EXCLUDED.status END,
               status_reason = coalesce(s.status_reason, EXCLUDED.status_reason),
               changed_at = EXCLUDED.changed_at;
        n := n + 1;
    END LOOP;
    -- the list is the whole set of every issuer it names: their imported
    -- keys it no longer lists are no longer trusted
    DELETE FROM signing_key s
     WHERE s.secret_box IS NULL AND s.issuer = ANY (issuers) AND s.public_key <> ALL (seen);
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass.import_trust_list(jsonb) IS
    'stores (replaces) other issuers'' public keys, each under its own issuer, so that their tokens verify here';

-- ---------------------------------------------------------------------
-- issuing and verifying
-- ---------------------------------------------------------------------
CREATE OR REPLACE FUNCTION issue_token(kind text, body jsonb, valid_for interval) RETURNS text
    AS 'MODULE_PATHNAME', 'issue_token'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION healthpass.issue_token(text, jsonb, interval) IS
    'signs a new HP1 token of this kind and body, valid from now for valid_for';

CREATE OR REPLACE FUNCTION issue_token_at(kind text, body jsonb, issued_at timestamptz,
        expires_at timestamptz, token_id bytea, kid bytea DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'issue_token_at'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION healthpass.issue_token_at(text, jsonb, timestamptz, timestamptz, bytea, bytea) IS
    'superuser: signs an HP1 token with given claims (reproducible vectors, migrations)';

CREATE OR REPLACE FUNCTION verify_token(token text, at timestamptz DEFAULT now()) RETURNS verification
    AS 'MODULE_PATHNAME', 'verify_token'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.verify_token(text, timestamptz) IS
    'verdict on an HP1 token at a time; never raises for a bad token';

CREATE OR REPLACE FUNCTION pass_kind(pass) RETURNS text
    AS 'MODULE_PATHNAME', 'pass_kind' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION pass_issuer(pass) RETURNS text
    AS 'MODULE_PATHNAME', 'pass_issuer' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION pass_kid(pass) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pass_kid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION pass_issued_at(pass) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'pass_issued_at' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION pass_expires_at(pass) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'pass_expires_at' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION pass_token_id(pass) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pass_token_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION pass_body(pass) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'pass_body' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION pass_cose(pass) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pass_cose' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.pass_body(pass) IS 'the body claim (unverified: use verify_token)';

CREATE OR REPLACE FUNCTION verify_token(token pass, at timestamptz DEFAULT now()) RETURNS verification
    AS 'MODULE_PATHNAME', 'verify_pass'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.verify_token(pass, timestamptz) IS 'verdict on a stored pass at a time';

-- ---------------------------------------------------------------------
-- revocation
-- ---------------------------------------------------------------------
CREATE OR REPLACE FUNCTION revoke_token(token_id bytea, reason text, kid bytea DEFAULT NULL)
    RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    at timestamptz;
BEGIN
    IF token_id IS NULL OR length(token_id) <> 16 THEN
        RAISE EXCEPTION 'invalid token id "%"', hp_quote(encode(token_id, 'hex'))
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A token id (cti) has 16 bytes.';
    END IF;
    PERFORM hp_text('revocation reason', reason, 500, required => true);
    IF kid IS NOT NULL AND length(kid) <> 8 THEN
        RAISE EXCEPTION 'invalid kid "%"', hp_quote(encode(kid, 'hex'))
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A kid has 8 bytes.';
    END IF;
    INSERT INTO revoked_token (token_id, kid, reason) VALUES (token_id, kid, reason)
    ON CONFLICT DO NOTHING
    RETURNING revoked_at INTO at;
    IF at IS NULL THEN
        RAISE EXCEPTION 'token % is already revoked', encode(token_id, 'hex')
            USING ERRCODE = 'unique_violation', DETAIL = 'A token is revoked once.';
    END IF;
    RETURN at;
END
$$;
COMMENT ON FUNCTION healthpass.revoke_token(bytea, text, bytea) IS
    'puts a token id on the revocation list; its token verifies as revoked';

CREATE OR REPLACE FUNCTION revoke_pass(token pass, reason text) RETURNS timestamptz
    LANGUAGE sql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = healthpass, healthpass_internal, pg_temp
    RETURN revoke_token(pass_token_id(token), reason, pass_kid(token));
COMMENT ON FUNCTION healthpass.revoke_pass(pass, text) IS 'revokes the token of a pass, recording its kid';

CREATE OR REPLACE FUNCTION revocation_list() RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT jsonb_build_object(
        'issuer', token_issuer(),
        'generated_at', _utc(now()),
        'hash', 'sha256-128',
        'revoked', COALESCE((
            SELECT jsonb_object_agg(g.kid, g.hashes)
              FROM (SELECT coalesce(_b64url_encode(r.kid), '*') AS kid,
                           jsonb_agg(_b64url_encode(substring(sha256(r.token_id) FROM 1 FOR 16))
                                     ORDER BY sha256(r.token_id)) AS hashes
                      FROM revoked_token r GROUP BY 1) g), '{}'::jsonb))
$$;
COMMENT ON FUNCTION healthpass.revocation_list() IS
    'revoked token ids for offline verifiers: first 16 bytes of SHA-256(cti), base64url, per kid ("*": any key)';

-- ---------------------------------------------------------------------
-- privileges (99_privileges.sql revokes everything from PUBLIC first)
-- ---------------------------------------------------------------------
GRANT EXECUTE ON FUNCTION healthpass.base45_encode(bytea), healthpass.base45_decode(text)
    TO healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;
GRANT EXECUTE ON FUNCTION healthpass.issue_token(text, jsonb, interval) TO healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.verify_token(text, timestamptz), healthpass.verify_token(pass, timestamptz)
    TO healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health;
GRANT EXECUTE ON FUNCTION healthpass.pass_in(cstring), healthpass.pass_out(pass), healthpass.pass_recv(internal), healthpass.pass_send(pass),
    healthpass.pass_kind(pass), healthpass.pass_issuer(pass), healthpass.pass_kid(pass), healthpass.pass_issued_at(pass),
    healthpass.pass_expires_at(pass), healthpass.pass_token_id(pass), healthpass.pass_body(pass), healthpass.pass_cose(pass)
    TO healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;
GRANT EXECUTE ON FUNCTION healthpass.rotate_signing_key(interval), healthpass.revoke_signing_key(bytea, text),
    healthpass.import_trust_list(jsonb), healthpass.revoke_token(bytea, text, bytea), healthpass.revoke_pass(pass, text)
    TO healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.signing_keys() TO healthpass_admin, healthpass_report;
GRANT EXECUTE ON FUNCTION healthpass.trust_list()
    TO healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;
GRANT EXECUTE ON FUNCTION healthpass.revocation_list() TO healthpass_admin, healthpass_scanner, healthpass_report;
GRANT EXECUTE ON FUNCTION healthpass.token_issuer()
    TO healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;
