-- 80_hc1.sql: EU Digital COVID Certificates ("HC1:", issue 13) verified in
-- SQL (doc/hc1.md).
--
-- Who calls what:
--   healthpass_admin   adds and removes the signer certificates of other
--                      countries (X.509, DER)
--   healthpass_scanner, healthpass_border, healthpass_health,
--   healthpass_app     verify a certificate someone shows: verify_hc1
--   healthpass_app, healthpass_health
--                      record a verified certificate for a person: a
--                      recent negative test or a completed vaccination
--                      becomes a colour-rule fact (foreign_negative_at,
--                      foreign_vaccination_complete)
--
-- The C core (src/hc1.c, src/hc1_codec.c) decodes the text (prefix,
-- base45, zlib with the HP1 codec's limits), reads the COSE_Sign1 and its
-- CWT claims, and checks ES256 and PS256 signatures with OpenSSL; this file
-- looks the signer up, applies the clocks and gives the verdict. A bad
-- certificate is an answer (valid = false and a reason), never an error;
-- bad arguments raise.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- The C core ------------------------------------------------------------------

CREATE OR REPLACE FUNCTION healthpass_internal.hp_hc1_decode(certificate text,
        OUT reason text, OUT kid bytea, OUT alg bigint,
        OUT issued_at timestamptz, OUT expires_at timestamptz,
        OUT tbs bytea, OUT signature bytea, OUT dcc bytea)
    AS 'MODULE_PATHNAME', 'hp_hc1_decode'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass_internal.hp_hc1_decode(text) IS
    'an HC1 text decoded: reason (bad_prefix, bad_base45, not_compressed, malformed) or the kid, alg, times, Sig_structure, signature and certificate CBOR, unverified (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_hc1_content(dcc bytea) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'hp_hc1_content'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass_internal.hp_hc1_content(bytea) IS
    'a certificate''s CBOR (hp_hc1_decode''s dcc) as jsonb, NULL when it is not CBOR an HC1 may hold (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_hc1_signature(certificate bytea, alg bigint, tbs bytea, signature bytea)
    RETURNS text
    AS 'MODULE_PATHNAME', 'hp_hc1_signature'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass_internal.hp_hc1_signature(bytea, bigint, bytea, bytea) IS
    'NULL when signature is the ES256 or PS256 signature of tbs under the signer certificate, else wrong_algorithm or bad_signature (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_hc1_certificate(certificate bytea,
        OUT problem text, OUT family text, OUT key_bits integer, OUT key_name text,
        OUT not_before timestamptz, OUT not_after timestamptz, OUT subject text)
    AS 'MODULE_PATHNAME', 'hp_hc1_certificate'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass_internal.hp_hc1_certificate(bytea) IS
    'what a signer certificate holds, or its problem: not_der, key_type, key_size, validity (internal)';

-- Fixed rules -------------------------------------------------------------------

-- The largest signer certificate accepted, in bytes.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_hc1_certificate_limit() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 16384;
COMMENT ON FUNCTION healthpass_internal.hp_hc1_certificate_limit() IS 'bytes a signer certificate has at most (internal)';

-- The COSE name of an algorithm identifier (RFC 9053), or its number.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_hc1_alg_name(alg bigint) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE alg WHEN -7 THEN 'ES256' WHEN -37 THEN 'PS256' WHEN -8 THEN 'EdDSA'
                WHEN -35 THEN 'ES384' WHEN -36 THEN 'ES512' WHEN -38 THEN 'PS384'
                WHEN -39 THEN 'PS512' WHEN -257 THEN 'RS256' ELSE alg::text END;
COMMENT ON FUNCTION healthpass_internal.hp_hc1_alg_name(bigint) IS 'COSE algorithm name of an identifier (internal)';

-- What each reason of verify_hc1 means, as a detail sentence.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_hc1_reason_detail(reason text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE reason
    WHEN 'bad_prefix' THEN 'An EU Digital COVID Certificate starts with "HC1:".'
    WHEN 'bad_base45' THEN 'The text after "HC1:" is not base45 (RFC 9285).'
    WHEN 'not_compressed' THEN 'The base45 bytes are not a zlib stream.'
    WHEN 'malformed' THEN 'The bytes are not a COSE_Sign1 with the claims of an EU Digital COVID Certificate.'
    WHEN 'unknown_signer' THEN 'No signer certificate with the certificate''s kid has been added.'
    WHEN 'wrong_algorithm' THEN 'The signature algorithm is not ES256 or PS256, or not the one of the signer''s key.'
    WHEN 'bad_signature' THEN 'The signature does not check: the certificate was changed or signed by another key.'
    WHEN 'signer_not_valid' THEN 'The signer certificate is not valid at the time of verification.'
    WHEN 'expired' THEN 'The certificate''s expiry time has passed.'
    WHEN 'not_yet_valid' THEN 'The certificate''s issue time is in the future.'
    ELSE 'The certificate is valid.' END;
COMMENT ON FUNCTION healthpass_internal.hp_hc1_reason_detail(text) IS 'a verify_hc1 reason as a sentence (internal)';

-- The words of a name as the EU DCC standardises it (ICAO 9303): upper
-- case, apostrophes dropped, split at spaces, hyphens, "<" and middle dots,
-- sorted, so that order and spacing do not matter.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_hc1_name_words(name text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY(SELECT w FROM regexp_split_to_table(upper(translate(coalesce(name, ''), '''’', '')),
                                                 '[\s<·・-]+') AS w
              WHERE w <> '' ORDER BY w);
COMMENT ON FUNCTION healthpass_internal.hp_hc1_name_words(text) IS 'the sorted upper-case words of a name (internal)';

-- Whether a certificate's holder (its "nam" object) is a person of this
-- name: the standardised surname and forenames (fnt, gnt) or, for names
-- with letters ICAO transliterates, the names as printed (fn, gn), have the
-- same words as the person's name in any order, ignoring case and spacing.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_hc1_same_name(person_name text, nam jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN jsonb_typeof(nam) = 'object' AND cardinality(hp_hc1_name_words(person_name)) > 0
   AND (hp_hc1_name_words(person_name) = hp_hc1_name_words(concat_ws('<', nam->>'fnt', nam->>'gnt'))
        OR hp_hc1_name_words(person_name) = hp_hc1_name_words(concat_ws(' ', nam->>'fn', nam->>'gn')));
COMMENT ON FUNCTION healthpass_internal.hp_hc1_same_name(text, jsonb) IS
    'a certificate''s holder name is the person''s, in any order, case and spacing (internal)';

-- Whether a certificate's date of birth ("dob": YYYY-MM-DD, or only
-- YYYY-MM or YYYY when the rest is unknown) is the person's.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_hc1_same_birth(birth date, dob text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN dob ~ '^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$'
   AND left(to_char(birth, 'YYYY-MM-DD'), length(dob)) = dob;
COMMENT ON FUNCTION healthpass_internal.hp_hc1_same_birth(date, text) IS
    'a certificate''s date of birth (full, or year and month, or year) is the person''s (internal)';

-- A date or instant a certificate holds, read as the EU DCC writes it; the
-- field's name in the error (22007 when it is not one).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_hc1_instant(field text, value jsonb) RETURNS timestamptz
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    t timestamptz;
BEGIN
    IF jsonb_typeof(value) = 'string' AND length(value #>> '{}') BETWEEN 10 AND 40
       AND value #>> '{}' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9:]+)?)?$' THEN
        BEGIN
            t := (value #>> '{}')::timestamptz;
            IF isfinite(t) AND t >= timestamptz '1900-01-01 00:00:00+00' AND t < timestamptz '10000-01-01 00:00:00+00' THEN
                RETURN t;
            END IF;
        EXCEPTION WHEN data_exception THEN
            NULL;
        END;
    END IF;
    RAISE EXCEPTION 'health certificate field "%" holds "%", not a date', field, hp_quote(coalesce(value #>> '{}', 'null'))
        USING ERRCODE = 'invalid_datetime_format',
              DETAIL = 'Dates of an EU Digital COVID Certificate are ISO 8601: 2021-05-01, or 2021-05-01T10:00:00Z for a sampling time.';
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_hc1_instant(text, jsonb) IS 'a certificate''s date or time, or 22007 (internal)';

-- A dose number or series length: a whole number from 1 to 99 (an issuer
-- may write 2 as 2.0), or 22023.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_hc1_dose(field text, value jsonb) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(value) = 'number' AND (value #>> '{}')::numeric BETWEEN 1 AND 99
       AND (value #>> '{}')::numeric = trunc((value #>> '{}')::numeric) THEN
        RETURN (value #>> '{}')::numeric::integer;
    END IF;
    RAISE EXCEPTION 'health certificate field "%" holds "%", not a dose number', field, hp_quote(coalesce(value::text, 'null'))
        USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Dose numbers and series lengths are whole numbers from 1 to 99.';
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_hc1_dose(text, jsonb) IS 'a certificate''s dose number, or 22023 (internal)';

-- The one refusal of an argument that is NULL.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_hc1_required(field text, missing boolean) RETURNS void
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF missing THEN
        RAISE EXCEPTION '% is missing', field
            USING ERRCODE = 'null_value_not_allowed', DETAIL = format('Give the %s.', field);
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_hc1_required(text, boolean) IS 'raises 22004 when a required argument is NULL (internal)';

-- Signer certificates --------------------------------------------------------------

CREATE OR REPLACE FUNCTION add_hc1_signer(country text, certificate bytea) RETURNS bytea
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    c record;
    id bytea;
BEGIN
    PERFORM hp_hc1_required('country', country IS NULL);
    PERFORM hp_hc1_required('signer certificate', certificate IS NULL);
    IF country !~ '^[A-Z]{2}$' THEN
        RAISE EXCEPTION 'country "%" is not valid', hp_quote(country)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A country is two upper-case letters (ISO 3166-1 alpha-2), such as DE or FR.';
    END IF;
    IF length(certificate) > hp_hc1_certificate_limit() THEN
        RAISE EXCEPTION 'signer certificate of % bytes is too large', length(certificate)
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = format('A signer certificate has at most %s bytes.', hp_hc1_certificate_limit());
    END IF;
    c := hp_hc1_certificate(certificate);
    CASE c.problem
    WHEN 'not_der' THEN
        RAISE EXCEPTION 'signer certificate starting with "%" is not an X.509 certificate', encode(substr(certificate, 1, 8), 'hex')
            USING ERRCODE = 'invalid_binary_representation',
                  DETAIL = 'A signer certificate is one X.509 certificate in DER (binary, not PEM), and nothing after it.';
    WHEN 'key_type' THEN
        RAISE EXCEPTION 'signer certificate key "%" is not supported', hp_quote(coalesce(c.key_name, 'unknown'))
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'HC1 signers use EC keys on P-256 (ES256) or RSA keys of 2048 bits or more (PS256).';
    WHEN 'key_size' THEN
        RAISE EXCEPTION 'signer certificate RSA key of % bits is too small', c.key_bits
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'HC1 signers use RSA keys of 2048 bits or more (PS256), or EC keys on P-256 (ES256).';
    WHEN 'validity' THEN
        RAISE EXCEPTION 'signer certificate validity cannot be read'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A signer certificate is valid from notBefore to a later notAfter.';
    ELSE
        NULL;
    END CASE;
    id := substring(sha256(certificate) FROM 1 FOR 8);
    IF EXISTS (SELECT 1 FROM hc1_signer s WHERE s.kid = id) THEN
        RAISE EXCEPTION 'signer certificate with kid "%" is already added', encode(id, 'base64')
            USING ERRCODE = 'unique_violation', DETAIL = 'A signer certificate is added once; remove it first to add it for another country.';
    END IF;
    BEGIN
        INSERT INTO hc1_signer (kid, country, certificate, family, not_before, not_after, subject)
        VALUES (id, add_hc1_signer.country, add_hc1_signer.certificate, c.family, c.not_before, c.not_after,
                coalesce(c.subject, ''));
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'signer certificate with kid "%" is already added', encode(id, 'base64')
            USING ERRCODE = 'unique_violation', DETAIL = 'Another session added it at the same time.';
    END;
    RETURN id;
END
$$;
COMMENT ON FUNCTION healthpass.add_hc1_signer(text, bytea) IS
    'add a signer certificate (X.509 DER, EC P-256 or RSA >= 2048) of a country for HC1 certificates; returns its kid, SHA-256(DER)[0:8]';

CREATE OR REPLACE FUNCTION remove_hc1_signer(kid bytea) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    PERFORM hp_hc1_required('kid', kid IS NULL);
    IF length(kid) <> 8 THEN
        RAISE EXCEPTION 'kid "%" is not valid', hp_quote(encode(kid, 'base64'))
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'An HC1 kid is 8 bytes: the first 8 bytes of SHA-256 over the signer certificate.';
    END IF;
    DELETE FROM hc1_signer s WHERE s.kid = remove_hc1_signer.kid;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RAISE EXCEPTION 'no signer certificate has kid "%"', encode(kid, 'base64')
            USING ERRCODE = 'no_data_found', DETAIL = 'See hc1_signers() for the signer certificates added.';
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass.remove_hc1_signer(bytea) IS
    'remove a signer certificate: its HC1 certificates verify as unknown_signer; certificates already recorded stay';

CREATE OR REPLACE FUNCTION hc1_signers()
    RETURNS TABLE (kid bytea, country text, family text, not_before timestamptz, not_after timestamptz,
                   subject text, added_at timestamptz, added_by name)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT s.kid, s.country, s.family, s.not_before, s.not_after, s.subject, s.added_at, s.added_by
      FROM hc1_signer s ORDER BY s.country, s.added_at, s.kid
$$;
COMMENT ON FUNCTION healthpass.hc1_signers() IS 'the signer certificates HC1 certificates are verified with, by country';

-- Verifying ---------------------------------------------------------------------

-- The verdict on an HC1 text at an instant. The checks, in order:
-- bad_prefix, bad_base45, not_compressed, malformed (the text layers and
-- the CBOR/COSE structure), unknown_signer (no signer with the kid),
-- wrong_algorithm, bad_signature, signer_not_valid (the signer certificate
-- at at_time), expired (at_time >= exp + skew), not_yet_valid (iat >
-- at_time + skew); skew is the GUC healthpass.clock_skew. kid and alg are
-- given whenever the structure was read, country (the signer's) when the
-- signer is known, the times and the content only when the signature
-- checked.
CREATE OR REPLACE FUNCTION verify_hc1(certificate text, at_time timestamptz DEFAULT now(),
        OUT valid boolean, OUT reason text, OUT kid bytea, OUT alg text, OUT country text,
        OUT issued_at timestamptz, OUT expires_at timestamptz, OUT content jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    d record;
    s hc1_signer;
    skew interval;
BEGIN
    PERFORM hp_hc1_required('certificate', certificate IS NULL);
    PERFORM hp_instant('verification time', at_time);
    valid := false;
    d := hp_hc1_decode(certificate);
    IF d.reason IS NOT NULL THEN
        reason := d.reason;
        RETURN;
    END IF;
    kid := d.kid;
    alg := hp_hc1_alg_name(d.alg);
    SELECT * INTO s FROM hc1_signer x WHERE x.kid = d.kid;
    IF NOT FOUND THEN
        reason := 'unknown_signer';
        RETURN;
    END IF;
    country := s.country;
    reason := hp_hc1_signature(s.certificate, d.alg, d.tbs, d.signature);
    IF reason IS NOT NULL THEN
        RETURN;
    END IF;
    issued_at := d.issued_at;
    expires_at := d.expires_at;
    content := hp_hc1_content(d.dcc);
    -- the library is loaded (hp_hc1_decode), so the GUC is defined
    skew := current_setting('healthpass.clock_skew')::interval;
    reason := CASE WHEN at_time < s.not_before OR at_time >= s.not_after THEN 'signer_not_valid'
                   WHEN at_time >= d.expires_at + skew THEN 'expired'
                   WHEN d.issued_at > at_time + skew THEN 'not_yet_valid' END;
    valid := reason IS NULL;
END
$$;
COMMENT ON FUNCTION healthpass.verify_hc1(text, timestamptz) IS
    'verdict on an EU Digital COVID Certificate (HC1) at a time: valid, reason, kid, alg, signer country, times and content; never raises for a bad certificate';

-- Recording for a person ----------------------------------------------------------

-- Records a valid certificate (now) of this person: its holder is the
-- person (name and date of birth), it holds one COVID-19 test, vaccination
-- or recovery, and it was not recorded before. The person's colour is
-- computed again (trigger hc1_record_recolour).
CREATE OR REPLACE FUNCTION record_hc1(person_id bigint, certificate text,
        OUT uvci text, OUT kind text, OUT country text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v record;
    p person;
    dcc jsonb;
    e jsonb;
    holder text;
    covid constant text := '840539006';
    tt text;
    sampled timestamptz;
    res text;
    vdate date;
    dn integer;
    sd integer;
    rfrom date;
    runtil date;
BEGIN
    PERFORM hp_hc1_required('person id', person_id IS NULL);
    PERFORM hp_hc1_required('certificate', certificate IS NULL);
    v := verify_hc1(certificate, now());
    IF NOT v.valid THEN
        RAISE EXCEPTION 'health certificate "%" is not valid: %', hp_quote(certificate), v.reason
            USING ERRCODE = CASE WHEN v.reason IN ('bad_prefix', 'bad_base45', 'not_compressed', 'malformed')
                                 THEN 'invalid_text_representation' ELSE 'invalid_parameter_value' END,
                  DETAIL = hp_hc1_reason_detail(v.reason);
    END IF;
    p := hp_lock_person(record_hc1.person_id);
    dcc := v.content;

    -- the holder
    holder := concat_ws('<', dcc->'nam'->>'fnt', dcc->'nam'->>'gnt');
    IF NOT coalesce(hp_hc1_same_name(p.name, dcc->'nam'), false) THEN
        RAISE EXCEPTION 'health certificate holder "%" is not person %', hp_quote(holder), p.person_id
            USING ERRCODE = 'check_violation',
                  DETAIL = 'The certificate''s name (fnt and gnt, or fn and gn) must have the words of the person''s name, in any order and case.';
    END IF;
    IF NOT coalesce(hp_hc1_same_birth(p.birth_date, dcc->>'dob'), false) THEN
        RAISE EXCEPTION 'health certificate date of birth "%" is not the birth date of person %', hp_quote(coalesce(dcc->>'dob', '')), p.person_id
            USING ERRCODE = 'check_violation',
                  DETAIL = 'The certificate''s date of birth (dob) must be the person''s: the whole date, or its year and month, or its year.';
    END IF;

    -- one test, vaccination or recovery
    IF (SELECT count(*) FROM jsonb_object_keys(dcc) k WHERE k IN ('t', 'v', 'r')) <> 1
       OR jsonb_typeof(coalesce(dcc->'t', dcc->'v', dcc->'r')) <> 'array'
       OR jsonb_array_length(coalesce(dcc->'t', dcc->'v', dcc->'r')) <> 1 THEN
        RAISE EXCEPTION 'health certificate "%" does not hold one test, vaccination or recovery', hp_quote(certificate)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'An EU Digital COVID Certificate holds exactly one entry in "t", "v" or "r".';
    END IF;
    kind := CASE WHEN dcc ? 't' THEN 'test' WHEN dcc ? 'v' THEN 'vaccination' ELSE 'recovery' END;
    e := coalesce(dcc->'t', dcc->'v', dcc->'r')->0;
    IF jsonb_typeof(e) <> 'object' OR e->>'tg' IS DISTINCT FROM covid THEN
        RAISE EXCEPTION 'health certificate disease "%" is not COVID-19', hp_quote(coalesce(e->>'tg', ''))
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Only COVID-19 (SNOMED CT 840539006) certificates are recorded.';
    END IF;
    uvci := e->>'ci';
    IF uvci IS NULL OR length(uvci) NOT BETWEEN 1 AND 80 OR uvci ~ hp_bad_chars(false) THEN
        RAISE EXCEPTION 'health certificate identifier "%" is not valid', hp_quote(coalesce(uvci, ''))
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A certificate identifier (ci) is 1 to 80 characters without control characters.';
    END IF;
    country := v.country;

    CASE kind
    WHEN 'test' THEN
        tt := CASE e->>'tt' WHEN 'LP6464-4' THEN 'naat' WHEN 'LP217198-3' THEN 'rat' END;
        IF tt IS NULL THEN
            RAISE EXCEPTION 'health certificate test type "%" is not known', hp_quote(coalesce(e->>'tt', ''))
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A test is a nucleic-acid amplification test (LP6464-4) or a rapid antigen test (LP217198-3).';
        END IF;
        sampled := hp_hc1_instant('sc', e->'sc');
        IF sampled > now() THEN
            RAISE EXCEPTION 'health certificate sampling time "%" is in the future', sampled
                USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A sample is recorded after it was taken.';
        END IF;
        res := CASE e->>'tr' WHEN '260415000' THEN 'negative' WHEN '260373001' THEN 'positive' END;
        IF res IS NULL THEN
            RAISE EXCEPTION 'health certificate test result "%" is not known', hp_quote(coalesce(e->>'tr', ''))
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A test result is 260415000 (not detected) or 260373001 (detected).';
        END IF;
    WHEN 'vaccination' THEN
        dn := hp_hc1_dose('dn', e->'dn');
        sd := hp_hc1_dose('sd', e->'sd');
        vdate := hp_hc1_instant('dt', e->'dt')::date;
        IF vdate > current_date THEN
            RAISE EXCEPTION 'health certificate vaccination date "%" is in the future', vdate
                USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A vaccination is recorded after it was given.';
        END IF;
    ELSE
        rfrom := hp_hc1_instant('df', e->'df')::date;
        runtil := hp_hc1_instant('du', e->'du')::date;
        IF runtil < rfrom THEN
            RAISE EXCEPTION 'health certificate recovery validity from % to % is empty', rfrom, runtil
                USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A recovery certificate is valid from df to a later du.';
        END IF;
    END CASE;

    BEGIN
        INSERT INTO hc1_record (person_id, uvci, kind, test_type, sampled_at, result, vaccinated_on,
                                dose_number, dose_total, valid_from, valid_until, country, kid,
                                issued_at, expires_at)
        VALUES (p.person_id, record_hc1.uvci, record_hc1.kind, tt, sampled, res, vdate, dn, sd, rfrom, runtil,
                record_hc1.country, v.kid, v.issued_at, v.expires_at);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'health certificate "%" is already recorded for person %', hp_quote(uvci), p.person_id
            USING ERRCODE = 'unique_violation', DETAIL = 'A certificate is recorded once.';
    END;
END
$$;
COMMENT ON FUNCTION healthpass.record_hc1(bigint, text) IS
    'record a valid EU Digital COVID Certificate (test, vaccination or recovery) of a person; the colour is recomputed';

CREATE OR REPLACE TRIGGER hc1_record_recolour AFTER INSERT ON hc1_record
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_recolour_trigger('recorded_at');

CREATE OR REPLACE FUNCTION hc1_records(person_id bigint)
    RETURNS TABLE (uvci text, kind text, test_type text, sampled_at timestamptz, result text,
                   vaccinated_on date, dose_number integer, dose_total integer,
                   valid_from date, valid_until date, country text, expires_at timestamptz,
                   recorded_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(hc1_records.person_id);
BEGIN
    RETURN QUERY
        SELECT h.uvci, h.kind, h.test_type, h.sampled_at, h.result, h.vaccinated_on, h.dose_number,
               h.dose_total, h.valid_from, h.valid_until, h.country, h.expires_at, h.recorded_at
          FROM hc1_record h WHERE h.person_id = p.person_id
         ORDER BY h.recorded_at DESC, h.uvci;
END
$$;
COMMENT ON FUNCTION healthpass.hc1_records(bigint) IS 'the foreign certificates recorded for a person, newest first';

GRANT EXECUTE ON FUNCTION healthpass.add_hc1_signer(text, bytea), healthpass.remove_hc1_signer(bytea)
    TO healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.hc1_signers() TO healthpass_admin, healthpass_report;
GRANT EXECUTE ON FUNCTION healthpass.verify_hc1(text, timestamptz)
    TO healthpass_scanner, healthpass_border, healthpass_health, healthpass_app, healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.record_hc1(bigint, text), healthpass.hc1_records(bigint)
    TO healthpass_app, healthpass_health;
