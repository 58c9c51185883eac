-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION healthpass" to load this file. \quit

-- ===== sql/ext/00_schema.sql
-- 00_schema.sql: purpose roles, privileges and the version function.
--
-- Application roles never get table privileges: they call SECURITY DEFINER
-- functions granted to them. Roles are cluster-wide, so they are created
-- only when missing (the extension may be created in several databases).

DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY[
        'healthpass_admin',      -- administrators: keys, rules, notices
        'healthpass_app',        -- app servers acting for travellers
        'healthpass_scanner',    -- venue and border scanners: verify, record scans
        'healthpass_health',     -- health authority: results, risk marks
        'healthpass_report'      -- DBAs and analysts: read-only reports
    ] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;

REVOKE ALL ON SCHEMA healthpass FROM PUBLIC;
GRANT USAGE ON SCHEMA healthpass
    TO healthpass_admin, healthpass_app, healthpass_scanner,
       healthpass_health, healthpass_report;

CREATE FUNCTION version() RETURNS text
    AS 'MODULE_PATHNAME', 'healthpass_version'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION version() IS 'healthpass extension version';
GRANT EXECUTE ON FUNCTION version()
    TO healthpass_admin, healthpass_app, healthpass_scanner,
       healthpass_health, healthpass_report;

-- ===== sql/ext/10_identity.sql
-- 10_identity.sql: identity documents.
--
-- cn_resident_id: the resident identity card number (GB 11643-1999) as a
-- base type, stored as its first 17 digits in 8 bytes (like int8, so
-- comparison, sorting and hashing reuse PostgreSQL's int8 functions; the
-- check character is derived on output). Its order is the order of the
-- 18-character text.
--
-- normalize_document() and friends: the canonical form of every document
-- kind people type (resident ID, HKID, Macau ID, permits, passport, USCC,
-- organisation code, licence plate). All functions here are pure: the only
-- time-dependent rule (a resident ID's birth date must not be in the
-- future) can only turn an error into a success as time passes, never
-- change a result, so they are IMMUTABLE and usable in indexes and
-- constraints.

CREATE TYPE cn_resident_id;

CREATE FUNCTION cn_resident_id_in(cstring) RETURNS cn_resident_id
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cn_resident_id_out(cn_resident_id) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cn_resident_id_recv(internal) RETURNS cn_resident_id
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cn_resident_id_send(cn_resident_id) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE cn_resident_id (
    INPUT = cn_resident_id_in,
    OUTPUT = cn_resident_id_out,
    RECEIVE = cn_resident_id_recv,
    SEND = cn_resident_id_send,
    LIKE = pg_catalog.int8
);
COMMENT ON TYPE cn_resident_id IS
    'resident identity card number (GB 11643-1999), 18 characters';

-- comparison: the int8 functions of the server, on the 17-digit value
CREATE FUNCTION cn_resident_id_eq(cn_resident_id, cn_resident_id) RETURNS boolean
    AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_ne(cn_resident_id, cn_resident_id) RETURNS boolean
    AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_lt(cn_resident_id, cn_resident_id) RETURNS boolean
    AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_le(cn_resident_id, cn_resident_id) RETURNS boolean
    AS 'int8le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_gt(cn_resident_id, cn_resident_id) RETURNS boolean
    AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_ge(cn_resident_id, cn_resident_id) RETURNS boolean
    AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_cmp(cn_resident_id, cn_resident_id) RETURNS integer
    AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_sortsupport(internal) RETURNS void
    AS 'btint8sortsupport' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cn_resident_id_hash(cn_resident_id) RETURNS integer
    AS 'hashint8' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION cn_resident_id_hash_extended(cn_resident_id, bigint) RETURNS bigint
    AS 'hashint8extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE OPERATOR = (
    LEFTARG = cn_resident_id, RIGHTARG = cn_resident_id,
    FUNCTION = cn_resident_id_eq, COMMUTATOR = =, NEGATOR = <>,
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR <> (
    LEFTARG = cn_resident_id, RIGHTARG = cn_resident_id,
    FUNCTION = cn_resident_id_ne, COMMUTATOR = <>, NEGATOR = =,
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR < (
    LEFTARG = cn_resident_id, RIGHTARG = cn_resident_id,
    FUNCTION = cn_resident_id_lt, COMMUTATOR = >, NEGATOR = >=,
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR <= (
    LEFTARG = cn_resident_id, RIGHTARG = cn_resident_id,
    FUNCTION = cn_resident_id_le, COMMUTATOR = >=, NEGATOR = >,
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR > (
    LEFTARG = cn_resident_id, RIGHTARG = cn_resident_id,
    FUNCTION = cn_resident_id_gt, COMMUTATOR = <, NEGATOR = <=,
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR >= (
    LEFTARG = cn_resident_id, RIGHTARG = cn_resident_id,
    FUNCTION = cn_resident_id_ge, COMMUTATOR = <=, NEGATOR = <,
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE OPERATOR CLASS cn_resident_id_ops
    DEFAULT FOR TYPE cn_resident_id USING btree AS
        OPERATOR 1 <,
        OPERATOR 2 <=,
        OPERATOR 3 =,
        OPERATOR 4 >=,
        OPERATOR 5 >,
        FUNCTION 1 cn_resident_id_cmp(cn_resident_id, cn_resident_id),
        FUNCTION 2 cn_resident_id_sortsupport(internal),
        FUNCTION 4 btequalimage(oid);

CREATE OPERATOR CLASS cn_resident_id_hash_ops
    DEFAULT FOR TYPE cn_resident_id USING hash AS
        OPERATOR 1 =,
        FUNCTION 1 cn_resident_id_hash(cn_resident_id),
        FUNCTION 2 cn_resident_id_hash_extended(cn_resident_id, bigint);

-- text → cn_resident_id in assignments (INSERT of a text parameter); the
-- other way round is PostgreSQL's automatic I/O cast
CREATE CAST (text AS cn_resident_id) WITH INOUT AS ASSIGNMENT;
CREATE CAST (varchar AS cn_resident_id) WITH INOUT AS ASSIGNMENT;

-- accessors
CREATE FUNCTION birth_date(cn_resident_id) RETURNS date
    AS 'MODULE_PATHNAME', 'cn_resident_id_birth_date'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION birth_date(cn_resident_id) IS 'birth date in a resident ID number';

CREATE FUNCTION sex(cn_resident_id) RETURNS text
    AS 'MODULE_PATHNAME', 'cn_resident_id_sex'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sex(cn_resident_id) IS
    'male (odd sequence number) or female (even) from a resident ID number';

CREATE FUNCTION region_code(cn_resident_id) RETURNS text
    AS 'MODULE_PATHNAME', 'cn_resident_id_region_code'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION region_code(cn_resident_id) IS
    '6-digit region code (GB/T 2260) of a resident ID number';

CREATE FUNCTION age(cn_resident_id, at date DEFAULT current_date) RETURNS integer
    AS 'MODULE_PATHNAME', 'cn_resident_id_age'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION age(cn_resident_id, date) IS
    'completed years of age at a date (default today)';

CREATE FUNCTION mask(cn_resident_id) RETURNS text
    AS 'MODULE_PATHNAME', 'cn_resident_id_mask'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mask(cn_resident_id) IS
    'masked display form: first 4 and last 4 characters kept';

-- any document kind
CREATE FUNCTION normalize_document(kind text, number text) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION normalize_document(text, text) IS
    'canonical form of a document number as typed by a person';

CREATE FUNCTION is_valid_document(kind text, number text) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION is_valid_document(text, text) IS
    'whether normalize_document accepts the number';

CREATE FUNCTION mask_document(kind text, number text) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mask_document(text, text) IS
    'masked display form of a document number, normalised first';

CREATE FUNCTION mask_name(name text) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION mask_name(text) IS
    'masked display form of a person''s name (张*明, C*** T** M**)';

CREATE FUNCTION document_kinds() RETURNS SETOF text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 9;
COMMENT ON FUNCTION document_kinds() IS
    'document kinds known to normalize_document';

-- all of these are pure functions: every purpose role may call them
GRANT EXECUTE ON FUNCTION
    cn_resident_id_in(cstring), cn_resident_id_out(cn_resident_id),
    cn_resident_id_recv(internal), cn_resident_id_send(cn_resident_id),
    cn_resident_id_eq(cn_resident_id, cn_resident_id),
    cn_resident_id_ne(cn_resident_id, cn_resident_id),
    cn_resident_id_lt(cn_resident_id, cn_resident_id),
    cn_resident_id_le(cn_resident_id, cn_resident_id),
    cn_resident_id_gt(cn_resident_id, cn_resident_id),
    cn_resident_id_ge(cn_resident_id, cn_resident_id),
    cn_resident_id_cmp(cn_resident_id, cn_resident_id),
    cn_resident_id_sortsupport(internal),
    cn_resident_id_hash(cn_resident_id),
    cn_resident_id_hash_extended(cn_resident_id, bigint),
    birth_date(cn_resident_id), sex(cn_resident_id),
    region_code(cn_resident_id), age(cn_resident_id, date),
    mask(cn_resident_id),
    normalize_document(text, text), is_valid_document(text, text),
    mask_document(text, text), mask_name(text), document_kinds()
    TO healthpass_admin, healthpass_app, healthpass_scanner,
       healthpass_health, healthpass_report;

-- ===== sql/ext/20_token.sql
-- 20_token.sql: signed HP1 pass tokens (../shared/spec/hp1-token.md):
-- signing keys under a master key, issuing, verifying, the pass type,
-- revocation and trust lists.

-- ---------------------------------------------------------------------
-- base45 (RFC 9285)
-- ---------------------------------------------------------------------
CREATE FUNCTION base45_encode(data bytea) RETURNS text
    AS 'MODULE_PATHNAME', 'base45_encode'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION base45_encode(bytea) IS 'base45 text (RFC 9285) of bytes';
CREATE FUNCTION base45_decode(data text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'base45_decode'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION base45_decode(text) IS 'bytes of a base45 text (RFC 9285)';

CREATE FUNCTION token_issuer() RETURNS text
    AS 'MODULE_PATHNAME', 'token_issuer'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION token_issuer() IS 'the iss claim this server writes (GUC healthpass.issuer)';

-- base64url without padding (RFC 4648 section 5), as JWK and the trust list use it
CREATE FUNCTION _b64url_encode(data bytea) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN rtrim(translate(replace(encode(data, 'base64'), E'\n', ''), '+/', '-_'), '=');
CREATE FUNCTION _b64url_decode(field text, data text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    IF data !~ '^[A-Za-z0-9_-]*$' OR length(data) % 4 = 1 THEN
        RAISE EXCEPTION 'invalid base64url in trust list field "%": "%"', field, data
            USING ERRCODE = '22023',
                  DETAIL = 'Trust list keys carry base64url (RFC 4648 section 5) without padding.';
    END IF;
    RETURN decode(translate(data, '-_', '+/') || repeat('=', (4 - length(data) % 4) % 4), 'base64');
END
$$;

-- ---------------------------------------------------------------------
-- keys
-- ---------------------------------------------------------------------
-- Local keys carry secret_box: nonce (24 bytes) || XChaCha20-Poly1305 of the
-- 32-byte Ed25519 seed under the master key, with the kid as associated
-- data. Imported keys (other issuers' trust lists) have no secret_box.
CREATE TABLE signing_key (
    key_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kid         bytea NOT NULL CHECK (length(kid) = 8),
    public_key  bytea NOT NULL UNIQUE CHECK (length(public_key) = 32),
    secret_box  bytea CHECK (length(secret_box) = 72),
    issuer      text NOT NULL CHECK (issuer <> ''),
    not_before  timestamptz NOT NULL,
    not_after   timestamptz NOT NULL,
    status      text NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'retired', 'revoked')),
    status_reason text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    changed_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT signing_key_validity CHECK (not_before < not_after),
    CONSTRAINT signing_key_kid_of_key CHECK (kid = substring(sha256(public_key) FROM 1 FOR 8))
);
CREATE INDEX signing_key_kid ON signing_key (kid);
-- one active key of our own at a time
CREATE UNIQUE INDEX signing_key_one_active ON signing_key ((true))
    WHERE secret_box IS NOT NULL AND status = 'active';
COMMENT ON TABLE signing_key IS
    'Ed25519 keys: ours (secret encrypted under the master key) and imported trusted public keys';

CREATE TABLE revoked_token (
    token_id    bytea PRIMARY KEY CHECK (length(token_id) = 16),
    kid         bytea CHECK (length(kid) = 8),
    reason      text NOT NULL CHECK (reason <> ''),
    revoked_at  timestamptz NOT NULL DEFAULT now(),
    revoked_by  name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE revoked_token IS 'Revoked HP1 token ids (cti)';

-- dumps keep the keys (secrets only encrypted) and the revocation list
SELECT pg_extension_config_dump('signing_key', '');
SELECT pg_extension_config_dump('signing_key_key_id_seq', '');
SELECT pg_extension_config_dump('revoked_token', '');

-- every backend's key and revocation caches are invalidated on change
CREATE FUNCTION _key_cache_invalidate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'hp_key_cache_invalidate'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE TRIGGER signing_key_cache AFTER INSERT OR UPDATE OR DELETE ON signing_key
    FOR EACH ROW EXECUTE FUNCTION _key_cache_invalidate();
CREATE TRIGGER revoked_token_cache AFTER INSERT OR UPDATE OR DELETE ON revoked_token
    FOR EACH ROW EXECUTE FUNCTION _key_cache_invalidate();

-- key material: the secret leaves C only encrypted
CREATE FUNCTION _signing_key_material(OUT kid bytea, OUT public_key bytea, OUT secret_box bytea)
    AS 'MODULE_PATHNAME', 'hp_signing_key_material'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION _signing_key_material_from_file(seed_file text,
        OUT kid bytea, OUT public_key bytea, OUT secret_box bytea)
    AS 'MODULE_PATHNAME', 'hp_signing_key_material_from_file'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- _add_signing_key: stores key material as the new active key, retiring the old one
CREATE FUNCTION _add_signing_key(m record, valid_from timestamptz, valid_for interval)
    RETURNS bytea
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    IF valid_for IS NULL OR valid_from + valid_for <= valid_from THEN
        RAISE EXCEPTION 'signing key validity "%" is not positive', valid_for
            USING ERRCODE = '22023', DETAIL = 'A signing key is valid for a positive interval.';
    END IF;
    IF EXISTS (SELECT 1 FROM signing_key WHERE public_key = m.public_key) THEN
        RAISE EXCEPTION 'signing key % is already stored', encode(m.kid, 'hex')
            USING ERRCODE = '23505', DETAIL = 'Each public key is stored once.';
    END IF;
    UPDATE signing_key SET status = 'retired', changed_at = now()
     WHERE secret_box IS NOT NULL AND status = 'active';
    INSERT INTO signing_key (kid, public_key, secret_box, issuer, not_before, not_after, status)
    VALUES (m.kid, m.public_key, m.secret_box, token_issuer(),
            valid_from, valid_from + valid_for, 'active');
    RETURN m.kid;
END
$$;

CREATE FUNCTION rotate_signing_key(valid_for interval DEFAULT interval '1 year')
    RETURNS bytea
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    LOCK TABLE signing_key IN SHARE ROW EXCLUSIVE MODE;
    RETURN _add_signing_key(_signing_key_material(),
                            date_trunc('second', clock_timestamp()), valid_for);
END
$$;
COMMENT ON FUNCTION rotate_signing_key(interval) IS
    'new active signing key (returns its kid); the previous one is retired and keeps verifying';

-- _ensure_signing_key: called by issue_token when no active key is usable at
-- issue time "at" (first use, or the active key expired or was revoked)
CREATE FUNCTION _ensure_signing_key(at timestamptz) RETURNS bytea
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
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
    RETURN _add_signing_key(_signing_key_material(), date_trunc('second', at), interval '1 year');
END
$$;

CREATE FUNCTION import_signing_key(seed_file text,
        not_before timestamptz DEFAULT date_trunc('second', now()),
        not_after timestamptz DEFAULT date_trunc('second', now()) + interval '1 year')
    RETURNS bytea
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    LOCK TABLE signing_key IN SHARE ROW EXCLUSIVE MODE;
    RETURN _add_signing_key(_signing_key_material_from_file(seed_file),
                            not_before, not_after - not_before);
END
$$;
COMMENT ON FUNCTION import_signing_key(text, timestamptz, timestamptz) IS
    'superuser: makes the Ed25519 seed in a server-side file (64 hex digits, mode 0600) the active signing key';

CREATE FUNCTION revoke_signing_key(kid bytea, reason text) RETURNS integer
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    IF btrim(reason) = '' THEN
        RAISE EXCEPTION 'revocation reason "%" is empty', reason
            USING ERRCODE = '22023', DETAIL = 'A revocation says why.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM signing_key k WHERE k.kid = revoke_signing_key.kid) THEN
        RAISE EXCEPTION 'no signing key with kid %', encode(kid, 'hex')
            USING ERRCODE = 'P0002', DETAIL = 'Neither a local nor an imported key has this kid.';
    END IF;
    UPDATE signing_key k SET status = 'revoked', status_reason = reason, changed_at = now()
     WHERE k.kid = revoke_signing_key.kid AND k.status <> 'revoked';
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RAISE EXCEPTION 'signing key % is already revoked', encode(kid, 'hex')
            USING ERRCODE = '55000', DETAIL = 'A revoked key stays revoked.';
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION revoke_signing_key(bytea, text) IS
    'revokes every key with this kid; tokens they signed verify as key_revoked';

CREATE FUNCTION signing_keys(OUT kid bytea, OUT issuer text, OUT local boolean,
        OUT status text, OUT not_before timestamptz, OUT not_after timestamptz,
        OUT status_reason text, OUT created_at timestamptz)
    RETURNS SETOF record
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = healthpass, pg_temp
AS $$
    SELECT kid, issuer, secret_box IS NOT NULL, status, not_before, not_after,
           status_reason, created_at
      FROM signing_key ORDER BY created_at, key_id
$$;
COMMENT ON FUNCTION signing_keys() IS 'public facts about every stored key (never a secret)';

-- ---------------------------------------------------------------------
-- trust lists
-- ---------------------------------------------------------------------
CREATE FUNCTION _utc(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');

CREATE FUNCTION trust_list() RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = healthpass, pg_temp
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
COMMENT ON FUNCTION trust_list() IS
    'this issuer''s public keys as the HP1 trust list (RFC 8037 OKP JWKs)';

CREATE FUNCTION _trust_time(field text, value text) RETURNS timestamptz
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION 'trust list key lacks "%"', field
            USING ERRCODE = '22023', DETAIL = 'Every key carries not_before and not_after.';
    END IF;
    RETURN value::timestamptz;
EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
    RAISE EXCEPTION 'invalid trust list time in "%": "%"', field, value
        USING ERRCODE = '22007', DETAIL = 'Times are ISO 8601, such as 2026-01-01T00:00:00Z.';
END
$$;

CREATE FUNCTION import_trust_list(doc jsonb) RETURNS integer
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    iss text := doc->>'issuer';
    k jsonb;
    x bytea;
    kid bytea;
    nb timestamptz;
    na timestamptz;
    st text;
    seen bytea[] := '{}';
    n integer := 0;
BEGIN
    IF jsonb_typeof(doc) <> 'object' OR jsonb_typeof(doc->'issuer') IS DISTINCT FROM 'string'
       OR iss = '' OR jsonb_typeof(doc->'keys') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'invalid trust list: %', left(doc::text, 80)
            USING ERRCODE = '22023',
                  DETAIL = 'A trust list is an object with a non-empty "issuer" string and a "keys" array.';
    END IF;
    LOCK TABLE signing_key IN SHARE ROW EXCLUSIVE MODE;
    FOR k IN SELECT * FROM jsonb_array_elements(doc->'keys') LOOP
        IF jsonb_typeof(k) <> 'object' THEN
            RAISE EXCEPTION 'invalid trust list key: %', left(k::text, 80)
                USING ERRCODE = '22023', DETAIL = 'Each key is a JSON object.';
        END IF;
        IF k ? 'd' THEN
            RAISE EXCEPTION 'trust list key % carries a secret key', k->>'kid'
                USING ERRCODE = '22023',
                      DETAIL = 'A trust list holds public keys only; the JWK member "d" is a private key.',
                      HINT = 'Remove "d" and treat that key as compromised.';
        END IF;
        IF k->>'kty' IS DISTINCT FROM 'OKP' OR k->>'crv' IS DISTINCT FROM 'Ed25519' THEN
            RAISE EXCEPTION 'trust list key % is not an Ed25519 key', k->>'kid'
                USING ERRCODE = '22023', DETAIL = 'Keys are RFC 8037 JWKs with "kty": "OKP" and "crv": "Ed25519".';
        END IF;
        x := _b64url_decode('x', coalesce(k->>'x', ''));
        kid := _b64url_decode('kid', coalesce(k->>'kid', ''));
        IF length(x) <> 32 THEN
            RAISE EXCEPTION 'trust list key % has a public key of % bytes', k->>'kid', length(x)
                USING ERRCODE = '22023', DETAIL = 'An Ed25519 public key has 32 bytes.';
        END IF;
        IF kid <> substring(sha256(x) FROM 1 FOR 8) THEN
            RAISE EXCEPTION 'trust list kid "%" does not match its public key', k->>'kid'
                USING ERRCODE = '22023', DETAIL = 'A kid is the first 8 bytes of SHA-256 over the public key.';
        END IF;
        nb := _trust_time('not_before', k->>'not_before');
        na := _trust_time('not_after', k->>'not_after');
        IF nb >= na THEN
            RAISE EXCEPTION 'trust list key % has not_before % after not_after %', k->>'kid', nb, na
                USING ERRCODE = '22023', DETAIL = 'A key''s validity is a non-empty period.';
        END IF;
        st := coalesce(k->>'status', 'active');
        IF st NOT IN ('active', 'retired', 'revoked') THEN
            RAISE EXCEPTION 'trust list key % has status "%"', k->>'kid', st
                USING ERRCODE = '22023', DETAIL = 'A status is active, retired or revoked.';
        END IF;
        IF EXISTS (SELECT 1 FROM signing_key s WHERE s.public_key = x AND s.secret_box IS NOT NULL) THEN
            RAISE EXCEPTION 'trust list key % is one of this server''s own keys', k->>'kid'
                USING ERRCODE = '23505', DETAIL = 'Own keys are not imported.';
        END IF;
        IF x = ANY (seen) THEN
            RAISE EXCEPTION 'trust list lists key % twice', k->>'kid'
                USING ERRCODE = '23505', DETAIL = 'Each public key appears once.';
        END IF;
        seen := seen || x;
        INSERT INTO signing_key AS s (kid, public_key, issuer, not_before, not_after, status,
                                      status_reason)
        VALUES (kid, x, iss, nb, na, st, CASE WHEN st = 'revoked' THEN 'revoked by ' || iss END)
        ON CONFLICT (public_key) DO UPDATE
           SET issuer = EXCLUDED.issuer, not_before = EXCLUDED.not_before,
               not_after = EXCLUDED.not_after,
               status = CASE WHEN s.status = 'revoked' THEN 'revoked' ELSE EXCLUDED.status END,
               status_reason = coalesce(s.status_reason, EXCLUDED.status_reason),
               changed_at = now();
        n := n + 1;
    END LOOP;
    -- the list is the issuer's whole set: keys it no longer lists are no longer trusted
    DELETE FROM signing_key s
     WHERE s.secret_box IS NULL AND s.issuer = iss AND s.public_key <> ALL (seen);
    RETURN n;
END
$$;
COMMENT ON FUNCTION import_trust_list(jsonb) IS
    'stores (replaces) another issuer''s public keys so that its tokens verify here';

-- ---------------------------------------------------------------------
-- issuing and verifying
-- ---------------------------------------------------------------------
CREATE FUNCTION issue_token(kind text, body jsonb, valid_for interval) RETURNS text
    AS 'MODULE_PATHNAME', 'issue_token'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION issue_token(text, jsonb, interval) IS
    'signs a new HP1 token of this kind and body, valid from now for valid_for';

CREATE FUNCTION issue_token_at(kind text, body jsonb, issued_at timestamptz,
        expires_at timestamptz, token_id bytea, kid bytea DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'issue_token_at'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION issue_token_at(text, jsonb, timestamptz, timestamptz, bytea, bytea) IS
    'superuser: signs an HP1 token with given claims (reproducible vectors, migrations)';

CREATE TYPE verification AS (
    valid       boolean,
    reason      text,
    kind        text,
    issuer      text,
    kid         bytea,
    issued_at   timestamptz,
    expires_at  timestamptz,
    token_id    bytea,
    body        jsonb
);
COMMENT ON TYPE verification IS 'verdict of verify_token: reason is NULL when valid';

CREATE FUNCTION verify_token(token text, at timestamptz DEFAULT now()) RETURNS verification
    AS 'MODULE_PATHNAME', 'verify_token'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION verify_token(text, timestamptz) IS
    'verdict on an HP1 token at a time; never raises for a bad token';

-- ---------------------------------------------------------------------
-- the pass type
-- ---------------------------------------------------------------------
CREATE TYPE pass;
CREATE FUNCTION pass_in(cstring) RETURNS pass
    AS 'MODULE_PATHNAME', 'pass_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pass_out(pass) RETURNS cstring
    AS 'MODULE_PATHNAME', 'pass_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pass_recv(internal) RETURNS pass
    AS 'MODULE_PATHNAME', 'pass_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pass_send(pass) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pass_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE pass (
    INPUT = pass_in, OUTPUT = pass_out, RECEIVE = pass_recv, SEND = pass_send,
    INTERNALLENGTH = VARIABLE, STORAGE = extended
);
COMMENT ON TYPE pass IS 'an HP1 token stored as its COSE_Sign1 bytes; text form HP1:...';
-- a token text can be stored into a pass column directly
CREATE CAST (text AS pass) WITH INOUT AS ASSIGNMENT;

CREATE FUNCTION pass_kind(pass) RETURNS text
    AS 'MODULE_PATHNAME', 'pass_kind' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pass_issuer(pass) RETURNS text
    AS 'MODULE_PATHNAME', 'pass_issuer' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pass_kid(pass) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pass_kid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pass_issued_at(pass) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'pass_issued_at' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pass_expires_at(pass) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'pass_expires_at' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pass_token_id(pass) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pass_token_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pass_body(pass) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'pass_body' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION pass_cose(pass) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pass_cose' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION pass_body(pass) IS 'the body claim (unverified: use verify_token)';

CREATE FUNCTION verify_token(token pass, at timestamptz DEFAULT now()) RETURNS verification
    AS 'MODULE_PATHNAME', 'verify_pass'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION verify_token(pass, timestamptz) IS 'verdict on a stored pass at a time';

-- ---------------------------------------------------------------------
-- revocation
-- ---------------------------------------------------------------------
CREATE FUNCTION revoke_token(token_id bytea, reason text, kid bytea DEFAULT NULL)
    RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    at timestamptz;
BEGIN
    IF token_id IS NULL OR length(token_id) <> 16 THEN
        RAISE EXCEPTION 'invalid token id "%"', coalesce(encode(token_id, 'hex'), 'NULL')
            USING ERRCODE = '22023', DETAIL = 'A token id (cti) has 16 bytes.';
    END IF;
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'revocation reason "%" is empty', coalesce(reason, 'NULL')
            USING ERRCODE = '22023', DETAIL = 'A revocation says why.';
    END IF;
    IF kid IS NOT NULL AND length(kid) <> 8 THEN
        RAISE EXCEPTION 'invalid kid "%"', encode(kid, 'hex')
            USING ERRCODE = '22023', DETAIL = 'A kid has 8 bytes.';
    END IF;
    INSERT INTO revoked_token (token_id, kid, reason) VALUES (token_id, kid, reason)
    ON CONFLICT DO NOTHING
    RETURNING revoked_at INTO at;
    IF at IS NULL THEN
        RAISE EXCEPTION 'token % is already revoked', encode(token_id, 'hex')
            USING ERRCODE = '23505', DETAIL = 'A token is revoked once.';
    END IF;
    RETURN at;
END
$$;
COMMENT ON FUNCTION revoke_token(bytea, text, bytea) IS
    'puts a token id on the revocation list; its token verifies as revoked';

CREATE FUNCTION revoke_pass(token pass, reason text) RETURNS timestamptz
    LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = healthpass, pg_temp
    RETURN revoke_token(pass_token_id(token), reason, pass_kid(token));
COMMENT ON FUNCTION revoke_pass(pass, text) IS 'revokes the token of a pass, recording its kid';

CREATE FUNCTION revocation_list() RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = healthpass, pg_temp
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
COMMENT ON FUNCTION revocation_list() IS
    'revoked token ids for offline verifiers: first 16 bytes of SHA-256(cti), base64url, per kid ("*": any key)';

-- ---------------------------------------------------------------------
-- privileges (99_privileges.sql revokes everything from PUBLIC first)
-- ---------------------------------------------------------------------
GRANT EXECUTE ON FUNCTION base45_encode(bytea), base45_decode(text)
    TO healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health, healthpass_report;
GRANT EXECUTE ON FUNCTION issue_token(text, jsonb, interval) TO healthpass_admin;
GRANT EXECUTE ON FUNCTION verify_token(text, timestamptz), verify_token(pass, timestamptz)
    TO healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health;
GRANT EXECUTE ON FUNCTION pass_in(cstring), pass_out(pass), pass_recv(internal), pass_send(pass),
    pass_kind(pass), pass_issuer(pass), pass_kid(pass), pass_issued_at(pass),
    pass_expires_at(pass), pass_token_id(pass), pass_body(pass), pass_cose(pass)
    TO healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health, healthpass_report;
GRANT EXECUTE ON FUNCTION rotate_signing_key(interval), revoke_signing_key(bytea, text),
    import_trust_list(jsonb), revoke_token(bytea, text, bytea), revoke_pass(pass, text)
    TO healthpass_admin;
GRANT EXECUTE ON FUNCTION signing_keys() TO healthpass_admin, healthpass_report;
GRANT EXECUTE ON FUNCTION trust_list()
    TO healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health, healthpass_report;
GRANT EXECUTE ON FUNCTION revocation_list() TO healthpass_admin, healthpass_scanner, healthpass_report;
GRANT EXECUTE ON FUNCTION _b64url_encode(bytea), _utc(timestamptz), token_issuer()
    TO healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health, healthpass_report;

-- ===== sql/ext/30_qr.sql
-- 30_qr.sql: QR codes rendered in SQL (src/qr.c).
--
-- qr_png and qr_svg give an image ready for an app page or a print; qr_text
-- gives the code in Unicode half blocks for psql and terminals. All three
-- are pure functions of their arguments (IMMUTABLE, PARALLEL SAFE), STRICT
-- (NULL data or option gives NULL), and priced high (COST 1000: rendering
-- a code is some 100 microseconds) so the planner runs cheap filters first.
-- Every purpose role may render codes: none of them reveals anything the
-- caller did not pass in.

CREATE FUNCTION qr_png(data text, level text DEFAULT 'M',
                       module_px integer DEFAULT 4, margin integer DEFAULT 4,
                       fg text DEFAULT 'black', bg text DEFAULT 'white')
    RETURNS bytea
    AS 'MODULE_PATHNAME', 'qr_png'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION qr_png(text, text, integer, integer, text, text) IS
    'QR code of data as a 1-bit PNG (grayscale, or a two-colour palette)';

CREATE FUNCTION qr_svg(data text, level text DEFAULT 'M',
                       module_px integer DEFAULT 4, margin integer DEFAULT 4,
                       fg text DEFAULT 'black', bg text DEFAULT 'white')
    RETURNS text
    AS 'MODULE_PATHNAME', 'qr_svg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION qr_svg(text, text, integer, integer, text, text) IS
    'QR code of data as a scalable SVG document (one path)';

CREATE FUNCTION qr_text(data text, level text DEFAULT 'L',
                        margin integer DEFAULT 4, invert boolean DEFAULT false)
    RETURNS text
    AS 'MODULE_PATHNAME', 'qr_text'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION qr_text(text, text, integer, boolean) IS
    'QR code of data in Unicode half blocks, two module rows a line';

GRANT EXECUTE ON FUNCTION
    qr_png(text, text, integer, integer, text, text),
    qr_svg(text, text, integer, integer, text, text),
    qr_text(text, text, integer, boolean)
    TO healthpass_admin, healthpass_app, healthpass_scanner,
       healthpass_health, healthpass_report;

-- ===== sql/ext/40_people.sql
-- 40_people.sql: people, their documents, real-name status and edit history.
--
-- A person is identified by one identity document (kind + normalised
-- number, unique). Look-ups by document go through document_index, keyed by
-- the document; look-ups by the opaque public reference (what codes carry)
-- go through ref_index. Every personal table has person_id in its primary
-- key; history rows are written by a row trigger that only touches the same
-- person's rows. Application roles never see these tables: they call the
-- SECURITY DEFINER functions below.

CREATE TABLE person (
    person_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_ref          uuid NOT NULL DEFAULT gen_random_uuid(),
    doc_kind            text NOT NULL,
    doc_number          text NOT NULL,
    name                text NOT NULL,
    birth_date          date NOT NULL,
    sex                 text CHECK (sex IN ('male', 'female')),
    nationality         text CHECK (nationality ~ '^[A-Z]{3}$'),
    phone               text,
    guardian_id         bigint,
    realname_status     text NOT NULL DEFAULT 'pending'
                        CHECK (realname_status IN ('pending', 'approved', 'rejected')),
    realname_reason     text,
    realname_checked_at timestamptz,
    version             integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (realname_status <> 'rejected' OR realname_reason IS NOT NULL),
    CHECK (guardian_id IS DISTINCT FROM person_id)
);
COMMENT ON TABLE person IS 'people identified by one identity document; guardian_id is set for family members registered by proxy';
-- the real-name service's work queue
CREATE INDEX person_realname_pending ON person (updated_at, person_id) WHERE realname_status = 'pending';

-- (kind, number) -> person: the only way to find a person by document
CREATE TABLE document_index (
    doc_kind   text NOT NULL,
    doc_number text NOT NULL,
    person_id  bigint NOT NULL,
    PRIMARY KEY (doc_kind, doc_number)
);
COMMENT ON TABLE document_index IS 'look-up of a person by document kind and normalised number';

-- opaque public reference -> person (codes carry the reference, never the number)
CREATE TABLE ref_index (
    public_ref uuid PRIMARY KEY,
    person_id  bigint NOT NULL
);
COMMENT ON TABLE ref_index IS 'look-up of a person by the opaque public reference that codes carry';

-- earlier versions of a person row, one per change
CREATE TABLE person_history (
    person_id  bigint NOT NULL,
    version    integer NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (person_id, version)
);
COMMENT ON TABLE person_history IS 'earlier versions of person rows (data is the whole row as it was)';

SELECT pg_catalog.pg_extension_config_dump('person', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.person', 'person_id'), '');
SELECT pg_catalog.pg_extension_config_dump('document_index', '');
SELECT pg_catalog.pg_extension_config_dump('ref_index', '');
SELECT pg_catalog.pg_extension_config_dump('person_history', '');

-- Row trigger shared by the personal tables that keep history: bumps the
-- version, stamps updated_at and copies the old row into the history table
-- named by the trigger argument (same person_id, so it stays on the person's
-- shard).
CREATE FUNCTION hp_keep_history() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    EXECUTE format('INSERT INTO healthpass.%I (person_id, version, valid_from, valid_to, data)'
                   ' VALUES ($1, $2, $3, $4, $5)', TG_ARGV[0])
        USING OLD.person_id, OLD.version, OLD.updated_at, NEW.updated_at, to_jsonb(OLD);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION hp_keep_history() IS 'row trigger: version bump and history row for the same person';

-- Every version of a person's row in a table kept by hp_keep_history,
-- oldest first: the rows of its history table (named tbl || '_history'),
-- then the current row with valid_to NULL; "version" is left out of data.
-- Internal: tbl is always a fixed table name written by the caller.
CREATE FUNCTION hp_row_history(tbl text, pid bigint)
    RETURNS TABLE (version integer, valid_from timestamptz, valid_to timestamptz, data jsonb)
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT h.version, h.valid_from, h.valid_to, h.data - ''version''
           FROM healthpass.%I h WHERE h.person_id = $1
         UNION ALL
         SELECT c.version, c.updated_at, NULL::timestamptz, to_jsonb(c) - ''version''
           FROM healthpass.%I c WHERE c.person_id = $1
         ORDER BY 1', tbl || '_history', tbl)
        USING pid;
END
$$;
COMMENT ON FUNCTION hp_row_history(text, bigint) IS 'history plus current row of a person in a table that keeps history (internal)';

CREATE TRIGGER person_keep_history
    BEFORE UPDATE ON person
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION hp_keep_history('person_history');

-- The document kinds a person can be identified by. 'passport' (a foreign
-- passport) is normalised here; every other kind by normalize_document.
CREATE FUNCTION hp_person_kinds() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['cn_resident_id', 'hkid', 'macau_id', 'home_return_permit',
                 'hk_macau_permit', 'cn_passport', 'passport'];
COMMENT ON FUNCTION hp_person_kinds() IS 'document kinds that identify a person';

-- Validates a personal document and returns its canonical number.
CREATE FUNCTION hp_person_document(kind text, number text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    n text;
BEGIN
    IF kind IS NULL OR NOT kind = ANY (hp_person_kinds()) THEN
        RAISE EXCEPTION 'document kind "%" does not identify a person', kind
            USING ERRCODE = '22023',
                  DETAIL = format('A person is identified by one of: %s.', array_to_string(hp_person_kinds(), ', '));
    END IF;
    IF number IS NULL THEN
        RAISE EXCEPTION 'document number is missing for kind "%"', kind
            USING ERRCODE = '22023', DETAIL = 'Every person needs a document number.';
    END IF;
    IF kind = 'passport' THEN
        -- full-width letters and digits, separators and case as people type them
        n := upper(regexp_replace(translate(number,
                 '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ',
                 '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'),
                 '[\s　\-]', '', 'g'));
        IF n !~ '^[A-Z0-9]{5,20}$' THEN
            RAISE EXCEPTION 'invalid passport number: "%"', number
                USING ERRCODE = '22P02',
                      DETAIL = 'A passport number has 5 to 20 letters and digits.';
        END IF;
        RETURN n;
    END IF;
    RETURN normalize_document(kind, number);
END
$$;
COMMENT ON FUNCTION hp_person_document(text, text) IS 'canonical number of a personal document, or an error';

-- Masked document number for codes and messages.
CREATE FUNCTION hp_mask_document(kind text, number text) RETURNS text
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    IF kind = 'passport' THEN
        RETURN left(number, 2) || repeat('*', greatest(length(number) - 4, 1)) || right(number, 2);
    END IF;
    RETURN mask_document(kind, number);
END
$$;
COMMENT ON FUNCTION hp_mask_document(text, text) IS 'masked document number (first and last characters only)';

-- Validates and normalises everything a person row holds; raises on the
-- first bad field. Birth date and sex of a resident ID card come from the
-- number and must agree with what was given.
CREATE FUNCTION hp_check_person(
    kind text, number text, name text, birth date, sex text, nationality text, phone text,
    OUT doc_kind text, OUT doc_number text, OUT person_name text, OUT birth_date date,
    OUT person_sex text, OUT person_nationality text, OUT person_phone text)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    id_birth date;
    id_sex text;
BEGIN
    doc_kind := kind;
    doc_number := hp_person_document(kind, number);

    person_name := btrim(regexp_replace(coalesce(name, ''), '[\s　]+', ' ', 'g'));
    IF person_name = '' THEN
        RAISE EXCEPTION 'name "%" is empty', coalesce(name, '')
            USING ERRCODE = '22023', DETAIL = 'A person needs the name printed on their document.';
    END IF;
    IF length(person_name) > 100 OR person_name ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'name "%" is not valid', name
            USING ERRCODE = '22023', DETAIL = 'A name has at most 100 characters and no control characters.';
    END IF;

    person_sex := lower(btrim(sex));
    IF person_sex IS NOT NULL AND person_sex NOT IN ('male', 'female') THEN
        RAISE EXCEPTION 'sex "%" is not valid', sex
            USING ERRCODE = '22023', DETAIL = 'Sex is "male" or "female".';
    END IF;

    IF kind = 'cn_resident_id' THEN
        id_birth := healthpass.birth_date(doc_number::cn_resident_id);
        id_sex := healthpass.sex(doc_number::cn_resident_id);
        IF birth IS NOT NULL AND birth <> id_birth THEN
            RAISE EXCEPTION 'birth date % does not match resident identity card "%"',
                    birth, hp_mask_document(kind, doc_number)
                USING ERRCODE = '23514',
                      DETAIL = format('The card number gives the birth date %s.', id_birth);
        END IF;
        IF person_sex IS NOT NULL AND person_sex <> id_sex THEN
            RAISE EXCEPTION 'sex "%" does not match resident identity card "%"',
                    person_sex, hp_mask_document(kind, doc_number)
                USING ERRCODE = '23514',
                      DETAIL = format('The card number gives the sex %s.', id_sex);
        END IF;
        birth_date := id_birth;
        person_sex := id_sex;
    ELSE
        IF birth IS NULL THEN
            RAISE EXCEPTION 'birth date is missing for document kind "%"', kind
                USING ERRCODE = '22023',
                      DETAIL = 'Only a resident identity card number carries the birth date; other documents need it given.';
        END IF;
        birth_date := birth;
    END IF;
    IF birth_date < date '1900-01-01' OR birth_date > current_date THEN
        RAISE EXCEPTION 'birth date % is out of range', birth_date
            USING ERRCODE = '22008', DETAIL = 'A birth date lies between 1900-01-01 and today.';
    END IF;

    person_nationality := upper(btrim(nationality));
    IF person_nationality IS NOT NULL AND person_nationality !~ '^[A-Z]{3}$' THEN
        RAISE EXCEPTION 'nationality "%" is not valid', nationality
            USING ERRCODE = '22023', DETAIL = 'Nationality is an ISO 3166-1 alpha-3 code such as CHN, HKG or MAC.';
    END IF;
    IF kind = 'passport' AND person_nationality IS NULL THEN
        RAISE EXCEPTION 'nationality is missing for passport "%"', hp_mask_document(kind, doc_number)
            USING ERRCODE = '22023', DETAIL = 'A foreign passport needs the issuing country.';
    END IF;

    person_phone := regexp_replace(phone, '[\s\-()]', '', 'g');
    IF person_phone IS NOT NULL AND person_phone !~ '^\+?[0-9]{5,20}$' THEN
        RAISE EXCEPTION 'phone number "%" is not valid', phone
            USING ERRCODE = '22023', DETAIL = 'A phone number has 5 to 20 digits, optionally after a leading +.';
    END IF;
END
$$;
COMMENT ON FUNCTION hp_check_person(text, text, text, date, text, text, text) IS 'validated, normalised person fields';

-- The person row, locked for update; P0002 when there is none.
CREATE FUNCTION hp_lock_person(pid bigint) RETURNS person
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person;
BEGIN
    SELECT * INTO p FROM person WHERE person_id = pid FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % does not exist', pid
            USING ERRCODE = 'P0002', DETAIL = 'No person has this id.';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION hp_lock_person(bigint) IS 'person row locked FOR UPDATE, or P0002';

-- The person row without locking; P0002 when there is none.
CREATE FUNCTION hp_get_person(pid bigint) RETURNS person
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person;
BEGIN
    SELECT * INTO p FROM person WHERE person_id = pid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % does not exist', pid
            USING ERRCODE = 'P0002', DETAIL = 'No person has this id.';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION hp_get_person(bigint) IS 'person row, or P0002';

-- Raises 55000 when a person's real-name check was rejected: no personal
-- code of any kind until they edit their information and it is approved.
CREATE FUNCTION hp_require_not_rejected(p person) RETURNS void
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    IF p.realname_status = 'rejected' THEN
        RAISE EXCEPTION 'real-name verification of person % was rejected', p.person_id
            USING ERRCODE = '55000',
                  DETAIL = format('The real-name service rejected the information: %s.', rtrim(p.realname_reason, '.')),
                  HINT = 'The person must edit their name and document; the code is available again once the new check is approved.';
    END IF;
END
$$;
COMMENT ON FUNCTION hp_require_not_rejected(person) IS 'refuses personal codes for a rejected person';

-- Inserts a person and its index rows (used by register_person and by the
-- family functions, which pass the guardian).
CREATE FUNCTION hp_insert_person(
    doc_kind text, doc_number text, name text, birth_date date, sex text,
    nationality text, phone text, guardian bigint) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    c record;
    pid bigint;
    ref uuid;
BEGIN
    c := hp_check_person(doc_kind, doc_number, name, birth_date, sex, nationality, phone);
    INSERT INTO person (doc_kind, doc_number, name, birth_date, sex, nationality, phone, guardian_id)
        VALUES (c.doc_kind, c.doc_number, c.person_name, c.birth_date, c.person_sex,
                c.person_nationality, c.person_phone, guardian)
        RETURNING person.person_id, person.public_ref INTO pid, ref;
    BEGIN
        INSERT INTO document_index VALUES (c.doc_kind, c.doc_number, pid);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'document % "%" is already registered', c.doc_kind, hp_mask_document(c.doc_kind, c.doc_number)
            USING ERRCODE = '23505',
                  DETAIL = 'Each document identifies one person; look the person up instead of registering again.';
    END;
    INSERT INTO ref_index VALUES (ref, pid);
    RETURN pid;
END
$$;
COMMENT ON FUNCTION hp_insert_person(text, text, text, date, text, text, text, bigint) IS 'insert a validated person with its index rows';

-- Public API -------------------------------------------------------------

CREATE FUNCTION register_person(
    doc_kind text, doc_number text, name text,
    birth_date date DEFAULT NULL, sex text DEFAULT NULL,
    nationality text DEFAULT NULL, phone text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    RETURN hp_insert_person(doc_kind, doc_number, name, birth_date, sex, nationality, phone, NULL);
END
$$;
COMMENT ON FUNCTION register_person(text, text, text, date, text, text, text) IS
    'register a person by document; returns person_id; real-name status starts pending';

CREATE FUNCTION find_person(doc_kind text, doc_number text) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    n text := hp_person_document(doc_kind, doc_number);
    pid bigint;
BEGIN
    SELECT d.person_id INTO pid FROM document_index d
     WHERE d.doc_kind = find_person.doc_kind AND d.doc_number = n;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no person has document % "%"', doc_kind, hp_mask_document(doc_kind, n)
            USING ERRCODE = 'P0002', DETAIL = 'The document has not been registered yet.',
                  HINT = 'Register the person first.';
    END IF;
    RETURN pid;
END
$$;
COMMENT ON FUNCTION find_person(text, text) IS 'person_id of a document (normalised first), or P0002';

CREATE FUNCTION person_by_ref(ref uuid) RETURNS bigint
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    pid bigint;
BEGIN
    SELECT r.person_id INTO pid FROM ref_index r WHERE r.public_ref = ref;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no person has reference "%"', ref
            USING ERRCODE = 'P0002', DETAIL = 'The reference does not name a registered person.';
    END IF;
    RETURN pid;
END
$$;
COMMENT ON FUNCTION person_by_ref(uuid) IS 'person_id of an opaque public reference, or P0002';

-- The claims every personal code carries: reference, masked name, document
-- kind and masked number. Internal: called by the code-issuing functions.
CREATE FUNCTION person_claims(pid bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(pid);
BEGIN
    RETURN jsonb_build_object(
        'ref', p.public_ref::text,
        'name', mask_name(p.name),
        'doc', p.doc_kind,
        'id', hp_mask_document(p.doc_kind, p.doc_number));
END
$$;
COMMENT ON FUNCTION person_claims(bigint) IS 'reference, masked name and masked document for code bodies (internal)';

CREATE FUNCTION person_info(person_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN jsonb_build_object(
        'person_id', p.person_id,
        'ref', p.public_ref,
        'doc_kind', p.doc_kind,
        'doc_number', p.doc_number,
        'doc_masked', hp_mask_document(p.doc_kind, p.doc_number),
        'name', p.name,
        'name_masked', mask_name(p.name),
        'birth_date', p.birth_date,
        'sex', p.sex,
        'nationality', p.nationality,
        'phone', p.phone,
        'guardian_id', p.guardian_id,
        'realname_status', p.realname_status,
        'realname_reason', p.realname_reason,
        'realname_checked_at', p.realname_checked_at,
        'version', p.version,
        'created_at', p.created_at,
        'updated_at', p.updated_at);
END
$$;
COMMENT ON FUNCTION person_info(bigint) IS 'a person''s own information ("my information"), for the person''s own flows';

-- Applies changes to a locked person row; identity changes (name, document,
-- birth date, sex) reset the real-name status to pending and unbind the
-- certified photo of an earlier face check. Shared by edit_person, the
-- e-pass and the family edit.
CREATE FUNCTION hp_edit_person(p person, changes jsonb) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    k text;
    allowed CONSTANT text[] := ARRAY['name', 'doc_kind', 'doc_number', 'birth_date', 'sex', 'nationality', 'phone'];
    new_kind text := p.doc_kind;
    new_number text := p.doc_number;
    birth date := p.birth_date;
    c record;
    identity_changed boolean;
    v integer;
BEGIN
    IF changes IS NULL OR jsonb_typeof(changes) <> 'object' THEN
        RAISE EXCEPTION 'changes "%" are not a JSON object', changes
            USING ERRCODE = '22023', DETAIL = 'Changes are given as {"field": value, ...}.';
    END IF;
    FOR k IN SELECT jsonb_object_keys(changes) LOOP
        IF NOT k = ANY (allowed) THEN
            RAISE EXCEPTION 'unknown person field "%"', k
                USING ERRCODE = '22023',
                      DETAIL = format('Editable fields are %s.', array_to_string(allowed, ', '));
        END IF;
    END LOOP;
    IF changes ? 'doc_kind' THEN new_kind := changes->>'doc_kind'; END IF;
    IF changes ? 'doc_number' THEN new_number := changes->>'doc_number'; END IF;
    -- a resident ID card's birth date follows its number unless given
    IF changes ? 'birth_date' THEN
        BEGIN
            birth := (changes->>'birth_date')::date;
        EXCEPTION WHEN others THEN
            RAISE EXCEPTION 'birth date "%" is not a date', changes->>'birth_date'
                USING ERRCODE = '22007', DETAIL = 'Dates are written YYYY-MM-DD.';
        END;
    ELSIF new_kind = 'cn_resident_id' THEN
        birth := NULL;
    END IF;
    c := hp_check_person(new_kind, new_number,
            CASE WHEN changes ? 'name' THEN changes->>'name' ELSE p.name END,
            birth,
            CASE WHEN changes ? 'sex' THEN changes->>'sex'
                 WHEN new_kind = 'cn_resident_id' THEN NULL ELSE p.sex END,
            CASE WHEN changes ? 'nationality' THEN changes->>'nationality' ELSE p.nationality END,
            CASE WHEN changes ? 'phone' THEN changes->>'phone' ELSE p.phone END);

    identity_changed := (c.doc_kind, c.doc_number, c.person_name, c.birth_date, c.person_sex)
                        IS DISTINCT FROM (p.doc_kind, p.doc_number, p.name, p.birth_date, p.sex);
    IF (c.doc_kind, c.doc_number) IS DISTINCT FROM (p.doc_kind, p.doc_number) THEN
        BEGIN
            INSERT INTO document_index VALUES (c.doc_kind, c.doc_number, p.person_id);
        EXCEPTION WHEN unique_violation THEN
            RAISE EXCEPTION 'document % "%" is already registered', c.doc_kind, hp_mask_document(c.doc_kind, c.doc_number)
                USING ERRCODE = '23505', DETAIL = 'Each document identifies one person.';
        END;
        DELETE FROM document_index WHERE doc_kind = p.doc_kind AND doc_number = p.doc_number;
    END IF;
    UPDATE person SET
        doc_kind = c.doc_kind, doc_number = c.doc_number, name = c.person_name,
        birth_date = c.birth_date, sex = c.person_sex, nationality = c.person_nationality,
        phone = c.person_phone,
        realname_status = CASE WHEN identity_changed THEN 'pending' ELSE realname_status END,
        realname_reason = CASE WHEN identity_changed THEN NULL ELSE realname_reason END,
        realname_checked_at = CASE WHEN identity_changed THEN NULL ELSE realname_checked_at END
     WHERE person_id = p.person_id
     RETURNING version INTO v;
    -- a certified photo certifies the name and document it was taken for
    IF identity_changed THEN
        DELETE FROM certified_photo ph WHERE ph.person_id = p.person_id;
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION hp_edit_person(person, jsonb) IS 'apply validated changes to a person (internal)';

CREATE FUNCTION edit_person(person_id bigint, changes jsonb) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    RETURN hp_edit_person(hp_lock_person(person_id), changes);
END
$$;
COMMENT ON FUNCTION edit_person(bigint, jsonb) IS
    'edit "my information" (name, doc_kind, doc_number, birth_date, sex, nationality, phone); returns the new version; identity changes put real-name status back to pending and unbind the certified photo';

CREATE FUNCTION person_history(person_id bigint)
    RETURNS TABLE (version integer, valid_from timestamptz, valid_to timestamptz, data jsonb)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY SELECT * FROM hp_row_history('person', p.person_id);
END
$$;
COMMENT ON FUNCTION person_history(bigint) IS 'every version of a person, oldest first; the current one has valid_to NULL';

-- Real-name verification ------------------------------------------------

CREATE FUNCTION realname_queue(max_rows integer DEFAULT 100)
    RETURNS TABLE (person_id bigint, version integer, doc_kind text, doc_number text,
                   name text, birth_date date, submitted_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    IF max_rows IS NULL OR max_rows < 1 OR max_rows > 10000 THEN
        RAISE EXCEPTION 'max_rows % is out of range', max_rows
            USING ERRCODE = '22023', DETAIL = 'Ask for 1 to 10000 people at a time.';
    END IF;
    RETURN QUERY
        SELECT p.person_id, p.version, p.doc_kind, p.doc_number, p.name, p.birth_date, p.updated_at
          FROM person p WHERE p.realname_status = 'pending'
         ORDER BY p.updated_at, p.person_id
         LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION realname_queue(integer) IS 'people waiting for the external real-name check, oldest first, with the version to quote back';

CREATE FUNCTION record_realname_result(
    person_id bigint, result text, reason text DEFAULT NULL,
    checked_version integer DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person;
BEGIN
    IF result IS NULL OR result NOT IN ('approved', 'rejected') THEN
        RAISE EXCEPTION 'real-name result "%" is not valid', result
            USING ERRCODE = '22023', DETAIL = 'A real-name result is "approved" or "rejected".';
    END IF;
    IF result = 'rejected' AND nullif(btrim(reason), '') IS NULL THEN
        RAISE EXCEPTION 'a rejection of person % needs a reason', person_id
            USING ERRCODE = '22023', DETAIL = 'The reason tells the person what to correct.';
    END IF;
    p := hp_lock_person(person_id);
    IF p.realname_status <> 'pending' THEN
        RAISE EXCEPTION 'real-name status of person % is "%", not pending', person_id, p.realname_status
            USING ERRCODE = '55000',
                  DETAIL = 'Only a pending person can get a real-name result; an edit of their information makes them pending again.';
    END IF;
    IF checked_version IS NOT NULL AND checked_version <> p.version THEN
        RAISE EXCEPTION 'real-name result for version % of person % is stale', checked_version, person_id
            USING ERRCODE = '55000',
                  DETAIL = format('The person has been edited since; the current version is %s.', p.version),
                  HINT = 'Check the current information again.';
    END IF;
    UPDATE person SET realname_status = result,
                      realname_reason = nullif(btrim(reason), ''),
                      realname_checked_at = now()
     WHERE person.person_id = p.person_id;
    RETURN result;
END
$$;
COMMENT ON FUNCTION record_realname_result(bigint, text, text, integer) IS
    'record the external real-name check: approved or rejected (with reason); checked_version guards against results for edited data';

-- A person's own static personal code (HP1 kind "personal"): what venues
-- scan and what family members print. Pending is fine; rejected is not.
CREATE FUNCTION personal_code(person_id bigint, valid_for interval DEFAULT '1 day') RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    IF valid_for IS NULL OR valid_for <= interval '0' OR valid_for > interval '366 days' THEN
        RAISE EXCEPTION 'validity % is out of range', valid_for
            USING ERRCODE = '22023', DETAIL = 'A personal code is valid for more than zero and at most 366 days.';
    END IF;
    PERFORM hp_require_not_rejected(p);
    RETURN issue_token('personal', person_claims(p.person_id), valid_for);
END
$$;
COMMENT ON FUNCTION personal_code(bigint, interval) IS 'HP1 personal code (kind "personal"): reference, masked name and ID';

GRANT EXECUTE ON FUNCTION
    register_person(text, text, text, date, text, text, text),
    find_person(text, text),
    person_by_ref(uuid),
    person_info(bigint),
    edit_person(bigint, jsonb),
    person_history(bigint),
    personal_code(bigint, interval)
  TO healthpass_app, healthpass_admin;
GRANT EXECUTE ON FUNCTION
    realname_queue(integer),
    record_realname_result(bigint, text, text, integer)
  TO healthpass_app, healthpass_admin;
GRANT EXECUTE ON FUNCTION person_by_ref(uuid) TO healthpass_scanner, healthpass_health;

-- ===== sql/ext/41_registration.sql
-- 41_registration.sql: versioned notices (registration notice, commitment
-- letter) and the entry-person registration of seed 000.

-- Notices are versioned data: administrators publish a new version; the
-- current version is the highest. Travellers accept a version, recorded
-- with the time.
CREATE TABLE notice (
    kind         text NOT NULL CHECK (kind IN ('registration_notice', 'commitment_letter')),
    version      integer NOT NULL CHECK (version > 0),
    title        text NOT NULL,
    body         text NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, version)
);
COMMENT ON TABLE notice IS 'versions of the registration notice and the e-pass commitment letter';

CREATE TABLE notice_acceptance (
    person_id   bigint NOT NULL,
    kind        text NOT NULL,
    version     integer NOT NULL,
    accepted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, kind, version)
);
COMMENT ON TABLE notice_acceptance IS 'which notice version each person accepted, and when';

-- One complete entry registration per person (a row exists only when every
-- required field was given).
CREATE TABLE entry_registration (
    person_id               bigint PRIMARY KEY,
    notice_version          integer NOT NULL,
    arrival_port            text NOT NULL,
    arrival_date            date NOT NULL,
    transport_mode          text NOT NULL
                            CHECK (transport_mode IN ('flight', 'train', 'ship', 'road', 'on_foot')),
    transport_number        text,
    seat_number             text,
    departure_country       text NOT NULL CHECK (departure_country ~ '^[A-Z]{3}$'),
    departure_city          text NOT NULL,
    destination_district    text NOT NULL,
    destination_address     text NOT NULL,
    contact_phone           text NOT NULL,
    purpose                 text NOT NULL
                            CHECK (purpose IN ('business', 'family', 'tourism', 'study', 'work',
                                               'return_home', 'transit', 'other')),
    emergency_contact_name  text,
    emergency_contact_phone text,
    version                 integer NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE entry_registration IS 'entry-person registrations (seed 000), one per person';

CREATE TABLE entry_registration_history (
    person_id  bigint NOT NULL,
    version    integer NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (person_id, version)
);
COMMENT ON TABLE entry_registration_history IS 'earlier versions of entry registrations';

CREATE TRIGGER entry_registration_keep_history
    BEFORE UPDATE ON entry_registration
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION hp_keep_history('entry_registration_history');

SELECT pg_catalog.pg_extension_config_dump('notice', '');
SELECT pg_catalog.pg_extension_config_dump('notice_acceptance', '');
SELECT pg_catalog.pg_extension_config_dump('entry_registration', '');
SELECT pg_catalog.pg_extension_config_dump('entry_registration_history', '');

-- The entry codes issued to a person and not yet expired, so that a
-- modification can revoke them: an old code shows superseded arrival data.
CREATE TABLE entry_code_issued (
    person_id  bigint NOT NULL,
    token_id   bytea NOT NULL,
    kid        bytea NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (person_id, token_id)
);
COMMENT ON TABLE entry_code_issued IS 'entry codes issued and not yet expired or revoked, per person';
SELECT pg_catalog.pg_extension_config_dump('entry_code_issued', '');

-- Notices ----------------------------------------------------------------

-- Raises 22023 unless kind names a notice.
CREATE FUNCTION hp_check_notice_kind(kind text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF kind IS NULL OR kind NOT IN ('registration_notice', 'commitment_letter') THEN
        RAISE EXCEPTION 'notice kind "%" is not valid', kind
            USING ERRCODE = '22023', DETAIL = 'Notice kinds are "registration_notice" and "commitment_letter".';
    END IF;
END
$$;
COMMENT ON FUNCTION hp_check_notice_kind(text) IS 'refuses unknown notice kinds';

-- The current version of a notice kind; P0002 when none was published.
CREATE FUNCTION hp_current_notice_version(kind text) RETURNS integer
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    v integer;
BEGIN
    PERFORM hp_check_notice_kind(kind);
    SELECT max(n.version) INTO v FROM notice n WHERE n.kind = hp_current_notice_version.kind;
    IF v IS NULL THEN
        RAISE EXCEPTION 'no % has been published', replace(kind, '_', ' ')
            USING ERRCODE = 'P0002',
                  DETAIL = 'An administrator must publish one with publish_notice before travellers can accept it.';
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION hp_current_notice_version(text) IS 'current notice version, or P0002';

-- Records that a person accepted the given version, which must be current.
CREATE FUNCTION hp_accept_notice(pid bigint, kind text, accepted integer) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    cur integer := hp_current_notice_version(kind);
    label text := replace(kind, '_', ' ');
BEGIN
    IF accepted IS NULL THEN
        RAISE EXCEPTION 'the % has not been accepted', label
            USING ERRCODE = '55000',
                  DETAIL = format('The traveller must read and accept version %s first.', cur),
                  HINT = 'Pass the version the traveller accepted.';
    END IF;
    IF accepted <> cur THEN
        RAISE EXCEPTION '% version % is not the current one', label, accepted
            USING ERRCODE = '55000',
                  DETAIL = format('The current version is %s.', cur),
                  HINT = 'Show the current version and ask the traveller to accept it.';
    END IF;
    INSERT INTO notice_acceptance (person_id, kind, version)
        VALUES (pid, kind, accepted)
        ON CONFLICT ON CONSTRAINT notice_acceptance_pkey DO NOTHING;
    RETURN now();
END
$$;
COMMENT ON FUNCTION hp_accept_notice(bigint, text, integer) IS 'record acceptance of the current notice version';

CREATE FUNCTION publish_notice(kind text, title text, body text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    v integer;
BEGIN
    PERFORM hp_check_notice_kind(kind);
    IF nullif(btrim(title), '') IS NULL OR nullif(btrim(body), '') IS NULL THEN
        RAISE EXCEPTION 'the % needs a title and a body', replace(kind, '_', ' ')
            USING ERRCODE = '22023', DETAIL = 'Neither the title nor the body may be empty.';
    END IF;
    -- one publisher at a time per kind
    PERFORM pg_advisory_xact_lock(hashtext('healthpass.notice'), hashtext(kind));
    SELECT coalesce(max(n.version), 0) + 1 INTO v FROM notice n WHERE n.kind = publish_notice.kind;
    INSERT INTO notice (kind, version, title, body) VALUES (kind, v, btrim(title), body);
    RETURN v;
END
$$;
COMMENT ON FUNCTION publish_notice(text, text, text) IS
    'publish a new version of the registration notice or the commitment letter; returns its version';

CREATE FUNCTION current_notice(kind text)
    RETURNS TABLE (version integer, title text, body text, published_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    v integer := hp_current_notice_version(kind);
BEGIN
    RETURN QUERY SELECT n.version, n.title, n.body, n.published_at
                   FROM notice n WHERE n.kind = current_notice.kind AND n.version = v;
END
$$;
COMMENT ON FUNCTION current_notice(text) IS 'the current version of a notice, to show before asking for acceptance';

CREATE FUNCTION notice_acceptances(person_id bigint)
    RETURNS TABLE (kind text, version integer, accepted_at timestamptz)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY SELECT a.kind, a.version, a.accepted_at
                   FROM notice_acceptance a WHERE a.person_id = p.person_id
                  ORDER BY a.accepted_at, a.kind, a.version;
END
$$;
COMMENT ON FUNCTION notice_acceptances(bigint) IS 'the notice versions a person accepted, and when';

-- Entry registration ------------------------------------------------------

-- A text field of a JSON form: trimmed, NULL when absent or blank; raises
-- 22023 when required and missing, or longer than maxlen.
CREATE FUNCTION hp_form_text(form jsonb, field text, required boolean, maxlen integer) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    t text;
BEGIN
    IF form ? field AND jsonb_typeof(form->field) NOT IN ('string', 'null') THEN
        RAISE EXCEPTION 'field "%" must be a string, not %', field, form->field
            USING ERRCODE = '22023', DETAIL = 'Form fields are JSON strings.';
    END IF;
    t := nullif(btrim(regexp_replace(form->>field, '[\s　]+', ' ', 'g')), '');
    IF t IS NULL AND required THEN
        RAISE EXCEPTION 'field "%" is required', field
            USING ERRCODE = '22023', DETAIL = 'The form is complete only when every required field is filled in.';
    END IF;
    IF length(t) > maxlen THEN
        RAISE EXCEPTION 'field "%" is too long: "%"', field, t
            USING ERRCODE = '22023', DETAIL = format('The field holds at most %s characters.', maxlen);
    END IF;
    RETURN t;
END
$$;
COMMENT ON FUNCTION hp_form_text(jsonb, text, boolean, integer) IS 'one validated text field of a JSON form';

-- Refuses keys a form does not have.
CREATE FUNCTION hp_form_keys(form jsonb, allowed text[], what text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    k text;
BEGIN
    IF form IS NULL OR jsonb_typeof(form) <> 'object' THEN
        RAISE EXCEPTION '% "%" is not a JSON object', what, form
            USING ERRCODE = '22023', DETAIL = 'Forms are given as {"field": value, ...}.';
    END IF;
    FOR k IN SELECT jsonb_object_keys(form) LOOP
        IF NOT k = ANY (allowed) THEN
            RAISE EXCEPTION 'unknown % field "%"', what, k
                USING ERRCODE = '22023', DETAIL = format('The fields are %s.', array_to_string(allowed, ', '));
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION hp_form_keys(jsonb, text[], text) IS 'refuses unknown form fields';

-- The form fields of a stored row (given as JSON) that are not NULL: what a
-- modification's changes are laid over before the whole form is checked.
CREATE FUNCTION hp_stored_form(stored jsonb, fields text[]) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT jsonb_object_agg(k, v) FROM jsonb_each(stored) AS j(k, v)
             WHERE k = ANY (fields) AND jsonb_typeof(v) <> 'null');
COMMENT ON FUNCTION hp_stored_form(jsonb, text[]) IS 'the non-NULL form fields of a stored row';

-- A phone number as people type it, normalised; NULL stays NULL.
CREATE FUNCTION hp_phone(field text, phone text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    p text := regexp_replace(phone, '[\s\-()]', '', 'g');
BEGIN
    IF p IS NOT NULL AND p !~ '^\+?[0-9]{5,20}$' THEN
        RAISE EXCEPTION 'field "%" is not a phone number: "%"', field, phone
            USING ERRCODE = '22023', DETAIL = 'A phone number has 5 to 20 digits, optionally after a leading +.';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION hp_phone(text, text) IS 'normalised phone number of a form field';

CREATE FUNCTION entry_fields() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['arrival_port', 'arrival_date', 'transport_mode', 'transport_number',
                 'seat_number', 'departure_country', 'departure_city', 'destination_district',
                 'destination_address', 'contact_phone', 'purpose', 'emergency_contact_name',
                 'emergency_contact_phone'];
COMMENT ON FUNCTION entry_fields() IS 'the fields of the entry registration form';

-- Validates a whole entry form and returns it normalised (keys as the
-- table's columns).
CREATE FUNCTION hp_check_entry(form jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
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
        RAISE EXCEPTION 'arrival date "%" is not a date', t
            USING ERRCODE = '22007', DETAIL = 'Dates are written YYYY-MM-DD.';
    END;
    IF arrival < current_date - 30 OR arrival > current_date + 180 THEN
        RAISE EXCEPTION 'arrival date % is out of range', arrival
            USING ERRCODE = '22008', DETAIL = 'The arrival date lies between 30 days ago and 180 days ahead.';
    END IF;
    r := r || jsonb_build_object('arrival_date', arrival);

    t := lower(hp_form_text(form, 'transport_mode', true, 20));
    IF t NOT IN ('flight', 'train', 'ship', 'road', 'on_foot') THEN
        RAISE EXCEPTION 'transport mode "%" is not valid', t
            USING ERRCODE = '22023', DETAIL = 'The transport mode is flight, train, ship, road or on_foot.';
    END IF;
    r := r || jsonb_build_object('transport_mode', t);
    t := upper(replace(hp_form_text(form, 'transport_number', t IN ('flight', 'train', 'ship'), 20), ' ', ''));
    IF t !~ '^[A-Z0-9-]{1,20}$' THEN
        RAISE EXCEPTION 'transport number "%" is not valid', t
            USING ERRCODE = '22023', DETAIL = 'A flight, train or ship number has letters, digits and hyphens.';
    END IF;
    r := r || jsonb_build_object('transport_number', t,
                                 'seat_number', upper(hp_form_text(form, 'seat_number', false, 10)));

    t := upper(hp_form_text(form, 'departure_country', true, 60));
    IF t !~ '^[A-Z]{3}$' THEN
        RAISE EXCEPTION 'departure country "%" is not valid', t
            USING ERRCODE = '22023', DETAIL = 'The country or region is an ISO 3166-1 alpha-3 code such as HKG, MAC or GBR.';
    END IF;
    r := r || jsonb_build_object(
        'departure_country', t,
        'departure_city', hp_form_text(form, 'departure_city', true, 100),
        'destination_district', hp_form_text(form, 'destination_district', true, 100),
        'destination_address', hp_form_text(form, 'destination_address', true, 300),
        'contact_phone', hp_phone('contact_phone', hp_form_text(form, 'contact_phone', true, 30)));

    t := lower(hp_form_text(form, 'purpose', true, 20));
    IF t NOT IN ('business', 'family', 'tourism', 'study', 'work', 'return_home', 'transit', 'other') THEN
        RAISE EXCEPTION 'purpose "%" is not valid', t
            USING ERRCODE = '22023',
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
COMMENT ON FUNCTION hp_check_entry(jsonb) IS 'validated, normalised entry form';

-- The entry code of a person (HP1 kind "entry"): the person's masked claims
-- and the arrival. Valid 30 days from issue.
CREATE FUNCTION hp_entry_code(p person) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    e entry_registration;
    code text;
    issued pass;
BEGIN
    SELECT * INTO e FROM entry_registration WHERE person_id = p.person_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no entry registration', p.person_id
            USING ERRCODE = 'P0002', DETAIL = 'The person has not completed the entry registration.',
                  HINT = 'Submit the entry registration with submit_entry.';
    END IF;
    PERFORM hp_require_not_rejected(p);
    code := issue_token('entry',
        person_claims(p.person_id) || jsonb_build_object(
            'port', e.arrival_port, 'arr', e.arrival_date::text, 'rv', e.version),
        interval '30 days');
    -- the ledger that modify_entry revokes from; expired rows go on the way
    DELETE FROM entry_code_issued c WHERE c.person_id = p.person_id AND c.expires_at <= now();
    issued := code;                     -- decoded once for the ledger
    INSERT INTO entry_code_issued (person_id, token_id, kid, expires_at)
    VALUES (p.person_id, pass_token_id(issued), pass_kid(issued), pass_expires_at(issued));
    RETURN code;
END
$$;
COMMENT ON FUNCTION hp_entry_code(person) IS 'HP1 entry code of a registered person (internal)';

-- Revokes every entry code of a person that has not expired yet.
CREATE FUNCTION hp_revoke_entry_codes(pid bigint, reason text) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    WITH gone AS (
        DELETE FROM entry_code_issued c WHERE c.person_id = pid RETURNING c.*
    )
    SELECT count(revoke_token(g.token_id, reason, g.kid)) INTO n
      FROM gone g WHERE g.expires_at > now();
    RETURN n;
END
$$;
COMMENT ON FUNCTION hp_revoke_entry_codes(bigint, text) IS
    'revokes the live entry codes of a person (internal; modify_entry)';

CREATE FUNCTION entry_lookup(doc_kind text, doc_number text)
    RETURNS TABLE (state text, person_id bigint, entry_code text, notice_version integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
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
        END IF;
    END IF;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION entry_lookup(text, text) IS
    'step 3 of seed 000: registered (with the entry code), unregistered or unknown (with the current notice version), or realname_rejected';

CREATE FUNCTION submit_entry(person_id bigint, notice_version integer, entry jsonb) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    form jsonb;
BEGIN
    IF EXISTS (SELECT 1 FROM entry_registration e WHERE e.person_id = p.person_id) THEN
        RAISE EXCEPTION 'person % already has an entry registration', p.person_id
            USING ERRCODE = '23505', DETAIL = 'Each person has one entry registration.',
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
COMMENT ON FUNCTION submit_entry(bigint, integer, jsonb) IS
    'first-time entry registration: the accepted notice version and the entry form; returns the entry code';

CREATE FUNCTION modify_entry(person_id bigint, changes jsonb) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    e entry_registration;
    form jsonb;
BEGIN
    SELECT * INTO e FROM entry_registration x WHERE x.person_id = p.person_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no entry registration', p.person_id
            USING ERRCODE = 'P0002', DETAIL = 'Only a submitted registration can be modified.',
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
    PERFORM hp_revoke_entry_codes(p.person_id, 'entry registration modified');
    RETURN hp_entry_code(p);
END
$$;
COMMENT ON FUNCTION modify_entry(bigint, jsonb) IS
    'change fields of the entry registration (history kept); revokes the earlier entry codes and returns a new one';

CREATE FUNCTION entry_code(person_id bigint) RETURNS text
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    RETURN hp_entry_code(hp_get_person(person_id));
END
$$;
COMMENT ON FUNCTION entry_code(bigint) IS 'a fresh HP1 entry code for a registered person';

CREATE FUNCTION entry_registration(person_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
    r jsonb;
BEGIN
    SELECT to_jsonb(e) INTO r FROM entry_registration e WHERE e.person_id = p.person_id;
    IF r IS NULL THEN
        RAISE EXCEPTION 'person % has no entry registration', p.person_id
            USING ERRCODE = 'P0002', DETAIL = 'The person has not completed the entry registration.';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION entry_registration(bigint) IS 'the current entry registration of a person, as JSON';

CREATE FUNCTION entry_history(person_id bigint)
    RETURNS TABLE (version integer, valid_from timestamptz, valid_to timestamptz, data jsonb)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY SELECT * FROM hp_row_history('entry_registration', p.person_id);
END
$$;
COMMENT ON FUNCTION entry_history(bigint) IS 'every version of a person''s entry registration, oldest first';

GRANT EXECUTE ON FUNCTION publish_notice(text, text, text) TO healthpass_admin;
GRANT EXECUTE ON FUNCTION
    current_notice(text),
    notice_acceptances(bigint),
    entry_fields(),
    entry_lookup(text, text),
    submit_entry(bigint, integer, jsonb),
    modify_entry(bigint, jsonb),
    entry_code(bigint),
    entry_registration(bigint),
    entry_history(bigint)
  TO healthpass_app, healthpass_admin;

-- ===== sql/ext/42_companions.sql
-- 42_companions.sql: accompanying travellers (seed 000, step 7-9).
--
-- A registrant binds companions by document. The group is the registrant
-- plus at most 9 companions (10 travellers). A person accompanies one group
-- at a time, and a registrant who has companions cannot be bound into
-- another group (groups do not nest). Both sides are stored on their own
-- person's rows: companion (registrant's rows) and companion_of
-- (companion's rows). The rules span two people, so they are checked in
-- bind_companion under row locks on both person rows, taken in person_id
-- order (no deadlock between two binders); see
-- test/isolation/specs/42_companion_binding.spec.

CREATE TABLE companion (
    person_id    bigint NOT NULL,       -- the registrant
    companion_id bigint NOT NULL,
    pos          integer NOT NULL CHECK (pos > 0),
    bound_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, companion_id),
    UNIQUE (person_id, pos)
);
COMMENT ON TABLE companion IS 'companions bound by a registrant, in binding order (pos)';

CREATE TABLE companion_of (
    person_id     bigint PRIMARY KEY,   -- the companion: one group at a time
    registrant_id bigint NOT NULL,
    bound_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE companion_of IS 'the group a person currently accompanies';

SELECT pg_catalog.pg_extension_config_dump('companion', '');
SELECT pg_catalog.pg_extension_config_dump('companion_of', '');

-- Largest number of companions one registrant may bind.
CREATE FUNCTION companion_limit() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 9;
COMMENT ON FUNCTION companion_limit() IS 'at most 9 companions: a group is at most 10 travellers';

CREATE FUNCTION bind_companion(person_id bigint, doc_kind text, doc_number text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    n text := hp_person_document(doc_kind, doc_number);
    shown text := hp_mask_document(doc_kind, n);
    registrant bigint := person_id;
    cid bigint;
    locked integer;
    other bigint;
    next_pos integer;
BEGIN
    PERFORM hp_get_person(registrant);
    SELECT d.person_id INTO cid FROM document_index d
     WHERE d.doc_kind = bind_companion.doc_kind AND d.doc_number = n;
    IF cid IS NULL THEN
        RAISE EXCEPTION 'no person has document % "%"', doc_kind, shown
            USING ERRCODE = 'P0002', DETAIL = 'The companion has not registered yet.',
                  HINT = 'The companion must register first: look up their document with entry_lookup and complete the entry registration.';
    END IF;
    IF cid = registrant THEN
        RAISE EXCEPTION 'person % cannot accompany themselves', registrant
            USING ERRCODE = '23514', DETAIL = format('Document %s "%s" is the registrant''s own.', doc_kind, shown);
    END IF;

    -- both people, locked in person_id order: every binding, unbinding and
    -- group check that involves either of them waits here
    SELECT count(*) INTO locked FROM (
        SELECT 1 FROM person x WHERE x.person_id IN (registrant, cid)
         ORDER BY x.person_id FOR UPDATE) l;

    IF NOT EXISTS (SELECT 1 FROM entry_registration e WHERE e.person_id = registrant) THEN
        RAISE EXCEPTION 'person % has no entry registration', registrant
            USING ERRCODE = '55000', DETAIL = 'Only a registered traveller can bind companions.',
                  HINT = 'Submit the entry registration with submit_entry first.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM entry_registration e WHERE e.person_id = cid) THEN
        RAISE EXCEPTION 'companion % "%" has not completed the entry registration', doc_kind, shown
            USING ERRCODE = '55000', DETAIL = 'A companion must have a complete entry registration of their own.',
                  HINT = 'The companion must register first: look up their document with entry_lookup and complete the entry registration.';
    END IF;

    SELECT c.registrant_id INTO other FROM companion_of c WHERE c.person_id = cid;
    IF other = registrant THEN
        RAISE EXCEPTION 'companion % "%" is already bound to this group', doc_kind, shown
            USING ERRCODE = '23505', DETAIL = 'A companion is bound to a group once.';
    ELSIF other IS NOT NULL THEN
        RAISE EXCEPTION 'companion % "%" already accompanies another group', doc_kind, shown
            USING ERRCODE = '23514', DETAIL = 'A person accompanies one group at a time.',
                  HINT = 'The other registrant must unbind them first.';
    END IF;
    IF EXISTS (SELECT 1 FROM companion c WHERE c.person_id = cid) THEN
        RAISE EXCEPTION 'companion % "%" leads a group of their own', doc_kind, shown
            USING ERRCODE = '23514', DETAIL = 'Groups do not nest: a registrant with companions cannot join another group.';
    END IF;
    IF EXISTS (SELECT 1 FROM companion_of c WHERE c.person_id = registrant) THEN
        RAISE EXCEPTION 'person % accompanies another group and cannot bind companions', registrant
            USING ERRCODE = '23514', DETAIL = 'Groups do not nest: a companion cannot have companions of their own.';
    END IF;

    SELECT count(*), coalesce(max(c.pos), 0) + 1 INTO locked, next_pos
      FROM companion c WHERE c.person_id = registrant;
    IF locked >= companion_limit() THEN
        RAISE EXCEPTION 'the group of person % already has % companions', registrant, locked
            USING ERRCODE = '54000', DETAIL = format('A registrant binds at most %s companions.', companion_limit());
    END IF;

    INSERT INTO companion (person_id, companion_id, pos) VALUES (registrant, cid, next_pos);
    INSERT INTO companion_of (person_id, registrant_id) VALUES (cid, registrant);
    -- the new companion is last: after the registrant and the others
    RETURN locked + 2;
END
$$;
COMMENT ON FUNCTION bind_companion(bigint, text, text) IS
    'bind an accompanying traveller by document; returns their pos in group_codes (the registrant is 1)';

CREATE FUNCTION unbind_companion(person_id bigint, doc_kind text, doc_number text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    n text := hp_person_document(doc_kind, doc_number);
    registrant bigint := person_id;
    cid bigint;
    locked integer;
BEGIN
    PERFORM hp_get_person(registrant);
    SELECT d.person_id INTO cid FROM document_index d
     WHERE d.doc_kind = unbind_companion.doc_kind AND d.doc_number = n;
    SELECT count(*) INTO locked FROM (
        SELECT 1 FROM person x WHERE x.person_id IN (registrant, cid)
         ORDER BY x.person_id FOR UPDATE) l;
    DELETE FROM companion c WHERE c.person_id = registrant AND c.companion_id = cid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'document % "%" is not bound to the group of person %',
                doc_kind, hp_mask_document(doc_kind, n), registrant
            USING ERRCODE = 'P0002', DETAIL = 'Only a bound companion can be unbound.';
    END IF;
    DELETE FROM companion_of c WHERE c.person_id = cid;
END
$$;
COMMENT ON FUNCTION unbind_companion(bigint, text, text) IS 'remove a companion from the registrant''s group';

CREATE FUNCTION group_codes(person_id bigint)
    RETURNS TABLE (pos integer, person_ref uuid, is_registrant boolean,
                   name_masked text, doc_masked text,
                   prev_ref uuid, next_ref uuid, code_status text, entry_code text)
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    me person := hp_get_person(person_id);
    registrant bigint;
    m record;
BEGIN
    SELECT c.registrant_id INTO registrant FROM companion_of c WHERE c.person_id = me.person_id;
    registrant := coalesce(registrant, me.person_id);
    IF NOT EXISTS (SELECT 1 FROM entry_registration e WHERE e.person_id = registrant) THEN
        RAISE EXCEPTION 'person % has no entry registration', registrant
            USING ERRCODE = 'P0002', DETAIL = 'A group is a registered traveller and their companions.',
                  HINT = 'Submit the entry registration with submit_entry first.';
    END IF;
    FOR m IN
        WITH members AS (
            SELECT registrant AS pid, 0 AS ord
            UNION ALL
            SELECT c.companion_id, c.pos FROM companion c WHERE c.person_id = registrant),
        paged AS (
            SELECT p, row_number() OVER w AS page,
                   lag(p.public_ref) OVER w AS prv, lead(p.public_ref) OVER w AS nxt
              FROM members mm JOIN person p ON p.person_id = mm.pid
            WINDOW w AS (ORDER BY mm.ord))
        SELECT * FROM paged ORDER BY page
    LOOP
        pos := m.page;
        person_ref := (m.p).public_ref;
        is_registrant := (m.p).person_id = registrant;
        name_masked := mask_name((m.p).name);
        doc_masked := hp_mask_document((m.p).doc_kind, (m.p).doc_number);
        prev_ref := m.prv;
        next_ref := m.nxt;
        IF (m.p).realname_status = 'rejected' THEN
            code_status := 'realname_rejected';
            entry_code := NULL;
        ELSE
            code_status := 'ok';
            entry_code := hp_entry_code(m.p);
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION group_codes(bigint) IS
    'the group of a registrant or companion in a stable order (registrant first, then binding order) with previous/next references and each entry code';

GRANT EXECUTE ON FUNCTION
    companion_limit(),
    bind_companion(bigint, text, text),
    unbind_companion(bigint, text, text),
    group_codes(bigint)
  TO healthpass_app, healthpass_admin;

-- ===== sql/ext/43_epass.sql
-- 43_epass.sql: face verification, the certified photo and the electronic
-- pass (seed 000).

-- The health-code section of the e-pass page. This version says that no
-- health code is available; the health-code domain (sql/ext/5x) replaces
-- this one function (same signature) to show the live colour and code.
CREATE FUNCTION epass_health_section(person_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'available', false,
        'message', 'the health code is not available');
END
$$;
COMMENT ON FUNCTION epass_health_section(bigint) IS
    'health-code part of the e-pass page: {"available": false, ...} until the health-code domain replaces it';

-- Face verification (CTID) ---------------------------------------------------

-- Every face check an external provider reported, kept for audit.
CREATE TABLE face_check (
    person_id    bigint NOT NULL,
    check_id     bigint GENERATED ALWAYS AS IDENTITY,
    provider     text NOT NULL,
    provider_ref text,
    outcome      text NOT NULL CHECK (outcome IN ('passed', 'failed')),
    checked_at   timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, check_id)
);
COMMENT ON TABLE face_check IS 'results of external face checks (provider, time, outcome)';

-- The certified photo a passed check returned. Present = face verified.
CREATE TABLE certified_photo (
    person_id  bigint PRIMARY KEY,
    check_id   bigint NOT NULL,
    media_type text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png')),
    photo      bytea NOT NULL,
    bound_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE certified_photo IS 'the certified photo of the latest passed face check; deleted when unbound';

-- The electronic pass: one per person, with "my information".
CREATE TABLE epass (
    person_id               bigint PRIMARY KEY,
    letter_version          integer NOT NULL,
    residence_district      text NOT NULL,
    residence_address       text NOT NULL,
    workplace               text,
    emergency_contact_name  text,
    emergency_contact_phone text,
    version                 integer NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE epass IS 'electronic passes (seed 000), one per resident-ID-card holder';

CREATE TABLE epass_history (
    person_id  bigint NOT NULL,
    version    integer NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (person_id, version)
);
COMMENT ON TABLE epass_history IS 'earlier versions of e-pass information';

CREATE TRIGGER epass_keep_history
    BEFORE UPDATE ON epass
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION hp_keep_history('epass_history');

SELECT pg_catalog.pg_extension_config_dump('face_check', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.face_check', 'check_id'), '');
SELECT pg_catalog.pg_extension_config_dump('certified_photo', '');
SELECT pg_catalog.pg_extension_config_dump('epass', '');
SELECT pg_catalog.pg_extension_config_dump('epass_history', '');

-- Largest certified photo accepted, in bytes.
CREATE FUNCTION photo_limit() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 1048576;
COMMENT ON FUNCTION photo_limit() IS 'certified photos are at most 1 MiB';

CREATE FUNCTION record_face_check(
    person_id bigint, provider text, outcome text, photo bytea DEFAULT NULL,
    provider_ref text DEFAULT NULL, checked_at timestamptz DEFAULT now()) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    prov text := nullif(btrim(provider), '');
    media text;
    cid bigint;
BEGIN
    IF prov IS NULL OR length(prov) > 50 THEN
        RAISE EXCEPTION 'face check provider "%" is not valid', provider
            USING ERRCODE = '22023', DETAIL = 'The provider is named by 1 to 50 characters, for example "CTID".';
    END IF;
    IF outcome IS NULL OR outcome NOT IN ('passed', 'failed') THEN
        RAISE EXCEPTION 'face check outcome "%" is not valid', outcome
            USING ERRCODE = '22023', DETAIL = 'The outcome is "passed" or "failed".';
    END IF;
    IF checked_at IS NULL OR checked_at > now() + interval '5 minutes' THEN
        RAISE EXCEPTION 'face check time % is in the future', checked_at
            USING ERRCODE = '22008', DETAIL = 'A face check is recorded after it happened.';
    END IF;
    IF outcome = 'passed' AND photo IS NULL THEN
        RAISE EXCEPTION 'passed face check of person % has no certified photo', p.person_id
            USING ERRCODE = '22023', DETAIL = 'A passed check returns the certified photo, which must be recorded with it.';
    END IF;
    IF outcome = 'failed' AND photo IS NOT NULL THEN
        RAISE EXCEPTION 'failed face check of person % carries a photo', p.person_id
            USING ERRCODE = '22023', DETAIL = 'Only a passed check yields a certified photo.';
    END IF;
    IF photo IS NOT NULL THEN
        IF length(photo) > photo_limit() THEN
            RAISE EXCEPTION 'certified photo of % bytes is too large', length(photo)
                USING ERRCODE = '54000', DETAIL = format('A certified photo has at most %s bytes.', photo_limit());
        END IF;
        media := CASE WHEN substr(photo, 1, 3) = '\xffd8ff'::bytea THEN 'image/jpeg'
                      WHEN substr(photo, 1, 8) = '\x89504e470d0a1a0a'::bytea THEN 'image/png' END;
        IF media IS NULL THEN
            RAISE EXCEPTION 'certified photo starting with "%" is not a JPEG or PNG image',
                    encode(substr(photo, 1, 8), 'hex')
                USING ERRCODE = '22023', DETAIL = 'Certified photos are JPEG or PNG images.';
        END IF;
    END IF;
    INSERT INTO face_check (person_id, provider, provider_ref, outcome, checked_at)
        VALUES (p.person_id, prov, nullif(btrim(provider_ref), ''), outcome, checked_at)
        RETURNING check_id INTO cid;
    IF outcome = 'passed' THEN
        INSERT INTO certified_photo AS c (person_id, check_id, media_type, photo)
            VALUES (p.person_id, cid, media, photo)
            ON CONFLICT ON CONSTRAINT certified_photo_pkey DO UPDATE
               SET check_id = excluded.check_id, media_type = excluded.media_type,
                   photo = excluded.photo, bound_at = now();
    END IF;
    RETURN cid;
END
$$;
COMMENT ON FUNCTION record_face_check(bigint, text, text, bytea, text, timestamptz) IS
    'record an external face check; a passed one binds its certified photo (face verified)';

CREATE FUNCTION face_checks(person_id bigint)
    RETURNS TABLE (check_id bigint, provider text, provider_ref text, outcome text,
                   checked_at timestamptz, photo_bound boolean)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
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
COMMENT ON FUNCTION face_checks(bigint) IS 'a person''s face checks, oldest first, and which one''s photo is bound';

CREATE FUNCTION certified_photo(person_id bigint)
    RETURNS TABLE (media_type text, photo bytea, bound_at timestamptz, provider text, checked_at timestamptz)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
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
            USING ERRCODE = 'P0002', DETAIL = 'No passed face check is bound, or its photo was unbound.',
                  HINT = 'Run the face check again.';
    END IF;
END
$$;
COMMENT ON FUNCTION certified_photo(bigint) IS 'the certified photo to show (person''s own flows only)';

CREATE FUNCTION unbind_certified_photo(person_id bigint) RETURNS text
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
BEGIN
    DELETE FROM certified_photo c WHERE c.person_id = p.person_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no certified photo', p.person_id
            USING ERRCODE = 'P0002', DETAIL = 'There is no bound photo to unbind.';
    END IF;
    RETURN CASE WHEN EXISTS (SELECT 1 FROM epass e WHERE e.person_id = p.person_id)
                THEN 'suspended' ELSE 'none' END;
END
$$;
COMMENT ON FUNCTION unbind_certified_photo(bigint) IS
    'delete the certified photo; the e-pass is suspended until a new passed face check ("suspended"), or "none" without an e-pass';

-- Electronic pass ------------------------------------------------------------

CREATE FUNCTION epass_fields() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY['residence_district', 'residence_address', 'workplace',
                 'emergency_contact_name', 'emergency_contact_phone'];
COMMENT ON FUNCTION epass_fields() IS 'the e-pass fields of "my information" (person fields are edited alongside)';

-- Validated, normalised e-pass form.
CREATE FUNCTION hp_check_epass(form jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
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
COMMENT ON FUNCTION hp_check_epass(jsonb) IS 'validated, normalised e-pass form';

-- Why an e-pass is not active right now (empty array: active).
CREATE FUNCTION hp_epass_blocks(p person) RETURNS text[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
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
COMMENT ON FUNCTION hp_epass_blocks(person) IS 'reasons an e-pass is suspended';

CREATE FUNCTION epass_page(person_id bigint) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
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
            USING ERRCODE = 'P0002', DETAIL = 'The person has not applied for an electronic pass.',
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
                     THEN to_jsonb(issue_token('epass', person_claims(p.person_id), interval '1 day')) END,
        'health', epass_health_section(p.person_id));
END
$$;
COMMENT ON FUNCTION epass_page(bigint) IS
    'the e-pass page: status and reasons, masked person, my information, photo state, an HP1 epass code when active, and the health-code section';

CREATE FUNCTION apply_epass(person_id bigint, letter_version integer, info jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    form jsonb;
BEGIN
    IF p.doc_kind <> 'cn_resident_id' THEN
        RAISE EXCEPTION 'document kind "%" cannot hold an electronic pass', p.doc_kind
            USING ERRCODE = '23514', DETAIL = 'Electronic passes are for holders of a resident identity card.';
    END IF;
    IF EXISTS (SELECT 1 FROM epass x WHERE x.person_id = p.person_id) THEN
        RAISE EXCEPTION 'person % already has an electronic pass', p.person_id
            USING ERRCODE = '23505', DETAIL = 'Each person has one electronic pass.',
                  HINT = 'Change it with modify_epass.';
    END IF;
    IF p.realname_status <> 'approved' THEN
        RAISE EXCEPTION 'real-name status of person % is "%", not approved', p.person_id, p.realname_status
            USING ERRCODE = '55000', DETAIL = 'An electronic pass needs an approved real-name verification.',
                  HINT = CASE WHEN p.realname_status = 'rejected'
                              THEN 'The person must edit their information and wait for approval.'
                              ELSE 'Wait for the real-name result.' END;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM certified_photo c WHERE c.person_id = p.person_id) THEN
        RAISE EXCEPTION 'person % has not passed a face check', p.person_id
            USING ERRCODE = '55000', DETAIL = 'An electronic pass needs a passed face check with its certified photo.',
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
            USING ERRCODE = '23505', DETAIL = 'Each person has one electronic pass.',
                  HINT = 'Change it with modify_epass.';
    END;
    RETURN epass_page(p.person_id);
END
$$;
COMMENT ON FUNCTION apply_epass(bigint, integer, jsonb) IS
    'apply for the electronic pass: resident ID card, real-name approved, face verified, accepted commitment letter; returns the page';

CREATE FUNCTION modify_epass(person_id bigint, changes jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
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
            USING ERRCODE = 'P0002', DETAIL = 'Only an existing electronic pass can be modified.',
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
COMMENT ON FUNCTION modify_epass(bigint, jsonb) IS
    '"modify my information": e-pass fields, and name, doc_number and phone of the person (identity edits suspend the pass until approved again)';

CREATE FUNCTION epass_history(person_id bigint)
    RETURNS TABLE (version integer, valid_from timestamptz, valid_to timestamptz, data jsonb)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY SELECT * FROM hp_row_history('epass', p.person_id);
END
$$;
COMMENT ON FUNCTION epass_history(bigint) IS 'every version of a person''s e-pass information, oldest first';

GRANT EXECUTE ON FUNCTION
    photo_limit(),
    record_face_check(bigint, text, text, bytea, text, timestamptz),
    face_checks(bigint),
    certified_photo(bigint),
    unbind_certified_photo(bigint),
    epass_fields(),
    epass_page(bigint),
    apply_epass(bigint, integer, jsonb),
    modify_epass(bigint, jsonb),
    epass_history(bigint)
  TO healthpass_app, healthpass_admin;

-- ===== sql/ext/44_family.sql
-- 44_family.sql: family members registered by proxy (seed 004).
--
-- A registered person (the guardian) adds family members who have no
-- smartphone. Members are full persons (their own document, real-name
-- check and codes) whose person.guardian_id names the guardian; the
-- guardian's list is family_member, keyed by the guardian. Members cannot
-- register others, and a guardian has at most 10 members.

CREATE TABLE family_member (
    person_id bigint NOT NULL,      -- the guardian
    member_id bigint NOT NULL,
    relation  text NOT NULL
              CHECK (relation IN ('parent', 'child', 'spouse', 'grandparent', 'grandchild',
                                  'sibling', 'other')),
    added_at  timestamptz NOT NULL DEFAULT now(),
    version   integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, member_id)
);
COMMENT ON TABLE family_member IS 'family members a guardian registered by proxy';

-- earlier versions of a guardian's link to a member (the relation)
CREATE TABLE family_member_history (
    person_id  bigint NOT NULL,
    member_id  bigint NOT NULL,
    version    integer NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (person_id, member_id, version)
);
COMMENT ON TABLE family_member_history IS 'earlier versions of family links';

-- Row trigger: version bump and history row for the same guardian.
CREATE FUNCTION hp_family_member_history() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    INSERT INTO family_member_history (person_id, member_id, version, valid_from, valid_to, data)
        VALUES (OLD.person_id, OLD.member_id, OLD.version, OLD.updated_at, NEW.updated_at, to_jsonb(OLD));
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION hp_family_member_history() IS 'row trigger: history of family links';

CREATE TRIGGER family_member_keep_history
    BEFORE UPDATE ON family_member
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION hp_family_member_history();

SELECT pg_catalog.pg_extension_config_dump('family_member', '');
SELECT pg_catalog.pg_extension_config_dump('family_member_history', '');

-- Largest number of members one guardian may register.
CREATE FUNCTION family_limit() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 10;
COMMENT ON FUNCTION family_limit() IS 'a guardian registers at most 10 family members';

-- Raises 22023 unless relation is one of the known ones.
CREATE FUNCTION hp_check_relation(relation text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    r text := lower(btrim(relation));
BEGIN
    IF r IS NULL OR r NOT IN ('parent', 'child', 'spouse', 'grandparent', 'grandchild', 'sibling', 'other') THEN
        RAISE EXCEPTION 'relation "%" is not valid', relation
            USING ERRCODE = '22023',
                  DETAIL = 'The relation is parent, child, spouse, grandparent, grandchild, sibling or other.';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION hp_check_relation(text) IS 'normalised family relation';

-- The member's person row if the guardian registered them; 42501 otherwise.
CREATE FUNCTION hp_family_member(guardian bigint, member bigint, for_update boolean) RETURNS person
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person;
BEGIN
    PERFORM hp_get_person(guardian);
    IF NOT EXISTS (SELECT 1 FROM family_member f WHERE f.person_id = guardian AND f.member_id = member) THEN
        RAISE EXCEPTION 'person % is not a family member of person %', member, guardian
            USING ERRCODE = '42501', DETAIL = 'A guardian sees and edits only the family members they registered.';
    END IF;
    IF for_update THEN
        p := hp_lock_person(member);
    ELSE
        p := hp_get_person(member);
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION hp_family_member(bigint, bigint, boolean) IS 'a guardian''s family member, or 42501';

CREATE FUNCTION add_family_member(
    guardian_id bigint, doc_kind text, doc_number text, name text, relation text,
    birth_date date DEFAULT NULL, sex text DEFAULT NULL,
    nationality text DEFAULT NULL, phone text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    g person := hp_lock_person(guardian_id);
    r text := hp_check_relation(relation);
    n integer;
    mid bigint;
BEGIN
    IF g.guardian_id IS NOT NULL THEN
        RAISE EXCEPTION 'person % was registered by proxy and cannot register family members', g.person_id
            USING ERRCODE = '23514', DETAIL = 'Only a person who registered themselves acts for their family.';
    END IF;
    SELECT count(*) INTO n FROM family_member f WHERE f.person_id = g.person_id;
    IF n >= family_limit() THEN
        RAISE EXCEPTION 'person % already has % family members', g.person_id, n
            USING ERRCODE = '54000', DETAIL = format('A guardian registers at most %s family members.', family_limit());
    END IF;
    -- no phone of their own: the guardian's number is the contact (seed 004)
    mid := hp_insert_person(doc_kind, doc_number, name, birth_date, sex, nationality,
                            coalesce(phone, g.phone), g.person_id);
    INSERT INTO family_member (person_id, member_id, relation) VALUES (g.person_id, mid, r);
    RETURN mid;
END
$$;
COMMENT ON FUNCTION add_family_member(bigint, text, text, text, text, date, text, text, text) IS
    'register a family member by proxy; returns the member''s person_id (real-name status pending)';

CREATE FUNCTION family_members(guardian_id bigint)
    RETURNS TABLE (member_id bigint, person_ref uuid, name text, doc_kind text, doc_masked text,
                   birth_date date, relation text, realname_status text, added_at timestamptz)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    g person := hp_get_person(guardian_id);
BEGIN
    RETURN QUERY
        SELECT p.person_id, p.public_ref, p.name, p.doc_kind, hp_mask_document(p.doc_kind, p.doc_number),
               p.birth_date, f.relation, p.realname_status, f.added_at
          FROM family_member f JOIN person p ON p.person_id = f.member_id
         WHERE f.person_id = g.person_id
         ORDER BY f.added_at, f.member_id;
END
$$;
COMMENT ON FUNCTION family_members(bigint) IS 'the family members a guardian registered, in the order added';

CREATE FUNCTION edit_family_member(guardian_id bigint, member_id bigint, changes jsonb) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    m person := hp_family_member(guardian_id, member_id, true);
    v integer;
BEGIN
    IF changes IS NOT NULL AND jsonb_typeof(changes) = 'object' AND changes ? 'relation' THEN
        UPDATE family_member f SET relation = hp_check_relation(changes->>'relation')
         WHERE f.person_id = edit_family_member.guardian_id AND f.member_id = m.person_id;
        changes := changes - 'relation';
    END IF;
    v := hp_edit_person(m, changes);
    RETURN v;
END
$$;
COMMENT ON FUNCTION edit_family_member(bigint, bigint, jsonb) IS
    'edit a family member (person fields as edit_person, plus relation); returns the member''s new version';

CREATE FUNCTION family_member_code(guardian_id bigint, member_id bigint,
                                   valid_for interval DEFAULT '90 days') RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    m person := hp_family_member(guardian_id, member_id, false);
BEGIN
    RETURN personal_code(m.person_id, valid_for);
END
$$;
COMMENT ON FUNCTION family_member_code(bigint, bigint, interval) IS
    'a family member''s personal code (HP1 kind "personal"), valid 90 days by default for printing';

CREATE FUNCTION family_member_qr_png(guardian_id bigint, member_id bigint,
                                     valid_for interval DEFAULT '90 days',
                                     module_px integer DEFAULT 8) RETURNS bytea
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    -- level Q: a printed code survives creases and smudges
    RETURN qr_png(family_member_code(guardian_id, member_id, valid_for), 'Q', module_px);
END
$$;
COMMENT ON FUNCTION family_member_qr_png(bigint, bigint, interval, integer) IS
    'printable PNG of a family member''s personal code (error correction Q)';

CREATE FUNCTION family_member_history(guardian_id bigint, member_id bigint)
    RETURNS TABLE (version integer, valid_from timestamptz, valid_to timestamptz, relation text)
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    m person := hp_family_member(guardian_id, member_id, false);
BEGIN
    RETURN QUERY
        SELECT h.version, h.valid_from, h.valid_to, h.data->>'relation'
          FROM family_member_history h
         WHERE h.person_id = family_member_history.guardian_id AND h.member_id = m.person_id
        UNION ALL
        SELECT f.version, f.updated_at, NULL::timestamptz, f.relation
          FROM family_member f
         WHERE f.person_id = family_member_history.guardian_id AND f.member_id = m.person_id
        ORDER BY 1;
END
$$;
COMMENT ON FUNCTION family_member_history(bigint, bigint) IS
    'every version of the guardian''s relation to a member, oldest first (the member''s own data: person_history)';

GRANT EXECUTE ON FUNCTION
    family_member_history(bigint, bigint),
    family_limit(),
    add_family_member(bigint, text, text, text, text, date, text, text, text),
    family_members(bigint),
    edit_family_member(bigint, bigint, jsonb),
    family_member_code(bigint, bigint, interval),
    family_member_qr_png(bigint, bigint, interval, integer)
  TO healthpass_app, healthpass_admin;

-- ===== sql/ext/50_colour.sql
-- 50_colour.sql: the health-code colour and the health settings.
--
-- Seed 004 defines four colours. healthpass keeps them as an enum ordered
-- by severity, so comparison operators, ORDER BY, max() and the worst()
-- aggregate all mean "more severe":
--
--   green < light_green < yellow < red
--
-- green        may pass
-- light_green  no health information reported: not known to be risky, but
--              not known to be safe either, so it is worse than green
-- yellow       more information or a check (temperature) is needed, or the
--              declaration has expired and must be renewed
-- red          does not meet the conditions to travel; report to the
--              community (village) or employer
--
-- An enum rather than a C type: the ordering, comparison, hashing, binary
-- I/O and the text form come with it, the values are self-describing in
-- dumps, and a C type would add nothing but code.

CREATE TYPE health_colour AS ENUM ('green', 'light_green', 'yellow', 'red');
COMMENT ON TYPE health_colour IS
    'health-code colour ordered by severity: green < light_green < yellow < red';

-- The more severe of two colours (NULL counts as absent).
CREATE FUNCTION worse(a health_colour, b health_colour) RETURNS health_colour
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN GREATEST(a, b);
COMMENT ON FUNCTION worse(health_colour, health_colour) IS
    'the more severe of two colours; NULL counts as absent';

CREATE AGGREGATE worst(health_colour) (
    SFUNC = worse,
    STYPE = health_colour,
    COMBINEFUNC = worse,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE worst(health_colour) IS
    'the most severe colour of a set (NULL for no rows)';

-- What a colour means, in the words of seed 004 (English, then Chinese).
CREATE FUNCTION colour_meaning(colour health_colour) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE colour
        WHEN 'green' THEN 'green code (绿码): may pass'
        WHEN 'light_green' THEN 'light green code (淡绿码): no health information reported'
        WHEN 'yellow' THEN 'yellow code (黄码): pass after more information or a check such as temperature; or the declaration has expired and must be renewed'
        WHEN 'red' THEN 'red code (红码): does not meet the conditions to travel; report to the community (village) or employer'
    END;
COMMENT ON FUNCTION colour_meaning(health_colour) IS 'what a colour means (seed 004), English and Chinese';

-- Health settings: one row. The dynamic health code lives minutes so that a
-- screenshot goes stale; a declaration is valid for a day by default.
CREATE TABLE health_config (
    singleton              boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    code_valid_for         interval NOT NULL DEFAULT interval '3 minutes'
                           CHECK (code_valid_for BETWEEN interval '30 seconds' AND interval '1 day'),
    declaration_valid_for  interval NOT NULL DEFAULT interval '1 day'
                           CHECK (declaration_valid_for BETWEEN interval '1 hour' AND interval '30 days'),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE health_config IS 'health settings (one row): health-code and declaration validity';
INSERT INTO health_config DEFAULT VALUES;
SELECT pg_catalog.pg_extension_config_dump('health_config', '');

-- The settings row.
CREATE FUNCTION hp_health_config() RETURNS health_config
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
    RETURN (SELECT c FROM health_config c);
COMMENT ON FUNCTION hp_health_config() IS 'the health settings row (internal)';

CREATE FUNCTION health_settings(
    OUT code_valid_for interval, OUT declaration_valid_for interval, OUT updated_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
    SELECT c.code_valid_for, c.declaration_valid_for, c.updated_at FROM health_config c
$$;
COMMENT ON FUNCTION health_settings() IS 'current health settings';

-- Changes the settings; NULL keeps a value. Only new codes and new
-- declarations are affected: issued ones keep the validity they were given.
CREATE FUNCTION configure_health(code_valid_for interval DEFAULT NULL,
                                 declaration_valid_for interval DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    IF code_valid_for IS NOT NULL
       AND NOT code_valid_for BETWEEN interval '30 seconds' AND interval '1 day' THEN
        RAISE EXCEPTION 'health-code validity "%" is out of range', code_valid_for
            USING ERRCODE = '22023',
                  DETAIL = 'A dynamic health code is valid for 30 seconds to 1 day.';
    END IF;
    IF declaration_valid_for IS NOT NULL
       AND NOT declaration_valid_for BETWEEN interval '1 hour' AND interval '30 days' THEN
        RAISE EXCEPTION 'declaration validity "%" is out of range', declaration_valid_for
            USING ERRCODE = '22023',
                  DETAIL = 'A health declaration is valid for 1 hour to 30 days.';
    END IF;
    UPDATE health_config c
       SET code_valid_for = coalesce(configure_health.code_valid_for, c.code_valid_for),
           declaration_valid_for = coalesce(configure_health.declaration_valid_for, c.declaration_valid_for),
           updated_at = now();
END
$$;
COMMENT ON FUNCTION configure_health(interval, interval) IS
    'set the health-code and declaration validity (NULL keeps a value); affects new codes and declarations only';

GRANT EXECUTE ON FUNCTION worse(health_colour, health_colour),
                          worst(health_colour),
                          colour_meaning(health_colour)
    TO healthpass_admin, healthpass_app, healthpass_scanner,
       healthpass_health, healthpass_report;
GRANT EXECUTE ON FUNCTION health_settings()
    TO healthpass_admin, healthpass_app, healthpass_health, healthpass_report;
GRANT EXECUTE ON FUNCTION configure_health(interval, interval) TO healthpass_admin;

-- ===== sql/ext/51_declarations.sql
-- 51_declarations.sql: health declarations (seed 002's three questions and
-- itinerary, seed 004's "expired, declare again").
--
-- A declaration answers: fever or symptoms today, contact history in the
-- last 14 days, travel history in the last 14 days (the places), where the
-- person is going today (city and address) and, when measured, the
-- temperature. It is valid for health_settings().declaration_valid_for from
-- the moment it is made; the latest declaration is the one that counts, and
-- once it has lapsed the person's colour turns yellow by the default rules.
-- Declarations are never changed: a new one supersedes the old, so the
-- colour at any past instant can be recomputed from what was known then.

CREATE TABLE health_declaration (
    person_id           bigint NOT NULL,
    declaration_id      bigint GENERATED ALWAYS AS IDENTITY,
    declared_at         timestamptz NOT NULL DEFAULT now(),
    valid_until         timestamptz NOT NULL,
    fever_today         boolean NOT NULL,
    contact_14d         boolean NOT NULL,
    travel_places       text[] NOT NULL DEFAULT '{}',
    destination_city    text,
    destination_address text,
    temperature         numeric(3,1) CHECK (temperature BETWEEN 30.0 AND 45.0),
    PRIMARY KEY (person_id, declaration_id),
    CHECK (valid_until > declared_at)
);
COMMENT ON TABLE health_declaration IS
    'health declarations: fever today, 14-day contact and travel history, destination, temperature; never updated';
CREATE INDEX health_declaration_latest ON health_declaration (person_id, declared_at);
SELECT pg_catalog.pg_extension_config_dump('health_declaration', '');

-- A place as typed: trimmed, inner runs of spaces collapsed, full-width
-- spaces as spaces; at most 100 characters, no control characters.
CREATE FUNCTION hp_clean_place(field text, place text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    p text := btrim(regexp_replace(place, '[\s　]+', ' ', 'g'));
BEGIN
    IF p IS NULL OR p = '' THEN
        RAISE EXCEPTION '% "%" is empty', field, coalesce(place, '')
            USING ERRCODE = '22023', DETAIL = 'A place names a country, province, city or district.';
    END IF;
    IF length(p) > 100 OR p ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION '% "%" is not valid', field, place
            USING ERRCODE = '22023', DETAIL = 'A place has at most 100 characters and no control characters.';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION hp_clean_place(text, text) IS 'trimmed place name, or 22023 naming the field (internal)';

CREATE FUNCTION declare_health(
    person_id bigint,
    fever_today boolean,
    contact_14d boolean,
    travel_places text[] DEFAULT '{}',
    destination_city text DEFAULT NULL,
    destination_address text DEFAULT NULL,
    temperature numeric DEFAULT NULL,
    OUT declaration_id bigint, OUT declared_at timestamptz, OUT valid_until timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(declare_health.person_id);
    places text[];
    city text;
    address text;
BEGIN
    IF declare_health.fever_today IS NULL THEN
        RAISE EXCEPTION 'fever_today is missing'
            USING ERRCODE = '22023', DETAIL = 'Every declaration answers whether the person has a fever or symptoms today.';
    END IF;
    IF declare_health.contact_14d IS NULL THEN
        RAISE EXCEPTION 'contact_14d is missing'
            USING ERRCODE = '22023', DETAIL = 'Every declaration answers whether the person had contact with a case in the last 14 days.';
    END IF;
    IF coalesce(cardinality(declare_health.travel_places), 0) > 30 THEN
        RAISE EXCEPTION 'travel history lists % places', cardinality(declare_health.travel_places)
            USING ERRCODE = '54000', DETAIL = 'A declaration lists at most 30 places visited in the last 14 days.';
    END IF;
    SELECT coalesce(array_agg(DISTINCT hp_clean_place('travel place', t.pl) ORDER BY hp_clean_place('travel place', t.pl)), '{}')
      INTO places FROM unnest(declare_health.travel_places) AS t(pl);
    IF declare_health.destination_city IS NOT NULL THEN
        city := hp_clean_place('destination city', declare_health.destination_city);
    END IF;
    IF declare_health.destination_address IS NOT NULL THEN
        address := btrim(regexp_replace(declare_health.destination_address, '[\s　]+', ' ', 'g'));
        IF address = '' OR length(address) > 200 OR address ~ '[[:cntrl:]]' THEN
            RAISE EXCEPTION 'destination address "%" is not valid', declare_health.destination_address
                USING ERRCODE = '22023', DETAIL = 'An address has 1 to 200 characters and no control characters.';
        END IF;
    END IF;
    IF declare_health.temperature IS NOT NULL
       AND NOT declare_health.temperature BETWEEN 34.0 AND 43.0 THEN
        RAISE EXCEPTION 'temperature % is out of range', declare_health.temperature
            USING ERRCODE = '22023', DETAIL = 'A body temperature is given in degrees Celsius between 34.0 and 43.0.';
    END IF;
    INSERT INTO health_declaration AS d
           (person_id, valid_until, fever_today, contact_14d, travel_places,
            destination_city, destination_address, temperature)
    VALUES (p.person_id, now() + (hp_health_config()).declaration_valid_for,
            declare_health.fever_today, declare_health.contact_14d, places,
            city, address, round(declare_health.temperature, 1))
    RETURNING d.declaration_id, d.declared_at, d.valid_until
         INTO declare_health.declaration_id, declare_health.declared_at, declare_health.valid_until;
END
$$;
COMMENT ON FUNCTION declare_health(bigint, boolean, boolean, text[], text, text, numeric) IS
    'record a health declaration (fever today, 14-day contact, 14-day travel places, destination, temperature); the colour is recomputed';

-- A person's declarations, newest first, with whether each is the one in force.
CREATE FUNCTION health_declarations(person_id bigint, max_rows integer DEFAULT 20)
    RETURNS TABLE (declaration_id bigint, declared_at timestamptz, valid_until timestamptz,
                   in_force boolean, fever_today boolean, contact_14d boolean, travel_places text[],
                   destination_city text, destination_address text, temperature numeric)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(health_declarations.person_id);
BEGIN
    IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'max_rows % is out of range', max_rows
            USING ERRCODE = '22023', DETAIL = 'Ask for 1 to 1000 declarations at a time.';
    END IF;
    RETURN QUERY
        SELECT d.declaration_id, d.declared_at, d.valid_until,
               row_number() OVER w = 1 AND d.valid_until > now(),
               d.fever_today, d.contact_14d, d.travel_places,
               d.destination_city, d.destination_address, d.temperature
          FROM health_declaration d
         WHERE d.person_id = p.person_id AND d.declared_at <= now()
        WINDOW w AS (ORDER BY d.declared_at DESC, d.declaration_id DESC)
         ORDER BY d.declared_at DESC, d.declaration_id DESC
         LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION health_declarations(bigint, integer) IS
    'a person''s declarations, newest first; in_force marks the latest one while it is valid';

GRANT EXECUTE ON FUNCTION
    declare_health(bigint, boolean, boolean, text[], text, text, numeric),
    health_declarations(bigint, integer)
    TO healthpass_app, healthpass_admin;
GRANT EXECUTE ON FUNCTION health_declarations(bigint, integer) TO healthpass_health;

-- ===== sql/ext/52_results.sql
-- 52_results.sql: nucleic-acid test results (seeds 002 and 004).
--
-- The health authority records results as the testing institutions report
-- them. A sample is named by its institution and the institution's sample
-- reference; it may first be recorded as pending and later as negative or
-- positive. Records are never changed: each report is a new row, and the
-- newest record of a sample is its result. "The latest result within 14
-- days" (seed 004) is the result of the most recently sampled test taken
-- in the 14 days before the instant asked about.

CREATE TABLE test_result (
    person_id   bigint NOT NULL,
    result_id   bigint GENERATED ALWAYS AS IDENTITY,
    institution text NOT NULL,
    sample_ref  text NOT NULL,
    sampled_at  timestamptz NOT NULL,
    result      text NOT NULL CHECK (result IN ('negative', 'positive', 'pending')),
    reported_at timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, result_id),
    CHECK ((result = 'pending') = (reported_at IS NULL)),
    CHECK (reported_at IS NULL OR reported_at >= sampled_at)
);
COMMENT ON TABLE test_result IS
    'nucleic-acid test records: sample (institution + reference), sampled at, result, reported at; never updated';
CREATE INDEX test_result_sampled ON test_result (person_id, sampled_at);
SELECT pg_catalog.pg_extension_config_dump('test_result', '');

-- The window seed 004 speaks of.
CREATE FUNCTION result_window() RETURNS interval
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN interval '14 days';
COMMENT ON FUNCTION result_window() IS 'results count for 14 days after sampling (seed 004)';

-- Trimmed short text of a result field, or 22023 naming the field.
CREATE FUNCTION hp_result_text(field text, value text, maxlen integer) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    v text := btrim(value);
BEGIN
    IF v IS NULL OR v = '' THEN
        RAISE EXCEPTION '% is missing', field
            USING ERRCODE = '22023', DETAIL = format('Every test result names its %s.', field);
    END IF;
    IF length(v) > maxlen OR v ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION '% "%" is not valid', field, value
            USING ERRCODE = '22023',
                  DETAIL = format('The %s has at most %s characters and no control characters.', field, maxlen);
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION hp_result_text(text, text, integer) IS 'checked short text of a test result (internal)';

CREATE FUNCTION record_test_result(
    person_id bigint, institution text, sample_ref text, sampled_at timestamptz,
    result text, reported_at timestamptz DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(record_test_result.person_id);
    inst text := hp_result_text('institution', record_test_result.institution, 100);
    ref text := hp_result_text('sample reference', record_test_result.sample_ref, 64);
    res text := lower(btrim(record_test_result.result));
    reported timestamptz := record_test_result.reported_at;
    prev test_result;
    id bigint;
BEGIN
    IF res IS NULL OR res NOT IN ('negative', 'positive', 'pending') THEN
        RAISE EXCEPTION 'test result "%" is not valid', record_test_result.result
            USING ERRCODE = '22023', DETAIL = 'A nucleic-acid result is negative, positive or pending.';
    END IF;
    IF record_test_result.sampled_at IS NULL THEN
        RAISE EXCEPTION 'sampled_at is missing'
            USING ERRCODE = '22023', DETAIL = 'Every test result says when the sample was taken.';
    END IF;
    IF record_test_result.sampled_at > now() THEN
        RAISE EXCEPTION 'sampling time "%" is in the future', record_test_result.sampled_at
            USING ERRCODE = '22008', DETAIL = 'A sample is recorded after it was taken.';
    END IF;
    IF res = 'pending' THEN
        IF reported IS NOT NULL THEN
            RAISE EXCEPTION 'a pending result cannot have a report time "%"', reported
                USING ERRCODE = '22023', DETAIL = 'A result is reported when it is negative or positive.';
        END IF;
    ELSE
        reported := coalesce(reported, now());
        IF reported < record_test_result.sampled_at OR reported > now() THEN
            RAISE EXCEPTION 'report time "%" is out of range', reported
                USING ERRCODE = '22008',
                      DETAIL = format('A result is reported between sampling (%s) and now.', record_test_result.sampled_at);
        END IF;
    END IF;

    -- the records of one sample: same sampling time; a final result is final
    SELECT * INTO prev FROM test_result t
     WHERE t.person_id = p.person_id AND t.institution = inst AND t.sample_ref = ref
     ORDER BY t.recorded_at DESC, t.result_id DESC LIMIT 1
       FOR UPDATE;
    IF FOUND THEN
        IF prev.sampled_at <> record_test_result.sampled_at THEN
            RAISE EXCEPTION 'sample "%" of "%" was taken at %, not %', ref, inst, prev.sampled_at, record_test_result.sampled_at
                USING ERRCODE = '23514', DETAIL = 'All records of one sample have the same sampling time.';
        END IF;
        IF prev.result = res THEN
            RAISE EXCEPTION 'sample "%" of "%" is already recorded as %', ref, inst, res
                USING ERRCODE = '23505', DETAIL = 'A record is added only when the result changes.';
        END IF;
        IF prev.result <> 'pending' AND res = 'pending' THEN
            RAISE EXCEPTION 'sample "%" of "%" already has the final result %', ref, inst, prev.result
                USING ERRCODE = '55000', DETAIL = 'A reported result does not go back to pending; record the corrected result instead.';
        END IF;
    END IF;

    INSERT INTO test_result AS t (person_id, institution, sample_ref, sampled_at, result, reported_at)
    VALUES (p.person_id, inst, ref, record_test_result.sampled_at, res, reported)
    RETURNING t.result_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION record_test_result(bigint, text, text, timestamptz, text, timestamptz) IS
    'record a nucleic-acid result (negative/positive/pending) for a sample; returns result_id; the colour is recomputed';

-- The latest result of each sample of a person known at an instant, sampled
-- in the 14 days before it (internal; shared by the look-ups below).
CREATE FUNCTION hp_recent_samples(pid bigint, at timestamptz)
    RETURNS TABLE (sampled_at timestamptz, result text, reported_at timestamptz, institution text, sample_ref text)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
    SELECT DISTINCT ON (t.institution, t.sample_ref)
           t.sampled_at, t.result, t.reported_at, t.institution, t.sample_ref
      FROM test_result t
     WHERE t.person_id = pid AND t.recorded_at <= at
       AND t.sampled_at <= at AND t.sampled_at > at - result_window()
     ORDER BY t.institution, t.sample_ref, t.recorded_at DESC, t.result_id DESC
$$;
COMMENT ON FUNCTION hp_recent_samples(bigint, timestamptz) IS 'samples of the last 14 days with their latest record (internal)';

CREATE FUNCTION latest_test_result(person_id bigint, at timestamptz DEFAULT now())
    RETURNS TABLE (sampled_at timestamptz, result text, reported_at timestamptz,
                   institution text, sample_ref text, last_negative_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(latest_test_result.person_id);
BEGIN
    IF at IS NULL OR at > now() THEN
        RAISE EXCEPTION 'instant "%" is not valid', at
            USING ERRCODE = '22008', DETAIL = 'Results are looked up at an instant that is not in the future.';
    END IF;
    RETURN QUERY
        SELECT s.sampled_at, s.result, s.reported_at, s.institution, s.sample_ref,
               (SELECT max(n.sampled_at) FROM hp_recent_samples(p.person_id, at) n WHERE n.result = 'negative')
          FROM hp_recent_samples(p.person_id, at) s
         ORDER BY s.sampled_at DESC, s.institution, s.sample_ref
         LIMIT 1;
END
$$;
COMMENT ON FUNCTION latest_test_result(bigint, timestamptz) IS
    'the latest nucleic-acid result sampled in the 14 days before at (no row when there is none), with the last negative sampling time';

-- Seed 004: a guardian looks up the latest result of every family member
-- they registered. Members without a result in 14 days are listed with NULLs.
CREATE FUNCTION family_test_results(guardian_id bigint, at timestamptz DEFAULT now())
    RETURNS TABLE (member_id bigint, name_masked text, relation text,
                   sampled_at timestamptz, result text, reported_at timestamptz, institution text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    g person := hp_get_person(family_test_results.guardian_id);
BEGIN
    IF at IS NULL OR at > now() THEN
        RAISE EXCEPTION 'instant "%" is not valid', at
            USING ERRCODE = '22008', DETAIL = 'Results are looked up at an instant that is not in the future.';
    END IF;
    RETURN QUERY
        SELECT m.person_id, mask_name(m.name), f.relation,
               s.sampled_at, s.result, s.reported_at, s.institution
          FROM family_member f
          JOIN person m ON m.person_id = f.member_id
          LEFT JOIN LATERAL (
                SELECT r.sampled_at, r.result, r.reported_at, r.institution
                  FROM hp_recent_samples(m.person_id, at) r
                 ORDER BY r.sampled_at DESC, r.institution, r.sample_ref
                 LIMIT 1) s ON true
         WHERE f.person_id = g.person_id
         ORDER BY f.added_at, f.member_id;
END
$$;
COMMENT ON FUNCTION family_test_results(bigint, timestamptz) IS
    'the latest result in 14 days of each family member a guardian registered (seed 004)';

-- Every record of a person, newest first: for the health authority.
CREATE FUNCTION test_results(person_id bigint)
    RETURNS TABLE (result_id bigint, institution text, sample_ref text, sampled_at timestamptz,
                   result text, reported_at timestamptz, recorded_at timestamptz)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(test_results.person_id);
BEGIN
    RETURN QUERY
        SELECT t.result_id, t.institution, t.sample_ref, t.sampled_at, t.result, t.reported_at, t.recorded_at
          FROM test_result t WHERE t.person_id = p.person_id
         ORDER BY t.recorded_at DESC, t.result_id DESC;
END
$$;
COMMENT ON FUNCTION test_results(bigint) IS 'every test record of a person, newest first';

GRANT EXECUTE ON FUNCTION result_window()
    TO healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health, healthpass_report;
GRANT EXECUTE ON FUNCTION
    record_test_result(bigint, text, text, timestamptz, text, timestamptz),
    test_results(bigint)
    TO healthpass_health, healthpass_admin;
GRANT EXECUTE ON FUNCTION
    latest_test_result(bigint, timestamptz),
    family_test_results(bigint, timestamptz)
    TO healthpass_app, healthpass_health, healthpass_admin;

-- ===== sql/ext/53_marks.sql
-- 53_marks.sql: risk marks set by the health authority, and risk areas.
--
-- A risk mark says that, from valid_from until valid_until (open when NULL),
-- a person is a confirmed or suspected case, a close contact, a secondary
-- contact, or has arrived from a risk area. Lifting a mark early records
-- when it was lifted; marks are never deleted, so the colour at any past
-- instant can be recomputed from what was known then.
--
-- A risk area is a place (a country, province, city or district name, as
-- declarations write them). A declared travel place matches an area when
-- the place starts with the area's name: the area "深圳市南山区" matches
-- "深圳市南山区粤海街道". Declaring or lifting an area re-colours, at once,
-- everyone whose declaration in force lists a matching place.

CREATE TYPE risk_mark_kind AS ENUM
    ('confirmed', 'suspected', 'close_contact', 'secondary_contact', 'risk_area_arrival');
COMMENT ON TYPE risk_mark_kind IS
    'what the health authority marks a person as: confirmed or suspected case, close or secondary contact, arrival from a risk area';

CREATE TABLE risk_mark (
    person_id   bigint NOT NULL,
    mark_id     bigint GENERATED ALWAYS AS IDENTITY,
    kind        risk_mark_kind NOT NULL,
    valid_from  timestamptz NOT NULL,
    valid_until timestamptz,
    note        text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    lifted_at   timestamptz,
    lift_reason text,
    PRIMARY KEY (person_id, mark_id),
    CHECK (valid_until IS NULL OR valid_until > valid_from),
    CHECK ((lifted_at IS NULL) = (lift_reason IS NULL))
);
COMMENT ON TABLE risk_mark IS 'risk marks with their validity window; lifting records lifted_at';
SELECT pg_catalog.pg_extension_config_dump('risk_mark', '');

CREATE TABLE risk_area (
    area_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    place       text NOT NULL,
    note        text,
    declared_at timestamptz NOT NULL DEFAULT now(),
    lifted_at   timestamptz
);
COMMENT ON TABLE risk_area IS 'risk areas: a declared travel place starting with the area name matches';
CREATE UNIQUE INDEX risk_area_active ON risk_area (place) WHERE lifted_at IS NULL;
SELECT pg_catalog.pg_extension_config_dump('risk_area', '');

-- A note or reason: trimmed, at most 500 characters (NULL stays NULL).
CREATE FUNCTION hp_note(field text, value text, required boolean) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    v text := nullif(btrim(value), '');
BEGIN
    IF v IS NULL AND required THEN
        RAISE EXCEPTION '% is missing', field
            USING ERRCODE = '22023', DETAIL = format('Give the %s in a few words.', field);
    END IF;
    IF length(v) > 500 THEN
        RAISE EXCEPTION '% is % characters long', field, length(v)
            USING ERRCODE = '54000', DETAIL = format('The %s has at most 500 characters.', field);
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION hp_note(text, text, boolean) IS 'checked note text (internal)';

CREATE FUNCTION set_risk_mark(
    person_id bigint, kind text,
    valid_from timestamptz DEFAULT now(), valid_until timestamptz DEFAULT NULL,
    note text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(set_risk_mark.person_id);
    k risk_mark_kind;
    id bigint;
BEGIN
    IF kind IS NULL OR NOT kind = ANY (enum_range(NULL::risk_mark_kind)::text[]) THEN
        RAISE EXCEPTION 'risk mark kind "%" is not valid', kind
            USING ERRCODE = '22023',
                  DETAIL = format('A risk mark is one of: %s.', array_to_string(enum_range(NULL::risk_mark_kind), ', '));
    END IF;
    k := kind::risk_mark_kind;
    IF set_risk_mark.valid_from IS NULL THEN
        RAISE EXCEPTION 'valid_from is missing'
            USING ERRCODE = '22023', DETAIL = 'A risk mark starts at a given instant.';
    END IF;
    IF set_risk_mark.valid_until IS NOT NULL AND set_risk_mark.valid_until <= set_risk_mark.valid_from THEN
        RAISE EXCEPTION 'validity window "%" to "%" is empty', set_risk_mark.valid_from, set_risk_mark.valid_until
            USING ERRCODE = '22008', DETAIL = 'A risk mark ends after it starts.';
    END IF;
    IF set_risk_mark.valid_until IS NOT NULL AND set_risk_mark.valid_until <= now() THEN
        RAISE EXCEPTION 'validity window ends in the past at "%"', set_risk_mark.valid_until
            USING ERRCODE = '22008', DETAIL = 'A risk mark is recorded before it ends.';
    END IF;
    INSERT INTO risk_mark AS m (person_id, kind, valid_from, valid_until, note)
    VALUES (p.person_id, k, set_risk_mark.valid_from, set_risk_mark.valid_until,
            hp_note('note', set_risk_mark.note, false))
    RETURNING m.mark_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION set_risk_mark(bigint, text, timestamptz, timestamptz, text) IS
    'mark a person (confirmed, suspected, close_contact, secondary_contact, risk_area_arrival) for a window; returns mark_id; the colour is recomputed';

CREATE FUNCTION lift_risk_mark(person_id bigint, mark_id bigint, reason text) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    m risk_mark;
    why text := hp_note('reason', lift_risk_mark.reason, true);
BEGIN
    SELECT * INTO m FROM risk_mark r
     WHERE r.person_id = lift_risk_mark.person_id AND r.mark_id = lift_risk_mark.mark_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no risk mark %', lift_risk_mark.person_id, lift_risk_mark.mark_id
            USING ERRCODE = 'P0002', DETAIL = 'Marks are named by the person and the mark id set_risk_mark returned.';
    END IF;
    IF m.lifted_at IS NOT NULL THEN
        RAISE EXCEPTION 'risk mark % was already lifted at %', m.mark_id, m.lifted_at
            USING ERRCODE = '55000', DETAIL = 'A mark is lifted once.';
    END IF;
    IF m.valid_until IS NOT NULL AND m.valid_until <= now() THEN
        RAISE EXCEPTION 'risk mark % already ended at %', m.mark_id, m.valid_until
            USING ERRCODE = '55000', DETAIL = 'Only a current or future mark can be lifted.';
    END IF;
    UPDATE risk_mark r SET lifted_at = now(), lift_reason = why
     WHERE r.person_id = m.person_id AND r.mark_id = m.mark_id;
    RETURN now();
END
$$;
COMMENT ON FUNCTION lift_risk_mark(bigint, bigint, text) IS 'lift a risk mark early (with a reason); the colour is recomputed';

CREATE FUNCTION risk_marks(person_id bigint)
    RETURNS TABLE (mark_id bigint, kind risk_mark_kind, valid_from timestamptz, valid_until timestamptz,
                   active boolean, note text, recorded_at timestamptz, lifted_at timestamptz, lift_reason text)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(risk_marks.person_id);
BEGIN
    RETURN QUERY
        SELECT m.mark_id, m.kind, m.valid_from, m.valid_until,
               m.lifted_at IS NULL AND m.valid_from <= now()
               AND (m.valid_until IS NULL OR m.valid_until > now()),
               m.note, m.recorded_at, m.lifted_at, m.lift_reason
          FROM risk_mark m WHERE m.person_id = p.person_id
         ORDER BY m.recorded_at DESC, m.mark_id DESC;
END
$$;
COMMENT ON FUNCTION risk_marks(bigint) IS 'a person''s risk marks, newest first, with whether each is active now';

-- Risk areas ---------------------------------------------------------------

CREATE FUNCTION declare_risk_area(place text, note text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    pl text := hp_clean_place('risk area', place);
    id bigint;
BEGIN
    -- no declaration may slip in between the area and the re-colouring
    LOCK TABLE health_declaration IN SHARE MODE;
    IF EXISTS (SELECT 1 FROM risk_area a WHERE a.place = pl AND a.lifted_at IS NULL) THEN
        RAISE EXCEPTION 'risk area "%" is already declared', pl
            USING ERRCODE = '23505', DETAIL = 'An area is declared once until it is lifted.';
    END IF;
    INSERT INTO risk_area AS a (place, note) VALUES (pl, hp_note('note', declare_risk_area.note, false))
    RETURNING a.area_id INTO id;
    PERFORM hp_recolour_place(pl);
    RETURN id;
END
$$;
COMMENT ON FUNCTION declare_risk_area(text, text) IS
    'declare a risk area; everyone whose declaration in force lists a matching place is re-coloured at once (progress as NOTICEs)';

CREATE FUNCTION lift_risk_area(area_id bigint) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    a risk_area;
BEGIN
    LOCK TABLE health_declaration IN SHARE MODE;
    SELECT * INTO a FROM risk_area r WHERE r.area_id = lift_risk_area.area_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'risk area % does not exist', lift_risk_area.area_id
            USING ERRCODE = 'P0002', DETAIL = 'Areas are named by the id declare_risk_area returned.';
    END IF;
    IF a.lifted_at IS NOT NULL THEN
        RAISE EXCEPTION 'risk area "%" was already lifted at %', a.place, a.lifted_at
            USING ERRCODE = '55000', DETAIL = 'An area is lifted once.';
    END IF;
    UPDATE risk_area r SET lifted_at = now() WHERE r.area_id = a.area_id;
    PERFORM hp_recolour_place(a.place);
    RETURN now();
END
$$;
COMMENT ON FUNCTION lift_risk_area(bigint) IS 'lift a risk area; the people it affected are re-coloured at once';

CREATE FUNCTION risk_areas(include_lifted boolean DEFAULT false)
    RETURNS TABLE (area_id bigint, place text, note text, declared_at timestamptz, lifted_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
    SELECT a.area_id, a.place, a.note, a.declared_at, a.lifted_at
      FROM risk_area a
     WHERE include_lifted OR a.lifted_at IS NULL
     ORDER BY a.declared_at, a.area_id
$$;
COMMENT ON FUNCTION risk_areas(boolean) IS 'risk areas in force (and lifted ones when asked), oldest first';

GRANT EXECUTE ON FUNCTION
    set_risk_mark(bigint, text, timestamptz, timestamptz, text),
    lift_risk_mark(bigint, bigint, text),
    risk_marks(bigint),
    declare_risk_area(text, text),
    lift_risk_area(bigint)
    TO healthpass_health, healthpass_admin;
GRANT EXECUTE ON FUNCTION risk_areas(boolean)
    TO healthpass_health, healthpass_admin, healthpass_app, healthpass_scanner, healthpass_report;

-- ===== sql/ext/54_rules.sql
-- 54_rules.sql: colour rules as data.
--
-- The colour of a person at an instant is computed from FACTS, a fixed set
-- of named, typed values derived from what was known at that instant
-- (declarations, results and marks recorded by then, risk areas in force).
-- A RULE says: when this condition on the facts holds, the colour is at
-- least this, for this reason. The worst colour of all matching rules wins;
-- the reasons are those of the matching rules of that colour, in priority
-- order. When no rule matches the colour is yellow ("no colour rule applies:
-- check the person"), so a gap in the rules never lets anyone through.
--
-- Conditions are JSON, not SQL. An administrator writes e.g.
--   {"fact": "temperature", "op": ">=", "value": 37.3}
--   {"all": [{"fact": "travel_history"}, {"not": {"fact": "last_negative_at", "op": "within", "value": "3 days"}}]}
-- The extension checks every fact name against the catalogue, every
-- operator against the fact's type, every value against that type, and
-- compiles the whole rule set into ONE SQL expression per rule, with values
-- only ever as quoted, typed literals. No text an administrator writes is
-- ever run as SQL, so a rule cannot read other tables, call functions or
-- change data; it can only be wrong about health, which the reasons make
-- visible. The compiled rule set is evaluated set-wise over any number of
-- people in one statement.
--
-- Rules are never changed in place. Every change (add, replace, retire)
-- makes a new RULE SET VERSION: the list of rule ids in force, its compiled
-- SQL and the instant it was activated. Colours at any past instant are
-- computed with the version then in force, and a colour's rule ids always
-- name the rules (and reason texts) that produced it.

-- The facts a condition may use.
CREATE TABLE colour_fact (
    name        text PRIMARY KEY,
    type        text NOT NULL CHECK (type IN ('boolean', 'numeric', 'text', 'timestamptz')),
    description text NOT NULL
);
COMMENT ON TABLE colour_fact IS 'the catalogue of facts that colour-rule conditions may use';
INSERT INTO colour_fact VALUES
    ('has_declaration',        'boolean',     'the person has made at least one health declaration'),
    ('declaration_valid',      'boolean',     'the latest declaration is still valid'),
    ('declaration_expired',    'boolean',     'the person has declared, but the latest declaration has lapsed'),
    ('fever_today',            'boolean',     'the declaration in force reports fever or symptoms today'),
    ('contact_history',        'boolean',     'the declaration in force reports contact with a case in the last 14 days'),
    ('travel_history',         'boolean',     'the declaration in force lists places visited in the last 14 days'),
    ('travel_risk_area',       'boolean',     'a place in the declaration in force lies in a risk area in force'),
    ('temperature',            'numeric',     'temperature (°C) in the declaration in force; missing when not measured'),
    ('destination_city',       'text',        'destination city of the declaration in force'),
    ('latest_result',          'text',        'result of the latest nucleic-acid test sampled in the last 14 days: negative, positive or pending; missing when none'),
    ('last_negative_at',       'timestamptz', 'sampling time of the latest negative test in the last 14 days; missing when none'),
    ('mark_confirmed',         'boolean',     'an active risk mark: confirmed case'),
    ('mark_suspected',         'boolean',     'an active risk mark: suspected case'),
    ('mark_close_contact',     'boolean',     'an active risk mark: close contact'),
    ('mark_secondary_contact', 'boolean',     'an active risk mark: secondary contact'),
    ('mark_risk_area_arrival', 'boolean',     'an active risk mark: arrived from a risk area');

-- The facts of people at instants, from what had been recorded by each
-- instant. ids and ats are parallel arrays (person, instant); lo and hi
-- bound the person ids so that each table is read by an index range (bulk
-- batches pass contiguous ids). next_change is the earliest later instant
-- at which a fact changes by time alone (a declaration lapses, a mark
-- starts or ends, a test leaves the 14-day window).
-- Internal: inlined into the compiled rule-set query (LANGUAGE sql, no SET).
CREATE FUNCTION colour_facts(lo bigint, hi bigint, ids bigint[], ats timestamptz[])
    RETURNS TABLE (person_id bigint, at timestamptz,
                   has_declaration boolean, declaration_valid boolean, declaration_expired boolean,
                   fever_today boolean, contact_history boolean, travel_history boolean,
                   travel_risk_area boolean, temperature numeric, destination_city text,
                   latest_result text, last_negative_at timestamptz,
                   mark_confirmed boolean, mark_suspected boolean, mark_close_contact boolean,
                   mark_secondary_contact boolean, mark_risk_area_arrival boolean,
                   next_change timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH req AS MATERIALIZED (
        SELECT r.person_id, r.at FROM unnest(ids, ats) AS r(person_id, at)
    ), decl AS (
        SELECT DISTINCT ON (d.person_id)
               d.person_id, d.valid_until > r.at AS valid, d.valid_until,
               d.fever_today, d.contact_14d, d.travel_places, d.destination_city, d.temperature
          FROM healthpass.health_declaration d
          JOIN req r ON r.person_id = d.person_id
         WHERE d.person_id BETWEEN lo AND hi AND d.declared_at <= r.at
         ORDER BY d.person_id, d.declared_at DESC, d.declaration_id DESC
    ), sample AS (
        SELECT DISTINCT ON (t.person_id, t.institution, t.sample_ref)
               t.person_id, t.sampled_at, t.result
          FROM healthpass.test_result t
          JOIN req r ON r.person_id = t.person_id
         WHERE t.person_id BETWEEN lo AND hi AND t.recorded_at <= r.at
           AND t.sampled_at <= r.at AND t.sampled_at > r.at - healthpass.result_window()
         ORDER BY t.person_id, t.institution, t.sample_ref, t.recorded_at DESC, t.result_id DESC
    ), res AS (
        SELECT s.person_id,
               (array_agg(s.result ORDER BY s.sampled_at DESC, s.result))[1] AS latest_result,
               max(s.sampled_at) FILTER (WHERE s.result = 'negative') AS last_negative_at,
               min(s.sampled_at) + healthpass.result_window() AS leaves_window
          FROM sample s
         GROUP BY s.person_id
    ), mark AS (
        SELECT m.person_id,
               bool_or(m.kind = 'confirmed' AND m.valid_from <= r.at) AS confirmed,
               bool_or(m.kind = 'suspected' AND m.valid_from <= r.at) AS suspected,
               bool_or(m.kind = 'close_contact' AND m.valid_from <= r.at) AS close_contact,
               bool_or(m.kind = 'secondary_contact' AND m.valid_from <= r.at) AS secondary_contact,
               bool_or(m.kind = 'risk_area_arrival' AND m.valid_from <= r.at) AS risk_area_arrival,
               least(min(m.valid_from) FILTER (WHERE m.valid_from > r.at),
                     min(m.valid_until)) AS next_change
          FROM healthpass.risk_mark m
          JOIN req r ON r.person_id = m.person_id
         WHERE m.person_id BETWEEN lo AND hi AND m.recorded_at <= r.at
           AND (m.lifted_at IS NULL OR m.lifted_at > r.at)
           AND (m.valid_until IS NULL OR m.valid_until > r.at)
         GROUP BY m.person_id
    )
    SELECT r.person_id, r.at,
           decl.person_id IS NOT NULL,
           coalesce(decl.valid, false),
           coalesce(NOT decl.valid, false),
           coalesce(decl.valid AND decl.fever_today, false),
           coalesce(decl.valid AND decl.contact_14d, false),
           coalesce(decl.valid AND cardinality(decl.travel_places) > 0, false),
           coalesce(decl.valid AND cardinality(decl.travel_places) > 0 AND EXISTS (
               SELECT 1 FROM unnest(decl.travel_places) AS pl(place)
                 JOIN healthpass.risk_area a ON starts_with(pl.place, a.place)
                WHERE a.declared_at <= r.at AND (a.lifted_at IS NULL OR a.lifted_at > r.at)), false),
           CASE WHEN decl.valid THEN decl.temperature END,
           CASE WHEN decl.valid THEN decl.destination_city END,
           res.latest_result,
           res.last_negative_at,
           coalesce(mark.confirmed, false),
           coalesce(mark.suspected, false),
           coalesce(mark.close_contact, false),
           coalesce(mark.secondary_contact, false),
           coalesce(mark.risk_area_arrival, false),
           least(CASE WHEN decl.valid THEN decl.valid_until END, res.leaves_window, mark.next_change)
      FROM req r
      LEFT JOIN decl ON decl.person_id = r.person_id
      LEFT JOIN res ON res.person_id = r.person_id
      LEFT JOIN mark ON mark.person_id = r.person_id
$$;
COMMENT ON FUNCTION colour_facts(bigint, bigint, bigint[], timestamptz[]) IS
    'facts of people at instants from what was recorded by then (internal; inlined into compiled rule sets)';

-- Rules: immutable; which ones are in force is the rule set's business.
CREATE TABLE colour_rule (
    rule_id    integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    colour     health_colour NOT NULL,
    reason     text NOT NULL,
    priority   integer NOT NULL,
    condition  jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE colour_rule IS 'colour rules (never updated): condition on facts, colour, reason, priority';

-- Rule set versions: the rules in force from activated_at, and their SQL.
CREATE TABLE colour_ruleset (
    version      integer PRIMARY KEY,
    activated_at timestamptz NOT NULL,
    rule_ids     integer[] NOT NULL,
    compiled     text NOT NULL,
    note         text,
    created_by   name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE colour_ruleset IS 'rule set versions: rule ids in force from activated_at, compiled to one SQL query';
CREATE INDEX colour_ruleset_activated ON colour_ruleset (activated_at);

-- Compiles one condition into a boolean SQL expression over the facts row
-- "f". Appends the instants at which a time-window test changes its answer
-- to boundaries. Raises 22023 for anything not in the grammar and 54000 when
-- it is too deep or too large.
CREATE FUNCTION hp_compile_condition(cond jsonb, path text, depth integer,
                                     INOUT nodes integer, INOUT boundaries text[],
                                     OUT sql text)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    key text;
    keys text[];
    fact colour_fact;
    op text;
    val jsonb;
    parts text[] := '{}';
    sub record;
    i integer;
    lit text;
    iv interval;
    col text;
BEGIN
    nodes := nodes + 1;
    IF depth > 10 THEN
        RAISE EXCEPTION 'condition is nested deeper than 10 levels at %', path
            USING ERRCODE = '54000', DETAIL = 'Write a flatter condition with "all" or "any".';
    END IF;
    IF nodes > 100 THEN
        RAISE EXCEPTION 'condition has more than 100 parts at %', path
            USING ERRCODE = '54000', DETAIL = 'Split the condition into several rules.';
    END IF;
    IF cond IS NULL OR jsonb_typeof(cond) = 'null' THEN
        RAISE EXCEPTION 'condition at % is missing', path
            USING ERRCODE = '22023', DETAIL = 'A condition is true, false or a JSON object.';
    END IF;
    IF jsonb_typeof(cond) = 'boolean' THEN
        sql := CASE WHEN cond::text = 'true' THEN 'true' ELSE 'false' END;
        RETURN;
    END IF;
    IF jsonb_typeof(cond) <> 'object' THEN
        RAISE EXCEPTION 'condition % at % is not an object', cond, path
            USING ERRCODE = '22023', DETAIL = 'A condition is true, false or a JSON object.';
    END IF;
    SELECT array_agg(k ORDER BY k) INTO keys FROM jsonb_object_keys(cond) k;

    IF keys = ARRAY['all'] OR keys = ARRAY['any'] THEN
        key := keys[1];
        IF jsonb_typeof(cond->key) <> 'array' OR jsonb_array_length(cond->key) = 0 THEN
            RAISE EXCEPTION '"%" at % needs a non-empty array of conditions', key, path
                USING ERRCODE = '22023', DETAIL = format('Write {"%s": [condition, ...]}.', key);
        END IF;
        FOR i IN 0 .. jsonb_array_length(cond->key) - 1 LOOP
            sub := hp_compile_condition(cond->key->i, format('%s.%s[%s]', path, key, i), depth + 1, nodes, boundaries);
            nodes := sub.nodes;
            boundaries := sub.boundaries;
            parts := parts || sub.sql;
        END LOOP;
        sql := '(' || array_to_string(parts, CASE key WHEN 'all' THEN ' AND ' ELSE ' OR ' END) || ')';
        RETURN;
    END IF;
    IF keys = ARRAY['not'] THEN
        sub := hp_compile_condition(cond->'not', path || '.not', depth + 1, nodes, boundaries);
        nodes := sub.nodes;
        boundaries := sub.boundaries;
        sql := '(NOT ' || sub.sql || ')';
        RETURN;
    END IF;
    IF NOT ('fact' = ANY (keys)) OR NOT keys <@ ARRAY['fact', 'op', 'value'] THEN
        RAISE EXCEPTION 'condition % at % is not understood', cond, path
            USING ERRCODE = '22023',
                  DETAIL = 'A condition is {"fact": name, "op": operator, "value": value}, {"all": [...]}, {"any": [...]}, {"not": condition}, true or false.';
    END IF;

    SELECT * INTO fact FROM colour_fact c WHERE c.name = cond->>'fact';
    IF NOT FOUND OR jsonb_typeof(cond->'fact') <> 'string' THEN
        RAISE EXCEPTION 'unknown fact "%" at %', cond->>'fact', path
            USING ERRCODE = '22023',
                  DETAIL = format('The facts are: %s.', (SELECT string_agg(c.name, ', ' ORDER BY c.name) FROM colour_fact c));
    END IF;
    col := 'f.' || quote_ident(fact.name);
    op := cond->>'op';
    val := cond->'value';
    IF op IS NULL THEN
        IF fact.type <> 'boolean' OR cond ? 'value' THEN
            RAISE EXCEPTION 'fact "%" at % needs an operator', fact.name, path
                USING ERRCODE = '22023', DETAIL = 'Only a boolean fact may stand alone, meaning "is true".';
        END IF;
        sql := format('coalesce(%s, false)', col);
        RETURN;
    END IF;
    IF op IN ('is_missing', 'is_present') THEN
        IF cond ? 'value' THEN
            RAISE EXCEPTION 'operator "%" at % takes no value', op, path
                USING ERRCODE = '22023', DETAIL = 'Write {"fact": name, "op": "is_missing"} or "is_present".';
        END IF;
        sql := format('(%s IS %sNULL)', col, CASE op WHEN 'is_present' THEN 'NOT ' ELSE '' END);
        RETURN;
    END IF;
    IF NOT cond ? 'value' THEN
        RAISE EXCEPTION 'operator "%" at % needs a value', op, path
            USING ERRCODE = '22023', DETAIL = 'Write {"fact": name, "op": operator, "value": value}.';
    END IF;

    CASE fact.type
    WHEN 'boolean' THEN
        IF op NOT IN ('=', '<>') OR jsonb_typeof(val) <> 'boolean' THEN
            RAISE EXCEPTION 'fact "%" at % is compared with = or <> to true or false', fact.name, path
                USING ERRCODE = '22023', DETAIL = format('Got operator "%s" and value %s.', op, val);
        END IF;
        sql := format('coalesce(%s %s %s, false)', col, op, val::text);
    WHEN 'numeric' THEN
        IF op NOT IN ('=', '<>', '<', '<=', '>', '>=') OR jsonb_typeof(val) <> 'number' THEN
            RAISE EXCEPTION 'fact "%" at % is compared with =, <>, <, <=, > or >= to a number', fact.name, path
                USING ERRCODE = '22023', DETAIL = format('Got operator "%s" and value %s.', op, val);
        END IF;
        sql := format('coalesce(%s %s %L::numeric, false)', col, op, (val #>> '{}')::numeric);
    WHEN 'text' THEN
        IF op IN ('=', '<>') AND jsonb_typeof(val) = 'string' THEN
            IF length(val #>> '{}') > 200 THEN
                RAISE EXCEPTION 'value at % is too long', path
                    USING ERRCODE = '54000', DETAIL = 'A text value has at most 200 characters.';
            END IF;
            sql := format('coalesce(%s %s %L::text, false)', col, op, val #>> '{}');
        ELSIF op IN ('in', 'not_in') AND jsonb_typeof(val) = 'array' AND jsonb_array_length(val) > 0
              AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(val) e WHERE jsonb_typeof(e) <> 'string') THEN
            IF jsonb_array_length(val) > 50 THEN
                RAISE EXCEPTION 'value list at % has % entries', path, jsonb_array_length(val)
                    USING ERRCODE = '54000', DETAIL = 'A value list has at most 50 entries.';
            END IF;
            SELECT string_agg(quote_literal(e), ', ' ORDER BY o) INTO lit
              FROM jsonb_array_elements_text(val) WITH ORDINALITY AS x(e, o);
            sql := format('%scoalesce(%s = ANY (ARRAY[%s]::text[]), false)',
                          CASE op WHEN 'not_in' THEN 'NOT ' ELSE '' END, col, lit);
        ELSE
            RAISE EXCEPTION 'fact "%" at % is compared with = or <> to a string, or with in or not_in to a list of strings', fact.name, path
                USING ERRCODE = '22023', DETAIL = format('Got operator "%s" and value %s.', op, val);
        END IF;
    WHEN 'timestamptz' THEN
        IF op NOT IN ('within', 'not_within') OR jsonb_typeof(val) <> 'string' THEN
            RAISE EXCEPTION 'fact "%" at % is tested with within or not_within and an interval such as "3 days"', fact.name, path
                USING ERRCODE = '22023', DETAIL = format('Got operator "%s" and value %s.', op, val);
        END IF;
        BEGIN
            iv := (val #>> '{}')::interval;
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
            RAISE EXCEPTION 'interval "%" at % is not valid', val #>> '{}', path
                USING ERRCODE = '22007', DETAIL = 'Write an interval such as "72 hours" or "7 days".';
        END;
        IF iv <= interval '0' OR iv > interval '366 days' THEN
            RAISE EXCEPTION 'interval "%" at % is out of range', val #>> '{}', path
                USING ERRCODE = '22023', DETAIL = 'A time window is longer than zero and at most 366 days.';
        END IF;
        sql := format('%scoalesce(%s > f.at - %L::interval, false)',
                      CASE op WHEN 'not_within' THEN 'NOT ' ELSE '' END, col, iv);
        boundaries := boundaries || format('%s + %L::interval', col, iv);
    END CASE;
END
$$;
COMMENT ON FUNCTION hp_compile_condition(jsonb, text, integer, integer, text[]) IS
    'checks a rule condition and compiles it to SQL over the facts row f (internal)';

-- The SQL a condition compiles to: for administrators who want to see it.
CREATE FUNCTION colour_condition_sql(condition jsonb) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    RETURN (hp_compile_condition(condition, '$', 1, 0, '{}')).sql;
END
$$;
COMMENT ON FUNCTION colour_condition_sql(jsonb) IS 'checks a rule condition and shows the SQL it compiles to';

-- The compiled query of a list of rules. Parameters: $1 lo, $2 hi, $3 ids,
-- $4 ats (as colour_facts). Columns: person_id, at, colour, rule_ids (the
-- matching rules of the winning colour, by priority), recheck_at (the next
-- instant the answer may change by time alone).
CREATE FUNCTION hp_compile_ruleset(rule_ids integer[]) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    r record;
    c record;
    bounds text[] := '{}';
    colour_terms text[] := '{}';
    lists text := '';
    cases text := '';
    members text[];
BEGIN
    FOR r IN SELECT cr.* FROM colour_rule cr
              WHERE cr.rule_id = ANY (rule_ids)
              ORDER BY cr.priority, cr.rule_id LOOP
        c := hp_compile_condition(r.condition, format('rule %s', r.rule_id), 1, 0, '{}');
        bounds := bounds || c.boundaries;
        colour_terms := colour_terms
            || format('CASE WHEN %s THEN %L::healthpass.health_colour END', c.sql, r.colour);
    END LOOP;
    FOR c IN SELECT e.colour FROM unnest(enum_range(NULL::health_colour)) AS e(colour) LOOP
        SELECT array_agg(format('CASE WHEN %s THEN %s END',
                                (hp_compile_condition(cr.condition, '$', 1, 0, '{}')).sql, cr.rule_id)
                         ORDER BY cr.priority, cr.rule_id)
          INTO members
          FROM colour_rule cr
         WHERE cr.rule_id = ANY (rule_ids) AND cr.colour = c.colour;
        lists := lists || format(E',\n           %s AS %I',
            CASE WHEN members IS NULL THEN '''{}''::integer[]'
                 ELSE format('array_remove(ARRAY[%s]::integer[], NULL)', array_to_string(members, ', ')) END,
            'r_' || c.colour);
        cases := cases || format(' WHEN %L THEN x.%I', c.colour, 'r_' || c.colour);
    END LOOP;
    RETURN format(
        E'SELECT f.person_id, f.at, x.colour,\n'
        '       CASE x.colour%s END AS rule_ids,\n'
        '       LEAST(%s) AS recheck_at\n'
        '  FROM healthpass.colour_facts($1, $2, $3, $4) f\n'
        '  CROSS JOIN LATERAL (\n'
        '    SELECT %s AS colour%s\n'
        '  ) x',
        cases,
        array_to_string(ARRAY['f.next_change']
            || ARRAY(SELECT format('CASE WHEN %s > f.at THEN %s END', b, b) FROM unnest(bounds) b), ', '),
        CASE WHEN cardinality(colour_terms) = 0 THEN '''yellow''::healthpass.health_colour'
             ELSE format('coalesce(GREATEST(%s), ''yellow'')', array_to_string(colour_terms, E',\n             ')) END,
        lists);
END
$$;
COMMENT ON FUNCTION hp_compile_ruleset(integer[]) IS 'compiles a list of rules into one set-wise query (internal)';

-- Makes a new rule set version from a list of rule ids, activates it now
-- and queues the re-colouring of everyone under it (hp_recolour_job_for,
-- 55_status.sql).
CREATE FUNCTION hp_activate_ruleset(rule_ids integer[], note text) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    v integer;
    ids integer[] := ARRAY(SELECT DISTINCT x FROM unnest(rule_ids) x WHERE x IS NOT NULL ORDER BY x);
BEGIN
    SELECT coalesce(max(s.version), 0) + 1 INTO v FROM colour_ruleset s;
    INSERT INTO colour_ruleset (version, activated_at, rule_ids, compiled, note)
    VALUES (v, greatest(now(), coalesce((SELECT max(s.activated_at) FROM colour_ruleset s), now())),
            ids, hp_compile_ruleset(ids), note);
    PERFORM hp_recolour_job_for(v);
    RETURN v;
END
$$;
COMMENT ON FUNCTION hp_activate_ruleset(integer[], text) IS 'new rule set version in force from now, re-colouring queued (internal)';

-- The rule set in force: the highest version (locked when asked, so that
-- rule changes are serialised).
CREATE FUNCTION hp_current_ruleset(lock boolean DEFAULT false) RETURNS colour_ruleset
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    s colour_ruleset;
BEGIN
    IF lock THEN
        LOCK TABLE colour_ruleset IN SHARE ROW EXCLUSIVE MODE;
    END IF;
    SELECT * INTO s FROM colour_ruleset ORDER BY version DESC LIMIT 1;
    RETURN s;
END
$$;
COMMENT ON FUNCTION hp_current_ruleset(boolean) IS 'the latest rule set version (internal)';

-- Checks the parts of a rule; returns the trimmed reason.
CREATE FUNCTION hp_check_rule(colour health_colour, reason text, condition jsonb, priority integer) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    why text := btrim(reason);
BEGIN
    IF colour IS NULL THEN
        RAISE EXCEPTION 'rule colour is missing'
            USING ERRCODE = '22023', DETAIL = 'A rule gives green, light_green, yellow or red.';
    END IF;
    IF why IS NULL OR why = '' OR length(why) > 200 OR why ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'rule reason "%" is not valid', coalesce(reason, '')
            USING ERRCODE = '22023', DETAIL = 'A reason is 1 to 200 characters without control characters; people read it.';
    END IF;
    IF priority IS NULL OR priority NOT BETWEEN 0 AND 100000 THEN
        RAISE EXCEPTION 'rule priority % is out of range', priority
            USING ERRCODE = '22023', DETAIL = 'Priorities run from 0 (listed first) to 100000.';
    END IF;
    PERFORM hp_compile_condition(condition, '$', 1, 0, '{}');
    RETURN why;
END
$$;
COMMENT ON FUNCTION hp_check_rule(health_colour, text, jsonb, integer) IS 'checks a rule (internal)';

CREATE FUNCTION add_colour_rule(colour health_colour, reason text, condition jsonb,
                                priority integer DEFAULT 1000) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    cur colour_ruleset := hp_current_ruleset(true);
    why text := hp_check_rule(colour, reason, condition, priority);
    id integer;
BEGIN
    INSERT INTO colour_rule AS r (colour, reason, priority, condition)
    VALUES (add_colour_rule.colour, why, add_colour_rule.priority, add_colour_rule.condition)
    RETURNING r.rule_id INTO id;
    PERFORM hp_activate_ruleset(cur.rule_ids || id, format('add rule %s', id));
    RETURN id;
END
$$;
COMMENT ON FUNCTION add_colour_rule(health_colour, text, jsonb, integer) IS
    'add a colour rule; returns its id; a new rule set version is in force at once and a re-colouring job is queued';

CREATE FUNCTION replace_colour_rule(rule_id integer, colour health_colour, reason text,
                                    condition jsonb, priority integer DEFAULT 1000) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    cur colour_ruleset := hp_current_ruleset(true);
    why text := hp_check_rule(colour, reason, condition, priority);
    id integer;
BEGIN
    IF replace_colour_rule.rule_id IS NULL OR NOT replace_colour_rule.rule_id = ANY (cur.rule_ids) THEN
        RAISE EXCEPTION 'colour rule % is not in force', replace_colour_rule.rule_id
            USING ERRCODE = 'P0002', DETAIL = format('The rules in force are %s.', array_to_string(cur.rule_ids, ', '));
    END IF;
    INSERT INTO colour_rule AS r (colour, reason, priority, condition)
    VALUES (replace_colour_rule.colour, why, replace_colour_rule.priority, replace_colour_rule.condition)
    RETURNING r.rule_id INTO id;
    PERFORM hp_activate_ruleset(array_remove(cur.rule_ids, replace_colour_rule.rule_id) || id,
                                format('replace rule %s by %s', replace_colour_rule.rule_id, id));
    RETURN id;
END
$$;
COMMENT ON FUNCTION replace_colour_rule(integer, health_colour, text, jsonb, integer) IS
    'replace a rule in force by a new one; returns the new rule id; the old one stays in the history';

CREATE FUNCTION retire_colour_rule(rule_id integer) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    cur colour_ruleset := hp_current_ruleset(true);
BEGIN
    IF retire_colour_rule.rule_id IS NULL OR NOT retire_colour_rule.rule_id = ANY (cur.rule_ids) THEN
        RAISE EXCEPTION 'colour rule % is not in force', retire_colour_rule.rule_id
            USING ERRCODE = 'P0002', DETAIL = format('The rules in force are %s.', array_to_string(cur.rule_ids, ', '));
    END IF;
    RETURN hp_activate_ruleset(array_remove(cur.rule_ids, retire_colour_rule.rule_id),
                               format('retire rule %s', retire_colour_rule.rule_id));
END
$$;
COMMENT ON FUNCTION retire_colour_rule(integer) IS
    'take a rule out of force; returns the new rule set version';

CREATE FUNCTION colour_rules(version integer DEFAULT NULL)
    RETURNS TABLE (rule_id integer, priority integer, colour health_colour, reason text,
                   condition jsonb, created_at timestamptz, created_by name)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    ids integer[];
BEGIN
    IF version IS NULL THEN
        SELECT s.rule_ids INTO ids FROM colour_ruleset s ORDER BY s.version DESC LIMIT 1;
    ELSE
        SELECT s.rule_ids INTO ids FROM colour_ruleset s WHERE s.version = colour_rules.version;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'rule set version % does not exist', version
                USING ERRCODE = 'P0002', DETAIL = 'See colour_rulesets() for the versions.';
        END IF;
    END IF;
    RETURN QUERY
        SELECT r.rule_id, r.priority, r.colour, r.reason, r.condition, r.created_at, r.created_by
          FROM colour_rule r WHERE r.rule_id = ANY (ids)
         ORDER BY r.priority, r.rule_id;
END
$$;
COMMENT ON FUNCTION colour_rules(integer) IS 'the rules of a rule set version (default: in force), by priority';

CREATE FUNCTION colour_rulesets()
    RETURNS TABLE (version integer, activated_at timestamptz, rule_ids integer[], note text, created_by name)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
    SELECT s.version, s.activated_at, s.rule_ids, s.note, s.created_by
      FROM colour_ruleset s ORDER BY s.version
$$;
COMMENT ON FUNCTION colour_rulesets() IS 'every rule set version, oldest first';

CREATE FUNCTION colour_facts_catalogue()
    RETURNS TABLE (name text, type text, description text)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
    SELECT c.name, c.type, c.description FROM colour_fact c ORDER BY c.name
$$;
COMMENT ON FUNCTION colour_facts_catalogue() IS 'the facts colour-rule conditions may use, with their types';

-- The default rules: seed 004's four colours.
INSERT INTO colour_rule (rule_id, priority, colour, reason, condition, created_by) VALUES
    (1,  10, 'red',         'confirmed case',                                     '{"fact": "mark_confirmed"}', 'healthpass'),
    (2,  20, 'red',         'suspected case',                                     '{"fact": "mark_suspected"}', 'healthpass'),
    (3,  30, 'red',         'close contact of a case',                            '{"fact": "mark_close_contact"}', 'healthpass'),
    (4,  40, 'red',         'positive nucleic-acid test in the last 14 days',     '{"fact": "latest_result", "op": "=", "value": "positive"}', 'healthpass'),
    (5,  50, 'yellow',      'secondary contact',                                  '{"fact": "mark_secondary_contact"}', 'healthpass'),
    (6,  60, 'yellow',      'arrived from a risk area',                           '{"fact": "mark_risk_area_arrival"}', 'healthpass'),
    (7,  70, 'yellow',      'travelled through a risk area in the last 14 days',  '{"fact": "travel_risk_area"}', 'healthpass'),
    (8,  80, 'yellow',      'declared fever or symptoms today',                   '{"fact": "fever_today"}', 'healthpass'),
    (9,  90, 'yellow',      'temperature 37.3 °C or higher',                      '{"fact": "temperature", "op": ">=", "value": 37.3}', 'healthpass'),
    (10, 100, 'yellow',     'declared contact with a case in the last 14 days',   '{"fact": "contact_history"}', 'healthpass'),
    (11, 110, 'yellow',     'health declaration expired: declare again',          '{"fact": "declaration_expired"}', 'healthpass'),
    (12, 120, 'light_green','no health information reported',                     '{"not": {"fact": "has_declaration"}}', 'healthpass'),
    (13, 130, 'green',      'declaration in force and no risk found',             '{"fact": "declaration_valid"}', 'healthpass');
SELECT setval(pg_get_serial_sequence('healthpass.colour_rule', 'rule_id'), 100, false);
INSERT INTO colour_ruleset (version, activated_at, rule_ids, compiled, note, created_by)
VALUES (1, '-infinity', ARRAY[1,2,3,4,5,6,7,8,9,10,11,12,13],
        hp_compile_ruleset(ARRAY[1,2,3,4,5,6,7,8,9,10,11,12,13]), 'default rules (seed 004)', 'healthpass');

-- administrators' rules and rule sets are dumped; the defaults come with the extension
SELECT pg_catalog.pg_extension_config_dump('colour_rule', 'WHERE rule_id > 13');
SELECT pg_catalog.pg_extension_config_dump('colour_ruleset', 'WHERE version > 1');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.colour_rule', 'rule_id'), '');

GRANT EXECUTE ON FUNCTION
    add_colour_rule(health_colour, text, jsonb, integer),
    replace_colour_rule(integer, health_colour, text, jsonb, integer),
    retire_colour_rule(integer)
    TO healthpass_admin;
GRANT EXECUTE ON FUNCTION
    colour_condition_sql(jsonb),
    colour_rules(integer),
    colour_rulesets(),
    colour_facts_catalogue()
    TO healthpass_admin, healthpass_health, healthpass_report;

-- ===== sql/ext/55_status.sql
-- 55_status.sql: each person's colour now and at any past instant.
--
-- The colour of a person at an instant t is a pure function:
--     colour(p, t) = rules in force at t applied to the facts known at t
-- (declarations, results and marks recorded by t; risk areas in force at t).
-- Nothing that is recorded is ever changed in a way that alters what was
-- known at an earlier instant, so this function gives the same answer
-- whenever it is asked. healthpass MATERIALISES it:
--
--   colour_current  one row per person: the colour now, since when, the
--                   matching rules, the rule set version it was computed
--                   with, and recheck_at, the next instant at which it may
--                   change by time alone (a declaration lapses, a mark
--                   starts or ends, a test leaves the 14-day window)
--   colour_history  every earlier period [since, until) with its colour and
--                   rules; an exclusion constraint forbids two periods of one
--                   person to overlap
--
-- Changes are materialised at the exact instant they happen:
--   * input changes: row triggers on declarations, results and marks
--     re-colour that person in the same transaction;
--   * time: colour_tick() (schedule it every minute, e.g. with pg_cron)
--     materialises every change whose instant has passed; every read that
--     writes (health_status, health_code, the e-pass page) does the same
--     for its person first;
--   * rule changes: a re-colouring job (recolour_run / recolour_step) brings
--     everyone to the new rule set, set-wise, in batches, with progress;
--   * risk areas: declare_risk_area / lift_risk_area re-colour the people
--     whose declaration lists a matching place at once.
-- Reads that do not write (colour_at, colour_status, verify_health_code)
-- use the materialised period when it is known to cover the instant and
-- otherwise compute the colour on the spot: the answer is exact either way.

CREATE TABLE colour_current (
    person_id  bigint PRIMARY KEY,
    colour     health_colour NOT NULL,
    rule_ids   integer[] NOT NULL,
    since      timestamptz NOT NULL,
    ruleset    integer NOT NULL,
    recheck_at timestamptz
) WITH (fillfactor = 80);
COMMENT ON TABLE colour_current IS
    'each person''s colour now: since when, matching rules, rule set version, next time-driven re-check';
CREATE INDEX colour_current_recheck ON colour_current (recheck_at) WHERE recheck_at IS NOT NULL;
SELECT pg_catalog.pg_extension_config_dump('colour_current', '');

-- No two periods of one person may overlap. The exclusion constraint draws
-- each period as a degenerate box in the (person, time) plane: x is the
-- person id, y runs from since to one microsecond before until, in
-- microseconds since 1970 (exact in float8 up to the year 2255, and person
-- ids up to 2^53). Two boxes share a point exactly when they belong to the
-- same person and their periods overlap; adjacent periods do not touch.
-- Boxes are what GiST indexes best among the built-in types: measured on
-- this project's 2-core machine, an insert costs ~30 us against ~60 us for
-- a pair of ranges (int8range, tstzrange), and it needs no btree_gist.
CREATE FUNCTION period_box(person_id bigint, since timestamptz, until timestamptz) RETURNS box
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN box(point(person_id, extract(epoch FROM since - timestamptz '1970-01-01 00:00:00+00') * 1000000),
               point(person_id, extract(epoch FROM until - timestamptz '1970-01-01 00:00:00+00') * 1000000 - 1));
COMMENT ON FUNCTION period_box(bigint, timestamptz, timestamptz) IS
    'a person''s period [since, until) as a box (x = person, y = microseconds) for the no-overlap constraint';

CREATE TABLE colour_history (
    person_id bigint NOT NULL,
    since     timestamptz NOT NULL,
    until     timestamptz NOT NULL,
    colour    health_colour NOT NULL,
    rule_ids  integer[] NOT NULL,
    ruleset   integer NOT NULL,
    PRIMARY KEY (person_id, since),
    CHECK (since < until),
    CONSTRAINT colour_history_no_overlap EXCLUDE USING gist (period_box(person_id, since, until) WITH &&)
);
COMMENT ON TABLE colour_history IS 'earlier colour periods [since, until) of each person; periods of one person never overlap';
SELECT pg_catalog.pg_extension_config_dump('colour_history', '');

-- The rule set version in force at an instant.
CREATE FUNCTION hp_ruleset_at(at timestamptz) RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
    SELECT s.version FROM colour_ruleset s WHERE s.activated_at <= at
     ORDER BY s.activated_at DESC, s.version DESC LIMIT 1
$$;
COMMENT ON FUNCTION hp_ruleset_at(timestamptz) IS 'rule set version in force at an instant (internal)';

-- The reason texts of a list of rule ids, in order.
CREATE FUNCTION hp_reasons(rule_ids integer[]) RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
    SELECT CASE WHEN cardinality(rule_ids) = 0 THEN ARRAY['no colour rule applies: check the person']
           ELSE ARRAY(SELECT r.reason FROM unnest(rule_ids) WITH ORDINALITY AS u(id, n)
                        JOIN colour_rule r ON r.rule_id = u.id ORDER BY u.n) END
$$;
COMMENT ON FUNCTION hp_reasons(integer[]) IS 'reason texts of rule ids, in order (internal)';

-- Computes the colour of people at instants with rule set version v and
-- writes the result: a changed colour closes the current period into the
-- history and starts a new one at the instant; an unchanged colour only
-- records the version and the next re-check. Short lists of people are
-- locked first. Without the lock (bulk batches), a person whose current row
-- another session changed meanwhile is left alone (the update re-checks
-- that the row is still the one read), and so is a request older than the
-- person's current period: the job's final sweep or the next read catches
-- them up. Returns the number of people whose colour changed or who got
-- their first colour.
CREATE FUNCTION hp_colour_apply(v integer, lo bigint, hi bigint, ids bigint[], ats timestamptz[],
                                lock_first boolean)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
    SET jit = off
    SET work_mem = '64MB'
AS $$
DECLARE
    q text;
    n bigint;
BEGIN
    SELECT s.compiled INTO STRICT q FROM colour_ruleset s WHERE s.version = v;
    IF lock_first THEN
        EXECUTE 'SELECT count(*) FROM (SELECT 1 FROM healthpass.colour_current c
                   WHERE c.person_id BETWEEN $1 AND $2 AND c.person_id IN (SELECT unnest($3))
                   ORDER BY c.person_id FOR UPDATE OF c) l'
           INTO n USING lo, hi, ids;
    END IF;
    EXECUTE format($sql$
        WITH ev AS MATERIALIZED (
            SELECT e.person_id, e.at, e.colour, e.rule_ids, e.recheck_at,
                   c.person_id IS NULL AS fresh,
                   c.since AS cur_since, c.colour AS cur_colour,
                   c.rule_ids AS cur_rule_ids, c.ruleset AS cur_ruleset,
                   (c.colour, c.rule_ids) IS DISTINCT FROM (e.colour, e.rule_ids) AS changed,
                   c.ruleset IS DISTINCT FROM $5 OR c.recheck_at IS DISTINCT FROM e.recheck_at AS touched
              FROM (%s) e
              LEFT JOIN healthpass.colour_current c ON c.person_id = e.person_id
             WHERE c.person_id IS NULL OR e.at >= c.since
        ), kept AS (
            UPDATE healthpass.colour_current c
               SET colour = ev.colour, rule_ids = ev.rule_ids,
                   since = CASE WHEN ev.changed THEN ev.at ELSE c.since END,
                   ruleset = $5, recheck_at = ev.recheck_at
              FROM ev
             WHERE c.person_id = ev.person_id AND NOT ev.fresh AND (ev.changed OR ev.touched)
               AND c.since = ev.cur_since AND c.ruleset = ev.cur_ruleset
               AND c.colour = ev.cur_colour AND c.rule_ids = ev.cur_rule_ids
            RETURNING ev.person_id, ev.cur_since, ev.at, ev.cur_colour, ev.cur_rule_ids,
                      ev.cur_ruleset, ev.changed
        ), closed AS (
            INSERT INTO healthpass.colour_history (person_id, since, until, colour, rule_ids, ruleset)
            SELECT k.person_id, k.cur_since, k.at, k.cur_colour, k.cur_rule_ids, k.cur_ruleset
              FROM kept k
             WHERE k.changed AND k.cur_since < k.at
            RETURNING 1
        ), born AS (
            INSERT INTO healthpass.colour_current (person_id, colour, rule_ids, since, ruleset, recheck_at)
            SELECT ev.person_id, ev.colour, ev.rule_ids, ev.at, $5, ev.recheck_at
              FROM ev WHERE ev.fresh
            ON CONFLICT (person_id) DO NOTHING
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM kept WHERE kept.changed) + (SELECT count(*) FROM born)
    $sql$, q) INTO n USING lo, hi, ids, ats, v;
    RETURN n;
END
$$;
COMMENT ON FUNCTION hp_colour_apply(integer, bigint, bigint, bigint[], timestamptz[], boolean) IS
    'evaluate people at instants with a rule set version and write current and history (internal)';

-- Brings people's materialised colours up to an instant: first colours at
-- registration, then every change that was due by then (re-check times and
-- rule set activations), in rounds, set-wise, each with the rule set in
-- force at its instant. ids NULL means everyone in [lo, hi].
CREATE FUNCTION hp_colour_advance(lo bigint, hi bigint, ids bigint[], upto timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
    SET jit = off
    SET work_mem = '64MB'
AS $$
DECLARE
    g record;
    total bigint := 0;
    any_due boolean;
    rounds integer := 0;
    -- who is due: everyone in [lo, hi] (bulk batches: range scans), or the
    -- listed people (joined, so that long lists stay cheap)
    scope text := CASE WHEN ids IS NULL THEN 'true'
                       ELSE 'x.person_id IN (SELECT unnest($3::bigint[]))' END;
BEGIN
    LOOP
        any_due := false;
        rounds := rounds + 1;
        -- EXECUTE: planned for the actual values every time
        FOR g IN EXECUTE format($sql$
            WITH rs AS (
                SELECT s.version, s.activated_at,
                       lead(s.activated_at) OVER (ORDER BY s.version) AS next_at
                  FROM healthpass.colour_ruleset s
            ), due AS (
                SELECT x.person_id, greatest(x.since, least(x.recheck_at, nx.activated_at)) AS at
                  FROM healthpass.colour_current x
                  LEFT JOIN healthpass.colour_ruleset nx ON nx.version = x.ruleset + 1
                 WHERE x.person_id BETWEEN $1 AND $2 AND %1$s
                   AND (x.recheck_at <= $4 OR nx.activated_at <= $4)
                UNION ALL
                SELECT x.person_id, x.created_at
                  FROM healthpass.person x
                 WHERE x.person_id BETWEEN $1 AND $2 AND %1$s
                   AND NOT EXISTS (SELECT 1 FROM healthpass.colour_current c
                                    WHERE c.person_id = x.person_id AND c.person_id BETWEEN $1 AND $2)
            )
            SELECT rs.version,
                   min(due.person_id) AS lo, max(due.person_id) AS hi,
                   array_agg(due.person_id ORDER BY due.person_id) AS ids,
                   array_agg(due.at ORDER BY due.person_id) AS ats
              FROM due
              JOIN rs ON due.at >= rs.activated_at AND (rs.next_at IS NULL OR due.at < rs.next_at)
             GROUP BY rs.version
             ORDER BY rs.version
        $sql$, scope) USING lo, hi, ids, upto
        LOOP
            any_due := true;
            total := total + hp_colour_apply(g.version, g.lo, g.hi, g.ids, g.ats, ids IS NOT NULL);
        END LOOP;
        -- a person whose colour changes by time alone very often is finished
        -- by the next call; nobody is ever left behind for good
        EXIT WHEN NOT any_due OR rounds >= 500;
    END LOOP;
    RETURN total;
END
$$;
COMMENT ON FUNCTION hp_colour_advance(bigint, bigint, bigint[], timestamptz) IS
    'materialise first colours and every due change up to an instant (internal)';

-- Re-colours people now. Without force, only what is due (first colours,
-- re-checks, rule sets); with force (their inputs just changed), also a
-- fresh evaluation at the current instant.
CREATE FUNCTION hp_colour_refresh(ids bigint[], force boolean) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    lo bigint;
    hi bigint;
    g record;
    n bigint;
BEGIN
    SELECT min(x), max(x) INTO lo, hi FROM unnest(ids) x;
    IF lo IS NULL THEN
        RETURN 0;
    END IF;
    n := hp_colour_advance(lo, hi, ids, now());
    IF force THEN
        FOR g IN
            SELECT hp_ruleset_at(t.at) AS version, min(t.person_id) AS lo, max(t.person_id) AS hi,
                   array_agg(t.person_id ORDER BY t.person_id) AS ids,
                   array_agg(t.at ORDER BY t.person_id) AS ats
              FROM (SELECT c.person_id, greatest(now(), c.since) AS at
                      FROM colour_current c
                     WHERE c.person_id BETWEEN lo AND hi
                       AND c.person_id IN (SELECT unnest(ids))) t
             GROUP BY 1
        LOOP
            n := n + hp_colour_apply(g.version, g.lo, g.hi, g.ids, g.ats, true);
        END LOOP;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION hp_colour_refresh(bigint[], boolean) IS 're-colour people now (internal)';

-- Row trigger: a declaration, result or mark of a person changed; re-colour
-- that person (and only that person) in the same transaction.
CREATE FUNCTION hp_recolour_trigger() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    PERFORM hp_colour_refresh(ARRAY[NEW.person_id], true);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION hp_recolour_trigger() IS 'row trigger: re-colour the person whose input changed';

CREATE TRIGGER health_declaration_recolour AFTER INSERT ON health_declaration
    FOR EACH ROW EXECUTE FUNCTION hp_recolour_trigger();
CREATE TRIGGER test_result_recolour AFTER INSERT ON test_result
    FOR EACH ROW EXECUTE FUNCTION hp_recolour_trigger();
CREATE TRIGGER risk_mark_recolour AFTER INSERT OR UPDATE ON risk_mark
    FOR EACH ROW EXECUTE FUNCTION hp_recolour_trigger();

-- Computes (without writing) the colour of one person at an instant.
CREATE FUNCTION hp_colour_compute(pid bigint, at timestamptz,
                                  OUT colour health_colour, OUT rule_ids integer[], OUT recheck_at timestamptz)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
    SET jit = off
AS $$
DECLARE
    q text;
BEGIN
    SELECT s.compiled INTO STRICT q FROM colour_ruleset s WHERE s.version = hp_ruleset_at(at);
    EXECUTE format('SELECT e.colour, e.rule_ids, e.recheck_at FROM (%s) e', q)
       INTO colour, rule_ids, recheck_at
      USING pid, pid, ARRAY[pid], ARRAY[at];
END
$$;
COMMENT ON FUNCTION hp_colour_compute(bigint, timestamptz) IS 'colour of a person at an instant, computed without writing (internal)';

-- Checks an instant for the look-ups: given and not in the future.
CREATE FUNCTION hp_check_instant(at timestamptz) RETURNS timestamptz
    LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    IF at IS NULL OR at > now() THEN
        RAISE EXCEPTION 'instant "%" is not valid', coalesce(at::text, '')
            USING ERRCODE = '22008', DETAIL = 'Colours are known for instants up to now, not for the future.';
    END IF;
    RETURN at;
END
$$;
COMMENT ON FUNCTION hp_check_instant(timestamptz) IS 'refuses a missing or future instant (internal)';

CREATE FUNCTION colour_status(person_id bigint, at timestamptz DEFAULT now())
    RETURNS TABLE (colour health_colour, reasons text[], rule_ids integer[],
                   since timestamptz, until timestamptz, source text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(colour_status.person_id);
    t timestamptz := hp_check_instant(at);
    c colour_current;
    h colour_history;
    e record;
BEGIN
    SELECT * INTO c FROM colour_current x WHERE x.person_id = p.person_id;
    IF FOUND AND t >= c.since THEN
        IF (c.recheck_at IS NULL OR t < c.recheck_at) AND hp_ruleset_at(t) = c.ruleset THEN
            RETURN QUERY SELECT c.colour, hp_reasons(c.rule_ids), c.rule_ids, c.since, NULL::timestamptz, 'current';
            RETURN;
        END IF;
    ELSIF FOUND THEN
        SELECT * INTO h FROM colour_history x
         WHERE x.person_id = p.person_id AND x.since <= t
         ORDER BY x.since DESC LIMIT 1;
        IF FOUND AND t < h.until THEN
            RETURN QUERY SELECT h.colour, hp_reasons(h.rule_ids), h.rule_ids, h.since, h.until, 'history';
            RETURN;
        END IF;
    END IF;
    IF t < p.created_at THEN
        RETURN;     -- not registered yet: no colour
    END IF;
    e := hp_colour_compute(p.person_id, t);
    RETURN QUERY SELECT e.colour, hp_reasons(e.rule_ids), e.rule_ids, NULL::timestamptz, NULL::timestamptz, 'computed';
END
$$;
COMMENT ON FUNCTION colour_status(bigint, timestamptz) IS
    'colour of a person at an instant (default now) with reasons and, when known, the period; no row before registration';

CREATE FUNCTION colour_at(person_id bigint, at timestamptz) RETURNS health_colour
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
    SELECT s.colour FROM colour_status(person_id, at) s
$$;
COMMENT ON FUNCTION colour_at(bigint, timestamptz) IS
    'the colour a person had at an instant (NULL before registration)';

-- A person's periods overlapping [from_at, to_at], oldest first, after
-- materialising everything due up to now.
CREATE FUNCTION colour_history(person_id bigint,
                               from_at timestamptz DEFAULT '-infinity', to_at timestamptz DEFAULT 'infinity')
    RETURNS TABLE (since timestamptz, until timestamptz, colour health_colour, reasons text[],
                   rule_ids integer[], ruleset integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(colour_history.person_id);
BEGIN
    IF from_at IS NULL OR to_at IS NULL OR from_at > to_at THEN
        RAISE EXCEPTION 'period "%" to "%" is not valid', from_at, to_at
            USING ERRCODE = '22008', DETAIL = 'The period starts before it ends.';
    END IF;
    PERFORM hp_colour_refresh(ARRAY[p.person_id], false);
    RETURN QUERY
        SELECT h.since, h.until, h.colour, hp_reasons(h.rule_ids), h.rule_ids, h.ruleset
          FROM colour_history h
         WHERE h.person_id = p.person_id AND h.until > from_at AND h.since <= to_at
        UNION ALL
        SELECT c.since, NULL, c.colour, hp_reasons(c.rule_ids), c.rule_ids, c.ruleset
          FROM colour_current c
         WHERE c.person_id = p.person_id AND c.since <= to_at
        ORDER BY 1;
END
$$;
COMMENT ON FUNCTION colour_history(bigint, timestamptz, timestamptz) IS
    'a person''s colour periods overlapping a time span, oldest first; the current one has until NULL';

-- The colour now with everything an app page shows next to it.
CREATE FUNCTION health_status(person_id bigint)
    RETURNS TABLE (colour health_colour, meaning text, reasons text[], since timestamptz,
                   declaration_valid_until timestamptz, latest_result text,
                   latest_sampled_at timestamptz, last_negative_at timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    p person := hp_get_person(health_status.person_id);
    c colour_current;
BEGIN
    PERFORM hp_colour_refresh(ARRAY[p.person_id], false);
    SELECT * INTO STRICT c FROM colour_current x WHERE x.person_id = p.person_id;
    RETURN QUERY
        SELECT c.colour, colour_meaning(c.colour), hp_reasons(c.rule_ids), c.since,
               (SELECT d.valid_until FROM health_declaration d
                 WHERE d.person_id = p.person_id AND d.declared_at <= now()
                 ORDER BY d.declared_at DESC, d.declaration_id DESC LIMIT 1),
               l.result, l.sampled_at,
               (SELECT max(s.sampled_at) FROM hp_recent_samples(p.person_id, now()) s WHERE s.result = 'negative')
          FROM (SELECT NULL) dummy
          LEFT JOIN LATERAL (
                SELECT s.result, s.sampled_at FROM hp_recent_samples(p.person_id, now()) s
                 ORDER BY s.sampled_at DESC, s.institution, s.sample_ref LIMIT 1) l ON true;
END
$$;
COMMENT ON FUNCTION health_status(bigint) IS
    'the colour now, its meaning, reasons and since, the declaration''s end, the latest result and last negative test';

-- Materialises every change whose instant has passed (declarations lapsing,
-- marks starting and ending, tests leaving the window), for at most
-- max_people people at a time; returns the number of colours that changed.
-- Schedule it every minute (pg_cron: SELECT cron.schedule('healthpass-tick',
-- '* * * * *', 'SELECT healthpass.colour_tick()')).
CREATE FUNCTION colour_tick(max_people integer DEFAULT 10000) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    ids bigint[];
    n bigint := 0;
BEGIN
    IF max_people IS NULL OR max_people NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION 'max_people % is out of range', max_people
            USING ERRCODE = '22023', DETAIL = 'A tick handles 1 to 1000000 people.';
    END IF;
    SELECT array_agg(x.person_id) INTO ids FROM (
        SELECT c.person_id FROM colour_current c
         WHERE c.recheck_at <= now()
         ORDER BY c.recheck_at
         LIMIT max_people
           FOR UPDATE SKIP LOCKED) x;
    IF ids IS NOT NULL THEN
        n := hp_colour_refresh(ids, false);
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION colour_tick(integer) IS
    'materialise colour changes whose time has come (schedule every minute); returns how many colours changed';

-- Bulk re-colouring -------------------------------------------------------
--
-- A job brings everyone to a rule set version. It is cut into chunks of
-- consecutive person ids when it is created; each recolour_step claims one
-- queued chunk (FOR UPDATE SKIP LOCKED), so several sessions can work on a
-- job at once, and each chunk commits on its own when the caller commits
-- (recolour_run does after every chunk). Progress is the sum over chunks.
-- When no chunk is left, a sweep catches up anyone still on an older rule
-- set (people whose row another session changed while their chunk ran).

CREATE TABLE recolour_job (
    job_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version     integer NOT NULL,
    note        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    state       text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'superseded'))
);
COMMENT ON TABLE recolour_job IS 're-colouring jobs: bring everyone to a rule set version, chunk by chunk';
SELECT pg_catalog.pg_extension_config_dump('recolour_job', '');

CREATE TABLE recolour_chunk (
    job_id     bigint NOT NULL REFERENCES recolour_job ON DELETE CASCADE,
    chunk_no   integer NOT NULL,
    lo         bigint NOT NULL,
    hi         bigint NOT NULL,
    people     bigint NOT NULL,
    state      text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done')),
    changed    bigint,
    started_at timestamptz,
    done_at    timestamptz,
    PRIMARY KEY (job_id, chunk_no)
);
COMMENT ON TABLE recolour_chunk IS 'chunks of consecutive person ids of a re-colouring job';
SELECT pg_catalog.pg_extension_config_dump('recolour_chunk', '');

-- The chunk size of jobs queued by rule changes.
CREATE FUNCTION recolour_chunk_size() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 50000;
COMMENT ON FUNCTION recolour_chunk_size() IS 'people per chunk of a re-colouring job (50000)';

-- Queues a job for rule set version v, cut into chunks; unfinished older
-- jobs are superseded (the new job brings everyone to the newest rules).
CREATE FUNCTION hp_recolour_job_for(v integer, chunk integer DEFAULT recolour_chunk_size()) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    id bigint;
BEGIN
    LOCK TABLE recolour_job IN SHARE ROW EXCLUSIVE MODE;
    UPDATE recolour_job j SET state = 'superseded', finished_at = now()
     WHERE j.state = 'queued' AND j.version < v;
    SELECT j.job_id INTO id FROM recolour_job j WHERE j.state = 'queued' AND j.version = v;
    IF FOUND THEN
        RETURN id;
    END IF;
    INSERT INTO recolour_job AS j (version, note)
    VALUES (v, (SELECT s.note FROM colour_ruleset s WHERE s.version = v))
    RETURNING j.job_id INTO id;
    -- the last chunk is open-ended: people registered meanwhile are in it
    INSERT INTO recolour_chunk (job_id, chunk_no, lo, hi, people)
    SELECT id, b.n + 1, min(b.person_id),
           CASE WHEN b.n = max(b.n) OVER () THEN 9223372036854775807 ELSE max(b.person_id) END,
           count(*)
      FROM (SELECT p.person_id, (row_number() OVER (ORDER BY p.person_id) - 1) / chunk AS n
              FROM person p) b
     GROUP BY b.n;
    RETURN id;
END
$$;
COMMENT ON FUNCTION hp_recolour_job_for(integer, integer) IS 'queue a re-colouring job for a rule set version (internal)';

CREATE FUNCTION recolour_start(chunk_size integer DEFAULT recolour_chunk_size()) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    IF chunk_size IS NULL OR chunk_size NOT BETWEEN 100 AND 1000000 THEN
        RAISE EXCEPTION 'chunk size % is out of range', chunk_size
            USING ERRCODE = '22023', DETAIL = 'A chunk has 100 to 1000000 people.';
    END IF;
    RETURN hp_recolour_job_for((hp_current_ruleset(false)).version, chunk_size);
END
$$;
COMMENT ON FUNCTION recolour_start(integer) IS
    'queue (or find) the job that brings everyone to the rules in force; returns its id';

-- Progress of one job, from its chunks.
CREATE FUNCTION hp_job_progress(id bigint,
    OUT done bigint, OUT total bigint, OUT changed bigint, OUT started_at timestamptz, OUT last_done_at timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
    SELECT coalesce(sum(c.people) FILTER (WHERE c.state = 'done'), 0)::bigint,
           coalesce(sum(c.people), 0)::bigint,
           coalesce(sum(c.changed), 0)::bigint,
           min(c.started_at), max(c.done_at)
      FROM recolour_chunk c WHERE c.job_id = id
$$;
COMMENT ON FUNCTION hp_job_progress(bigint) IS 'people done, total and colours changed of a job (internal)';

-- One unit of work on a job: the next queued chunk, or when none is left
-- the final sweep. finished is true when this caller found nothing more to
-- do (the job is done, superseded, or its last chunks are being worked on
-- by other sessions).
CREATE FUNCTION recolour_step(job bigint)
    RETURNS TABLE (job_id bigint, state text, done bigint, total bigint, changed bigint, finished boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    j recolour_job;
    c recolour_chunk;
    ids bigint[];
    n bigint;
    pr record;
    more boolean := true;
BEGIN
    SELECT * INTO j FROM recolour_job x WHERE x.job_id = recolour_step.job;
    IF NOT FOUND THEN
        RAISE EXCEPTION 're-colouring job % does not exist', recolour_step.job
            USING ERRCODE = 'P0002', DETAIL = 'Jobs are named by the id recolour_start returned.';
    END IF;
    IF j.state = 'queued' THEN
        SELECT * INTO c FROM recolour_chunk x
         WHERE x.job_id = j.job_id AND x.state = 'queued'
         ORDER BY x.chunk_no LIMIT 1
           FOR UPDATE SKIP LOCKED;
        IF FOUND THEN
            UPDATE recolour_chunk x SET started_at = clock_timestamp()
             WHERE x.job_id = c.job_id AND x.chunk_no = c.chunk_no;
            n := hp_colour_advance(c.lo, c.hi, NULL, now());
            UPDATE recolour_chunk x SET state = 'done', changed = n, done_at = clock_timestamp()
             WHERE x.job_id = c.job_id AND x.chunk_no = c.chunk_no;
        ELSIF EXISTS (SELECT 1 FROM recolour_chunk x WHERE x.job_id = j.job_id AND x.state = 'queued') THEN
            more := false;      -- the remaining chunks are in other sessions' hands
        ELSE
            SELECT array_agg(x.person_id) INTO ids FROM (
                SELECT cc.person_id FROM colour_current cc
                 WHERE cc.ruleset < j.version ORDER BY cc.person_id LIMIT 10000) x;
            IF ids IS NOT NULL THEN
                n := hp_colour_refresh(ids, false);
                UPDATE recolour_chunk x SET changed = x.changed + n
                 WHERE x.job_id = j.job_id
                   AND x.chunk_no = (SELECT max(y.chunk_no) FROM recolour_chunk y WHERE y.job_id = j.job_id);
            ELSE
                UPDATE recolour_job x SET state = 'done', finished_at = clock_timestamp()
                 WHERE x.job_id = j.job_id AND x.state = 'queued'
                RETURNING * INTO j;
                more := false;
            END IF;
        END IF;
    ELSE
        more := false;
    END IF;
    SELECT * INTO j FROM recolour_job x WHERE x.job_id = recolour_step.job;
    pr := hp_job_progress(j.job_id);
    RETURN QUERY SELECT j.job_id, j.state, pr.done, pr.total, pr.changed, NOT more;
END
$$;
COMMENT ON FUNCTION recolour_step(bigint) IS
    'run one chunk of a re-colouring job (several sessions may run steps at once); returns progress and whether this caller is finished';

-- Progress of jobs (default: the queued ones and the latest finished one).
CREATE FUNCTION recolour_progress(job bigint DEFAULT NULL)
    RETURNS TABLE (job_id bigint, version integer, note text, state text, done bigint, total bigint,
                   percent numeric, changed bigint, created_at timestamptz, started_at timestamptz,
                   finished_at timestamptz, people_per_second numeric)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, pg_temp
AS $$
    SELECT j.job_id, j.version, j.note, j.state, p.done, p.total,
           round(100.0 * p.done / greatest(p.total, 1), 1),
           p.changed, j.created_at, p.started_at, j.finished_at,
           round(p.done / nullif(extract(epoch FROM coalesce(j.finished_at, p.last_done_at) - p.started_at), 0))
      FROM recolour_job j
     CROSS JOIN LATERAL hp_job_progress(j.job_id) p
     WHERE CASE WHEN recolour_progress.job IS NOT NULL THEN j.job_id = recolour_progress.job
                ELSE j.state = 'queued'
                     OR j.job_id = (SELECT max(d.job_id) FROM recolour_job d WHERE d.state = 'done') END
     ORDER BY j.job_id
$$;
COMMENT ON FUNCTION recolour_progress(bigint) IS
    'progress of re-colouring jobs: people done of total, percent, colours changed, rate';

-- Runs the job to the rules in force in this transaction, reporting each
-- chunk as a NOTICE. For small installations and tests; large ones use
-- recolour_run, which commits after every chunk.
CREATE FUNCTION recolour_all() RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    id bigint := recolour_start();
    r record;
BEGIN
    LOOP
        SELECT * INTO r FROM recolour_step(id);
        RAISE NOTICE 're-colouring job %: % of % people (% %%), % colour changes',
            r.job_id, r.done, r.total, round(100.0 * r.done / greatest(r.total, 1), 1), r.changed;
        EXIT WHEN r.finished;
    END LOOP;
    RETURN r.changed;
END
$$;
COMMENT ON FUNCTION recolour_all() IS
    'run the re-colouring job to the rules in force in this transaction (NOTICE per chunk); returns colours changed';

-- Works on a job chunk by chunk, committing after each, so other sessions
-- see the progress (recolour_progress) and finished chunks survive an
-- interruption; run it in several sessions at once to use several cores.
-- CALL it outside a transaction block. SECURITY INVOKER: it only calls the
-- granted functions.
CREATE PROCEDURE recolour_run(job bigint DEFAULT NULL)
    LANGUAGE plpgsql
AS $$
DECLARE
    id bigint := job;
    r record;
BEGIN
    IF id IS NULL THEN
        id := healthpass.recolour_start();
        COMMIT;
    END IF;
    LOOP
        SELECT * INTO r FROM healthpass.recolour_step(id);
        RAISE NOTICE 're-colouring job %: % of % people (% %%), % colour changes',
            r.job_id, r.done, r.total, round(100.0 * r.done / greatest(r.total, 1), 1), r.changed;
        COMMIT;
        EXIT WHEN r.finished;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE recolour_run(bigint) IS
    'CALL outside a transaction: work on a re-colouring job (default: to the rules in force), committing after each chunk';

-- Re-colours at once the people whose declaration in force lists a place
-- in (or containing) the given area; NOTICE per batch. Internal: called by
-- declare_risk_area and lift_risk_area, which hold off new declarations.
CREATE FUNCTION hp_recolour_place(area text) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    ids bigint[];
    batch bigint[];
    i integer := 1;
    total integer;
    n bigint := 0;
BEGIN
    SELECT array_agg(DISTINCT d.person_id ORDER BY d.person_id) INTO ids
      FROM health_declaration d
     WHERE d.valid_until > now() AND cardinality(d.travel_places) > 0
       AND EXISTS (SELECT 1 FROM unnest(d.travel_places) pl WHERE starts_with(pl, area));
    total := coalesce(cardinality(ids), 0);
    WHILE i <= total LOOP
        batch := ids[i : i + 9999];
        n := n + hp_colour_refresh(batch, true);
        i := i + 10000;
        RAISE NOTICE 'risk area "%": % of % people re-coloured, % colour changes',
            area, least(i - 1, total), total, n;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION hp_recolour_place(text) IS 're-colour the people a risk area affects (internal)';

GRANT EXECUTE ON FUNCTION
    colour_status(bigint, timestamptz),
    colour_at(bigint, timestamptz)
    TO healthpass_app, healthpass_scanner, healthpass_health, healthpass_admin, healthpass_report;
GRANT EXECUTE ON FUNCTION
    colour_history(bigint, timestamptz, timestamptz),
    health_status(bigint)
    TO healthpass_app, healthpass_health, healthpass_admin;
GRANT EXECUTE ON FUNCTION
    colour_tick(integer),
    recolour_start(integer),
    recolour_step(bigint),
    recolour_all()
    TO healthpass_admin;
GRANT EXECUTE ON FUNCTION recolour_progress(bigint) TO healthpass_admin, healthpass_report;
GRANT EXECUTE ON PROCEDURE recolour_run(bigint) TO healthpass_admin;
GRANT EXECUTE ON FUNCTION recolour_chunk_size() TO healthpass_admin, healthpass_report;

-- ===== sql/ext/56_codes.sql
-- 56_codes.sql: the dynamic health code, its verification by scanners, a
-- staff member's manual check (seed 004) and the e-pass health page.
--
-- The health code is an HP1 token of kind "health". Its body carries the
-- person's opaque reference, masked name, document kind and masked number
-- (person_claims), the colour when issued and the date of the last negative
-- test in 14 days. It is valid for health_settings().code_valid_for
-- (3 minutes by default), so a screenshot goes stale; an app refreshes it
-- while the page is open. Real-name rejected people get no code.

-- Issues the code for a person whose colour is materialised up to now.
CREATE FUNCTION hp_health_code(p person,
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
    token := issue_token('health', body, (hp_health_config()).code_valid_for);
    colour := c.colour;
    reasons := hp_reasons(c.rule_ids);
    since := c.since;
    expires_at := pass_expires_at(token::pass);
END
$$;
COMMENT ON FUNCTION hp_health_code(person) IS 'issue a health code for a person (internal)';

CREATE FUNCTION health_code(person_id bigint)
    RETURNS TABLE (token text, colour health_colour, reasons text[], since timestamptz,
                   last_negative_at timestamptz, expires_at timestamptz)
    LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT (hp_health_code(hp_get_person(health_code.person_id))).*;
END
$$;
COMMENT ON FUNCTION health_code(bigint) IS
    'a fresh dynamic health code (HP1 kind "health", minutes long) with the colour, reasons and last negative test; 55000 when real-name was rejected';

CREATE FUNCTION health_code_png(person_id bigint, module_px integer DEFAULT 6)
    RETURNS TABLE (token text, colour health_colour, expires_at timestamptz, png bytea)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    IF module_px IS NULL OR module_px NOT BETWEEN 1 AND 40 THEN
        RAISE EXCEPTION 'module size % is out of range', module_px
            USING ERRCODE = '22023', DETAIL = 'A module is 1 to 40 pixels wide.';
    END IF;
    c := hp_health_code(hp_get_person(health_code_png.person_id));
    RETURN QUERY SELECT c.token, c.colour, c.expires_at,
                        qr_png(c.token, 'M', module_px, 4, c.colour::text, 'white');
END
$$;
COMMENT ON FUNCTION health_code_png(bigint, integer) IS
    'a fresh health code and its QR image as a PNG drawn in the code''s colour';

-- What a scanner learns from a health code: the verdict and the claims and,
-- online, the colour now (which may differ from the colour at issue). The
-- colour now is given only for a valid code issued here: a stale screenshot
-- or another issuer's code (mutual recognition: codes recognised, data not
-- interconnected) tells nothing about the person's current state.
CREATE FUNCTION verify_health_code(token text)
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
CREATE FUNCTION manual_health_check(doc_kind text, doc_number text, name text)
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

-- ===== sql/ext/99_privileges.sql
-- 99_privileges.sql: runs last. Functions are created EXECUTE-able by
-- PUBLIC; take that (and any table or sequence access) away from PUBLIC for
-- everything in the schema. Each domain file grants its own functions to the
-- purpose roles that need them; those grants stay.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA healthpass FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA healthpass FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA healthpass FROM PUBLIC;
