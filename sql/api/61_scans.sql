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
