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
