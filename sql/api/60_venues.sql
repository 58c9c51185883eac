-- 60_venues.sql: venues, their staff and their printed venue codes
-- (seed 004 一.1-3).
--
-- A registered person (the manager) registers a venue and becomes the only
-- person who may edit, suspend, close or reopen it and add or remove its
-- staff. The manager and the staff see the venue's details, its venue code
-- and its printable poster. The venue code is an HP1 token of kind "venue"
-- valid for a year; the ledger venue_code_issued hands out the same code
-- until it nears expiry, and an edit of what the poster shows (name,
-- street, address), a suspension or a closing revokes it.
--
-- For the scanning side (61_scans.sql): healthpass_internal.hp_venue_of_token
-- (a scanned venue code -> the active venue row, or a named refusal) and
-- healthpass_internal.hp_is_active_staff (may this person scan for this
-- venue). Neither takes a lock.
--
-- Citus: venue, venue_staff and venue_code_issued are reference tables
-- (see sql/schema/60_venues.sql and doc/venues.md, "Design notes").
-- (replayed by every upgrade: CREATE OR REPLACE only)

CREATE OR REPLACE TRIGGER venue_keep_history
    BEFORE UPDATE ON venue
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION healthpass_internal.hp_keep_history('venue_history');

-- A history row of a venue keeps the image as its digest: a licence image
-- is up to photo_limit() bytes, and every status change writes a version.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_venue_history_slim() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF NEW.data ? 'image' THEN
        NEW.data := (NEW.data - 'image')
                    || jsonb_build_object('image_sha256',
                           encode(sha256(decode(substr(NEW.data->>'image', 3), 'hex')), 'hex'));
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_venue_history_slim() IS
    'row trigger: a venue history row keeps the image''s SHA-256, not the image (internal)';

CREATE OR REPLACE TRIGGER venue_history_slim
    BEFORE INSERT ON venue_history
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_venue_history_slim();

-- Checks -----------------------------------------------------------------------

-- The document kinds a venue is registered under: an organisation's codes,
-- the manager's own resident ID number, a vehicle's plate.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_venue_kinds() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
    RETURN ARRAY(SELECT k FROM document_kinds() k WHERE document_kind_holder(k) = 'organisation')
           || 'cn_resident_id'::text
           || ARRAY(SELECT k FROM document_kinds() k WHERE document_kind_holder(k) = 'vehicle');
COMMENT ON FUNCTION healthpass_internal.hp_venue_kinds() IS 'document kinds a venue is registered under (internal)';

-- Validates a venue identifier and returns its canonical number. A bad
-- number is quoted masked, as hp_person_document does.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_venue_document(kind text, number text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF kind IS NULL OR NOT kind = ANY (hp_venue_kinds()) THEN
        RAISE EXCEPTION 'venue identifier kind "%" is not valid', hp_quote(kind)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A venue is registered under uscc or org_code, else the manager''s own cn_resident_id, or for a vehicle its plate.';
    END IF;
    IF kind = 'cn_resident_id' THEN
        RETURN hp_person_document(kind, number);
    END IF;
    IF number IS NULL THEN
        RAISE EXCEPTION 'venue identifier is missing for kind "%"', kind
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Every venue needs the number of its identifier.';
    END IF;
    RETURN hp_normalize_masked(kind, number);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_venue_document(text, text) IS 'canonical number of a venue identifier, or an error quoting it masked (internal)';

-- A required text of a venue (name, street, address): checked by hp_text,
-- runs of spaces made one, NFC, so one venue is not registered twice under
-- two spellings of its name.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_venue_text(field text, value text, maxlen integer) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v text := hp_text(field, value, maxlen, required => true);
BEGIN
    v := regexp_replace(v, '[ \u00a0\u3000]+', ' ', 'g');
    IF current_setting('server_encoding') = 'UTF8' THEN
        v := normalize(v, NFC);
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_venue_text(text, text, integer) IS 'checked, space-normalised, NFC venue text (internal)';

-- The venue's contact phone, required, normalised by hp_phone; the value is
-- quoted through hp_quote.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_venue_phone(value text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v text := hp_text('phone', value, 30, required => true);
BEGIN
    RETURN hp_phone('phone', v);
EXCEPTION WHEN invalid_parameter_value THEN
    IF v IS NULL THEN
        RAISE;
    END IF;
    RAISE EXCEPTION 'phone number "%" is not valid', hp_quote(v)
        USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A phone number has 5 to 20 digits, optionally after a leading +.';
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_venue_phone(text) IS 'checked, normalised venue phone (internal)';

-- What the image of a venue is called in messages.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_venue_image_label(id_kind text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN id_kind = 'plate' THEN 'vehicle photo' ELSE 'licence image' END;
COMMENT ON FUNCTION healthpass_internal.hp_venue_image_label(text) IS 'the name of a venue''s image in messages (internal)';

-- The negative-test window a venue asks for: NULL (none) or 1 to 168 hours.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_test_hours(hours numeric) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF hours IS NOT NULL AND (hours <> trunc(hours) OR hours NOT BETWEEN 1 AND 168) THEN
        RAISE EXCEPTION 'negative test window of % hours is out of range', hp_quote(hours::text)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A venue asks for a negative test within 1 to 168 whole hours, or for none (NULL).';
    END IF;
    RETURN hours::integer;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_test_hours(numeric) IS 'checked negative-test window of a venue (internal)';

-- Looking up and locking a venue ------------------------------------------------

-- The venue row without locking; 22004 for a missing id, P0002 for none.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_get_venue(vid bigint) RETURNS venue
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v venue;
BEGIN
    IF vid IS NULL THEN
        RAISE EXCEPTION 'venue id is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the venue by its venue_id.';
    END IF;
    SELECT * INTO v FROM venue x WHERE x.venue_id = vid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'venue % does not exist', vid
            USING ERRCODE = 'no_data_found', DETAIL = 'No venue has this id.';
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_get_venue(bigint) IS 'venue row, or 22004/P0002 (internal)';

-- The venue row locked FOR NO KEY UPDATE: edits, status changes, staff
-- changes and the issuing of a venue code of one venue run one at a time. A
-- scanner's FOR KEY SHARE (or no lock) is not blocked by it.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_lock_venue(vid bigint) RETURNS venue
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v venue;
BEGIN
    SELECT * INTO v FROM venue x WHERE x.venue_id = vid FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM hp_get_venue(vid);      -- raises: missing (22004) or unknown (P0002)
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_lock_venue(bigint) IS 'venue row locked FOR NO KEY UPDATE, or the error of hp_get_venue (internal)';

-- A person's role at a venue: manager, staff, or NULL. (A string body, not
-- a SQL-standard RETURN one: Citus cannot run a SQL-standard body that
-- reads its tables; doc/citus.md.)
CREATE OR REPLACE FUNCTION healthpass_internal.hp_venue_role(v venue, pid bigint) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF v.manager_id = pid THEN
        RETURN 'manager';
    END IF;
    RETURN CASE WHEN EXISTS (SELECT 1 FROM venue_staff s WHERE s.venue_id = v.venue_id AND s.person_id = pid) THEN 'staff' END;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_venue_role(venue, bigint) IS 'manager, staff or NULL (internal)';

-- Raises 42501 unless the person may act on the venue: "manager" for what
-- only the manager does, "staff" for what the manager and staff do.
-- Returns the role.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_require_venue_role(v venue, pid bigint, need text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    r text := hp_venue_role(v, pid);
BEGIN
    IF need = 'manager' AND r IS DISTINCT FROM 'manager' THEN
        RAISE EXCEPTION 'person % does not manage venue %', pid, v.venue_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only the person who registered a venue edits it, changes its status and its staff.';
    END IF;
    IF r IS NULL THEN
        RAISE EXCEPTION 'person % is not staff of venue %', pid, v.venue_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only a venue''s manager and the staff they added see it.';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_require_venue_role(venue, bigint, text) IS 'the person''s role at a venue, or 42501 (internal)';

-- Raises 55000 for a venue whose status does not allow what is asked.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_require_venue_status(v venue, allowed text[], what text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF NOT v.status = ANY (allowed) THEN
        RAISE EXCEPTION 'venue % is %', v.venue_id, v.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('A %s venue gets no %s; the reason given: %s.', v.status, what,
                                  rtrim(hp_quote(v.status_reason, 100), '.')),
                  HINT = CASE v.status WHEN 'suspended' THEN 'The manager reopens the venue with reopen_venue.'
                                       WHEN 'closed' THEN 'Closing is final.' END;
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_require_venue_status(venue, text[], text) IS 'refuses a venue in the wrong status with 55000 (internal)';

-- For the scanning side -------------------------------------------------------------

-- Whether a person may scan for a venue: its manager, or staff the manager
-- added and has not removed. The venue's status is not looked at (the
-- caller refuses a suspended or closed venue with its own message). No
-- lock: a caller that must not cross a removal locks the venue_staff row.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_is_active_staff(venue_id bigint, person_id bigint) RETURNS boolean
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    -- PL/pgSQL: the plan is kept for the session (every staff scan asks)
    RETURN coalesce(EXISTS (SELECT 1 FROM venue_staff s
                             WHERE s.venue_id = hp_is_active_staff.venue_id AND s.person_id = hp_is_active_staff.person_id)
                    OR EXISTS (SELECT 1 FROM venue v
                                WHERE v.venue_id = hp_is_active_staff.venue_id AND v.manager_id = hp_is_active_staff.person_id),
                    false);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_is_active_staff(bigint, bigint) IS
    'whether a person is the manager or current staff of a venue (internal)';

-- The venue a scanned venue code names, if it may be scanned now: a valid
-- HP1 token of kind "venue" signed with a key of this server, naming an
-- active venue. Otherwise one named refusal:
--   22023 "venue code is not valid: <reason>", reason one of verify_token's
--         (expired, revoked, malformed, bad_signature, unknown_key, ...),
--         wrong_kind (another kind of code), foreign (another issuer's
--         venue code: venues are registered where they are scanned),
--         malformed (a body without a venue id), or missing (NULL)
--   P0002 the venue does not exist
--   55000 the venue is suspended or closed
-- No lock is taken; a caller that must not cross a suspension locks the
-- row itself (FOR SHARE).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_venue_of_token(token text) RETURNS venue
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v verification;
    why text;
    detail text;
    vid bigint;
    r venue;
BEGIN
    IF token IS NULL THEN
        RAISE EXCEPTION 'venue code is not valid: missing'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Pass the scanned HP1 text of the venue''s poster.';
    END IF;
    v := verify_token(token);
    IF v.kind IS NOT NULL AND v.kind <> 'venue' THEN
        why := 'wrong_kind';
        detail := format('The scanned code is a code of kind "%s", not a venue''s poster.', hp_quote(v.kind, 20));
    ELSIF v.reason IS NOT NULL THEN
        why := v.reason;
        detail := CASE v.reason
            WHEN 'expired' THEN 'The poster''s code has expired; the venue prints a new one.'
            WHEN 'revoked' THEN 'The venue was changed, suspended or closed since the poster was printed.'
            WHEN 'malformed' THEN 'The scanned text is not an HP1 code.'
            WHEN 'not_yet_valid' THEN 'The code is dated in the future; check the clocks.'
            ELSE 'The code is not signed by a key this server trusts for it.' END;
    ELSIF NOT EXISTS (SELECT 1 FROM signing_key k WHERE k.kid = v.kid AND k.secret_box IS NOT NULL) THEN
        why := 'foreign';
        detail := format('The code was issued by "%s"; a venue is scanned with the server it is registered with.',
                         hp_quote(v.issuer, 40));
    ELSIF jsonb_typeof(v.body->'venue') IS DISTINCT FROM 'number' OR (v.body->>'venue') !~ '^[1-9][0-9]{0,17}$' THEN
        why := 'malformed';
        detail := 'The code names no venue.';
    END IF;
    IF why IS NOT NULL THEN
        RAISE EXCEPTION 'venue code is not valid: %', why
            USING ERRCODE = 'invalid_parameter_value', DETAIL = detail;
    END IF;
    vid := (v.body->>'venue')::bigint;
    r := hp_get_venue(vid);
    PERFORM hp_require_venue_status(r, ARRAY['active'], 'scans');
    RETURN r;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_venue_of_token(text) IS
    'the active venue a scanned venue code names, or 22023 naming the reason, P0002, 55000 (internal)';

-- The venue code ledger ---------------------------------------------------------------

-- Revokes a venue's live codes; returns how many were revoked.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_revoke_venue_codes(vid bigint, reason text) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    WITH gone AS (
        DELETE FROM venue_code_issued c WHERE c.venue_id = vid
        RETURNING c.*
    )
    SELECT count(revoke_token(g.token_id, reason, g.kid)) INTO n
      FROM gone g
     WHERE g.expires_at > now()
       AND NOT EXISTS (SELECT 1 FROM revoked_token r WHERE r.token_id = g.token_id);
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_revoke_venue_codes(bigint, text) IS 'revoke the live venue codes of a venue (internal)';

-- The venue code of an active venue: the newest live code while it still
-- verifies and has more than 30 days to run (a poster stays up), else a new
-- one valid for a year, recorded in the ledger. Issuing locks the venue, so
-- an edit or a suspension committed meanwhile is seen, and two callers
-- issue one code.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_venue_code(vid bigint) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v venue := hp_get_venue(vid);
    code text;
    issued pass;
BEGIN
    PERFORM hp_require_venue_status(v, ARRAY['active'], 'venue code');
    FOR code IN SELECT c.token FROM venue_code_issued c
                 WHERE c.venue_id = vid AND c.expires_at > now() + interval '30 days'
                 ORDER BY c.expires_at DESC LOOP
        IF (verify_token(code)).valid THEN
            RETURN code;
        END IF;
    END LOOP;
    v := hp_lock_venue(vid);
    PERFORM hp_require_venue_status(v, ARRAY['active'], 'venue code');
    -- another caller may have issued one while this one waited
    FOR code IN SELECT c.token FROM venue_code_issued c
                 WHERE c.venue_id = vid AND c.expires_at > now() + interval '30 days'
                 ORDER BY c.expires_at DESC LOOP
        IF (verify_token(code)).valid THEN
            RETURN code;
        END IF;
    END LOOP;
    code := issue_token('venue', jsonb_build_object('venue', v.venue_id, 'name', v.name,
                                                    'street', v.street, 'vv', v.version),
                        interval '1 year');
    issued := code;
    -- expired codes, and codes an administrator revoked, leave the ledger
    DELETE FROM venue_code_issued c
     WHERE c.venue_id = vid
       AND (c.expires_at <= now() OR EXISTS (SELECT 1 FROM revoked_token r WHERE r.token_id = c.token_id));
    INSERT INTO venue_code_issued (venue_id, token_id, kid, token, version, expires_at)
    VALUES (vid, pass_token_id(issued), pass_kid(issued), code, v.version, pass_expires_at(issued));
    RETURN code;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_venue_code(bigint) IS 'the live venue code of an active venue, issued when there is none (internal)';

-- Posters -------------------------------------------------------------------------

-- Text for XML: & < > " ' as entities.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_xml(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN replace(replace(replace(replace(replace(value, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                           '"', '&quot;'), '''', '&apos;');
COMMENT ON FUNCTION healthpass_internal.hp_xml(text) IS 'text escaped for XML (internal)';

-- A line of text broken into lines of at most max_em ems, guessing widths
-- (no font is measured): a CJK or full-width character is 1 em, any other
-- 0.6. A line breaks at its last space when it has one, else anywhere.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_wrap(value text, max_em numeric) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    lines text[] := '{}';
    line text := '';
    w numeric := 0;
    c text;
    cw numeric;
    sp integer;
BEGIN
    FOREACH c IN ARRAY regexp_split_to_array(coalesce(value, ''), '') LOOP
        cw := CASE WHEN c ~ '[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\U00020000-\U0003ffff]'
                   THEN 1 ELSE 0.6 END;
        IF w + cw > max_em AND line <> '' THEN
            sp := length(line) - strpos(reverse(line), ' ') + 1;
            IF c <> ' ' AND strpos(line, ' ') > 0 AND sp > 1 THEN
                lines := lines || rtrim(left(line, sp - 1));
                line := substr(line, sp + 1);
            ELSE
                lines := lines || rtrim(line);
                line := '';
            END IF;
            w := (SELECT coalesce(sum(CASE WHEN x ~ '[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\U00020000-\U0003ffff]'
                                           THEN 1 ELSE 0.6 END), 0)
                    FROM regexp_split_to_table(line, '') x);
            IF line = '' AND c = ' ' THEN
                CONTINUE;
            END IF;
        END IF;
        line := line || c;
        w := w + cw;
    END LOOP;
    IF line <> '' THEN
        lines := lines || line;
    END IF;
    RETURN lines;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_wrap(text, numeric) IS 'text broken into lines of a guessed width (internal)';

-- The poster as SVG: the code at error-correction level Q (a printed code
-- survives creases and smudges), the venue's name under it in bold and its
-- street and address below, centred, 160 mm wide. Units are QR modules.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_poster_svg(code text, title text, subtitle text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    qr text := qr_svg(code, 'Q', 1, 4);
    n integer := (regexp_match(qr, 'viewBox="0 0 ([0-9]+) '))[1]::integer;
    modules text := (regexp_match(qr, '<path [^>]*/>'))[1];
    fs1 numeric := round(n * 0.07, 2);
    fs2 numeric := round(n * 0.045, 2);
    y numeric := n;
    body text := '';
    l text;
    h numeric;
BEGIN
    FOREACH l IN ARRAY hp_wrap(title, (n - 8) / fs1) LOOP
        y := y + round(fs1 * 1.25, 2);
        body := body || format('<text x="%s" y="%s" font-size="%s" font-weight="bold">%s</text>',
                               round(n / 2.0, 1), y, fs1, hp_xml(l)) || E'\n';
    END LOOP;
    y := y + round(fs2 * 0.4, 2);
    FOREACH l IN ARRAY hp_wrap(subtitle, (n - 8) / fs2) LOOP
        y := y + round(fs2 * 1.25, 2);
        body := body || format('<text x="%s" y="%s" font-size="%s">%s</text>', round(n / 2.0, 1), y, fs2, hp_xml(l)) || E'\n';
    END LOOP;
    h := y + 4;
    RETURN '<?xml version="1.0" encoding="UTF-8"?>' || E'\n'
        || format('<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="160mm" height="%smm" viewBox="0 0 %s %s">',
                  round(160 * h / n, 1), n, h) || E'\n'
        || format('<title>%s</title>', hp_xml(title)) || E'\n'
        || format('<rect width="%s" height="%s" fill="#ffffff"/>', n, h) || E'\n'
        || '<g shape-rendering="crispEdges">' || modules || '</g>' || E'\n'
        || '<g font-family="Noto Sans CJK SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif" text-anchor="middle" fill="#000000">'
        || E'\n' || body || '</g>' || E'\n'
        || '</svg>' || E'\n';
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_poster_svg(text, text, text) IS 'a printable SVG poster: a QR code at level Q with two texts under it (internal)';

-- CRC-32 (ISO 3309, as PNG uses it) of some bytes.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_crc32(data bytea) RETURNS bigint
    AS 'MODULE_PATHNAME', 'hp_crc32' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass_internal.hp_crc32(bytea) IS 'CRC-32 of bytes, as PNG chunks carry it (zlib; internal)';

-- A PNG with an iTXt chunk (keyword, UTF-8 text, uncompressed) put right
-- after its header chunk: image viewers and file managers show it, the
-- image is unchanged.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_png_text(png bytea, keyword text, value text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    chunk bytea := convert_to('iTXt' || keyword, 'UTF8') || '\x0000000000'::bytea || convert_to(value, 'UTF8');
BEGIN
    -- 8 bytes of signature and 25 of IHDR (length, type, 13 bytes, CRC)
    RETURN substr(png, 1, 33)
        || int4send(length(chunk) - 4)
        || chunk
        || decode(lpad(to_hex(hp_crc32(chunk)), 8, '0'), 'hex')
        || substr(png, 34);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_png_text(bytea, text, text) IS 'a PNG with an iTXt text chunk added (internal)';

-- Public API ------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION register_venue(
    person_id bigint, id_kind text, id_number text, name text, street text, address text,
    phone text, image bytea, negative_test_hours integer DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    -- the manager, share-locked: an edit of their document waits
    p person := hp_lock_person(person_id, 'share');
    kind text;
    number text;
    vname text;
    vstreet text;
    vaddress text;
    vphone text;
    media text;
    hours integer;
    vid bigint;
BEGIN
    PERFORM hp_require_not_rejected(p);
    number := hp_venue_document(id_kind, id_number);
    kind := id_kind;
    IF kind = 'cn_resident_id' AND (p.doc_kind, p.doc_number) IS DISTINCT FROM (kind, number) THEN
        RAISE EXCEPTION 'resident ID number "%" is not the manager''s own', hp_mask_document(kind, number)
            USING ERRCODE = 'check_violation',
                  DETAIL = 'A venue without an organisation code is registered under its manager''s own resident ID number.';
    END IF;
    vname := hp_venue_text('venue name', name, 100);
    vstreet := hp_venue_text('street', street, 100);
    vaddress := hp_venue_text('address', address, 300);
    vphone := hp_venue_phone(phone);
    media := hp_image(hp_venue_image_label(kind), image);
    hours := hp_test_hours(negative_test_hours);
    BEGIN
        INSERT INTO venue (id_kind, id_number, name, street, address, phone, image_type, image,
                           manager_id, negative_test_hours)
        VALUES (kind, number, vname, vstreet, vaddress, vphone, media, image, p.person_id, hours)
        RETURNING venue.venue_id INTO vid;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'venue "%" of % "%" is already registered', hp_quote(vname), kind, hp_mask_document(kind, number)
            USING ERRCODE = 'unique_violation',
                  DETAIL = 'An identifier registers one venue of each name; a closed venue keeps its name.',
                  HINT = 'Choose another name, or manage the venue registered already.';
    END;
    RETURN vid;
END
$$;
COMMENT ON FUNCTION healthpass.register_venue(bigint, text, text, text, text, text, text, bytea, integer) IS
    'register a venue (seed 004 一.1) under uscc, org_code, the manager''s own cn_resident_id or a plate; the person becomes its manager; returns venue_id';

CREATE OR REPLACE FUNCTION my_venues(person_id bigint)
    RETURNS TABLE (venue_id bigint, role text, name text, street text, address text, status text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY
        SELECT v.venue_id, 'manager'::text, v.name, v.street, v.address, v.status
          FROM venue v WHERE v.manager_id = p.person_id
        UNION ALL
        SELECT v.venue_id, 'staff'::text, v.name, v.street, v.address, v.status
          FROM venue_staff s JOIN venue v ON v.venue_id = s.venue_id
         WHERE s.person_id = p.person_id
        ORDER BY 1;
END
$$;
COMMENT ON FUNCTION healthpass.my_venues(bigint) IS 'the venues a person manages or scans for, with the role and status ("my venue codes")';

CREATE OR REPLACE FUNCTION venue_details(person_id bigint, venue_id bigint)
    RETURNS TABLE (role text, id_kind text, id_masked text, name text, street text,
                   address text, phone text, image_type text, image bytea, status text, status_reason text,
                   negative_test_hours integer, staff_count integer, version integer,
                   created_at timestamptz, updated_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(venue_details.person_id);
    v venue := hp_get_venue(venue_details.venue_id);
    r text := hp_require_venue_role(v, p.person_id, 'staff');
BEGIN
    RETURN QUERY
        SELECT r, v.id_kind, hp_mask_document(v.id_kind, v.id_number), v.name, v.street,
               v.address, v.phone, v.image_type, v.image, v.status, v.status_reason,
               v.negative_test_hours,
               (SELECT count(*)::integer FROM venue_staff s WHERE s.venue_id = v.venue_id),
               v.version, v.created_at, v.updated_at;
END
$$;
COMMENT ON FUNCTION healthpass.venue_details(bigint, bigint) IS
    'a venue''s details page, for its manager and staff (42501 otherwise); the identifier masked';

CREATE OR REPLACE FUNCTION edit_venue(person_id bigint, venue_id bigint, changes jsonb, image bytea DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(edit_venue.person_id);
    v venue := hp_lock_venue(edit_venue.venue_id);
    allowed CONSTANT text[] := ARRAY['name', 'street', 'address', 'phone', 'negative_test_hours'];
    k text;
    vname text;
    vstreet text;
    vaddress text;
    vphone text;
    hours integer;
    media text;
    ver integer;
BEGIN
    PERFORM hp_require_venue_role(v, p.person_id, 'manager');
    PERFORM hp_require_venue_status(v, ARRAY['active', 'suspended'], 'edits');
    IF changes IS NULL OR jsonb_typeof(changes) <> 'object' THEN
        RAISE EXCEPTION 'changes "%" are not a JSON object', hp_quote(changes::text)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Changes are given as {"field": value, ...}.';
    END IF;
    FOR k IN SELECT jsonb_object_keys(changes) LOOP
        IF NOT k = ANY (allowed) THEN
            RAISE EXCEPTION 'unknown venue field "%"', hp_quote(k)
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('Editable fields are %s (a new image is passed as the image argument; the identifier is not edited).',
                                      array_to_string(allowed, ', '));
        END IF;
        IF k = 'negative_test_hours' AND jsonb_typeof(changes->k) NOT IN ('number', 'null') THEN
            RAISE EXCEPTION 'venue field "%" must be a number, not %', k, hp_quote((changes->k)::text)
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The negative-test window is a whole number of hours, or null for none.';
        ELSIF k <> 'negative_test_hours' AND jsonb_typeof(changes->k) <> 'string' THEN
            RAISE EXCEPTION 'venue field "%" must be a string, not %', k, hp_quote((changes->k)::text)
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Names, streets, addresses and phones are JSON strings.';
        END IF;
    END LOOP;
    vname := CASE WHEN changes ? 'name' THEN hp_venue_text('venue name', changes->>'name', 100) ELSE v.name END;
    vstreet := CASE WHEN changes ? 'street' THEN hp_venue_text('street', changes->>'street', 100) ELSE v.street END;
    vaddress := CASE WHEN changes ? 'address' THEN hp_venue_text('address', changes->>'address', 300) ELSE v.address END;
    vphone := CASE WHEN changes ? 'phone' THEN hp_venue_phone(changes->>'phone') ELSE v.phone END;
    hours := CASE WHEN changes ? 'negative_test_hours' THEN hp_test_hours((changes->>'negative_test_hours')::numeric)
                  ELSE v.negative_test_hours END;
    IF image IS NOT NULL THEN
        media := hp_image(hp_venue_image_label(v.id_kind), image);
    END IF;
    BEGIN
        UPDATE venue SET name = vname, street = vstreet, address = vaddress, phone = vphone,
                         negative_test_hours = hours,
                         image_type = coalesce(media, venue.image_type),
                         image = coalesce(edit_venue.image, venue.image)
         WHERE venue.venue_id = v.venue_id
         RETURNING venue.version INTO ver;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'venue "%" of % "%" is already registered', hp_quote(vname), v.id_kind,
                hp_mask_document(v.id_kind, v.id_number)
            USING ERRCODE = 'unique_violation',
                  DETAIL = 'An identifier registers one venue of each name; a closed venue keeps its name.';
    END;
    -- the poster shows the name, street and address: a code printed with
    -- the old ones is revoked; a phone, image or test window change is not
    -- on the poster and revokes nothing
    IF (vname, vstreet, vaddress) IS DISTINCT FROM (v.name, v.street, v.address) THEN
        PERFORM hp_revoke_venue_codes(v.venue_id, 'venue edited');
    END IF;
    RETURN ver;
END
$$;
COMMENT ON FUNCTION healthpass.edit_venue(bigint, bigint, jsonb, bytea) IS
    'the manager edits a venue (name, street, address, phone, negative_test_hours; image as an argument); returns the new version; a name, street or address change revokes the venue code';

CREATE OR REPLACE FUNCTION venue_history(person_id bigint, venue_id bigint)
    RETURNS TABLE (version integer, valid_from timestamptz, valid_to timestamptz, data jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(venue_history.person_id);
    v venue := hp_get_venue(venue_history.venue_id);
BEGIN
    PERFORM hp_require_venue_role(v, p.person_id, 'manager');
    RETURN QUERY
        SELECT h.version, h.valid_from, h.valid_to, h.data - 'version'
          FROM healthpass.venue_history h WHERE h.venue_id = v.venue_id
        UNION ALL
        SELECT c.version, c.updated_at, NULL::timestamptz,
               (to_jsonb(c) - 'version' - 'image') || jsonb_build_object('image_sha256', encode(sha256(c.image), 'hex'))
          FROM venue c WHERE c.venue_id = v.venue_id
        ORDER BY 1;
END
$$;
COMMENT ON FUNCTION healthpass.venue_history(bigint, bigint) IS
    'every version of a venue, oldest first, for its manager; images as their SHA-256; the current one has valid_to NULL';

-- Suspending, closing and reopening: the manager, with a reason.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_set_venue_status(pid bigint, vid bigint, target text, reason text) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(pid);
    v venue := hp_lock_venue(vid);
    why text;
BEGIN
    PERFORM hp_require_venue_role(v, p.person_id, 'manager');
    why := hp_text('reason', reason, 500, required => true);
    IF v.status = 'closed' THEN
        RAISE EXCEPTION 'venue % is closed', v.venue_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Closing is final: a closed venue is not suspended, reopened or closed again.';
    END IF;
    IF target = 'suspended' AND v.status = 'suspended' THEN
        RAISE EXCEPTION 'venue % is suspended already', v.venue_id
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Reopen it first, or close it.';
    END IF;
    IF target = 'active' AND v.status <> 'suspended' THEN
        RAISE EXCEPTION 'venue % is not suspended', v.venue_id
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Only a suspended venue is reopened.';
    END IF;
    UPDATE venue SET status = target, status_reason = why WHERE venue.venue_id = v.venue_id;
    IF target <> 'active' THEN
        PERFORM hp_revoke_venue_codes(v.venue_id, 'venue ' || target);
    END IF;
    RETURN target;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_set_venue_status(bigint, bigint, text, text) IS
    'suspend, close or reopen a venue for its manager; suspending and closing revoke its codes (internal)';

CREATE OR REPLACE FUNCTION suspend_venue(person_id bigint, venue_id bigint, reason text) RETURNS text
    LANGUAGE sql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
    RETURN hp_set_venue_status(person_id, venue_id, 'suspended', reason);
COMMENT ON FUNCTION healthpass.suspend_venue(bigint, bigint, text) IS
    'the manager suspends an active venue, with a reason: its venue code is revoked and it records no scans until reopened';

CREATE OR REPLACE FUNCTION close_venue(person_id bigint, venue_id bigint, reason text) RETURNS text
    LANGUAGE sql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
    RETURN hp_set_venue_status(person_id, venue_id, 'closed', reason);
COMMENT ON FUNCTION healthpass.close_venue(bigint, bigint, text) IS
    'the manager closes a venue for good, with a reason: its venue code is revoked';

CREATE OR REPLACE FUNCTION reopen_venue(person_id bigint, venue_id bigint, reason text) RETURNS text
    LANGUAGE sql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
    RETURN hp_set_venue_status(person_id, venue_id, 'active', reason);
COMMENT ON FUNCTION healthpass.reopen_venue(bigint, bigint, text) IS
    'the manager reopens a suspended venue, with a reason; the next venue_code call issues a new code';

-- The venue code and the poster (seed 004 一.2) ------------------------------------

CREATE OR REPLACE FUNCTION venue_code(person_id bigint, venue_id bigint) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(venue_code.person_id);
    v venue := hp_get_venue(venue_code.venue_id);
BEGIN
    PERFORM hp_require_venue_role(v, p.person_id, 'staff');
    RETURN hp_venue_code(v.venue_id);
END
$$;
COMMENT ON FUNCTION healthpass.venue_code(bigint, bigint) IS
    'the venue code (HP1 kind "venue", a year long) of an active venue, for its manager and staff: the same code until it nears expiry or the venue changes';

CREATE OR REPLACE FUNCTION venue_poster_svg(person_id bigint, venue_id bigint) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    code text := venue_code(venue_poster_svg.person_id, venue_poster_svg.venue_id);
    v venue := hp_get_venue(venue_poster_svg.venue_id);
BEGIN
    RETURN hp_poster_svg(code, v.name, v.street || ' ' || v.address);
END
$$;
COMMENT ON FUNCTION healthpass.venue_poster_svg(bigint, bigint) IS
    'the printable poster as SVG: the venue code at error-correction level Q, the name and address under it';

CREATE OR REPLACE FUNCTION venue_poster_png(person_id bigint, venue_id bigint, module_px integer DEFAULT 8) RETURNS bytea
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    px integer := hp_module_px(module_px);
    code text := venue_code(venue_poster_png.person_id, venue_poster_png.venue_id);
    v venue := hp_get_venue(venue_poster_png.venue_id);
BEGIN
    RETURN hp_png_text(hp_png_text(hp_poster_png(code, 'Q', px, ARRAY[v.name, v.street || ' ' || v.address]),
                                   'Description', v.street || ' ' || v.address),
                       'Title', v.name);
END
$$;
COMMENT ON FUNCTION healthpass.venue_poster_png(bigint, bigint, integer) IS
    'the printable poster as PNG: the venue code at error-correction level Q, the name and address drawn under it (font: healthpass.poster_font) and also in iTXt chunks (Title, Description)';

-- Staff (seed 004 一.3) ---------------------------------------------------------

-- The manager adds a registered person by document and name. An unknown
-- document and a name that does not match its registration (ignoring case
-- and spacing, as the manual check) get the same P0002: no oracle.
CREATE OR REPLACE FUNCTION add_venue_staff(manager_id bigint, venue_id bigint, doc_kind text, doc_number text, name text)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    m person := hp_get_person(add_venue_staff.manager_id);
    v venue := hp_lock_venue(add_venue_staff.venue_id);
    n text;
    given text;
    s person;
    sid bigint;
BEGIN
    PERFORM hp_require_venue_role(v, m.person_id, 'manager');
    PERFORM hp_require_venue_status(v, ARRAY['active', 'suspended'], 'staff');
    n := hp_person_document(doc_kind, doc_number);
    given := hp_text('name', add_venue_staff.name, 100, required => true);
    -- two reads, not a join: the number's row and the person's row are
    -- distributed by different keys on Citus (doc/citus.md)
    SELECT d.person_id INTO sid FROM document_index d
     WHERE d.doc_kind = add_venue_staff.doc_kind AND d.doc_number = n;
    SELECT x.* INTO s FROM person x WHERE x.person_id = sid;
    IF NOT FOUND OR NOT hp_same_name(s.name, given) THEN
        RAISE EXCEPTION 'no registered person matches % "%" with the name given', doc_kind, hp_mask_document(doc_kind, n)
            USING ERRCODE = 'no_data_found',
                  DETAIL = 'The document is not registered, or the name does not match its registration.',
                  HINT = 'Staff register themselves first; type the name as on their document.';
    END IF;
    IF s.person_id = v.manager_id THEN
        RAISE EXCEPTION 'person % manages venue % and scans for it already', s.person_id, v.venue_id
            USING ERRCODE = 'check_violation', DETAIL = 'A venue''s manager is not added as its staff.';
    END IF;
    BEGIN
        INSERT INTO venue_staff (venue_id, person_id) VALUES (v.venue_id, s.person_id);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'person % is staff of venue % already', s.person_id, v.venue_id
            USING ERRCODE = 'unique_violation', DETAIL = 'A person is added to a venue''s staff once.';
    END;
    RETURN s.person_id;
END
$$;
COMMENT ON FUNCTION healthpass.add_venue_staff(bigint, bigint, text, text, text) IS
    'the manager adds a registered person as staff by document and name (P0002 for an unknown document or a wrong name alike); returns their person_id';

CREATE OR REPLACE FUNCTION remove_venue_staff(manager_id bigint, venue_id bigint, staff_id bigint) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    m person := hp_get_person(remove_venue_staff.manager_id);
    v venue := hp_lock_venue(remove_venue_staff.venue_id);
    added timestamptz;
BEGIN
    PERFORM hp_require_venue_role(v, m.person_id, 'manager');
    IF staff_id IS NULL THEN
        RAISE EXCEPTION 'staff id is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the staff member by the staff_id venue_staff lists.';
    END IF;
    DELETE FROM venue_staff s WHERE s.venue_id = v.venue_id AND s.person_id = remove_venue_staff.staff_id
    RETURNING s.added_at INTO added;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % is not staff of venue %', staff_id, v.venue_id
            USING ERRCODE = 'no_data_found', DETAIL = 'Only staff the manager added are removed.';
    END IF;
    INSERT INTO venue_staff_history (venue_id, person_id, added_at) VALUES (v.venue_id, staff_id, added)
        ON CONFLICT DO NOTHING;
    RETURN now();
END
$$;
COMMENT ON FUNCTION healthpass.remove_venue_staff(bigint, bigint, bigint) IS
    'the manager removes a staff member; they scan for the venue no more; returns when';

CREATE OR REPLACE FUNCTION venue_staff(manager_id bigint, venue_id bigint)
    RETURNS TABLE (staff_id bigint, name_masked text, doc_kind text, id_masked text, added_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    m person := hp_get_person(venue_staff.manager_id);
    v venue := hp_get_venue(venue_staff.venue_id);
BEGIN
    PERFORM hp_require_venue_role(v, m.person_id, 'manager');
    RETURN QUERY
        SELECT s.person_id, mask_name(p.name), p.doc_kind, hp_mask_document(p.doc_kind, p.doc_number), s.added_at
          FROM healthpass.venue_staff s JOIN person p ON p.person_id = s.person_id
         WHERE s.venue_id = v.venue_id
         ORDER BY s.added_at, s.person_id;
END
$$;
COMMENT ON FUNCTION healthpass.venue_staff(bigint, bigint) IS 'a venue''s staff for its manager, oldest first, names and documents masked';

GRANT EXECUTE ON FUNCTION
    healthpass.register_venue(bigint, text, text, text, text, text, text, bytea, integer),
    healthpass.my_venues(bigint),
    healthpass.venue_details(bigint, bigint),
    healthpass.edit_venue(bigint, bigint, jsonb, bytea),
    healthpass.venue_history(bigint, bigint),
    healthpass.suspend_venue(bigint, bigint, text),
    healthpass.close_venue(bigint, bigint, text),
    healthpass.reopen_venue(bigint, bigint, text),
    healthpass.venue_code(bigint, bigint),
    healthpass.venue_poster_svg(bigint, bigint),
    healthpass.venue_poster_png(bigint, bigint, integer),
    healthpass.add_venue_staff(bigint, bigint, text, text, text),
    healthpass.remove_venue_staff(bigint, bigint, bigint),
    healthpass.venue_staff(bigint, bigint)
  TO healthpass_app, healthpass_admin;
