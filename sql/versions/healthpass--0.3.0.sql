-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION healthpass" to load this file. \quit

-- names in the script resolve in the API schema, then in the internal one
SELECT pg_catalog.set_config('search_path', 'healthpass, healthpass_internal', true);

-- ===== sql/schema/00_schema.sql
-- 00_schema.sql: the internal schema.
--
-- The public API lives in the extension's schema, healthpass. Everything
-- an application must not call (helpers, trigger functions, the key cache's
-- hooks, the compiled rule sets' building blocks) lives in
-- healthpass_internal, which no purpose role may even look into: only the
-- SECURITY DEFINER API functions, running as the extension's owner, reach it.
-- (created once: later changes go to sql/updates/)

CREATE SCHEMA healthpass_internal;
COMMENT ON SCHEMA healthpass_internal IS
    'healthpass internals: helpers, trigger functions, caches; not for applications';
REVOKE ALL ON SCHEMA healthpass_internal FROM PUBLIC;

-- ===== sql/api/00_schema.sql
-- 00_schema.sql: purpose roles, privileges and the version function.
--
-- Application roles never get table privileges: they call SECURITY DEFINER
-- functions granted to them. Roles are cluster-wide, so they are created
-- only when missing (the extension may be created in several databases).
-- (replayed by every upgrade: CREATE OR REPLACE only)

DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY[
        'healthpass_admin',      -- administrators: keys, rules, notices
        'healthpass_app',        -- app servers acting for travellers
        'healthpass_scanner',    -- venue and border scanners: verify, record scans
        'healthpass_health',     -- health authority: results, risk marks
        'healthpass_report',     -- DBAs and analysts: read-only reports
        'healthpass_border',     -- exit-entry administration and border control: documents, crossings
        'healthpass_messenger'   -- reminder delivery workers: claim due reminders, mark them sent
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
       healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;

CREATE OR REPLACE FUNCTION healthpass.version() RETURNS text
    AS 'MODULE_PATHNAME', 'healthpass_version'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- qualified: an unqualified version() here would name pg_catalog.version()
COMMENT ON FUNCTION healthpass.version() IS 'healthpass extension version';
GRANT EXECUTE ON FUNCTION healthpass.version()
    TO healthpass_admin, healthpass_app, healthpass_scanner,
       healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;

-- ===== sql/schema/01_settings.sql
-- 01_settings.sql: the settings an administrator changed in this database.
--
-- One row per changed setting, none at install: the defaults live in the
-- registry (sql/api/01_settings.sql), so a dump carries exactly what was
-- changed and a restore (which creates the extension first) never collides
-- with a row CREATE EXTENSION made.
-- (created once: later changes go to sql/updates/)

CREATE TABLE setting (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE healthpass.setting IS 'database settings an administrator changed (the defaults are in settings())';
SELECT pg_catalog.pg_extension_config_dump('setting', '');

-- ===== sql/api/01_settings.sql
-- 01_settings.sql: every setting in one place, one way to read and change
-- them.
--
-- A setting is one of three kinds:
--   database  stored in the table setting when changed (dumped with the
--             data); changed with configure(name, value), read with
--             hp_setting(name)
--   server    a GUC in postgresql.conf (healthpass.issuer, ...): the same
--             for every database of the server, changed with ALTER SYSTEM
--             or the configuration file and a reload
--   fixed     a rule of the seed documents (a group is at most 10
--             travellers, ...), read from its constant function
-- settings() lists them all with their value, default and source.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- The registry: every setting, its kind, what it means and how messages
-- name it (label); for a database setting its default and bounds. A server
-- setting's default and bounds are the GUC's own (pg_settings), a fixed
-- one's value is its constant function's: neither is written twice.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_setting_registry()
    RETURNS TABLE (name text, kind text, default_value text, min_value text, max_value text,
                   label text, description text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    VALUES
      ('code_valid_for', 'database', '00:03:00', '00:00:30', '1 day', 'health-code validity',
       'how long a dynamic health code is valid: a screenshot goes stale after it'),
      ('declaration_valid_for', 'database', '1 day', '01:00:00', '30 days', 'declaration validity',
       'how long a health declaration stays in force'),
      ('scan_retention', 'database', '28 days', '1 day', '366 days', 'scan retention',
       'how long the scan history keeps a day (scan_maintenance drops older days)'),
      ('trace_window', 'database', '00:30:00', '00:01:00', '1 day', 'tracing window',
       'how close in time two scans at one venue count as an encounter in contact tracing'),
      ('report_min_cell', 'database', '5', '1', '1000', 'smallest reported count',
       'report cells counting fewer people are suppressed in aggregates exported outside the health authority'),
      ('permit_retry_after', 'database', '00:20:00', '00:01:00', '1 day', 'binding retry delay',
       'when binding the electronic permit finds no document yet, how long until trying again is worthwhile (seed 001: 20 minutes)'),
      ('face_check_valid_for', 'database', '00:10:00', '00:01:00', '1 day', 'face check validity',
       'how recent a passed face check must be to bind the electronic permit'),
      ('reminder_offsets', 'database', '30,7,1', '1', '366', 'reminder offsets',
       'days before a document or an endorsement expires on which its holder is reminded: a comma list of whole days, at most 10'),
      ('reminder_lease', 'database', '00:05:00', '00:00:10', '1 day', 'reminder lease',
       'how long a claimed reminder stays with the worker that claimed it before it is handed out again'),
      ('reminder_max_attempts', 'database', '8', '1', '100', 'reminder attempts',
       'how many times a reminder is handed out before it is given up as failed'),
      ('contactless_code_valid_for', 'database', '00:10:00', '00:01:00', '1 day', 'contactless code validity',
       'how long a Hong Kong contactless e-Channel code is valid: it is shown at one gate, once (seed 003)'),
      ('transfer_valid_for', 'database', '06:00:00', '00:05:00', '2 days', 'transfer validity',
       'how long a transfer token to another issuer is valid: the traveller carries it to the border (seed 002)'),
      ('healthpass.issuer', 'server', NULL, NULL, NULL, 'issuer',
       'the iss of every token this server signs; a key vouches only for its issuer'),
      ('healthpass.clock_skew', 'server', NULL, NULL, NULL, 'clock skew',
       'seconds of clock difference a verifier forgives at exp and iat'),
      ('healthpass.poster_font', 'server', NULL, NULL, NULL, 'poster font',
       'the font file that draws names and addresses on printed PNG posters and certificates'),
      ('healthpass.master_key_file', 'server', NULL, NULL, NULL, 'master key file',
       'the file holding the master key that seals signing keys (empty: healthpass_master.key in the data directory)'),
      ('companion_limit', 'fixed', NULL, NULL, NULL, 'companion limit',
       'companions one registrant binds: a group is at most 10 travellers (seed 000)'),
      ('family_limit', 'fixed', NULL, NULL, NULL, 'family limit',
       'family members a guardian registers (seed 004)'),
      ('photo_limit', 'fixed', NULL, NULL, NULL, 'photo limit',
       'bytes of a certified photo'),
      ('result_window', 'fixed', NULL, NULL, NULL, 'result window',
       'how far back a nucleic-acid result counts (seed 004)'),
      ('recolour_chunk_size', 'fixed', NULL, NULL, NULL, 're-colouring chunk',
       'people per chunk of a bulk re-colouring job')
$$;
COMMENT ON FUNCTION healthpass_internal.hp_setting_registry() IS 'every setting: kind, default, bounds, meaning (internal)';

-- A database setting in force: what an administrator changed, else the
-- default. Raises for a name that is not a database setting.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_setting(setting_name text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    r record;
    v text;
BEGIN
    SELECT * INTO r FROM hp_setting_registry() g WHERE g.name = setting_name AND g.kind = 'database';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown database setting "%"', hp_quote(setting_name)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'settings() lists the settings; those of kind "database" are changed with configure().';
    END IF;
    SELECT s.value INTO v FROM setting s WHERE s.name = setting_name;
    RETURN coalesce(v, r.default_value);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_setting(text) IS 'a database setting in force (internal)';

CREATE OR REPLACE FUNCTION settings()
    RETURNS TABLE (name text, kind text, value text, default_value text, changed boolean,
                   updated_at timestamptz, description text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    -- the server settings exist once the library is loaded
    PERFORM token_issuer();
    RETURN QUERY
    SELECT g.name, g.kind,
           CASE g.kind
               WHEN 'database' THEN coalesce(s.value, g.default_value)
               WHEN 'server' THEN current_setting(g.name, true)
               ELSE CASE g.name
                        WHEN 'companion_limit' THEN companion_limit()::text
                        WHEN 'family_limit' THEN family_limit()::text
                        WHEN 'photo_limit' THEN photo_limit()::text
                        WHEN 'result_window' THEN result_window()::text
                        WHEN 'recolour_chunk_size' THEN recolour_chunk_size()::text
                    END
           END,
           CASE g.kind WHEN 'database' THEN g.default_value
                       WHEN 'server' THEN (SELECT p.boot_val FROM pg_settings p WHERE p.name = g.name)
                       ELSE NULL END,
           CASE g.kind WHEN 'database' THEN s.name IS NOT NULL
                       WHEN 'server' THEN (SELECT p.source <> 'default' FROM pg_settings p WHERE p.name = g.name)
                       ELSE false END,
           s.updated_at,
           g.description
      FROM hp_setting_registry() g LEFT JOIN setting s ON s.name = g.name
     ORDER BY g.kind, g.name;
END
$$;
COMMENT ON FUNCTION healthpass.settings() IS
    'every setting in one place: kind (database, server, fixed), value in force, default, whether changed, meaning';

-- Changes a database setting (NULL: back to the default). The value is
-- checked against the setting's type (a length of time, or a whole number
-- when the default is one, or a comma list of whole days when the default
-- is a list) and bounds; only what is issued or
-- declared afterwards is affected.
CREATE OR REPLACE FUNCTION configure(setting_name text, value text) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    r record;
    v interval;
    n integer;
    days integer[];
BEGIN
    SELECT * INTO r FROM hp_setting_registry() g WHERE g.name = setting_name;
    IF NOT FOUND OR r.kind <> 'database' THEN
        RAISE EXCEPTION '% "%" cannot be configured here', CASE WHEN FOUND THEN r.kind || ' setting' ELSE 'unknown setting' END,
                hp_quote(setting_name)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = CASE WHEN NOT FOUND THEN 'settings() lists the settings.'
                                WHEN r.kind = 'server' THEN 'A server setting is set in postgresql.conf or with ALTER SYSTEM, then reloaded.'
                                ELSE 'A fixed setting is a rule of the seed documents.' END;
    END IF;
    IF value IS NULL THEN
        DELETE FROM setting s WHERE s.name = setting_name;
        RETURN r.default_value;
    END IF;
    IF r.default_value ~ '^[0-9]+(,[0-9]+)+$' THEN
        -- a list of whole days (the default has a comma): each within the
        -- bounds, none twice, at most 10; kept latest first
        IF value !~ '^\s*[0-9]{1,9}\s*(,\s*[0-9]{1,9}\s*)*$' THEN
            RAISE EXCEPTION '% "%" are not whole days separated by commas', r.label, hp_quote(value)
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Give whole numbers of days separated by commas, such as 30,7,1.';
        END IF;
        days := ARRAY(SELECT x::integer FROM unnest(string_to_array(value, ',')) x ORDER BY 1 DESC);
        IF cardinality(days) > 10 THEN
            RAISE EXCEPTION '% "%" name % days', r.label, hp_quote(value), cardinality(days)
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The %s name at most 10 days.', r.label);
        END IF;
        SELECT x INTO n FROM unnest(days) x WHERE NOT x BETWEEN r.min_value::integer AND r.max_value::integer LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'day % of % "%" is out of range', n, r.label, hp_quote(value)
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('Each of the %s lies between %s and %s days.', r.label, r.min_value, r.max_value);
        END IF;
        SELECT x INTO n FROM unnest(days) x GROUP BY x HAVING count(*) > 1 ORDER BY x DESC LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'day % of % "%" is named twice', n, r.label, hp_quote(value)
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Each of the %s names another day.', r.label);
        END IF;
        INSERT INTO setting AS s (name, value) VALUES (setting_name, array_to_string(days, ','))
        ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by;
        RETURN array_to_string(days, ',');
    END IF;
    IF r.default_value ~ '^[0-9]+$' THEN
        -- a whole-number setting
        BEGIN
            n := value::integer;
        EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
            RAISE EXCEPTION '% "%" is not a whole number', r.label, hp_quote(value)
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Give a whole number such as 5.';
        END;
        IF NOT n BETWEEN r.min_value::integer AND r.max_value::integer THEN
            RAISE EXCEPTION '% "%" is out of range', r.label, n
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('The %s lies between %s and %s.', r.label, r.min_value, r.max_value);
        END IF;
        INSERT INTO setting AS s (name, value) VALUES (setting_name, n::text)
        ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by;
        RETURN n::text;
    END IF;
    BEGIN
        v := value::interval;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
        RAISE EXCEPTION '% "%" is not an interval', r.label, hp_quote(value)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Give a length of time such as 5 minutes or 2 days.';
    END;
    IF NOT v BETWEEN r.min_value::interval AND r.max_value::interval THEN
        RAISE EXCEPTION '% "%" is out of range', r.label, v
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The %s lies between %s and %s.', r.label, r.min_value::interval, r.max_value::interval);
    END IF;
    INSERT INTO setting AS s (name, value) VALUES (setting_name, v::text)
    ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by;
    RETURN v::text;
END
$$;
COMMENT ON FUNCTION healthpass.configure(text, text) IS
    'change a database setting (NULL: the default); returns the value now in force';

GRANT EXECUTE ON FUNCTION healthpass.settings() TO healthpass_admin, healthpass_report;
GRANT EXECUTE ON FUNCTION healthpass.configure(text, text) TO healthpass_admin;

-- ===== sql/api/05_checks.sql
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

-- ===== sql/schema/10_identity.sql
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
-- (created once: later changes go to sql/updates/)

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
COMMENT ON TYPE healthpass.cn_resident_id IS
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

-- ===== sql/api/10_identity.sql
-- 10_identity.sql: identity documents.
--
-- cn_resident_id: the resident identity card number (GB 11643-1999) as a
-- base type, stored as its first 17 digits in 8 bytes (like int8, so
-- comparison, sorting and hashing reuse PostgreSQL's int8 functions; the
-- check character is derived on output). Its order is the order of the
-- 18-character text.
--
-- normalize_document() and friends: the canonical form of every document
-- kind people type (resident ID, HKID, Macau ID, permits, passports, USCC,
-- organisation code, licence plate). All functions here are pure: the only
-- time-dependent rule (a resident ID's birth date must not be in the
-- future) can only turn an error into a success as time passes, never
-- change a result, so they are IMMUTABLE and usable in indexes and
-- constraints.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- accessors
CREATE OR REPLACE FUNCTION cn_resident_id_birth_date(cn_resident_id) RETURNS date
    AS 'MODULE_PATHNAME', 'cn_resident_id_birth_date'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.cn_resident_id_birth_date(cn_resident_id) IS 'birth date in a resident ID number';

CREATE OR REPLACE FUNCTION cn_resident_id_sex(cn_resident_id) RETURNS text
    AS 'MODULE_PATHNAME', 'cn_resident_id_sex'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.cn_resident_id_sex(cn_resident_id) IS
    'male (odd sequence number) or female (even) from a resident ID number';

CREATE OR REPLACE FUNCTION cn_resident_id_region_code(cn_resident_id) RETURNS text
    AS 'MODULE_PATHNAME', 'cn_resident_id_region_code'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.cn_resident_id_region_code(cn_resident_id) IS
    '6-digit region code (GB/T 2260) of a resident ID number';

CREATE OR REPLACE FUNCTION cn_resident_id_age(cn_resident_id, at date DEFAULT current_date) RETURNS integer
    AS 'MODULE_PATHNAME', 'cn_resident_id_age'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.cn_resident_id_age(cn_resident_id, date) IS
    'completed years of age at a date (default today)';

CREATE OR REPLACE FUNCTION cn_resident_id_mask(cn_resident_id) RETURNS text
    AS 'MODULE_PATHNAME', 'cn_resident_id_mask'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.cn_resident_id_mask(cn_resident_id) IS
    'masked display form: first 4 and last 4 characters kept';

-- any document kind
CREATE OR REPLACE FUNCTION normalize_document(kind text, number text) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.normalize_document(text, text) IS
    'canonical form of a document number as typed by a person';

CREATE OR REPLACE FUNCTION is_valid_document(kind text, number text) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.is_valid_document(text, text) IS
    'whether normalize_document accepts the number';

CREATE OR REPLACE FUNCTION mask_document(kind text, number text) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.mask_document(text, text) IS
    'masked display form of a document number, normalised first';

CREATE OR REPLACE FUNCTION mask_name(name text) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.mask_name(text) IS
    'masked display form of a person''s name (张*明, C*** T** M**)';

CREATE OR REPLACE FUNCTION document_kinds() RETURNS SETOF text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION healthpass.document_kinds() IS
    'document kinds known to normalize_document';

CREATE OR REPLACE FUNCTION document_kind_holder(kind text) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION healthpass.document_kind_holder(text) IS
    'what a document kind identifies: person, organisation or vehicle (22023 for an unknown kind)';

-- all of these are pure functions: every purpose role may call them
GRANT EXECUTE ON FUNCTION
    healthpass.cn_resident_id_in(cstring), healthpass.cn_resident_id_out(cn_resident_id),
    healthpass.cn_resident_id_recv(internal), healthpass.cn_resident_id_send(cn_resident_id),
    healthpass.cn_resident_id_eq(cn_resident_id, cn_resident_id),
    healthpass.cn_resident_id_ne(cn_resident_id, cn_resident_id),
    healthpass.cn_resident_id_lt(cn_resident_id, cn_resident_id),
    healthpass.cn_resident_id_le(cn_resident_id, cn_resident_id),
    healthpass.cn_resident_id_gt(cn_resident_id, cn_resident_id),
    healthpass.cn_resident_id_ge(cn_resident_id, cn_resident_id),
    healthpass.cn_resident_id_cmp(cn_resident_id, cn_resident_id),
    healthpass.cn_resident_id_sortsupport(internal),
    healthpass.cn_resident_id_hash(cn_resident_id),
    healthpass.cn_resident_id_hash_extended(cn_resident_id, bigint),
    healthpass.cn_resident_id_birth_date(cn_resident_id), healthpass.cn_resident_id_sex(cn_resident_id),
    healthpass.cn_resident_id_region_code(cn_resident_id), healthpass.cn_resident_id_age(cn_resident_id, date),
    healthpass.cn_resident_id_mask(cn_resident_id),
    healthpass.normalize_document(text, text), healthpass.is_valid_document(text, text),
    healthpass.mask_document(text, text), healthpass.mask_name(text), healthpass.document_kinds(),
    healthpass.document_kind_holder(text)
    TO healthpass_admin, healthpass_app, healthpass_scanner,
       healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;

-- ===== sql/schema/20_token.sql
-- 20_token.sql: signed HP1 pass tokens (../shared/spec/hp1-token.md):
-- signing keys under a master key, issuing, verifying, the pass type,
-- revocation and trust lists.
-- (created once: later changes go to sql/updates/)

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
COMMENT ON TABLE healthpass.signing_key IS
    'Ed25519 keys: ours (secret encrypted under the master key) and imported trusted public keys';

CREATE TABLE revoked_token (
    token_id    bytea PRIMARY KEY CHECK (length(token_id) = 16),
    kid         bytea CHECK (length(kid) = 8),
    reason      text NOT NULL CHECK (reason <> ''),
    revoked_at  timestamptz NOT NULL DEFAULT now(),
    revoked_by  name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE healthpass.revoked_token IS 'Revoked HP1 token ids (cti)';

-- dumps keep the keys (secrets only encrypted) and the revocation list
SELECT pg_extension_config_dump('signing_key', '');
SELECT pg_extension_config_dump('signing_key_key_id_seq', '');
SELECT pg_extension_config_dump('revoked_token', '');

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
COMMENT ON TYPE healthpass.verification IS 'verdict of verify_token: reason is NULL when valid';

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
COMMENT ON TYPE healthpass.pass IS 'an HP1 token stored as its COSE_Sign1 bytes; text form HP1:...';
-- a token text can be stored into a pass column directly
CREATE CAST (text AS pass) WITH INOUT AS ASSIGNMENT;

-- ===== sql/api/20_token.sql
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

-- ===== sql/api/30_qr.sql
-- 30_qr.sql: QR codes rendered in SQL (src/qr.c).
--
-- qr_png and qr_svg give an image ready for an app page or a print; qr_text
-- gives the code in Unicode half blocks for psql and terminals. All three
-- are pure functions of their arguments (IMMUTABLE, PARALLEL SAFE), STRICT
-- (NULL data or option gives NULL), and priced high (COST 1000: rendering
-- a code is some 100 microseconds) so the planner runs cheap filters first.
-- Every purpose role may render codes: none of them reveals anything the
-- caller did not pass in.
-- (replayed by every upgrade: CREATE OR REPLACE only)

CREATE OR REPLACE FUNCTION qr_png(data text, level text DEFAULT 'M',
                       module_px integer DEFAULT 4, margin integer DEFAULT 4,
                       fg text DEFAULT 'black', bg text DEFAULT 'white')
    RETURNS bytea
    AS 'MODULE_PATHNAME', 'qr_png'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION healthpass.qr_png(text, text, integer, integer, text, text) IS
    'QR code of data as a 1-bit PNG (grayscale, or a two-colour palette)';

CREATE OR REPLACE FUNCTION qr_svg(data text, level text DEFAULT 'M',
                       module_px integer DEFAULT 4, margin integer DEFAULT 4,
                       fg text DEFAULT 'black', bg text DEFAULT 'white')
    RETURNS text
    AS 'MODULE_PATHNAME', 'qr_svg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION healthpass.qr_svg(text, text, integer, integer, text, text) IS
    'QR code of data as a scalable SVG document (one path)';

CREATE OR REPLACE FUNCTION qr_text(data text, level text DEFAULT 'L',
                        margin integer DEFAULT 4, invert boolean DEFAULT false)
    RETURNS text
    AS 'MODULE_PATHNAME', 'qr_text'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION healthpass.qr_text(text, text, integer, boolean) IS
    'QR code of data in Unicode half blocks, two module rows a line';

GRANT EXECUTE ON FUNCTION
    healthpass.qr_png(text, text, integer, integer, text, text),
    healthpass.qr_svg(text, text, integer, integer, text, text),
    healthpass.qr_text(text, text, integer, boolean)
    TO healthpass_admin, healthpass_app, healthpass_scanner,
       healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;

-- The module size a domain function passes to qr_png: qr_png, like every
-- codec, is STRICT (NULL in, NULL out); a domain function instead refuses a
-- missing or out-of-range size, so an app never gets a silent NULL image.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_module_px(module_px integer) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF module_px IS NULL OR module_px NOT BETWEEN 1 AND 40 THEN
        RAISE EXCEPTION 'module size % is out of range', coalesce(module_px::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A module is 1 to 40 pixels wide.';
    END IF;
    RETURN module_px;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_module_px(integer) IS 'checked QR module size for domain functions (internal)';

-- A printable poster as a PNG (src/poster.c): the code at level, module_px
-- pixels a module in a 4-module quiet zone, each non-NULL element of lines
-- drawn under it, centred, by FreeType in the font healthpass.poster_font
-- (the first as the title, larger), wrapped to the image's width. STABLE,
-- not IMMUTABLE: the drawing depends on that setting.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_poster_png(code text, level text, module_px integer, lines text[])
    RETURNS bytea
    AS 'MODULE_PATHNAME', 'hp_poster_png'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION healthpass_internal.hp_poster_png(text, text, integer, text[]) IS
    'QR code with lines of text drawn under it in the font healthpass.poster_font, as an 8-bit greyscale PNG (internal)';

-- ===== sql/schema/40_people.sql
-- 40_people.sql: people, their documents, real-name status and edit history.
--
-- A person is identified by one identity document (kind + normalised
-- number, unique). Look-ups by document go through document_index, keyed by
-- the document; look-ups by the opaque public reference (what codes carry)
-- go through ref_index. Every personal table has person_id in its primary
-- key; history rows are written by a row trigger that only touches the same
-- person's rows. Application roles never see these tables: they call the
-- SECURITY DEFINER functions below.
-- (created once: later changes go to sql/updates/)

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
COMMENT ON TABLE healthpass.person IS 'people identified by one identity document; guardian_id is set for family members registered by proxy';
-- the real-name service's work queue
CREATE INDEX person_realname_pending ON person (updated_at, person_id) WHERE realname_status = 'pending';

-- (kind, number) -> person: the only way to find a person by document
CREATE TABLE document_index (
    doc_kind   text NOT NULL,
    doc_number text NOT NULL,
    person_id  bigint NOT NULL,
    PRIMARY KEY (doc_kind, doc_number)
);
COMMENT ON TABLE healthpass.document_index IS 'look-up of a person by document kind and normalised number';

-- opaque public reference -> person (codes carry the reference, never the number)
CREATE TABLE ref_index (
    public_ref uuid PRIMARY KEY,
    person_id  bigint NOT NULL
);
COMMENT ON TABLE healthpass.ref_index IS 'look-up of a person by the opaque public reference that codes carry';

-- earlier versions of a person row, one per change
CREATE TABLE person_history (
    person_id  bigint NOT NULL,
    version    integer NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (person_id, version)
);
COMMENT ON TABLE healthpass.person_history IS 'earlier versions of person rows (data is the whole row as it was)';

SELECT pg_catalog.pg_extension_config_dump('person', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.person', 'person_id'), '');
SELECT pg_catalog.pg_extension_config_dump('document_index', '');
SELECT pg_catalog.pg_extension_config_dump('ref_index', '');
SELECT pg_catalog.pg_extension_config_dump('person_history', '');

-- Every code issued to a person and not yet expired (entry, personal,
-- e-pass, health), so that a change that makes a code wrong can revoke it:
-- a rejected real-name check, an identity edit, an unbound photo, a
-- modified registration. Rows go when they expire or are revoked.
CREATE TABLE code_issued (
    person_id  bigint NOT NULL,
    token_id   bytea NOT NULL,
    kid        bytea NOT NULL,
    kind       text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (person_id, token_id)
);
COMMENT ON TABLE healthpass.code_issued IS 'codes issued to a person and not yet expired or revoked (the ledger revocation works from)';
SELECT pg_catalog.pg_extension_config_dump('code_issued', '');

-- ===== sql/api/40_people.sql
-- 40_people.sql: people, their documents, real-name status and edit history.
--
-- A person is identified by one identity document (kind + normalised
-- number, unique). Look-ups by document go through document_index, keyed by
-- the document; look-ups by the opaque public reference (what codes carry)
-- go through ref_index. Every personal table has person_id in its primary
-- key; history rows are written by a row trigger that only touches the same
-- person's rows. Application roles never see these tables: they call the
-- SECURITY DEFINER functions below.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Row trigger shared by the personal tables that keep history: bumps the
-- version, stamps updated_at and copies the old row into the history table
-- named by the trigger argument (same person_id, so it stays on the person's
-- shard).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_keep_history() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    -- the history row takes its key columns (person_id, and any other the
    -- history table has, such as member_id) from the old row by name
    EXECUTE format('INSERT INTO healthpass.%1$I SELECT * FROM jsonb_populate_record(NULL::healthpass.%1$I, $1)',
                   TG_ARGV[0])
        USING to_jsonb(OLD) || jsonb_build_object('version', OLD.version, 'valid_from', OLD.updated_at,
                                                  'valid_to', NEW.updated_at, 'data', to_jsonb(OLD));
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_keep_history() IS 'row trigger: version bump and history row for the same person';

-- Every version of a person's row in a table kept by hp_keep_history,
-- oldest first: the rows of its history table (named tbl || '_history'),
-- then the current row with valid_to NULL; "version" is left out of data.
-- Internal: tbl is always a fixed table name written by the caller.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_row_history(tbl text, pid bigint)
    RETURNS TABLE (version integer, valid_from timestamptz, valid_to timestamptz, data jsonb)
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
COMMENT ON FUNCTION healthpass_internal.hp_row_history(text, bigint) IS 'history plus current row of a person in a table that keeps history (internal)';

CREATE OR REPLACE TRIGGER person_keep_history
    BEFORE UPDATE ON person
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION healthpass_internal.hp_keep_history('person_history');

-- The document kinds a person can be identified by (every one of them
-- normalised by normalize_document; 'passport' is a foreign passport).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_person_kinds() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
    RETURN ARRAY(SELECT k FROM document_kinds() k WHERE document_kind_holder(k) = 'person');
COMMENT ON FUNCTION healthpass_internal.hp_person_kinds() IS 'document kinds that identify a person';

-- normalize_document for a personal or venue flow: its error quotes the
-- number it was given (it is the validator people call on their own
-- input); here the same error quotes it masked, so no log collects it.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_normalize_masked(kind text, number text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    -- the usual case without a subtransaction: a valid number
    IF is_valid_document(kind, number) THEN
        RETURN normalize_document(kind, number);
    END IF;
    BEGIN
        RETURN normalize_document(kind, number);
    EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
        DECLARE
            state text;
            detail text;
            hint text;
        BEGIN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
            IF hint = '' THEN
                RAISE EXCEPTION 'invalid % number: "%"', kind, hp_mask_value(number)
                    USING ERRCODE = state, DETAIL = detail;
            END IF;
            RAISE EXCEPTION 'invalid % number: "%"', kind, hp_mask_value(number)
                USING ERRCODE = state, DETAIL = detail, HINT = hint;
        END;
    END;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_normalize_masked(text, text) IS
    'normalize_document, its errors quoting the number masked (internal)';

-- The canonical number of a document of one of the kinds a flow takes
-- (kinds), or the refusal: a kind not among them (22023, naming what the
-- kind is not), a missing number (22004), or the validator's error with the
-- number masked. A valid number takes one C call (this function is inlined
-- into its caller); only a refusal goes through PL/pgSQL.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_document_refusal(kind text, number text, kinds text[], refusal text)
    RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF kind IS NULL OR NOT kind = ANY (kinds) THEN
        RAISE EXCEPTION 'document kind "%" %', hp_quote(kind), refusal
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The kinds taken here are: %s.', array_to_string(kinds, ', '));
    END IF;
    IF number IS NULL THEN
        RAISE EXCEPTION 'document number is missing for kind "%"', kind
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Give the number printed on the document.';
    END IF;
    RETURN hp_normalize_masked(kind, number);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_document_refusal(text, text, text[], text) IS
    'the refusal of a document kind or number hp_document_number does not take (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_document_number(kind text, number text, kinds text[], refusal text)
    RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN kind = ANY (kinds) AND number IS NOT NULL AND healthpass.is_valid_document(kind, number)
            THEN healthpass.normalize_document(kind, number)
            ELSE healthpass_internal.hp_document_refusal(kind, number, kinds, refusal) END;
COMMENT ON FUNCTION healthpass_internal.hp_document_number(text, text, text[], text) IS
    'canonical number of a document of the kinds a flow takes, or a specific refusal (internal)';

-- Validates a personal document and returns its canonical number.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_person_document(kind text, number text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
RETURN healthpass_internal.hp_document_number(kind, number, healthpass_internal.hp_person_kinds(), 'does not identify a person');
COMMENT ON FUNCTION healthpass_internal.hp_person_document(text, text) IS 'canonical number of a personal document, or an error';

-- Masked document number for codes and messages.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_mask_document(kind text, number text) RETURNS text
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN mask_document(kind, number);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_mask_document(text, text) IS 'masked document number (first and last characters only)';

-- Validates and normalises everything a person row holds; raises on the
-- first bad field. Birth date and sex of a resident ID card come from the
-- number and must agree with what was given.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_check_person(
    kind text, number text, name text, birth date, sex text, nationality text, phone text,
    OUT doc_kind text, OUT doc_number text, OUT person_name text, OUT birth_date date,
    OUT person_sex text, OUT person_nationality text, OUT person_phone text)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    id_birth date;
    id_sex text;
BEGIN
    doc_kind := kind;
    doc_number := hp_person_document(kind, number);

    person_name := hp_name('name', name);

    person_sex := lower(btrim(sex));
    IF person_sex IS NOT NULL AND person_sex NOT IN ('male', 'female') THEN
        RAISE EXCEPTION 'sex "%" is not valid', hp_quote(sex)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Sex is "male" or "female".';
    END IF;

    IF kind = 'cn_resident_id' THEN
        id_birth := healthpass.cn_resident_id_birth_date(doc_number::cn_resident_id);
        id_sex := healthpass.cn_resident_id_sex(doc_number::cn_resident_id);
        IF birth IS NOT NULL AND birth <> id_birth THEN
            RAISE EXCEPTION 'birth date % does not match resident identity card "%"',
                    birth, hp_mask_document(kind, doc_number)
                USING ERRCODE = 'check_violation',
                      DETAIL = format('The card number gives the birth date %s.', id_birth);
        END IF;
        IF person_sex IS NOT NULL AND person_sex <> id_sex THEN
            RAISE EXCEPTION 'sex "%" does not match resident identity card "%"',
                    person_sex, hp_mask_document(kind, doc_number)
                USING ERRCODE = 'check_violation',
                      DETAIL = format('The card number gives the sex %s.', id_sex);
        END IF;
        birth_date := id_birth;
        person_sex := id_sex;
    ELSE
        IF birth IS NULL THEN
            RAISE EXCEPTION 'birth date is missing for document kind "%"', kind
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'Only a resident identity card number carries the birth date; other documents need it given.';
        END IF;
        birth_date := birth;
    END IF;
    IF birth_date < date '1900-01-01' OR birth_date > current_date THEN
        RAISE EXCEPTION 'birth date % is out of range', birth_date
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A birth date lies between 1900-01-01 and today.';
    END IF;

    person_nationality := upper(btrim(nationality));
    IF person_nationality IS NOT NULL AND person_nationality !~ '^[A-Z]{3}$' THEN
        RAISE EXCEPTION 'nationality "%" is not valid', hp_quote(nationality)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Nationality is an ISO 3166-1 alpha-3 code such as CHN, HKG or MAC.';
    END IF;
    IF kind = 'passport' AND person_nationality IS NULL THEN
        RAISE EXCEPTION 'nationality is missing for passport "%"', hp_mask_document(kind, doc_number)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A foreign passport needs the issuing country.';
    END IF;

    person_phone := regexp_replace(phone, '[\s\-()]', '', 'g');
    IF person_phone IS NOT NULL AND person_phone !~ '^\+?[0-9]{5,20}$' THEN
        RAISE EXCEPTION 'phone number "%" is not valid', hp_quote(phone)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A phone number has 5 to 20 digits, optionally after a leading +.';
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_check_person(text, text, text, date, text, text, text) IS 'validated, normalised person fields';

-- The one way a function locks a person: the row FOR UPDATE (a change of
-- the person's data or of what hangs off it), or FOR SHARE (issuing a code,
-- which must not cross a change but may run beside other issues). Every
-- writer of a person's facts takes this lock before any other of that
-- person's rows, so two of them never deadlock. A missing or unknown
-- person raises as hp_get_person does.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_lock_person(pid bigint, mode text DEFAULT 'update') RETURNS person
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person;
BEGIN
    IF mode = 'share' THEN
        SELECT * INTO p FROM person WHERE person_id = pid FOR SHARE;
    ELSE
        SELECT * INTO p FROM person WHERE person_id = pid FOR UPDATE;
    END IF;
    IF NOT FOUND THEN
        PERFORM hp_get_person(pid);     -- raises: missing (22004) or unknown (P0002)
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_lock_person(bigint, text) IS 'person row locked FOR UPDATE (or FOR SHARE), or the error of hp_get_person';

-- The person row without locking; P0002 when there is none.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_get_person(pid bigint) RETURNS person
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person;
BEGIN
    IF pid IS NULL THEN
        RAISE EXCEPTION 'person id is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the person by their person_id.';
    END IF;
    SELECT * INTO p FROM person WHERE person_id = pid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % does not exist', pid
            USING ERRCODE = 'no_data_found', DETAIL = 'No person has this id.';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_get_person(bigint) IS 'person row, or P0002';

-- Raises 55000 when a person's real-name check was rejected: no personal
-- code of any kind until they edit their information and it is approved.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_require_not_rejected(p person) RETURNS void
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF p.realname_status = 'rejected' THEN
        RAISE EXCEPTION 'real-name verification of person % was rejected', p.person_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('The real-name service rejected the information: %s.', rtrim(p.realname_reason, '.')),
                  HINT = 'The person must edit their name and document; the code is available again once the new check is approved.';
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_require_not_rejected(person) IS 'refuses personal codes for a rejected person';

-- Inserts a person and its index rows (used by register_person and by the
-- family functions, which pass the guardian).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_insert_person(
    doc_kind text, doc_number text, name text, birth_date date, sex text,
    nationality text, phone text, guardian bigint) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
            USING ERRCODE = 'unique_violation',
                  DETAIL = 'Each document identifies one person; look the person up instead of registering again.';
    END;
    INSERT INTO ref_index VALUES (ref, pid);
    RETURN pid;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_insert_person(text, text, text, date, text, text, text, bigint) IS 'insert a validated person with its index rows';

-- Public API -------------------------------------------------------------

CREATE OR REPLACE FUNCTION register_person(
    doc_kind text, doc_number text, name text,
    birth_date date DEFAULT NULL, sex text DEFAULT NULL,
    nationality text DEFAULT NULL, phone text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN hp_insert_person(doc_kind, doc_number, name, birth_date, sex, nationality, phone, NULL);
END
$$;
COMMENT ON FUNCTION healthpass.register_person(text, text, text, date, text, text, text) IS
    'register a person by document; returns person_id; real-name status starts pending';

CREATE OR REPLACE FUNCTION find_person(doc_kind text, doc_number text) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n text := hp_person_document(doc_kind, doc_number);
    pid bigint;
BEGIN
    SELECT d.person_id INTO pid FROM document_index d
     WHERE d.doc_kind = find_person.doc_kind AND d.doc_number = n;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no person has document % "%"', doc_kind, hp_mask_document(doc_kind, n)
            USING ERRCODE = 'no_data_found', DETAIL = 'The document has not been registered yet.',
                  HINT = 'Register the person first.';
    END IF;
    RETURN pid;
END
$$;
COMMENT ON FUNCTION healthpass.find_person(text, text) IS 'person_id of a document (normalised first), or P0002';

CREATE OR REPLACE FUNCTION person_by_ref(ref uuid) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    pid bigint;
BEGIN
    SELECT r.person_id INTO pid FROM ref_index r WHERE r.public_ref = ref;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no person has reference "%"', ref
            USING ERRCODE = 'no_data_found', DETAIL = 'The reference does not name a registered person.';
    END IF;
    RETURN pid;
END
$$;
COMMENT ON FUNCTION healthpass.person_by_ref(uuid) IS 'person_id of an opaque public reference, or P0002';

-- The claims every personal code carries: reference, masked name, document
-- kind and masked number. Internal: called by the code-issuing functions.
CREATE OR REPLACE FUNCTION healthpass_internal.person_claims(pid bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
COMMENT ON FUNCTION healthpass_internal.person_claims(bigint) IS 'reference, masked name and masked document for code bodies (internal)';

CREATE OR REPLACE FUNCTION person_info(person_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
COMMENT ON FUNCTION healthpass.person_info(bigint) IS 'a person''s own information ("my information"), for the person''s own flows';

-- Applies changes to a locked person row; identity changes (name, document,
-- birth date, sex) reset the real-name status to pending and unbind the
-- certified photo of an earlier face check. Shared by edit_person, the
-- e-pass and the family edit.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_edit_person(p person, changes jsonb) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
        RAISE EXCEPTION 'changes "%" are not a JSON object', hp_quote(changes::text)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Changes are given as {"field": value, ...}.';
    END IF;
    FOR k IN SELECT jsonb_object_keys(changes) LOOP
        IF NOT k = ANY (allowed) THEN
            RAISE EXCEPTION 'unknown person field "%"', hp_quote(k)
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('Editable fields are %s.', array_to_string(allowed, ', '));
        END IF;
        -- every field is a string (null clears an optional one)
        IF jsonb_typeof(changes->k) NOT IN ('string', 'null') THEN
            RAISE EXCEPTION 'person field "%" must be a string, not %', k, hp_quote((changes->k)::text)
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Every field of "my information" is a JSON string.';
        END IF;
    END LOOP;
    IF changes ? 'doc_kind' THEN new_kind := changes->>'doc_kind'; END IF;
    IF changes ? 'doc_number' THEN new_number := changes->>'doc_number'; END IF;
    -- a resident ID card's birth date follows its number unless given
    IF changes ? 'birth_date' THEN
        BEGIN
            birth := (changes->>'birth_date')::date;
        EXCEPTION WHEN others THEN
            RAISE EXCEPTION 'birth date "%" is not a date', hp_quote(changes->>'birth_date')
                USING ERRCODE = 'invalid_datetime_format', DETAIL = 'Dates are written YYYY-MM-DD.';
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
                USING ERRCODE = 'unique_violation', DETAIL = 'Each document identifies one person.';
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
    -- a certified photo certifies the name and document it was taken for,
    -- and every live code carries the old masked name and number
    IF identity_changed THEN
        DELETE FROM certified_photo ph WHERE ph.person_id = p.person_id;
        PERFORM hp_revoke_codes(p.person_id, 'identity edited');
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_edit_person(person, jsonb) IS 'apply validated changes to a person (internal)';

CREATE OR REPLACE FUNCTION edit_person(person_id bigint, changes jsonb) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN hp_edit_person(hp_lock_person(person_id), changes);
END
$$;
COMMENT ON FUNCTION healthpass.edit_person(bigint, jsonb) IS
    'edit "my information" (name, doc_kind, doc_number, birth_date, sex, nationality, phone); returns the new version; identity changes put real-name status back to pending and unbind the certified photo';

CREATE OR REPLACE FUNCTION person_history(person_id bigint)
    RETURNS TABLE (version integer, valid_from timestamptz, valid_to timestamptz, data jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY SELECT * FROM hp_row_history('person', p.person_id);
END
$$;
COMMENT ON FUNCTION healthpass.person_history(bigint) IS 'every version of a person, oldest first; the current one has valid_to NULL';

-- Real-name verification ------------------------------------------------

CREATE OR REPLACE FUNCTION realname_queue(max_rows integer DEFAULT 100)
    RETURNS TABLE (person_id bigint, version integer, doc_kind text, doc_number text,
                   name text, birth_date date, submitted_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF max_rows IS NULL OR max_rows < 1 OR max_rows > 10000 THEN
        RAISE EXCEPTION 'max_rows % is out of range', max_rows
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Ask for 1 to 10000 people at a time.';
    END IF;
    RETURN QUERY
        SELECT p.person_id, p.version, p.doc_kind, p.doc_number, p.name, p.birth_date, p.updated_at
          FROM person p WHERE p.realname_status = 'pending'
         ORDER BY p.updated_at, p.person_id
         LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION healthpass.realname_queue(integer) IS 'people waiting for the external real-name check, oldest first, with the version to quote back';

-- checked_version is required and comes before the result: the external
-- check answers for the version realname_queue handed out, and a result
-- for data the person has edited since must not land (55000).
CREATE OR REPLACE FUNCTION record_realname_result(
    person_id bigint, checked_version integer, result text, reason text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person;
BEGIN
    IF result IS NULL OR result NOT IN ('approved', 'rejected') THEN
        RAISE EXCEPTION 'real-name result "%" is not valid', hp_quote(result)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A real-name result is "approved" or "rejected".';
    END IF;
    PERFORM hp_text('rejection reason', reason, 500);
    IF result = 'rejected' AND nullif(btrim(reason), '') IS NULL THEN
        RAISE EXCEPTION 'a rejection of person % needs a reason', person_id
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The reason tells the person what to correct.';
    END IF;
    p := hp_lock_person(person_id);
    IF p.realname_status <> 'pending' THEN
        RAISE EXCEPTION 'real-name status of person % is "%", not pending', person_id, p.realname_status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Only a pending person can get a real-name result; an edit of their information makes them pending again.';
    END IF;
    IF checked_version IS NULL THEN
        RAISE EXCEPTION 'real-name result for person % names no checked version', person_id
            USING ERRCODE = 'null_value_not_allowed',
                  DETAIL = 'Quote back the version realname_queue gave with the information that was checked.';
    END IF;
    IF checked_version <> p.version THEN
        RAISE EXCEPTION 'real-name result for version % of person % is stale', checked_version, person_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('The person has been edited since; the current version is %s.', p.version),
                  HINT = 'Check the current information again.';
    END IF;
    UPDATE person SET realname_status = result,
                      realname_reason = nullif(btrim(reason), ''),
                      realname_checked_at = now()
     WHERE person.person_id = p.person_id;
    -- seed 004: a rejected person cannot be scanned until edited and approved
    IF result = 'rejected' THEN
        PERFORM hp_revoke_codes(p.person_id, 'real-name verification rejected');
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION healthpass.record_realname_result(bigint, integer, text, text) IS
    'record the external real-name check: approved or rejected (with reason); checked_version guards against results for edited data';

-- The ledger of live codes ----------------------------------------------------

-- Issues a code to a person and records it in the ledger of live codes, so
-- that a later change that makes it wrong can revoke it (hp_revoke_codes).
-- Every personal code is issued through here. The person row is share-
-- locked first, so a revocation (which holds it FOR UPDATE) either sees
-- this code in the ledger or is seen by it: after a concurrent rejection
-- the re-read status refuses the code. The person's expired rows go on
-- the way.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_issue_code(p person, kind text, body jsonb, valid_for interval) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    code text;
    issued pass;
    now_p person;
BEGIN
    now_p := hp_lock_person(p.person_id, 'share');
    PERFORM hp_require_not_rejected(now_p);
    code := issue_token(kind, body, valid_for);
    issued := code;                     -- decoded once for the ledger
    DELETE FROM code_issued c WHERE c.person_id = p.person_id AND c.expires_at <= now();
    INSERT INTO code_issued (person_id, token_id, kid, kind, expires_at)
    VALUES (p.person_id, pass_token_id(issued), pass_kid(issued), kind, pass_expires_at(issued));
    RETURN code;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_issue_code(person, text, jsonb, interval) IS
    'issue a personal code and record it in the ledger of live codes (internal)';

-- Revokes a person's live codes (of the given kinds; all when NULL) and
-- returns how many were revoked.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_revoke_codes(pid bigint, reason text, kinds text[] DEFAULT NULL) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n integer;
    token_ids bytea[];
    kids bytea[];
BEGIN
    -- two steps: the ledger rows are the person's (on Citus, one shard);
    -- the revocations go to the revocation list (a reference table), which
    -- a query running on the person's shard may not write
    WITH gone AS (
        DELETE FROM code_issued c
         WHERE c.person_id = pid AND (kinds IS NULL OR c.kind = ANY (kinds))
        RETURNING c.*
    )
    SELECT array_agg(g.token_id ORDER BY g.token_id), array_agg(g.kid ORDER BY g.token_id)
      INTO token_ids, kids
      FROM gone g
     WHERE g.expires_at > now()
       -- an administrator may have revoked one already (revoke_token)
       AND NOT EXISTS (SELECT 1 FROM revoked_token r WHERE r.token_id = g.token_id);
    SELECT count(revoke_token(u.token_id, reason, u.kid)) INTO n
      FROM unnest(token_ids, kids) AS u(token_id, kid);
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_revoke_codes(bigint, text, text[]) IS
    'revoke the live codes of a person, of some kinds or all (internal)';

-- A person's own static personal code (HP1 kind "personal"): what venues
-- scan and what family members print. Pending is fine; rejected is not.
CREATE OR REPLACE FUNCTION personal_code(person_id bigint, valid_for interval DEFAULT '1 day') RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    IF valid_for IS NULL OR valid_for <= interval '0' OR valid_for > interval '366 days' THEN
        RAISE EXCEPTION 'validity % is out of range', valid_for
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A personal code is valid for more than zero and at most 366 days.';
    END IF;
    PERFORM hp_require_not_rejected(p);
    RETURN hp_issue_code(p, 'personal', person_claims(p.person_id), valid_for);
END
$$;
COMMENT ON FUNCTION healthpass.personal_code(bigint, interval) IS 'HP1 personal code (kind "personal"): reference, masked name and ID';

GRANT EXECUTE ON FUNCTION
    healthpass.register_person(text, text, text, date, text, text, text),
    healthpass.find_person(text, text),
    healthpass.person_by_ref(uuid),
    healthpass.person_info(bigint),
    healthpass.edit_person(bigint, jsonb),
    healthpass.person_history(bigint),
    healthpass.personal_code(bigint, interval)
  TO healthpass_app, healthpass_admin;
GRANT EXECUTE ON FUNCTION
    healthpass.realname_queue(integer),
    healthpass.record_realname_result(bigint, integer, text, text)
  TO healthpass_app, healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.person_by_ref(uuid) TO healthpass_scanner, healthpass_health;

-- ===== sql/schema/41_registration.sql
-- 41_registration.sql: versioned notices (registration notice, commitment
-- letter) and the entry-person registration of seed 000.
-- (created once: later changes go to sql/updates/)

-- Notices are versioned data: administrators publish a new version; the
-- current version is the highest. Travellers accept a version, recorded
-- with the time.
CREATE TABLE notice (
    kind         text NOT NULL CHECK (kind IN ('registration_notice', 'commitment_letter', 'transfer_notice')),
    version      integer NOT NULL CHECK (version > 0),
    title        text NOT NULL,
    body         text NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, version)
);
COMMENT ON TABLE healthpass.notice IS 'versions of the registration notice, the e-pass commitment letter and the transfer notice';

CREATE TABLE notice_acceptance (
    person_id   bigint NOT NULL,
    kind        text NOT NULL,
    version     integer NOT NULL,
    accepted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, kind, version)
);
COMMENT ON TABLE healthpass.notice_acceptance IS 'which notice version each person accepted, and when';

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
COMMENT ON TABLE healthpass.entry_registration IS 'entry-person registrations (seed 000), one per person';

CREATE TABLE entry_registration_history (
    person_id  bigint NOT NULL,
    version    integer NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (person_id, version)
);
COMMENT ON TABLE healthpass.entry_registration_history IS 'earlier versions of entry registrations';

SELECT pg_catalog.pg_extension_config_dump('notice', '');
SELECT pg_catalog.pg_extension_config_dump('notice_acceptance', '');
SELECT pg_catalog.pg_extension_config_dump('entry_registration', '');
SELECT pg_catalog.pg_extension_config_dump('entry_registration_history', '');

-- ===== sql/api/41_registration.sql
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

-- ===== sql/schema/42_companions.sql
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
-- test/isolation/specs/42_companion_binding.spec. Row triggers on both
-- tables (sql/api/42_companions.sql) check what each person's own rows can
-- tell, so a direct INSERT cannot make a group bind_companion would refuse.
-- (created once: later changes go to sql/updates/)

CREATE TABLE companion (
    person_id    bigint NOT NULL,       -- the registrant
    companion_id bigint NOT NULL,
    pos          integer NOT NULL CHECK (pos > 0),
    bound_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, companion_id),
    UNIQUE (person_id, pos)
);
COMMENT ON TABLE healthpass.companion IS 'companions bound by a registrant, in binding order (pos)';

CREATE TABLE companion_of (
    person_id     bigint PRIMARY KEY,   -- the companion: one group at a time
    registrant_id bigint NOT NULL,
    bound_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE healthpass.companion_of IS 'the group a person currently accompanies';

SELECT pg_catalog.pg_extension_config_dump('companion', '');
SELECT pg_catalog.pg_extension_config_dump('companion_of', '');

-- ===== sql/api/42_companions.sql
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
--
-- The tables also defend themselves, so that a direct INSERT (a DBA's
-- repair, a data load) cannot make a group bind_companion would refuse.
-- Row triggers may only read and lock the rows of the person the row
-- belongs to (a distributed table keeps a person's rows together; see
-- README, "Companions"), and they read only the two companion tables: a
-- restore loads the tables in name order (companion, companion_of, ...,
-- entry_registration, person), so a check against another table would
-- refuse good rows. Each side checks what its own person's rows can tell:
--   companion (registrant's side): not oneself; the registrant accompanies
--     no group; each companion once; at most companion_limit() companions;
--     positions unique, and pos left out gets the next one (binding order)
--   companion_of (companion's side): not oneself; one group at a time; the
--     companion leads no group of their own.
-- Both lock their person's row when it exists, so two inserts for one
-- person are checked one after the other; neither changes a binding's keys.
-- Only bind_companion checks what spans the two people or other tables
-- (documents, entry registrations, both halves of a binding written) and
-- takes both locks in order.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Largest number of companions one registrant may bind.
CREATE OR REPLACE FUNCTION companion_limit() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 9;
COMMENT ON FUNCTION healthpass.companion_limit() IS 'at most 9 companions: a group is at most 10 travellers';

-- Row trigger on companion (the registrant's rows): what can be checked on
-- the registrant's own rows. Keys of a binding are not changed in place.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_companion_guard() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.person_id IS DISTINCT FROM OLD.person_id OR NEW.companion_id IS DISTINCT FROM OLD.companion_id THEN
            RAISE EXCEPTION 'the companion binding of person % to the group of person % cannot be moved',
                    OLD.companion_id, OLD.person_id
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'A binding is removed and made again: unbind_companion, then bind_companion.';
        END IF;
        IF NEW.pos IS DISTINCT FROM OLD.pos
           AND EXISTS (SELECT 1 FROM companion c WHERE c.person_id = NEW.person_id AND c.pos = NEW.pos) THEN
            RAISE EXCEPTION 'position % in the group of person % is taken', NEW.pos, NEW.person_id
                USING ERRCODE = 'unique_violation', DETAIL = 'Each companion of a group has a position of their own.';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.person_id IS NULL OR NEW.companion_id IS NULL THEN
        RETURN NEW;  -- refused by NOT NULL
    END IF;
    IF NEW.companion_id = NEW.person_id THEN
        RAISE EXCEPTION 'person % cannot accompany themselves', NEW.person_id
            USING ERRCODE = 'check_violation', DETAIL = 'A registrant binds other people as companions.';
    END IF;
    -- the person's row, when there is one (a restore loads people later)
    PERFORM FROM person x WHERE x.person_id = NEW.person_id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM companion_of c WHERE c.person_id = NEW.person_id) THEN
        RAISE EXCEPTION 'person % accompanies another group and cannot bind companions', NEW.person_id
            USING ERRCODE = 'check_violation', DETAIL = 'Groups do not nest: a companion cannot have companions of their own.';
    END IF;
    IF EXISTS (SELECT 1 FROM companion c WHERE c.person_id = NEW.person_id AND c.companion_id = NEW.companion_id) THEN
        RAISE EXCEPTION 'person % is already bound to the group of person %', NEW.companion_id, NEW.person_id
            USING ERRCODE = 'unique_violation', DETAIL = 'A companion is bound to a group once.';
    END IF;
    SELECT count(*) INTO n FROM companion c WHERE c.person_id = NEW.person_id;
    IF n >= companion_limit() THEN
        RAISE EXCEPTION 'the group of person % already has % companions', NEW.person_id, n
            USING ERRCODE = 'program_limit_exceeded', DETAIL = format('A registrant binds at most %s companions.', companion_limit());
    END IF;
    IF NEW.pos IS NULL THEN
        -- binding order: after every companion of the group
        SELECT coalesce(max(c.pos), 0) + 1 INTO NEW.pos FROM companion c WHERE c.person_id = NEW.person_id;
    ELSIF EXISTS (SELECT 1 FROM companion c WHERE c.person_id = NEW.person_id AND c.pos = NEW.pos) THEN
        RAISE EXCEPTION 'position % in the group of person % is taken', NEW.pos, NEW.person_id
            USING ERRCODE = 'unique_violation', DETAIL = 'Each companion of a group has a position of their own; leave pos out to bind them last.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_companion_guard() IS
    'row trigger on companion: the registrant''s side of the binding rules (not oneself, no nesting, once, limit, positions)';

CREATE OR REPLACE TRIGGER companion_guard
    BEFORE INSERT OR UPDATE ON companion
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_companion_guard();

-- Row trigger on companion_of (the companion's rows): what can be checked on
-- the companion's own rows.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_companion_of_guard() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    other bigint;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.person_id IS DISTINCT FROM OLD.person_id OR NEW.registrant_id IS DISTINCT FROM OLD.registrant_id THEN
            RAISE EXCEPTION 'the companion binding of person % to the group of person % cannot be moved',
                    OLD.person_id, OLD.registrant_id
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'A binding is removed and made again: unbind_companion, then bind_companion.';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.person_id IS NULL OR NEW.registrant_id IS NULL THEN
        RETURN NEW;  -- refused by NOT NULL
    END IF;
    IF NEW.registrant_id = NEW.person_id THEN
        RAISE EXCEPTION 'person % cannot accompany themselves', NEW.person_id
            USING ERRCODE = 'check_violation', DETAIL = 'A companion accompanies another person''s group.';
    END IF;
    -- the person's row, when there is one (a restore loads people later)
    PERFORM FROM person x WHERE x.person_id = NEW.person_id FOR UPDATE;
    SELECT c.registrant_id INTO other FROM companion_of c WHERE c.person_id = NEW.person_id;
    IF other = NEW.registrant_id THEN
        RAISE EXCEPTION 'person % is already bound to the group of person %', NEW.person_id, other
            USING ERRCODE = 'unique_violation', DETAIL = 'A companion is bound to a group once.';
    ELSIF other IS NOT NULL THEN
        RAISE EXCEPTION 'person % already accompanies the group of person %', NEW.person_id, other
            USING ERRCODE = 'check_violation', DETAIL = 'A person accompanies one group at a time.';
    END IF;
    IF EXISTS (SELECT 1 FROM companion c WHERE c.person_id = NEW.person_id) THEN
        RAISE EXCEPTION 'person % leads a group of their own', NEW.person_id
            USING ERRCODE = 'check_violation', DETAIL = 'Groups do not nest: a registrant with companions cannot join another group.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_companion_of_guard() IS
    'row trigger on companion_of: the companion''s side of the binding rules (not oneself, one group at a time, no nesting)';

CREATE OR REPLACE TRIGGER companion_of_guard
    BEFORE INSERT OR UPDATE ON companion_of
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_companion_of_guard();

CREATE OR REPLACE FUNCTION bind_companion(person_id bigint, doc_kind text, doc_number text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n text := hp_person_document(doc_kind, doc_number);
    shown text := hp_mask_document(doc_kind, n);
    registrant bigint := person_id;
    cid bigint;
    locked integer;
    other bigint;
BEGIN
    PERFORM hp_get_person(registrant);
    SELECT d.person_id INTO cid FROM document_index d
     WHERE d.doc_kind = bind_companion.doc_kind AND d.doc_number = n;
    IF cid IS NULL THEN
        RAISE EXCEPTION 'no person has document % "%"', doc_kind, shown
            USING ERRCODE = 'no_data_found', DETAIL = 'The companion has not registered yet.',
                  HINT = 'The companion must register first: look up their document with entry_lookup and complete the entry registration.';
    END IF;
    IF cid = registrant THEN
        RAISE EXCEPTION 'person % cannot accompany themselves', registrant
            USING ERRCODE = 'check_violation', DETAIL = format('Document %s "%s" is the registrant''s own.', doc_kind, shown);
    END IF;

    -- both people, locked in person_id order: every binding, unbinding and
    -- group check that involves either of them waits here. One statement a
    -- person: on Citus each is routed to that person's shard (a FOR UPDATE
    -- over two people would span two shards, which Citus refuses).
    PERFORM FROM person x WHERE x.person_id = least(registrant, cid) FOR UPDATE;
    PERFORM FROM person x WHERE x.person_id = greatest(registrant, cid) FOR UPDATE;

    IF NOT EXISTS (SELECT 1 FROM entry_registration e WHERE e.person_id = registrant) THEN
        RAISE EXCEPTION 'person % has no entry registration', registrant
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Only a registered traveller can bind companions.',
                  HINT = 'Submit the entry registration with submit_entry first.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM entry_registration e WHERE e.person_id = cid) THEN
        RAISE EXCEPTION 'companion % "%" has not completed the entry registration', doc_kind, shown
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'A companion must have a complete entry registration of their own.',
                  HINT = 'The companion must register first: look up their document with entry_lookup and complete the entry registration.';
    END IF;

    SELECT c.registrant_id INTO other FROM companion_of c WHERE c.person_id = cid;
    IF other = registrant THEN
        RAISE EXCEPTION 'companion % "%" is already bound to this group', doc_kind, shown
            USING ERRCODE = 'unique_violation', DETAIL = 'A companion is bound to a group once.';
    ELSIF other IS NOT NULL THEN
        RAISE EXCEPTION 'companion % "%" already accompanies another group', doc_kind, shown
            USING ERRCODE = 'check_violation', DETAIL = 'A person accompanies one group at a time.',
                  HINT = 'The other registrant must unbind them first.';
    END IF;
    IF EXISTS (SELECT 1 FROM companion c WHERE c.person_id = cid) THEN
        RAISE EXCEPTION 'companion % "%" leads a group of their own', doc_kind, shown
            USING ERRCODE = 'check_violation', DETAIL = 'Groups do not nest: a registrant with companions cannot join another group.';
    END IF;
    IF EXISTS (SELECT 1 FROM companion_of c WHERE c.person_id = registrant) THEN
        RAISE EXCEPTION 'person % accompanies another group and cannot bind companions', registrant
            USING ERRCODE = 'check_violation', DETAIL = 'Groups do not nest: a companion cannot have companions of their own.';
    END IF;

    SELECT count(*) INTO locked FROM companion c WHERE c.person_id = registrant;
    IF locked >= companion_limit() THEN
        RAISE EXCEPTION 'the group of person % already has % companions', registrant, locked
            USING ERRCODE = 'program_limit_exceeded', DETAIL = format('A registrant binds at most %s companions.', companion_limit());
    END IF;

    -- pos left out: the row trigger gives the next position (binding order)
    BEGIN
        INSERT INTO companion (person_id, companion_id) VALUES (registrant, cid);
        INSERT INTO companion_of (person_id, registrant_id) VALUES (cid, registrant);
    EXCEPTION WHEN unique_violation THEN
        -- cannot happen under the two person locks; a row written around
        -- this function is reported in the project's words all the same
        RAISE EXCEPTION 'companion % "%" is already bound to a group', doc_kind, shown
            USING ERRCODE = 'unique_violation', DETAIL = 'A person accompanies one group at a time.';
    END;
    -- the new companion is last: after the registrant and the others
    RETURN locked + 2;
END
$$;
COMMENT ON FUNCTION healthpass.bind_companion(bigint, text, text) IS
    'bind an accompanying traveller by document; returns their pos in group_codes (the registrant is 1)';

CREATE OR REPLACE FUNCTION unbind_companion(person_id bigint, doc_kind text, doc_number text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n text := hp_person_document(doc_kind, doc_number);
    registrant bigint := person_id;
    cid bigint;
BEGIN
    PERFORM hp_get_person(registrant);
    SELECT d.person_id INTO cid FROM document_index d
     WHERE d.doc_kind = unbind_companion.doc_kind AND d.doc_number = n;
    -- both people, in person_id order, one statement a person (see
    -- bind_companion); without a companion, the registrant alone
    PERFORM FROM person x WHERE x.person_id = least(registrant, cid) FOR UPDATE;
    IF cid IS NOT NULL THEN
        PERFORM FROM person x WHERE x.person_id = greatest(registrant, cid) FOR UPDATE;
    END IF;
    DELETE FROM companion c WHERE c.person_id = registrant AND c.companion_id = cid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'document % "%" is not bound to the group of person %',
                doc_kind, hp_mask_document(doc_kind, n), registrant
            USING ERRCODE = 'no_data_found', DETAIL = 'Only a bound companion can be unbound.';
    END IF;
    DELETE FROM companion_of c WHERE c.person_id = cid;
END
$$;
COMMENT ON FUNCTION healthpass.unbind_companion(bigint, text, text) IS 'remove a companion from the registrant''s group';

CREATE OR REPLACE FUNCTION group_codes(person_id bigint)
    RETURNS TABLE (pos integer, person_ref uuid, is_registrant boolean,
                   name_masked text, doc_masked text,
                   prev_ref uuid, next_ref uuid, code_status text, entry_code text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
            USING ERRCODE = 'no_data_found', DETAIL = 'A group is a registered traveller and their companions.',
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
COMMENT ON FUNCTION healthpass.group_codes(bigint) IS
    'the group of a registrant or companion in a stable order (registrant first, then binding order) with previous/next references and each entry code';

GRANT EXECUTE ON FUNCTION
    healthpass.companion_limit(),
    healthpass.bind_companion(bigint, text, text),
    healthpass.unbind_companion(bigint, text, text),
    healthpass.group_codes(bigint)
  TO healthpass_app, healthpass_admin;

-- ===== sql/schema/43_epass.sql
-- 43_epass.sql: face verification, the certified photo and the electronic
-- pass (seed 000).
-- (created once: later changes go to sql/updates/)

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
COMMENT ON TABLE healthpass.face_check IS 'results of external face checks (provider, time, outcome)';

-- The certified photo a passed check returned. Present = face verified.
CREATE TABLE certified_photo (
    person_id  bigint PRIMARY KEY,
    check_id   bigint NOT NULL,
    media_type text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png')),
    photo      bytea NOT NULL,
    bound_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE healthpass.certified_photo IS 'the certified photo of the latest passed face check; deleted when unbound';

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
COMMENT ON TABLE healthpass.epass IS 'electronic passes (seed 000), one per resident-ID-card holder';

CREATE TABLE epass_history (
    person_id  bigint NOT NULL,
    version    integer NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (person_id, version)
);
COMMENT ON TABLE healthpass.epass_history IS 'earlier versions of e-pass information';

SELECT pg_catalog.pg_extension_config_dump('face_check', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.face_check', 'check_id'), '');
SELECT pg_catalog.pg_extension_config_dump('certified_photo', '');
SELECT pg_catalog.pg_extension_config_dump('epass', '');
SELECT pg_catalog.pg_extension_config_dump('epass_history', '');

-- ===== sql/api/43_epass.sql
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

-- ===== sql/schema/44_family.sql
-- 44_family.sql: family members registered by proxy (seed 004).
--
-- A registered person (the guardian) adds family members who have no
-- smartphone. Members are full persons (their own document, real-name
-- check and codes) whose person.guardian_id names the guardian; the
-- guardian's list is family_member, keyed by the guardian. Members cannot
-- register others, and a guardian has at most 10 members.
-- (created once: later changes go to sql/updates/)

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
COMMENT ON TABLE healthpass.family_member IS 'family members a guardian registered by proxy';

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
COMMENT ON TABLE healthpass.family_member_history IS 'earlier versions of family links';

SELECT pg_catalog.pg_extension_config_dump('family_member', '');
SELECT pg_catalog.pg_extension_config_dump('family_member_history', '');

-- ===== sql/api/44_family.sql
-- 44_family.sql: family members registered by proxy (seed 004).
--
-- A registered person (the guardian) adds family members who have no
-- smartphone. Members are full persons (their own document, real-name
-- check and codes) whose person.guardian_id names the guardian; the
-- guardian's list is family_member, keyed by the guardian. Members cannot
-- register others, and a guardian has at most 10 members.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- History of the guardian's links: the generic history trigger (40_people.sql).
CREATE OR REPLACE TRIGGER family_member_keep_history
    BEFORE UPDATE ON family_member
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION healthpass_internal.hp_keep_history('family_member_history');

-- Largest number of members one guardian may register.
CREATE OR REPLACE FUNCTION family_limit() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 10;
COMMENT ON FUNCTION healthpass.family_limit() IS 'a guardian registers at most 10 family members';

-- Raises 22023 unless relation is one of the known ones.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_check_relation(relation text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    r text := lower(btrim(relation));
BEGIN
    IF r IS NULL OR r NOT IN ('parent', 'child', 'spouse', 'grandparent', 'grandchild', 'sibling', 'other') THEN
        RAISE EXCEPTION 'relation "%" is not valid', hp_quote(relation)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The relation is parent, child, spouse, grandparent, grandchild, sibling or other.';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_check_relation(text) IS 'normalised family relation';

-- The member's person row if the guardian registered them; 42501 otherwise.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_family_member(guardian bigint, member bigint, for_update boolean) RETURNS person
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person;
BEGIN
    PERFORM hp_get_person(guardian);
    IF NOT EXISTS (SELECT 1 FROM family_member f WHERE f.person_id = guardian AND f.member_id = member) THEN
        RAISE EXCEPTION 'person % is not a family member of person %', member, guardian
            USING ERRCODE = 'insufficient_privilege', DETAIL = 'A guardian sees and edits only the family members they registered.';
    END IF;
    IF for_update THEN
        p := hp_lock_person(member);
    ELSE
        p := hp_get_person(member);
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_family_member(bigint, bigint, boolean) IS 'a guardian''s family member, or 42501';

CREATE OR REPLACE FUNCTION add_family_member(
    guardian_id bigint, doc_kind text, doc_number text, name text, relation text,
    birth_date date DEFAULT NULL, sex text DEFAULT NULL,
    nationality text DEFAULT NULL, phone text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    g person := hp_lock_person(guardian_id);
    r text := hp_check_relation(relation);
    n integer;
    mid bigint;
BEGIN
    IF g.guardian_id IS NOT NULL THEN
        RAISE EXCEPTION 'person % was registered by proxy and cannot register family members', g.person_id
            USING ERRCODE = 'check_violation', DETAIL = 'Only a person who registered themselves acts for their family.';
    END IF;
    SELECT count(*) INTO n FROM family_member f WHERE f.person_id = g.person_id;
    IF n >= family_limit() THEN
        RAISE EXCEPTION 'person % already has % family members', g.person_id, n
            USING ERRCODE = 'program_limit_exceeded', DETAIL = format('A guardian registers at most %s family members.', family_limit());
    END IF;
    -- no phone of their own: the guardian's number is the contact (seed 004)
    mid := hp_insert_person(doc_kind, doc_number, name, birth_date, sex, nationality,
                            coalesce(phone, g.phone), g.person_id);
    INSERT INTO family_member (person_id, member_id, relation) VALUES (g.person_id, mid, r);
    RETURN mid;
END
$$;
COMMENT ON FUNCTION healthpass.add_family_member(bigint, text, text, text, text, date, text, text, text) IS
    'register a family member by proxy; returns the member''s person_id (real-name status pending)';

CREATE OR REPLACE FUNCTION family_members(guardian_id bigint)
    RETURNS TABLE (member_id bigint, person_ref uuid, name text, doc_kind text, doc_masked text,
                   birth_date date, relation text, realname_status text, added_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    g person := hp_get_person(guardian_id);
    f record;
    p person;
BEGIN
    -- the guardian's rows first, then each member's row by person_id: on
    -- Citus they are on different shards (family_member is the guardian's),
    -- and a join of the two would need repartitioning
    FOR f IN
        SELECT x.member_id, x.relation, x.added_at FROM family_member x
         WHERE x.person_id = g.person_id
         ORDER BY x.added_at, x.member_id
    LOOP
        SELECT * INTO p FROM person x WHERE x.person_id = f.member_id;
        CONTINUE WHEN NOT FOUND;  -- as the join did
        member_id := p.person_id;
        person_ref := p.public_ref;
        name := p.name;
        doc_kind := p.doc_kind;
        doc_masked := hp_mask_document(p.doc_kind, p.doc_number);
        birth_date := p.birth_date;
        relation := f.relation;
        realname_status := p.realname_status;
        added_at := f.added_at;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION healthpass.family_members(bigint) IS 'the family members a guardian registered, in the order added';

CREATE OR REPLACE FUNCTION edit_family_member(guardian_id bigint, member_id bigint, changes jsonb) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
COMMENT ON FUNCTION healthpass.edit_family_member(bigint, bigint, jsonb) IS
    'edit a family member (person fields as edit_person, plus relation); returns the member''s new version';

CREATE OR REPLACE FUNCTION family_member_code(guardian_id bigint, member_id bigint,
                                   valid_for interval DEFAULT '90 days') RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    m person := hp_family_member(guardian_id, member_id, false);
BEGIN
    RETURN personal_code(m.person_id, valid_for);
END
$$;
COMMENT ON FUNCTION healthpass.family_member_code(bigint, bigint, interval) IS
    'a family member''s personal code (HP1 kind "personal"), valid 90 days by default for printing';

CREATE OR REPLACE FUNCTION family_member_qr_png(guardian_id bigint, member_id bigint,
                                     valid_for interval DEFAULT '90 days',
                                     module_px integer DEFAULT 8) RETURNS bytea
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    -- level Q: a printed code survives creases and smudges
    RETURN qr_png(family_member_code(guardian_id, member_id, valid_for), 'Q', hp_module_px(module_px));
END
$$;
COMMENT ON FUNCTION healthpass.family_member_qr_png(bigint, bigint, interval, integer) IS
    'printable PNG of a family member''s personal code (error correction Q)';

CREATE OR REPLACE FUNCTION family_member_history(guardian_id bigint, member_id bigint)
    RETURNS TABLE (version integer, valid_from timestamptz, valid_to timestamptz, relation text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
COMMENT ON FUNCTION healthpass.family_member_history(bigint, bigint) IS
    'every version of the guardian''s relation to a member, oldest first (the member''s own data: person_history)';

GRANT EXECUTE ON FUNCTION
    healthpass.family_member_history(bigint, bigint),
    healthpass.family_limit(),
    healthpass.add_family_member(bigint, text, text, text, text, date, text, text, text),
    healthpass.family_members(bigint),
    healthpass.edit_family_member(bigint, bigint, jsonb),
    healthpass.family_member_code(bigint, bigint, interval),
    healthpass.family_member_qr_png(bigint, bigint, interval, integer)
  TO healthpass_app, healthpass_admin;

-- ===== sql/schema/50_colour.sql
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
-- (created once: later changes go to sql/updates/)

CREATE TYPE health_colour AS ENUM ('green', 'light_green', 'yellow', 'red');
COMMENT ON TYPE healthpass.health_colour IS
    'health-code colour ordered by severity: green < light_green < yellow < red';

-- The more severe of two colours (NULL counts as absent).
CREATE FUNCTION worse(a health_colour, b health_colour) RETURNS health_colour
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN GREATEST(a, b);
COMMENT ON FUNCTION healthpass.worse(health_colour, health_colour) IS
    'the more severe of two colours; NULL counts as absent';

CREATE AGGREGATE worst(health_colour) (
    SFUNC = worse,
    STYPE = health_colour,
    COMBINEFUNC = worse,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE healthpass.worst(health_colour) IS
    'the most severe colour of a set (NULL for no rows)';

-- The health settings (code and declaration validity) are database settings
-- (sql/schema/01_settings.sql, sql/api/01_settings.sql).

-- ===== sql/api/50_colour.sql
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
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- What a colour means, in the words of seed 004 (English, then Chinese).
CREATE OR REPLACE FUNCTION colour_meaning(colour health_colour) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE colour
        WHEN 'green' THEN 'green code (绿码): may pass'
        WHEN 'light_green' THEN 'light green code (淡绿码): no health information reported'
        WHEN 'yellow' THEN 'yellow code (黄码): pass after more information or a check such as temperature; or the declaration has expired and must be renewed'
        WHEN 'red' THEN 'red code (红码): does not meet the conditions to travel; report to the community (village) or employer'
    END;
COMMENT ON FUNCTION healthpass.colour_meaning(health_colour) IS 'what a colour means (seed 004), English and Chinese';

-- The health settings (database settings, sql/api/01_settings.sql), as one
-- row for the apps' settings page.
CREATE OR REPLACE FUNCTION health_settings(
    OUT code_valid_for interval, OUT declaration_valid_for interval, OUT updated_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT hp_setting('code_valid_for')::interval, hp_setting('declaration_valid_for')::interval,
           (SELECT max(s.updated_at) FROM setting s
             WHERE s.name IN ('code_valid_for', 'declaration_valid_for'))
$$;
COMMENT ON FUNCTION healthpass.health_settings() IS 'current health settings';

-- Changes the health settings through configure(); NULL keeps a value.
-- Only new codes and new declarations are affected: issued ones keep the
-- validity they were given.
CREATE OR REPLACE FUNCTION configure_health(code_valid_for interval DEFAULT NULL,
                                 declaration_valid_for interval DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF code_valid_for IS NOT NULL THEN
        PERFORM configure('code_valid_for', code_valid_for::text);
    END IF;
    IF declaration_valid_for IS NOT NULL THEN
        PERFORM configure('declaration_valid_for', declaration_valid_for::text);
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass.configure_health(interval, interval) IS
    'set the health-code and declaration validity (NULL keeps a value) through configure(); affects new codes and declarations only';

GRANT EXECUTE ON FUNCTION healthpass.worse(health_colour, health_colour),
                          healthpass.worst(health_colour),
                          healthpass.colour_meaning(health_colour)
    TO healthpass_admin, healthpass_app, healthpass_scanner,
       healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;
GRANT EXECUTE ON FUNCTION healthpass.health_settings()
    TO healthpass_admin, healthpass_app, healthpass_health, healthpass_report;
GRANT EXECUTE ON FUNCTION healthpass.configure_health(interval, interval) TO healthpass_admin;

-- ===== sql/schema/51_declarations.sql
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
-- (created once: later changes go to sql/updates/)

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
COMMENT ON TABLE healthpass.health_declaration IS
    'health declarations: fever today, 14-day contact and travel history, destination, temperature; never updated';
CREATE INDEX health_declaration_latest ON health_declaration (person_id, declared_at);
SELECT pg_catalog.pg_extension_config_dump('health_declaration', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.health_declaration', 'declaration_id'), '');

-- The one form in which places are stored and compared (declared travel
-- places, destination cities, risk areas): NFC; full-width ASCII forms
-- (ＡＢＣ１２３（）) folded to ASCII; runs of spaces of any width (also the
-- ideographic space) as one space, none at the ends; no space between two
-- CJK characters, so "广东省 珠海市　香洲区" is "广东省珠海市香洲区". A place
-- matches a risk area when its form starts with the area's form. Created
-- once, not replayed: stored places are in this form (risk_area checks it),
-- so a change to it is an update step that re-normalises what is stored.
-- hp_clean_place (sql/api/51_declarations.sql) checks a typed place and
-- returns this form.
CREATE FUNCTION healthpass_internal.hp_place_form(place text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN regexp_replace(
         btrim(regexp_replace(
           translate(CASE WHEN current_setting('server_encoding') = 'UTF8' THEN normalize(place, NFC) ELSE place END,
                     '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～',
                     E'!"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~'),
           '[\s\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+', ' ', 'g'), ' '),
         '(?<=[\u2e80-\u2fff\u3001-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]) (?=[\u2e80-\u2fff\u3001-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff])',
         '', 'g');
COMMENT ON FUNCTION healthpass_internal.hp_place_form(text) IS
    'the stored and compared form of a place: NFC, full-width ASCII folded, spaces collapsed and removed between CJK characters (internal)';

-- ===== sql/api/51_declarations.sql
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
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- A place as typed, checked and in its one stored form: free text of at most
-- 100 characters without control or bidi characters (hp_text: 54000 when too
-- long, 22023 for a bad character), then hp_place_form (sql/schema/
-- 51_declarations.sql): NFC, full-width ASCII folded, spaces collapsed and
-- removed between CJK characters. Every place a function takes (travel
-- places, destination city, risk areas) goes through here, so declarations
-- and risk areas are compared in one form.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_clean_place(field text, place text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    p text := hp_place_form(hp_text(field, place, 100));
BEGIN
    IF p IS NULL OR p = '' THEN
        RAISE EXCEPTION '% "%" is empty', field, hp_quote(coalesce(place, ''))
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A place names a country, province, city or district.';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_clean_place(text, text) IS 'checked place in its stored form (hp_place_form), or 22023/54000 naming the field (internal)';

CREATE OR REPLACE FUNCTION declare_health(
    person_id bigint,
    fever_today boolean,
    contact_14d boolean,
    travel_places text[] DEFAULT '{}',
    destination_city text DEFAULT NULL,
    destination_address text DEFAULT NULL,
    temperature numeric DEFAULT NULL,
    OUT declaration_id bigint, OUT declared_at timestamptz, OUT valid_until timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(declare_health.person_id);
    places text[];
    city text;
    address text;
BEGIN
    IF declare_health.fever_today IS NULL THEN
        RAISE EXCEPTION 'fever_today is missing'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Every declaration answers whether the person has a fever or symptoms today.';
    END IF;
    IF declare_health.contact_14d IS NULL THEN
        RAISE EXCEPTION 'contact_14d is missing'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Every declaration answers whether the person had contact with a case in the last 14 days.';
    END IF;
    IF coalesce(cardinality(declare_health.travel_places), 0) > 30 THEN
        RAISE EXCEPTION 'travel history lists % places', cardinality(declare_health.travel_places)
            USING ERRCODE = 'program_limit_exceeded', DETAIL = 'A declaration lists at most 30 places visited in the last 14 days.';
    END IF;
    SELECT coalesce(array_agg(DISTINCT hp_clean_place('travel place', t.pl) ORDER BY hp_clean_place('travel place', t.pl)), '{}')
      INTO places FROM unnest(declare_health.travel_places) AS t(pl);
    IF declare_health.destination_city IS NOT NULL THEN
        city := hp_clean_place('destination city', declare_health.destination_city);
    END IF;
    IF declare_health.destination_address IS NOT NULL THEN
        address := regexp_replace(hp_text('destination address', declare_health.destination_address, 200),
                                  '[\s　]+', ' ', 'g');
        IF address IS NULL THEN
            RAISE EXCEPTION 'destination address "%" is empty', hp_quote(declare_health.destination_address)
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Leave the address out, or give the street and number.';
        END IF;
    END IF;
    IF declare_health.temperature IS NOT NULL
       AND NOT declare_health.temperature BETWEEN 34.0 AND 43.0 THEN
        RAISE EXCEPTION 'temperature % is out of range', hp_quote(declare_health.temperature::text)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A body temperature is given in degrees Celsius between 34.0 and 43.0.';
    END IF;
    INSERT INTO health_declaration AS d
           (person_id, valid_until, fever_today, contact_14d, travel_places,
            destination_city, destination_address, temperature)
    VALUES (p.person_id, now() + hp_setting('declaration_valid_for')::interval,
            declare_health.fever_today, declare_health.contact_14d, places,
            city, address, round(declare_health.temperature, 1))
    RETURNING d.declaration_id, d.declared_at, d.valid_until
         INTO declare_health.declaration_id, declare_health.declared_at, declare_health.valid_until;
END
$$;
COMMENT ON FUNCTION healthpass.declare_health(bigint, boolean, boolean, text[], text, text, numeric) IS
    'record a health declaration (fever today, 14-day contact, 14-day travel places, destination, temperature); the colour is recomputed';

-- A person's declarations, newest first, with whether each is the one in force.
CREATE OR REPLACE FUNCTION health_declarations(person_id bigint, max_rows integer DEFAULT 20)
    RETURNS TABLE (declaration_id bigint, declared_at timestamptz, valid_until timestamptz,
                   in_force boolean, fever_today boolean, contact_14d boolean, travel_places text[],
                   destination_city text, destination_address text, temperature numeric)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(health_declarations.person_id);
BEGIN
    IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'max_rows % is out of range', max_rows
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Ask for 1 to 1000 declarations at a time.';
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
COMMENT ON FUNCTION healthpass.health_declarations(bigint, integer) IS
    'a person''s declarations, newest first; in_force marks the latest one while it is valid';

GRANT EXECUTE ON FUNCTION
    healthpass.declare_health(bigint, boolean, boolean, text[], text, text, numeric),
    healthpass.health_declarations(bigint, integer)
    TO healthpass_app, healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.health_declarations(bigint, integer) TO healthpass_health;

-- ===== sql/schema/52_results.sql
-- 52_results.sql: nucleic-acid test results (seeds 002 and 004).
--
-- The health authority records results as the testing institutions report
-- them. A sample is named by its institution and the institution's sample
-- reference; it may first be recorded as pending and later as negative or
-- positive. Records are never changed: each report is a new row, and the
-- newest record of a sample is its result. "The latest result within 14
-- days" (seed 004) is the result of the most recently sampled test taken
-- in the 14 days before the instant asked about.
-- (created once: later changes go to sql/updates/)

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
COMMENT ON TABLE healthpass.test_result IS
    'nucleic-acid test records: sample (institution + reference), sampled at, result, reported at; never updated';
CREATE INDEX test_result_sampled ON test_result (person_id, sampled_at);
-- A sample is recorded as pending once (a record is added only when the
-- result changes, and a final result never goes back to pending): a second
-- pending record of it is a duplicate, refused with 23505. person_id first,
-- as in every unique key of a personal table.
CREATE UNIQUE INDEX test_result_pending_once ON test_result (person_id, institution, sample_ref, sampled_at)
    WHERE result = 'pending';
SELECT pg_catalog.pg_extension_config_dump('test_result', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.test_result', 'result_id'), '');

-- ===== sql/api/52_results.sql
-- 52_results.sql: nucleic-acid test results (seeds 002 and 004).
--
-- The health authority records results as the testing institutions report
-- them. A sample is named by its institution and the institution's sample
-- reference; it may first be recorded as pending and later as negative or
-- positive. Records are never changed: each report is a new row, and the
-- newest record of a sample is its result. "The latest result within 14
-- days" (seed 004) is the result of the most recently sampled test taken
-- in the 14 days before the instant asked about.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- The window seed 004 speaks of.
CREATE OR REPLACE FUNCTION result_window() RETURNS interval
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN interval '14 days';
COMMENT ON FUNCTION healthpass.result_window() IS 'results count for 14 days after sampling (seed 004)';

CREATE OR REPLACE FUNCTION record_test_result(
    person_id bigint, institution text, sample_ref text, sampled_at timestamptz,
    result text, reported_at timestamptz DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person;
    inst text := hp_text('institution', record_test_result.institution, 100, true);
    ref text := hp_text('sample reference', record_test_result.sample_ref, 64, true);
    sampled timestamptz := hp_instant('sampled_at', record_test_result.sampled_at, true);
    reported timestamptz := hp_instant('reported_at', record_test_result.reported_at, false);
    res text := lower(btrim(record_test_result.result));
    prev test_result;
    id bigint;
BEGIN
    IF res IS NULL OR res NOT IN ('negative', 'positive', 'pending') THEN
        RAISE EXCEPTION 'test result "%" is not valid', hp_quote(record_test_result.result)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A nucleic-acid result is negative, positive or pending.';
    END IF;
    IF sampled > now() THEN
        RAISE EXCEPTION 'sampling time "%" is in the future', sampled
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A sample is recorded after it was taken.';
    END IF;
    IF res = 'pending' THEN
        IF reported IS NOT NULL THEN
            RAISE EXCEPTION 'a pending result cannot have a report time "%"', reported
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A result is reported when it is negative or positive.';
        END IF;
    ELSE
        reported := coalesce(reported, now());
        IF reported < sampled OR reported > now() THEN
            RAISE EXCEPTION 'report time "%" is out of range', reported
                USING ERRCODE = 'datetime_field_overflow',
                      DETAIL = format('A result is reported between sampling (%s) and now.', sampled);
        END IF;
    END IF;

    -- the person is locked: two reports of one sample wait for each other,
    -- and the second sees the first (test/isolation/specs/52_sample_race.spec)
    p := hp_lock_person(record_test_result.person_id);

    -- the records of one sample: same sampling time; a final result is final
    SELECT * INTO prev FROM test_result t
     WHERE t.person_id = p.person_id AND t.institution = inst AND t.sample_ref = ref
     ORDER BY t.recorded_at DESC, t.result_id DESC LIMIT 1;
    IF FOUND THEN
        IF prev.sampled_at <> sampled THEN
            RAISE EXCEPTION 'sample "%" of "%" was taken at %, not %', hp_quote(ref), hp_quote(inst), prev.sampled_at, sampled
                USING ERRCODE = 'check_violation', DETAIL = 'All records of one sample have the same sampling time.';
        END IF;
        IF prev.result = res THEN
            RAISE EXCEPTION 'sample "%" of "%" is already recorded as %', hp_quote(ref), hp_quote(inst), res
                USING ERRCODE = 'unique_violation', DETAIL = 'A record is added only when the result changes.';
        END IF;
        IF prev.result <> 'pending' AND res = 'pending' THEN
            RAISE EXCEPTION 'sample "%" of "%" already has the final result %', hp_quote(ref), hp_quote(inst), prev.result
                USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'A reported result does not go back to pending; record the corrected result instead.';
        END IF;
    END IF;

    BEGIN
        INSERT INTO test_result AS t (person_id, institution, sample_ref, sampled_at, result, reported_at)
        VALUES (p.person_id, inst, ref, sampled, res, reported)
        RETURNING t.result_id INTO id;
    EXCEPTION WHEN unique_violation THEN
        -- test_result_pending_once: only a row written around this function
        -- can collide (the person lock serialises the function's own calls)
        RAISE EXCEPTION 'sample "%" of "%" is already recorded as %', hp_quote(ref), hp_quote(inst), res
            USING ERRCODE = 'unique_violation', DETAIL = 'A sample is pending once: one pending record per sample.';
    END;
    RETURN id;
END
$$;
COMMENT ON FUNCTION healthpass.record_test_result(bigint, text, text, timestamptz, text, timestamptz) IS
    'record a nucleic-acid result (negative/positive/pending) for a sample; returns result_id; the colour is recomputed';

-- The latest result of each sample of a person known at an instant, sampled
-- in the 14 days before it (internal; shared by the look-ups below).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_recent_samples(pid bigint, at timestamptz)
    RETURNS TABLE (sampled_at timestamptz, result text, reported_at timestamptz, institution text, sample_ref text)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    -- PL/pgSQL: the plan is kept for the session (a scan reads this)
    RETURN QUERY
        SELECT DISTINCT ON (t.institution, t.sample_ref)
               t.sampled_at, t.result, t.reported_at, t.institution, t.sample_ref
          FROM test_result t
         WHERE t.person_id = pid AND t.recorded_at <= hp_recent_samples.at
           AND t.sampled_at <= hp_recent_samples.at AND t.sampled_at > hp_recent_samples.at - result_window()
         ORDER BY t.institution, t.sample_ref, t.recorded_at DESC, t.result_id DESC;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_recent_samples(bigint, timestamptz) IS 'samples of the last 14 days with their latest record (internal)';

CREATE OR REPLACE FUNCTION latest_test_result(person_id bigint, at timestamptz DEFAULT now())
    RETURNS TABLE (sampled_at timestamptz, result text, reported_at timestamptz,
                   institution text, sample_ref text, last_negative_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(latest_test_result.person_id);
BEGIN
    PERFORM hp_past_instant('instant', at);
    RETURN QUERY
        SELECT s.sampled_at, s.result, s.reported_at, s.institution, s.sample_ref,
               (SELECT max(n.sampled_at) FROM hp_recent_samples(p.person_id, at) n WHERE n.result = 'negative')
          FROM hp_recent_samples(p.person_id, at) s
         ORDER BY s.sampled_at DESC, s.institution, s.sample_ref
         LIMIT 1;
END
$$;
COMMENT ON FUNCTION healthpass.latest_test_result(bigint, timestamptz) IS
    'the latest nucleic-acid result sampled in the 14 days before at (no row when there is none), with the last negative sampling time';

-- Seed 004: a guardian looks up the latest result of every family member
-- they registered. Members without a result in 14 days are listed with NULLs.
CREATE OR REPLACE FUNCTION family_test_results(guardian_id bigint, at timestamptz DEFAULT now())
    RETURNS TABLE (member_id bigint, name_masked text, relation text,
                   sampled_at timestamptz, result text, reported_at timestamptz, institution text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    g person := hp_get_person(family_test_results.guardian_id);
    f record;
    who text;
BEGIN
    PERFORM hp_past_instant('instant', at);
    -- the guardian's rows first, then each member's row and results by
    -- person_id: on Citus a member is on a shard of their own (family_member
    -- is the guardian's), and a join would need repartitioning
    FOR f IN
        SELECT x.member_id, x.relation FROM family_member x
         WHERE x.person_id = g.person_id
         ORDER BY x.added_at, x.member_id
    LOOP
        SELECT x.name INTO who FROM person x WHERE x.person_id = f.member_id;
        CONTINUE WHEN NOT FOUND;  -- as the join did
        member_id := f.member_id;
        name_masked := mask_name(who);
        relation := f.relation;
        sampled_at := NULL;
        result := NULL;
        reported_at := NULL;
        institution := NULL;
        SELECT r.sampled_at, r.result, r.reported_at, r.institution
          INTO sampled_at, result, reported_at, institution
          FROM hp_recent_samples(f.member_id, at) r
         ORDER BY r.sampled_at DESC, r.institution, r.sample_ref
         LIMIT 1;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION healthpass.family_test_results(bigint, timestamptz) IS
    'the latest result in 14 days of each family member a guardian registered (seed 004)';

-- Every record of a person, newest first: for the health authority.
CREATE OR REPLACE FUNCTION test_results(person_id bigint)
    RETURNS TABLE (result_id bigint, institution text, sample_ref text, sampled_at timestamptz,
                   result text, reported_at timestamptz, recorded_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
COMMENT ON FUNCTION healthpass.test_results(bigint) IS 'every test record of a person, newest first';

GRANT EXECUTE ON FUNCTION healthpass.result_window()
    TO healthpass_admin, healthpass_app, healthpass_scanner, healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;
GRANT EXECUTE ON FUNCTION
    healthpass.record_test_result(bigint, text, text, timestamptz, text, timestamptz),
    healthpass.test_results(bigint)
    TO healthpass_health, healthpass_admin;
GRANT EXECUTE ON FUNCTION
    healthpass.latest_test_result(bigint, timestamptz),
    healthpass.family_test_results(bigint, timestamptz)
    TO healthpass_app, healthpass_health, healthpass_admin;

-- ===== sql/schema/53_marks.sql
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
-- "深圳市南山区粤海街道". Both sides are stored in one form (hp_place_form:
-- NFC, full-width ASCII folded, no space between CJK characters), so the
-- place "广东省 珠海市 香洲区" matches the area "广东省珠海市". Declaring or
-- lifting an area re-colours, at once, everyone whose declaration in force
-- lists a matching place.
-- (created once: later changes go to sql/updates/)

CREATE TYPE risk_mark_kind AS ENUM
    ('confirmed', 'suspected', 'close_contact', 'secondary_contact', 'risk_area_arrival');
COMMENT ON TYPE healthpass.risk_mark_kind IS
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
COMMENT ON TABLE healthpass.risk_mark IS 'risk marks with their validity window; lifting records lifted_at';
SELECT pg_catalog.pg_extension_config_dump('risk_mark', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.risk_mark', 'mark_id'), '');

CREATE TABLE risk_area (
    area_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    place       text NOT NULL,
    note        text,
    declared_at timestamptz NOT NULL DEFAULT now(),
    lifted_at   timestamptz,
    -- places are stored in the form they are compared in (hp_place_form,
    -- 51_declarations.sql), so one place cannot be in force twice under two
    -- spellings
    CONSTRAINT risk_area_place_form CHECK (place <> '' AND place = hp_place_form(place))
);
COMMENT ON TABLE healthpass.risk_area IS 'risk areas: a declared travel place starting with the area name matches';
CREATE UNIQUE INDEX risk_area_active ON risk_area (place) WHERE lifted_at IS NULL;
SELECT pg_catalog.pg_extension_config_dump('risk_area', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.risk_area', 'area_id'), '');

-- ===== sql/api/53_marks.sql
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
-- "深圳市南山区粤海街道". Both sides are stored in one form (hp_place_form:
-- NFC, full-width ASCII folded, no space between CJK characters), so the
-- place "广东省 珠海市 香洲区" matches the area "广东省珠海市". Declaring or
-- lifting an area re-colours, at once, everyone whose declaration in force
-- lists a matching place.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Notes and reasons are free text checked by hp_text (05_checks.sql): at
-- most 500 characters (54000), no control or bidi characters (22023); a note
-- may span lines, a reason is one line.

CREATE OR REPLACE FUNCTION set_risk_mark(
    person_id bigint, kind text,
    valid_from timestamptz DEFAULT now(), valid_until timestamptz DEFAULT NULL,
    note text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(set_risk_mark.person_id);
    k risk_mark_kind;
    v_from timestamptz := hp_instant('valid_from', set_risk_mark.valid_from, true);
    v_until timestamptz := hp_instant('valid_until', set_risk_mark.valid_until, false);
    why text := hp_text('note', set_risk_mark.note, 500, false, true);
    id bigint;
BEGIN
    IF kind IS NULL OR NOT kind = ANY (enum_range(NULL::risk_mark_kind)::text[]) THEN
        RAISE EXCEPTION 'risk mark kind "%" is not valid', hp_quote(kind)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('A risk mark is one of: %s.', array_to_string(enum_range(NULL::risk_mark_kind), ', '));
    END IF;
    k := kind::risk_mark_kind;
    IF v_until IS NOT NULL AND v_until <= v_from THEN
        RAISE EXCEPTION 'validity window "%" to "%" is empty', v_from, v_until
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A risk mark ends after it starts.';
    END IF;
    IF v_until IS NOT NULL AND v_until <= now() THEN
        RAISE EXCEPTION 'validity window ends in the past at "%"', v_until
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A risk mark is recorded before it ends.';
    END IF;
    INSERT INTO risk_mark AS m (person_id, kind, valid_from, valid_until, note)
    VALUES (p.person_id, k, v_from, v_until, why)
    RETURNING m.mark_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION healthpass.set_risk_mark(bigint, text, timestamptz, timestamptz, text) IS
    'mark a person (confirmed, suspected, close_contact, secondary_contact, risk_area_arrival) for a window; returns mark_id; the colour is recomputed';

CREATE OR REPLACE FUNCTION lift_risk_mark(person_id bigint, mark_id bigint, reason text) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    m risk_mark;
    why text := hp_text('reason', lift_risk_mark.reason, 500, true);
BEGIN
    SELECT * INTO m FROM risk_mark r
     WHERE r.person_id = lift_risk_mark.person_id AND r.mark_id = lift_risk_mark.mark_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no risk mark %', lift_risk_mark.person_id, lift_risk_mark.mark_id
            USING ERRCODE = 'no_data_found', DETAIL = 'Marks are named by the person and the mark id set_risk_mark returned.';
    END IF;
    IF m.lifted_at IS NOT NULL THEN
        RAISE EXCEPTION 'risk mark % was already lifted at %', m.mark_id, m.lifted_at
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'A mark is lifted once.';
    END IF;
    IF m.valid_until IS NOT NULL AND m.valid_until <= now() THEN
        RAISE EXCEPTION 'risk mark % already ended at %', m.mark_id, m.valid_until
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Only a current or future mark can be lifted.';
    END IF;
    UPDATE risk_mark r SET lifted_at = now(), lift_reason = why
     WHERE r.person_id = m.person_id AND r.mark_id = m.mark_id;
    RETURN now();
END
$$;
COMMENT ON FUNCTION healthpass.lift_risk_mark(bigint, bigint, text) IS 'lift a risk mark early (with a reason); the colour is recomputed';

CREATE OR REPLACE FUNCTION risk_marks(person_id bigint)
    RETURNS TABLE (mark_id bigint, kind risk_mark_kind, valid_from timestamptz, valid_until timestamptz,
                   active boolean, note text, recorded_at timestamptz, lifted_at timestamptz, lift_reason text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
COMMENT ON FUNCTION healthpass.risk_marks(bigint) IS 'a person''s risk marks, newest first, with whether each is active now';

-- Risk areas ---------------------------------------------------------------

CREATE OR REPLACE FUNCTION declare_risk_area(place text, note text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    pl text := hp_clean_place('risk area', place);
    why text := hp_text('note', declare_risk_area.note, 500, false, true);
    id bigint;
BEGIN
    -- no declaration may slip in between the area and the re-colouring
    LOCK TABLE health_declaration IN SHARE MODE;
    IF EXISTS (SELECT 1 FROM risk_area a WHERE a.place = pl AND a.lifted_at IS NULL) THEN
        RAISE EXCEPTION 'risk area "%" is already declared', hp_quote(pl)
            USING ERRCODE = 'unique_violation', DETAIL = 'An area is declared once until it is lifted.';
    END IF;
    BEGIN
        INSERT INTO risk_area AS a (place, note) VALUES (pl, why)
        RETURNING a.area_id INTO id;
    EXCEPTION WHEN unique_violation THEN
        -- another session declared the same place at the same time (both
        -- passed the check above; the unique index risk_area_active made
        -- this one wait for the other to commit)
        RAISE EXCEPTION 'risk area "%" is already declared', hp_quote(pl)
            USING ERRCODE = 'unique_violation',
                  DETAIL = 'Another session declared the area at the same time; an area is declared once until it is lifted.';
    END;
    PERFORM hp_recolour_place(pl);
    RETURN id;
END
$$;
COMMENT ON FUNCTION healthpass.declare_risk_area(text, text) IS
    'declare a risk area; everyone whose declaration in force lists a matching place is re-coloured at once (progress as NOTICEs)';

CREATE OR REPLACE FUNCTION lift_risk_area(area_id bigint) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    a risk_area;
BEGIN
    LOCK TABLE health_declaration IN SHARE MODE;
    SELECT * INTO a FROM risk_area r WHERE r.area_id = lift_risk_area.area_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'risk area % does not exist', lift_risk_area.area_id
            USING ERRCODE = 'no_data_found', DETAIL = 'Areas are named by the id declare_risk_area returned.';
    END IF;
    IF a.lifted_at IS NOT NULL THEN
        RAISE EXCEPTION 'risk area "%" was already lifted at %', hp_quote(a.place), a.lifted_at
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'An area is lifted once.';
    END IF;
    UPDATE risk_area r SET lifted_at = now() WHERE r.area_id = a.area_id;
    PERFORM hp_recolour_place(a.place);
    RETURN now();
END
$$;
COMMENT ON FUNCTION healthpass.lift_risk_area(bigint) IS 'lift a risk area; the people it affected are re-coloured at once';

CREATE OR REPLACE FUNCTION risk_areas(include_lifted boolean DEFAULT false)
    RETURNS TABLE (area_id bigint, place text, note text, declared_at timestamptz, lifted_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT a.area_id, a.place, a.note, a.declared_at, a.lifted_at
      FROM risk_area a
     WHERE include_lifted OR a.lifted_at IS NULL
     ORDER BY a.declared_at, a.area_id
$$;
COMMENT ON FUNCTION healthpass.risk_areas(boolean) IS 'risk areas in force (and lifted ones when asked), oldest first';

GRANT EXECUTE ON FUNCTION
    healthpass.set_risk_mark(bigint, text, timestamptz, timestamptz, text),
    healthpass.lift_risk_mark(bigint, bigint, text),
    healthpass.risk_marks(bigint),
    healthpass.declare_risk_area(text, text),
    healthpass.lift_risk_area(bigint)
    TO healthpass_health, healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.risk_areas(boolean)
    TO healthpass_health, healthpass_admin, healthpass_app, healthpass_scanner, healthpass_report;

-- ===== sql/schema/54_rules.sql
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
-- (created once: later changes go to sql/updates/)

-- The facts a condition may use.
CREATE TABLE colour_fact (
    name        text PRIMARY KEY,
    type        text NOT NULL CHECK (type IN ('boolean', 'numeric', 'text', 'timestamptz')),
    description text NOT NULL
);
COMMENT ON TABLE healthpass.colour_fact IS 'the catalogue of facts that colour-rule conditions may use';
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
COMMENT ON TABLE healthpass.colour_rule IS 'colour rules (never updated): condition on facts, colour, reason, priority';

-- Rule set versions: the rules in force from activated_at, and their SQL.
CREATE TABLE colour_ruleset (
    version      integer PRIMARY KEY,
    activated_at timestamptz NOT NULL,
    rule_ids     integer[] NOT NULL,
    compiled     text NOT NULL,
    note         text,
    created_by   name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE healthpass.colour_ruleset IS 'rule set versions: rule ids in force from activated_at, compiled to one SQL query';
CREATE INDEX colour_ruleset_activated ON colour_ruleset (activated_at);

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
        '', 'default rules (seed 004)', 'healthpass');  -- compiled by sql/api/54_rules.sql

-- administrators' rules and rule sets are dumped; the defaults come with the extension
SELECT pg_catalog.pg_extension_config_dump('colour_rule', 'WHERE rule_id > 13');
SELECT pg_catalog.pg_extension_config_dump('colour_ruleset', 'WHERE version > 1');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.colour_rule', 'rule_id'), '');

-- ===== sql/api/54_rules.sql
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
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- The compiled query of a list of rules, over the facts query pasted in
-- (hp_colour_facts_sql). Parameters: $1 lo, $2 hi, $3 ids, $4 ats (as
-- colour_facts). Columns: person_id, at, colour, rule_ids (the
-- matching rules of the winning colour, by priority), recheck_at (the next
-- instant the answer may change by time alone).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_compile_ruleset(rule_ids integer[]) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
        '  FROM (%s) f\n'
        '  CROSS JOIN LATERAL (\n'
        '    SELECT %s AS colour%s\n'
        '  ) x',
        cases,
        array_to_string(ARRAY['f.next_change']
            || ARRAY(SELECT format('CASE WHEN %s > f.at THEN %s END', b, b) FROM unnest(bounds) b), ', '),
        hp_colour_facts_sql(),
        CASE WHEN cardinality(colour_terms) = 0 THEN '''yellow''::healthpass.health_colour'
             ELSE format('coalesce(GREATEST(%s), ''yellow'')', array_to_string(colour_terms, E',\n             ')) END,
        lists);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_compile_ruleset(integer[]) IS 'compiles a list of rules into one set-wise query (internal)';


-- The facts of people at instants, from what had been recorded by each
-- instant. ids and ats are parallel arrays (person, instant); lo and hi
-- bound the person ids so that each table is read by an index range (bulk
-- batches pass contiguous ids). next_change is the earliest later instant
-- at which a fact changes by time alone (a declaration lapses, a mark
-- starts or ends, a test leaves the 14-day window).
-- The foreign_* facts come from HC1 certificates verified and recorded by
-- record_hc1 (hc1_record, sql/schema/80_hc1.sql), recognised_green_at from
-- transfers imported from a trusted partner (received_transfer,
-- sql/schema/78_transfer.sql): later domains; the function is not parsed
-- when the extension script creates it.
-- A short list (a declaration, a result, a code: at most 8 people) also
-- names its people with person_id = ANY (ids): once the planner has folded
-- the arguments into constants, that is the condition Citus prunes hash
-- shards by, so one person's facts are read on that person's shard only
-- (and from a row trigger on that shard, locally: doc/citus.md). A bulk
-- batch keeps to the range; the extra condition folds away.
-- The text of the facts query: $1 lo, $2 hi, $3 ids, $4 ats. The compiler
-- pastes it into every compiled rule set as a subquery (hp_compile_ruleset)
-- and colour_facts() runs it. It is pasted rather than called as an inlined
-- SQL function because Citus cannot plan a query into which the planner
-- inlined a SQL function over distributed tables ("parameterized queries
-- for SQL functions referencing distributed tables are not supported"); as
-- a subquery it plans the same on PostgreSQL and Citus routes it like any
-- other query (doc/citus.md).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_facts_sql() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $f$
    SELECT $q$    WITH req AS MATERIALIZED (
        SELECT r.person_id, r.at FROM unnest($3, $4) AS r(person_id, at)
    ), decl AS (
        SELECT DISTINCT ON (d.person_id)
               d.person_id, d.valid_until > r.at AS valid, d.valid_until,
               d.fever_today, d.contact_14d, d.travel_places, d.destination_city, d.temperature
          FROM healthpass.health_declaration d
          JOIN req r ON r.person_id = d.person_id
         WHERE d.person_id BETWEEN $1 AND $2 AND (cardinality($3) > 8 OR d.person_id = ANY ($3))
           AND d.declared_at <= r.at
         ORDER BY d.person_id, d.declared_at DESC, d.declaration_id DESC
    ), sample AS (
        SELECT DISTINCT ON (t.person_id, t.institution, t.sample_ref)
               t.person_id, t.sampled_at, t.result
          FROM healthpass.test_result t
          JOIN req r ON r.person_id = t.person_id
         WHERE t.person_id BETWEEN $1 AND $2 AND (cardinality($3) > 8 OR t.person_id = ANY ($3))
           AND t.recorded_at <= r.at
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
         WHERE m.person_id BETWEEN $1 AND $2 AND (cardinality($3) > 8 OR m.person_id = ANY ($3))
           AND m.recorded_at <= r.at
           AND (m.lifted_at IS NULL OR m.lifted_at > r.at)
           AND (m.valid_until IS NULL OR m.valid_until > r.at)
         GROUP BY m.person_id
    ), hc1 AS (
        SELECT h.person_id,
               max(h.sampled_at) FILTER (WHERE h.kind = 'test' AND h.test_type = 'naat' AND h.result = 'negative'
                                           AND h.sampled_at <= r.at
                                           AND h.sampled_at > r.at - healthpass.result_window()) AS negative_at,
               bool_or(h.kind = 'vaccination' AND h.dose_number >= h.dose_total) AS vaccination_complete
          FROM healthpass.hc1_record h
          JOIN req r ON r.person_id = h.person_id
         WHERE h.person_id BETWEEN $1 AND $2 AND (cardinality($3) > 8 OR h.person_id = ANY ($3))
           AND h.recorded_at <= r.at
         GROUP BY h.person_id
    ), recognised AS (
        SELECT t.person_id, max(t.colour_at) FILTER (WHERE t.colour_at <= r.at) AS green_at
          FROM healthpass.received_transfer t
          JOIN req r ON r.person_id = t.person_id
         WHERE t.person_id BETWEEN $1 AND $2 AND (cardinality($3) > 8 OR t.person_id = ANY ($3))
           AND t.received_at <= r.at AND t.colour = 'green'
         GROUP BY t.person_id
    )
    SELECT r.person_id AS person_id, r.at AS at,
           decl.person_id IS NOT NULL AS has_declaration,
           coalesce(decl.valid, false) AS declaration_valid,
           coalesce(NOT decl.valid, false) AS declaration_expired,
           coalesce(decl.valid AND decl.fever_today, false) AS fever_today,
           coalesce(decl.valid AND decl.contact_14d, false) AS contact_history,
           coalesce(decl.valid AND cardinality(decl.travel_places) > 0, false) AS travel_history,
           coalesce(decl.valid AND cardinality(decl.travel_places) > 0 AND EXISTS (
               SELECT 1 FROM unnest(decl.travel_places) AS pl(place)
                 JOIN healthpass.risk_area a ON starts_with(pl.place, a.place)
                WHERE a.declared_at <= r.at AND (a.lifted_at IS NULL OR a.lifted_at > r.at)), false) AS travel_risk_area,
           CASE WHEN decl.valid THEN decl.temperature END AS temperature,
           CASE WHEN decl.valid THEN decl.destination_city END AS destination_city,
           res.latest_result AS latest_result,
           res.last_negative_at AS last_negative_at,
           coalesce(mark.confirmed, false) AS mark_confirmed,
           coalesce(mark.suspected, false) AS mark_suspected,
           coalesce(mark.close_contact, false) AS mark_close_contact,
           coalesce(mark.secondary_contact, false) AS mark_secondary_contact,
           coalesce(mark.risk_area_arrival, false) AS mark_risk_area_arrival,
           hc1.negative_at AS foreign_negative_at,
           coalesce(hc1.vaccination_complete, false) AS foreign_vaccination_complete,
           recognised.green_at AS recognised_green_at,
           least(CASE WHEN decl.valid THEN decl.valid_until END, res.leaves_window, mark.next_change,
                 hc1.negative_at + healthpass.result_window()) AS next_change
      FROM req r
      LEFT JOIN decl ON decl.person_id = r.person_id
      LEFT JOIN res ON res.person_id = r.person_id
      LEFT JOIN mark ON mark.person_id = r.person_id
      LEFT JOIN hc1 ON hc1.person_id = r.person_id
      LEFT JOIN recognised ON recognised.person_id = r.person_id$q$::text
$f$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_facts_sql() IS
    'the text of the facts query, pasted into compiled rule sets and run by colour_facts (internal)';

-- Internal: the facts query as a function (tests and investigations).
CREATE OR REPLACE FUNCTION healthpass_internal.colour_facts(lo bigint, hi bigint, ids bigint[], ats timestamptz[])
    RETURNS TABLE (person_id bigint, at timestamptz,
                   has_declaration boolean, declaration_valid boolean, declaration_expired boolean,
                   fever_today boolean, contact_history boolean, travel_history boolean,
                   travel_risk_area boolean, temperature numeric, destination_city text,
                   latest_result text, last_negative_at timestamptz,
                   mark_confirmed boolean, mark_suspected boolean, mark_close_contact boolean,
                   mark_secondary_contact boolean, mark_risk_area_arrival boolean,
                   foreign_negative_at timestamptz, foreign_vaccination_complete boolean,
                   recognised_green_at timestamptz,
                   next_change timestamptz)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN QUERY EXECUTE healthpass_internal.hp_colour_facts_sql() USING lo, hi, ids, ats;
END
$$;
COMMENT ON FUNCTION healthpass_internal.colour_facts(bigint, bigint, bigint[], timestamptz[]) IS
    'facts of people at instants from what was recorded by then (internal; its query is pasted into compiled rule sets)';

-- Compiles one condition into a boolean SQL expression over the facts row
-- "f". Appends the instants at which a time-window test changes its answer
-- to boundaries. Raises 22023 for anything not in the grammar and 54000 when
-- it is too deep or too large.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_compile_condition(cond jsonb, path text, depth integer,
                                     INOUT nodes integer, INOUT boundaries text[],
                                     OUT sql text)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
            USING ERRCODE = 'program_limit_exceeded', DETAIL = 'Write a flatter condition with "all" or "any".';
    END IF;
    IF nodes > 100 THEN
        RAISE EXCEPTION 'condition has more than 100 parts at %', path
            USING ERRCODE = 'program_limit_exceeded', DETAIL = 'Split the condition into several rules.';
    END IF;
    IF cond IS NULL OR jsonb_typeof(cond) = 'null' THEN
        RAISE EXCEPTION 'condition at % is missing', path
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A condition is true, false or a JSON object.';
    END IF;
    IF jsonb_typeof(cond) = 'boolean' THEN
        sql := CASE WHEN cond::text = 'true' THEN 'true' ELSE 'false' END;
        RETURN;
    END IF;
    IF jsonb_typeof(cond) <> 'object' THEN
        RAISE EXCEPTION 'condition % at % is not an object', hp_quote(cond::text), path
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A condition is true, false or a JSON object.';
    END IF;
    SELECT array_agg(k ORDER BY k) INTO keys FROM jsonb_object_keys(cond) k;

    IF keys = ARRAY['all'] OR keys = ARRAY['any'] THEN
        key := keys[1];
        IF jsonb_typeof(cond->key) <> 'array' OR jsonb_array_length(cond->key) = 0 THEN
            RAISE EXCEPTION '"%" at % needs a non-empty array of conditions', key, path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Write {"%s": [condition, ...]}.', key);
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
        RAISE EXCEPTION 'condition % at % is not understood', hp_quote(cond::text), path
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A condition is {"fact": name, "op": operator, "value": value}, {"all": [...]}, {"any": [...]}, {"not": condition}, true or false.';
    END IF;

    SELECT * INTO fact FROM colour_fact c WHERE c.name = cond->>'fact';
    IF NOT FOUND OR jsonb_typeof(cond->'fact') <> 'string' THEN
        RAISE EXCEPTION 'unknown fact "%" at %', hp_quote(cond->>'fact'), path
            USING ERRCODE = 'invalid_parameter_value',
                  -- the catalogue's names no longer fit a detail of 300 characters
                  DETAIL = format('A condition names one of the %s facts colour_facts_catalogue() lists.',
                                  (SELECT count(*) FROM colour_fact c));
    END IF;
    col := 'f.' || quote_ident(fact.name);
    op := cond->>'op';
    val := cond->'value';
    IF op IS NULL THEN
        IF fact.type <> 'boolean' OR cond ? 'value' THEN
            RAISE EXCEPTION 'fact "%" at % needs an operator', fact.name, path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Only a boolean fact may stand alone, meaning "is true".';
        END IF;
        sql := format('coalesce(%s, false)', col);
        RETURN;
    END IF;
    IF op IN ('is_missing', 'is_present') THEN
        IF cond ? 'value' THEN
            RAISE EXCEPTION 'operator "%" at % takes no value', hp_quote(op), path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Write {"fact": name, "op": "is_missing"} or "is_present".';
        END IF;
        sql := format('(%s IS %sNULL)', col, CASE op WHEN 'is_present' THEN 'NOT ' ELSE '' END);
        RETURN;
    END IF;
    IF NOT cond ? 'value' THEN
        RAISE EXCEPTION 'operator "%" at % needs a value', hp_quote(op), path
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Write {"fact": name, "op": operator, "value": value}.';
    END IF;

    CASE fact.type
    WHEN 'boolean' THEN
        IF op NOT IN ('=', '<>') OR jsonb_typeof(val) <> 'boolean' THEN
            RAISE EXCEPTION 'fact "%" at % is compared with = or <> to true or false', fact.name, path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got operator "%s" and value %s.', hp_quote(op), hp_quote(val::text));
        END IF;
        sql := format('coalesce(%s %s %s, false)', col, op, val::text);
    WHEN 'numeric' THEN
        IF op NOT IN ('=', '<>', '<', '<=', '>', '>=') OR jsonb_typeof(val) <> 'number' THEN
            RAISE EXCEPTION 'fact "%" at % is compared with =, <>, <, <=, > or >= to a number', fact.name, path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got operator "%s" and value %s.', hp_quote(op), hp_quote(val::text));
        END IF;
        sql := format('coalesce(%s %s %L::numeric, false)', col, op, (val #>> '{}')::numeric);
    WHEN 'text' THEN
        IF op IN ('=', '<>') AND jsonb_typeof(val) = 'string' THEN
            IF length(val #>> '{}') > 200 THEN
                RAISE EXCEPTION 'value at % is too long', path
                    USING ERRCODE = 'program_limit_exceeded', DETAIL = 'A text value has at most 200 characters.';
            END IF;
            PERFORM hp_text(format('value at %s', path), val #>> '{}', 200);
            sql := format('coalesce(%s %s %L::text, false)', col, op, val #>> '{}');
        ELSIF op IN ('in', 'not_in') AND jsonb_typeof(val) = 'array' AND jsonb_array_length(val) > 0
              AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(val) e WHERE jsonb_typeof(e) <> 'string') THEN
            IF jsonb_array_length(val) > 50 THEN
                RAISE EXCEPTION 'value list at % has % entries', path, jsonb_array_length(val)
                    USING ERRCODE = 'program_limit_exceeded', DETAIL = 'A value list has at most 50 entries.';
            END IF;
            PERFORM hp_text(format('value at %s[%s]', path, o - 1), e, 200)
               FROM jsonb_array_elements_text(val) WITH ORDINALITY AS x(e, o);
            SELECT string_agg(quote_literal(e), ', ' ORDER BY o) INTO lit
              FROM jsonb_array_elements_text(val) WITH ORDINALITY AS x(e, o);
            sql := format('%scoalesce(%s = ANY (ARRAY[%s]::text[]), false)',
                          CASE op WHEN 'not_in' THEN 'NOT ' ELSE '' END, col, lit);
        ELSE
            RAISE EXCEPTION 'fact "%" at % is compared with = or <> to a string, or with in or not_in to a list of strings', fact.name, path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got operator "%s" and value %s.', hp_quote(op), hp_quote(val::text));
        END IF;
    WHEN 'timestamptz' THEN
        IF op NOT IN ('within', 'not_within') OR jsonb_typeof(val) <> 'string' THEN
            RAISE EXCEPTION 'fact "%" at % is tested with within or not_within and an interval such as "3 days"', fact.name, path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got operator "%s" and value %s.', hp_quote(op), hp_quote(val::text));
        END IF;
        BEGIN
            iv := (val #>> '{}')::interval;
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
            RAISE EXCEPTION 'interval "%" at % is not valid', hp_quote(val #>> '{}'), path
                USING ERRCODE = 'invalid_datetime_format', DETAIL = 'Write an interval such as "72 hours" or "7 days".';
        END;
        IF iv <= interval '0' OR iv > interval '366 days' THEN
            RAISE EXCEPTION 'interval "%" at % is out of range', hp_quote(val #>> '{}'), path
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A time window is longer than zero and at most 366 days.';
        END IF;
        sql := format('%scoalesce(%s > f.at - %L::interval, false)',
                      CASE op WHEN 'not_within' THEN 'NOT ' ELSE '' END, col, iv);
        boundaries := boundaries || format('%s + %L::interval', col, iv);
    END CASE;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_compile_condition(jsonb, text, integer, integer, text[]) IS
    'checks a rule condition and compiles it to SQL over the facts row f (internal)';

-- The SQL a condition compiles to: for administrators who want to see it.
CREATE OR REPLACE FUNCTION colour_condition_sql(condition jsonb) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN (hp_compile_condition(condition, '$', 1, 0, '{}')).sql;
END
$$;
COMMENT ON FUNCTION healthpass.colour_condition_sql(jsonb) IS 'checks a rule condition and shows the SQL it compiles to';

-- Makes a new rule set version from a list of rule ids, activates it now
-- and queues the re-colouring of everyone under it (hp_recolour_job_for,
-- 55_status.sql).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_activate_ruleset(rule_ids integer[], note text) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v integer;
    at timestamptz;
    ids integer[] := ARRAY(SELECT DISTINCT x FROM unnest(rule_ids) x WHERE x IS NOT NULL ORDER BY x);
BEGIN
    -- the version and the instant are read first: Citus takes no subquery
    -- in an INSERT's VALUES (colour_ruleset is a reference table there)
    SELECT coalesce(max(s.version), 0) + 1, greatest(now(), coalesce(max(s.activated_at), now()))
      INTO v, at FROM colour_ruleset s;
    BEGIN
        INSERT INTO colour_ruleset (version, activated_at, rule_ids, compiled, note)
        VALUES (v, at, ids, hp_compile_ruleset(ids), note);
    EXCEPTION WHEN unique_violation THEN
        -- the callers hold hp_current_ruleset(true)'s lock; only a version
        -- written directly, around that lock, can collide
        RAISE EXCEPTION 'rule set version % was made by another session at the same time', v
            USING ERRCODE = 'unique_violation', DETAIL = 'Rule set versions are made one at a time; run the change again.';
    END;
    PERFORM hp_recolour_job_for(v);
    RETURN v;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_activate_ruleset(integer[], text) IS 'new rule set version in force from now, re-colouring queued (internal)';

-- The rule set in force: the highest version (locked when asked, so that
-- rule changes are serialised).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_current_ruleset(lock boolean DEFAULT false) RETURNS colour_ruleset
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
COMMENT ON FUNCTION healthpass_internal.hp_current_ruleset(boolean) IS 'the latest rule set version (internal)';

-- Checks the parts of a rule; returns the trimmed reason.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_check_rule(colour health_colour, reason text, condition jsonb, priority integer) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    why text;
BEGIN
    IF colour IS NULL THEN
        RAISE EXCEPTION 'rule colour is missing'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A rule gives green, light_green, yellow or red.';
    END IF;
    -- people read the reason: one line of at most 200 characters (hp_text:
    -- 54000 when longer, 22023 for control or bidi characters)
    why := hp_text('rule reason', reason, 200);
    IF why IS NULL THEN
        RAISE EXCEPTION 'rule reason "%" is not valid', hp_quote(coalesce(reason, ''))
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A reason is 1 to 200 characters without control characters; people read it.';
    END IF;
    IF priority IS NULL OR priority NOT BETWEEN 0 AND 100000 THEN
        RAISE EXCEPTION 'rule priority % is out of range', priority
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Priorities run from 0 (listed first) to 100000.';
    END IF;
    PERFORM hp_compile_condition(condition, '$', 1, 0, '{}');
    RETURN why;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_check_rule(health_colour, text, jsonb, integer) IS 'checks a rule (internal)';

-- Stores a checked rule and returns its id. The id comes from the sequence;
-- a rule written directly with an id the sequence has not reached yet makes
-- the insert collide: 23505 in the project's words, not a bare duplicate key.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_insert_rule(colour health_colour, reason text, priority integer, condition jsonb)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    id integer;
BEGIN
    INSERT INTO colour_rule AS r (colour, reason, priority, condition)
    VALUES (hp_insert_rule.colour, hp_insert_rule.reason, hp_insert_rule.priority, hp_insert_rule.condition)
    RETURNING r.rule_id INTO id;
    RETURN id;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'colour rule id % is taken by a rule written directly',
            currval(pg_get_serial_sequence('healthpass.colour_rule', 'rule_id'))
        USING ERRCODE = 'unique_violation',
              DETAIL = format('The rule ids run up to %s; rules are added with add_colour_rule.',
                              (SELECT max(r.rule_id) FROM colour_rule r)),
              HINT = 'Move the sequence past them: SELECT setval(pg_get_serial_sequence(''healthpass.colour_rule'', ''rule_id''), max(rule_id)) FROM healthpass.colour_rule;';
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_insert_rule(health_colour, text, integer, jsonb) IS 'stores a checked rule; 23505 when its id is taken (internal)';

CREATE OR REPLACE FUNCTION add_colour_rule(colour health_colour, reason text, condition jsonb,
                                priority integer DEFAULT 1000) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    cur colour_ruleset := hp_current_ruleset(true);
    why text := hp_check_rule(colour, reason, condition, priority);
    id integer;
BEGIN
    id := hp_insert_rule(add_colour_rule.colour, why, add_colour_rule.priority, add_colour_rule.condition);
    PERFORM hp_activate_ruleset(cur.rule_ids || id, format('add rule %s', id));
    RETURN id;
END
$$;
COMMENT ON FUNCTION healthpass.add_colour_rule(health_colour, text, jsonb, integer) IS
    'add a colour rule; returns its id; a new rule set version is in force at once and a re-colouring job is queued';

CREATE OR REPLACE FUNCTION replace_colour_rule(rule_id integer, colour health_colour, reason text,
                                    condition jsonb, priority integer DEFAULT 1000) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    cur colour_ruleset := hp_current_ruleset(true);
    why text := hp_check_rule(colour, reason, condition, priority);
    id integer;
BEGIN
    IF replace_colour_rule.rule_id IS NULL OR NOT replace_colour_rule.rule_id = ANY (cur.rule_ids) THEN
        RAISE EXCEPTION 'colour rule % is not in force', replace_colour_rule.rule_id
            USING ERRCODE = 'no_data_found', DETAIL = format('The rules in force are %s.', array_to_string(cur.rule_ids, ', '));
    END IF;
    id := hp_insert_rule(replace_colour_rule.colour, why, replace_colour_rule.priority, replace_colour_rule.condition);
    PERFORM hp_activate_ruleset(array_remove(cur.rule_ids, replace_colour_rule.rule_id) || id,
                                format('replace rule %s by %s', replace_colour_rule.rule_id, id));
    RETURN id;
END
$$;
COMMENT ON FUNCTION healthpass.replace_colour_rule(integer, health_colour, text, jsonb, integer) IS
    'replace a rule in force by a new one; returns the new rule id; the old one stays in the history';

CREATE OR REPLACE FUNCTION retire_colour_rule(rule_id integer) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    cur colour_ruleset := hp_current_ruleset(true);
BEGIN
    IF retire_colour_rule.rule_id IS NULL OR NOT retire_colour_rule.rule_id = ANY (cur.rule_ids) THEN
        RAISE EXCEPTION 'colour rule % is not in force', retire_colour_rule.rule_id
            USING ERRCODE = 'no_data_found', DETAIL = format('The rules in force are %s.', array_to_string(cur.rule_ids, ', '));
    END IF;
    RETURN hp_activate_ruleset(array_remove(cur.rule_ids, retire_colour_rule.rule_id),
                               format('retire rule %s', retire_colour_rule.rule_id));
END
$$;
COMMENT ON FUNCTION healthpass.retire_colour_rule(integer) IS
    'take a rule out of force; returns the new rule set version';

CREATE OR REPLACE FUNCTION colour_rules(version integer DEFAULT NULL)
    RETURNS TABLE (rule_id integer, priority integer, colour health_colour, reason text,
                   condition jsonb, created_at timestamptz, created_by name)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
                USING ERRCODE = 'no_data_found', DETAIL = 'See colour_rulesets() for the versions.';
        END IF;
    END IF;
    RETURN QUERY
        SELECT r.rule_id, r.priority, r.colour, r.reason, r.condition, r.created_at, r.created_by
          FROM colour_rule r WHERE r.rule_id = ANY (ids)
         ORDER BY r.priority, r.rule_id;
END
$$;
COMMENT ON FUNCTION healthpass.colour_rules(integer) IS 'the rules of a rule set version (default: in force), by priority';

CREATE OR REPLACE FUNCTION colour_rulesets()
    RETURNS TABLE (version integer, activated_at timestamptz, rule_ids integer[], note text, created_by name)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT s.version, s.activated_at, s.rule_ids, s.note, s.created_by
      FROM colour_ruleset s ORDER BY s.version
$$;
COMMENT ON FUNCTION healthpass.colour_rulesets() IS 'every rule set version, oldest first';

CREATE OR REPLACE FUNCTION colour_facts_catalogue()
    RETURNS TABLE (name text, type text, description text)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT c.name, c.type, c.description FROM colour_fact c ORDER BY c.name
$$;
COMMENT ON FUNCTION healthpass.colour_facts_catalogue() IS 'the facts colour-rule conditions may use, with their types';

GRANT EXECUTE ON FUNCTION
    healthpass.add_colour_rule(health_colour, text, jsonb, integer),
    healthpass.replace_colour_rule(integer, health_colour, text, jsonb, integer),
    healthpass.retire_colour_rule(integer)
    TO healthpass_admin;
GRANT EXECUTE ON FUNCTION
    healthpass.colour_condition_sql(jsonb),
    healthpass.colour_rules(integer),
    healthpass.colour_rulesets(),
    healthpass.colour_facts_catalogue()
    TO healthpass_admin, healthpass_health, healthpass_report;

-- Every rule set (the shipped version 1 and every one an administrator
-- made) is compiled here, on install and on every upgrade, so its stored
-- query always names this version's functions (0.2.0 moved colour_facts to
-- healthpass_internal) and uses this version's compiler. The rules a set
-- lists never change, so the colours it gives stay the same.
UPDATE colour_ruleset SET compiled = hp_compile_ruleset(rule_ids);

-- ===== sql/schema/55_status.sql
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
-- (created once: later changes go to sql/updates/)

CREATE TABLE colour_current (
    person_id  bigint PRIMARY KEY,
    colour     health_colour NOT NULL,
    rule_ids   integer[] NOT NULL,
    since      timestamptz NOT NULL,
    ruleset    integer NOT NULL,
    recheck_at timestamptz
) WITH (fillfactor = 80);
COMMENT ON TABLE healthpass.colour_current IS
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
CREATE FUNCTION healthpass_internal.period_box(person_id bigint, since timestamptz, until timestamptz) RETURNS box
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN box(point(person_id, extract(epoch FROM since - timestamptz '1970-01-01 00:00:00+00') * 1000000),
               point(person_id, extract(epoch FROM until - timestamptz '1970-01-01 00:00:00+00') * 1000000 - 1));
COMMENT ON FUNCTION healthpass_internal.period_box(bigint, timestamptz, timestamptz) IS
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
COMMENT ON TABLE healthpass.colour_history IS 'earlier colour periods [since, until) of each person; periods of one person never overlap';
SELECT pg_catalog.pg_extension_config_dump('colour_history', '');

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
COMMENT ON TABLE healthpass.recolour_job IS 're-colouring jobs: bring everyone to a rule set version, chunk by chunk';
SELECT pg_catalog.pg_extension_config_dump('recolour_job', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.recolour_job', 'job_id'), '');

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
COMMENT ON TABLE healthpass.recolour_chunk IS 'chunks of consecutive person ids of a re-colouring job';
SELECT pg_catalog.pg_extension_config_dump('recolour_chunk', '');

-- ===== sql/api/55_status.sql
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
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- The rule set version in force at an instant.
-- (PL/pgSQL, like the other small look-ups on hot paths: its plan is kept
-- for the session, where a SQL function with a SET clause is planned again
-- at every call)
CREATE OR REPLACE FUNCTION healthpass_internal.hp_ruleset_at(at timestamptz) RETURNS integer
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN (SELECT s.version FROM colour_ruleset s WHERE s.activated_at <= at
             ORDER BY s.activated_at DESC, s.version DESC LIMIT 1);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_ruleset_at(timestamptz) IS 'rule set version in force at an instant (internal)';

-- The reason texts of a list of rule ids, in order.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_reasons(rule_ids integer[]) RETURNS text[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF cardinality(rule_ids) = 0 THEN
        RETURN ARRAY['no colour rule applies: check the person'];
    END IF;
    RETURN ARRAY(SELECT r.reason FROM unnest(rule_ids) WITH ORDINALITY AS u(id, n)
                   JOIN colour_rule r ON r.rule_id = u.id ORDER BY u.n);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_reasons(integer[]) IS 'reason texts of rule ids, in order (internal)';

-- The colour functions keep generic plans of their prepared statements for
-- a few people (force_generic_plan in their SET clause). On Citus they are
-- planned for their values instead: Citus cannot make a generic plan of a
-- distributed query with parameters. Called first thing in those functions,
-- whose own SET clause ends this setting with them.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_plans_on_cluster() RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
BEGIN
    IF current_setting('citus.version', true) IS NOT NULL THEN
        PERFORM pg_catalog.set_config('plan_cache_mode', 'auto', true);
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_plans_on_cluster() IS
    'on a Citus node, plans for values in the calling colour function (internal)';

-- Computes the colour of people at instants with rule set version v and
-- writes the result: a changed colour closes the current period into the
-- history and starts a new one at the instant; an unchanged colour only
-- records the version and the next re-check. Short lists of people are
-- locked first; they are also named with person_id = ANY next to every
-- range, which is what Citus prunes a hash-distributed table by: one
-- person's re-colouring reads and writes that person's shard only, and can
-- run in a row trigger on it (doc/citus.md). Without the lock (bulk batches), a person whose current row
-- another session changed meanwhile is left alone (the update re-checks
-- that the row is still the one read), and so is a request older than the
-- person's current period: the job's final sweep or the next read catches
-- them up. Returns the number of people whose colour changed or who got
-- their first colour.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_apply(v integer, lo bigint, hi bigint, ids bigint[], ats timestamptz[],
                                lock_first boolean)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
    SET jit = off
    SET work_mem = '64MB'
    SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    q text;
    n bigint;
    stmt text;
    one text := format('hp_colour_apply_v%s', v);
BEGIN
    PERFORM hp_colour_plans_on_cluster();
    IF lock_first THEN
        EXECUTE 'SELECT count(*) FROM (SELECT 1 FROM healthpass.colour_current c
                   WHERE c.person_id BETWEEN $1 AND $2 AND c.person_id IN (SELECT unnest($3))
                     AND (cardinality($3) > 8 OR c.person_id = ANY ($3))
                   ORDER BY c.person_id FOR UPDATE OF c) l'
           INTO n USING lo, hi, ids;
    END IF;
    -- A few people (a declaration, a result, a code): the statement is
    -- prepared once per session and rule set version, so it is not planned
    -- again each time (planning the compiled rule set costs milliseconds).
    -- A bulk batch plans its own statement for its range.
    IF cardinality(ids) <= 8 AND EXISTS (SELECT 1 FROM pg_prepared_statements p WHERE p.name = one) THEN
        EXECUTE format('EXECUTE %I(%L, %L, %L, %L, %L)', one, lo, hi, ids, ats, v) INTO n;
        RETURN n;
    END IF;
    SELECT s.compiled INTO STRICT q FROM colour_ruleset s WHERE s.version = v;
    stmt := format($sql$
        WITH ev AS MATERIALIZED (
            SELECT e.person_id, e.at, e.colour, e.rule_ids, e.recheck_at,
                   c.person_id IS NULL AS fresh,
                   c.since AS cur_since, c.colour AS cur_colour,
                   c.rule_ids AS cur_rule_ids, c.ruleset AS cur_ruleset,
                   (c.colour, c.rule_ids) IS DISTINCT FROM (e.colour, e.rule_ids) AS changed,
                   c.ruleset IS DISTINCT FROM $5 OR c.recheck_at IS DISTINCT FROM e.recheck_at AS touched
              FROM (%s) e
              LEFT JOIN healthpass.colour_current c ON c.person_id = e.person_id
                        AND (cardinality($3) > 8 OR c.person_id = ANY ($3))
             WHERE c.person_id IS NULL OR e.at >= c.since
        ), kept AS (
            UPDATE healthpass.colour_current c
               SET colour = ev.colour, rule_ids = ev.rule_ids,
                   since = CASE WHEN ev.changed THEN ev.at ELSE c.since END,
                   ruleset = $5, recheck_at = ev.recheck_at
              FROM ev
             WHERE c.person_id = ev.person_id AND NOT ev.fresh AND (ev.changed OR ev.touched)
               AND (cardinality($3) > 8 OR c.person_id = ANY ($3))
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
    $sql$, q);
    IF cardinality(ids) <= 8 THEN
        EXECUTE format('PREPARE %I(bigint, bigint, bigint[], timestamptz[], integer) AS %s', one, stmt);
        EXECUTE format('EXECUTE %I(%L, %L, %L, %L, %L)', one, lo, hi, ids, ats, v) INTO n;
        RETURN n;
    END IF;
    EXECUTE stmt INTO n USING lo, hi, ids, ats, v;
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_apply(integer, bigint, bigint, bigint[], timestamptz[], boolean) IS
    'evaluate people at instants with a rule set version and write current and history (internal)';

-- Brings people's materialised colours up to an instant: first colours at
-- registration, then every change that was due by then (re-check times and
-- rule set activations), in rounds, set-wise, each with the rule set in
-- force at its instant. ids NULL means everyone in [lo, hi].
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_advance(lo bigint, hi bigint, ids bigint[], upto timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
    SET jit = off
    SET work_mem = '64MB'
    SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    g record;
    total bigint := 0;
    any_due boolean;
    rounds integer := 0;
    q text;
    small boolean := ids IS NOT NULL AND cardinality(ids) <= 8;
    -- who is due: everyone in [lo, hi] (bulk batches: range scans), or the
    -- listed people (joined, so that long lists stay cheap; a short list by
    -- person_id = ANY, which Citus prunes to the people's shards, and on
    -- every table the query reads: hp_colour_apply)
    scope text := CASE WHEN ids IS NULL THEN 'true'
                       WHEN cardinality(ids) > 8 THEN 'x.person_id IN (SELECT unnest($3::bigint[]))'
                       ELSE 'x.person_id = ANY ($3::bigint[])' END;
    within text := CASE WHEN ids IS NOT NULL AND cardinality(ids) <= 8
                        THEN 'c.person_id = ANY ($3::bigint[])' ELSE 'true' END;
BEGIN
    PERFORM hp_colour_plans_on_cluster();
    LOOP
        any_due := false;
        rounds := rounds + 1;
        -- a bulk batch is planned for its actual range every time; the
        -- statement for a few people is prepared once per session and its
        -- generic plan kept (one person's index look-ups, whoever it is)
        IF small AND EXISTS (SELECT 1 FROM pg_prepared_statements p WHERE p.name = 'hp_colour_advance_few') THEN
            q := format('EXECUTE hp_colour_advance_few(%L, %L, %L, %L)', lo, hi, ids, upto);
        ELSE
            q := format($sql$
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
                                    WHERE c.person_id = x.person_id AND c.person_id BETWEEN $1 AND $2
                                      AND %2$s)
            )
            SELECT rs.version,
                   min(due.person_id) AS lo, max(due.person_id) AS hi,
                   array_agg(due.person_id ORDER BY due.person_id) AS ids,
                   array_agg(due.at ORDER BY due.person_id) AS ats
              FROM due
              JOIN rs ON due.at >= rs.activated_at AND (rs.next_at IS NULL OR due.at < rs.next_at)
             GROUP BY rs.version
             ORDER BY rs.version
            $sql$, scope, within);
            IF small THEN
                EXECUTE format('PREPARE hp_colour_advance_few(bigint, bigint, bigint[], timestamptz) AS %s', q);
                q := format('EXECUTE hp_colour_advance_few(%L, %L, %L, %L)', lo, hi, ids, upto);
            END IF;
        END IF;
        FOR g IN EXECUTE q USING lo, hi, ids, upto
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
COMMENT ON FUNCTION healthpass_internal.hp_colour_advance(bigint, bigint, bigint[], timestamptz) IS
    'materialise first colours and every due change up to an instant (internal)';

-- Re-colours people now. Without force, only what is due (first colours,
-- re-checks, rule sets); with force (their inputs just changed), also a
-- fresh evaluation at the current instant.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_refresh(ids bigint[], force boolean) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
                       AND c.person_id IN (SELECT unnest(ids))
                       AND (cardinality(ids) > 8 OR c.person_id = ANY (ids))) t
             GROUP BY 1
        LOOP
            n := n + hp_colour_apply(g.version, g.lo, g.hi, g.ids, g.ats, true);
        END LOOP;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_refresh(bigint[], boolean) IS 're-colour people now (internal)';

-- Row trigger: a declaration, result or mark of a person changed; re-colour
-- that person (and only that person) in the same transaction.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_recolour_trigger() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    PERFORM hp_colour_refresh(ARRAY[NEW.person_id], true);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_recolour_trigger() IS 'row trigger: re-colour the person whose input changed';

CREATE OR REPLACE TRIGGER health_declaration_recolour AFTER INSERT ON health_declaration
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_recolour_trigger();
CREATE OR REPLACE TRIGGER test_result_recolour AFTER INSERT ON test_result
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_recolour_trigger();
CREATE OR REPLACE TRIGGER risk_mark_recolour AFTER INSERT OR UPDATE ON risk_mark
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_recolour_trigger();

-- Computes (without writing) the colour of one person at an instant.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_compute(pid bigint, at timestamptz,
                                  OUT colour health_colour, OUT rule_ids integer[], OUT recheck_at timestamptz)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
COMMENT ON FUNCTION healthpass_internal.hp_colour_compute(bigint, timestamptz) IS 'colour of a person at an instant, computed without writing (internal)';

CREATE OR REPLACE FUNCTION colour_status(person_id bigint, at timestamptz DEFAULT now())
    RETURNS TABLE (colour health_colour, reasons text[], rule_ids integer[],
                   since timestamptz, until timestamptz, source text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(colour_status.person_id);
    t timestamptz := hp_past_instant('instant', at);
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
COMMENT ON FUNCTION healthpass.colour_status(bigint, timestamptz) IS
    'colour of a person at an instant (default now) with reasons and, when known, the period; no row before registration';

CREATE OR REPLACE FUNCTION colour_at(person_id bigint, at timestamptz) RETURNS health_colour
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT s.colour FROM colour_status(person_id, at) s
$$;
COMMENT ON FUNCTION healthpass.colour_at(bigint, timestamptz) IS
    'the colour a person had at an instant (NULL before registration)';

-- A person's periods overlapping [from_at, to_at], oldest first, after
-- materialising everything due up to now.
CREATE OR REPLACE FUNCTION colour_history(person_id bigint,
                               from_at timestamptz DEFAULT '-infinity', to_at timestamptz DEFAULT 'infinity')
    RETURNS TABLE (since timestamptz, until timestamptz, colour health_colour, reasons text[],
                   rule_ids integer[], ruleset integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(colour_history.person_id);
BEGIN
    IF from_at IS NULL OR to_at IS NULL OR from_at > to_at THEN
        RAISE EXCEPTION 'period "%" to "%" is not valid', from_at, to_at
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'The period starts before it ends.';
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
COMMENT ON FUNCTION healthpass.colour_history(bigint, timestamptz, timestamptz) IS
    'a person''s colour periods overlapping a time span, oldest first; the current one has until NULL';

-- The colour now with everything an app page shows next to it.
CREATE OR REPLACE FUNCTION health_status(person_id bigint)
    RETURNS TABLE (colour health_colour, meaning text, reasons text[], since timestamptz,
                   declaration_valid_until timestamptz, latest_result text,
                   latest_sampled_at timestamptz, last_negative_at timestamptz)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
COMMENT ON FUNCTION healthpass.health_status(bigint) IS
    'the colour now, its meaning, reasons and since, the declaration''s end, the latest result and last negative test';

-- Materialises every change whose instant has passed (declarations lapsing,
-- marks starting and ending, tests leaving the window), for at most
-- max_people people at a time; returns the number of colours that changed.
-- Schedule it every minute (pg_cron: SELECT cron.schedule('healthpass-tick',
-- '* * * * *', 'SELECT healthpass.colour_tick()')).
CREATE OR REPLACE FUNCTION colour_tick(max_people integer DEFAULT 10000) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    ids bigint[];
    n bigint := 0;
BEGIN
    IF max_people IS NULL OR max_people NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION 'max_people % is out of range', max_people
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A tick handles 1 to 1000000 people.';
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
COMMENT ON FUNCTION healthpass.colour_tick(integer) IS
    'materialise colour changes whose time has come (schedule every minute); returns how many colours changed';

-- The chunk size of jobs queued by rule changes.
CREATE OR REPLACE FUNCTION recolour_chunk_size() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 50000;
COMMENT ON FUNCTION healthpass.recolour_chunk_size() IS 'people per chunk of a re-colouring job (50000)';

-- Queues a job for rule set version v, cut into chunks; unfinished older
-- jobs are superseded (the new job brings everyone to the newest rules).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_recolour_job_for(v integer, chunk integer DEFAULT recolour_chunk_size()) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    id bigint;
    job_note text;
BEGIN
    LOCK TABLE recolour_job IN SHARE ROW EXCLUSIVE MODE;
    UPDATE recolour_job j SET state = 'superseded', finished_at = now()
     WHERE j.state = 'queued' AND j.version < v;
    SELECT j.job_id INTO id FROM recolour_job j WHERE j.state = 'queued' AND j.version = v;
    IF FOUND THEN
        RETURN id;
    END IF;
    -- the note is read first: Citus takes no subquery in an INSERT's VALUES
    SELECT s.note INTO job_note FROM colour_ruleset s WHERE s.version = v;
    INSERT INTO recolour_job AS j (version, note)
    VALUES (v, job_note)
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
COMMENT ON FUNCTION healthpass_internal.hp_recolour_job_for(integer, integer) IS 'queue a re-colouring job for a rule set version (internal)';

CREATE OR REPLACE FUNCTION recolour_start(chunk_size integer DEFAULT recolour_chunk_size()) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF chunk_size IS NULL OR chunk_size NOT BETWEEN 100 AND 1000000 THEN
        RAISE EXCEPTION 'chunk size % is out of range', chunk_size
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A chunk has 100 to 1000000 people.';
    END IF;
    RETURN hp_recolour_job_for((hp_current_ruleset(false)).version, chunk_size);
END
$$;
COMMENT ON FUNCTION healthpass.recolour_start(integer) IS
    'queue (or find) the job that brings everyone to the rules in force; returns its id';

-- Progress of one job, from its chunks.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_job_progress(id bigint,
    OUT done bigint, OUT total bigint, OUT changed bigint, OUT started_at timestamptz, OUT last_done_at timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT coalesce(sum(c.people) FILTER (WHERE c.state = 'done'), 0)::bigint,
           coalesce(sum(c.people), 0)::bigint,
           coalesce(sum(c.changed), 0)::bigint,
           min(c.started_at), max(c.done_at)
      FROM recolour_chunk c WHERE c.job_id = id
$$;
COMMENT ON FUNCTION healthpass_internal.hp_job_progress(bigint) IS 'people done, total and colours changed of a job (internal)';

-- One unit of work on a job: the next queued chunk, or when none is left
-- the final sweep. finished is true when this caller found nothing more to
-- do (the job is done, superseded, or its last chunks are being worked on
-- by other sessions).
CREATE OR REPLACE FUNCTION recolour_step(job bigint)
    RETURNS TABLE (job_id bigint, state text, done bigint, total bigint, changed bigint, finished boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
            USING ERRCODE = 'no_data_found', DETAIL = 'Jobs are named by the id recolour_start returned.';
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
COMMENT ON FUNCTION healthpass.recolour_step(bigint) IS
    'run one chunk of a re-colouring job (several sessions may run steps at once); returns progress and whether this caller is finished';

-- Progress of jobs (default: the queued ones and the latest finished one).
CREATE OR REPLACE FUNCTION recolour_progress(job bigint DEFAULT NULL)
    RETURNS TABLE (job_id bigint, version integer, note text, state text, done bigint, total bigint,
                   percent numeric, changed bigint, created_at timestamptz, started_at timestamptz,
                   finished_at timestamptz, people_per_second numeric)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
COMMENT ON FUNCTION healthpass.recolour_progress(bigint) IS
    'progress of re-colouring jobs: people done of total, percent, colours changed, rate';

-- Runs the job to the rules in force in this transaction, reporting each
-- chunk as a NOTICE. For small installations and tests; large ones use
-- recolour_run, which commits after every chunk.
CREATE OR REPLACE FUNCTION recolour_all() RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
COMMENT ON FUNCTION healthpass.recolour_all() IS
    'run the re-colouring job to the rules in force in this transaction (NOTICE per chunk); returns colours changed';

-- Works on a job chunk by chunk, committing after each, so other sessions
-- see the progress (recolour_progress) and finished chunks survive an
-- interruption; run it in several sessions at once to use several cores.
-- CALL it outside a transaction block. SECURITY INVOKER: it only calls the
-- granted functions.
CREATE OR REPLACE PROCEDURE recolour_run(job bigint DEFAULT NULL)
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
COMMENT ON PROCEDURE healthpass.recolour_run(bigint) IS
    'CALL outside a transaction: work on a re-colouring job (default: to the rules in force), committing after each chunk';

-- Re-colours at once the people whose declaration in force lists a place
-- in (or containing) the given area; NOTICE per batch. Internal: called by
-- declare_risk_area and lift_risk_area, which hold off new declarations.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_recolour_place(area text) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
COMMENT ON FUNCTION healthpass_internal.hp_recolour_place(text) IS 're-colour the people a risk area affects (internal)';

-- Scanners learn a colour only from what a person shows them (a code, or
-- name + ID number + phone at a manual check), never by person id: like
-- health_status, the colour functions are not theirs.
GRANT EXECUTE ON FUNCTION
    healthpass.colour_status(bigint, timestamptz),
    healthpass.colour_at(bigint, timestamptz)
    TO healthpass_app, healthpass_health, healthpass_admin, healthpass_report;
GRANT EXECUTE ON FUNCTION
    healthpass.colour_history(bigint, timestamptz, timestamptz),
    healthpass.health_status(bigint)
    TO healthpass_app, healthpass_health, healthpass_admin;
GRANT EXECUTE ON FUNCTION
    healthpass.colour_tick(integer),
    healthpass.recolour_start(integer),
    healthpass.recolour_step(bigint),
    healthpass.recolour_all()
    TO healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.recolour_progress(bigint) TO healthpass_admin, healthpass_report;
GRANT EXECUTE ON PROCEDURE healthpass.recolour_run(bigint) TO healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.recolour_chunk_size() TO healthpass_admin, healthpass_report;

-- ===== sql/api/56_codes.sql
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

-- ===== sql/schema/60_venues.sql
-- 60_venues.sql: venues, their staff and their printed venue codes
-- (seed 004 一.1-3).
--
-- A registered person (the manager) registers a venue under an identifier:
-- the organisation's unified social credit code or organisation code, else
-- the manager's own resident ID number, or a vehicle's plate. The manager
-- adds staff (registered people) who scan for the venue. The venue code is
-- a long-lived HP1 token of kind "venue" printed on a poster at the door;
-- the ledger venue_code_issued lets an edit or a suspension revoke it.
--
-- Citus: venue, venue_staff, venue_code_issued (and the two history
-- tables) are small shared data read on every scan by venue id, and by
-- person id for "my venues": reference tables, so the scan path (whatever
-- key the scans are distributed by) reads them on the node it runs on. The
-- licence images are their only bulk (doc/venues.md, "Design notes").
-- (created once: later changes go to sql/updates/)

CREATE TABLE venue (
    venue_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id_kind      text NOT NULL CHECK (id_kind IN ('uscc', 'org_code', 'cn_resident_id', 'plate')),
    id_number    text NOT NULL,      -- normalised by normalize_document
    name         text NOT NULL,
    street       text NOT NULL,      -- 街道
    address      text NOT NULL,
    phone        text NOT NULL,
    image_type   text NOT NULL CHECK (image_type IN ('image/jpeg', 'image/png')),
    image        bytea NOT NULL,     -- licence, or vehicle photo for a plate
    manager_id   bigint NOT NULL,    -- person_id of the registering person
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
    status_reason text,              -- why the status last changed
    negative_test_hours integer CHECK (negative_test_hours BETWEEN 1 AND 168),
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id_kind, id_number, name),
    CONSTRAINT venue_status_reason CHECK (status = 'active' OR status_reason IS NOT NULL)
);
COMMENT ON TABLE healthpass.venue IS
    'venues (seed 004): identifier, name, street, address, phone, licence or vehicle photo, manager, status';
-- "my venues" of a manager
CREATE INDEX venue_manager ON venue (manager_id);

-- earlier versions of a venue row (edits and status changes); the image is
-- kept as its digest (hp_venue_history_slim)
CREATE TABLE venue_history (
    venue_id   bigint NOT NULL,
    version    integer NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (venue_id, version)
);
COMMENT ON TABLE healthpass.venue_history IS 'earlier versions of venue rows (data is the row as it was, the image as its SHA-256)';

-- the people who scan for a venue besides its manager; a person may serve
-- several venues
CREATE TABLE venue_staff (
    venue_id   bigint NOT NULL,
    person_id  bigint NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue_id, person_id)
);
COMMENT ON TABLE healthpass.venue_staff IS 'staff a venue''s manager added (registered people whose name matched)';
-- "my venues" of a staff member
CREATE INDEX venue_staff_person ON venue_staff (person_id);

-- staff that were removed, and when
CREATE TABLE venue_staff_history (
    venue_id   bigint NOT NULL,
    person_id  bigint NOT NULL,
    added_at   timestamptz NOT NULL,
    removed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue_id, person_id, added_at)
);
COMMENT ON TABLE healthpass.venue_staff_history IS 'former staff of a venue: when they were added and removed';

-- Every venue code issued and not yet expired or revoked, so that a change
-- of what the poster shows, a suspension or a closing revokes it. The
-- token is kept: venue_code hands out the same code until it nears expiry.
CREATE TABLE venue_code_issued (
    venue_id   bigint NOT NULL,
    token_id   bytea NOT NULL,
    kid        bytea NOT NULL,
    token      text NOT NULL,
    version    integer NOT NULL,     -- the venue version the code was issued for
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (venue_id, token_id)
);
COMMENT ON TABLE healthpass.venue_code_issued IS 'venue codes issued and not yet expired or revoked (the ledger revocation works from)';

SELECT pg_catalog.pg_extension_config_dump('venue', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.venue', 'venue_id'), '');
SELECT pg_catalog.pg_extension_config_dump('venue_history', '');
SELECT pg_catalog.pg_extension_config_dump('venue_staff', '');
SELECT pg_catalog.pg_extension_config_dump('venue_staff_history', '');
SELECT pg_catalog.pg_extension_config_dump('venue_code_issued', '');

-- ===== sql/api/60_venues.sql
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

-- ===== sql/schema/61_scans.sql
-- 61_scans.sql: scans at venues (seed 004 一.4-6 and 四), the admission
-- rules, alerts for red codes and the checks staff record.
--
-- The scan history is partitioned by day (native range partitioning on
-- scanned_at). Partitions are not created here but by scan_maintenance()
-- (and by the first scan of a day that has none), so they are ordinary
-- tables of the database: pg_dump carries their rows, and dropping a day
-- past the retention is one DROP TABLE. Compact codes keep a scan narrow:
--   method     s self-scan of the venue poster, t staff scanned a code,
--              m staff manual check
--   code_kind  h health, p personal or family, e e-pass, n entry (NULL for
--              a self-scan or a manual check)
--   decision   a admit, c check first, r refuse, d declare first
--   test       the latest nucleic-acid result shown: n negative,
--              p positive, w pending (waiting), NULL none within 14 days
-- Scans are keyed by venue and time: the hot queries (who was at a venue
-- around an instant, a venue's day) read one venue's range; a person's own
-- scans have their own index. For Citus the table is distributed by
-- venue_id (see doc/venues.md).
-- (created once: later changes go to sql/updates/)

CREATE TABLE scan (
    scanned_at      timestamptz NOT NULL,   -- whole seconds
    venue_id        bigint NOT NULL,
    person_id       bigint NOT NULL,
    staff_id        bigint,
    method          "char" NOT NULL CHECK (method IN ('s', 't', 'm')),
    code_kind       "char" CHECK (code_kind IN ('h', 'p', 'e', 'n')),
    colour          health_colour NOT NULL,
    decision        "char" NOT NULL CHECK (decision IN ('a', 'c', 'r', 'd')),
    test            "char" CHECK (test IN ('n', 'p', 'w')),
    test_sampled_at timestamptz,
    token_id        bytea                    -- the code shown (a replay is recorded, not refused)
) PARTITION BY RANGE (scanned_at);
COMMENT ON TABLE healthpass.scan IS
    'every scan at a venue: who, where, when, how, the colour and test shown and the decision; partitioned by day';
-- The indexes are each day partition's own (hp_scan_partition makes them):
-- a partitioned index on this table would be re-created automatically when
-- a restore attaches a dumped partition, and collide with the partition's
-- dumped index.

-- What staff recorded after a "check first" decision (seed 004: yellow,
-- pass after a check such as the temperature).
CREATE TABLE scan_check (
    venue_id    bigint NOT NULL,
    scanned_at  timestamptz NOT NULL,
    person_id   bigint NOT NULL,
    staff_id    bigint NOT NULL,
    temperature numeric(3,1),
    admitted    boolean NOT NULL,
    note        text,
    checked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue_id, scanned_at, person_id)
);
COMMENT ON TABLE healthpass.scan_check IS 'the check staff made after a "check first" decision, and whether they admitted';
SELECT pg_catalog.pg_extension_config_dump('scan_check', '');

-- A red code at a venue raises an alert for the health authority.
CREATE TABLE venue_alert (
    alert_id        bigint GENERATED ALWAYS AS IDENTITY,
    venue_id        bigint NOT NULL,
    person_id       bigint NOT NULL,
    scanned_at      timestamptz NOT NULL,
    colour          health_colour NOT NULL,
    raised_at       timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    acknowledged_by name,
    PRIMARY KEY (venue_id, alert_id)
);
COMMENT ON TABLE healthpass.venue_alert IS 'red codes met at venues, for the health authority';
SELECT pg_catalog.pg_extension_config_dump('venue_alert', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.venue_alert', 'alert_id'), '');

-- The admission rules an administrator changed (seed 004 defaults are in
-- hp_admission_rules(); a row here replaces the default of its colour).
CREATE TABLE admission_rule (
    colour     health_colour PRIMARY KEY,
    decision   "char" NOT NULL CHECK (decision IN ('a', 'c', 'r', 'd')),
    prompt     text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE healthpass.admission_rule IS 'admission decisions an administrator changed (defaults in admission_rules())';
SELECT pg_catalog.pg_extension_config_dump('admission_rule', '');

-- ===== sql/api/61_scans.sql
-- 61_scans.sql: scanning both ways (seed 004 一.4-6, 四): the visitor scans
-- the venue's poster, staff scan the visitor's code, staff check a person
-- without a smartphone by hand; every scan is recorded with the decision;
-- red raises an alert; the history is kept for a retention period by one
-- maintenance function.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Admission rules -------------------------------------------------------------

-- The decision for each colour (seed 004): green admits; light green (no
-- health information) asks the person to declare first; yellow asks staff
-- to check (the temperature, say) before admitting; red refuses and alerts
-- the health authority. An administrator may change a colour's rule.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_admission_default(colour health_colour,
                                                                  OUT decision "char", OUT prompt text)
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    -- PL/pgSQL: every scan asks, and a SQL function of this shape is
    -- planned again at each call
    CASE colour
        WHEN 'green' THEN decision := 'a'; prompt := 'green code: may enter';
        WHEN 'light_green' THEN decision := 'd'; prompt := 'no health information reported: declare your health, then scan again';
        WHEN 'yellow' THEN decision := 'c'; prompt := 'yellow code: check (for example the temperature) before admitting';
        WHEN 'red' THEN decision := 'r'; prompt := 'red code: may not enter; the health authority has been told';
        ELSE NULL;
    END CASE;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_admission_default(health_colour) IS 'the seed''s admission decision and prompt for a colour (internal)';

CREATE OR REPLACE FUNCTION admission_rules()
    RETURNS TABLE (colour health_colour, decision text, prompt text, changed boolean)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT c, hp_decision_name(coalesce(r.decision, (hp_admission_default(c)).decision)),
           coalesce(r.prompt, (hp_admission_default(c)).prompt), r.colour IS NOT NULL
      FROM unnest(enum_range(NULL::health_colour)) c
      LEFT JOIN admission_rule r ON r.colour = c
     ORDER BY c
$$;
COMMENT ON FUNCTION healthpass.admission_rules() IS 'the admission decision and prompt for each colour, and whether an administrator changed it';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_decision_name(d "char") RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE d WHEN 'a' THEN 'admit' WHEN 'c' THEN 'check' WHEN 'r' THEN 'refuse' WHEN 'd' THEN 'declare' END;
COMMENT ON FUNCTION healthpass_internal.hp_decision_name("char") IS 'admit, check, refuse or declare from its stored code (internal)';

CREATE OR REPLACE FUNCTION set_admission_rule(colour health_colour, decision text, prompt text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    d "char" := CASE decision WHEN 'admit' THEN 'a' WHEN 'check' THEN 'c' WHEN 'refuse' THEN 'r'
                              WHEN 'declare' THEN 'd' END;
    p text := hp_text('prompt', prompt, 200, required => true);
BEGIN
    IF colour IS NULL THEN
        RAISE EXCEPTION 'colour is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the colour the rule is for.';
    END IF;
    IF d IS NULL THEN
        RAISE EXCEPTION 'admission decision "%" is not valid', hp_quote(decision)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A decision is admit, check, refuse or declare.';
    END IF;
    INSERT INTO admission_rule AS r (colour, decision, prompt) VALUES (set_admission_rule.colour, d, p)
    ON CONFLICT ON CONSTRAINT admission_rule_pkey DO UPDATE
       SET decision = excluded.decision, prompt = excluded.prompt, updated_at = excluded.updated_at;
END
$$;
COMMENT ON FUNCTION healthpass.set_admission_rule(health_colour, text, text) IS
    'change the admission decision and prompt of a colour (admit, check, refuse or declare)';

-- The decision for a person at a venue: the colour's rule, and a venue that
-- requires a negative test within N hours asks for a check when the latest
-- negative sample is older (or there is none).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_admission(v venue, colour health_colour,
                                                          last_negative_at timestamptz,
                                                          OUT decision "char", OUT prompt text)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    SELECT r.decision, r.prompt INTO decision, prompt FROM admission_rule r WHERE r.colour = hp_admission.colour;
    IF NOT FOUND THEN
        SELECT d.decision, d.prompt INTO decision, prompt FROM hp_admission_default(colour) d;
    END IF;
    IF decision = 'a' AND v.negative_test_hours IS NOT NULL
       AND (last_negative_at IS NULL OR last_negative_at < now() - make_interval(hours => v.negative_test_hours)) THEN
        decision := 'c';
        prompt := format('this venue requires a negative test sampled within %s hours: check before admitting',
                         v.negative_test_hours);
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_admission(venue, health_colour, timestamptz) IS
    'admission decision and prompt for a colour at a venue (internal)';

-- Partitions and retention -------------------------------------------------------

-- Creates the day partitions of the scan history from yesterday to
-- `ahead` days on, and drops those wholly older than the retention
-- (setting scan_retention, 28 days by default). Returns what it did. Run
-- it daily (pg_cron: SELECT cron.schedule('healthpass-scans', '5 0 * * *',
-- 'SELECT healthpass.scan_maintenance()');). Creating or dropping a
-- partition needs an exclusive lock on the parent for the catalogue change;
-- waiting for it would hold up every scan queued behind, so each change
-- waits at most a second (lock_timeout) and is otherwise "deferred" to the
-- next run.
CREATE OR REPLACE FUNCTION scan_maintenance(ahead integer DEFAULT 7)
    RETURNS TABLE (action text, partition text, day date)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    keep interval := hp_setting('scan_retention')::interval;
    today date := (now() AT TIME ZONE 'UTC')::date;
    d date;
    t record;
    pruned bigint;
BEGIN
    IF ahead IS NULL OR ahead NOT BETWEEN 1 AND 60 THEN
        RAISE EXCEPTION 'days ahead % is out of range', coalesce(ahead::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Partitions are made 1 to 60 days ahead.';
    END IF;
    PERFORM set_config('lock_timeout', '1s', true);
    FOR d IN SELECT g::date FROM generate_series(today - 1, today + ahead, interval '1 day') g LOOP
        partition := 'scan_' || to_char(d, 'YYYYMMDD'); day := d;
        BEGIN
            IF hp_scan_partition(d) THEN
                action := 'created';
                RETURN NEXT;
            END IF;
        EXCEPTION WHEN lock_not_available THEN
            action := 'deferred';
            RETURN NEXT;
        END;
    END LOOP;
    FOR t IN SELECT c.relname, to_date(substr(c.relname, 6), 'YYYYMMDD') AS pday
               FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'healthpass.scan'::regclass AND c.relname ~ '^scan_[0-9]{8}$'
              ORDER BY 1 LOOP
        IF (t.pday + 1)::timestamp AT TIME ZONE 'UTC' <= now() - keep THEN
            partition := t.relname; day := t.pday;
            BEGIN
                EXECUTE format('DROP TABLE healthpass.%I', t.relname);
                action := 'dropped';
            EXCEPTION WHEN lock_not_available THEN
                action := 'deferred';
            END;
            RETURN NEXT;
        END IF;
    END LOOP;
    -- who a trace found is personal data kept no longer than the scans it
    -- came from; the audit (who traced, when, how many) stays
    DELETE FROM trace_result r USING trace_audit a
     WHERE r.trace_id = a.trace_id AND a.traced_at < now() - keep;
    GET DIAGNOSTICS pruned = ROW_COUNT;
    IF pruned > 0 THEN
        action := 'pruned'; partition := 'trace_result'; day := NULL;
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass.scan_maintenance(integer) IS
    'day partitions of the scan history: create ahead, drop past the retention (scan_retention), and the results of traces that old; for pg_cron';

-- Creates the partition of one UTC day when it is missing; true when it did.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_scan_partition(d date) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    name text := 'scan_' || to_char(d, 'YYYYMMDD');
BEGIN
    IF to_regclass('healthpass.' || name) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- one creator at a time
    PERFORM pg_advisory_xact_lock(hashtext('healthpass.scan_partition'), hashtext(name));
    IF to_regclass('healthpass.' || name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE healthpass.%I PARTITION OF healthpass.scan FOR VALUES FROM (%L) TO (%L)',
                   name, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
    -- one scan per person, venue and second (a double scan is one scan);
    -- also "who was at this venue between t1 and t2"
    EXECUTE format('CREATE UNIQUE INDEX %I ON healthpass.%I (venue_id, scanned_at, person_id)', name || '_venue', name);
    -- a person's own scans (where a case has been)
    EXECUTE format('CREATE INDEX %I ON healthpass.%I (person_id, scanned_at)', name || '_person', name);
    EXECUTE format('REVOKE ALL ON healthpass.%I FROM PUBLIC', name);
    RETURN true;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_scan_partition(date) IS 'creates the scan partition of a UTC day if missing (internal)';

-- Recording -----------------------------------------------------------------------

-- Records one scan (once per person, venue and second: a second scan in the
-- same second is the same scan) and, for a red code, the alert. The day's
-- partition is made if maintenance has not made it yet.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_scan(
    at timestamptz, v venue, pid bigint, sid bigint, how "char", kind "char",
    shown health_colour, decided "char", test text, sampled timestamptz, tid bytea)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    t "char" := CASE test WHEN 'negative' THEN 'n' WHEN 'positive' THEN 'p' WHEN 'pending' THEN 'w' END;
    n integer;
BEGIN
    PERFORM hp_scan_partition((at AT TIME ZONE 'UTC')::date);   -- a catalogue look-up when it exists
    -- the day partition's unique index (venue, second, person) is the only
    -- one a scan can collide with: DO NOTHING without a target uses it
    INSERT INTO scan (scanned_at, venue_id, person_id, staff_id, method, code_kind, colour, decision,
                      test, test_sampled_at, token_id)
    VALUES (at, v.venue_id, pid, sid, how, kind, shown, decided, t, sampled, tid)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 1 AND shown = 'red' THEN
        INSERT INTO venue_alert (venue_id, person_id, scanned_at, colour) VALUES (v.venue_id, pid, at, shown);
    END IF;
    RETURN n = 1;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_scan(timestamptz, venue, bigint, bigint, "char", "char", health_colour, "char", text, timestamptz, bytea) IS
    'records a scan once per person, venue and second, and a red code''s alert (internal)';

-- The facts a scan shows about a person and the decision, recorded.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_scan_person(
    v venue, p person, staff_id bigint, method "char", code_kind "char", token_id bytea,
    known_colour health_colour DEFAULT NULL, known_result text DEFAULT NULL,
    known_sampled_at timestamptz DEFAULT NULL, known_last_negative timestamptz DEFAULT NULL,
    OUT venue_name text, OUT scanned_at timestamptz, OUT person_ref uuid, OUT name_masked text,
    OUT colour health_colour, OUT meaning text, OUT latest_result text, OUT latest_sampled_at timestamptz,
    OUT decision text, OUT prompt text, OUT recorded boolean)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    t record;
    a record;
    last_negative timestamptz;
BEGIN
    -- seed 004: a person whose real-name check was rejected cannot use scan
    -- registration until they edit their information (pending is fine)
    PERFORM hp_require_not_rejected(p);
    scanned_at := date_trunc('second', now());
    venue_name := v.name;
    person_ref := p.public_ref;
    name_masked := mask_name(p.name);
    IF known_colour IS NOT NULL THEN
        -- the caller computed these a moment ago (staff_scan, through hp_scan)
        colour := known_colour;
        latest_result := known_result;
        latest_sampled_at := known_sampled_at;
        last_negative := known_last_negative;
    ELSE
        SELECT s.colour INTO colour FROM colour_status(p.person_id, now()) s;
        SELECT r.result, r.sampled_at, r.last_negative_at INTO t FROM latest_test_result(p.person_id, now()) r;
        latest_result := t.result;
        latest_sampled_at := t.sampled_at;
        last_negative := t.last_negative_at;
    END IF;
    meaning := colour_meaning(colour);
    a := hp_admission(v, colour, last_negative);
    decision := hp_decision_name(a.decision);
    prompt := a.prompt;
    recorded := hp_record_scan(scanned_at, v, p.person_id, staff_id, method, code_kind, colour, a.decision,
                               latest_result, latest_sampled_at, token_id);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_scan_person(venue, person, bigint, "char", "char", bytea, health_colour, text, timestamptz, timestamptz) IS
    'what a scan shows and decides for a person at a venue, recorded (internal)';

-- The venue a staff member scans for: active staff of an active venue.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_staff_venue(staff_id bigint, venue_id bigint) RETURNS venue
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v venue;
BEGIN
    PERFORM hp_get_person(staff_id);
    IF venue_id IS NULL THEN
        RAISE EXCEPTION 'venue id is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the venue the staff member scans for.';
    END IF;
    SELECT * INTO v FROM venue x WHERE x.venue_id = hp_staff_venue.venue_id;
    IF NOT FOUND OR NOT hp_is_active_staff(v.venue_id, staff_id) THEN
        RAISE EXCEPTION 'person % is not staff of venue %', staff_id, venue_id
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only staff the venue''s manager added may scan for it.';
    END IF;
    IF v.status <> 'active' THEN
        RAISE EXCEPTION 'venue % is %', v.venue_id, v.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A suspended or closed venue records no scans.';
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_staff_venue(bigint, bigint) IS 'the active venue an active staff member scans for, or 42501/55000 (internal)';

-- Scanning both ways ------------------------------------------------------------

-- Seed 004 四: the visitor scans the venue's poster. The app sends the
-- visitor and the scanned venue code; the answer is what the visitor's
-- phone shows the staff at the door.
CREATE OR REPLACE FUNCTION scan_venue_code(person_id bigint, venue_token text)
    RETURNS TABLE (venue_name text, scanned_at timestamptz, person_ref uuid, name_masked text,
                   colour health_colour, meaning text, latest_result text, latest_sampled_at timestamptz,
                   decision text, prompt text, recorded boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
    v venue := hp_venue_of_token(venue_token);
BEGIN
    RETURN QUERY SELECT s.* FROM hp_scan_person(v, p, NULL, 's', NULL, NULL) s;
END
$$;
COMMENT ON FUNCTION healthpass.scan_venue_code(bigint, text) IS
    'the visitor scans the venue poster: recorded, with the venue, time, masked name, colour now, latest test and the decision';

-- Seed 004 一.4-5: staff scan a visitor's code (dynamic health code,
-- printed personal or family code, e-pass, entry code). A code that does
-- not verify, or that another issuer signed (no live facts here), is a
-- named refusal: nothing is recorded, decision "refuse" or "check".
CREATE OR REPLACE FUNCTION staff_scan(staff_id bigint, venue_id bigint, token text)
    RETURNS TABLE (valid boolean, reason text, kind text, venue_name text, scanned_at timestamptz,
                   person_ref uuid, name_masked text, colour health_colour, meaning text,
                   latest_result text, latest_sampled_at timestamptz, decision text, prompt text,
                   recorded boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v venue := hp_staff_venue(staff_id, venue_id);
    c record;
    p person;
    ref_pid bigint;
BEGIN
    SELECT * INTO c FROM hp_scan(token, ARRAY['health', 'personal', 'epass', 'entry']) s;
    IF NOT c.valid OR c.colour IS NULL THEN
        -- not a code of a person here: refused, or checked by hand when a
        -- valid code of another issuer (codes recognised, data not shared)
        RETURN QUERY SELECT c.valid, coalesce(c.reason, 'foreign_code'), c.kind, v.name,
                            date_trunc('second', now()), c.person_ref, c.name_masked,
                            NULL::health_colour, NULL::text, NULL::text, NULL::timestamptz,
                            CASE WHEN c.valid THEN 'check' ELSE 'refuse' END,
                            CASE WHEN c.valid THEN 'a code of another issuer: check the person by hand'
                                 ELSE format('the code is not valid here (%s)', c.reason) END,
                            false;
        RETURN;
    END IF;
    -- two reads, not a join: the reference's row and the person's row are
    -- distributed by different keys on Citus (doc/citus.md)
    SELECT r.person_id INTO STRICT ref_pid FROM ref_index r WHERE r.public_ref = c.person_ref;
    SELECT x.* INTO STRICT p FROM person x WHERE x.person_id = ref_pid;
    RETURN QUERY
        SELECT true, NULL::text, c.kind, s.venue_name, s.scanned_at, s.person_ref, s.name_masked, s.colour,
               s.meaning, s.latest_result, s.latest_sampled_at, s.decision, s.prompt, s.recorded
          FROM hp_scan_person(v, p, staff_id, 't',
                              (CASE c.kind WHEN 'health' THEN 'h' WHEN 'personal' THEN 'p'
                                           WHEN 'epass' THEN 'e' WHEN 'entry' THEN 'n' END)::"char", c.token_id,
                              c.colour, c.latest_result, c.latest_sampled_at, c.last_negative_at) s;
END
$$;
COMMENT ON FUNCTION healthpass.staff_scan(bigint, bigint, text) IS
    'staff scan a visitor''s personal code: verdict, masked identity, colour now, latest test and the decision (admit, check, refuse, declare), recorded';

-- Seed 004 一.6: staff check a person without a smartphone by name, ID
-- number and phone (a family member's when the person has none).
CREATE OR REPLACE FUNCTION staff_manual_check(staff_id bigint, venue_id bigint, doc_kind text, doc_number text,
                                              name text, phone text)
    RETURNS TABLE (venue_name text, scanned_at timestamptz, person_ref uuid, name_masked text,
                   colour health_colour, meaning text, latest_result text, latest_sampled_at timestamptz,
                   decision text, prompt text, recorded boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v venue := hp_staff_venue(staff_id, venue_id);
    p person := hp_manual_match(doc_kind, doc_number, name, phone);
BEGIN
    RETURN QUERY SELECT s.* FROM hp_scan_person(v, p, staff_id, 'm', NULL, NULL) s;
END
$$;
COMMENT ON FUNCTION healthpass.staff_manual_check(bigint, bigint, text, text, text, text) IS
    'staff check a person without a smartphone by name, ID number and phone: the same facts and decision, recorded as manual';

-- After a "check" decision, staff record what they checked and whether they
-- admitted (seed 004: yellow passes after a check such as the temperature).
CREATE OR REPLACE FUNCTION record_scan_check(staff_id bigint, venue_id bigint, person_ref uuid,
                                             scanned_at timestamptz, admitted boolean,
                                             temperature numeric DEFAULT NULL, note text DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v venue := hp_staff_venue(staff_id, venue_id);
    pid bigint;
    d "char";
BEGIN
    IF admitted IS NULL THEN
        RAISE EXCEPTION 'the outcome of the check is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Say whether the person was admitted.';
    END IF;
    IF temperature IS NOT NULL AND temperature NOT BETWEEN 30 AND 45 THEN
        RAISE EXCEPTION 'temperature % is out of range', temperature
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A body temperature lies between 30 and 45 °C.';
    END IF;
    SELECT r.person_id INTO pid FROM ref_index r WHERE r.public_ref = person_ref;
    SELECT s.decision INTO d FROM scan s
     WHERE s.venue_id = v.venue_id AND s.scanned_at = hp_instant('scanned_at', record_scan_check.scanned_at)
       AND s.person_id = pid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no scan of that person at venue % at %', v.venue_id, record_scan_check.scanned_at
            USING ERRCODE = 'no_data_found', DETAIL = 'A check follows a recorded scan: give the time the scan returned.';
    END IF;
    IF d <> 'c' THEN
        RAISE EXCEPTION 'the scan at % was decided "%", not "check"', record_scan_check.scanned_at, hp_decision_name(d)
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Only a scan decided "check" gets a check.';
    END IF;
    INSERT INTO scan_check (venue_id, scanned_at, person_id, staff_id, temperature, admitted, note)
    VALUES (v.venue_id, record_scan_check.scanned_at, pid, staff_id, temperature, admitted,
            hp_text('note', note, 500))
    ON CONFLICT ON CONSTRAINT scan_check_pkey DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the scan at % was already checked', record_scan_check.scanned_at
            USING ERRCODE = 'unique_violation', DETAIL = 'A scan gets one check.';
    END IF;
    RETURN CASE WHEN admitted THEN 'admitted' ELSE 'refused' END;
END
$$;
COMMENT ON FUNCTION healthpass.record_scan_check(bigint, bigint, uuid, timestamptz, boolean, numeric, text) IS
    'record the check after a "check" decision (temperature, admitted or not)';

-- Alerts: red codes met at venues, for the health authority. PL/pgSQL, and
-- the alerts (by venue) read before each alert's person (by person): on
-- Citus a SQL function with parameters over distributed tables cannot be
-- planned, and a join of the two would need repartitioning.
CREATE OR REPLACE FUNCTION venue_alerts(include_acknowledged boolean DEFAULT false)
    RETURNS TABLE (alert_id bigint, venue_id bigint, venue_name text, street text, person_ref uuid,
                   name_masked text, scanned_at timestamptz, colour health_colour, raised_at timestamptz,
                   acknowledged_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    a record;
    who text;
BEGIN
    FOR a IN
        SELECT x.alert_id, x.venue_id, v.name, v.street, x.person_id, x.scanned_at, x.colour,
               x.raised_at, x.acknowledged_at
          FROM venue_alert x JOIN venue v ON v.venue_id = x.venue_id
         WHERE venue_alerts.include_acknowledged IS TRUE OR x.acknowledged_at IS NULL
         ORDER BY x.raised_at, x.alert_id
    LOOP
        person_ref := NULL;
        who := NULL;
        SELECT p.public_ref, p.name INTO person_ref, who FROM person p WHERE p.person_id = a.person_id;
        IF NOT FOUND THEN
            CONTINUE;  -- as the join did: an alert shows with its person
        END IF;
        alert_id := a.alert_id;
        venue_id := a.venue_id;
        venue_name := a.name;
        street := a.street;
        name_masked := mask_name(who);
        scanned_at := a.scanned_at;
        colour := a.colour;
        raised_at := a.raised_at;
        acknowledged_at := a.acknowledged_at;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION healthpass.venue_alerts(boolean) IS 'red codes met at venues, oldest first (open ones unless asked for all)';

CREATE OR REPLACE FUNCTION acknowledge_venue_alert(alert_id bigint) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    at timestamptz;
BEGIN
    UPDATE venue_alert a SET acknowledged_at = now(), acknowledged_by = session_user
     WHERE a.alert_id = acknowledge_venue_alert.alert_id AND a.acknowledged_at IS NULL
     RETURNING a.acknowledged_at INTO at;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no open venue alert %', coalesce(alert_id::text, 'NULL')
            USING ERRCODE = 'no_data_found', DETAIL = 'The alert does not exist or was acknowledged already.';
    END IF;
    RETURN at;
END
$$;
COMMENT ON FUNCTION healthpass.acknowledge_venue_alert(bigint) IS 'the health authority acknowledges a venue alert';

GRANT EXECUTE ON FUNCTION healthpass.scan_venue_code(bigint, text) TO healthpass_app, healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.staff_scan(bigint, bigint, text),
                          healthpass.staff_manual_check(bigint, bigint, text, text, text, text),
                          healthpass.record_scan_check(bigint, bigint, uuid, timestamptz, boolean, numeric, text)
    TO healthpass_scanner, healthpass_app, healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.admission_rules() TO healthpass_admin, healthpass_app, healthpass_scanner,
                                                          healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;
GRANT EXECUTE ON FUNCTION healthpass.set_admission_rule(health_colour, text, text),
                          healthpass.scan_maintenance(integer) TO healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.venue_alerts(boolean), healthpass.acknowledge_venue_alert(bigint)
    TO healthpass_health, healthpass_admin;

-- ===== sql/api/62_reports.sql
-- 62_reports.sql: reports on the scan history for DBAs and analysts (issue
-- 11 item 6, role healthpass_report; also the health authority and
-- administrators). Set-returning functions that a charting tool reads
-- directly: a time column (a day or an hour of the session's TimeZone) and
-- measures. No report shows a name or a document number; staff appear by
-- masked name and person_ref.
--
-- Every report reads the scan history through hp_report_scans(from_at,
-- to_at, venue), a range restriction on scanned_at (partition pruning reads
-- only the days asked for) and, for one venue, its index (venue_id,
-- scanned_at, person_id). The venues-without-scans report reads each
-- venue's latest scan backwards through the same index.
--
-- Suppression: each report takes exported (default true). Exported, a cell
-- counting at least one and fewer than report_min_cell distinct people
-- (hp_setting, default 5) shows NULL, and the row's suppressed flag is
-- true. Only the health authority and administrators may pass exported =>
-- false (42501 for anyone else), judged by the role the caller acts as
-- (SET ROLE, else the session user; SECURITY DEFINER has changed
-- current_user).
--
-- The row functions hp_report_*_rows are plain SQL (no SECURITY DEFINER,
-- no SET), so the planner inlines them into the report's query, and
-- EXPLAIN of a row function shows the plan the report runs
-- (doc/reports.md).
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Checks ------------------------------------------------------------------------------

-- The report range [from_at, to_at): both given, finite, from_at before
-- to_at and at most 366 days apart (the longest scan_retention).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_report_range(from_at timestamptz, to_at timestamptz) RETURNS void
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    PERFORM hp_instant('from_at', from_at);
    PERFORM hp_instant('to_at', to_at);
    IF from_at >= to_at THEN
        RAISE EXCEPTION 'report range from "%" to "%" is empty', hp_quote(from_at::text), hp_quote(to_at::text)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A report covers scans from from_at (included) to to_at (excluded): from_at comes first.';
    END IF;
    IF to_at - from_at > interval '366 days' THEN
        RAISE EXCEPTION 'report range from "%" to "%" is longer than 366 days', hp_quote(from_at::text), hp_quote(to_at::text)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A report covers at most 366 days, the longest scan history kept (scan_retention).';
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_report_range(timestamptz, timestamptz) IS
    'checks a report range: finite, from_at before to_at, at most 366 days (internal)';

-- The smallest count a report shows: report_min_cell when exported, 0 (all
-- shown) for the health authority or an administrator asking for exact
-- counts. The caller is the role it acts as: the SET ROLE role, else the
-- session user (current_user is the function's owner here).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_report_min_cell(exported boolean) RETURNS integer
    LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    who name := CASE WHEN current_setting('role') = 'none' THEN session_user
                     ELSE current_setting('role')::name END;
BEGIN
    IF exported IS NULL THEN
        RAISE EXCEPTION 'exported is missing'
            USING ERRCODE = 'null_value_not_allowed',
                  DETAIL = 'Say whether the report leaves the health authority: true suppresses small cells.';
    END IF;
    IF exported THEN
        RETURN hp_setting('report_min_cell')::integer;
    END IF;
    IF NOT (pg_has_role(who, 'healthpass_health', 'MEMBER') OR pg_has_role(who, 'healthpass_admin', 'MEMBER')) THEN
        RAISE EXCEPTION 'role "%" may not see unsuppressed counts', hp_quote(who)
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only the health authority and administrators pass exported => false; other reports suppress cells of fewer than report_min_cell people.';
    END IF;
    RETURN 0;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_report_min_cell(boolean) IS
    'smallest count a report shows (report_min_cell, or 0 for the health authority asking for exact counts); 42501 otherwise (internal)';

-- A count as a report shows it: NULL when its cell counts 1 to k-1 people.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_report_cell(n bigint, people bigint, k integer) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN people >= 1 AND people < k THEN NULL ELSE n END;
COMMENT ON FUNCTION healthpass_internal.hp_report_cell(bigint, bigint, integer) IS
    'a count, or NULL when its cell counts fewer than k people (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_report_method(m "char") RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE m WHEN 's' THEN 'self' WHEN 't' THEN 'staff' WHEN 'm' THEN 'manual' END;
COMMENT ON FUNCTION healthpass_internal.hp_report_method("char") IS
    'self, staff or manual from a scan''s stored method (internal)';

-- Rows --------------------------------------------------------------------------------

-- The scans a report reads: those in [from_at, to_at), of one venue when
-- venue is given. The range lets partition pruning skip every other day;
-- the second branch reads one venue through (venue_id, scanned_at,
-- person_id). Exactly one branch runs (the other is a one-time false
-- filter, or removed when the planner knows the argument).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_report_scans(from_at timestamptz, to_at timestamptz,
                                                               venue bigint DEFAULT NULL)
    RETURNS SETOF healthpass.scan
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT s.* FROM healthpass.scan s
     WHERE hp_report_scans.venue IS NULL
       AND s.scanned_at >= hp_report_scans.from_at AND s.scanned_at < hp_report_scans.to_at
    UNION ALL
    SELECT s.* FROM healthpass.scan s
     WHERE s.venue_id = hp_report_scans.venue
       AND s.scanned_at >= hp_report_scans.from_at AND s.scanned_at < hp_report_scans.to_at
$$;
COMMENT ON FUNCTION healthpass_internal.hp_report_scans(timestamptz, timestamptz, bigint) IS
    'scans in [from_at, to_at), of one venue if given: the one way reports read the scan history (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_report_venue_day_rows(from_at timestamptz, to_at timestamptz,
                                                                        venue bigint DEFAULT NULL)
    RETURNS TABLE (day timestamptz, venue_id bigint, method "char", colour healthpass.health_colour,
                   decision "char", scans bigint, people bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT pg_catalog.date_trunc('day', s.scanned_at), s.venue_id, s.method, s.colour, s.decision,
           count(*), count(DISTINCT s.person_id)
      FROM healthpass_internal.hp_report_scans(hp_report_venue_day_rows.from_at, hp_report_venue_day_rows.to_at,
                                               hp_report_venue_day_rows.venue) s
     GROUP BY 1, 2, 3, 4, 5
$$;
COMMENT ON FUNCTION healthpass_internal.hp_report_venue_day_rows(timestamptz, timestamptz, bigint) IS
    'scans and people per day, venue, method, colour and decision (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_report_street_day_rows(from_at timestamptz, to_at timestamptz)
    RETURNS TABLE (day timestamptz, street text, venues bigint, scans bigint, people bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT pg_catalog.date_trunc('day', s.scanned_at), v.street, count(DISTINCT s.venue_id), count(*),
           count(DISTINCT s.person_id)
      FROM healthpass_internal.hp_report_scans(hp_report_street_day_rows.from_at, hp_report_street_day_rows.to_at) s
      JOIN healthpass.venue v ON v.venue_id = s.venue_id
     GROUP BY 1, 2
$$;
COMMENT ON FUNCTION healthpass_internal.hp_report_street_day_rows(timestamptz, timestamptz) IS
    'venues scanned, scans and people per day and street (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_report_hourly_rows(from_at timestamptz, to_at timestamptz,
                                                                     venue bigint DEFAULT NULL)
    RETURNS TABLE (hour timestamptz, scans bigint, self_scans bigint, staff_scans bigint, manual_checks bigint,
                   venues bigint, people bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT pg_catalog.date_trunc('hour', s.scanned_at), count(*),
           count(*) FILTER (WHERE s.method = 's'), count(*) FILTER (WHERE s.method = 't'),
           count(*) FILTER (WHERE s.method = 'm'), count(DISTINCT s.venue_id), count(DISTINCT s.person_id)
      FROM healthpass_internal.hp_report_scans(hp_report_hourly_rows.from_at, hp_report_hourly_rows.to_at,
                                               hp_report_hourly_rows.venue) s
     GROUP BY 1
$$;
COMMENT ON FUNCTION healthpass_internal.hp_report_hourly_rows(timestamptz, timestamptz, bigint) IS
    'scans by method, venues and people per hour (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_report_non_green_rows(from_at timestamptz, to_at timestamptz)
    RETURNS TABLE (day timestamptz, venue_id bigint, light_green bigint, yellow bigint, red bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT pg_catalog.date_trunc('day', s.scanned_at), s.venue_id,
           count(DISTINCT s.person_id) FILTER (WHERE s.colour = 'light_green'),
           count(DISTINCT s.person_id) FILTER (WHERE s.colour = 'yellow'),
           count(DISTINCT s.person_id) FILTER (WHERE s.colour = 'red')
      FROM healthpass_internal.hp_report_scans(hp_report_non_green_rows.from_at, hp_report_non_green_rows.to_at) s
     WHERE s.colour <> 'green'
     GROUP BY 1, 2
$$;
COMMENT ON FUNCTION healthpass_internal.hp_report_non_green_rows(timestamptz, timestamptz) IS
    'people met with a light green, yellow or red code per day and venue (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_report_staff_rows(from_at timestamptz, to_at timestamptz)
    RETURNS TABLE (day timestamptz, staff_id bigint, venues bigint, scans bigint, manual_checks bigint, people bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT pg_catalog.date_trunc('day', s.scanned_at), s.staff_id, count(DISTINCT s.venue_id),
           count(*) FILTER (WHERE s.method = 't'), count(*) FILTER (WHERE s.method = 'm'),
           count(DISTINCT s.person_id)
      FROM healthpass_internal.hp_report_scans(hp_report_staff_rows.from_at, hp_report_staff_rows.to_at) s
     WHERE s.staff_id IS NOT NULL
     GROUP BY 1, 2
$$;
COMMENT ON FUNCTION healthpass_internal.hp_report_staff_rows(timestamptz, timestamptz) IS
    'venues, staff scans, manual checks and people per day and staff member (internal)';

-- Each venue with its latest scan in the history kept (NULL: none), read
-- backwards through (venue_id, scanned_at, person_id): the newest day's
-- partition first, older ones only while nothing is found.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_report_last_scan_rows()
    RETURNS TABLE (venue_id bigint, name text, street text, status text, created_at timestamptz,
                   last_scan_at timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT v.venue_id, v.name, v.street, v.status, v.created_at, l.scanned_at
      FROM healthpass.venue v
      LEFT JOIN LATERAL (SELECT s.scanned_at FROM healthpass.scan s
                          WHERE s.venue_id = v.venue_id AND s.scanned_at <= pg_catalog.now()
                          ORDER BY s.scanned_at DESC LIMIT 1) l ON true
$$;
COMMENT ON FUNCTION healthpass_internal.hp_report_last_scan_rows() IS
    'each venue with its latest scan in the history kept (internal)';

-- Reports -----------------------------------------------------------------------------

-- Scans per venue per day by method, colour and decision.
CREATE OR REPLACE FUNCTION report_venue_day(from_at timestamptz, to_at timestamptz, venue bigint DEFAULT NULL,
                                            exported boolean DEFAULT true)
    RETURNS TABLE (day timestamptz, venue_id bigint, venue_name text, street text, method text,
                   colour health_colour, decision text, scans bigint, people bigint, suppressed boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    k integer := hp_report_min_cell(exported);
    one bigint := report_venue_day.venue;
BEGIN
    PERFORM hp_report_range(from_at, to_at);
    IF one IS NOT NULL THEN
        PERFORM hp_get_venue(one);
    END IF;
    RETURN QUERY
    SELECT r.day, r.venue_id, v.name, v.street, hp_report_method(r.method), r.colour, hp_decision_name(r.decision),
           hp_report_cell(r.scans, r.people, k), hp_report_cell(r.people, r.people, k),
           r.people >= 1 AND r.people < k
      FROM hp_report_venue_day_rows(from_at, to_at, one) r
      LEFT JOIN venue v ON v.venue_id = r.venue_id
     ORDER BY r.day, r.venue_id, r.method, r.colour, r.decision;
END
$$;
COMMENT ON FUNCTION healthpass.report_venue_day(timestamptz, timestamptz, bigint, boolean) IS
    'scans and people per day, venue, method, colour and decision in [from_at, to_at); exported: cells under report_min_cell people suppressed';

-- Scans per street (街道) per day.
CREATE OR REPLACE FUNCTION report_street_day(from_at timestamptz, to_at timestamptz, exported boolean DEFAULT true)
    RETURNS TABLE (day timestamptz, street text, venues bigint, scans bigint, people bigint, suppressed boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    k integer := hp_report_min_cell(exported);
BEGIN
    PERFORM hp_report_range(from_at, to_at);
    RETURN QUERY
    SELECT r.day, r.street, r.venues, hp_report_cell(r.scans, r.people, k), hp_report_cell(r.people, r.people, k),
           r.people >= 1 AND r.people < k
      FROM hp_report_street_day_rows(from_at, to_at) r
     ORDER BY r.day, r.street;
END
$$;
COMMENT ON FUNCTION healthpass.report_street_day(timestamptz, timestamptz, boolean) IS
    'venues scanned, scans and people per day and street in [from_at, to_at); exported: cells under report_min_cell people suppressed';

-- Hourly load: one row for every hour of [from_at, to_at), empty hours
-- with zeros, of the whole city or one venue.
CREATE OR REPLACE FUNCTION report_hourly_load(from_at timestamptz, to_at timestamptz, venue bigint DEFAULT NULL,
                                              exported boolean DEFAULT true)
    RETURNS TABLE (hour timestamptz, scans bigint, self_scans bigint, staff_scans bigint, manual_checks bigint,
                   venues bigint, people bigint, suppressed boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    k integer := hp_report_min_cell(exported);
    one bigint := report_hourly_load.venue;
BEGIN
    PERFORM hp_report_range(from_at, to_at);
    IF one IS NOT NULL THEN
        PERFORM hp_get_venue(one);
    END IF;
    RETURN QUERY
    SELECT h.hour,
           hp_report_cell(coalesce(r.scans, 0), r.people, k), hp_report_cell(coalesce(r.self_scans, 0), r.people, k),
           hp_report_cell(coalesce(r.staff_scans, 0), r.people, k),
           hp_report_cell(coalesce(r.manual_checks, 0), r.people, k),
           coalesce(r.venues, 0), hp_report_cell(coalesce(r.people, 0), r.people, k),
           coalesce(r.people >= 1 AND r.people < k, false)
      FROM generate_series(date_trunc('hour', from_at), to_at - interval '1 microsecond', interval '1 hour') h(hour)
      LEFT JOIN hp_report_hourly_rows(from_at, to_at, one) r ON r.hour = h.hour
     ORDER BY h.hour;
END
$$;
COMMENT ON FUNCTION healthpass.report_hourly_load(timestamptz, timestamptz, bigint, boolean) IS
    'scans by method, venues and people for every hour of [from_at, to_at), of the city or one venue; exported: cells under report_min_cell people suppressed';

-- Non-green encounters: people met with a light green, yellow or red code
-- per venue per day.
CREATE OR REPLACE FUNCTION report_non_green(from_at timestamptz, to_at timestamptz, exported boolean DEFAULT true)
    RETURNS TABLE (day timestamptz, venue_id bigint, venue_name text, street text, light_green bigint,
                   yellow bigint, red bigint, suppressed boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    k integer := hp_report_min_cell(exported);
BEGIN
    PERFORM hp_report_range(from_at, to_at);
    RETURN QUERY
    SELECT r.day, r.venue_id, v.name, v.street, hp_report_cell(r.light_green, r.light_green, k),
           hp_report_cell(r.yellow, r.yellow, k), hp_report_cell(r.red, r.red, k),
           (r.light_green >= 1 AND r.light_green < k) OR (r.yellow >= 1 AND r.yellow < k)
           OR (r.red >= 1 AND r.red < k)
      FROM hp_report_non_green_rows(from_at, to_at) r
      LEFT JOIN venue v ON v.venue_id = r.venue_id
     ORDER BY r.day, r.venue_id;
END
$$;
COMMENT ON FUNCTION healthpass.report_non_green(timestamptz, timestamptz, boolean) IS
    'people met with a light green, yellow or red code per day and venue in [from_at, to_at); exported: cells under report_min_cell people suppressed';

-- Staff activity: per staff member per day, the venues they scanned for,
-- the codes they scanned and the manual checks they made. Staff appear by
-- masked name and person_ref.
CREATE OR REPLACE FUNCTION report_staff_activity(from_at timestamptz, to_at timestamptz, exported boolean DEFAULT true)
    RETURNS TABLE (day timestamptz, staff_ref uuid, staff_masked text, venues bigint, scans bigint,
                   manual_checks bigint, people bigint, suppressed boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    k integer := hp_report_min_cell(exported);
BEGIN
    PERFORM hp_report_range(from_at, to_at);
    RETURN QUERY
    SELECT r.day, p.public_ref, mask_name(p.name), r.venues, hp_report_cell(r.scans, r.people, k),
           hp_report_cell(r.manual_checks, r.people, k), hp_report_cell(r.people, r.people, k),
           r.people >= 1 AND r.people < k
      FROM hp_report_staff_rows(from_at, to_at) r
      LEFT JOIN person p ON p.person_id = r.staff_id
     ORDER BY r.day, p.public_ref;
END
$$;
COMMENT ON FUNCTION healthpass.report_staff_activity(timestamptz, timestamptz, boolean) IS
    'per day and staff member (masked name, person_ref): venues, codes scanned, manual checks, people; exported: cells under report_min_cell people suppressed';

-- Venues with no scan for the last `days` days: status, the latest scan in
-- the history kept (NULL: none) and the whole days since it. Exported, the
-- latest scan is given to the hour (one visit's second is not an
-- aggregate).
CREATE OR REPLACE FUNCTION report_quiet_venues(days integer DEFAULT 7, include_closed boolean DEFAULT false,
                                               exported boolean DEFAULT true)
    RETURNS TABLE (venue_id bigint, venue_name text, street text, status text, registered_at timestamptz,
                   last_scan_at timestamptz, days_since integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    k integer := hp_report_min_cell(exported);
BEGIN
    IF days IS NULL OR days NOT BETWEEN 1 AND 366 THEN
        RAISE EXCEPTION 'quiet days "%" is out of range', hp_quote(days::text)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Give the days without a scan as a whole number from 1 to 366.';
    END IF;
    IF include_closed IS NULL THEN
        RAISE EXCEPTION 'include_closed is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Say whether closed venues are listed too.';
    END IF;
    RETURN QUERY
    SELECT r.venue_id, r.name, r.street, r.status, r.created_at,
           CASE WHEN k > 0 THEN date_trunc('hour', r.last_scan_at) ELSE r.last_scan_at END,
           floor(extract(epoch FROM now() - r.last_scan_at) / 86400)::integer
      FROM hp_report_last_scan_rows() r
     WHERE (r.last_scan_at IS NULL OR r.last_scan_at < now() - make_interval(days => days))
       AND (include_closed OR r.status <> 'closed')
     ORDER BY r.last_scan_at NULLS FIRST, r.venue_id;
END
$$;
COMMENT ON FUNCTION healthpass.report_quiet_venues(integer, boolean, boolean) IS
    'venues with no scan for the last days (1-366): status, registration, latest scan kept and whole days since; exported: the latest scan to the hour';

GRANT EXECUTE ON FUNCTION healthpass.report_venue_day(timestamptz, timestamptz, bigint, boolean),
                          healthpass.report_street_day(timestamptz, timestamptz, boolean),
                          healthpass.report_hourly_load(timestamptz, timestamptz, bigint, boolean),
                          healthpass.report_non_green(timestamptz, timestamptz, boolean),
                          healthpass.report_staff_activity(timestamptz, timestamptz, boolean),
                          healthpass.report_quiet_venues(integer, boolean, boolean)
    TO healthpass_report, healthpass_health, healthpass_admin;

-- ===== sql/schema/63_tracing.sql
-- 63_tracing.sql: contact tracing (issue 11 item 7). Every trace is kept:
-- who traced which case, when, over which range and window, and how many
-- people came back (trace_audit), with the people themselves (trace_result),
-- so that one call can mark the set a trace returned and the health
-- authority can read back what was traced.
--
-- Both tables are keyed by trace_id: a trace's rows are written together,
-- read together and marked together, never joined across traces. For Citus
-- both are distributed by trace_id and co-located (the foreign key includes
-- the distribution column), so writing, reading and marking one trace is a
-- single-shard transaction (see doc/tracing.md).
-- (created once: later changes go to sql/updates/)

CREATE TABLE trace_audit (
    trace_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    traced_by    name NOT NULL DEFAULT session_user,
    traced_at    timestamptz NOT NULL DEFAULT now(),
    person_id    bigint NOT NULL,            -- the case
    trace_window interval NOT NULL,          -- two scans at one venue this close are an encounter
    from_at      timestamptz NOT NULL,       -- the case's scans in [from_at, to_at]
    to_at        timestamptz NOT NULL,
    second_ring  boolean NOT NULL,
    returned     integer NOT NULL DEFAULT 0, -- how many people came back
    ring1        integer NOT NULL DEFAULT 0,
    ring2        integer,                    -- NULL: the second ring was not asked for
    marked_at    timestamptz,                -- the last mark_traced_contacts of this trace
    marked_by    name,
    marked       integer NOT NULL DEFAULT 0, -- people marked from this trace
    CONSTRAINT trace_audit_range CHECK (from_at < to_at),
    CONSTRAINT trace_audit_counts CHECK (returned = ring1 + coalesce(ring2, 0) AND (ring2 IS NULL) = NOT second_ring)
);
COMMENT ON TABLE healthpass.trace_audit IS
    'every contact trace: who traced which case, when, the window and range, how many came back, and the marking';
SELECT pg_catalog.pg_extension_config_dump('trace_audit', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.trace_audit', 'trace_id'), '');

CREATE TABLE trace_result (
    trace_id      bigint NOT NULL REFERENCES trace_audit ON DELETE CASCADE,
    person_id     bigint NOT NULL,
    ring          smallint NOT NULL CHECK (ring IN (1, 2)),
    encounters    integer NOT NULL,          -- this person's scans within the window of a scan of the source
    closest_gap   interval NOT NULL,
    source_at     timestamptz NOT NULL,      -- the closest encounter: the source's scan (the case, or for
    contact_at    timestamptz NOT NULL,      -- ring 2 the ring-1 contact via_person_id) and this person's
    first_at      timestamptz NOT NULL,      -- this person's first and last scan that met the source
    last_at       timestamptz NOT NULL,
    venue_ids     bigint[] NOT NULL,         -- where they met, in venue_id order
    via_person_id bigint,                    -- ring 2: the ring-1 contact of the closest encounter
    mark_id       bigint,                    -- the risk mark mark_traced_contacts set
    PRIMARY KEY (trace_id, person_id),
    CONSTRAINT trace_result_via CHECK ((ring = 2) = (via_person_id IS NOT NULL))
);
COMMENT ON TABLE healthpass.trace_result IS
    'the people a contact trace returned, ring 1 (met the case) and 2 (met a ring-1 contact afterwards), and their marks';
SELECT pg_catalog.pg_extension_config_dump('trace_result', '');

-- ===== sql/api/63_tracing.sql
-- 63_tracing.sql: contact tracing (issue 11 item 7, role healthpass_health):
-- for a case and a range, everyone who scanned at the same venue within
-- ± the tracing window of one of the case's scans (ring 1) and, when asked,
-- everyone who met a ring-1 contact from that first encounter on (ring 2);
-- one call marks what a trace returned (close and secondary contacts, the
-- existing risk marks, which re-colour them); every trace is audited.
--
-- The cost follows what the case touched, not the size of the history:
-- the case's scans come from the index (person_id, scanned_at), and for
-- each of them the people around it from one index range scan of
-- (venue_id, scanned_at, person_id) in the day partition(s) it falls in.
-- hp_trace_encounters writes that as two LATERAL joins fenced with OFFSET 0,
-- so the planner can only run it as nested loops over those two indexes
-- (doc/tracing.md shows the plan).
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Every pair (a scan of a source person, a scan of someone else at the same
-- venue within ± w of it) for the sources' scans from since[i] to until.
-- One SELECT, LANGUAGE sql, STABLE, no SET: the planner inlines it into the
-- caller's query, where the arguments are known. Names are qualified
-- because it has no search_path of its own; only the SECURITY DEFINER
-- functions below call it.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_trace_encounters(
    sources bigint[], since timestamptz[], until timestamptz, w interval)
    RETURNS TABLE (source_id bigint, person_id bigint, venue_id bigint, source_at timestamptz,
                   contact_at timestamptz, gap interval)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT src.id, o.person_id, c.venue_id, c.scanned_at, o.scanned_at,
           GREATEST(o.scanned_at OPERATOR(pg_catalog.-) c.scanned_at,
                    c.scanned_at OPERATOR(pg_catalog.-) o.scanned_at)
      FROM ROWS FROM (pg_catalog.unnest(sources), pg_catalog.unnest(since)) AS src(id, first_at)
     CROSS JOIN LATERAL (
            -- the source's own scans: index (person_id, scanned_at)
            SELECT s.venue_id, s.scanned_at
              FROM healthpass.scan s
             WHERE s.person_id OPERATOR(pg_catalog.=) src.id
               AND s.scanned_at OPERATOR(pg_catalog.>=) src.first_at
               AND s.scanned_at OPERATOR(pg_catalog.<=) until
            OFFSET 0) c
     CROSS JOIN LATERAL (
            -- everyone at that venue within ± w: index (venue_id, scanned_at, person_id)
            SELECT s.person_id, s.scanned_at
              FROM healthpass.scan s
             WHERE s.venue_id OPERATOR(pg_catalog.=) c.venue_id
               AND s.scanned_at OPERATOR(pg_catalog.>=) (c.scanned_at OPERATOR(pg_catalog.-) w)
               AND s.scanned_at OPERATOR(pg_catalog.<=) (c.scanned_at OPERATOR(pg_catalog.+) w)
               AND s.person_id OPERATOR(pg_catalog.<>) src.id
            OFFSET 0) o
$$;
COMMENT ON FUNCTION healthpass_internal.hp_trace_encounters(bigint[], timestamptz[], timestamptz, interval) IS
    'pairs of scans at one venue within ± w, driven from the sources'' scans (inlined; internal)';

-- Finds one ring and stores it in trace_result: per person met, the number
-- of their scans that met a source, the closest one (gap, both instants,
-- and for ring 2 through whom), the first and last, the venues. The case
-- and, for ring 2, the people of ring 1 are left out. Returns how many.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_trace_ring(
    tid bigint, ring smallint, case_id bigint, sources bigint[], since timestamptz[], until timestamptz, w interval)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO trace_result (trace_id, person_id, ring, encounters, closest_gap, source_at, contact_at,
                              first_at, last_at, venue_ids, via_person_id)
    SELECT tid, m.person_id, hp_trace_ring.ring, count(*)::integer, min(m.gap),
           (array_agg(m.source_at ORDER BY m.gap, m.contact_at, m.source_id))[1],
           (array_agg(m.contact_at ORDER BY m.gap, m.contact_at, m.source_id))[1],
           min(m.contact_at), max(m.contact_at),
           array_agg(DISTINCT m.venue_id ORDER BY m.venue_id),
           CASE WHEN hp_trace_ring.ring = 2
                THEN (array_agg(m.source_id ORDER BY m.gap, m.contact_at, m.source_id))[1] END
      FROM (-- each scan of a person met counts once, with its closest source scan
            SELECT DISTINCT ON (e.person_id, e.venue_id, e.contact_at)
                   e.person_id, e.venue_id, e.contact_at, e.source_id, e.source_at, e.gap
              FROM hp_trace_encounters(sources, since, until, w) e
             WHERE e.person_id <> case_id
               AND (hp_trace_ring.ring = 1
                    OR NOT EXISTS (SELECT FROM trace_result x
                                    WHERE x.trace_id = tid AND x.person_id = e.person_id))
             ORDER BY e.person_id, e.venue_id, e.contact_at, e.gap, e.source_at, e.source_id) m
     GROUP BY m.person_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_trace_ring(bigint, smallint, bigint, bigint[], timestamptz[], timestamptz, interval) IS
    'finds and stores one ring of a trace; returns how many people (internal)';

-- A trace named by its id: 22004 when missing, P0002 when unknown.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_trace_id(tid bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF tid IS NULL THEN
        RAISE EXCEPTION 'trace id is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the trace by the trace_id trace_contacts returned.';
    END IF;
    IF NOT EXISTS (SELECT FROM trace_audit a WHERE a.trace_id = tid) THEN
        RAISE EXCEPTION 'trace % does not exist', tid
            USING ERRCODE = 'no_data_found', DETAIL = 'trace_audit() lists the traces.';
    END IF;
    RETURN tid;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_trace_id(bigint) IS 'a trace id that exists, or 22004/P0002 (internal)';

-- The risk mark a ring is marked with: a contact kind, or none.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_contact_kind(field text, kind text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF kind IS NULL OR kind NOT IN ('close_contact', 'secondary_contact', 'none') THEN
        RAISE EXCEPTION '% "%" is not valid', field, hp_quote(kind)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Traced contacts are marked close_contact or secondary_contact, or none to leave them unmarked.';
    END IF;
    RETURN kind;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_contact_kind(text, text) IS 'close_contact, secondary_contact or none, or 22023 (internal)';

-- The stored result of a trace as the health authority reads it: ring 1
-- first, then by closeness, then by the number of encounters.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_trace_rows(tid bigint)
    RETURNS TABLE (trace_id bigint, rank integer, ring integer, person_ref uuid, name_masked text,
                   encounters integer, closest_gap interval, source_at timestamptz, contact_at timestamptz,
                   first_at timestamptz, last_at timestamptz, venue_ids bigint[], venue_names text[],
                   via_ref uuid, mark_id bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT r.trace_id,
           (row_number() OVER (ORDER BY r.ring, r.closest_gap, r.encounters DESC, r.first_at, r.person_id))::integer,
           r.ring::integer, p.public_ref, mask_name(p.name), r.encounters, r.closest_gap, r.source_at, r.contact_at,
           r.first_at, r.last_at, r.venue_ids,
           (SELECT array_agg(v.name ORDER BY x.ord)
              FROM unnest(r.venue_ids) WITH ORDINALITY x(id, ord) LEFT JOIN venue v ON v.venue_id = x.id),
           via.public_ref, r.mark_id
      FROM trace_result r
      JOIN person p ON p.person_id = r.person_id
      LEFT JOIN person via ON via.person_id = r.via_person_id
     WHERE r.trace_id = tid
     ORDER BY 2
$$;
COMMENT ON FUNCTION healthpass_internal.hp_trace_rows(bigint) IS 'a stored trace, ranked, with masked names and venue names (internal)';

-- Seed 004 / issue 11 item 7: who met a case. from_at and to_at bound the
-- case's scans (at most 28 days apart, or the scan retention when that is
-- longer); trace_window (1 minute to 1 day, NULL: the database setting
-- trace_window, 30 minutes by default) is how close in time two scans at one
-- venue count as an encounter. Every trace is audited and kept, and every
-- row carries the trace_id that mark_traced_contacts takes.
CREATE OR REPLACE FUNCTION trace_contacts(case_person_id bigint, from_at timestamptz, to_at timestamptz,
                                          trace_window interval DEFAULT NULL, second_ring boolean DEFAULT false)
    RETURNS TABLE (trace_id bigint, rank integer, ring integer, person_ref uuid, name_masked text,
                   encounters integer, closest_gap interval, source_at timestamptz, contact_at timestamptz,
                   first_at timestamptz, last_at timestamptz, venue_ids bigint[], venue_names text[],
                   via_ref uuid)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(case_person_id);
    lo timestamptz := hp_instant('from_at', trace_contacts.from_at);
    hi timestamptz := hp_instant('to_at', trace_contacts.to_at);
    w interval := coalesce(trace_contacts.trace_window, hp_setting('trace_window')::interval);
    keep interval := greatest(interval '28 days', hp_setting('scan_retention')::interval);
    tid bigint;
    n1 integer;
    n2 integer;
    s2 record;
BEGIN
    IF w < interval '1 minute' OR w > interval '1 day' THEN
        RAISE EXCEPTION 'tracing window "%" is out of range', hp_quote(w::text)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The tracing window lies between 1 minute and 1 day (NULL: the setting trace_window).';
    END IF;
    IF lo >= hi THEN
        RAISE EXCEPTION 'tracing range "%" to "%" is empty', lo, hi
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A trace runs from an earlier instant to a later one.';
    END IF;
    IF hi - lo > keep THEN
        RAISE EXCEPTION 'tracing range "%" to "%" is longer than %', lo, hi, keep
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('A trace covers at most %s of scans (28 days, or the scan retention when longer).', keep);
    END IF;
    IF trace_contacts.second_ring IS NULL THEN
        RAISE EXCEPTION 'second_ring is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Say whether to trace the second ring (true or false).';
    END IF;
    INSERT INTO trace_audit AS a (person_id, trace_window, from_at, to_at, second_ring, ring2)
    VALUES (p.person_id, w, lo, hi, trace_contacts.second_ring,
            CASE WHEN trace_contacts.second_ring THEN 0 END)
    RETURNING a.trace_id INTO tid;
    n1 := hp_trace_ring(tid, 1::smallint, p.person_id, ARRAY[p.person_id], ARRAY[lo], hi, w);
    IF trace_contacts.second_ring THEN
        -- a ring-1 contact passes it on from their first encounter with the case
        SELECT array_agg(r.person_id ORDER BY r.person_id) AS ids, array_agg(r.first_at ORDER BY r.person_id) AS ats
          INTO s2
          FROM trace_result r WHERE r.trace_id = tid AND r.ring = 1;
        n2 := CASE WHEN s2.ids IS NULL THEN 0
                   ELSE hp_trace_ring(tid, 2::smallint, p.person_id, s2.ids, s2.ats, hi, w) END;
    END IF;
    UPDATE trace_audit a SET ring1 = n1, ring2 = n2, returned = n1 + coalesce(n2, 0) WHERE a.trace_id = tid;
    -- the server log keeps a line even when the caller rolls the trace back
    RAISE LOG 'healthpass: trace % of person % by % (window %, % to %): % people',
              tid, p.person_id, session_user, w, lo, hi, n1 + coalesce(n2, 0);
    RETURN QUERY
        SELECT r.trace_id, r.rank, r.ring, r.person_ref, r.name_masked, r.encounters, r.closest_gap, r.source_at,
               r.contact_at, r.first_at, r.last_at, r.venue_ids, r.venue_names, r.via_ref
          FROM hp_trace_rows(tid) r;
END
$$;
COMMENT ON FUNCTION healthpass.trace_contacts(bigint, timestamptz, timestamptz, interval, boolean) IS
    'contact tracing: everyone at the same venue within ± the window of the case''s scans (and optionally the second ring), ranked; audited';

-- A stored trace read again (the health authority's list of a trace).
CREATE OR REPLACE FUNCTION trace_result(trace_id bigint)
    RETURNS TABLE (trace_id bigint, rank integer, ring integer, person_ref uuid, name_masked text,
                   encounters integer, closest_gap interval, source_at timestamptz, contact_at timestamptz,
                   first_at timestamptz, last_at timestamptz, venue_ids bigint[], venue_names text[],
                   via_ref uuid, mark_id bigint)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT r.* FROM hp_trace_rows(hp_trace_id(trace_result.trace_id)) r
$$;
COMMENT ON FUNCTION healthpass.trace_result(bigint) IS 'the people a trace returned, as trace_contacts returned them, with the mark each was given';

-- One call marks the set a trace returned: ring 1 as `kind` (close contacts
-- by default), ring 2 as `second_ring_kind` (secondary contacts), valid
-- from now for `valid_for` (14 days), through set_risk_mark, whose trigger
-- re-colours each of them at once (close contact red, secondary contact
-- yellow under the default rules). People of the trace who were marked
-- from it already are skipped, so a second call (or a concurrent one, which
-- waits for the first) marks nobody twice; "none" leaves a ring for later.
-- Returns how many people were marked.
CREATE OR REPLACE FUNCTION mark_traced_contacts(trace_id bigint, kind text DEFAULT 'close_contact',
                                                second_ring_kind text DEFAULT 'secondary_contact',
                                                valid_for interval DEFAULT '14 days', note text DEFAULT NULL)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    tid bigint := hp_trace_id(mark_traced_contacts.trace_id);
    k1 text := hp_contact_kind('kind', mark_traced_contacts.kind);
    k2 text := hp_contact_kind('second_ring_kind', mark_traced_contacts.second_ring_kind);
    why text := hp_text('note', mark_traced_contacts.note, 500, false, true);
    until timestamptz;
    r record;
    n integer := 0;
BEGIN
    IF valid_for IS NULL OR valid_for < interval '1 hour' OR valid_for > interval '30 days' THEN
        RAISE EXCEPTION 'mark validity "%" is out of range', hp_quote(valid_for::text)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Contact marks last from 1 hour to 30 days (14 days by default).';
    END IF;
    until := now() + valid_for;
    -- one marker of a trace at a time; the second sees what the first marked
    PERFORM FROM trace_audit a WHERE a.trace_id = tid FOR UPDATE;
    FOR r IN SELECT t.person_id, t.ring FROM trace_result t
              WHERE t.trace_id = tid AND t.mark_id IS NULL
                AND CASE t.ring WHEN 1 THEN k1 ELSE k2 END <> 'none'
              ORDER BY t.person_id
    LOOP
        UPDATE trace_result t
           SET mark_id = set_risk_mark(r.person_id, CASE r.ring WHEN 1 THEN k1 ELSE k2 END, now(), until,
                                       coalesce(why, format('contact trace %s, ring %s', tid, r.ring)))
         WHERE t.trace_id = tid AND t.person_id = r.person_id;
        n := n + 1;
    END LOOP;
    IF n > 0 THEN
        UPDATE trace_audit a SET marked = a.marked + n, marked_at = now(), marked_by = session_user
         WHERE a.trace_id = tid;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass.mark_traced_contacts(bigint, text, text, interval, text) IS
    'mark the people a trace returned (ring 1 close_contact, ring 2 secondary_contact by default, for 14 days), which re-colours them; returns how many';

-- The audit of traces, newest first: readable by the health authority only.
CREATE OR REPLACE FUNCTION trace_audit(max_rows integer DEFAULT 100)
    RETURNS TABLE (trace_id bigint, traced_by name, traced_at timestamptz, case_person_id bigint, case_ref uuid,
                   case_name_masked text, trace_window interval, from_at timestamptz, to_at timestamptz,
                   second_ring boolean, returned integer, ring1 integer, ring2 integer,
                   marked integer, marked_at timestamptz, marked_by name)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'max_rows % is out of range', coalesce(max_rows::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The audit is read 1 to 10000 traces at a time.';
    END IF;
    RETURN QUERY
        SELECT a.trace_id, a.traced_by, a.traced_at, a.person_id, p.public_ref, mask_name(p.name), a.trace_window,
               a.from_at, a.to_at, a.second_ring, a.returned, a.ring1, a.ring2, a.marked, a.marked_at, a.marked_by
          FROM trace_audit a JOIN person p ON p.person_id = a.person_id
         ORDER BY a.trace_id DESC
         LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION healthpass.trace_audit(integer) IS
    'every contact trace, newest first: who traced which case, when, window, range, how many came back and were marked';

GRANT EXECUTE ON FUNCTION healthpass.trace_contacts(bigint, timestamptz, timestamptz, interval, boolean),
                          healthpass.trace_result(bigint),
                          healthpass.mark_traced_contacts(bigint, text, text, interval, text),
                          healthpass.trace_audit(integer)
    TO healthpass_health, healthpass_admin;

-- ===== sql/schema/70_border.sql
-- 70_border.sql: travel documents, the electronic HK/Macau permit,
-- endorsements, ports, crossings and the document-free channel's consent
-- and enrolment (seeds 001 and 003).
--
-- Every personal table carries person_id first in its primary key and in
-- every unique key; a travel document is found by its number through
-- travel_document_index (keyed by the number), never by scanning. Ports,
-- enrolment points and acceptance points are small shared reference data.
-- Dates on documents and endorsements are days in China Standard Time: a
-- document "valid until 2030-05-01" stops at 2030-05-02 00:00 +08 (the
-- instant kept in expires_at, which every check compares against).
-- (created once: later changes go to sql/updates/)

-- Reference data -------------------------------------------------------------

-- Border ports between the mainland and Hong Kong / Macau. document_free_from
-- is the day a port's "document-free" face channel opened (seed 003: Shenzhen
-- Bay and Gongbei from 2024-11-20); NULL where there is none.
CREATE TABLE port (
    port_code          text PRIMARY KEY CHECK (port_code ~ '^[a-z][a-z0-9_]{1,39}$'),
    name               text NOT NULL,
    name_zh            text NOT NULL,
    city               text NOT NULL,
    regions            text[] NOT NULL CHECK (regions <@ ARRAY['HK', 'MO'] AND cardinality(regions) > 0),
    document_free_from date
);
COMMENT ON TABLE healthpass.port IS 'border ports to Hong Kong and Macau; document_free_from: the day the face channel opened there';
INSERT INTO port (port_code, name, name_zh, city, regions, document_free_from) VALUES
    ('shenzhen_bay', 'Shenzhen Bay', '深圳湾口岸', '深圳市', ARRAY['HK'], DATE '2024-11-20'),
    ('gongbei', 'Gongbei', '拱北口岸', '珠海市', ARRAY['MO'], DATE '2024-11-20'),
    ('luohu', 'Luohu', '罗湖口岸', '深圳市', ARRAY['HK'], NULL),
    ('futian', 'Futian', '福田口岸', '深圳市', ARRAY['HK'], NULL),
    ('huanggang', 'Huanggang', '皇岗口岸', '深圳市', ARRAY['HK'], NULL),
    ('lianhuashan', 'Lianhuashan', '莲花山口岸', '广州市', ARRAY['HK'], NULL),
    ('hzmb_zhuhai', 'Hong Kong-Zhuhai-Macao Bridge (Zhuhai)', '港珠澳大桥珠海公路口岸', '珠海市', ARRAY['HK', 'MO'], NULL),
    ('hengqin', 'Hengqin', '横琴口岸', '珠海市', ARRAY['MO'], NULL),
    ('qingmao', 'Qingmao', '青茂口岸', '珠海市', ARRAY['MO'], NULL);

-- Where people who did not leave face and fingerprints with their permit
-- application enrol for the document-free channel (seed 003: information
-- collection points at the two pilot ports).
CREATE TABLE enrolment_point (
    point_code text PRIMARY KEY CHECK (point_code ~ '^[a-z][a-z0-9_]{1,39}$'),
    port_code  text NOT NULL REFERENCES port,
    name       text NOT NULL
);
COMMENT ON TABLE healthpass.enrolment_point IS 'biometric enrolment points for the document-free channel (seed 003)';
INSERT INTO enrolment_point (point_code, port_code, name) VALUES
    ('shenzhen_bay_collection', 'shenzhen_bay', '深圳湾口岸边检快捷通关信息采集点'),
    ('gongbei_collection', 'gongbei', '拱北口岸边检快捷通关信息采集点');

-- Trusted acceptance points (可信受理点) where a resident ID card's online
-- credential is activated when face recognition cannot pass (seed 001: 45 in
-- Guangzhou, "other cities to follow").
CREATE TABLE acceptance_point (
    point_id integer GENERATED BY DEFAULT AS IDENTITY (START WITH 1000) PRIMARY KEY,
    city     text NOT NULL,
    district text NOT NULL,
    address  text NOT NULL
);
COMMENT ON TABLE healthpass.acceptance_point IS 'trusted acceptance points activating the ID card''s online credential (seed 001)';
-- the seed's points are 1-45; points an administrator adds (from 1000) are dumped
SELECT pg_catalog.pg_extension_config_dump('acceptance_point', 'WHERE point_id >= 1000');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.acceptance_point', 'point_id'), '');
CREATE INDEX acceptance_point_district ON acceptance_point (city, district);
INSERT INTO acceptance_point (point_id, city, district, address) OVERRIDING SYSTEM VALUE VALUES
    (1, '广州市', '南沙区', '港前大道北 93 号南沙公安分局'),
    (2, '广州市', '南沙区', '南沙街道政务服务中心'),
    (3, '广州市', '南沙区', '珠江街珠江西二路珠江街政务中心'),
    (4, '广州市', '南沙区', '奥园中环广场 D3 栋'),
    (5, '广州市', '南沙区', '进港大道 22 号奥园金莎广场 1 层联通营业厅'),
    (6, '广州市', '越秀区', '长提路购物休闲街海珠南路 203 号喜洋洋'),
    (7, '广州市', '越秀区', '北京街道越华路 112 号一楼大堂 03 号铺'),
    (8, '广州市', '海珠区', '龙凤街道松漱前街 2 号自编 101B 铺美宜佳 B482 店'),
    (9, '广州市', '海珠区', '富全街 1 号之一美宜佳(富全街店)'),
    (10, '广州市', '荔湾区', '岭南街道十八莆路 30 号西光大厦 105 室美宜佳 K040'),
    (11, '广州市', '荔湾区', '中街道河沙路珠岛花园 11 栋美宜佳'),
    (12, '广州市', '番禺区', '石兴大道南美宜佳'),
    (13, '广州市', '番禺区', '南村镇步行街 7 号铺美宜佳 G030 店'),
    (14, '广州市', '番禺区', '洛浦街道上漖西路仓储区前街铺 4319 号美宜佳'),
    (15, '广州市', '番禺区', '大石桥南 105 国道 241 号天福便利店'),
    (16, '广州市', '黄埔区', '大沙街道丰乐北路豫章苑 32 号'),
    (17, '广州市', '黄埔区', '科学城科林路 9-11 号广电运通'),
    (18, '广州市', '萝岗区', '开创大道 3329 美宜佳'),
    (19, '广州市', '萝岗区', '开源大道喜士多'),
    (20, '广州市', '萝岗区', '刘村路喜士多'),
    (21, '广州市', '白云区', '鹤边员村军民中路 2 号佰士乐'),
    (22, '广州市', '白云区', '新市街道广花四路高田街 1 号铺美宜佳'),
    (23, '广州市', '白云区', '太和镇大源北路 29 号涉外大厦一楼 1 号铺美宜佳'),
    (24, '广州市', '白云区', '嘉禾街道彭边村西 6 巷 1 号美宜佳'),
    (25, '广州市', '白云区', '棠景街道和馨雅居美宜佳'),
    (26, '广州市', '白云区', '乐嘉路 A1-15 号美宜佳'),
    (27, '广州市', '白云区', '城区槎头增槎路江南市场五号门佰士乐'),
    (28, '广州市', '白云区', '白云湖街道为夏茅向东街 1 巷 11 号佰士乐'),
    (29, '广州市', '白云区', '新市街道齐富路 338 号美宜佳'),
    (30, '广州市', '白云区', '白山西路 54 号美宜佳'),
    (31, '广州市', '白云区', '太和镇大源中路大源山庄权属楼房 455、457 号美宜佳'),
    (32, '广州市', '白云区', '嘉禾望岗地铁 C 出口长水工业区门口天福便利店'),
    (33, '广州市', '白云区', '白云大道北 1396 号佰士乐'),
    (34, '广州市', '白云区', '永平街道东平北路永平大厦南 B 铺美宜佳'),
    (35, '广州市', '白云区', '西岭路 171 号佰士乐'),
    (36, '广州市', '天河区', '中山大道科韵路 33-49 号方圆时光 E 东座 1 楼'),
    (37, '广州市', '天河区', '体育西路 103 号轻创公司'),
    (38, '广州市', '天河区', '长兴街道岑村东外街 1 号美宜佳 K090 店'),
    (39, '广州市', '天河区', '黄村街道天雅居 B1 栋 01-02 号美宜佳'),
    (40, '广州市', '天河区', '黄村街道中山大道东龙怡苑第三期一楼一号档口美宜佳'),
    (41, '广州市', '天河区', '黄村街道黄村大道 2 号 1123 铺美宜佳'),
    (42, '广州市', '天河区', '黄村街道黄村东路导航台综合楼 101(禾花路自编 1 号铺)'),
    (43, '广州市', '天河区', '黄村街道荔苑路 3 号名圃新村 C 栋首层楼 101 美宜佳'),
    (44, '广州市', '天河区', '石牌街道天河东路 168 号美宜佳'),
    (45, '广州市', '天河区', '龙洞东路 220 号美宜佳');

-- Travel documents -----------------------------------------------------------

-- A person's travel documents: the Exit-Entry Permit for Hong Kong and Macau
-- (hk_macau_permit), the Mainland Travel Permit for HK/Macau residents
-- (home_return_permit), Chinese and foreign passports. official marks a
-- document for public business (因公: official, service or diplomatic
-- passports, official-business permits), which the document-free channel
-- excludes. status is what the issuing system said; expiry is read from
-- expires_at. A new document of the same kind and use replaces the old.
CREATE TABLE travel_document (
    person_id         bigint NOT NULL,
    document_id       bigint GENERATED ALWAYS AS IDENTITY,
    doc_kind          text NOT NULL CHECK (doc_kind IN ('hk_macau_permit', 'home_return_permit', 'cn_passport', 'passport')),
    doc_number        text NOT NULL,          -- normalised by normalize_document
    official          boolean NOT NULL DEFAULT false,
    issuing_authority text NOT NULL,
    issuing_province  text CHECK (issuing_province ~ '^[1-8][0-9]$'),  -- GB/T 2260 code, '44' Guangdong
    issued_on         date NOT NULL,
    valid_until       date NOT NULL,
    expires_at        timestamptz NOT NULL,   -- valid_until + 1 day, 00:00 China Standard Time
    status            text NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'reported_lost', 'replaced')),
    replaced_by       bigint,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, document_id),
    CHECK (valid_until >= issued_on),
    CHECK (status <> 'replaced' OR replaced_by IS NOT NULL)
);
COMMENT ON TABLE healthpass.travel_document IS
    'travel documents of a person (permits, passports): number, issuer, dates, status; official = for public business';
-- one current document of a kind and use per person
CREATE UNIQUE INDEX travel_document_current ON travel_document (person_id, doc_kind, official) WHERE status = 'valid';

-- (kind, number) -> the document: the only way to find one by its number
CREATE TABLE travel_document_index (
    doc_kind    text NOT NULL,
    doc_number  text NOT NULL,
    person_id   bigint NOT NULL,
    document_id bigint NOT NULL,
    PRIMARY KEY (doc_kind, doc_number)
);
COMMENT ON TABLE healthpass.travel_document_index IS 'look-up of a travel document by kind and normalised number';

-- Endorsements (签注) on a permit: region, type, entries (1, 2 or NULL for
-- multiple), the days, the stay allowed. as_of is when the issuing system
-- last confirmed the counts: the electronic permit shows it, because "the
-- remaining entries are for reference and may lag" (seed 001).
CREATE TABLE endorsement (
    person_id       bigint NOT NULL,
    endorsement_id  bigint GENERATED ALWAYS AS IDENTITY,
    document_id     bigint NOT NULL,
    region          text NOT NULL CHECK (region IN ('HK', 'MO')),
    endorsement_type text NOT NULL CHECK (endorsement_type IN ('T', 'S', 'L', 'G', 'R', 'Q', 'D')),
    entries_allowed integer CHECK (entries_allowed IN (1, 2)),   -- NULL: multiple entries
    entries_used    integer NOT NULL DEFAULT 0,
    valid_from      date NOT NULL,
    valid_until     date NOT NULL,
    starts_at       timestamptz NOT NULL,     -- valid_from, 00:00 China Standard Time
    expires_at      timestamptz NOT NULL,     -- valid_until + 1 day, 00:00 China Standard Time
    days_per_stay   integer NOT NULL CHECK (days_per_stay BETWEEN 1 AND 3650),
    issued_via      text NOT NULL DEFAULT 'office' CHECK (issued_via IN ('office', 'online_renewal')),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'replaced', 'cancelled')),
    replaced_by     bigint,
    as_of           timestamptz NOT NULL DEFAULT now(),
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, endorsement_id),
    FOREIGN KEY (person_id, document_id) REFERENCES travel_document,
    CHECK (valid_until >= valid_from),
    CHECK (entries_used >= 0 AND (entries_allowed IS NULL OR entries_used <= entries_allowed)),
    CHECK (status <> 'replaced' OR replaced_by IS NOT NULL)
) WITH (fillfactor = 80);   -- every exit updates its row: room for heap-only updates
COMMENT ON TABLE healthpass.endorsement IS
    'endorsements on a permit: region, type, entries allowed (NULL = multiple) and used, validity, days per stay';
-- one active endorsement per region on a document
CREATE UNIQUE INDEX endorsement_current ON endorsement (person_id, document_id, region) WHERE status = 'active';

-- The electronic HK/Macau permit (seed 001): one per person, bound to a
-- Guangdong-issued hk_macau_permit after real-name and face checks.
CREATE TABLE electronic_permit (
    person_id       bigint PRIMARY KEY,
    document_id     bigint NOT NULL,
    face_check_id   bigint NOT NULL,
    liveness_method text NOT NULL CHECK (liveness_method IN ('read_digits', 'head_motion', 'silent')),
    bound_at        timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (person_id, document_id) REFERENCES travel_document
);
COMMENT ON TABLE healthpass.electronic_permit IS 'electronic HK/Macau permits (seed 001), one per person';

-- Every binding attempt and its outcome: bound, retry (the issuing system
-- did not know the document yet: retry after retry_after) or refused.
CREATE TABLE permit_binding (
    person_id    bigint NOT NULL,
    attempt_id   bigint GENERATED ALWAYS AS IDENTITY,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    outcome      text NOT NULL CHECK (outcome IN ('bound', 'retry', 'refused', 'unbound')),
    reason       text NOT NULL,
    retry_after  timestamptz,
    PRIMARY KEY (person_id, attempt_id),
    CHECK ((outcome = 'retry') = (retry_after IS NOT NULL))
);
COMMENT ON TABLE healthpass.permit_binding IS 'electronic-permit binding attempts and unbindings, with retryable failures';

-- The document-free channel (seed 003) --------------------------------------

-- Consent to the border authority capturing face and fingerprints; a
-- withdrawal ends eligibility at once. Consent given again starts a new row.
CREATE TABLE biometric_consent (
    person_id    bigint NOT NULL,
    consent_id   bigint GENERATED ALWAYS AS IDENTITY,
    given_at     timestamptz NOT NULL DEFAULT now(),
    withdrawn_at timestamptz,
    PRIMARY KEY (person_id, consent_id),
    CHECK (withdrawn_at IS NULL OR withdrawn_at >= given_at)
);
COMMENT ON TABLE healthpass.biometric_consent IS 'consent to face and fingerprint capture for the document-free channel';
CREATE UNIQUE INDEX biometric_consent_current ON biometric_consent (person_id) WHERE withdrawn_at IS NULL;

-- Enrolment: a reference into the border system's template store, never a
-- face or a fingerprint. source: the permit application (the issuing system
-- kept them) or an enrolment point (with its operator).
CREATE TABLE biometric_enrolment (
    person_id     bigint NOT NULL,
    enrolment_id  bigint GENERATED ALWAYS AS IDENTITY,
    source        text NOT NULL CHECK (source IN ('permit_application', 'enrolment_point')),
    point_code    text REFERENCES enrolment_point,
    operator      text,
    template_ref  text NOT NULL,
    enrolled_at   timestamptz NOT NULL DEFAULT now(),
    withdrawn_at  timestamptz,
    PRIMARY KEY (person_id, enrolment_id),
    CHECK ((source = 'enrolment_point') = (point_code IS NOT NULL AND operator IS NOT NULL))
);
COMMENT ON TABLE healthpass.biometric_enrolment IS
    'biometric enrolments: a reference to the border system''s template store (no raw biometrics), where and by whom';
CREATE UNIQUE INDEX biometric_enrolment_current ON biometric_enrolment (person_id) WHERE withdrawn_at IS NULL;

-- Crossings ------------------------------------------------------------------

-- Every crossing of the mainland's border control: direction relative to
-- the mainland (exit: leaving for HK/Macau; entry: coming back or coming
-- in), the channel, the document used and, for a mainland resident's exit,
-- the endorsement whose entry it used. An entry records how long the stay
-- lasted and by how many days it overran the endorsement's days per stay.
CREATE TABLE crossing (
    person_id      bigint NOT NULL,
    crossing_id    bigint GENERATED ALWAYS AS IDENTITY,
    port_code      text NOT NULL REFERENCES port,
    direction      text NOT NULL CHECK (direction IN ('exit', 'entry')),
    region         text NOT NULL CHECK (region IN ('HK', 'MO')),
    channel        text NOT NULL CHECK (channel IN ('document_free', 'e_channel', 'manual', 'self_service')),
    crossed_at     timestamptz NOT NULL,
    document_id    bigint NOT NULL,
    endorsement_id bigint,
    stay_days      integer,
    overstay_days  integer,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, crossing_id),
    FOREIGN KEY (person_id, document_id) REFERENCES travel_document,
    CHECK (direction = 'exit' OR endorsement_id IS NULL),
    CHECK (channel <> 'document_free' OR direction = 'entry')
);
COMMENT ON TABLE healthpass.crossing IS
    'crossings of the mainland border: port, direction, channel, instant, document and endorsement used, overstay on return';
-- a person's crossings by time (record certificates, the latest at a port)
CREATE INDEX crossing_person_time ON crossing (person_id, crossed_at);

SELECT pg_catalog.pg_extension_config_dump('travel_document', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.travel_document', 'document_id'), '');
SELECT pg_catalog.pg_extension_config_dump('travel_document_index', '');
SELECT pg_catalog.pg_extension_config_dump('endorsement', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.endorsement', 'endorsement_id'), '');
SELECT pg_catalog.pg_extension_config_dump('electronic_permit', '');
SELECT pg_catalog.pg_extension_config_dump('permit_binding', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.permit_binding', 'attempt_id'), '');
SELECT pg_catalog.pg_extension_config_dump('biometric_consent', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.biometric_consent', 'consent_id'), '');
SELECT pg_catalog.pg_extension_config_dump('biometric_enrolment', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.biometric_enrolment', 'enrolment_id'), '');
SELECT pg_catalog.pg_extension_config_dump('crossing', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.crossing', 'crossing_id'), '');

-- ===== sql/api/70_border.sql
-- 70_border.sql: travel documents, endorsements, the electronic HK/Macau
-- permit (seed 001), the document-free channel's consent, enrolment and
-- eligibility, and crossings of the mainland border (seed 003).
--
-- Who calls what:
--   healthpass_border  the exit-entry administration's feed (documents,
--                      endorsements, lost reports), enrolment points and the
--                      border gates (crossings)
--   healthpass_app     the traveller's app: bind and view the electronic
--                      permit, renew an endorsement online, consent, check
--                      eligibility, find an acceptance point
-- Refusals at a gate are answers, not errors: cross_border returns
-- passed = false with a named refusal and records nothing.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Days and instants -----------------------------------------------------------

-- Documents and endorsements are dated in China Standard Time: a day's
-- first instant there.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_cst_day_start(d date) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (d::timestamp AT TIME ZONE 'Asia/Shanghai');
COMMENT ON FUNCTION healthpass_internal.hp_cst_day_start(date) IS 'the first instant of a day in China Standard Time (internal)';

-- The day an instant falls on in China Standard Time.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_cst_day(t timestamptz) RETURNS date
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (t AT TIME ZONE 'Asia/Shanghai')::date;
COMMENT ON FUNCTION healthpass_internal.hp_cst_day(timestamptz) IS 'the China Standard Time day of an instant (internal)';

-- A checked day: present, between 1900 and 9999 (22008 otherwise).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_day(field text, value date) RETURNS date
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% is missing', field
            USING ERRCODE = 'null_value_not_allowed', DETAIL = format('Give the %s as a date.', field);
    END IF;
    IF NOT isfinite(value) OR value < DATE '1900-01-01' OR value > DATE '9999-12-30' THEN
        RAISE EXCEPTION '% "%" is out of range', field, value
            USING ERRCODE = 'datetime_field_overflow', DETAIL = format('The %s lies between the years 1900 and 9999.', field);
    END IF;
    RETURN value;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_day(text, date) IS 'checked date: present and finite (internal)';

-- Reference data ---------------------------------------------------------------

CREATE OR REPLACE FUNCTION ports()
    RETURNS TABLE (port_code text, name text, name_zh text, city text, regions text[], document_free_from date)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT p.port_code, p.name, p.name_zh, p.city, p.regions, p.document_free_from
      FROM port p ORDER BY p.port_code
$$;
COMMENT ON FUNCTION healthpass.ports() IS
    'border ports to Hong Kong and Macau, the regions each serves and when its document-free channel opened';

CREATE OR REPLACE FUNCTION enrolment_points()
    RETURNS TABLE (point_code text, port_code text, name text)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT e.point_code, e.port_code, e.name FROM enrolment_point e ORDER BY e.point_code
$$;
COMMENT ON FUNCTION healthpass.enrolment_points() IS 'where people enrol face and fingerprints for the document-free channel';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_port(code text) RETURNS port
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p port;
BEGIN
    SELECT * INTO p FROM port WHERE port_code = code;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'port "%" does not exist', hp_quote(code)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'ports() lists the ports by their code, for example "shenzhen_bay".';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_port(text) IS 'port row, or 22023 (internal)';

-- Trusted acceptance points of a city, of one district or all, for the
-- traveller whose face recognition cannot pass (seed 001). A district
-- matches with or without its "区" (天河 or 天河区).
CREATE OR REPLACE FUNCTION trusted_acceptance_points(district text DEFAULT NULL, city text DEFAULT '广州市')
    RETURNS SETOF acceptance_point
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    d text := nullif(btrim(hp_text('district', trusted_acceptance_points.district, 50)), '');
    c text := btrim(hp_text('city', trusted_acceptance_points.city, 50));
BEGIN
    IF c IS NULL OR c = '' THEN
        RAISE EXCEPTION 'city is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the city, for example 广州市.';
    END IF;
    RETURN QUERY
        SELECT a.*
          FROM acceptance_point a
         WHERE (a.city = c OR a.city = c || '市')
           AND (d IS NULL OR a.district = d OR a.district = d || '区')
         ORDER BY a.district, a.point_id;
END
$$;
COMMENT ON FUNCTION healthpass.trusted_acceptance_points(text, text) IS
    'trusted acceptance points (可信受理点) of a city, optionally of one district, where the ID card''s online credential is activated';

CREATE OR REPLACE FUNCTION add_acceptance_point(city text, district text, address text) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    id integer;
BEGIN
    INSERT INTO acceptance_point (city, district, address)
    VALUES (hp_clean_place('city', add_acceptance_point.city), hp_clean_place('district', add_acceptance_point.district),
            hp_clean_place('address', add_acceptance_point.address))
    RETURNING point_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION healthpass.add_acceptance_point(text, text, text) IS
    'add a trusted acceptance point (other cities follow, seed 001); returns its id';

-- Travel documents ---------------------------------------------------------------

CREATE OR REPLACE FUNCTION healthpass_internal.hp_travel_kinds() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['hk_macau_permit', 'home_return_permit', 'cn_passport', 'passport'];
COMMENT ON FUNCTION healthpass_internal.hp_travel_kinds() IS 'document kinds a travel document can be (internal)';

-- The canonical number of a travel document, or the error (masked).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_travel_number(kind text, number text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
RETURN healthpass_internal.hp_document_number(kind, number, healthpass_internal.hp_travel_kinds(), 'is not a travel document');
COMMENT ON FUNCTION healthpass_internal.hp_travel_number(text, text) IS 'canonical travel document number, or 22023 with the number masked (internal)';

-- A person's document by id, or P0002.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_get_document(pid bigint, did bigint) RETURNS travel_document
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    d travel_document;
BEGIN
    IF did IS NULL THEN
        RAISE EXCEPTION 'document id is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the document by its document_id.';
    END IF;
    SELECT * INTO d FROM travel_document t WHERE t.person_id = pid AND t.document_id = did;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'document % of person % does not exist', did, pid
            USING ERRCODE = 'no_data_found', DETAIL = 'travel_documents() lists a person''s documents.';
    END IF;
    RETURN d;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_get_document(bigint, bigint) IS 'a person''s travel document, or P0002 (internal)';

-- What a document is at an instant: valid, expired, reported_lost or replaced.
-- It takes the columns it reads, not the row: a query routed to a Citus shard
-- reads the shard's rows (travel_document_102105), whose row type is not
-- travel_document.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_document_state(status text, expires_at timestamptz, issued_on date,
                                                                 at_time timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN status <> 'valid' THEN status
            WHEN at_time >= expires_at THEN 'expired'
            WHEN at_time < hp_cst_day_start(issued_on) THEN 'not_yet_issued'
            ELSE 'valid' END;
COMMENT ON FUNCTION healthpass_internal.hp_document_state(text, timestamptz, date, timestamptz) IS
    'valid, expired, reported_lost, replaced or not_yet_issued at an instant, from the document''s status, expiry and issue day (internal)';

-- The exit-entry administration records a document it issued. A document of
-- the same kind and use replaces the person's current one: its endorsements
-- are cancelled, and an electronic permit bound to it moves to the new card
-- when that is still a Guangdong permit, else it is unbound. biometric_ref
-- is set when the applicant left face and fingerprints with the application
-- (seed 003: enrolled already): a reference into the template store.
CREATE OR REPLACE FUNCTION record_travel_document(
    person_id bigint, doc_kind text, doc_number text, issuing_authority text,
    issued_on date, valid_until date, issuing_province text DEFAULT NULL,
    official boolean DEFAULT false, biometric_ref text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    number text := hp_travel_number(doc_kind, doc_number);
    authority text := nullif(btrim(hp_text('issuing authority', issuing_authority, 100)), '');
    old travel_document;
    did bigint;
BEGIN
    IF authority IS NULL THEN
        RAISE EXCEPTION 'issuing authority is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the authority that issued the document.';
    END IF;
    PERFORM hp_day('issue date', issued_on), hp_day('expiry date', valid_until);
    IF valid_until < issued_on THEN
        RAISE EXCEPTION 'document expiry date % is before its issue date %', valid_until, issued_on
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A document is valid from its issue date to its expiry date.';
    END IF;
    IF issued_on > hp_cst_day(now()) THEN
        RAISE EXCEPTION 'document issue date % is in the future', issued_on
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A document is recorded once it has been issued.';
    END IF;
    IF issuing_province IS NOT NULL AND issuing_province !~ '^[1-8][0-9]$' THEN
        RAISE EXCEPTION 'issuing province "%" is not valid', hp_quote(issuing_province)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A province is its two-digit GB/T 2260 code, for example 44 for Guangdong.';
    END IF;
    IF issuing_province IS NOT NULL AND doc_kind IN ('home_return_permit', 'passport') THEN
        RAISE EXCEPTION 'a % has no issuing province', doc_kind
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Only mainland permits and passports are issued by a province''s exit-entry administration.';
    END IF;
    IF official IS NULL THEN
        RAISE EXCEPTION 'official is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Say whether the document is for public business (true) or private travel (false).';
    END IF;
    IF official AND doc_kind IN ('home_return_permit', 'passport') THEN
        RAISE EXCEPTION 'a % is not issued for public business', doc_kind
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Official documents are mainland passports and permits issued for public business.';
    END IF;
    IF EXISTS (SELECT 1 FROM travel_document_index i WHERE i.doc_kind = record_travel_document.doc_kind AND i.doc_number = number) THEN
        RAISE EXCEPTION '% "%" is already recorded', doc_kind, hp_mask_document(doc_kind, number)
            USING ERRCODE = 'unique_violation', DETAIL = 'A document number is issued once; a new document has a new number.';
    END IF;
    SELECT * INTO old FROM travel_document t
     WHERE t.person_id = p.person_id AND t.doc_kind = record_travel_document.doc_kind
       AND t.official = record_travel_document.official AND t.status = 'valid'
       FOR UPDATE;
    -- the old one steps aside (naming its successor) before the new one is
    -- current: one current document of a kind and use
    did := nextval(pg_get_serial_sequence('healthpass.travel_document', 'document_id'));
    IF old.document_id IS NOT NULL THEN
        UPDATE travel_document t SET status = 'replaced', replaced_by = did, updated_at = now()
         WHERE t.person_id = p.person_id AND t.document_id = old.document_id;
    END IF;
    INSERT INTO travel_document (person_id, document_id, doc_kind, doc_number, official, issuing_authority, issuing_province,
                                 issued_on, valid_until, expires_at)
    OVERRIDING SYSTEM VALUE
    VALUES (p.person_id, did, doc_kind, number, official, authority, issuing_province,
            issued_on, valid_until, hp_cst_day_start(valid_until + 1));
    INSERT INTO travel_document_index (doc_kind, doc_number, person_id, document_id)
    VALUES (doc_kind, number, p.person_id, did);
    IF old.document_id IS NOT NULL THEN
        PERFORM hp_document_gone(p.person_id, old.document_id, did, 'replaced by a new document');
    END IF;
    IF biometric_ref IS NOT NULL THEN
        PERFORM hp_enrol(p.person_id, 'permit_application', NULL, NULL, biometric_ref);
    END IF;
    RETURN did;
END
$$;
COMMENT ON FUNCTION healthpass.record_travel_document(bigint, text, text, text, date, date, text, boolean, text) IS
    'record a travel document the exit-entry administration issued (replacing the current one of its kind); returns its id';

-- A document stopped being current (replaced, reported lost): its active
-- endorsements are cancelled; an electronic permit bound to it moves to the
-- replacement when that is a Guangdong hk_macau_permit, else is unbound.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_document_gone(pid bigint, did bigint, new_did bigint, why text) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    nd travel_document;
BEGIN
    UPDATE endorsement e SET status = 'cancelled', updated_at = now()
     WHERE e.person_id = pid AND e.document_id = did AND e.status = 'active';
    IF NOT EXISTS (SELECT 1 FROM electronic_permit ep WHERE ep.person_id = pid AND ep.document_id = did) THEN
        RETURN;
    END IF;
    IF new_did IS NOT NULL THEN
        nd := hp_get_document(pid, new_did);
        IF nd.doc_kind = 'hk_macau_permit' AND nd.issuing_province = '44' AND NOT nd.official THEN
            UPDATE electronic_permit ep SET document_id = new_did WHERE ep.person_id = pid;
            RETURN;
        END IF;
    END IF;
    PERFORM hp_unbind_permit(pid, why);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_document_gone(bigint, bigint, bigint, text) IS
    'a document was replaced or lost: cancel its endorsements, move or unbind the electronic permit (internal)';

CREATE OR REPLACE FUNCTION record_document_lost(person_id bigint, document_id bigint) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    d travel_document := hp_get_document(p.person_id, document_id);
BEGIN
    IF d.status <> 'valid' THEN
        RAISE EXCEPTION 'document % is already %', d.document_id, replace(d.status, '_', ' ')
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Only a current document can be reported lost.';
    END IF;
    UPDATE travel_document t SET status = 'reported_lost', updated_at = now()
     WHERE t.person_id = p.person_id AND t.document_id = d.document_id;
    PERFORM hp_document_gone(p.person_id, d.document_id, NULL, 'the document was reported lost');
END
$$;
COMMENT ON FUNCTION healthpass.record_document_lost(bigint, bigint) IS
    'the document was reported lost: it stops being valid, its endorsements are cancelled, an electronic permit on it is unbound';

-- A person's travel documents, newest first, numbers masked, the state now.
CREATE OR REPLACE FUNCTION travel_documents(person_id bigint)
    RETURNS TABLE (document_id bigint, doc_kind text, doc_number_masked text, official boolean,
                   issuing_authority text, issuing_province text, issued_on date, valid_until date,
                   state text, replaced_by bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY
        SELECT t.document_id, t.doc_kind, hp_mask_document(t.doc_kind, t.doc_number), t.official,
               t.issuing_authority, t.issuing_province, t.issued_on, t.valid_until,
               hp_document_state(t.status, t.expires_at, t.issued_on, now()), t.replaced_by
          FROM travel_document t WHERE t.person_id = p.person_id
         ORDER BY t.issued_on DESC, t.document_id DESC;
END
$$;
COMMENT ON FUNCTION healthpass.travel_documents(bigint) IS
    'a person''s travel documents, newest first: kind, masked number, issuer, dates, state now (valid, expired, reported_lost, replaced)';

-- Endorsements -------------------------------------------------------------------

-- entries as given ('1', '2', 'multiple') -> entries_allowed (NULL = multiple)
CREATE OR REPLACE FUNCTION healthpass_internal.hp_entries(entries text) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF entries IN ('1', '2') THEN
        RETURN entries::integer;
    ELSIF entries = 'multiple' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'endorsement entries "%" are not valid', hp_quote(entries)
        USING ERRCODE = 'invalid_parameter_value', DETAIL = 'An endorsement allows 1, 2 or multiple entries: "1", "2" or "multiple".';
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_entries(text) IS 'entries allowed from "1", "2" or "multiple" (NULL) (internal)';

-- Checks an endorsement's fields against its document; returns nothing.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_check_endorsement(
    d travel_document, region text, endorsement_type text, valid_from date, valid_until date, days_per_stay integer)
    RETURNS void
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF d.doc_kind <> 'hk_macau_permit' THEN
        RAISE EXCEPTION 'a % carries no endorsements', d.doc_kind
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Endorsements are put on an exit-entry permit for Hong Kong and Macau.';
    END IF;
    IF hp_document_state(d.status, d.expires_at, d.issued_on, now()) <> 'valid' THEN
        RAISE EXCEPTION 'document % is %', d.document_id, replace(hp_document_state(d.status, d.expires_at, d.issued_on, now()), '_', ' ')
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'An endorsement is put on a valid document.';
    END IF;
    IF region IS NULL OR region NOT IN ('HK', 'MO') THEN
        RAISE EXCEPTION 'endorsement region "%" is not valid', hp_quote(region)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'An endorsement is for Hong Kong ("HK") or Macau ("MO").';
    END IF;
    IF endorsement_type IS NULL OR endorsement_type NOT IN ('T', 'S', 'L', 'G', 'R', 'Q', 'D') THEN
        RAISE EXCEPTION 'endorsement type "%" is not valid', hp_quote(endorsement_type)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The types are T (family visit), S (business), L (group tour), G (individual tour), R (talent), Q (other) and D (stay).';
    END IF;
    PERFORM hp_day('endorsement start', valid_from), hp_day('endorsement end', valid_until);
    IF valid_until < valid_from THEN
        RAISE EXCEPTION 'endorsement end % is before its start %', valid_until, valid_from
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'An endorsement is valid from its start day to its end day.';
    END IF;
    IF valid_until > d.valid_until THEN
        RAISE EXCEPTION 'endorsement end % is after the document expires on %', valid_until, d.valid_until
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'An endorsement cannot outlast the document it is put on.';
    END IF;
    IF days_per_stay IS NULL OR days_per_stay NOT BETWEEN 1 AND 3650 THEN
        RAISE EXCEPTION 'days per stay % are out of range', coalesce(days_per_stay::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'An endorsement allows a stay of 1 to 3650 days each time.';
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_check_endorsement(travel_document, text, text, date, date, integer) IS
    'checks an endorsement''s fields against its document (internal)';

-- Inserts an endorsement, replacing the document's active one for the region.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_put_endorsement(
    d travel_document, region text, endorsement_type text, entries text, valid_from date, valid_until date,
    days_per_stay integer, via text) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    allowed integer := hp_entries(entries);
    old_id bigint;
    eid bigint;
BEGIN
    PERFORM hp_check_endorsement(d, region, endorsement_type, valid_from, valid_until, days_per_stay);
    SELECT e.endorsement_id INTO old_id FROM endorsement e
     WHERE e.person_id = d.person_id AND e.document_id = d.document_id AND e.region = hp_put_endorsement.region
       AND e.status = 'active'
       FOR UPDATE;
    IF old_id IS NOT NULL THEN
        -- the old one steps aside first: one active endorsement per region
        UPDATE endorsement e SET status = 'cancelled', updated_at = now()
         WHERE e.person_id = d.person_id AND e.endorsement_id = old_id;
    END IF;
    INSERT INTO endorsement (person_id, document_id, region, endorsement_type, entries_allowed, valid_from, valid_until,
                             starts_at, expires_at, days_per_stay, issued_via)
    VALUES (d.person_id, d.document_id, region, endorsement_type, allowed, valid_from, valid_until,
            hp_cst_day_start(valid_from), hp_cst_day_start(valid_until + 1), days_per_stay, via)
    RETURNING endorsement_id INTO eid;
    IF old_id IS NOT NULL THEN
        UPDATE endorsement e SET status = 'replaced', replaced_by = eid
         WHERE e.person_id = d.person_id AND e.endorsement_id = old_id;
    END IF;
    RETURN eid;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_put_endorsement(travel_document, text, text, text, date, date, integer, text) IS
    'insert an endorsement, the active one of its region on the document replaced (internal)';

-- The exit-entry administration records an endorsement put on a permit at
-- an office (or a kiosk). It replaces the document's active one for the region.
CREATE OR REPLACE FUNCTION record_endorsement(
    person_id bigint, document_id bigint, region text, endorsement_type text, entries text,
    valid_from date, valid_until date, days_per_stay integer) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
BEGIN
    RETURN hp_put_endorsement(hp_get_document(p.person_id, document_id), region, endorsement_type, entries,
                              valid_from, valid_until, days_per_stay, 'office');
END
$$;
COMMENT ON FUNCTION healthpass.record_endorsement(bigint, bigint, text, text, text, date, date, integer) IS
    'record an endorsement put on a permit (replacing the active one for its region); returns its id';

-- The issuing system confirms the entries used so far (the counts the
-- electronic permit shows "as of" this time). Never lowers a count the
-- gates here have already used.
CREATE OR REPLACE FUNCTION confirm_endorsement_entries(person_id bigint, endorsement_id bigint, entries_used integer,
                                                       as_of timestamptz DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    e endorsement;
BEGIN
    PERFORM hp_past_instant('confirmation time', as_of);
    IF confirm_endorsement_entries.endorsement_id IS NULL OR confirm_endorsement_entries.entries_used IS NULL THEN
        RAISE EXCEPTION '% is missing', CASE WHEN confirm_endorsement_entries.endorsement_id IS NULL THEN 'endorsement id'
                                             ELSE 'entries used' END
            USING ERRCODE = 'null_value_not_allowed',
                  DETAIL = 'Name the endorsement and the entries the issuing system counts as used.';
    END IF;
    SELECT * INTO e FROM endorsement x
     WHERE x.person_id = confirm_endorsement_entries.person_id AND x.endorsement_id = confirm_endorsement_entries.endorsement_id
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM hp_get_person(confirm_endorsement_entries.person_id);
        RAISE EXCEPTION 'endorsement % of person % does not exist', confirm_endorsement_entries.endorsement_id,
                        confirm_endorsement_entries.person_id
            USING ERRCODE = 'no_data_found', DETAIL = 'electronic_permit() lists a person''s endorsements.';
    END IF;
    IF entries_used < 0 OR entries_used > coalesce(e.entries_allowed, 10000) THEN
        RAISE EXCEPTION 'entries used % are out of range', coalesce(entries_used::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('This endorsement allows %s entries.', coalesce(e.entries_allowed::text, 'multiple (counted up to 10000)'));
    END IF;
    UPDATE endorsement x SET entries_used = greatest(x.entries_used, confirm_endorsement_entries.entries_used),
                             as_of = greatest(x.as_of, confirm_endorsement_entries.as_of), updated_at = now()
     WHERE x.person_id = e.person_id AND x.endorsement_id = e.endorsement_id
    RETURNING x.entries_used INTO entries_used;
    RETURN entries_used;
END
$$;
COMMENT ON FUNCTION healthpass.confirm_endorsement_entries(bigint, bigint, integer, timestamptz) IS
    'the issuing system confirms the entries used (never lowered below what gates here used); returns the count now';

-- Endorsement types a traveller may renew online (seed 001 续签); business,
-- talent, other and stay endorsements need papers at an office.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_online_renewal_types() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['T', 'L', 'G'];
COMMENT ON FUNCTION healthpass_internal.hp_online_renewal_types() IS 'endorsement types renewable online: T, L, G (internal)';

-- Online renewal through the electronic permit: a new endorsement on the
-- bound permit replaces the region's active one. The permit must be bound
-- and valid, and the new endorsement must start today or later and end
-- before the permit expires.
CREATE OR REPLACE FUNCTION renew_endorsement(
    person_id bigint, region text, endorsement_type text, entries text, valid_until date, days_per_stay integer,
    valid_from date DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    ep electronic_permit;
    d travel_document;
    start_day date := coalesce(valid_from, hp_cst_day(now()));
BEGIN
    SELECT * INTO ep FROM electronic_permit x WHERE x.person_id = p.person_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no electronic permit', p.person_id
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'Endorsements are renewed online through a bound electronic permit.';
    END IF;
    IF endorsement_type IS NOT NULL AND endorsement_type IN ('S', 'R', 'Q', 'D') THEN
        RAISE EXCEPTION 'endorsement type "%" cannot be renewed online', endorsement_type
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Business, talent, other and stay endorsements are renewed at an exit-entry office with their papers.';
    END IF;
    IF start_day < hp_cst_day(now()) THEN
        RAISE EXCEPTION 'renewal start % is in the past', start_day
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A renewed endorsement starts today or later.';
    END IF;
    d := hp_get_document(p.person_id, ep.document_id);
    RETURN hp_put_endorsement(d, region, endorsement_type, entries, start_day, valid_until, days_per_stay, 'online_renewal');
END
$$;
COMMENT ON FUNCTION healthpass.renew_endorsement(bigint, text, text, text, date, integer, date) IS
    'renew an endorsement online (续签) on the bound electronic permit: types T, L, G; replaces the region''s active one; returns its id';

-- The electronic permit (seed 001) ---------------------------------------------

CREATE OR REPLACE FUNCTION healthpass_internal.hp_unbind_permit(pid bigint, why text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    DELETE FROM electronic_permit ep WHERE ep.person_id = pid;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO permit_binding (person_id, outcome, reason) VALUES (pid, 'unbound', why);
    RETURN true;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_unbind_permit(bigint, text) IS 'unbind a person''s electronic permit and log it (internal)';

-- How long after "document information does not exist" binding is worth
-- trying again (seed 001: it worked 20 minutes later).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_permit_retry_after() RETURNS interval
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
RETURN hp_setting('permit_retry_after')::interval;
COMMENT ON FUNCTION healthpass_internal.hp_permit_retry_after() IS 'setting permit_retry_after (internal)';

-- Binding (seed 001 如何綁定): the person's real name is approved, a face
-- check passed within face_check_valid_for (the check read digits aloud,
-- or another liveness method), and the number given is a valid,
-- privately-held hk_macau_permit issued by Guangdong (44) to this person.
-- One electronic permit per person. A number the issuing system has not
-- (yet) sent is answered "retry" with a time to retry after, not refused:
-- the feed lags (the seed's 20 minutes). The attempt is kept either way.
-- Refusals the person can act on (no face check, wrong province) are
-- answered "refused" with the reason; when face recognition is what fails,
-- the answer names the trusted acceptance points.
CREATE OR REPLACE FUNCTION bind_electronic_permit(person_id bigint, doc_number text, liveness_method text)
    RETURNS TABLE (outcome text, reason text, retry_after timestamptz, document_id bigint)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    number text := hp_travel_number('hk_macau_permit', doc_number);
    f face_check;
    ix travel_document_index;
    d travel_document;
    why text;
    retry timestamptz;
BEGIN
    IF liveness_method IS NULL OR liveness_method NOT IN ('read_digits', 'head_motion', 'silent') THEN
        RAISE EXCEPTION 'liveness method "%" is not valid', hp_quote(liveness_method)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The face check''s liveness test was "read_digits" (the seed''s digits read aloud), "head_motion" or "silent".';
    END IF;
    IF EXISTS (SELECT 1 FROM electronic_permit ep WHERE ep.person_id = p.person_id) THEN
        RAISE EXCEPTION 'person % already has an electronic permit', p.person_id
            USING ERRCODE = 'unique_violation', DETAIL = 'One electronic permit per person: unbind it before binding another.';
    END IF;
    SELECT * INTO f FROM face_check c
     WHERE c.person_id = p.person_id ORDER BY c.checked_at DESC, c.check_id DESC LIMIT 1;
    IF p.realname_status <> 'approved' THEN
        why := 'real-name verification is not approved';
    ELSIF f.check_id IS NULL OR f.outcome <> 'passed'
          OR f.checked_at < now() - hp_setting('face_check_valid_for')::interval THEN
        why := CASE WHEN f.outcome = 'failed'
                    THEN 'face recognition did not pass: activate the ID card''s online credential at a trusted acceptance point (trusted_acceptance_points())'
                    ELSE 'no face check passed in the last ' || hp_setting('face_check_valid_for') END;
    ELSE
        SELECT * INTO ix FROM travel_document_index i WHERE i.doc_kind = 'hk_macau_permit' AND i.doc_number = number;
        IF FOUND AND ix.person_id = p.person_id THEN
            d := hp_get_document(p.person_id, ix.document_id);
        END IF;
        IF d.document_id IS NULL THEN
            -- unknown, or another person's: the same answer, as the seed's
            -- "document information does not exist"
            retry := now() + hp_permit_retry_after();
            why := 'document information does not exist yet: the issuing system may not have sent it; try again later';
        ELSIF hp_document_state(d.status, d.expires_at, d.issued_on, now()) <> 'valid' THEN
            why := 'the permit is ' || replace(hp_document_state(d.status, d.expires_at, d.issued_on, now()), '_', ' ');
        ELSIF d.official THEN
            why := 'the permit is for public business; the electronic permit is for private travel documents';
        ELSIF d.issuing_province IS DISTINCT FROM '44' THEN
            why := 'the permit was not issued in Guangdong';
        END IF;
    END IF;
    IF why IS NULL THEN
        INSERT INTO electronic_permit (person_id, document_id, face_check_id, liveness_method)
        VALUES (p.person_id, d.document_id, f.check_id, liveness_method);
        INSERT INTO permit_binding (person_id, outcome, reason) VALUES (p.person_id, 'bound', 'bound');
        RETURN QUERY SELECT 'bound'::text, NULL::text, NULL::timestamptz, d.document_id;
        RETURN;
    END IF;
    INSERT INTO permit_binding (person_id, outcome, reason, retry_after)
    VALUES (p.person_id, CASE WHEN retry IS NULL THEN 'refused' ELSE 'retry' END, why, retry);
    RETURN QUERY SELECT CASE WHEN retry IS NULL THEN 'refused' ELSE 'retry' END, why, retry, NULL::bigint;
END
$$;
COMMENT ON FUNCTION healthpass.bind_electronic_permit(bigint, text, text) IS
    'bind the electronic HK/Macau permit: bound, refused (with the reason) or retry (the document is not known yet; retry_after)';

CREATE OR REPLACE FUNCTION unbind_electronic_permit(person_id bigint) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
BEGIN
    RETURN hp_unbind_permit(p.person_id, 'unbound by the holder');
END
$$;
COMMENT ON FUNCTION healthpass.unbind_electronic_permit(bigint) IS
    'unbind the electronic permit (true if one was bound); its pending reminders are cancelled';

CREATE OR REPLACE FUNCTION permit_bindings(person_id bigint)
    RETURNS TABLE (attempted_at timestamptz, outcome text, reason text, retry_after timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY SELECT b.attempted_at, b.outcome, b.reason, b.retry_after
                   FROM permit_binding b WHERE b.person_id = p.person_id ORDER BY b.attempt_id;
END
$$;
COMMENT ON FUNCTION healthpass.permit_bindings(bigint) IS 'a person''s binding attempts and unbindings, oldest first';

-- An endorsement as the permit shows it. It takes any row with the
-- endorsement's columns (PL/pgSQL over record): a query routed to a Citus
-- shard passes the shard's row (endorsement_102113), whose row type is not
-- endorsement.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_endorsement_json(e record, at_time timestamptz) RETURNS jsonb
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'endorsement_id', e.endorsement_id, 'region', e.region, 'type', e.endorsement_type,
        'entries', coalesce(e.entries_allowed::text, 'multiple'), 'entries_used', e.entries_used,
        'entries_remaining', CASE WHEN e.entries_allowed IS NULL THEN NULL ELSE e.entries_allowed - e.entries_used END,
        'valid_from', e.valid_from, 'valid_until', e.valid_until, 'days_per_stay', e.days_per_stay,
        'state', CASE WHEN e.status <> 'active' THEN e.status
                      WHEN at_time >= e.expires_at THEN 'expired'
                      WHEN at_time < e.starts_at THEN 'not_yet_valid'
                      WHEN e.entries_allowed IS NOT NULL AND e.entries_used >= e.entries_allowed THEN 'used_up'
                      ELSE 'valid' END,
        'as_of', e.as_of);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_endorsement_json(record, timestamptz) IS
    'an endorsement (any row with its columns, a Citus shard''s too) for the permit page (internal)';

-- The electronic permit's page (seed 001 卡包): the document (number
-- masked), its active endorsements with the entries remaining "as of" the
-- issuing system's last confirmation, and the seed's notes.
CREATE OR REPLACE FUNCTION electronic_permit(person_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
    ep electronic_permit;
    d travel_document;
BEGIN
    SELECT * INTO ep FROM electronic_permit x WHERE x.person_id = p.person_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % has no electronic permit', p.person_id
            USING ERRCODE = 'no_data_found', DETAIL = 'bind_electronic_permit() binds one.';
    END IF;
    d := hp_get_document(p.person_id, ep.document_id);
    RETURN jsonb_build_object(
        'name', mask_name(p.name),
        'document', jsonb_build_object('doc_kind', d.doc_kind, 'doc_number_masked', hp_mask_document(d.doc_kind, d.doc_number),
                                       'issuing_authority', d.issuing_authority, 'issued_on', d.issued_on,
                                       'valid_until', d.valid_until, 'state', hp_document_state(d.status, d.expires_at, d.issued_on, now())),
        'bound_at', ep.bound_at,
        'endorsements', coalesce((SELECT jsonb_agg(hp_endorsement_json(e, now()) ORDER BY e.region)
                                    FROM endorsement e
                                   WHERE e.person_id = p.person_id AND e.document_id = d.document_id AND e.status = 'active'),
                                 '[]'::jsonb),
        'as_of', (SELECT max(e.as_of) FROM endorsement e
                   WHERE e.person_id = p.person_id AND e.document_id = d.document_id AND e.status = 'active'),
        'notes', jsonb_build_array(
            'The remaining entries are for reference and may lag; the physical document prevails.',
            'The electronic permit does not replace the physical document: carry it when crossing.'));
END
$$;
COMMENT ON FUNCTION healthpass.electronic_permit(bigint) IS
    'the electronic permit''s page: document (masked), endorsements with entries remaining as of a time, and the notes';

-- The document-free channel (seed 003) ------------------------------------------

CREATE OR REPLACE FUNCTION give_biometric_consent(person_id bigint) RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    t timestamptz;
BEGIN
    SELECT c.given_at INTO t FROM biometric_consent c WHERE c.person_id = p.person_id AND c.withdrawn_at IS NULL;
    IF FOUND THEN
        RETURN t;               -- given already: the same consent
    END IF;
    INSERT INTO biometric_consent (person_id) VALUES (p.person_id) RETURNING given_at INTO t;
    RETURN t;
END
$$;
COMMENT ON FUNCTION healthpass.give_biometric_consent(bigint) IS
    'consent to the border authority capturing face and fingerprints (idempotent); returns when it was given';

-- Withdrawing consent ends eligibility at once and withdraws the enrolment;
-- returns the template references the border system must now delete.
CREATE OR REPLACE FUNCTION withdraw_biometric_consent(person_id bigint) RETURNS text[]
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    refs text[];
BEGIN
    UPDATE biometric_consent c SET withdrawn_at = now() WHERE c.person_id = p.person_id AND c.withdrawn_at IS NULL;
    WITH w AS (
        UPDATE biometric_enrolment e SET withdrawn_at = now()
         WHERE e.person_id = p.person_id AND e.withdrawn_at IS NULL
        RETURNING e.template_ref
    )
    SELECT coalesce(array_agg(w.template_ref), '{}') INTO refs FROM w;
    RETURN refs;
END
$$;
COMMENT ON FUNCTION healthpass.withdraw_biometric_consent(bigint) IS
    'withdraw consent to biometric capture: eligibility ends at once; returns the template references to delete';

-- An enrolment row; a reference into the template store, never biometrics.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_enrol(pid bigint, source text, point text, op text, ref text) RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    eid bigint;
BEGIN
    IF ref IS NULL OR ref !~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{7,127}$' THEN
        RAISE EXCEPTION 'template reference "%" is not valid', hp_quote(ref, 20)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'healthpass keeps a reference into the border system''s template store (8 to 128 letters, digits and ._:/-), never a face or a fingerprint.';
    END IF;
    UPDATE biometric_enrolment e SET withdrawn_at = now() WHERE e.person_id = pid AND e.withdrawn_at IS NULL;
    INSERT INTO biometric_enrolment (person_id, source, point_code, operator, template_ref)
    VALUES (pid, source, point, op, ref) RETURNING enrolment_id INTO eid;
    RETURN eid;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_enrol(bigint, text, text, text, text) IS
    'record a biometric enrolment by template reference, replacing the current one (internal)';

-- Enrolment at a collection point at the pilot ports: needs consent.
CREATE OR REPLACE FUNCTION enrol_biometrics(person_id bigint, point_code text, operator text, template_ref text) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_lock_person(person_id);
    op text := nullif(btrim(hp_text('operator', operator, 50)), '');
BEGIN
    IF NOT EXISTS (SELECT 1 FROM enrolment_point e WHERE e.point_code = enrol_biometrics.point_code) THEN
        RAISE EXCEPTION 'enrolment point "%" does not exist', hp_quote(point_code)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'enrolment_points() lists the points.';
    END IF;
    IF op IS NULL THEN
        RAISE EXCEPTION 'operator is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the officer who took the enrolment.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM biometric_consent c WHERE c.person_id = p.person_id AND c.withdrawn_at IS NULL) THEN
        RAISE EXCEPTION 'person % has not consented to biometric capture', p.person_id
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = 'give_biometric_consent() records the consent first.';
    END IF;
    RETURN hp_enrol(p.person_id, 'enrolment_point', point_code, op, template_ref);
END
$$;
COMMENT ON FUNCTION healthpass.enrol_biometrics(bigint, text, text, text) IS
    'enrol face and fingerprints at a collection point (a template reference, never biometrics); returns the enrolment id';

-- Eligibility for the document-free channel at an instant, for a region
-- (the port's, when a port is named), with every reason it fails:
--   under_14                 younger than 14 (birth date from the identity document)
--   no_valid_document        no valid home_return_permit nor private hk_macau_permit
--   official_document        the only valid permit is for public business
--   no_multiple_entry_endorsement  a mainland resident without a valid multiple-entry endorsement for the region
--   endorsement_type         the valid multiple-entry endorsement is not family visit, business, talent or other (T, S, R, Q)
--   no_consent               consent to biometric capture not given (or withdrawn)
--   not_enrolled             no face and fingerprints on file
--   port_not_in_pilot        the named port has no document-free channel at that instant
CREATE OR REPLACE FUNCTION healthpass_internal.hp_document_free_reasons(p person, region text, pt port, at_time timestamptz)
    RETURNS text[]
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    reasons text[] := '{}';
    hrp boolean;
    permit travel_document;
    official_permit boolean;
    multi endorsement;
BEGIN
    IF p.birth_date + interval '14 years' > hp_cst_day(at_time) THEN
        reasons := reasons || 'under_14'::text;
    END IF;
    hrp := EXISTS (SELECT 1 FROM travel_document t
                    WHERE t.person_id = p.person_id AND t.doc_kind = 'home_return_permit'
                      AND hp_document_state(t.status, t.expires_at, t.issued_on, at_time) = 'valid');
    SELECT * INTO permit FROM travel_document t
     WHERE t.person_id = p.person_id AND t.doc_kind = 'hk_macau_permit' AND NOT t.official
       AND hp_document_state(t.status, t.expires_at, t.issued_on, at_time) = 'valid';
    official_permit := EXISTS (SELECT 1 FROM travel_document t
                                WHERE t.person_id = p.person_id AND t.doc_kind IN ('hk_macau_permit', 'cn_passport') AND t.official
                                  AND hp_document_state(t.status, t.expires_at, t.issued_on, at_time) = 'valid');
    IF NOT hrp THEN
        IF permit.document_id IS NULL THEN
            reasons := reasons || CASE WHEN official_permit THEN 'official_document' ELSE 'no_valid_document' END;
        ELSE
            SELECT * INTO multi FROM endorsement e
             WHERE e.person_id = p.person_id AND e.document_id = permit.document_id AND e.region = hp_document_free_reasons.region
               AND e.status = 'active' AND e.entries_allowed IS NULL AND at_time >= e.starts_at AND at_time < e.expires_at;
            IF multi.endorsement_id IS NULL THEN
                reasons := reasons || 'no_multiple_entry_endorsement'::text;
            ELSIF multi.endorsement_type NOT IN ('T', 'S', 'R', 'Q') THEN
                reasons := reasons || 'endorsement_type'::text;
            END IF;
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM biometric_consent c
                    WHERE c.person_id = p.person_id AND c.given_at <= at_time AND (c.withdrawn_at IS NULL OR c.withdrawn_at > at_time)) THEN
        reasons := reasons || 'no_consent'::text;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM biometric_enrolment e
                    WHERE e.person_id = p.person_id AND e.enrolled_at <= at_time AND (e.withdrawn_at IS NULL OR e.withdrawn_at > at_time)) THEN
        reasons := reasons || 'not_enrolled'::text;
    END IF;
    IF pt.port_code IS NOT NULL AND (pt.document_free_from IS NULL OR hp_cst_day(at_time) < pt.document_free_from) THEN
        reasons := reasons || 'port_not_in_pilot'::text;
    END IF;
    RETURN reasons;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_document_free_reasons(person, text, port, timestamptz) IS
    'every reason a person cannot use the document-free channel at an instant (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_reason_text(reason text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE reason
    WHEN 'under_14' THEN 'The channel is for travellers aged 14 or over.'
    WHEN 'no_valid_document' THEN 'A valid exit-entry permit for Hong Kong and Macau, or a valid home return permit, is needed.'
    WHEN 'official_document' THEN 'Holders of documents for public business cannot use the channel yet.'
    WHEN 'no_multiple_entry_endorsement' THEN 'Mainland residents need a valid multiple-entry endorsement for the region.'
    WHEN 'endorsement_type' THEN 'The multiple-entry endorsement must be for a family visit, business, talent or other stay (T, S, R, Q).'
    WHEN 'no_consent' THEN 'Consent to the border authority capturing face and fingerprints is needed.'
    WHEN 'not_enrolled' THEN 'Face and fingerprints are not on file: enrol at a collection point at Shenzhen Bay or Gongbei.'
    WHEN 'port_not_in_pilot' THEN 'This port has no document-free channel.'
    END;
COMMENT ON FUNCTION healthpass_internal.hp_reason_text(text) IS 'the sentence a traveller reads for an eligibility reason (internal)';

CREATE OR REPLACE FUNCTION document_free_eligibility(person_id bigint, port_code text DEFAULT NULL, region text DEFAULT NULL,
                                                     at_time timestamptz DEFAULT now())
    RETURNS TABLE (eligible boolean, for_region text, reasons text[], explanations text[])
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
    pt port;
    r text;
    why text[];
BEGIN
    PERFORM hp_instant('eligibility time', at_time);
    IF port_code IS NOT NULL THEN
        pt := hp_port(port_code);
    END IF;
    r := hp_crossing_region(pt, document_free_eligibility.region);
    why := hp_document_free_reasons(p, r, pt, at_time);
    RETURN QUERY SELECT cardinality(why) = 0, r, why, ARRAY(SELECT hp_reason_text(x) FROM unnest(why) x);
END
$$;
COMMENT ON FUNCTION healthpass.document_free_eligibility(bigint, text, text, timestamptz) IS
    'eligibility for the document-free face channel: eligible, or every reason not (codes and sentences)';

-- Crossings -------------------------------------------------------------------

-- The region of a crossing: the port's one region, or the one named (which
-- the port must serve); HK when neither says.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_crossing_region(pt port, region text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF region IS NOT NULL AND region NOT IN ('HK', 'MO') THEN
        RAISE EXCEPTION 'region "%" is not valid', hp_quote(region)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The region is Hong Kong ("HK") or Macau ("MO").';
    END IF;
    IF pt.port_code IS NULL THEN
        RETURN coalesce(region, 'HK');
    END IF;
    IF region IS NULL THEN
        IF cardinality(pt.regions) > 1 THEN
            RAISE EXCEPTION 'port "%" serves Hong Kong and Macau', pt.port_code
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Name the region ("HK" or "MO") for a crossing at this port.';
        END IF;
        RETURN pt.regions[1];
    END IF;
    IF NOT region = ANY (pt.regions) THEN
        RAISE EXCEPTION 'port "%" does not serve region "%"', pt.port_code, region
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('This port serves %s.', array_to_string(pt.regions, ' and '));
    END IF;
    RETURN region;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_crossing_region(port, text) IS 'the region of a crossing at a port (internal)';

-- A crossing at a gate of the mainland's border control.
--   port_code, direction ('exit' leaves the mainland, 'entry' comes in),
--   channel ('document_free', 'e_channel', 'manual', 'self_service'),
--   the document read at the gate (doc_kind + doc_number), or for the
--   document-free channel the person the face matched (person_id),
--   region when the port serves both, the instant.
-- Leaving for HK/Macau on an hk_macau_permit uses one entry of the valid
-- endorsement for the region, atomically: two gates and one entry left let
-- exactly one through. Answers passed = false with a named refusal (and
-- records nothing) when:
--   document_invalid      the document is expired, reported lost, replaced or not yet valid
--                         (a mainland resident may come home on an invalid permit
--                         through a manual channel)
--   no_endorsement        no active endorsement for the region on the permit
--   endorsement_expired   the endorsement is not valid at this instant
--   no_entry_left         every entry of the endorsement is used
--   not_eligible          the document-free channel's eligibility fails (reasons given)
--   not_enrolled          e-channel and self-service need face and fingerprints on file
--   wrong_document        a mainland passport cannot be used to go to HK/Macau
-- An entry after an exit to the same region reports the stay and any
-- days beyond the endorsement's days per stay (overstay_days).
CREATE OR REPLACE FUNCTION cross_border(
    port_code text, direction text, channel text, doc_kind text DEFAULT NULL, doc_number text DEFAULT NULL,
    person_id bigint DEFAULT NULL, region text DEFAULT NULL, crossed_at timestamptz DEFAULT now())
    RETURNS TABLE (passed boolean, refusal text, detail text, crossing_id bigint, person_ref uuid,
                   entries_remaining integer, stay_days integer, overstay_days integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    pt port := hp_port(port_code);
    r text := hp_crossing_region(pt, cross_border.region);
    at_time timestamptz := hp_instant('crossing time', crossed_at);
    p person;
    d travel_document;
    ix record;                  -- the document's index row: its person and id
    number text;
    e endorsement;
    why text[];
    cid bigint;
    last_exit crossing;
    stay integer;
    over integer;
    allowed_days integer;
    remaining integer;
BEGIN
    IF direction IS NULL OR direction NOT IN ('exit', 'entry') THEN
        RAISE EXCEPTION 'direction "%" is not valid', hp_quote(direction)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A crossing leaves the mainland ("exit") or comes in ("entry").';
    END IF;
    IF channel IS NULL OR channel NOT IN ('document_free', 'e_channel', 'manual', 'self_service') THEN
        RAISE EXCEPTION 'channel "%" is not valid', hp_quote(channel)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The channels are "document_free", "e_channel", "manual" and "self_service".';
    END IF;
    IF at_time > now() + interval '5 minutes' THEN
        RAISE EXCEPTION 'crossing time % is in the future', at_time
            USING ERRCODE = 'datetime_field_overflow', DETAIL = 'A crossing is recorded when it happens.';
    END IF;
    IF channel = 'document_free' THEN
        IF direction = 'exit' THEN
            RAISE EXCEPTION 'the document-free channel is for entering the mainland'
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'Leaving for Hong Kong or Macau, and entering there, still needs the document (seed 003).';
        END IF;
        IF doc_number IS NOT NULL OR cross_border.person_id IS NULL THEN
            RAISE EXCEPTION 'a document-free crossing names the person the face matched, not a document'
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Pass person_id, and no document kind or number.';
        END IF;
        p := hp_get_person(cross_border.person_id);
        why := hp_document_free_reasons(p, r, pt, at_time);
        IF cardinality(why) > 0 THEN
            RETURN QUERY SELECT false, 'not_eligible'::text, array_to_string(why, ', '), NULL::bigint, p.public_ref,
                                NULL::integer, NULL::integer, NULL::integer;
            RETURN;
        END IF;
        -- the document the border system holds for the person: the home
        -- return permit, else the private permit
        SELECT * INTO d FROM travel_document t
         WHERE t.person_id = p.person_id AND t.status = 'valid' AND NOT t.official
           AND t.doc_kind IN ('home_return_permit', 'hk_macau_permit') AND hp_document_state(t.status, t.expires_at, t.issued_on, at_time) = 'valid'
         ORDER BY t.doc_kind = 'home_return_permit' DESC LIMIT 1;
    ELSE
        IF cross_border.person_id IS NOT NULL THEN
            RAISE EXCEPTION 'a % crossing reads the document, not a person id', channel
                USING ERRCODE = 'invalid_parameter_value', DETAIL = 'Pass doc_kind and doc_number as read at the gate.';
        END IF;
        -- the kind and number checked first (a NULL kind is refused, not
        -- looked up)
        number := hp_travel_number(cross_border.doc_kind, cross_border.doc_number);
        -- the document by its number (the gate's hot path): the index row,
        -- then the person's document by its key. Two statements: on Citus
        -- the index is distributed by number and the document by person, so
        -- each is one shard and a join of the two would need repartitioning.
        SELECT i.person_id, i.document_id INTO ix
          FROM travel_document_index i
         WHERE i.doc_kind = cross_border.doc_kind AND i.doc_number = number;
        IF FOUND THEN
            SELECT t.* INTO d FROM travel_document t
             WHERE t.person_id = ix.person_id AND t.document_id = ix.document_id;
        END IF;
        IF d.document_id IS NULL THEN
            RAISE EXCEPTION '% "%" is not recorded', doc_kind, hp_mask_value(doc_number)
                USING ERRCODE = 'no_data_found', DETAIL = 'The exit-entry administration has not recorded this document.';
        END IF;
        -- the gate needs the person's id and public reference only
        p.person_id := d.person_id;
        SELECT x.public_ref INTO p.public_ref FROM person x WHERE x.person_id = d.person_id;
        IF d.doc_kind = 'cn_passport' THEN
            RETURN QUERY SELECT false, 'wrong_document'::text,
                                'Mainland residents travel to Hong Kong and Macau on the exit-entry permit, not the passport.'::text,
                                NULL::bigint, p.public_ref, NULL::integer, NULL::integer, NULL::integer;
            RETURN;
        END IF;
        -- a mainland resident comes home on an expired permit through a
        -- manual channel; anyone else needs a valid document
        IF hp_document_state(d.status, d.expires_at, d.issued_on, at_time) <> 'valid'
           AND NOT (direction = 'entry' AND channel = 'manual' AND d.doc_kind = 'hk_macau_permit') THEN
            RETURN QUERY SELECT false, 'document_invalid'::text,
                                format('The %s is %s.', replace(d.doc_kind, '_', ' '), replace(hp_document_state(d.status, d.expires_at, d.issued_on, at_time), '_', ' ')),
                                NULL::bigint, p.public_ref, NULL::integer, NULL::integer, NULL::integer;
            RETURN;
        END IF;
        IF channel IN ('e_channel', 'self_service')
           AND NOT EXISTS (SELECT 1 FROM biometric_enrolment b
                            WHERE b.person_id = p.person_id AND b.enrolled_at <= at_time AND (b.withdrawn_at IS NULL OR b.withdrawn_at > at_time)) THEN
            RETURN QUERY SELECT false, 'not_enrolled'::text,
                                'Face and fingerprints are not on file: use a manual channel or enrol first.'::text,
                                NULL::bigint, p.public_ref, NULL::integer, NULL::integer, NULL::integer;
            RETURN;
        END IF;
    END IF;

    IF direction = 'exit' AND d.doc_kind = 'hk_macau_permit' THEN
        -- use one entry, atomically: the row lock makes a second gate wait
        -- and then see the count this one left. A renewal that commits while
        -- this waits replaces the endorsement by one this statement cannot
        -- see: a second statement (a new snapshot) tries that one.
        FOR attempt IN 1..2 LOOP
            UPDATE endorsement x SET entries_used = x.entries_used + 1, updated_at = now()
             WHERE x.person_id = p.person_id AND x.document_id = d.document_id AND x.region = r AND x.status = 'active'
               AND at_time >= x.starts_at AND at_time < x.expires_at
               AND (x.entries_allowed IS NULL OR x.entries_used < x.entries_allowed)
            RETURNING x.* INTO e;
            EXIT WHEN e.endorsement_id IS NOT NULL;
        END LOOP;
        IF e.endorsement_id IS NULL THEN
            SELECT * INTO e FROM endorsement x
             WHERE x.person_id = p.person_id AND x.document_id = d.document_id AND x.region = r AND x.status = 'active';
            RETURN QUERY SELECT false,
                CASE WHEN e.endorsement_id IS NULL THEN 'no_endorsement'
                     WHEN at_time < e.starts_at OR at_time >= e.expires_at THEN 'endorsement_expired'
                     ELSE 'no_entry_left' END,
                CASE WHEN e.endorsement_id IS NULL THEN format('The permit has no endorsement for %s.', r)
                     WHEN at_time < e.starts_at THEN format('The endorsement is valid from %s.', e.valid_from)
                     WHEN at_time >= e.expires_at THEN format('The endorsement expired after %s.', e.valid_until)
                     ELSE format('All %s entries of the endorsement are used.', e.entries_allowed) END,
                NULL::bigint, p.public_ref, NULL::integer, NULL::integer, NULL::integer;
            RETURN;
        END IF;
        remaining := e.entries_allowed - e.entries_used;
    ELSIF direction = 'entry' THEN
        -- the stay that ends here: the latest crossing to this region, if an exit
        SELECT * INTO last_exit FROM crossing c
         WHERE c.person_id = p.person_id AND c.crossed_at <= at_time
         ORDER BY c.crossed_at DESC, c.crossing_id DESC LIMIT 1;
        IF last_exit.direction = 'exit' AND last_exit.region = r THEN
            stay := hp_cst_day(at_time) - hp_cst_day(last_exit.crossed_at);
            SELECT x.days_per_stay INTO allowed_days FROM endorsement x
             WHERE x.person_id = p.person_id AND x.endorsement_id = last_exit.endorsement_id;
            IF allowed_days IS NOT NULL THEN
                over := greatest(stay - allowed_days, 0);
            END IF;
        END IF;
    END IF;
    INSERT INTO crossing (person_id, port_code, direction, region, channel, crossed_at, document_id, endorsement_id,
                          stay_days, overstay_days)
    VALUES (p.person_id, pt.port_code, direction, r, channel, at_time, d.document_id, e.endorsement_id, stay, over)
    RETURNING crossing.crossing_id INTO cid;
    RETURN QUERY SELECT true, NULL::text,
                        CASE WHEN over > 0 THEN format('The stay of %s days overran the %s allowed by %s days.', stay, allowed_days, over) END,
                        cid, p.public_ref, remaining, stay, over;
END
$$;
COMMENT ON FUNCTION healthpass.cross_border(text, text, text, text, text, bigint, text, timestamptz) IS
    'a crossing at a gate: checks document, endorsement (one entry used atomically) or document-free eligibility; passed, or a named refusal';

-- A person's crossings in a period, oldest first.
CREATE OR REPLACE FUNCTION crossings(person_id bigint, from_time timestamptz DEFAULT '-infinity',
                                     to_time timestamptz DEFAULT 'infinity')
    RETURNS TABLE (crossing_id bigint, crossed_at timestamptz, port_code text, port_name text, direction text, region text,
                   channel text, doc_kind text, doc_number_masked text, stay_days integer, overstay_days integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    IF from_time IS NULL OR to_time IS NULL THEN
        RAISE EXCEPTION '% is missing', CASE WHEN from_time IS NULL THEN 'from_time' ELSE 'to_time' END
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'A period runs from its start to its end, both given.';
    END IF;
    IF from_time > to_time THEN
        RAISE EXCEPTION 'period from % to % is not valid', coalesce(from_time::text, 'NULL'), coalesce(to_time::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A period runs from its start to its end, both given.';
    END IF;
    RETURN QUERY
        SELECT c.crossing_id, c.crossed_at, c.port_code, pt.name_zh, c.direction, c.region, c.channel,
               t.doc_kind, hp_mask_document(t.doc_kind, t.doc_number), c.stay_days, c.overstay_days
          FROM crossing c
          JOIN port pt ON pt.port_code = c.port_code
          JOIN travel_document t ON t.person_id = c.person_id AND t.document_id = c.document_id
         WHERE c.person_id = p.person_id AND c.crossed_at >= from_time AND c.crossed_at < to_time
         ORDER BY c.crossed_at, c.crossing_id;
END
$$;
COMMENT ON FUNCTION healthpass.crossings(bigint, timestamptz, timestamptz) IS
    'a person''s crossings in a period, oldest first: port, direction, channel, document (masked), stay and overstay';

GRANT EXECUTE ON FUNCTION
    healthpass.ports(),
    healthpass.enrolment_points(),
    healthpass.trusted_acceptance_points(text, text)
  TO healthpass_app, healthpass_border, healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.add_acceptance_point(text, text, text) TO healthpass_admin;
GRANT EXECUTE ON FUNCTION
    healthpass.record_travel_document(bigint, text, text, text, date, date, text, boolean, text),
    healthpass.record_document_lost(bigint, bigint),
    healthpass.record_endorsement(bigint, bigint, text, text, text, date, date, integer),
    healthpass.confirm_endorsement_entries(bigint, bigint, integer, timestamptz),
    healthpass.enrol_biometrics(bigint, text, text, text),
    healthpass.cross_border(text, text, text, text, text, bigint, text, timestamptz)
  TO healthpass_border;
GRANT EXECUTE ON FUNCTION
    healthpass.travel_documents(bigint),
    healthpass.crossings(bigint, timestamptz, timestamptz),
    healthpass.document_free_eligibility(bigint, text, text, timestamptz)
  TO healthpass_app, healthpass_border;
GRANT EXECUTE ON FUNCTION
    healthpass.record_document_lost(bigint, bigint),
    healthpass.bind_electronic_permit(bigint, text, text),
    healthpass.unbind_electronic_permit(bigint),
    healthpass.permit_bindings(bigint),
    healthpass.electronic_permit(bigint),
    healthpass.renew_endorsement(bigint, text, text, text, date, integer, date),
    healthpass.give_biometric_consent(bigint),
    healthpass.withdraw_biometric_consent(bigint)
  TO healthpass_app;

-- ===== sql/schema/74_records.sql
-- 74_records.sql: entry-exit record certificates (出入境记录凭证) for
-- mainland residents, and Hong Kong's contactless e-Channel code (非触式
-- e-道) with the passages made with it (seed 003).
--
-- Every table is a person's: person_id first in the primary key and in
-- every unique key. A certificate and a contactless code are HP1 tokens
-- issued through the ledger of live codes (code_issued); the tables here
-- keep what the ledger forgets when a code expires: which certificate was
-- issued for which period and crossings, how each contactless code was
-- authenticated, and which code let whom through which gate.
-- (created once: later changes go to sql/updates/)

-- Every record certificate issued: a period certificate (period_from ..
-- period_to, the crossings in it) or a kiosk print (port_code: the latest
-- crossing at that port). crossing_ids are the crossings it lists, oldest
-- first. A certificate is a paper record: this is the administration's copy.
CREATE TABLE record_certificate (
    person_id      bigint NOT NULL,
    certificate_id bigint GENERATED ALWAYS AS IDENTITY,
    token_id       bytea NOT NULL,
    kid            bytea NOT NULL,
    period_from    timestamptz,
    period_to      timestamptz,
    port_code      text REFERENCES port,
    crossing_ids   bigint[] NOT NULL,
    issued_at      timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (person_id, certificate_id),
    UNIQUE (person_id, token_id),
    -- a period certificate names its period, a kiosk print its port
    CHECK ((period_from IS NOT NULL AND period_to IS NOT NULL AND period_from < period_to AND port_code IS NULL)
           OR (period_from IS NULL AND period_to IS NULL AND port_code IS NOT NULL
               AND cardinality(crossing_ids) = 1))
);
COMMENT ON TABLE healthpass.record_certificate IS
    'entry-exit record certificates issued (seed 003): token, period or kiosk port, the crossings listed';

-- Every contactless e-Channel code issued to a Hong Kong resident, with how
-- the resident was authenticated before it (iAM Smart).
CREATE TABLE contactless_code (
    person_id         bigint NOT NULL,
    token_id          bytea NOT NULL,
    authenticated_via text NOT NULL CHECK (authenticated_via IN ('iam_smart', 'iam_smart_plus')),
    issued_at         timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    PRIMARY KEY (person_id, token_id)
);
COMMENT ON TABLE healthpass.contactless_code IS
    'contactless e-Channel codes issued (seed 003 非触式e-道): token id, authentication, validity';

-- A passage through a contactless e-Channel gate. A code is used once: its
-- token id is the key, so a second scan of the same code (at any gate, at
-- the same moment or later) finds it taken.
CREATE TABLE contactless_passage (
    person_id  bigint NOT NULL,
    token_id   bytea NOT NULL,
    port_code  text NOT NULL REFERENCES port,
    direction  text NOT NULL CHECK (direction IN ('arrival', 'departure')),
    passed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, token_id),
    FOREIGN KEY (person_id, token_id) REFERENCES contactless_code
);
COMMENT ON TABLE healthpass.contactless_passage IS
    'passages through Hong Kong contactless e-Channel gates: the code used (once), port, direction as Hong Kong sees it, instant';
-- a person's passages by time
CREATE INDEX contactless_passage_person_time ON contactless_passage (person_id, passed_at);

SELECT pg_catalog.pg_extension_config_dump('record_certificate', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.record_certificate', 'certificate_id'), '');
SELECT pg_catalog.pg_extension_config_dump('contactless_code', '');
SELECT pg_catalog.pg_extension_config_dump('contactless_passage', '');

-- ===== sql/api/74_records.sql
-- 74_records.sql: entry-exit record certificates (出入境记录凭证) and Hong
-- Kong's contactless e-Channel code (非触式e-道), seed 003.
--
-- Who calls what:
--   healthpass_app     the traveller's app (the National Immigration
--                      Administration's service platform: download and print
--                      a certificate; the contactless e-Channel code after
--                      iAM Smart)
--   healthpass_border  exit-entry offices and the self-service kiosks at the
--                      ports (print a certificate, the latest crossing at the
--                      kiosk's port), counters verifying a certificate, and
--                      Hong Kong's contactless e-Channel gates
--   healthpass_scanner anyone shown a certificate: verify it
--
-- A record certificate is an HP1 token of kind "record", signed like every
-- personal code (hp_issue_code: it is in the person's ledger of live codes,
-- so an edit of the person's name or document revokes it) and valid for a
-- year: it is a paper record, verified offline with the issuer's trust
-- list. Its body (doc/records.md) holds only masked identity:
--   ref, name, doc, id    person_claims: reference, masked name, document kind, masked number
--   per                   [from, to): the period, epoch seconds (a period certificate)
--   at                    the port code (a kiosk print: the latest crossing there)
--   x                     the crossings, oldest first, each {c: channel, d: direction,
--                         p: port code, r: region, t: instant in epoch seconds}
-- At most hp_record_limit() crossings (40): the token then still fits a QR
-- code at level M that prints 55 mm wide (version 22 or less, measured).
--
-- The contactless e-Channel code is an HP1 token of kind "crossing" for a
-- Hong Kong resident (identity document hkid) who authenticated with iAM
-- Smart, valid for the setting contactless_code_valid_for (10 minutes),
-- used once at a gate. Refusals at the gate are answers (passed = false and
-- a named refusal), like cross_border's; bad arguments raise.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Fixed rules -------------------------------------------------------------------

CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_limit() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 40;
COMMENT ON FUNCTION healthpass_internal.hp_record_limit() IS
    'crossings a record certificate lists at most: its token still fits a printable QR code at level M (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_valid_for() RETURNS interval
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN interval '1 year';
COMMENT ON FUNCTION healthpass_internal.hp_record_valid_for() IS 'how long a record certificate verifies: a year (internal)';

-- Words a certificate prints -------------------------------------------------------

-- An instant as a certificate prints it: China Standard Time, to the minute.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_cst_text(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI');
COMMENT ON FUNCTION healthpass_internal.hp_cst_text(timestamptz) IS 'an instant in China Standard Time, to the minute (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_direction_zh(direction text, region text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE direction WHEN 'exit' THEN '出境' WHEN 'entry' THEN '入境' ELSE direction END
       || ' · ' || CASE region WHEN 'HK' THEN '香港' WHEN 'MO' THEN '澳门' ELSE region END;
COMMENT ON FUNCTION healthpass_internal.hp_direction_zh(text, text) IS 'a crossing''s direction and region in Chinese: 出境 · 香港 (internal)';

CREATE OR REPLACE FUNCTION healthpass_internal.hp_channel_zh(channel text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE channel
    WHEN 'document_free' THEN '免出示证件通道'
    WHEN 'e_channel' THEN '电子通道'
    WHEN 'manual' THEN '人工通道'
    WHEN 'self_service' THEN '自助通道'
    ELSE channel END;
COMMENT ON FUNCTION healthpass_internal.hp_channel_zh(text) IS 'a border channel''s name in Chinese (internal)';

-- Record certificates ------------------------------------------------------------

-- The person a certificate is for: a mainland resident (identity document
-- cn_resident_id); anyone else is refused (23514), as seed 003 says.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_person(pid bigint) RETURNS person
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(pid);
BEGIN
    IF p.doc_kind <> 'cn_resident_id' THEN
        RAISE EXCEPTION 'document kind "%" cannot hold an entry-exit record certificate', p.doc_kind
            USING ERRCODE = 'check_violation',
                  DETAIL = 'Entry-exit record certificates are for mainland residents, identified by a resident identity card (seed 003).';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_person(bigint) IS
    'the person of a record certificate: a resident identity card holder, or 23514 (internal)';

-- A crossing as a certificate's body lists it. It takes the columns, not the
-- row: a query routed to a Citus shard reads the shard's rows, whose row type
-- is not crossing.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_crossing(crossed_at timestamptz, port_code text, direction text,
                                                                  region text, channel text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN jsonb_build_object('t', floor(extract(epoch FROM crossed_at))::bigint, 'p', port_code,
                          'd', direction, 'r', region, 'c', channel);
COMMENT ON FUNCTION healthpass_internal.hp_record_crossing(timestamptz, text, text, text, text) IS
    'a crossing as a record certificate lists it (internal)';

-- Signs a certificate whose body lists the crossings given (ids, oldest
-- first) and keeps the administration's copy. from_s/to_s: the period, or
-- at_port: the kiosk's port.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_sign(p person, from_s timestamptz, to_s timestamptz, at_port text,
                                                              ids bigint[]) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    body jsonb := person_claims(p.person_id);
    code text;
    issued pass;
BEGIN
    IF at_port IS NULL THEN
        body := body || jsonb_build_object('per', jsonb_build_array(extract(epoch FROM from_s)::bigint,
                                                                    extract(epoch FROM to_s)::bigint));
    ELSE
        body := body || jsonb_build_object('at', at_port);
    END IF;
    body := body || jsonb_build_object('x', coalesce(
        (SELECT jsonb_agg(hp_record_crossing(c.crossed_at, c.port_code, c.direction, c.region, c.channel) ORDER BY c.crossed_at, c.crossing_id)
           FROM crossing c WHERE c.person_id = p.person_id AND c.crossing_id = ANY (ids)), '[]'));
    code := hp_issue_code(p, 'record', body, hp_record_valid_for());
    issued := code;
    INSERT INTO record_certificate (person_id, token_id, kid, period_from, period_to, port_code, crossing_ids,
                                    issued_at, expires_at)
    VALUES (p.person_id, pass_token_id(issued), pass_kid(issued), from_s, to_s, at_port, ids,
            pass_issued_at(issued), pass_expires_at(issued));
    RETURN code;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_sign(person, timestamptz, timestamptz, text, bigint[]) IS
    'sign a record certificate listing the given crossings and keep its copy (internal)';

-- A period certificate: the crossings recorded in [from_time, to_time),
-- both cut to whole seconds (the token says the period in seconds). The
-- period ends by now; more crossings than hp_record_limit() are refused.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_period(pid bigint, from_time timestamptz, to_time timestamptz)
    RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_record_person(pid);
    f timestamptz := date_trunc('second', hp_instant('period start', from_time));
    t timestamptz := date_trunc('second', hp_past_instant('period end', to_time));
    ids bigint[];
BEGIN
    IF f >= t THEN
        RAISE EXCEPTION 'period from % to % is not valid', hp_cst_text(from_time), hp_cst_text(to_time)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A period starts at least a second before it ends.';
    END IF;
    ids := ARRAY(SELECT c.crossing_id FROM crossing c
                  WHERE c.person_id = p.person_id AND c.crossed_at >= f AND c.crossed_at < t
                  ORDER BY c.crossed_at, c.crossing_id);
    IF cardinality(ids) > hp_record_limit() THEN
        RAISE EXCEPTION 'the period from % to % holds % crossings', hp_cst_text(f), hp_cst_text(t), cardinality(ids)
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = format('A certificate lists at most %s crossings: shorten the period and ask for several certificates.',
                                  hp_record_limit());
    END IF;
    RETURN hp_record_sign(p, f, t, NULL, ids);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_period(bigint, timestamptz, timestamptz) IS
    'a record certificate of a period (internal)';

-- The kiosk print: the person's latest crossing at the port, or P0002.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_latest(pid bigint, port_code text) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_record_person(pid);
    pt port := hp_port(port_code);
    cid bigint;
BEGIN
    SELECT c.crossing_id INTO cid FROM crossing c
     WHERE c.person_id = p.person_id AND c.port_code = pt.port_code
     ORDER BY c.crossed_at DESC, c.crossing_id DESC LIMIT 1;
    IF cid IS NULL THEN
        RAISE EXCEPTION 'person % has no crossing at port "%"', p.person_id, pt.port_code
            USING ERRCODE = 'no_data_found',
                  DETAIL = 'The kiosk prints the latest crossing recorded at its port; crossings() lists them all.';
    END IF;
    RETURN hp_record_sign(p, NULL, NULL, pt.port_code, ARRAY[cid]);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_latest(bigint, text) IS
    'a record certificate of the latest crossing at a port, the kiosk print (internal)';

-- The lines a certificate prints, from its token's own body (what is printed
-- is what is signed): title, name and document, period (or port), issue and
-- validity, then one line a crossing. Masked identity only.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_lines(token text,
    OUT title text, OUT who text, OUT period text, OUT validity text, OUT crossings text[])
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    t pass := token;
    b jsonb := pass_body(t);
BEGIN
    title := '出入境记录凭证 Entry-exit record';
    who := format('%s · %s %s', b->>'name', CASE b->>'doc' WHEN 'cn_resident_id' THEN '居民身份证' ELSE b->>'doc' END, b->>'id');
    IF b ? 'per' THEN
        period := format('%s 至 %s (北京时间)', hp_cst_text(to_timestamp((b->'per'->>0)::bigint)),
                         hp_cst_text(to_timestamp((b->'per'->>1)::bigint)));
    ELSE
        period := format('%s 最近一次出入境记录', coalesce((SELECT pt.name_zh FROM port pt WHERE pt.port_code = b->>'at'), b->>'at'));
    END IF;
    validity := format('签发 %s · 有效至 %s', hp_cst_text(pass_issued_at(t)), hp_cst_text(pass_expires_at(t)));
    crossings := ARRAY(
        SELECT format('%s  %s  %s  %s', hp_cst_text(to_timestamp((x->>'t')::bigint)),
                      coalesce(pt.name_zh, x->>'p'), hp_direction_zh(x->>'d', x->>'r'), hp_channel_zh(x->>'c'))
          FROM jsonb_array_elements(b->'x') WITH ORDINALITY AS e(x, i)
          LEFT JOIN port pt ON pt.port_code = x->>'p'
         ORDER BY i);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_lines(text) IS
    'the text lines a record certificate prints, read from its token (internal)';

-- The certificate as SVG, an A4 page (210 mm wide, units are mm; 295.5 mm
-- high with 40 crossings): the title,
-- masked name and document, the period, issue and validity, the table of
-- crossings (time in China Standard Time, port, direction, channel) and the
-- token's QR code at level M, 56 mm, top right. Every text is escaped.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_svg(token text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    b jsonb := pass_body(token::pass);
    l record := hp_record_lines(token);
    qr text := qr_svg(token, 'M', 1, 4);
    n integer := (regexp_match(qr, 'viewBox="0 0 ([0-9]+) '))[1]::integer;
    modules text := (regexp_match(qr, '<path [^>]*/>'))[1];
    y numeric := 91.5;
    tbl text := '';
    x record;
    h numeric;
BEGIN
    FOR x IN
        SELECT hp_cst_text(to_timestamp((c->>'t')::bigint)) AS at_text, coalesce(pt.name_zh, c->>'p') AS port_name,
               hp_direction_zh(c->>'d', c->>'r') AS dir, hp_channel_zh(c->>'c') AS channel
          FROM jsonb_array_elements(b->'x') WITH ORDINALITY AS e(c, i)
          LEFT JOIN port pt ON pt.port_code = c->>'p'
         ORDER BY i
    LOOP
        tbl := tbl || format('<text y="%s"><tspan x="15">%s</tspan><tspan x="52">%s</tspan><tspan x="100">%s</tspan><tspan x="130">%s</tspan></text>',
                               y, hp_xml(x.at_text), hp_xml(x.port_name), hp_xml(x.dir), hp_xml(x.channel)) || E'\n';
        y := y + 4.8;
    END LOOP;
    IF tbl = '' THEN
        tbl := format('<text x="15" y="%s">%s</text>', y,
                       hp_xml(CASE WHEN b ? 'per' THEN '本期间无出入境记录 No crossings in this period' ELSE '无记录 No crossing' END)) || E'\n';
        y := y + 4.8;
    END IF;
    h := y + 12;
    RETURN '<?xml version="1.0" encoding="UTF-8"?>' || E'\n'
        || format('<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="210mm" height="%smm" viewBox="0 0 210 %s">', h, h) || E'\n'
        || format('<title>%s</title>', hp_xml(l.title)) || E'\n'
        || format('<rect width="210" height="%s" fill="#ffffff"/>', h) || E'\n'
        || format('<svg x="139" y="12" width="56" height="56" viewBox="0 0 %s %s" shape-rendering="crispEdges">', n, n)
        || format('<rect width="%s" height="%s" fill="#ffffff"/>', n, n) || modules || '</svg>' || E'\n'
        || '<g font-family="Noto Sans CJK SC, Source Han Sans SC, WenQuanYi Micro Hei, PingFang SC, Microsoft YaHei, sans-serif" fill="#000000">' || E'\n'
        || '<text x="167" y="73" font-size="3" text-anchor="middle">扫码核验 Scan to verify</text>' || E'\n'
        || '<text x="15" y="24" font-size="8" font-weight="bold">出入境记录凭证</text>' || E'\n'
        || '<text x="15" y="32" font-size="5">Entry-exit record</text>' || E'\n'
        || '<g font-size="4">' || E'\n'
        || format('<text x="15" y="44">姓名 Name: %s</text>', hp_xml(b->>'name')) || E'\n'
        || format('<text x="15" y="51">证件 Document: %s %s</text>',
                  hp_xml(CASE b->>'doc' WHEN 'cn_resident_id' THEN '居民身份证' ELSE b->>'doc' END), hp_xml(b->>'id')) || E'\n'
        || format('<text x="15" y="58">%s %s</text>', CASE WHEN b ? 'per' THEN '期间 Period:' ELSE '口岸 Port:' END,
                  hp_xml(l.period)) || E'\n'
        || format('<text x="15" y="65">%s</text>', hp_xml(l.validity)) || E'\n'
        || '</g>' || E'\n'
        || '<text x="15" y="71" font-size="3">时间均为北京时间 (UTC+8) · Times are China Standard Time</text>' || E'\n'
        || '<line x1="15" y1="79" x2="195" y2="79" stroke="#000000" stroke-width="0.3"/>' || E'\n'
        || '<text y="84" font-size="3.6" font-weight="bold"><tspan x="15">时间 Time</tspan><tspan x="52">口岸 Port</tspan>'
        || '<tspan x="100">出入境 Direction</tspan><tspan x="130">通道 Channel</tspan></text>' || E'\n'
        || '<line x1="15" y1="86.5" x2="195" y2="86.5" stroke="#000000" stroke-width="0.2"/>' || E'\n'
        || '<g font-size="3.6">' || E'\n' || tbl || '</g>' || E'\n'
        || format('<line x1="15" y1="%s" x2="195" y2="%s" stroke="#000000" stroke-width="0.3"/>', y - 2.8, y - 2.8) || E'\n'
        || format('<text x="15" y="%s" font-size="3">凭证以二维码核验结果为准 · The QR code is the signed record: verify it.</text>', y + 3) || E'\n'
        || '</g>' || E'\n'
        || '</svg>' || E'\n';
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_svg(text) IS
    'a record certificate as a printable SVG page, read from its token (internal)';

-- The certificate as PNG: the QR code at level M with the lines drawn under
-- it (hp_poster_png), and the title and the masked identity and period in
-- iTXt chunks.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_png(token text, module_px integer) RETURNS bytea
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    l record := hp_record_lines(token);
    lines text[] := ARRAY[l.title, l.who, l.period, l.validity]
                    || CASE WHEN cardinality(l.crossings) = 0 THEN ARRAY['本期间无出入境记录 No crossings in this period']
                            ELSE l.crossings END;
BEGIN
    RETURN hp_png_text(hp_png_text(hp_poster_png(token, 'M', module_px, lines), 'Description', l.who || ' · ' || l.period),
                       'Title', l.title);
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_png(text, integer) IS
    'a record certificate as a PNG: the QR code with its lines drawn under it (internal)';

CREATE OR REPLACE FUNCTION crossing_record(person_id bigint, from_time timestamptz, to_time timestamptz) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN hp_record_period(person_id, from_time, to_time);
END
$$;
COMMENT ON FUNCTION healthpass.crossing_record(bigint, timestamptz, timestamptz) IS
    'an entry-exit record certificate (HP1 kind "record", a year long) of a mainland resident''s crossings in [from_time, to_time): at most 40';

CREATE OR REPLACE FUNCTION latest_crossing_record(person_id bigint, port_code text) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN hp_record_latest(person_id, port_code);
END
$$;
COMMENT ON FUNCTION healthpass.latest_crossing_record(bigint, text) IS
    'the kiosk print: a record certificate (HP1 kind "record") of the person''s latest crossing at the port; P0002 when none';

CREATE OR REPLACE FUNCTION record_certificate_svg(person_id bigint, from_time timestamptz, to_time timestamptz) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN hp_record_svg(hp_record_period(person_id, from_time, to_time));
END
$$;
COMMENT ON FUNCTION healthpass.record_certificate_svg(bigint, timestamptz, timestamptz) IS
    'a new record certificate of a period as a printable SVG page: masked identity, period, table of crossings, QR code';

CREATE OR REPLACE FUNCTION latest_crossing_svg(person_id bigint, port_code text) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    RETURN hp_record_svg(hp_record_latest(person_id, port_code));
END
$$;
COMMENT ON FUNCTION healthpass.latest_crossing_svg(bigint, text) IS
    'the kiosk print as a printable SVG page: the latest crossing at the port and its QR code';

CREATE OR REPLACE FUNCTION record_certificate_png(person_id bigint, from_time timestamptz, to_time timestamptz,
                                                  module_px integer DEFAULT 6) RETURNS bytea
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    px integer := hp_module_px(module_px);
BEGIN
    RETURN hp_record_png(hp_record_period(person_id, from_time, to_time), px);
END
$$;
COMMENT ON FUNCTION healthpass.record_certificate_png(bigint, timestamptz, timestamptz, integer) IS
    'a new record certificate of a period as a PNG: the QR code at level M with its lines drawn under it (font: healthpass.poster_font)';

CREATE OR REPLACE FUNCTION latest_crossing_png(person_id bigint, port_code text, module_px integer DEFAULT 6) RETURNS bytea
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    px integer := hp_module_px(module_px);
BEGIN
    RETURN hp_record_png(hp_record_latest(person_id, port_code), px);
END
$$;
COMMENT ON FUNCTION healthpass.latest_crossing_png(bigint, text, integer) IS
    'the kiosk print as a PNG: the QR code at level M with its lines drawn under it';

-- Whether a record body has the shape this page describes (any issuer's:
-- the limit of 40 is this issuer's, not checked).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_record_body_ok(b jsonb) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    x jsonb;
BEGIN
    IF jsonb_typeof(b->'name') IS DISTINCT FROM 'string' OR jsonb_typeof(b->'doc') IS DISTINCT FROM 'string'
       OR jsonb_typeof(b->'id') IS DISTINCT FROM 'string' OR jsonb_typeof(b->'x') IS DISTINCT FROM 'array'
       OR (b ? 'per') = (b ? 'at') THEN
        RETURN false;
    END IF;
    IF b ? 'per' THEN
        IF jsonb_typeof(b->'per') <> 'array' OR jsonb_array_length(b->'per') <> 2
           OR jsonb_typeof(b->'per'->0) <> 'number' OR (b->'per'->>0) !~ '^-?[0-9]{1,11}$'
           OR jsonb_typeof(b->'per'->1) <> 'number' OR (b->'per'->>1) !~ '^-?[0-9]{1,11}$' THEN
            RETURN false;
        END IF;
        IF (b->'per'->>0)::bigint >= (b->'per'->>1)::bigint THEN
            RETURN false;
        END IF;
    ELSIF jsonb_typeof(b->'at') <> 'string' THEN
        RETURN false;
    END IF;
    FOR x IN SELECT e FROM jsonb_array_elements(b->'x') e LOOP
        IF jsonb_typeof(x) <> 'object'
           OR jsonb_typeof(x->'t') IS DISTINCT FROM 'number' OR (x->>'t') !~ '^-?[0-9]{1,11}$'
           OR jsonb_typeof(x->'p') IS DISTINCT FROM 'string' OR jsonb_typeof(x->'c') IS DISTINCT FROM 'string'
           OR jsonb_typeof(x->'d') IS DISTINCT FROM 'string' OR (x->>'d') NOT IN ('exit', 'entry')
           OR jsonb_typeof(x->'r') IS DISTINCT FROM 'string' OR (x->>'r') NOT IN ('HK', 'MO') THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_record_body_ok(jsonb) IS 'a record certificate body of the documented shape (internal)';

-- What a counter sees of a shown certificate: verify_token's verdict (reason
-- names the first failure: the token's, then wrong_kind, then malformed for
-- a body of another shape), and the claims when the signature checked
-- (also for an expired or revoked certificate, with valid = false): masked
-- identity, the period or the kiosk's port, and the crossings, oldest first,
-- as a jsonb array of {crossed_at (China Standard Time, ISO 8601),
-- port_code, port_name, direction, region, channel}. Certificates of other
-- issuers whose keys were imported verify too (issuer says whose).
CREATE OR REPLACE FUNCTION verify_record_certificate(token text)
    RETURNS TABLE (valid boolean, reason text, issuer text, issued_at timestamptz, expires_at timestamptz,
                   name_masked text, doc_kind text, id_masked text, period_from timestamptz, period_to timestamptz,
                   latest_at_port text, crossings jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    v verification;
    why text;
    b jsonb;
BEGIN
    IF token IS NULL THEN
        RAISE EXCEPTION 'record certificate is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Pass the HP1 text scanned from the certificate.';
    END IF;
    v := verify_token(token);
    why := v.reason;
    IF v.kind IS NOT NULL AND v.kind <> 'record' THEN
        why := coalesce(why, 'wrong_kind');
    ELSIF v.body IS NOT NULL THEN
        IF hp_record_body_ok(v.body) THEN
            b := v.body;
        ELSE
            why := coalesce(why, 'malformed');
        END IF;
    END IF;
    RETURN QUERY SELECT why IS NULL, why, CASE WHEN b IS NOT NULL THEN v.issuer END,
        CASE WHEN b IS NOT NULL THEN v.issued_at END, CASE WHEN b IS NOT NULL THEN v.expires_at END,
        b->>'name', b->>'doc', b->>'id',
        to_timestamp((b->'per'->>0)::bigint), to_timestamp((b->'per'->>1)::bigint), b->>'at',
        CASE WHEN b IS NOT NULL THEN coalesce(
            (SELECT jsonb_agg(jsonb_build_object(
                        'crossed_at', to_char(to_timestamp((x->>'t')::bigint) AT TIME ZONE 'Asia/Shanghai',
                                              'YYYY-MM-DD"T"HH24:MI:SS"+08:00"'),
                        'port_code', x->>'p', 'port_name', pt.name_zh, 'direction', x->>'d', 'region', x->>'r',
                        'channel', x->>'c') ORDER BY i)
               FROM jsonb_array_elements(b->'x') WITH ORDINALITY AS e(x, i)
               LEFT JOIN port pt ON pt.port_code = x->>'p'), '[]') END;
END
$$;
COMMENT ON FUNCTION healthpass.verify_record_certificate(text) IS
    'verify a shown entry-exit record certificate: verdict, masked identity, period or port, and its crossings (jsonb, oldest first)';

-- The contactless e-Channel (seed 003 非触式e-道) ---------------------------------

-- How a Hong Kong resident authenticated before the code is issued.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_contactless_methods() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['iam_smart', 'iam_smart_plus'];
COMMENT ON FUNCTION healthpass_internal.hp_contactless_methods() IS
    'authentications a contactless e-Channel code follows: iAM Smart, iAM Smart+ (internal)';

-- The code the contactless e-Channel app shows after the resident's
-- identity card was authenticated with iAM Smart (智方便): an HP1 token of
-- kind "crossing", valid for contactless_code_valid_for, used once.
CREATE OR REPLACE FUNCTION hk_contactless_code(person_id bigint, authenticated_via text) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
    code text;
    issued pass;
BEGIN
    IF authenticated_via IS NULL OR NOT authenticated_via = ANY (hp_contactless_methods()) THEN
        RAISE EXCEPTION 'authentication "%" is not valid', hp_quote(authenticated_via)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The contactless e-Channel code follows an authentication of the identity card with iAM Smart ("iam_smart" or "iam_smart_plus").';
    END IF;
    IF p.doc_kind <> 'hkid' THEN
        RAISE EXCEPTION 'document kind "%" cannot hold a contactless e-Channel code', p.doc_kind
            USING ERRCODE = 'check_violation',
                  DETAIL = 'The contactless e-Channel is for holders of a Hong Kong identity card (seed 003).';
    END IF;
    code := hp_issue_code(p, 'crossing', person_claims(p.person_id), hp_setting('contactless_code_valid_for')::interval);
    issued := code;
    INSERT INTO contactless_code (person_id, token_id, authenticated_via, issued_at, expires_at)
    VALUES (p.person_id, pass_token_id(issued), authenticated_via, pass_issued_at(issued), pass_expires_at(issued));
    RETURN code;
END
$$;
COMMENT ON FUNCTION healthpass.hk_contactless_code(bigint, text) IS
    'a Hong Kong resident''s contactless e-Channel code (HP1 kind "crossing", minutes long, used once) after iAM Smart authentication';

-- A contactless e-Channel gate of Hong Kong scans a code. port_code: a port
-- serving Hong Kong; direction as Hong Kong sees it ('arrival' or
-- 'departure'). Answers passed = true and records the passage, or
-- passed = false with a named refusal (recording nothing):
--   malformed, unknown_key, key_revoked, key_expired, bad_signature,
--   issuer_mismatch, expired, not_yet_valid, revoked   verify_token's verdict
--   wrong_kind    a code of another kind (a health code, a certificate)
--   foreign       signed by another issuer's key: gates take the codes of
--                 the issuer they belong to
--   not_issued    signed here but not issued as a contactless code
--   already_used  the code let someone through already (single use, even
--                 at two gates at once)
-- The masked name and number are returned whenever the signature checked.
CREATE OR REPLACE FUNCTION scan_contactless_code(token text, port_code text, direction text)
    RETURNS TABLE (passed boolean, refusal text, detail text, name_masked text, id_masked text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    pt port := hp_port(port_code);
    v verification;
    why text;
    what text;
    ref uuid;
    pid bigint;
    used bytea;
BEGIN
    IF token IS NULL THEN
        RAISE EXCEPTION 'contactless code is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Pass the HP1 text the gate scanned.';
    END IF;
    PERFORM hp_crossing_region(pt, 'HK');
    IF direction IS NULL OR direction NOT IN ('arrival', 'departure') THEN
        RAISE EXCEPTION 'direction "%" is not valid', hp_quote(direction)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A Hong Kong gate lets travellers in ("arrival") or out ("departure").';
    END IF;
    v := verify_token(token);
    IF v.kind IS NOT NULL AND v.kind <> 'crossing' THEN
        why := 'wrong_kind';
        what := format('The code is of kind "%s", not a contactless e-Channel code.', hp_quote(v.kind, 20));
    ELSIF v.reason IS NOT NULL THEN
        why := v.reason;
        what := CASE v.reason
            WHEN 'expired' THEN 'The code has expired: the traveller opens the app for a new one.'
            WHEN 'revoked' THEN 'The code was revoked: the traveller''s details changed since it was issued.'
            WHEN 'malformed' THEN 'The scanned text is not an HP1 code.'
            WHEN 'not_yet_valid' THEN 'The code is dated in the future; check the clocks.'
            ELSE 'The code is not signed by a key this server trusts for it.' END;
    ELSIF NOT EXISTS (SELECT 1 FROM signing_key k WHERE k.kid = v.kid AND k.secret_box IS NOT NULL) THEN
        why := 'foreign';
        what := format('The code was issued by "%s"; a gate takes the codes of its own issuer.', hp_quote(v.issuer, 40));
    ELSE
        BEGIN
            ref := (v.body->>'ref')::uuid;
        EXCEPTION WHEN invalid_text_representation THEN
            ref := NULL;
        END;
        SELECT r.person_id INTO pid FROM ref_index r WHERE r.public_ref = ref;
        IF pid IS NULL THEN
            why := 'malformed';
            what := 'The code names no person.';
        ELSIF NOT EXISTS (SELECT 1 FROM contactless_code c WHERE c.person_id = pid AND c.token_id = v.token_id) THEN
            why := 'not_issued';
            what := 'The code was not issued as a contactless e-Channel code.';
        ELSE
            INSERT INTO contactless_passage AS cp (person_id, token_id, port_code, direction)
            VALUES (pid, v.token_id, pt.port_code, scan_contactless_code.direction)
            ON CONFLICT (person_id, token_id) DO NOTHING
            RETURNING cp.token_id INTO used;
            IF used IS NULL THEN
                why := 'already_used';
                what := (SELECT format('The code let its holder through at %s on %s already; it is used once.',
                                       x.name, hp_cst_text(cp.passed_at))
                           FROM contactless_passage cp JOIN port x ON x.port_code = cp.port_code
                          WHERE cp.person_id = pid AND cp.token_id = v.token_id);
            END IF;
        END IF;
    END IF;
    RETURN QUERY SELECT why IS NULL, why, what,
        CASE WHEN v.kind = 'crossing' THEN v.body->>'name' END,
        CASE WHEN v.kind = 'crossing' THEN v.body->>'id' END;
END
$$;
COMMENT ON FUNCTION healthpass.scan_contactless_code(text, text, text) IS
    'a Hong Kong contactless e-Channel gate scans a code: passed (the passage recorded, the code used), or a named refusal; masked name and number';

GRANT EXECUTE ON FUNCTION
    healthpass.crossing_record(bigint, timestamptz, timestamptz),
    healthpass.latest_crossing_record(bigint, text),
    healthpass.record_certificate_svg(bigint, timestamptz, timestamptz),
    healthpass.latest_crossing_svg(bigint, text),
    healthpass.record_certificate_png(bigint, timestamptz, timestamptz, integer),
    healthpass.latest_crossing_png(bigint, text, integer)
  TO healthpass_app, healthpass_border;
GRANT EXECUTE ON FUNCTION healthpass.verify_record_certificate(text) TO healthpass_border, healthpass_scanner;
GRANT EXECUTE ON FUNCTION healthpass.hk_contactless_code(bigint, text) TO healthpass_app;
GRANT EXECUTE ON FUNCTION healthpass.scan_contactless_code(text, text, text) TO healthpass_border;

-- ===== sql/schema/75_reminders.sql
-- 75_reminders.sql: reminders before a travel document or an endorsement
-- expires, and when an endorsement's entries are used up (seed 001: the
-- reminder service that comes with the electronic permit in the card
-- package).
--
-- Rows are made and cancelled by row triggers on travel_document,
-- endorsement and electronic_permit (sql/api/75_reminders.sql); delivery
-- workers take due rows from the queue with claim_due_reminders() and
-- report each one sent or failed. A reminder is of one person: person_id
-- comes first in the primary key and in the unique key, so the table can
-- be distributed by person as every personal table is.
-- (created once: later changes go to sql/updates/)

-- One reminder of one person:
--   subject, subject_id   'document' (a travel_document's document_id) or
--                         'endorsement' (an endorsement's endorsement_id)
--   reason                document_expiry, endorsement_expiry, or
--                         endorsement_used_up (every entry used)
--   offset_days           the days before expiry it is due (NULL for used_up)
--   status                scheduled -> sent; scheduled -> failed after
--                         reminder_max_attempts; scheduled -> cancelled when
--                         it no longer applies. A worker's claim is not a
--                         status: claimed_by and claimed_until (the lease)
--                         say who holds it until when; a claim whose lease
--                         ran out is handed out again
--   next_at               when it is due: due_at, or a retry time after a
--                         failure; NULL once final (sent, failed, cancelled)
-- Claiming writes only columns no index holds (claimed_by, claimed_until,
-- attempts, updated_at), so with the free space the fill factor leaves a
-- claim is a heap-only update: no index entry is written.
--   doc_kind ... expires_on  what the message says, copied from the subject
--                         when the reminder is made (a document's kind and
--                         number never change; a changed expiry date makes
--                         new reminders), so that handing out a reminder
--                         reads this table alone: the document kind, its
--                         number masked, an endorsement's region and type,
--                         and the last valid day
-- Cancelled rows are kept as history; at most one row of a subject, reason
-- and offset is anything but cancelled, which makes scheduling idempotent
-- (INSERT ... ON CONFLICT DO NOTHING) and sends each reminder once.
CREATE TABLE reminder (
    person_id        bigint NOT NULL,
    reminder_id      bigint GENERATED ALWAYS AS IDENTITY,
    subject          text NOT NULL CHECK (subject IN ('document', 'endorsement')),
    subject_id       bigint NOT NULL,
    reason           text NOT NULL CHECK (reason IN ('document_expiry', 'endorsement_expiry', 'endorsement_used_up')),
    offset_days      integer CHECK (offset_days BETWEEN 1 AND 366),
    due_at           timestamptz NOT NULL,
    doc_kind         text NOT NULL,
    doc_number_masked text NOT NULL,
    region           text CHECK (region IN ('HK', 'MO')),
    endorsement_type text,
    expires_on       date NOT NULL,
    status           text NOT NULL DEFAULT 'scheduled'
                     CHECK (status IN ('scheduled', 'sent', 'failed', 'cancelled')),
    next_at          timestamptz,
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    claimed_by       text,
    claimed_until    timestamptz,
    last_error       text,
    sent_at          timestamptz,
    cancelled_reason text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, reminder_id),
    CHECK ((subject = 'document') = (reason = 'document_expiry')),
    CHECK ((reason = 'endorsement_used_up') = (offset_days IS NULL)),
    CHECK ((subject = 'endorsement') = (region IS NOT NULL AND endorsement_type IS NOT NULL)),
    CHECK ((status = 'scheduled') = (next_at IS NOT NULL)),
    CHECK (claimed_until IS NULL OR claimed_by IS NOT NULL),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    CHECK ((status = 'cancelled') = (cancelled_reason IS NOT NULL))
) WITH (fillfactor = 80);
COMMENT ON TABLE healthpass.reminder IS
    'reminders before a document or an endorsement expires and when an endorsement is used up: due time, delivery status, attempts';
-- scheduling is idempotent: one live (not cancelled) reminder of a subject,
-- reason and offset; the used-up reminder (offset NULL) once per endorsement
CREATE UNIQUE INDEX reminder_once ON reminder (person_id, subject, subject_id, reason, offset_days) NULLS NOT DISTINCT
    WHERE status <> 'cancelled';
-- the delivery queue: what is handed out next, and nothing else
CREATE INDEX reminder_queue ON reminder (next_at) WHERE status = 'scheduled';

SELECT pg_catalog.pg_extension_config_dump('reminder', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.reminder', 'reminder_id'), '');

-- ===== sql/api/75_reminders.sql
-- 75_reminders.sql: reminders before a travel document or an endorsement
-- expires and when an endorsement's entries are used up (seed 001: the
-- reminder service comes with the electronic permit in the card package),
-- made by row triggers and handed to delivery workers through a queue.
--
-- Who calls what:
--   (triggers)            travel_document, endorsement and electronic_permit
--                         keep a person's reminders in step with them
--   healthpass_messenger  delivery workers: claim_due_reminders,
--                         mark_reminder_sent, mark_reminder_failed, and
--                         reminder_scheduler (the pg_cron job)
--   healthpass_app        reminders(person_id): a traveller's reminders
-- Reminders exist only while the person has a bound electronic permit:
-- binding schedules them, unbinding cancels what is still pending (kept as
-- history), binding again schedules anew. doc/reminders.md tells the whole
-- story.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Settings ----------------------------------------------------------------------

-- Days before expiry a reminder is due, latest first (setting reminder_offsets).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_reminder_offsets() RETURNS integer[]
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
RETURN string_to_array(hp_setting('reminder_offsets'), ',')::integer[];
COMMENT ON FUNCTION healthpass_internal.hp_reminder_offsets() IS 'setting reminder_offsets as days, latest first (internal)';

-- Scheduling ----------------------------------------------------------------------

-- Brings one subject's reminders (a document or an endorsement of a person)
-- in step with it:
--   * pending reminders (scheduled, or claimed and not yet sent) that no
--     longer apply are cancelled, with the reason: no electronic permit, the
--     subject replaced, cancelled, reported lost or expired, its expiry date
--     changed (the reminder was due on the old date), or entries given back
--     (used_up);
--   * while the subject applies (a bound permit; a valid document or an
--     active endorsement, not expired), a reminder is scheduled at every
--     offset of reminder_offsets whose due time expires_at - offset days is
--     still in the future, and for an endorsement whose entries are all
--     used, one endorsement_used_up reminder due now.
-- A subject, reason and offset has at most one reminder that is not
-- cancelled: one already scheduled, sent or failed is left as it is.
-- NOTIFY healthpass_reminders when a reminder made here is due already.
-- Returns how many reminders it made.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_reminders_sync(pid bigint, subj text, sid bigint) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    bound boolean := EXISTS (SELECT 1 FROM electronic_permit ep WHERE ep.person_id = pid);
    d travel_document;
    e endorsement;
    masked text;
    expiry_reason text;
    expires timestamptz;
    why text;                   -- why the subject's reminders no longer apply
    used_up boolean := false;
    made integer;
    due_now integer;
    gone bigint[];              -- the pending reminders to cancel
    w record;                   -- a reminder wanted
BEGIN
    IF NOT bound THEN
        UPDATE reminder r
           SET status = 'cancelled', next_at = NULL, cancelled_reason = 'electronic permit unbound', updated_at = now()
         WHERE r.person_id = pid AND r.subject = subj AND r.subject_id = sid AND r.status = 'scheduled';
        RETURN 0;
    END IF;
    IF subj = 'document' THEN
        SELECT * INTO d FROM travel_document t WHERE t.person_id = pid AND t.document_id = sid;
        IF NOT FOUND THEN
            RETURN 0;
        END IF;
        expiry_reason := 'document_expiry';
        expires := d.expires_at;
        masked := hp_mask_document(d.doc_kind, d.doc_number);
        why := CASE WHEN d.status = 'replaced' THEN 'document replaced'
                    WHEN d.status = 'reported_lost' THEN 'document reported lost'
                    WHEN d.expires_at <= now() THEN 'document expired' END;
    ELSE
        SELECT * INTO e FROM endorsement x WHERE x.person_id = pid AND x.endorsement_id = sid;
        IF NOT FOUND THEN
            RETURN 0;
        END IF;
        SELECT * INTO d FROM travel_document t WHERE t.person_id = pid AND t.document_id = e.document_id;
        expiry_reason := 'endorsement_expiry';
        expires := e.expires_at;
        masked := hp_mask_document(d.doc_kind, d.doc_number);
        why := CASE WHEN e.status = 'replaced' THEN 'endorsement replaced'
                    WHEN e.status = 'cancelled' THEN 'endorsement cancelled'
                    WHEN e.expires_at <= now() THEN 'endorsement expired' END;
        used_up := e.entries_allowed IS NOT NULL AND e.entries_used >= e.entries_allowed;
    END IF;

    -- the pending reminders that no longer apply, locked, then cancelled in
    -- a second statement: on Citus an UPDATE may not call a STABLE function
    -- (timestamptz - interval) over the row's columns
    SELECT array_agg(l.reminder_id) INTO gone FROM (
        SELECT r.reminder_id FROM reminder r
         WHERE r.person_id = pid AND r.subject = subj AND r.subject_id = sid AND r.status = 'scheduled'
           AND (why IS NOT NULL
                OR (r.reason = 'endorsement_used_up' AND NOT used_up)
                OR (r.reason <> 'endorsement_used_up' AND r.due_at <> expires - make_interval(days => r.offset_days)))
           FOR UPDATE OF r) l;
    IF gone IS NOT NULL THEN
        UPDATE reminder r
           SET status = 'cancelled', next_at = NULL, updated_at = now(),
               cancelled_reason = coalesce(why, CASE WHEN r.reason = 'endorsement_used_up' THEN 'entries no longer used up'
                                                     ELSE 'expiry date changed' END)
         WHERE r.person_id = pid AND r.reminder_id = ANY (gone) AND r.status = 'scheduled';
    END IF;
    IF why IS NOT NULL THEN
        RETURN 0;
    END IF;

    -- the reminders wanted (computed here, reading no table), each written
    -- by its own INSERT … VALUES unless one not cancelled is there: on
    -- Citus an INSERT … SELECT over a CTE with a correlated subquery on the
    -- distributed table cannot be planned
    made := 0;
    due_now := 0;
    FOR w IN
        SELECT expiry_reason AS reason, o AS offset_days, expires - make_interval(days => o) AS due_at
          FROM unnest(hp_reminder_offsets()) o
         WHERE expires - make_interval(days => o) > now()
        UNION ALL
        SELECT 'endorsement_used_up', NULL::integer, now() WHERE used_up
    LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM reminder x
                               WHERE x.person_id = pid AND x.subject = subj AND x.subject_id = sid
                                 AND x.reason = w.reason AND x.offset_days IS NOT DISTINCT FROM w.offset_days
                                 AND x.status <> 'cancelled');
        INSERT INTO reminder AS r (person_id, subject, subject_id, reason, offset_days, due_at, next_at,
                                   doc_kind, doc_number_masked, region, endorsement_type, expires_on)
        VALUES (pid, subj, sid, w.reason, w.offset_days, w.due_at, w.due_at,
                d.doc_kind, masked, e.region, e.endorsement_type, coalesce(e.valid_until, d.valid_until))
        ON CONFLICT (person_id, subject, subject_id, reason, offset_days) WHERE status <> 'cancelled' DO NOTHING;
        IF FOUND THEN
            made := made + 1;
            IF w.due_at <= now() THEN
                due_now := due_now + 1;
            END IF;
        END IF;
    END LOOP;
    IF due_now > 0 THEN
        PERFORM pg_notify('healthpass_reminders', '');
    END IF;
    RETURN made;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_reminders_sync(bigint, text, bigint) IS
    'cancel a document''s or endorsement''s pending reminders that no longer apply, schedule those that do (internal)';

-- Every current document and active endorsement of a person (binding, or
-- the permit moved to a new card). Returns how many reminders were made.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_reminders_sync_person(pid bigint) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    made integer := 0;
    id bigint;
BEGIN
    FOR id IN SELECT t.document_id FROM travel_document t
               WHERE t.person_id = pid AND t.status = 'valid' AND t.expires_at > now() ORDER BY t.document_id LOOP
        made := made + hp_reminders_sync(pid, 'document', id);
    END LOOP;
    FOR id IN SELECT e.endorsement_id FROM endorsement e
               WHERE e.person_id = pid AND e.status = 'active' AND e.expires_at > now() ORDER BY e.endorsement_id LOOP
        made := made + hp_reminders_sync(pid, 'endorsement', id);
    END LOOP;
    RETURN made;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_reminders_sync_person(bigint) IS
    'schedule the reminders of every current document and active endorsement of a person (internal)';

-- Row trigger on electronic_permit: binding schedules the person's
-- reminders, the permit moving to a new card schedules them again (what
-- no longer applies was cancelled by the document and endorsement
-- triggers), unbinding cancels every pending one. Sent, failed and
-- cancelled reminders stay as history.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_reminder_permit_trigger() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE reminder r
           SET status = 'cancelled', next_at = NULL, cancelled_reason = 'electronic permit unbound', updated_at = now()
         WHERE r.person_id = OLD.person_id AND r.status = 'scheduled';
        RETURN OLD;
    END IF;
    IF TG_OP = 'INSERT' OR OLD.document_id IS DISTINCT FROM NEW.document_id THEN
        PERFORM hp_reminders_sync_person(NEW.person_id);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_reminder_permit_trigger() IS
    'row trigger on electronic_permit: binding or moving schedules the person''s reminders, unbinding cancels the pending ones';

CREATE OR REPLACE TRIGGER electronic_permit_reminders
    AFTER INSERT OR DELETE OR UPDATE OF document_id ON electronic_permit
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_reminder_permit_trigger();

-- Row trigger on travel_document: a new document, or a change of its status
-- or expiry, (re)schedules its reminders.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_reminder_document_trigger() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status IS NOT DISTINCT FROM NEW.status AND OLD.expires_at IS NOT DISTINCT FROM NEW.expires_at THEN
        RETURN NEW;
    END IF;
    PERFORM hp_reminders_sync(NEW.person_id, 'document', NEW.document_id);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_reminder_document_trigger() IS
    'row trigger on travel_document: (re)schedule or cancel the document''s reminders';

CREATE OR REPLACE TRIGGER travel_document_reminders
    AFTER INSERT OR UPDATE OF status, valid_until, expires_at ON travel_document
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_reminder_document_trigger();

-- Row trigger on endorsement: a new endorsement, or a change of its status,
-- expiry or entries, (re)schedules its reminders. A renewal first cancels
-- the old endorsement and then marks it replaced (hp_put_endorsement): the
-- reminders cancelled a moment earlier in the same transaction are then
-- said to be cancelled because the endorsement was replaced.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_reminder_endorsement_trigger() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- an entry used (every exit at a gate) matters only when it is the
        -- last one: status and dates the same, used up before and after
        -- alike, nothing changes
        IF OLD.status IS NOT DISTINCT FROM NEW.status AND OLD.expires_at IS NOT DISTINCT FROM NEW.expires_at
           AND (OLD.entries_allowed IS NOT NULL AND OLD.entries_used >= OLD.entries_allowed)
               IS NOT DISTINCT FROM (NEW.entries_allowed IS NOT NULL AND NEW.entries_used >= NEW.entries_allowed) THEN
            RETURN NEW;
        END IF;
        IF OLD.status = 'cancelled' AND NEW.status = 'replaced' THEN
            UPDATE reminder r SET cancelled_reason = 'endorsement replaced'
             WHERE r.person_id = NEW.person_id AND r.subject = 'endorsement' AND r.subject_id = NEW.endorsement_id
               AND r.status = 'cancelled' AND r.cancelled_reason = 'endorsement cancelled' AND r.updated_at = now();
        END IF;
    END IF;
    PERFORM hp_reminders_sync(NEW.person_id, 'endorsement', NEW.endorsement_id);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_reminder_endorsement_trigger() IS
    'row trigger on endorsement: (re)schedule or cancel the endorsement''s reminders, the used-up one included';

CREATE OR REPLACE TRIGGER endorsement_reminders_new
    AFTER INSERT ON endorsement
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_reminder_endorsement_trigger();
-- an entry used at a gate fires nothing unless it was the last one (the
-- function repeats the test: it is also called for a status change)
CREATE OR REPLACE TRIGGER endorsement_reminders
    AFTER UPDATE OF status, valid_until, expires_at, entries_used, entries_allowed ON endorsement
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR (OLD.entries_allowed IS NOT NULL AND OLD.entries_used >= OLD.entries_allowed)
             IS DISTINCT FROM (NEW.entries_allowed IS NOT NULL AND NEW.entries_used >= NEW.entries_allowed))
    EXECUTE FUNCTION healthpass_internal.hp_reminder_endorsement_trigger();

-- Delivery -------------------------------------------------------------------------

-- A worker's name as claims and reports carry it: 1 to 100 characters, no
-- control characters; 22004 when missing.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_worker(worker text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    w text := hp_text('worker', worker, 100);
BEGIN
    IF w IS NULL THEN
        RAISE EXCEPTION 'worker is missing'
            USING ERRCODE = 'null_value_not_allowed',
                  DETAIL = 'Name the delivery worker, for example "worker-1": claims and reports carry its name.';
    END IF;
    RETURN w;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_worker(text) IS 'checked delivery worker name (internal)';

-- A person's reminder locked FOR UPDATE, or 22004 (an id missing) or P0002.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_lock_reminder(pid bigint, rid bigint) RETURNS reminder
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    r reminder;
BEGIN
    IF pid IS NULL THEN
        RAISE EXCEPTION 'person id is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the person by their person_id, as claim_due_reminders() returned it.';
    END IF;
    IF rid IS NULL THEN
        RAISE EXCEPTION 'reminder id is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the reminder by its reminder_id, as claim_due_reminders() returned it.';
    END IF;
    SELECT * INTO r FROM reminder x WHERE x.person_id = pid AND x.reminder_id = rid FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'reminder % of person % does not exist', rid, pid
            USING ERRCODE = 'no_data_found', DETAIL = 'claim_due_reminders() hands out each reminder with its person_id and reminder_id.';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_lock_reminder(bigint, bigint) IS 'a person''s reminder locked FOR UPDATE, or 22004 / P0002 (internal)';

-- Hands out up to max_count due reminders to a worker: those scheduled
-- whose next_at has come and that no worker holds (never claimed, or the
-- lease ran out), the earliest first, skipping rows another worker is
-- claiming at this moment (FOR UPDATE SKIP LOCKED), so workers running at
-- once never get the same reminder. Each is held by the worker until
-- now() + reminder_lease (claimed_by, claimed_until), its attempts counted;
-- no indexed column changes, so the claim is a heap-only update. Returns what a message needs: the
-- reason, the document kind (and an endorsement's region and type), the
-- number masked, the last valid day and the days left until the end of it
-- (counted in China Standard Time: 30 on the day of the 30-day reminder),
-- the entries remaining of a used-up endorsement (NULL for the other
-- reasons), and the attempt this is. The reminder table alone is read (and
-- for a used-up reminder its endorsement row).
CREATE OR REPLACE FUNCTION claim_due_reminders(worker text, max_count integer DEFAULT 100)
    RETURNS TABLE (reminder_id bigint, person_id bigint, reason text, due_at timestamptz, subject text,
                   doc_kind text, region text, endorsement_type text, doc_number_masked text,
                   expires_on date, days_left integer, entries_remaining integer, attempts integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    w text := hp_worker(worker);
    lease interval := hp_setting('reminder_lease')::interval;
    tids tid[];
BEGIN
    IF max_count IS NULL THEN
        RAISE EXCEPTION 'max count is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Say how many reminders to claim at most, for example 100.';
    END IF;
    IF max_count NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'max count % is out of range', max_count
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A worker claims 1 to 10000 reminders at a time.';
    END IF;
    -- the queue's partial index in next_at order (no table scan); the rows
    -- locked here cannot move until this transaction ends, so they are
    -- updated by their tuple ids (a TID scan, no second index descent)
    SELECT array_agg(q.ctid) INTO tids
      FROM (SELECT r.ctid
              FROM reminder r
             WHERE r.status = 'scheduled' AND r.next_at <= now()
               AND (r.claimed_until IS NULL OR r.claimed_until <= now())
             ORDER BY r.next_at
             LIMIT max_count
               FOR UPDATE SKIP LOCKED) q;
    -- the message's facts are on the row (copied when it was scheduled):
    -- only a used-up reminder looks at its endorsement's count
    RETURN QUERY
    WITH c AS (
        UPDATE reminder r
           SET claimed_by = w, claimed_until = now() + lease, attempts = r.attempts + 1, updated_at = now()
         WHERE r.ctid = ANY (tids) AND r.status = 'scheduled' AND r.next_at <= now()
           AND (r.claimed_until IS NULL OR r.claimed_until <= now())
        RETURNING r.*
    )
    SELECT c.reminder_id, c.person_id, c.reason, c.due_at, c.subject,
           c.doc_kind, c.region, c.endorsement_type, c.doc_number_masked, c.expires_on,
           c.expires_on + 1 - hp_cst_day(now()),
           CASE WHEN c.reason = 'endorsement_used_up'
                THEN (SELECT e.entries_allowed - e.entries_used FROM endorsement e
                       WHERE e.person_id = c.person_id AND e.endorsement_id = c.subject_id) END,
           c.attempts
      FROM c
     ORDER BY c.due_at, c.reminder_id;
END
$$;
COMMENT ON FUNCTION healthpass.claim_due_reminders(text, integer) IS
    'hand out up to max_count due reminders to a worker for reminder_lease (never the same one to two workers at once): masked number, expiry, days left';

-- A worker reports a reminder sent. The first report of a reminder still
-- pending (held by a worker, or scheduled again after a failure; handed out at least
-- once) makes it sent, whichever worker holds it now: the message went out,
-- so it is not handed out again. Returns true then. A report of a reminder
-- already sent (a second call, or a worker whose lease passed to another
-- that reported first), failed or cancelled changes nothing and returns
-- false. A reminder never handed out is refused (55000).
CREATE OR REPLACE FUNCTION mark_reminder_sent(person_id bigint, reminder_id bigint, worker text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    w text := hp_worker(worker);
    r reminder := hp_lock_reminder(person_id, reminder_id);
BEGIN
    IF r.status <> 'scheduled' THEN
        RETURN false;
    END IF;
    IF r.attempts = 0 THEN
        RAISE EXCEPTION 'reminder % was never handed out', r.reminder_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A reminder is reported sent by the worker that claimed it with claim_due_reminders().';
    END IF;
    UPDATE reminder x SET status = 'sent', sent_at = now(), next_at = NULL, claimed_by = w, claimed_until = NULL,
                          updated_at = now()
     WHERE x.person_id = r.person_id AND x.reminder_id = r.reminder_id;
    RETURN true;
END
$$;
COMMENT ON FUNCTION healthpass.mark_reminder_sent(bigint, bigint, text) IS
    'report a reminder sent: true the first time, false (nothing changed) when it was sent, failed or cancelled already';

-- A worker reports that a reminder it holds could not be delivered. It is
-- handed out again after 1 minute x 2^(attempts - 1), at most a day (1, 2,
-- 4, ... minutes), or given up as failed once reminder_max_attempts
-- attempts were made. Returns true when the report was taken; false, with
-- nothing changed, when the reminder is no longer this worker's (its lease
-- passed to another, or it was sent or cancelled meanwhile).
CREATE OR REPLACE FUNCTION mark_reminder_failed(person_id bigint, reminder_id bigint, worker text, error text)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    w text := hp_worker(worker);
    err text := hp_text('error', error, 1000, false, true);
    r reminder;
BEGIN
    IF err IS NULL THEN
        RAISE EXCEPTION 'error is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Say why the reminder could not be delivered.';
    END IF;
    r := hp_lock_reminder(person_id, reminder_id);
    IF r.status <> 'scheduled' OR r.claimed_until IS NULL OR r.claimed_by <> w THEN
        RETURN false;
    END IF;
    IF r.attempts >= hp_setting('reminder_max_attempts')::integer THEN
        UPDATE reminder x SET status = 'failed', next_at = NULL, claimed_until = NULL, last_error = err, updated_at = now()
         WHERE x.person_id = r.person_id AND x.reminder_id = r.reminder_id;
    ELSE
        UPDATE reminder x
           SET claimed_until = NULL, last_error = err, updated_at = now(),
               next_at = now() + make_interval(secs => least(60 * power(2::float8, greatest(r.attempts, 1) - 1), 86400))
         WHERE x.person_id = r.person_id AND x.reminder_id = r.reminder_id;
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION healthpass.mark_reminder_failed(bigint, bigint, text, text) IS
    'report a reminder undelivered: retried after 1 minute x 2^(attempts-1) (at most a day), failed after reminder_max_attempts';

-- The job pg_cron runs every minute:
--   SELECT cron.schedule('healthpass-reminders', '* * * * *', 'SELECT healthpass.reminder_scheduler()');
-- NOTIFY healthpass_reminders (empty payload) when any reminder is due, so
-- listening workers claim; returns how many are due. Reads the queue's
-- partial index only.
CREATE OR REPLACE FUNCTION reminder_scheduler() RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    -- due and held by no worker: what a claim would hand out now
    SELECT count(*) INTO n FROM reminder r
     WHERE r.status = 'scheduled' AND r.next_at <= now() AND (r.claimed_until IS NULL OR r.claimed_until <= now());
    IF n > 0 THEN
        PERFORM pg_notify('healthpass_reminders', '');
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass.reminder_scheduler() IS
    'pg_cron''s job, every minute: NOTIFY healthpass_reminders when reminders are due; returns how many';

-- A person's reminders for the app, by due time: what about (the document
-- kind, masked number and expiry date), when, and what became of it.
CREATE OR REPLACE FUNCTION reminders(person_id bigint)
    RETURNS TABLE (reminder_id bigint, reason text, subject text, subject_id bigint, doc_kind text,
                   doc_number_masked text, region text, expires_on date, offset_days integer, due_at timestamptz,
                   status text, attempts integer, next_at timestamptz, sent_at timestamptz, cancelled_reason text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY
        SELECT r.reminder_id, r.reason, r.subject, r.subject_id, r.doc_kind, r.doc_number_masked, r.region, r.expires_on,
               r.offset_days, r.due_at,
               CASE WHEN r.status = 'scheduled' AND r.claimed_until > now() THEN 'claimed' ELSE r.status END,
               r.attempts, r.next_at, r.sent_at, r.cancelled_reason
          FROM reminder r
         WHERE r.person_id = p.person_id
         ORDER BY r.due_at, r.reminder_id;
END
$$;
COMMENT ON FUNCTION healthpass.reminders(bigint) IS
    'a person''s reminders by due time: reason, document (masked), expiry, offset, status, attempts, sent or cancelled';

GRANT EXECUTE ON FUNCTION
    healthpass.claim_due_reminders(text, integer),
    healthpass.mark_reminder_sent(bigint, bigint, text),
    healthpass.mark_reminder_failed(bigint, bigint, text, text),
    healthpass.reminder_scheduler()
  TO healthpass_messenger;
GRANT EXECUTE ON FUNCTION healthpass.reminder_scheduler() TO healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.reminders(bigint) TO healthpass_app;

-- ===== sql/schema/78_transfer.sql
-- 78_transfer.sql: cross-border recognition of green codes (seed 002:
-- "codes recognised, data not interconnected"). Each database is one issuer;
-- two of them exchange, once and out of band, public material only: their
-- signing trust lists and a sealing public key (X25519). A traveller whose
-- code is green asks the source for a transfer token (HP1 kind "transfer",
-- signed by the source, the personal data sealed to the destination's
-- public key) and carries it; the destination verifies, opens, checks and
-- imports it. The two back ends never connect.
-- (created once: later changes go to sql/updates/)

-- Our sealing keys: the X25519 secret half sealed under the master key
-- (secret_box, as signing keys), never readable from SQL. The newest key is
-- the one partners seal to; a retired key still opens packages until
-- open_until (rotation grace).
CREATE TABLE sealing_key (
    kid         bytea PRIMARY KEY CHECK (length(kid) = 8),
    public_key  bytea NOT NULL UNIQUE CHECK (length(public_key) = 32),
    secret_box  bytea NOT NULL CHECK (length(secret_box) = 72),
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz,
    open_until  timestamptz,
    CHECK (kid = substring(sha256(public_key) FROM 1 FOR 8)),
    CHECK ((retired_at IS NULL) = (open_until IS NULL))
);
COMMENT ON TABLE healthpass.sealing_key IS
    'our X25519 keys for receiving transfers: the secret sealed under the master key; retired keys open until open_until';

-- Other issuers we exchange transfers with, and which way.
CREATE TABLE transfer_partner (
    issuer      text PRIMARY KEY CHECK (issuer <> ''),
    accept_from boolean NOT NULL DEFAULT false,   -- we import transfers they sign
    send_to     boolean NOT NULL DEFAULT false,   -- we export transfers sealed to them
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE healthpass.transfer_partner IS 'issuers we exchange transfers with: whether we accept theirs, whether we send to them';

-- Their sealing public keys, from the material they sent.
CREATE TABLE partner_sealing_key (
    issuer      text NOT NULL REFERENCES transfer_partner,
    kid         bytea NOT NULL CHECK (length(kid) = 8),
    public_key  bytea NOT NULL CHECK (length(public_key) = 32),
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, kid),
    CHECK (kid = substring(sha256(public_key) FROM 1 FOR 8))
);
COMMENT ON TABLE healthpass.partner_sealing_key IS 'partners'' X25519 public keys to seal transfers to (the newest unretired one is used)';

-- Source side: the transfers a person asked for (no personal data: that
-- travels sealed, with the traveller only).
CREATE TABLE transfer_export (
    person_id      bigint NOT NULL,
    package_id     uuid NOT NULL,
    destination    text NOT NULL,
    token_id       bytea NOT NULL,
    notice_version integer NOT NULL,
    consented_at   timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, package_id)
);
COMMENT ON TABLE healthpass.transfer_export IS 'transfers a person asked for: destination, token, the notice version consented to';

-- Destination side: every package ever imported, keyed by its id, so a
-- package is used once even after its token expired (replay refused).
CREATE TABLE transfer_package (
    package_id  uuid PRIMARY KEY,
    source      text NOT NULL,
    person_id   bigint,                -- set once the traveller is found or registered
    imported_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE healthpass.transfer_package IS 'packages imported, by id: a package is used once';

-- What the destination received, with its provenance (which issuer said
-- what, when), and the itinerary declared on arrival.
CREATE TABLE received_transfer (
    person_id          bigint NOT NULL,
    package_id         uuid NOT NULL,
    source             text NOT NULL,
    source_kid         bytea NOT NULL,
    token_issued_at    timestamptz NOT NULL,
    colour             text NOT NULL,
    colour_at          timestamptz NOT NULL,
    answers            jsonb NOT NULL,
    last_negative_test date,
    tests              jsonb NOT NULL DEFAULT '[]',
    notice_version     integer NOT NULL,
    consented_at       timestamptz NOT NULL,
    phone              text NOT NULL,
    destination_city   text NOT NULL,
    address            text NOT NULL,
    sms_checked        boolean NOT NULL,
    captcha_checked    boolean NOT NULL,
    outcome            text NOT NULL CHECK (outcome IN ('entry_person_page', 'submitted')),
    received_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, package_id)
);
COMMENT ON TABLE healthpass.received_transfer IS
    'transfers received: the source''s colour, answers and tests with their provenance, and the itinerary declared here';
CREATE INDEX received_transfer_time ON received_transfer (person_id, received_at);

-- the fact colour rules read from it (colour_facts, sql/api/54_rules.sql):
-- a destination's own rule, such as "green when a trusted partner found the
-- person green within 24 hours"
INSERT INTO colour_fact VALUES
    ('recognised_green_at', 'timestamptz',
     'when a trusted partner issuer last found the person green, from a transfer imported here; missing when none');

SELECT pg_catalog.pg_extension_config_dump('sealing_key', '');
SELECT pg_catalog.pg_extension_config_dump('transfer_partner', '');
SELECT pg_catalog.pg_extension_config_dump('partner_sealing_key', '');
SELECT pg_catalog.pg_extension_config_dump('transfer_export', '');
SELECT pg_catalog.pg_extension_config_dump('transfer_package', '');
SELECT pg_catalog.pg_extension_config_dump('received_transfer', '');

-- ===== sql/api/78_transfer.sql
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
        INSERT INTO partner_sealing_key AS s (issuer, kid, public_key, created_at, retired_at)
        VALUES (iss, substring(sha256(pk) FROM 1 FOR 8), pk, _trust_time('sealing_keys.created_at', k->>'created_at'),
                CASE WHEN k ? 'retired_at' AND k->'retired_at' <> 'null' THEN _trust_time('sealing_keys.retired_at', k->>'retired_at') END)
        ON CONFLICT (issuer, kid) DO UPDATE SET retired_at = excluded.retired_at;
        n := n + 1;
    END LOOP;
    -- keys the partner no longer lists are retired here too
    UPDATE partner_sealing_key s SET retired_at = coalesce(s.retired_at, now())
     WHERE s.issuer = iss
       AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(material->'sealing_keys') e
                        WHERE _b64url_decode('sealing_keys.kid', e->>'kid') = s.kid);
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

-- ===== sql/schema/80_hc1.sql
-- 80_hc1.sql: EU Digital COVID Certificates ("HC1:", issue 13) verified in
-- the database: the signer certificates of other countries, and the
-- foreign certificates verified and recorded for a person, which colour
-- rules read as facts.
-- (created once: later changes go to sql/updates/)

-- Document signer certificates (DSC): one X.509 certificate, DER, per kid.
-- The kid is what an HC1 names its signer by: the first 8 bytes of
-- SHA-256 over the DER. Signer certificates are public material: a dump
-- carries them.
CREATE TABLE hc1_signer (
    kid         bytea PRIMARY KEY,
    country     text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    certificate bytea NOT NULL,
    family      text NOT NULL CHECK (family IN ('EC', 'RSA')),
    not_before  timestamptz NOT NULL,
    not_after   timestamptz NOT NULL,
    subject     text NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    added_by    name NOT NULL DEFAULT session_user,
    CONSTRAINT hc1_signer_kid_of_certificate CHECK (kid = substring(sha256(certificate) FROM 1 FOR 8)),
    CONSTRAINT hc1_signer_validity CHECK (not_before < not_after)
);
COMMENT ON TABLE healthpass.hc1_signer IS
    'signer certificates of HC1 (EU DCC) issuers: kid = SHA-256(DER)[0:8], country, key family (EC P-256 or RSA), validity';
SELECT pg_catalog.pg_extension_config_dump('hc1_signer', '');

-- Foreign certificates verified and recorded for a person: one row a
-- certificate (its UVCI, "ci"), never updated. A test has its type
-- (naat: nucleic-acid amplification, rat: rapid antigen), sampling time
-- and result; a vaccination its date and dose n of total; a recovery its
-- validity. kid and country name the signer that verified it.
CREATE TABLE hc1_record (
    person_id     bigint NOT NULL,
    uvci          text NOT NULL CHECK (length(uvci) BETWEEN 1 AND 80),
    kind          text NOT NULL CHECK (kind IN ('test', 'vaccination', 'recovery')),
    test_type     text CHECK (test_type IN ('naat', 'rat')),
    sampled_at    timestamptz,
    result        text CHECK (result IN ('negative', 'positive')),
    vaccinated_on date,
    dose_number   integer CHECK (dose_number BETWEEN 1 AND 99),
    dose_total    integer CHECK (dose_total BETWEEN 1 AND 99),
    valid_from    date,
    valid_until   date,
    country       text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    kid           bytea NOT NULL,
    issued_at     timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, uvci),
    CHECK (kind <> 'test' OR (test_type IS NOT NULL AND sampled_at IS NOT NULL AND result IS NOT NULL)),
    CHECK (kind <> 'vaccination' OR (vaccinated_on IS NOT NULL AND dose_number IS NOT NULL AND dose_total IS NOT NULL)),
    CHECK (kind <> 'recovery' OR (valid_from IS NOT NULL AND valid_until IS NOT NULL))
);
COMMENT ON TABLE healthpass.hc1_record IS
    'foreign HC1 certificates verified and recorded for a person: test (sample, result), vaccination (date, dose n/total) or recovery';
-- the facts read the latest test and any complete vaccination of a person
CREATE INDEX hc1_record_test ON hc1_record (person_id, sampled_at) WHERE kind = 'test';
SELECT pg_catalog.pg_extension_config_dump('hc1_record', '');

-- the facts colour rules may read from them (colour_facts, sql/api/54_rules.sql)
INSERT INTO colour_fact VALUES
    ('foreign_negative_at',          'timestamptz', 'sampling time of the latest negative nucleic-acid (NAAT) test on a verified foreign (HC1) certificate sampled in the last 14 days; missing when none'),
    ('foreign_vaccination_complete', 'boolean',     'a verified foreign (HC1) vaccination certificate records the last dose of its series (dose n of n)');

-- ===== sql/api/80_hc1.sql
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
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_recolour_trigger();

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

-- ===== sql/api/90_citus.sql
-- 90_citus.sql: scale-out on Citus (doc/citus.md). distribute() spreads a
-- created (and possibly populated) healthpass over a Citus cluster from its
-- coordinator; undistribute() takes it back to the coordinator so that DROP
-- EXTENSION leaves no shards behind. Neither runs in the extension script:
-- Citus propagates nothing while an extension script runs, so the DBA calls
-- them after CREATE EXTENSION (and distribute() again after ALTER EXTENSION
-- ... UPDATE when a version adds tables).
-- Both are plain functions (not SECURITY DEFINER), granted to no role: only
-- the extension's owner or a superuser may call them; Citus's own functions
-- check that the caller owns the tables.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- The plan: every table of the extension, in the order it is distributed
-- (reference tables first, then each co-location group with the tables
-- others refer to first), with how and why. A table of the extension that
-- is missing here is reported by distribute() as "not planned" and left on
-- the coordinator; test/citus/run-citus-tests.sh fails on it.
--   method   reference  create_reference_table: a copy on every node
--            hash       create_distributed_table(tab, key, colocate_with)
--            local      left as a plain table on the coordinator
--   colocate the first table of a group names itself: its group is new
CREATE OR REPLACE FUNCTION healthpass_internal.hp_citus_plan()
    RETURNS TABLE (ord integer, tab text, method text, key text, colocate text, why text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT (row_number() OVER ())::integer, p.* FROM (VALUES
    -- small shared data: read on every node, written rarely
    ('setting',              'reference', NULL, NULL, 'database settings, read by every function'),
    ('signing_key',          'reference', NULL, NULL, 'our keys and trusted public keys: every node that signs or verifies reads them'),
    ('revoked_token',        'reference', NULL, NULL, 'revoked token ids: every node that verifies reads them'),
    ('notice',               'reference', NULL, NULL, 'notice and letter versions'),
    ('risk_area',            'reference', NULL, NULL, 'risk areas, read by every colour computation'),
    ('colour_fact',          'reference', NULL, NULL, 'the facts colour rules are written over'),
    ('colour_rule',          'reference', NULL, NULL, 'colour rules'),
    ('colour_ruleset',       'reference', NULL, NULL, 'compiled rule sets, read by every colour computation'),
    ('admission_rule',       'reference', NULL, NULL, 'admission decisions by colour'),
    ('venue',                'reference', NULL, NULL, 'venues: read on every scan by venue id and by manager (doc/venues.md)'),
    ('venue_history',        'reference', NULL, NULL, 'earlier versions of venues'),
    ('venue_staff',          'reference', NULL, NULL, 'staff of venues: read on every staff scan'),
    ('venue_staff_history',  'reference', NULL, NULL, 'earlier staff of venues'),
    ('venue_code_issued',    'reference', NULL, NULL, 'the ledger of venue codes'),
    ('port',                 'reference', NULL, NULL, 'border ports'),
    ('enrolment_point',      'reference', NULL, NULL, 'biometric enrolment points'),
    ('acceptance_point',     'reference', NULL, NULL, 'acceptance points'),
    ('sealing_key',          'reference', NULL, NULL, 'our transfer sealing keys'),
    ('transfer_partner',     'reference', NULL, NULL, 'transfer partners'),
    ('partner_sealing_key',  'reference', NULL, NULL, 'partners'' sealing keys'),
    ('hc1_signer',           'reference', NULL, NULL, 'HC1 document signers'),
    -- everything of one person, on the person's shard
    ('person',               'hash', 'person_id', 'person', 'people: every personal table is co-located with it'),
    ('person_history',       'hash', 'person_id', 'person', 'a person''s earlier versions (history trigger: same person)'),
    ('code_issued',          'hash', 'person_id', 'person', 'a person''s live codes'),
    ('notice_acceptance',    'hash', 'person_id', 'person', 'a person''s acceptances'),
    ('entry_registration',   'hash', 'person_id', 'person', 'a person''s entry registration'),
    ('entry_registration_history', 'hash', 'person_id', 'person', 'its earlier versions'),
    ('companion',            'hash', 'person_id', 'person', 'a registrant''s companions, keyed by the registrant'),
    ('companion_of',         'hash', 'person_id', 'person', 'the group a companion is in, keyed by the companion'),
    ('face_check',           'hash', 'person_id', 'person', 'a person''s face checks'),
    ('certified_photo',      'hash', 'person_id', 'person', 'a person''s certified photo'),
    ('epass',                'hash', 'person_id', 'person', 'a person''s e-pass'),
    ('epass_history',        'hash', 'person_id', 'person', 'its earlier versions'),
    ('family_member',        'hash', 'person_id', 'person', 'family members, keyed by the person who registered them'),
    ('family_member_history','hash', 'person_id', 'person', 'their earlier versions'),
    ('health_declaration',   'hash', 'person_id', 'person', 'declarations (re-colouring trigger: same person)'),
    ('test_result',          'hash', 'person_id', 'person', 'test results (re-colouring trigger: same person)'),
    ('risk_mark',            'hash', 'person_id', 'person', 'risk marks (re-colouring trigger: same person)'),
    ('colour_current',       'hash', 'person_id', 'person', 'the colour now'),
    ('colour_history',       'hash', 'person_id', 'person', 'colour history'),
    ('travel_document',      'hash', 'person_id', 'person', 'travel documents (reminder trigger: same person)'),
    ('endorsement',          'hash', 'person_id', 'person', 'endorsements (foreign key to travel_document includes person_id)'),
    ('electronic_permit',    'hash', 'person_id', 'person', 'electronic permits'),
    ('permit_binding',       'hash', 'person_id', 'person', 'permit binding attempts'),
    ('biometric_consent',    'hash', 'person_id', 'person', 'biometric consents'),
    ('biometric_enrolment',  'hash', 'person_id', 'person', 'biometric enrolments'),
    ('crossing',             'hash', 'person_id', 'person', 'border crossings'),
    ('record_certificate',   'hash', 'person_id', 'person', 'crossing record certificates'),
    ('contactless_code',     'hash', 'person_id', 'person', 'contactless codes'),
    ('contactless_passage',  'hash', 'person_id', 'person', 'contactless passages'),
    ('reminder',             'hash', 'person_id', 'person', 'reminders (made by same-person triggers)'),
    ('transfer_export',      'hash', 'person_id', 'person', 'transfers a person asked for'),
    ('received_transfer',    'hash', 'person_id', 'person', 'transfers received for a person'),
    ('hc1_record',           'hash', 'person_id', 'person', 'HC1 certificates recorded (re-colouring trigger: same person)'),
    -- look-ups keyed by a document number: one shard per number
    ('document_index',       'hash', 'doc_number', 'document_index', 'document number -> person: unique by (kind, number), so distributed by the number, not by person'),
    ('travel_document_index','hash', 'doc_number', 'document_index', 'travel document number -> person, by the number'),
    -- look-ups keyed by an opaque id
    ('ref_index',            'hash', 'public_ref', 'ref_index', 'public reference -> person: unique by the reference, so distributed by it'),
    ('transfer_package',     'hash', 'package_id', 'ref_index', 'packages imported, unique by package id'),
    -- the scan history, by venue (doc/scans.md)
    ('scan',                 'hash', 'venue_id', 'scan', 'the scan history (partitioned by day), by venue: a venue''s day and the people around an instant are one shard'),
    ('scan_check',           'hash', 'venue_id', 'scan', 'checks after a scan, with their scan'),
    ('venue_alert',          'hash', 'venue_id', 'scan', 'alerts of a venue'),
    -- traces, by trace (doc/tracing.md)
    ('trace_audit',          'hash', 'trace_id', 'trace_audit', 'one row a trace'),
    ('trace_result',         'hash', 'trace_id', 'trace_audit', 'the people of a trace, with their trace'),
    -- the coordinator's work queue
    ('recolour_job',         'local', NULL, NULL, 're-colouring jobs: the coordinator''s queue, claimed with SKIP LOCKED'),
    ('recolour_chunk',       'local', NULL, NULL, 'chunks of a re-colouring job')
    ) AS p(tab, method, key, colocate, why)
$$;
COMMENT ON FUNCTION healthpass_internal.hp_citus_plan() IS
    'how distribute() places each table of the extension on Citus, in order (internal)';

-- The functions routed to the worker that holds their first argument's row
-- (create_distributed_function): one person's calls, co-located with person.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_citus_function_plan()
    RETURNS TABLE (fn regprocedure, arg text, colocate text)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    VALUES ('healthpass.person_info(bigint)'::regprocedure, '$1', 'person'),
           ('healthpass.colour_status(bigint, timestamptz)', '$1', 'person'),
           ('healthpass.health_status(bigint)', '$1', 'person'),
           ('healthpass.health_code(bigint)', '$1', 'person')
$$;
COMMENT ON FUNCTION healthpass_internal.hp_citus_function_plan() IS
    'the per-person functions distribute() routes to the person''s worker (internal)';

-- The refusal when Citus is not there (or this is not its coordinator).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_citus_check(what text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    coordinator boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'citus is not installed in this database'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = format('healthpass.%s() places the tables of healthpass on a Citus cluster; on a single PostgreSQL server there is nothing to do.', what),
                  HINT = 'On a Citus cluster: install Citus and healthpass on every node, preload citus, run CREATE EXTENSION citus and add the workers on the coordinator, then call this function there (doc/citus.md).';
    END IF;
    EXECUTE 'SELECT pg_catalog.citus_is_coordinator()' INTO coordinator;
    IF NOT coordinator THEN
        RAISE EXCEPTION 'this node is not the Citus coordinator'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('healthpass.%s() changes the metadata of the cluster, which the coordinator keeps.', what),
                  HINT = 'Connect to the coordinator and call it there.';
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_citus_check(text) IS
    'refuses distribute() and undistribute() without Citus or away from its coordinator (internal)';

-- What Citus knows of a table: 'reference', 'hash:<column>', or NULL.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_citus_state(rel regclass) RETURNS text
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    m "char";
    col text;
BEGIN
    EXECUTE $q$SELECT p.partmethod, a.attname
                 FROM pg_catalog.pg_dist_partition p
                 LEFT JOIN pg_catalog.pg_attribute a
                        ON a.attrelid = p.logicalrelid
                       AND a.attname = pg_catalog.column_to_column_name(p.logicalrelid, p.partkey)
                WHERE p.logicalrelid = $1$q$
       INTO m, col USING rel;
    IF m IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN CASE m WHEN 'n' THEN 'reference' WHEN 'h' THEN 'hash:' || col ELSE 'other:' || m::text END;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_citus_state(regclass) IS 'how Citus holds a table now (internal)';

-- No two colour periods of one person overlap. On one node an exclusion
-- constraint over boxes guards it (sql/schema/55_status.sql); Citus refuses
-- an exclusion constraint without the distribution column under "=", so on a
-- cluster the row trigger below takes its place (distribute() swaps them,
-- undistribute() swaps back). The trigger reads only the person's own
-- periods (the row's shard). It needs no lock of its own: every writer of a
-- person's history first updates that person's colour_current row in the
-- same statement (hp_colour_apply), so two writers of one person are
-- serialised by that row lock and the second sees the first's period.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_colour_history_no_overlap() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    prev record;
BEGIN
    IF NEW.person_id IS NULL OR NEW.since IS NULL OR NEW.until IS NULL OR NEW.since >= NEW.until THEN
        RETURN NEW;  -- refused by NOT NULL and the CHECK
    END IF;
    SELECT h.since, h.until INTO prev FROM colour_history h
     WHERE h.person_id = NEW.person_id AND h.since < NEW.until
       AND (TG_OP = 'INSERT' OR h.since <> OLD.since)
     ORDER BY h.since DESC LIMIT 1;
    IF FOUND AND prev.until > NEW.since THEN
        RAISE EXCEPTION 'conflicting key value violates exclusion constraint "colour_history_no_overlap"'
            USING ERRCODE = 'exclusion_violation', TABLE = 'colour_history',
                  CONSTRAINT = 'colour_history_no_overlap',
                  DETAIL = format('The period [%s, %s) of person %s overlaps its period [%s, %s).',
                                  NEW.since, NEW.until, NEW.person_id, prev.since, prev.until);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_colour_history_no_overlap() IS
    'on a Citus cluster: refuses a colour period overlapping another of the same person, in place of the exclusion constraint (internal)';

-- Swaps the guard: on_cluster true drops the exclusion constraint and adds
-- the trigger, false the other way round; each only when needed.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_citus_overlap_guard(on_cluster boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    has_constraint boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c
                                       WHERE c.conrelid = 'healthpass.colour_history'::regclass
                                         AND c.conname = 'colour_history_no_overlap');
    has_trigger boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                                    WHERE t.tgrelid = 'healthpass.colour_history'::regclass
                                      AND t.tgname = 'colour_history_no_overlap');
BEGIN
    IF on_cluster THEN
        IF has_constraint THEN
            ALTER TABLE healthpass.colour_history DROP CONSTRAINT colour_history_no_overlap;
        END IF;
        IF NOT has_trigger THEN
            CREATE TRIGGER colour_history_no_overlap BEFORE INSERT OR UPDATE ON healthpass.colour_history
                FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_colour_history_no_overlap();
        END IF;
    ELSE
        IF has_trigger THEN
            DROP TRIGGER colour_history_no_overlap ON healthpass.colour_history;
        END IF;
        IF NOT has_constraint THEN
            ALTER TABLE healthpass.colour_history ADD CONSTRAINT colour_history_no_overlap
                EXCLUDE USING gist (healthpass_internal.period_box(person_id, since, until) WITH &&);
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_citus_overlap_guard(boolean) IS
    'swaps the no-overlap guard of colour periods between the exclusion constraint and the cluster''s trigger (internal)';

CREATE OR REPLACE FUNCTION distribute() RETURNS TABLE (object text, action text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p record;
    f record;
    st text;
    want text;
    rel regclass;
    first_of_group text;
    changed integer := 0;
    has_triggers boolean;
    n bigint;
BEGIN
    PERFORM hp_citus_check('distribute');
    -- Row triggers on distributed tables are refused unless this is on.
    -- Every row trigger of healthpass touches only rows of the person (or
    -- venue) whose row changed, which live on the same shard group (the
    -- history, the colour, the reminders, the companion guards), so none of
    -- them needs a query on another node; the setting stays on for this
    -- database so that ALTER EXTENSION ... UPDATE can replace the triggers.
    PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
    -- A plain table with a foreign key to a new reference table would be
    -- turned into a "Citus local table" on the way (a new shell table that
    -- the extension does not own, which collides on the workers with the
    -- extension's own copy): the plan places every such table itself, so
    -- the automatic conversion is off while it runs.
    PERFORM pg_catalog.set_config('citus.enable_local_reference_table_foreign_keys', 'off', true);
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting s
                     JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
                    WHERE d.datname = current_database() AND s.setrole = 0
                      AND 'citus.enable_unsafe_triggers=on' = ANY (s.setconfig)) THEN
        EXECUTE format('ALTER DATABASE %I SET citus.enable_unsafe_triggers = on', current_database());
        object := 'database ' || current_database(); action := 'configured';
        detail := 'citus.enable_unsafe_triggers = on: the row triggers of healthpass touch only co-located rows of the same person';
        changed := changed + 1;
        RETURN NEXT;
    END IF;

    FOR p IN SELECT * FROM hp_citus_plan() ORDER BY ord LOOP
        rel := to_regclass('healthpass.' || quote_ident(p.tab));
        IF rel IS NULL THEN
            object := 'healthpass.' || quote_ident(p.tab); action := 'missing';
            detail := 'in the plan but not in this database';
            RETURN NEXT; CONTINUE;
        END IF;
        object := 'healthpass.' || quote_ident(p.tab);
        st := hp_citus_state(rel);
        IF p.method = 'local' THEN
            action := CASE WHEN st IS NULL THEN 'local' ELSE 'distributed elsewhere' END;
            detail := coalesce(st || ': ', '') || p.why;
            RETURN NEXT; CONTINUE;
        END IF;
        want := CASE p.method WHEN 'reference' THEN 'reference' ELSE 'hash:' || p.key END;
        IF st = want THEN
            action := 'unchanged';
            detail := CASE p.method WHEN 'reference' THEN 'already a reference table'
                                    ELSE format('already distributed by %s', p.key) END;
            RETURN NEXT; CONTINUE;
        ELSIF st IS NOT NULL THEN
            RAISE EXCEPTION 'table % is held by Citus as % where healthpass expects %', object, st,
                    CASE p.method WHEN 'reference' THEN 'a reference table' ELSE 'distributed by ' || p.key END
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'distribute() does not move a table that was distributed another way.',
                      HINT = 'Call healthpass.undistribute() first, then distribute().';
        END IF;
        IF p.tab = 'colour_history' THEN
            PERFORM hp_citus_overlap_guard(true);
        END IF;
        EXECUTE format('SELECT count(*) FROM %s', rel) INTO n;
        -- the rows are copied into the shards as they are: a row trigger
        -- firing on that copy would re-colour, re-schedule or re-version
        -- what was already recorded
        has_triggers := EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = rel AND NOT t.tgisinternal);
        IF has_triggers THEN
            EXECUTE format('ALTER TABLE %s DISABLE TRIGGER USER', rel);
        END IF;
        IF p.method = 'reference' THEN
            PERFORM pg_catalog.create_reference_table(rel);
            action := 'reference';
            detail := format('%s (%s rows)', p.why, n);
        ELSE
            first_of_group := (SELECT q.tab FROM hp_citus_plan() q
                                WHERE q.colocate = p.colocate ORDER BY q.ord LIMIT 1);
            PERFORM pg_catalog.create_distributed_table(rel, p.key,
                        colocate_with := CASE WHEN first_of_group = p.tab THEN 'none'
                                              ELSE 'healthpass.' || quote_ident(first_of_group) END);
            action := 'distributed';
            detail := format('by %s, co-located with %s: %s (%s rows)', p.key, first_of_group, p.why, n);
        END IF;
        IF has_triggers THEN
            EXECUTE format('ALTER TABLE %s ENABLE TRIGGER USER', rel);
        END IF;
        changed := changed + 1;
        RETURN NEXT;
    END LOOP;

    -- tables of the extension the plan does not name (a new version's table)
    FOR object IN
        SELECT 'healthpass.' || quote_ident(c.relname) FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                                     AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
          JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'healthpass'
         WHERE c.relkind IN ('r', 'p')
           AND c.relname NOT IN (SELECT q.tab FROM hp_citus_plan() q)
         ORDER BY 1
    LOOP
        action := 'not planned'; detail := 'left on the coordinator: healthpass_internal.hp_citus_plan() does not name it';
        RETURN NEXT;
    END LOOP;

    FOR f IN SELECT * FROM hp_citus_function_plan() LOOP
        object := 'healthpass.' || f.fn::text;
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_object
                                 WHERE classid = ''pg_catalog.pg_proc''::regclass AND objid = $1
                                   AND distribution_argument_index IS NOT NULL)'
           INTO STRICT st USING f.fn::oid;
        IF st::boolean THEN
            action := 'unchanged'; detail := format('already routed by %s', f.arg);
        ELSE
            PERFORM pg_catalog.create_distributed_function(f.fn, f.arg, colocate_with := 'healthpass.' || f.colocate);
            action := 'distributed function';
            detail := format('routed by %s to the worker of its %s row', f.arg, f.colocate);
            changed := changed + 1;
        END IF;
        RETURN NEXT;
    END LOOP;

    IF changed = 0 THEN
        object := 'healthpass'; action := 'nothing to do';
        detail := 'every table and function is already placed as planned';
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass.distribute() IS
    'Citus coordinator, owner or superuser: distributes the tables of healthpass (by person, venue, trace, key) and makes the shared ones reference tables; idempotent; reports what it did';

-- Drops the shards and the Citus metadata of one table, keeping the table
-- itself (what Citus's DROP TABLE hook does; the workers keep the copy the
-- extension made there).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_citus_forget(rel regclass, metadata_only boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    sch text;
    tab text;
BEGIN
    SELECT n.nspname, c.relname INTO sch, tab
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
    EXECUTE 'SELECT pg_catalog.master_remove_distributed_table_metadata_from_workers($1, $2, $3)' USING rel, sch, tab;
    EXECUTE 'SELECT pg_catalog.citus_drop_all_shards($1, $2, $3, drop_shards_metadata_only := $4)'
       USING rel, sch, tab, metadata_only;
    EXECUTE 'SELECT pg_catalog.master_remove_partition_metadata($1, $2, $3)' USING rel, sch, tab;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_citus_forget(regclass, boolean) IS
    'drops the shards and Citus metadata of a table, keeping the table (internal)';

CREATE OR REPLACE FUNCTION undistribute() RETURNS TABLE (object text, action text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p record;
    st text;
    rel regclass;
    part regclass;
    changed integer := 0;
    n bigint;
BEGIN
    PERFORM hp_citus_check('undistribute');
    -- Citus's undistribute_table() makes a new table and drops the old one,
    -- which PostgreSQL refuses for a table an extension owns. So each table
    -- is taken back by hand, as Citus's own DROP TABLE hook does it, keeping
    -- the rows: read them, drop the shards and the metadata (the workers'
    -- copies made by CREATE EXTENSION stay), and put the rows back into the
    -- coordinator's table, which still holds the rows it had when it was
    -- distributed. Triggers and foreign keys stay quiet meanwhile (the rows
    -- were checked when they were written): that needs a superuser.
    IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'permission denied to undistribute healthpass'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'undistribute() copies rows back with triggers and foreign keys switched off, which only a superuser may do.';
    END IF;
    PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
    -- reference tables with foreign keys: one connection per node throughout
    PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
    -- routed functions first: they name a co-location group
    FOR p IN SELECT * FROM hp_citus_function_plan() LOOP
        object := 'healthpass.' || p.fn::text;
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_object
                                 WHERE classid = ''pg_catalog.pg_proc''::regclass AND objid = $1)'
           INTO STRICT st USING p.fn::oid;
        IF st::boolean THEN
            -- no Citus function forgets a function that still exists: the
            -- entry goes from pg_dist_object here and on every worker (there
            -- by signature: OIDs differ between nodes)
            EXECUTE 'DELETE FROM pg_catalog.pg_dist_object
                      WHERE classid = ''pg_catalog.pg_proc''::regclass AND objid = $1' USING p.fn::oid;
            EXECUTE 'SELECT count(*) FROM pg_catalog.run_command_on_workers($1) WHERE NOT success'
               INTO n
              USING format('DELETE FROM pg_catalog.pg_dist_object WHERE classid = %L::regclass AND objid = %L::regprocedure',
                           'pg_catalog.pg_proc', 'healthpass.' || p.fn::text);
            IF n > 0 THEN
                RAISE EXCEPTION 'function healthpass.% could not be forgotten on % workers', p.fn, n
                    USING ERRCODE = 'connection_failure', DETAIL = 'Every worker must be reachable to undistribute.';
            END IF;
            action := 'local function'; detail := 'no longer routed to a worker';
            changed := changed + 1;
            RETURN NEXT;
        END IF;
    END LOOP;
    -- referencing tables before the tables they refer to: the plan backwards
    FOR p IN SELECT * FROM hp_citus_plan() ORDER BY ord DESC LOOP
        rel := to_regclass('healthpass.' || quote_ident(p.tab));
        CONTINUE WHEN rel IS NULL;
        st := hp_citus_state(rel);
        CONTINUE WHEN st IS NULL;
        object := 'healthpass.' || quote_ident(p.tab);
        EXECUTE format('CREATE TEMP TABLE hp_citus_rows ON COMMIT DROP AS SELECT * FROM %s', rel);
        GET DIAGNOSTICS n = ROW_COUNT;
        -- the day partitions of the scan history: their shards go with the parent's
        FOR part IN SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits i WHERE i.inhparent = rel LOOP
            PERFORM hp_citus_forget(part, true);
        END LOOP;
        PERFORM hp_citus_forget(rel, false);
        EXECUTE format('DELETE FROM %s', rel);
        EXECUTE format('INSERT INTO %s OVERRIDING SYSTEM VALUE SELECT * FROM hp_citus_rows', rel);
        DROP TABLE hp_citus_rows;
        IF p.tab = 'colour_history' THEN
            PERFORM hp_citus_overlap_guard(false);
        END IF;
        action := 'undistributed'; detail := format('was %s; its %s rows are back on the coordinator', st, n);
        changed := changed + 1;
        RETURN NEXT;
    END LOOP;
    IF changed = 0 THEN
        object := 'healthpass'; action := 'nothing to do'; detail := 'no table of healthpass is held by Citus';
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION healthpass.undistribute() IS
    'Citus coordinator, owner or superuser: brings every table of healthpass back to the coordinator (before DROP EXTENSION)';

-- ===== sql/api/99_privileges.sql
-- 99_privileges.sql: runs last. Functions are created EXECUTE-able by
-- PUBLIC; take that (and any table or sequence access) away from PUBLIC for
-- everything in the schema. Each domain file grants its own functions to the
-- purpose roles that need them; those grants stay.
-- (replayed by every upgrade: CREATE OR REPLACE only)
-- ROUTINES: FUNCTIONS would leave procedures (recolour_run) to PUBLIC
REVOKE ALL ON ALL ROUTINES IN SCHEMA healthpass FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA healthpass FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA healthpass FROM PUBLIC;
-- the internal schema: no USAGE for anyone but the owner, and no routine
-- executable by PUBLIC should a role ever be given USAGE
REVOKE ALL ON SCHEMA healthpass_internal FROM PUBLIC;
REVOKE ALL ON ALL ROUTINES IN SCHEMA healthpass_internal FROM PUBLIC;
