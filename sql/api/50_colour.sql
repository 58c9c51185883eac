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
