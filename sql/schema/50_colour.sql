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
