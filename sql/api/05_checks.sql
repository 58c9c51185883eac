-- 05_checks.sql: the one place where free text, names and instants that a
-- caller passes are checked. Every domain function calls these instead of
-- writing its own checks, so a class of bad input is refused everywhere:
--   hp_quote    a value cut for an error message (never the whole of it)
--   hp_text     free text: length limit (54000), no control or bidi
--               characters (22023); newlines and tabs only where allowed
--   hp_name     a person's name: letters, marks, spaces, middle dot,
--               hyphen, apostrophe; NFC; at most 100 characters (22023)
--   hp_instant  a timestamp: not NULL when required (22004), finite and
--               between the years 1900 and 9999 (22008)
--   hp_past_instant  the same, and not in the future (22008)
--   hp_image    a JPEG or PNG image by its magic bytes, at most photo_limit()
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- A value as an error message may quote it: at most 40 characters (cut at a
-- character, never inside one), control, zero-width and text-direction
-- characters shown as "?", and every run of 15 or more digits (an identity
-- number, whole or with a wrong check digit) masked to its first and last
-- four characters, so no log collects one. The C core quotes by the same
-- rules (src/quote.c).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_quote(value text, keep integer DEFAULT 40) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    v text;
    run text;
    at integer;
BEGIN
    IF value IS NULL THEN
        RETURN 'NULL';
    END IF;
    v := regexp_replace(left(value, keep), '[\x01-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]', '?', 'g');
    LOOP
        at := regexp_instr(v, '[0-9]{15,}[Xx]?');
        EXIT WHEN at = 0;
        run := regexp_substr(v, '[0-9]{15,}[Xx]?');
        v := overlay(v PLACING left(run, 4) || repeat('*', length(run) - 8) || right(run, 4)
                     FROM at FOR length(run));
    END LOOP;
    RETURN v || CASE WHEN length(value) > keep THEN '…' ELSE '' END;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_quote(text, integer) IS 'a value cut to quote in an error message (internal)';

-- Characters no text a person reads may hold: C0 and C1 controls, zero-width
-- characters, and bidirectional overrides and isolates (which make a text
-- display as something else).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_bad_chars(multiline boolean) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN multiline THEN '[\x01-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]'
            ELSE '[\x01-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]' END;
COMMENT ON FUNCTION healthpass_internal.hp_bad_chars(boolean) IS 'regular expression of the characters free text may not hold (internal)';

-- Free text a caller gives: trimmed (NULL when empty), at most maxlen
-- characters, no control or bidi characters (newline and tab only when
-- multiline).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_text(field text, value text, maxlen integer,
                                   required boolean DEFAULT false, multiline boolean DEFAULT false)
    RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    v text := nullif(btrim(value, E' \t\r\n　'), '');
BEGIN
    IF v IS NULL THEN
        IF required THEN
            RAISE EXCEPTION '% is missing', field
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Give the %s.', field);
        END IF;
        RETURN NULL;
    END IF;
    IF length(v) > maxlen THEN
        RAISE EXCEPTION '% "%" is % characters long', field, hp_quote(v), length(v)
            USING ERRCODE = 'program_limit_exceeded', DETAIL = format('The %s has at most %s characters.', field, maxlen);
    END IF;
    IF v ~ hp_bad_chars(multiline) THEN
        RAISE EXCEPTION '% "%" holds a control character', field, hp_quote(v)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The %s may not hold control, zero-width or text-direction characters%s.',
                                  field, CASE WHEN multiline THEN ' (line breaks and tabs are allowed)' ELSE '' END);
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_text(text, text, integer, boolean, boolean) IS 'checked free text: trimmed, length-limited, no control characters (internal)';

-- A person's name: spaces (also no-break and ideographic ones) collapsed,
-- NFC, 1 to 100 characters of letters and combining marks with spaces,
-- middle dots (·, ・), hyphens and apostrophes between them; at least one
-- letter, no digits, no line breaks or other control characters.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_name(field text, value text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    -- runs of spaces (ASCII, no-break, ideographic) become one; line breaks
    -- and tabs are control characters, refused below
    v text := btrim(regexp_replace(coalesce(value, ''), '[ \u00a0\u3000]+', ' ', 'g'));
BEGIN
    IF v = '' THEN
        RAISE EXCEPTION '% "%" is empty', field, hp_quote(coalesce(value, ''))
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A person needs the name printed on their document.';
    END IF;
    IF length(v) > 100 THEN
        RAISE EXCEPTION '% "%" is % characters long', field, hp_quote(v), length(v)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A name has at most 100 characters.';
    END IF;
    IF current_setting('server_encoding') = 'UTF8' THEN
        v := normalize(v, NFC);
    END IF;
    -- refused: controls, zero-width and direction characters, digits of any
    -- width, and every ASCII or full-width symbol but hyphen and apostrophe
    IF v ~ hp_bad_chars(false)
       OR v ~ '[0-9０-９!-&(-,./:-@\[-`{-~！-＆（-＋，．／：-＠［-｀｛-～]'
       OR v !~ '[^ ·・''’-]' THEN
        RAISE EXCEPTION '% "%" is not valid', field, hp_quote(v)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A name is letters, with spaces, middle dots, hyphens and apostrophes between them; no digits, symbols or control characters.';
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_name(text, text) IS 'checked and normalised person name (internal)';

-- A point in time a caller gives: finite, and present when required.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_instant(field text, value timestamptz, required boolean DEFAULT true)
    RETURNS timestamptz
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF value IS NULL THEN
        IF required THEN
            RAISE EXCEPTION '% is missing', field
                USING ERRCODE = 'null_value_not_allowed', DETAIL = format('Give the %s as a date and time.', field);
        END IF;
        RETURN NULL;
    END IF;
    IF NOT isfinite(value) THEN
        RAISE EXCEPTION '% "%" is not a point in time', field, value
            USING ERRCODE = 'datetime_field_overflow', DETAIL = format('The %s must be a real date and time, not infinity.', field);
    END IF;
    IF value < timestamptz '1900-01-01 00:00:00+00' OR value >= timestamptz '10000-01-01 00:00:00+00' THEN
        RAISE EXCEPTION '% "%" is out of range', field, value
            USING ERRCODE = 'datetime_field_overflow', DETAIL = format('The %s lies between the years 1900 and 9999.', field);
    END IF;
    RETURN value;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_instant(text, timestamptz, boolean) IS 'checked instant: finite, present when required (internal)';

-- A document number a personal flow could not read, as a message may quote
-- it: the first and last characters only (four each from 12 characters
-- on, one each below), so a log never holds a whole number, nor 17 digits
-- of one with a wrong check digit.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_mask_value(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN value IS NULL THEN 'NULL'
            WHEN length(value) <= 4 THEN repeat('*', length(value))
            WHEN length(value) < 12 THEN hp_quote(left(value, 1) || repeat('*', length(value) - 2) || right(value, 1))
            ELSE hp_quote(left(value, 4) || repeat('*', least(length(value), 40) - 8) || right(value, 4)) END;
COMMENT ON FUNCTION healthpass_internal.hp_mask_value(text) IS 'an unreadable document number masked for a message (internal)';

-- A point in time up to now (a look-up "as of" an instant): as hp_instant,
-- and not in the future (22008).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_past_instant(field text, value timestamptz) RETURNS timestamptz
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF hp_instant(field, value) > now() THEN
        RAISE EXCEPTION '% "%" is not valid', field, value
            USING ERRCODE = 'datetime_field_overflow',
                  DETAIL = format('The %s is a time up to now: what was known then, not a forecast.', field);
    END IF;
    RETURN value;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_past_instant(text, timestamptz) IS 'checked instant that is not in the future (internal)';

-- An image a caller gives (a certified photo, a licence, a vehicle photo):
-- present, at most photo_limit()
-- bytes, and a JPEG or PNG by its first bytes. Returns the media type.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_image(field text, image bytea) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    media text;
BEGIN
    IF image IS NULL THEN
        RAISE EXCEPTION '% is missing', field
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Give the %s as a JPEG or PNG file.', field);
    END IF;
    IF length(image) > photo_limit() THEN
        RAISE EXCEPTION '% of % bytes is too large', field, length(image)
            USING ERRCODE = 'program_limit_exceeded', DETAIL = format('An image has at most %s bytes.', photo_limit());
    END IF;
    media := CASE WHEN substr(image, 1, 3) = '\xffd8ff'::bytea THEN 'image/jpeg'
                  WHEN substr(image, 1, 8) = '\x89504e470d0a1a0a'::bytea THEN 'image/png' END;
    IF media IS NULL THEN
        RAISE EXCEPTION '% starting with "%" is not a JPEG or PNG image', field, encode(substr(image, 1, 8), 'hex')
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Images are JPEG or PNG files.';
    END IF;
    RETURN media;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_image(text, bytea) IS 'media type of a checked JPEG or PNG image (internal)';
