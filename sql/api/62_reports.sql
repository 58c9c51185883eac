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
--
-- On a Citus cluster (hp_distributed()) every report runs statements of its
-- own instead, which the cluster can plan: Citus cannot plan an inlined SQL
-- function's parameters over its distributed tables, and a query that a
-- worker runs must not call a function that reads them. The counting is one
-- statement over scan (distributed by venue_id), joined to venue (a
-- reference table) where the report names venues, pushed down shard by
-- shard; staff (person, distributed by person_id) are read afterwards by id;
-- the venues without scans are found from the venues scanned within the
-- days, then each other venue's latest scan on its shard
-- (hp_report_last_scan_sql). The workers have a time zone of their own, so
-- the day and the hour are cut in the caller's by name (date_trunc(...,
-- tz)), and instants derived from now() are computed first. Plain
-- PostgreSQL runs the row functions as before.
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

-- One venue's latest scan at or before an instant ($1 the venue, $2 the
-- instant), read backwards through (venue_id, scanned_at, person_id), the
-- newest day first: the statement report_quiet_venues runs per venue on a
-- Citus cluster, where it is one shard (a LIMIT in a lateral subquery, as in
-- hp_report_last_scan_rows, is not something Citus pushes down).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_report_last_scan_sql() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'SELECT s.scanned_at FROM healthpass.scan s WHERE s.venue_id = $1 AND s.scanned_at <= $2 '
       'ORDER BY s.scanned_at DESC LIMIT 1';
COMMENT ON FUNCTION healthpass_internal.hp_report_last_scan_sql() IS
    'the statement of one venue''s latest scan at or before an instant, read backwards (internal)';

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
    tz text := current_setting('TimeZone');
BEGIN
    PERFORM hp_report_range(from_at, to_at);
    IF one IS NOT NULL THEN
        PERFORM hp_get_venue(one);
    END IF;
    IF hp_distributed() THEN
        -- Citus: grouped by venue_id, the whole statement runs on the shards
        -- (one shard for one venue)
        RETURN QUERY
        SELECT r.day, r.venue_id, v.name, v.street, hp_report_method(r.method), r.colour, hp_decision_name(r.decision),
               hp_report_cell(r.scans, r.people, k), hp_report_cell(r.people, r.people, k),
               r.people >= 1 AND r.people < k
          FROM (SELECT date_trunc('day', s.scanned_at, tz) AS day, s.venue_id, s.method, s.colour, s.decision,
                       count(*) AS scans, count(DISTINCT s.person_id) AS people
                  FROM scan s
                 WHERE s.scanned_at >= from_at AND s.scanned_at < to_at AND (one IS NULL OR s.venue_id = one)
                 GROUP BY 1, 2, 3, 4, 5) r
          LEFT JOIN venue v ON v.venue_id = r.venue_id
         ORDER BY r.day, r.venue_id, r.method, r.colour, r.decision;
        RETURN;
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
    tz text := current_setting('TimeZone');
BEGIN
    PERFORM hp_report_range(from_at, to_at);
    IF hp_distributed() THEN
        -- Citus: each shard joins its scans to its copy of venue; the
        -- coordinator adds up the streets
        RETURN QUERY
        SELECT r.day, r.street, r.venues, hp_report_cell(r.scans, r.people, k), hp_report_cell(r.people, r.people, k),
               r.people >= 1 AND r.people < k
          FROM (SELECT date_trunc('day', s.scanned_at, tz) AS day, v.street, count(DISTINCT s.venue_id) AS venues,
                       count(*) AS scans, count(DISTINCT s.person_id) AS people
                  FROM scan s
                  JOIN venue v ON v.venue_id = s.venue_id
                 WHERE s.scanned_at >= from_at AND s.scanned_at < to_at
                 GROUP BY 1, 2) r
         ORDER BY r.day, r.street;
        RETURN;
    END IF;
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
    tz text := current_setting('TimeZone');
    first_hour timestamptz;
BEGIN
    PERFORM hp_report_range(from_at, to_at);
    IF one IS NOT NULL THEN
        PERFORM hp_get_venue(one);
    END IF;
    IF hp_distributed() THEN
        -- Citus: the hours counted on the shards and added up on the
        -- coordinator, which lays them over the series (whose first hour is
        -- cut here: for one venue the whole statement may run on a worker)
        first_hour := date_trunc('hour', from_at);
        RETURN QUERY
        SELECT h.hour,
               hp_report_cell(coalesce(r.scans, 0), r.people, k), hp_report_cell(coalesce(r.self_scans, 0), r.people, k),
               hp_report_cell(coalesce(r.staff_scans, 0), r.people, k),
               hp_report_cell(coalesce(r.manual_checks, 0), r.people, k),
               coalesce(r.venues, 0), hp_report_cell(coalesce(r.people, 0), r.people, k),
               coalesce(r.people >= 1 AND r.people < k, false)
          FROM generate_series(first_hour, to_at - interval '1 microsecond', interval '1 hour') h(hour)
          LEFT JOIN (SELECT date_trunc('hour', s.scanned_at, tz) AS hour, count(*) AS scans,
                            count(*) FILTER (WHERE s.method = 's') AS self_scans,
                            count(*) FILTER (WHERE s.method = 't') AS staff_scans,
                            count(*) FILTER (WHERE s.method = 'm') AS manual_checks,
                            count(DISTINCT s.venue_id) AS venues, count(DISTINCT s.person_id) AS people
                       FROM scan s
                      WHERE s.scanned_at >= from_at AND s.scanned_at < to_at AND (one IS NULL OR s.venue_id = one)
                      GROUP BY 1) r ON r.hour = h.hour
         ORDER BY h.hour;
        RETURN;
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
    tz text := current_setting('TimeZone');
BEGIN
    PERFORM hp_report_range(from_at, to_at);
    IF hp_distributed() THEN
        -- Citus: grouped by venue_id, the whole statement runs on the shards
        RETURN QUERY
        SELECT r.day, r.venue_id, v.name, v.street, hp_report_cell(r.light_green, r.light_green, k),
               hp_report_cell(r.yellow, r.yellow, k), hp_report_cell(r.red, r.red, k),
               (r.light_green >= 1 AND r.light_green < k) OR (r.yellow >= 1 AND r.yellow < k)
               OR (r.red >= 1 AND r.red < k)
          FROM (SELECT date_trunc('day', s.scanned_at, tz) AS day, s.venue_id,
                       count(DISTINCT s.person_id) FILTER (WHERE s.colour = 'light_green') AS light_green,
                       count(DISTINCT s.person_id) FILTER (WHERE s.colour = 'yellow') AS yellow,
                       count(DISTINCT s.person_id) FILTER (WHERE s.colour = 'red') AS red
                  FROM scan s
                 WHERE s.scanned_at >= from_at AND s.scanned_at < to_at AND s.colour <> 'green'
                 GROUP BY 1, 2) r
          LEFT JOIN venue v ON v.venue_id = r.venue_id
         ORDER BY r.day, r.venue_id;
        RETURN;
    END IF;
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
    tz text := current_setting('TimeZone');
    c record;
    who record;
BEGIN
    PERFORM hp_report_range(from_at, to_at);
    IF hp_distributed() THEN
        -- Citus: the counts per day and staff member first (scan is
        -- distributed by venue), then those staff members by person_id (a
        -- join of the two would copy the whole person table to the
        -- coordinator), then both together on the coordinator
        SELECT array_agg(x.day) AS days, array_agg(x.staff_id) AS staff, array_agg(x.venues) AS venues,
               array_agg(x.scans) AS scans, array_agg(x.manual_checks) AS manual_checks, array_agg(x.people) AS people
          INTO c
          FROM (SELECT date_trunc('day', s.scanned_at, tz) AS day, s.staff_id, count(DISTINCT s.venue_id) AS venues,
                       count(*) FILTER (WHERE s.method = 't') AS scans, count(*) FILTER (WHERE s.method = 'm') AS manual_checks,
                       count(DISTINCT s.person_id) AS people
                  FROM scan s
                 WHERE s.scanned_at >= from_at AND s.scanned_at < to_at AND s.staff_id IS NOT NULL
                 GROUP BY 1, 2) x;
        SELECT array_agg(p.person_id) AS ids, array_agg(p.public_ref) AS refs, array_agg(mask_name(p.name)) AS masked
          INTO who
          FROM person p
         WHERE p.person_id = ANY (c.staff);
        RETURN QUERY
        SELECT r.day, p.public_ref, p.masked, r.venues, hp_report_cell(r.scans, r.people, k),
               hp_report_cell(r.manual_checks, r.people, k), hp_report_cell(r.people, r.people, k),
               r.people >= 1 AND r.people < k
          FROM unnest(c.days, c.staff, c.venues, c.scans, c.manual_checks, c.people)
               r(day, staff_id, venues, scans, manual_checks, people)
          LEFT JOIN unnest(who.ids, who.refs, who.masked) p(person_id, public_ref, masked) ON p.person_id = r.staff_id
         ORDER BY r.day, p.public_ref;
        RETURN;
    END IF;
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
    tz text := current_setting('TimeZone');
    at_now timestamptz := now();
    since timestamptz;
    busy bigint[];
    quiet bigint[];
    q text;
    one bigint;
    one_last timestamptz;
    lasts timestamptz[] := '{}';
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
    IF hp_distributed() THEN
        -- Citus cannot push down the walk of every venue in one statement (a
        -- LIMIT in a lateral subquery; a reference table outside a lateral
        -- outer join). So: the venues scanned within the days, one statement
        -- grouped on the shards; then each other venue's latest scan, read
        -- backwards on its shard (hp_report_last_scan_sql); then the list.
        since := at_now - make_interval(days => days);
        SELECT array_agg(x.venue_id) INTO busy
          FROM (SELECT s.venue_id FROM scan s WHERE s.scanned_at >= since AND s.scanned_at <= at_now GROUP BY s.venue_id) x;
        SELECT array_agg(v.venue_id ORDER BY v.venue_id) INTO quiet
          FROM venue v
         WHERE v.venue_id <> ALL (coalesce(busy, '{}')) AND (include_closed OR v.status <> 'closed');
        q := hp_report_last_scan_sql();
        FOREACH one IN ARRAY coalesce(quiet, '{}') LOOP
            EXECUTE q INTO one_last USING one, at_now;
            lasts := lasts || one_last;
        END LOOP;
        RETURN QUERY
        SELECT v.venue_id, v.name, v.street, v.status, v.created_at,
               CASE WHEN k > 0 THEN date_trunc('hour', l.scanned_at, tz) ELSE l.scanned_at END,
               floor(extract(epoch FROM at_now - l.scanned_at) / 86400)::integer
          FROM unnest(quiet, lasts) l(venue_id, scanned_at)
          JOIN venue v ON v.venue_id = l.venue_id
         ORDER BY l.scanned_at NULLS FIRST, v.venue_id;
        RETURN;
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
