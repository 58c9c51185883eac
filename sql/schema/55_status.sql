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
