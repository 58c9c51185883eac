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

-- The settings in force: what an administrator changed, else the defaults
-- (updated_at is NULL while nothing was changed).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_health_config() RETURNS health_config
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
    RETURN (SELECT ROW(true, coalesce(c.code_valid_for, interval '3 minutes'),
                       coalesce(c.declaration_valid_for, interval '1 day'), c.updated_at)::health_config
              FROM (VALUES (true)) d(singleton) LEFT JOIN health_config c USING (singleton));
COMMENT ON FUNCTION healthpass_internal.hp_health_config() IS 'the health settings in force, defaults filled in (internal)';

CREATE OR REPLACE FUNCTION health_settings(
    OUT code_valid_for interval, OUT declaration_valid_for interval, OUT updated_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
    SELECT c.code_valid_for, c.declaration_valid_for, c.updated_at FROM hp_health_config() c
$$;
COMMENT ON FUNCTION healthpass.health_settings() IS 'current health settings';

-- Changes the settings; NULL keeps a value. Only new codes and new
-- declarations are affected: issued ones keep the validity they were given.
CREATE OR REPLACE FUNCTION configure_health(code_valid_for interval DEFAULT NULL,
                                 declaration_valid_for interval DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
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
    INSERT INTO health_config AS c (code_valid_for, declaration_valid_for)
    VALUES (configure_health.code_valid_for, configure_health.declaration_valid_for)
    ON CONFLICT (singleton) DO UPDATE
       SET code_valid_for = coalesce(excluded.code_valid_for, c.code_valid_for),
           declaration_valid_for = coalesce(excluded.declaration_valid_for, c.declaration_valid_for),
           updated_at = now();
END
$$;
COMMENT ON FUNCTION healthpass.configure_health(interval, interval) IS
    'set the health-code and declaration validity (NULL keeps a value); affects new codes and declarations only';

GRANT EXECUTE ON FUNCTION healthpass.worse(health_colour, health_colour),
                          healthpass.worst(health_colour),
                          healthpass.colour_meaning(health_colour)
    TO healthpass_admin, healthpass_app, healthpass_scanner,
       healthpass_health, healthpass_report;
GRANT EXECUTE ON FUNCTION healthpass.health_settings()
    TO healthpass_admin, healthpass_app, healthpass_health, healthpass_report;
GRANT EXECUTE ON FUNCTION healthpass.configure_health(interval, interval) TO healthpass_admin;
