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
