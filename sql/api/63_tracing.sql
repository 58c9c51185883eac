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
--
-- On a Citus cluster (hp_distributed()) a ring runs as hp_trace_ring_cluster
-- instead, in statements the cluster can plan: Citus cannot plan an inlined
-- SQL function's parameters over its distributed tables, nor the lateral
-- joins on person_id, nor a join of scan (by venue_id) with trace_result (by
-- trace_id) or person (by person_id). The sources' scans are read first (a
-- fan-out over the person index of every shard), then everyone around them
-- in one statement that each shard runs over its venue index, then the
-- ring is put together and stored on the coordinator. The rows read back
-- (hp_trace_rows, trace_audit) name their people from a statement of its
-- own by person_id. Plain PostgreSQL runs the statements as before.
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
    IF hp_distributed() THEN
        RETURN hp_trace_ring_cluster(tid, ring, case_id, sources, since, until, w);
    END IF;
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

-- The two statements of a ring on a Citus cluster that read the scan
-- history, each one statement the cluster pushes down to every shard of
-- scan (distributed by venue_id), each a nested loop from a list into an
-- index of each day partition; hp_trace_ring_cluster runs them with
-- EXECUTE ... USING. The sources' scans: $1 the sources, $2 from when each
-- counts, $3 until; their person, venue and instant as three arrays, from
-- (person_id, scanned_at).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_trace_scans_sql() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'SELECT array_agg(src.id) AS ids, array_agg(s.venue_id) AS venue_ids, array_agg(s.scanned_at) AS ats '
       'FROM unnest($1::bigint[], $2::timestamptz[]) src(id, first_at) '
       'JOIN healthpass.scan s ON s.person_id = src.id AND s.scanned_at >= src.first_at AND s.scanned_at <= $3';
COMMENT ON FUNCTION healthpass_internal.hp_trace_scans_sql() IS
    'the statement of a Citus trace that reads the sources'' scans (internal)';

-- Everyone else at a venue within bounds around a source's scan: $1 the
-- sources, $2 the venues, $3 the sources' instants, $4 and $5 the bounds
-- (one element a source scan); each pair as five arrays (source, source's
-- instant, person met, venue, their instant), from (venue_id, scanned_at,
-- person_id).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_trace_around_sql() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'SELECT array_agg(x.source_id) AS source_ids, array_agg(x.source_at) AS source_ats, '
       'array_agg(o.person_id) AS person_ids, array_agg(o.venue_id) AS venue_ids, array_agg(o.scanned_at) AS contact_ats '
       'FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[]) '
       'x(source_id, venue_id, source_at, lo, hi) '
       'JOIN healthpass.scan o ON o.venue_id = x.venue_id AND o.scanned_at >= x.lo AND o.scanned_at <= x.hi '
       'AND o.person_id <> x.source_id';
COMMENT ON FUNCTION healthpass_internal.hp_trace_around_sql() IS
    'the statement of a Citus trace that reads everyone around the sources'' scans (internal)';

-- hp_trace_ring on a Citus cluster, with the same result. (1) The sources'
-- scans in the range (hp_trace_scans_sql). (2) Everyone else at those venues
-- within ± w of them (hp_trace_around_sql), the bounds computed here, in the
-- caller's time zone, not on the workers. (3) Each scan met counted once
-- with its closest source scan, the people grouped and inserted for the
-- trace's one shard of trace_result, on the coordinator. For ring 2 the
-- people the trace holds already are read first (one shard).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_trace_ring_cluster(
    tid bigint, ring smallint, case_id bigint, sources bigint[], since timestamptz[], until timestamptz, w interval)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    c record;
    b record;
    e record;
    known bigint[] := '{}';
    n integer;
BEGIN
    EXECUTE hp_trace_scans_sql() INTO c USING sources, since, until;
    IF c.ids IS NULL THEN
        RETURN 0;
    END IF;
    SELECT array_agg(u.at - w ORDER BY u.i) AS los, array_agg(u.at + w ORDER BY u.i) AS his
      INTO b
      FROM unnest(c.ats) WITH ORDINALITY u(at, i);
    EXECUTE hp_trace_around_sql() INTO e USING c.ids, c.venue_ids, c.ats, b.los, b.his;
    IF ring <> 1 THEN
        SELECT coalesce(array_agg(x.person_id), '{}') INTO known FROM trace_result x WHERE x.trace_id = tid;
    END IF;
    INSERT INTO trace_result (trace_id, person_id, ring, encounters, closest_gap, source_at, contact_at,
                              first_at, last_at, venue_ids, via_person_id)
    SELECT tid, m.person_id, hp_trace_ring_cluster.ring, count(*)::integer, min(m.gap),
           (array_agg(m.source_at ORDER BY m.gap, m.contact_at, m.source_id))[1],
           (array_agg(m.contact_at ORDER BY m.gap, m.contact_at, m.source_id))[1],
           min(m.contact_at), max(m.contact_at),
           array_agg(DISTINCT m.venue_id ORDER BY m.venue_id),
           CASE WHEN hp_trace_ring_cluster.ring = 2
                THEN (array_agg(m.source_id ORDER BY m.gap, m.contact_at, m.source_id))[1] END
      FROM (-- each scan of a person met counts once, with its closest source scan
            SELECT DISTINCT ON (x.person_id, x.venue_id, x.contact_at)
                   x.person_id, x.venue_id, x.contact_at, x.source_id, x.source_at, x.gap
              FROM (SELECT p.source_id, p.person_id, p.venue_id, p.source_at, p.contact_at,
                           GREATEST(p.contact_at - p.source_at, p.source_at - p.contact_at) AS gap
                      FROM unnest(e.source_ids, e.source_ats, e.person_ids, e.venue_ids, e.contact_ats)
                           p(source_id, source_at, person_id, venue_id, contact_at)) x
             WHERE x.person_id <> case_id AND x.person_id <> ALL (known)
             ORDER BY x.person_id, x.venue_id, x.contact_at, x.gap, x.source_at, x.source_id) m
     GROUP BY m.person_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_trace_ring_cluster(bigint, smallint, bigint, bigint[], timestamptz[], timestamptz, interval) IS
    'hp_trace_ring on a Citus cluster: the same ring, in statements the cluster plans (internal)';

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
-- first, then by closeness, then by the number of encounters. On Citus,
-- trace_result (by trace_id) and person (by person_id) do not join: the
-- trace's people are named first, by person_id, and the trace's rows (one
-- shard) are then read with those names.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_trace_rows(tid bigint)
    RETURNS TABLE (trace_id bigint, rank integer, ring integer, person_ref uuid, name_masked text,
                   encounters integer, closest_gap interval, source_at timestamptz, contact_at timestamptz,
                   first_at timestamptz, last_at timestamptz, venue_ids bigint[], venue_names text[],
                   via_ref uuid, mark_id bigint)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    ids bigint[];
    who record;
BEGIN
    IF hp_distributed() THEN
        SELECT array_agg(r.person_id) || array_remove(array_agg(r.via_person_id), NULL) INTO ids
          FROM trace_result r WHERE r.trace_id = tid;
        SELECT array_agg(p.person_id) AS ids, array_agg(p.public_ref) AS refs, array_agg(mask_name(p.name)) AS masked
          INTO who
          FROM person p WHERE p.person_id = ANY (ids);
        RETURN QUERY
        SELECT r.trace_id,
               (row_number() OVER (ORDER BY r.ring, r.closest_gap, r.encounters DESC, r.first_at, r.person_id))::integer,
               r.ring::integer, p.public_ref, p.masked, r.encounters, r.closest_gap, r.source_at, r.contact_at,
               r.first_at, r.last_at, r.venue_ids,
               (SELECT array_agg(v.name ORDER BY x.ord)
                  FROM unnest(r.venue_ids) WITH ORDINALITY x(id, ord) LEFT JOIN venue v ON v.venue_id = x.id),
               via.public_ref, r.mark_id
          FROM trace_result r
          JOIN unnest(who.ids, who.refs, who.masked) p(person_id, public_ref, masked) ON p.person_id = r.person_id
          LEFT JOIN unnest(who.ids, who.refs, who.masked) via(person_id, public_ref, masked)
            ON via.person_id = r.via_person_id
         WHERE r.trace_id = tid
         ORDER BY 2;
        RETURN;
    END IF;
    RETURN QUERY
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
     ORDER BY 2;
END
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
    m bigint;
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
        -- the mark first, then the row that keeps it: on Citus an UPDATE of
        -- a distributed table may not call a VOLATILE function
        m := set_risk_mark(r.person_id, CASE r.ring WHEN 1 THEN k1 ELSE k2 END, now(), until,
                           coalesce(why, format('contact trace %s, ring %s', tid, r.ring)));
        UPDATE trace_result t SET mark_id = m WHERE t.trace_id = tid AND t.person_id = r.person_id;
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
DECLARE
    newest record;
    who record;
BEGIN
    IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'max_rows % is out of range', coalesce(max_rows::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'The audit is read 1 to 10000 traces at a time.';
    END IF;
    IF hp_distributed() THEN
        -- Citus: the newest traces of every shard, then their cases by
        -- person_id (trace_audit and person are distributed by other keys)
        SELECT array_agg(a.trace_id) AS ids, array_agg(a.person_id) AS cases INTO newest
          FROM (SELECT a.trace_id, a.person_id FROM trace_audit a ORDER BY a.trace_id DESC LIMIT max_rows) a;
        SELECT array_agg(p.person_id) AS ids, array_agg(p.public_ref) AS refs, array_agg(mask_name(p.name)) AS masked
          INTO who
          FROM person p WHERE p.person_id = ANY (newest.cases);
        RETURN QUERY
            SELECT a.trace_id, a.traced_by, a.traced_at, a.person_id, p.public_ref, p.masked, a.trace_window,
                   a.from_at, a.to_at, a.second_ring, a.returned, a.ring1, a.ring2, a.marked, a.marked_at, a.marked_by
              FROM trace_audit a
              JOIN unnest(who.ids, who.refs, who.masked) p(person_id, public_ref, masked) ON p.person_id = a.person_id
             WHERE a.trace_id = ANY (newest.ids)
             ORDER BY a.trace_id DESC;
        RETURN;
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
