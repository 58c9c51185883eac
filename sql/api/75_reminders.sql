-- 75_reminders.sql: reminders before a travel document or an endorsement
-- expires and when an endorsement's entries are used up (seed 001: the
-- reminder service comes with the electronic permit in the card package),
-- made by row triggers and handed to delivery workers through a queue.
--
-- Who calls what:
--   (triggers)            travel_document, endorsement and electronic_permit
--                         keep a person's reminders in step with them
--   healthpass_messenger  delivery workers: claim_due_reminders,
--                         mark_reminder_sent, mark_reminder_failed, and
--                         reminder_scheduler (the pg_cron job)
--   healthpass_app        reminders(person_id): a traveller's reminders
-- Reminders exist only while the person has a bound electronic permit:
-- binding schedules them, unbinding cancels what is still pending (kept as
-- history), binding again schedules anew. doc/reminders.md tells the whole
-- story.
-- (replayed by every upgrade: CREATE OR REPLACE only)

-- Settings ----------------------------------------------------------------------

-- Days before expiry a reminder is due, latest first (setting reminder_offsets).
CREATE OR REPLACE FUNCTION healthpass_internal.hp_reminder_offsets() RETURNS integer[]
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
RETURN string_to_array(hp_setting('reminder_offsets'), ',')::integer[];
COMMENT ON FUNCTION healthpass_internal.hp_reminder_offsets() IS 'setting reminder_offsets as days, latest first (internal)';

-- Scheduling ----------------------------------------------------------------------

-- Brings one subject's reminders (a document or an endorsement of a person)
-- in step with it:
--   * pending reminders (scheduled, or claimed and not yet sent) that no
--     longer apply are cancelled, with the reason: no electronic permit, the
--     subject replaced, cancelled, reported lost or expired, its expiry date
--     changed (the reminder was due on the old date), or entries given back
--     (used_up);
--   * while the subject applies (a bound permit; a valid document or an
--     active endorsement, not expired), a reminder is scheduled at every
--     offset of reminder_offsets whose due time expires_at - offset days is
--     still in the future, and for an endorsement whose entries are all
--     used, one endorsement_used_up reminder due now.
-- A subject, reason and offset has at most one reminder that is not
-- cancelled: one already scheduled, sent or failed is left as it is.
-- NOTIFY healthpass_reminders when a reminder made here is due already.
-- Returns how many reminders it made.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_reminders_sync(pid bigint, subj text, sid bigint) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    bound boolean := EXISTS (SELECT 1 FROM electronic_permit ep WHERE ep.person_id = pid);
    d travel_document;
    e endorsement;
    masked text;
    expiry_reason text;
    expires timestamptz;
    why text;                   -- why the subject's reminders no longer apply
    used_up boolean := false;
    made integer;
    due_now integer;
    gone bigint[];              -- the pending reminders to cancel
    w record;                   -- a reminder wanted
BEGIN
    IF NOT bound THEN
        UPDATE reminder r
           SET status = 'cancelled', next_at = NULL, cancelled_reason = 'electronic permit unbound', updated_at = now()
         WHERE r.person_id = pid AND r.subject = subj AND r.subject_id = sid AND r.status = 'scheduled';
        RETURN 0;
    END IF;
    IF subj = 'document' THEN
        SELECT * INTO d FROM travel_document t WHERE t.person_id = pid AND t.document_id = sid;
        IF NOT FOUND THEN
            RETURN 0;
        END IF;
        expiry_reason := 'document_expiry';
        expires := d.expires_at;
        masked := hp_mask_document(d.doc_kind, d.doc_number);
        why := CASE WHEN d.status = 'replaced' THEN 'document replaced'
                    WHEN d.status = 'reported_lost' THEN 'document reported lost'
                    WHEN d.expires_at <= now() THEN 'document expired' END;
    ELSE
        SELECT * INTO e FROM endorsement x WHERE x.person_id = pid AND x.endorsement_id = sid;
        IF NOT FOUND THEN
            RETURN 0;
        END IF;
        SELECT * INTO d FROM travel_document t WHERE t.person_id = pid AND t.document_id = e.document_id;
        expiry_reason := 'endorsement_expiry';
        expires := e.expires_at;
        masked := hp_mask_document(d.doc_kind, d.doc_number);
        why := CASE WHEN e.status = 'replaced' THEN 'endorsement replaced'
                    WHEN e.status = 'cancelled' THEN 'endorsement cancelled'
                    WHEN e.expires_at <= now() THEN 'endorsement expired' END;
        used_up := e.entries_allowed IS NOT NULL AND e.entries_used >= e.entries_allowed;
    END IF;

    -- the pending reminders that no longer apply, locked, then cancelled in
    -- a second statement: on Citus an UPDATE may not call a STABLE function
    -- (timestamptz - interval) over the row's columns
    SELECT array_agg(l.reminder_id) INTO gone FROM (
        SELECT r.reminder_id FROM reminder r
         WHERE r.person_id = pid AND r.subject = subj AND r.subject_id = sid AND r.status = 'scheduled'
           AND (why IS NOT NULL
                OR (r.reason = 'endorsement_used_up' AND NOT used_up)
                OR (r.reason <> 'endorsement_used_up' AND r.due_at <> expires - make_interval(days => r.offset_days)))
           FOR UPDATE OF r) l;
    IF gone IS NOT NULL THEN
        UPDATE reminder r
           SET status = 'cancelled', next_at = NULL, updated_at = now(),
               cancelled_reason = coalesce(why, CASE WHEN r.reason = 'endorsement_used_up' THEN 'entries no longer used up'
                                                     ELSE 'expiry date changed' END)
         WHERE r.person_id = pid AND r.reminder_id = ANY (gone) AND r.status = 'scheduled';
    END IF;
    IF why IS NOT NULL THEN
        RETURN 0;
    END IF;

    -- the reminders wanted (computed here, reading no table), each written
    -- by its own INSERT … VALUES unless one not cancelled is there: on
    -- Citus an INSERT … SELECT over a CTE with a correlated subquery on the
    -- distributed table cannot be planned
    made := 0;
    due_now := 0;
    FOR w IN
        SELECT expiry_reason AS reason, o AS offset_days, expires - make_interval(days => o) AS due_at
          FROM unnest(hp_reminder_offsets()) o
         WHERE expires - make_interval(days => o) > now()
        UNION ALL
        SELECT 'endorsement_used_up', NULL::integer, now() WHERE used_up
    LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM reminder x
                               WHERE x.person_id = pid AND x.subject = subj AND x.subject_id = sid
                                 AND x.reason = w.reason AND x.offset_days IS NOT DISTINCT FROM w.offset_days
                                 AND x.status <> 'cancelled');
        INSERT INTO reminder AS r (person_id, subject, subject_id, reason, offset_days, due_at, next_at,
                                   doc_kind, doc_number_masked, region, endorsement_type, expires_on)
        VALUES (pid, subj, sid, w.reason, w.offset_days, w.due_at, w.due_at,
                d.doc_kind, masked, e.region, e.endorsement_type, coalesce(e.valid_until, d.valid_until))
        ON CONFLICT (person_id, subject, subject_id, reason, offset_days) WHERE status <> 'cancelled' DO NOTHING;
        IF FOUND THEN
            made := made + 1;
            IF w.due_at <= now() THEN
                due_now := due_now + 1;
            END IF;
        END IF;
    END LOOP;
    IF due_now > 0 THEN
        PERFORM pg_notify('healthpass_reminders', '');
    END IF;
    RETURN made;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_reminders_sync(bigint, text, bigint) IS
    'cancel a document''s or endorsement''s pending reminders that no longer apply, schedule those that do (internal)';

-- Every current document and active endorsement of a person (binding, or
-- the permit moved to a new card). Returns how many reminders were made.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_reminders_sync_person(pid bigint) RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    made integer := 0;
    id bigint;
BEGIN
    FOR id IN SELECT t.document_id FROM travel_document t
               WHERE t.person_id = pid AND t.status = 'valid' AND t.expires_at > now() ORDER BY t.document_id LOOP
        made := made + hp_reminders_sync(pid, 'document', id);
    END LOOP;
    FOR id IN SELECT e.endorsement_id FROM endorsement e
               WHERE e.person_id = pid AND e.status = 'active' AND e.expires_at > now() ORDER BY e.endorsement_id LOOP
        made := made + hp_reminders_sync(pid, 'endorsement', id);
    END LOOP;
    RETURN made;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_reminders_sync_person(bigint) IS
    'schedule the reminders of every current document and active endorsement of a person (internal)';

-- Row trigger on electronic_permit: binding schedules the person's
-- reminders, the permit moving to a new card schedules them again (what
-- no longer applies was cancelled by the document and endorsement
-- triggers), unbinding cancels every pending one. Sent, failed and
-- cancelled reminders stay as history.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_reminder_permit_trigger() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE reminder r
           SET status = 'cancelled', next_at = NULL, cancelled_reason = 'electronic permit unbound', updated_at = now()
         WHERE r.person_id = OLD.person_id AND r.status = 'scheduled';
        RETURN OLD;
    END IF;
    IF TG_OP = 'INSERT' OR OLD.document_id IS DISTINCT FROM NEW.document_id THEN
        PERFORM hp_reminders_sync_person(NEW.person_id);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_reminder_permit_trigger() IS
    'row trigger on electronic_permit: binding or moving schedules the person''s reminders, unbinding cancels the pending ones';

CREATE OR REPLACE TRIGGER electronic_permit_reminders
    AFTER INSERT OR DELETE OR UPDATE OF document_id ON electronic_permit
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_reminder_permit_trigger();

-- Row trigger on travel_document: a new document, or a change of its status
-- or expiry, (re)schedules its reminders.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_reminder_document_trigger() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status IS NOT DISTINCT FROM NEW.status AND OLD.expires_at IS NOT DISTINCT FROM NEW.expires_at THEN
        RETURN NEW;
    END IF;
    PERFORM hp_reminders_sync(NEW.person_id, 'document', NEW.document_id);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_reminder_document_trigger() IS
    'row trigger on travel_document: (re)schedule or cancel the document''s reminders';

CREATE OR REPLACE TRIGGER travel_document_reminders
    AFTER INSERT OR UPDATE OF status, valid_until, expires_at ON travel_document
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_reminder_document_trigger();

-- Row trigger on endorsement: a new endorsement, or a change of its status,
-- expiry or entries, (re)schedules its reminders. A renewal first cancels
-- the old endorsement and then marks it replaced (hp_put_endorsement): the
-- reminders cancelled a moment earlier in the same transaction are then
-- said to be cancelled because the endorsement was replaced.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_reminder_endorsement_trigger() RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- an entry used (every exit at a gate) matters only when it is the
        -- last one: status and dates the same, used up before and after
        -- alike, nothing changes
        IF OLD.status IS NOT DISTINCT FROM NEW.status AND OLD.expires_at IS NOT DISTINCT FROM NEW.expires_at
           AND (OLD.entries_allowed IS NOT NULL AND OLD.entries_used >= OLD.entries_allowed)
               IS NOT DISTINCT FROM (NEW.entries_allowed IS NOT NULL AND NEW.entries_used >= NEW.entries_allowed) THEN
            RETURN NEW;
        END IF;
        IF OLD.status = 'cancelled' AND NEW.status = 'replaced' THEN
            UPDATE reminder r SET cancelled_reason = 'endorsement replaced'
             WHERE r.person_id = NEW.person_id AND r.subject = 'endorsement' AND r.subject_id = NEW.endorsement_id
               AND r.status = 'cancelled' AND r.cancelled_reason = 'endorsement cancelled' AND r.updated_at = now();
        END IF;
    END IF;
    PERFORM hp_reminders_sync(NEW.person_id, 'endorsement', NEW.endorsement_id);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_reminder_endorsement_trigger() IS
    'row trigger on endorsement: (re)schedule or cancel the endorsement''s reminders, the used-up one included';

CREATE OR REPLACE TRIGGER endorsement_reminders_new
    AFTER INSERT ON endorsement
    FOR EACH ROW EXECUTE FUNCTION healthpass_internal.hp_reminder_endorsement_trigger();
-- an entry used at a gate fires nothing unless it was the last one (the
-- function repeats the test: it is also called for a status change)
CREATE OR REPLACE TRIGGER endorsement_reminders
    AFTER UPDATE OF status, valid_until, expires_at, entries_used, entries_allowed ON endorsement
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR (OLD.entries_allowed IS NOT NULL AND OLD.entries_used >= OLD.entries_allowed)
             IS DISTINCT FROM (NEW.entries_allowed IS NOT NULL AND NEW.entries_used >= NEW.entries_allowed))
    EXECUTE FUNCTION healthpass_internal.hp_reminder_endorsement_trigger();

-- Delivery -------------------------------------------------------------------------

-- A worker's name as claims and reports carry it: 1 to 100 characters, no
-- control characters; 22004 when missing.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_worker(worker text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    w text := hp_text('worker', worker, 100);
BEGIN
    IF w IS NULL THEN
        RAISE EXCEPTION 'worker is missing'
            USING ERRCODE = 'null_value_not_allowed',
                  DETAIL = 'Name the delivery worker, for example "worker-1": claims and reports carry its name.';
    END IF;
    RETURN w;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_worker(text) IS 'checked delivery worker name (internal)';

-- A person's reminder locked FOR UPDATE, or 22004 (an id missing) or P0002.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_lock_reminder(pid bigint, rid bigint) RETURNS reminder
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    r reminder;
BEGIN
    IF pid IS NULL THEN
        RAISE EXCEPTION 'person id is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the person by their person_id, as claim_due_reminders() returned it.';
    END IF;
    IF rid IS NULL THEN
        RAISE EXCEPTION 'reminder id is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Name the reminder by its reminder_id, as claim_due_reminders() returned it.';
    END IF;
    SELECT * INTO r FROM reminder x WHERE x.person_id = pid AND x.reminder_id = rid FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'reminder % of person % does not exist', rid, pid
            USING ERRCODE = 'no_data_found', DETAIL = 'claim_due_reminders() hands out each reminder with its person_id and reminder_id.';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_lock_reminder(bigint, bigint) IS 'a person''s reminder locked FOR UPDATE, or 22004 / P0002 (internal)';

-- On Citus the queue is on every shard, and Citus locks rows of one shard a
-- statement only, so the claim cannot be one FOR UPDATE SKIP LOCKED: the
-- due reminders are read across shards without a lock (each shard walks its
-- partial index, the coordinator merges them in next_at order), then each
-- shard's are claimed by one UPDATE routed to that shard, which re-checks
-- that each is still due and unclaimed. Two workers claiming at once never
-- get the same reminder (the second waits for the first's row lock, then
-- finds it claimed and leaves it), but the second may get fewer than it
-- asked for while due ones remain; its next claim takes them.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_claim_due_by_shard(w text, max_count integer, lease interval)
    RETURNS TABLE (reminder_id bigint, person_id bigint, reason text, due_at timestamptz, subject text,
                   doc_kind text, region text, endorsement_type text, doc_number_masked text,
                   expires_on date, days_left integer, entries_remaining integer, attempts integer)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    t timestamptz := now();
    until timestamptz := now() + lease;
    g record;
    c reminder;
BEGIN
    FOR g IN EXECUTE
        'SELECT array_agg(x.person_id) AS pids, array_agg(x.reminder_id) AS rids
           FROM (SELECT r.person_id, r.reminder_id FROM healthpass.reminder r
                  WHERE r.status = ''scheduled'' AND r.next_at <= $1
                    AND (r.claimed_until IS NULL OR r.claimed_until <= $1)
                  ORDER BY r.next_at
                  LIMIT $2) x
          GROUP BY pg_catalog.get_shard_id_for_distribution_column(''healthpass.reminder''::regclass, x.person_id)'
        USING t, max_count
    LOOP
        -- the endorsement of a used-up reminder is read in a statement of
        -- its own (Citus plans no correlated subquery next to the UPDATE)
        FOR c IN
            UPDATE reminder r
               SET claimed_by = w, claimed_until = until, attempts = r.attempts + 1, updated_at = t
             WHERE r.person_id = ANY (g.pids) AND r.reminder_id = ANY (g.rids)
               AND r.status = 'scheduled' AND r.next_at <= t
               AND (r.claimed_until IS NULL OR r.claimed_until <= t)
            RETURNING r.*
        LOOP
            reminder_id := c.reminder_id;
            person_id := c.person_id;
            reason := c.reason;
            due_at := c.due_at;
            subject := c.subject;
            doc_kind := c.doc_kind;
            region := c.region;
            endorsement_type := c.endorsement_type;
            doc_number_masked := c.doc_number_masked;
            expires_on := c.expires_on;
            days_left := c.expires_on + 1 - hp_cst_day(t);
            entries_remaining := NULL;
            IF c.reason = 'endorsement_used_up' THEN
                SELECT e.entries_allowed - e.entries_used INTO entries_remaining FROM endorsement e
                 WHERE e.person_id = c.person_id AND e.endorsement_id = c.subject_id;
            END IF;
            attempts := c.attempts;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_claim_due_by_shard(text, integer, interval) IS
    'on Citus: claim due reminders one shard at a time (internal)';

-- Hands out up to max_count due reminders to a worker: those scheduled
-- whose next_at has come and that no worker holds (never claimed, or the
-- lease ran out), the earliest first, skipping rows another worker is
-- claiming at this moment (FOR UPDATE SKIP LOCKED), so workers running at
-- once never get the same reminder. Each is held by the worker until
-- now() + reminder_lease (claimed_by, claimed_until), its attempts counted;
-- no indexed column changes, so the claim is a heap-only update. Returns what a message needs: the
-- reason, the document kind (and an endorsement's region and type), the
-- number masked, the last valid day and the days left until the end of it
-- (counted in China Standard Time: 30 on the day of the 30-day reminder),
-- the entries remaining of a used-up endorsement (NULL for the other
-- reasons), and the attempt this is. The reminder table alone is read (and
-- for a used-up reminder its endorsement row).
CREATE OR REPLACE FUNCTION claim_due_reminders(worker text, max_count integer DEFAULT 100)
    RETURNS TABLE (reminder_id bigint, person_id bigint, reason text, due_at timestamptz, subject text,
                   doc_kind text, region text, endorsement_type text, doc_number_masked text,
                   expires_on date, days_left integer, entries_remaining integer, attempts integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    w text := hp_worker(worker);
    lease interval := hp_setting('reminder_lease')::interval;
    tids tid[];
BEGIN
    IF max_count IS NULL THEN
        RAISE EXCEPTION 'max count is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Say how many reminders to claim at most, for example 100.';
    END IF;
    IF max_count NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'max count % is out of range', max_count
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A worker claims 1 to 10000 reminders at a time.';
    END IF;
    IF hp_distributed() THEN
        RETURN QUERY SELECT * FROM hp_claim_due_by_shard(w, max_count, lease) c
                      ORDER BY c.due_at, c.reminder_id;
        RETURN;
    END IF;
    -- the queue's partial index in next_at order (no table scan); the rows
    -- locked here cannot move until this transaction ends, so they are
    -- updated by their tuple ids (a TID scan, no second index descent)
    SELECT array_agg(q.ctid) INTO tids
      FROM (SELECT r.ctid
              FROM reminder r
             WHERE r.status = 'scheduled' AND r.next_at <= now()
               AND (r.claimed_until IS NULL OR r.claimed_until <= now())
             ORDER BY r.next_at
             LIMIT max_count
               FOR UPDATE SKIP LOCKED) q;
    -- the message's facts are on the row (copied when it was scheduled):
    -- only a used-up reminder looks at its endorsement's count
    RETURN QUERY
    WITH c AS (
        UPDATE reminder r
           SET claimed_by = w, claimed_until = now() + lease, attempts = r.attempts + 1, updated_at = now()
         WHERE r.ctid = ANY (tids) AND r.status = 'scheduled' AND r.next_at <= now()
           AND (r.claimed_until IS NULL OR r.claimed_until <= now())
        RETURNING r.*
    )
    SELECT c.reminder_id, c.person_id, c.reason, c.due_at, c.subject,
           c.doc_kind, c.region, c.endorsement_type, c.doc_number_masked, c.expires_on,
           c.expires_on + 1 - hp_cst_day(now()),
           CASE WHEN c.reason = 'endorsement_used_up'
                THEN (SELECT e.entries_allowed - e.entries_used FROM endorsement e
                       WHERE e.person_id = c.person_id AND e.endorsement_id = c.subject_id) END,
           c.attempts
      FROM c
     ORDER BY c.due_at, c.reminder_id;
END
$$;
COMMENT ON FUNCTION healthpass.claim_due_reminders(text, integer) IS
    'hand out up to max_count due reminders to a worker for reminder_lease (never the same one to two workers at once): masked number, expiry, days left';

-- A worker reports a reminder sent. The first report of a reminder still
-- pending (held by a worker, or scheduled again after a failure; handed out at least
-- once) makes it sent, whichever worker holds it now: the message went out,
-- so it is not handed out again. Returns true then. A report of a reminder
-- already sent (a second call, or a worker whose lease passed to another
-- that reported first), failed or cancelled changes nothing and returns
-- false. A reminder never handed out is refused (55000).
CREATE OR REPLACE FUNCTION mark_reminder_sent(person_id bigint, reminder_id bigint, worker text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    w text := hp_worker(worker);
    r reminder := hp_lock_reminder(person_id, reminder_id);
BEGIN
    IF r.status <> 'scheduled' THEN
        RETURN false;
    END IF;
    IF r.attempts = 0 THEN
        RAISE EXCEPTION 'reminder % was never handed out', r.reminder_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A reminder is reported sent by the worker that claimed it with claim_due_reminders().';
    END IF;
    UPDATE reminder x SET status = 'sent', sent_at = now(), next_at = NULL, claimed_by = w, claimed_until = NULL,
                          updated_at = now()
     WHERE x.person_id = r.person_id AND x.reminder_id = r.reminder_id;
    RETURN true;
END
$$;
COMMENT ON FUNCTION healthpass.mark_reminder_sent(bigint, bigint, text) IS
    'report a reminder sent: true the first time, false (nothing changed) when it was sent, failed or cancelled already';

-- A worker reports that a reminder it holds could not be delivered. It is
-- handed out again after 1 minute x 2^(attempts - 1), at most a day (1, 2,
-- 4, ... minutes), or given up as failed once reminder_max_attempts
-- attempts were made. Returns true when the report was taken; false, with
-- nothing changed, when the reminder is no longer this worker's (its lease
-- passed to another, or it was sent or cancelled meanwhile).
CREATE OR REPLACE FUNCTION mark_reminder_failed(person_id bigint, reminder_id bigint, worker text, error text)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    w text := hp_worker(worker);
    err text := hp_text('error', error, 1000, false, true);
    r reminder;
BEGIN
    IF err IS NULL THEN
        RAISE EXCEPTION 'error is missing'
            USING ERRCODE = 'null_value_not_allowed', DETAIL = 'Say why the reminder could not be delivered.';
    END IF;
    r := hp_lock_reminder(person_id, reminder_id);
    IF r.status <> 'scheduled' OR r.claimed_until IS NULL OR r.claimed_by <> w THEN
        RETURN false;
    END IF;
    IF r.attempts >= hp_setting('reminder_max_attempts')::integer THEN
        UPDATE reminder x SET status = 'failed', next_at = NULL, claimed_until = NULL, last_error = err, updated_at = now()
         WHERE x.person_id = r.person_id AND x.reminder_id = r.reminder_id;
    ELSE
        UPDATE reminder x
           SET claimed_until = NULL, last_error = err, updated_at = now(),
               next_at = now() + make_interval(secs => least(60 * power(2::float8, greatest(r.attempts, 1) - 1), 86400))
         WHERE x.person_id = r.person_id AND x.reminder_id = r.reminder_id;
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION healthpass.mark_reminder_failed(bigint, bigint, text, text) IS
    'report a reminder undelivered: retried after 1 minute x 2^(attempts-1) (at most a day), failed after reminder_max_attempts';

-- The job pg_cron runs every minute:
--   SELECT cron.schedule('healthpass-reminders', '* * * * *', 'SELECT healthpass.reminder_scheduler()');
-- NOTIFY healthpass_reminders (empty payload) when any reminder is due, so
-- listening workers claim; returns how many are due. Reads the queue's
-- partial index only.
CREATE OR REPLACE FUNCTION reminder_scheduler() RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    -- due and held by no worker: what a claim would hand out now
    SELECT count(*) INTO n FROM reminder r
     WHERE r.status = 'scheduled' AND r.next_at <= now() AND (r.claimed_until IS NULL OR r.claimed_until <= now());
    IF n > 0 THEN
        PERFORM pg_notify('healthpass_reminders', '');
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION healthpass.reminder_scheduler() IS
    'pg_cron''s job, every minute: NOTIFY healthpass_reminders when reminders are due; returns how many';

-- A person's reminders for the app, by due time: what about (the document
-- kind, masked number and expiry date), when, and what became of it.
CREATE OR REPLACE FUNCTION reminders(person_id bigint)
    RETURNS TABLE (reminder_id bigint, reason text, subject text, subject_id bigint, doc_kind text,
                   doc_number_masked text, region text, expires_on date, offset_days integer, due_at timestamptz,
                   status text, attempts integer, next_at timestamptz, sent_at timestamptz, cancelled_reason text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = healthpass, healthpass_internal, pg_temp
AS $$
DECLARE
    p person := hp_get_person(person_id);
BEGIN
    RETURN QUERY
        SELECT r.reminder_id, r.reason, r.subject, r.subject_id, r.doc_kind, r.doc_number_masked, r.region, r.expires_on,
               r.offset_days, r.due_at,
               CASE WHEN r.status = 'scheduled' AND r.claimed_until > now() THEN 'claimed' ELSE r.status END,
               r.attempts, r.next_at, r.sent_at, r.cancelled_reason
          FROM reminder r
         WHERE r.person_id = p.person_id
         ORDER BY r.due_at, r.reminder_id;
END
$$;
COMMENT ON FUNCTION healthpass.reminders(bigint) IS
    'a person''s reminders by due time: reason, document (masked), expiry, offset, status, attempts, sent or cancelled';

GRANT EXECUTE ON FUNCTION
    healthpass.claim_due_reminders(text, integer),
    healthpass.mark_reminder_sent(bigint, bigint, text),
    healthpass.mark_reminder_failed(bigint, bigint, text, text),
    healthpass.reminder_scheduler()
  TO healthpass_messenger;
GRANT EXECUTE ON FUNCTION healthpass.reminder_scheduler() TO healthpass_admin;
GRANT EXECUTE ON FUNCTION healthpass.reminders(bigint) TO healthpass_app;
