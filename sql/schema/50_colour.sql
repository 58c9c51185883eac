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

-- Health settings: one row. The dynamic health code lives minutes so that a
-- screenshot goes stale; a declaration is valid for a day by default.
-- What an administrator changed of the health settings: at most one row,
-- none until configure_health is first called; a NULL value means the
-- default (hp_health_config() holds the defaults). Nothing is inserted by
-- CREATE EXTENSION, so a dump carries exactly what was changed and a
-- restore (which creates the extension first) never collides with it.
CREATE TABLE health_config (
    singleton              boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    code_valid_for         interval
                           CHECK (code_valid_for BETWEEN interval '30 seconds' AND interval '1 day'),
    declaration_valid_for  interval
                           CHECK (declaration_valid_for BETWEEN interval '1 hour' AND interval '30 days'),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE healthpass.health_config IS 'health settings an administrator changed (at most one row; NULL: the default)';
SELECT pg_catalog.pg_extension_config_dump('health_config', '');
