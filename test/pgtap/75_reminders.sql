-- expiry reminders by trigger (issue 12 item 5; seed 001: reminders before
-- an endorsement and before the document expire, with the electronic
-- permit): scheduling on every trigger path, the reminder_offsets list
-- setting, claiming, reporting sent and failed, retries and leases, and
-- every refusal. NOTIFY is tested by test/scripts/75_reminders_notify.sh
-- (a psql session that LISTENs).
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(135);
-- A table is read in a statement of its own (\gset), then compared: on Citus a
-- statement reading one shard runs whole on a worker, where this session's
-- pgTAP plan and pg_temp functions do not exist. The helpers reading or writing
-- a table are PL/pgSQL: Citus cannot plan a parameterized SQL function over a
-- distributed table.

-- today in China Standard Time (documents are dated there)
SELECT healthpass_internal.hp_cst_day(now()) AS today \gset

-- a traveller: real name approved, a fresh passed face check
CREATE FUNCTION pg_temp.traveller(id text, nm text) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    pid bigint := healthpass.register_person('cn_resident_id', id, nm);
BEGIN
    PERFORM healthpass.record_realname_result(pid, 1, 'approved');
    PERFORM healthpass.record_face_check(pid, 'CTID', 'passed', '\xffd8ffe000104a46494600');
    RETURN pid;
END $$;
-- a Guangdong permit (or another province's), valid for 3000 days unless told
CREATE FUNCTION pg_temp.permit(pid bigint, number text, until date DEFAULT NULL, province text DEFAULT '44') RETURNS bigint
    LANGUAGE sql AS $$
    SELECT healthpass.record_travel_document(pid, 'hk_macau_permit', number, '广东省公安厅出入境管理局',
                                             healthpass_internal.hp_cst_day(now()) - 400,
                                             coalesce(until, healthpass_internal.hp_cst_day(now()) + 3000), province)
$$;
CREATE FUNCTION pg_temp.bind(pid bigint, number text) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM healthpass.record_face_check(pid, 'CTID', 'passed', '\xffd8ffe000104a46494600');
    RETURN (SELECT outcome FROM healthpass.bind_electronic_permit(pid, number, 'read_digits'));
END $$;
-- one subject's reminders as the app lists them: "offset status (why)",
-- latest offset first, the used-up one as "used_up"
CREATE FUNCTION pg_temp.rem(pid bigint, subj text, sid bigint) RETURNS text
    LANGUAGE sql AS $$
    SELECT coalesce(string_agg(coalesce(r.offset_days::text, 'used_up') || ' ' || r.status
                               || coalesce(' (' || r.cancelled_reason || ')', ''),
                               ', ' ORDER BY r.offset_days DESC NULLS FIRST, r.reminder_id), '')
      FROM healthpass.reminders(pid) r WHERE r.subject = subj AND r.subject_id = sid
$$;
CREATE FUNCTION pg_temp.gate(number text) RETURNS text
    LANGUAGE sql AS $$
    SELECT CASE WHEN passed THEN 'passed' ELSE refusal END
      FROM healthpass.cross_border('luohu', 'exit', 'manual', 'hk_macau_permit', number)
$$;
-- a reminder's id by person, subject and offset (NULL: used up), not cancelled
-- (a cancelled reminder is skipped: read the id again where reminders are
-- re-scheduled)
CREATE FUNCTION pg_temp.rid(pid bigint, sid bigint, days integer, subj text DEFAULT 'document') RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE id bigint;
BEGIN
    SELECT r.reminder_id INTO id FROM healthpass.reminder r
     WHERE r.person_id = pid AND r.subject = subj AND r.subject_id = sid AND r.offset_days IS NOT DISTINCT FROM days
       AND r.status <> 'cancelled';
    RETURN id;
END $$;
-- a reminder made due now (or its lease run out), as if time had passed
-- (the instant is a variable: Citus refuses now() inside a CASE of an UPDATE)
CREATE FUNCTION pg_temp.make_due(rid bigint) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE due timestamptz := now() - interval '1 second';
BEGIN
    UPDATE healthpass.reminder
       SET next_at = due,
           claimed_until = CASE WHEN claimed_until IS NOT NULL THEN due END
     WHERE reminder_id = make_due.rid;
END $$;

-- settings: reminder_offsets, a list of days -------------------------------------
SELECT is((SELECT string_agg(name || '=' || value || ' ' || default_value, ', ' ORDER BY name)
             FROM healthpass.settings() WHERE name LIKE 'reminder%'),
          'reminder_lease=00:05:00 00:05:00, reminder_max_attempts=8 8, reminder_offsets=30,7,1 30,7,1',
          'settings() lists the reminder settings with their defaults');
SELECT is(healthpass.configure('reminder_offsets', ' 1, 60 ,14'), '60,14,1', 'a list of days is kept latest first, spaces aside');
SELECT is((SELECT value || ' ' || changed FROM healthpass.settings() WHERE name = 'reminder_offsets'), '60,14,1 true',
          'settings() shows the list in force');
SELECT is(healthpass.configure('reminder_offsets', '366'), '366', 'one day is a list too, up to 366');
SELECT is(healthpass.configure('reminder_offsets', '1,2,3,4,5,6,7,8,9,10'), '10,9,8,7,6,5,4,3,2,1', 'at most 10 days');
SELECT is(healthpass.configure('reminder_offsets', NULL), '30,7,1', 'NULL goes back to the default');
SELECT throws_ok($$SELECT healthpass.configure('reminder_offsets', 'soon')$$, '22023',
    'reminder offsets "soon" are not whole days separated by commas', 'the list is of whole numbers');
SELECT throws_ok($$SELECT healthpass.configure('reminder_offsets', '30,,1')$$, '22023',
    'reminder offsets "30,,1" are not whole days separated by commas', 'no empty item');
SELECT throws_ok($$SELECT healthpass.configure('reminder_offsets', '')$$, '22023',
    'reminder offsets "" are not whole days separated by commas', 'not empty');
SELECT throws_ok($$SELECT healthpass.configure('reminder_offsets', '7,-1')$$, '22023',
    'reminder offsets "7,-1" are not whole days separated by commas', 'no negative days');
SELECT throws_ok($$SELECT healthpass.configure('reminder_offsets', '1.5')$$, '22023',
    'reminder offsets "1.5" are not whole days separated by commas', 'no fractions');
SELECT throws_ok($$SELECT healthpass.configure('reminder_offsets', E'7\n1')$$, '22023',
    'reminder offsets "7?1" are not whole days separated by commas', 'quoted safely');
SELECT throws_ok($$SELECT healthpass.configure('reminder_offsets', '30,0')$$, '22023',
    'day 0 of reminder offsets "30,0" is out of range', 'a day is at least 1');
SELECT throws_ok($$SELECT healthpass.configure('reminder_offsets', '367,7')$$, '22023',
    'day 367 of reminder offsets "367,7" is out of range', 'and at most 366');
SELECT throws_ok($$SELECT healthpass.configure('reminder_offsets', '9999999999')$$, '22023',
    'reminder offsets "9999999999" are not whole days separated by commas', 'no overflow');
SELECT throws_ok($$SELECT healthpass.configure('reminder_offsets', '7,30,7')$$, '22023',
    'day 7 of reminder offsets "7,30,7" is named twice', 'strictly decreasing once sorted: no day twice');
SELECT throws_ok($$SELECT healthpass.configure('reminder_offsets', '1,2,3,4,5,6,7,8,9,10,11')$$, '22023',
    'reminder offsets "1,2,3,4,5,6,7,8,9,10,11" name 11 days', 'at most 10 days');
SELECT is(healthpass.configure('reminder_max_attempts', '3'), '3', 'the whole-number form still works beside the list');
SELECT throws_ok($$SELECT healthpass.configure('reminder_max_attempts', '3,2')$$, '22023',
    'reminder attempts "3,2" is not a whole number', 'and is not taken for a list');
SELECT is(healthpass.configure('reminder_lease', '1 minute'), '00:01:00', 'the interval form still works');
SELECT throws_ok($$SELECT healthpass.configure('reminder_lease', '5 seconds')$$, '22023',
    'reminder lease "00:00:05" is out of range', 'the lease is at least 10 seconds');
SELECT is(healthpass.configure('reminder_max_attempts', NULL) || ' ' || healthpass.configure('reminder_lease', NULL), '8 00:05:00',
          'back to the defaults');

-- binding schedules ----------------------------------------------------------------
SELECT pg_temp.traveller('440104199003071239', '王小明') AS a \gset
SELECT pg_temp.permit(:a, 'C12345678') AS a_doc \gset
SELECT healthpass.record_endorsement(:a, :a_doc, 'HK', 'G', '1', :'today'::date - 1, :'today'::date + 10, 7) AS a_hk \gset
SELECT healthpass.record_endorsement(:a, :a_doc, 'MO', 'G', 'multiple', :'today'::date - 1, :'today'::date + 100, 7) AS a_mo \gset
SELECT healthpass.record_travel_document(:a, 'cn_passport', 'E12345678', '公安部出入境管理局', :'today'::date - 1, :'today'::date + 3000) AS a_pp \gset
SELECT healthpass.record_travel_document(:a, 'passport', 'K1234567', 'Home Office', :'today'::date - 800, :'today'::date - 1) AS a_old \gset
SELECT is((SELECT count(*)::int FROM healthpass.reminders(:a)), 0, 'no reminders without an electronic permit');
SELECT is(pg_temp.bind(:a, 'C12345678'), 'bound', 'the permit is bound');
SELECT is(pg_temp.rem(:a, 'document', :a_doc), '30 scheduled, 7 scheduled, 1 scheduled',
          'binding schedules the permit''s reminders 30, 7 and 1 days before it expires');
SELECT is(pg_temp.rem(:a, 'document', :a_pp), '30 scheduled, 7 scheduled, 1 scheduled', 'and every other current document''s');
SELECT is(pg_temp.rem(:a, 'endorsement', :a_mo), '30 scheduled, 7 scheduled, 1 scheduled', 'and every active endorsement''s');
SELECT is(pg_temp.rem(:a, 'endorsement', :a_hk), '7 scheduled, 1 scheduled',
          'only offsets still ahead: an endorsement ending in 10 days gets no 30-day reminder');
SELECT is(pg_temp.rem(:a, 'document', :a_old), '', 'an expired document gets none');
SELECT quote_nullable((SELECT bool_and(r.due_at = x.expires_at - make_interval(days => r.offset_days) AND r.next_at = r.due_at
                                        AND r.attempts = 0 AND r.due_at > now())
                          FROM healthpass.reminder r
                          JOIN (SELECT 'document' AS subject, document_id AS id, expires_at FROM healthpass.travel_document
                                UNION ALL SELECT 'endorsement', endorsement_id, expires_at FROM healthpass.endorsement) x
                            ON x.subject = r.subject AND x.id = r.subject_id)) AS got \gset
SELECT ok(:got::boolean,
          'each is due its offset in days before the instant of expiry, and next handed out then');
SELECT pg_temp.rid(:a, :a_hk, 1, 'endorsement') AS r_hk1 \gset
SELECT quote_nullable((SELECT (due_at AT TIME ZONE 'Asia/Shanghai')::text FROM healthpass.reminder WHERE reminder_id = :r_hk1)) AS got \gset
SELECT is(:got::text,
          (:'today'::date + 10)::text || ' 00:00:00', 'the 1-day reminder is due at the start of the last valid day (China Standard Time)');
SELECT is((SELECT doc_kind || ' ' || doc_number_masked || ' ' || region || ' ' || expires_on
             FROM healthpass.reminders(:a) WHERE subject_id = :a_hk AND subject = 'endorsement' LIMIT 1),
          'hk_macau_permit C1*****78 HK ' || (:'today'::date + 10), 'reminders() shows the document masked, the region and the expiry date');
SELECT is(healthpass_internal.hp_reminders_sync_person(:a), 0, 'scheduling again makes nothing: it is idempotent');
SELECT count(*)::int AS n FROM healthpass.reminder WHERE person_id = :a \gset
SELECT is(:n::integer, 11, 'eleven reminders, once each');

-- a new endorsement replacing the active one; the offsets in force then -----------
SELECT healthpass.configure('reminder_offsets', '60,14');
SELECT healthpass.record_endorsement(:a, :a_doc, 'MO', 'T', 'multiple', :'today'::date - 1, :'today'::date + 200, 7) AS a_mo2 \gset
SELECT is(pg_temp.rem(:a, 'endorsement', :a_mo),
          '30 cancelled (endorsement replaced), 7 cancelled (endorsement replaced), 1 cancelled (endorsement replaced)',
          'a replaced endorsement''s reminders are cancelled, and kept');
SELECT is(pg_temp.rem(:a, 'endorsement', :a_mo2), '60 scheduled, 14 scheduled',
          'its successor''s are scheduled at the offsets in force (reminder_offsets)');
SELECT is(pg_temp.rem(:a, 'endorsement', :a_hk), '7 scheduled, 1 scheduled', 'reminders already scheduled keep their offsets');
SELECT healthpass.configure('reminder_offsets', NULL);

-- renewal (续签) ---------------------------------------------------------------------
SELECT healthpass.renew_endorsement(:a, 'HK', 'G', '2', :'today'::date + 60, 7) AS a_hk2 \gset
SELECT is(pg_temp.rem(:a, 'endorsement', :a_hk), '7 cancelled (endorsement replaced), 1 cancelled (endorsement replaced)',
          'renewal cancels the old endorsement''s reminders');
SELECT is(pg_temp.rem(:a, 'endorsement', :a_hk2), '30 scheduled, 7 scheduled, 1 scheduled', 'and schedules the new one''s');

-- used up ----------------------------------------------------------------------------
SELECT is(pg_temp.gate('C12345678'), 'passed', 'a first exit on the renewed endorsement');
SELECT is(pg_temp.rem(:a, 'endorsement', :a_hk2), '30 scheduled, 7 scheduled, 1 scheduled', 'one entry of two left: no used-up reminder');
SELECT is(pg_temp.gate('C12345678'), 'passed', 'the second exit uses the last entry');
SELECT is(pg_temp.rem(:a, 'endorsement', :a_hk2), 'used_up scheduled, 30 scheduled, 7 scheduled, 1 scheduled',
          'the last entry used schedules the used-up reminder');
SELECT pg_temp.rid(:a, :a_hk2, NULL, 'endorsement') AS r_used \gset
SELECT quote_nullable((SELECT due_at <= now() AND next_at = due_at FROM healthpass.reminder WHERE reminder_id = :r_used)) AS got \gset
SELECT ok(:got::boolean,
          'due at once');
SELECT is(pg_temp.gate('C12345678'), 'no_entry_left', 'a third exit is refused');
SELECT count(*)::int AS n FROM healthpass.reminder WHERE subject_id = :a_hk2 AND reason = 'endorsement_used_up' \gset
SELECT is(:n::integer, 1,
          'and the used-up reminder is made once');
SELECT is(pg_temp.rem(:a, 'endorsement', :a_mo2), '60 scheduled, 14 scheduled', 'a multiple-entry endorsement is never used up');

-- claiming -----------------------------------------------------------------------------
SELECT is((SELECT reason || ' ' || person_id || ' ' || subject || ' ' || doc_kind || ' ' || region || ' ' || endorsement_type || ' '
                  || doc_number_masked || ' ' || expires_on || ' ' || days_left || ' ' || entries_remaining || ' ' || attempts
             FROM healthpass.claim_due_reminders('w1')),
          format('endorsement_used_up %s endorsement hk_macau_permit HK G C1*****78 %s 61 0 1', :a, :'today'::date + 60),
          'a worker claims what is due: reason, kind, masked number, expiry, days left, entries remaining, attempt');
SELECT pg_temp.rid(:a, :a_hk2, NULL, 'endorsement') AS r_used \gset
SELECT quote_nullable((SELECT status || ' ' || claimed_by || ' ' || attempts || ' ' || (claimed_until - updated_at)
                         FROM healthpass.reminder WHERE reminder_id = :r_used)) AS got \gset
SELECT is(:got::text,
          'scheduled w1 1 00:05:00', 'it is held by the worker for the lease (reminder_lease); still scheduled until sent');
SELECT pg_temp.rid(:a, :a_hk2, NULL, 'endorsement') AS r_used \gset
SELECT is((SELECT status FROM healthpass.reminders(:a) WHERE reminder_id = :r_used),
          'claimed', 'the app sees it claimed');
SELECT is((SELECT count(*)::int FROM healthpass.claim_due_reminders('w2')), 0, 'nothing else is due; a leased reminder is not handed out again');
SELECT is(healthpass.mark_reminder_sent(:a, pg_temp.rid(:a, :a_hk2, NULL, 'endorsement'), 'w1'), true, 'the worker reports it sent');
SELECT pg_temp.rid(:a, :a_hk2, NULL, 'endorsement') AS r_used \gset
SELECT quote_nullable((SELECT status || ' ' || (sent_at IS NOT NULL) || ' ' || coalesce(next_at::text, 'none')
                         FROM healthpass.reminder WHERE reminder_id = :r_used)) AS got \gset
SELECT is(:got::text,
          'sent true none', 'sent, with the time, and out of the queue');
SELECT is(healthpass.mark_reminder_sent(:a, pg_temp.rid(:a, :a_hk2, NULL, 'endorsement'), 'w1'), false, 'a second report changes nothing: false');
SELECT is(healthpass_internal.hp_reminders_sync(:a, 'endorsement', :a_hk2), 0, 'the used-up reminder is not made again once sent');

-- three due at once, two workers, a lease running out
SELECT pg_temp.make_due(pg_temp.rid(:a, :a_doc, 30)), pg_temp.make_due(pg_temp.rid(:a, :a_doc, 7)),
       pg_temp.make_due(pg_temp.rid(:a, :a_doc, 1));
-- (the new instants are read first: Citus refuses a STABLE operator, timestamptz
-- minus interval, over a column in an UPDATE)
SELECT pg_temp.rid(:a, :a_doc, 30) AS r30, pg_temp.rid(:a, :a_doc, 7) AS r7 \gset
SELECT quote_nullable((SELECT next_at - make_interval(secs => offset_days) FROM healthpass.reminder WHERE reminder_id = :r30)) AS at30,
       quote_nullable((SELECT next_at - make_interval(secs => offset_days) FROM healthpass.reminder WHERE reminder_id = :r7)) AS at7 \gset
UPDATE healthpass.reminder SET next_at = CASE reminder_id WHEN :r30 THEN :at30::timestamptz WHEN :r7 THEN :at7::timestamptz END
 WHERE reminder_id = :r30 OR reminder_id = :r7;
SELECT is((SELECT string_agg(r.offset_days || ' ' || c.days_left || ' ' || c.attempts, ', ' ORDER BY r.offset_days DESC)
             FROM healthpass.claim_due_reminders('w1', 2) c JOIN healthpass.reminder r USING (person_id, reminder_id)),
          '30 3001 1, 7 3001 1', 'max_count limits a claim; the longest due first');
SELECT is((SELECT string_agg(r.offset_days::text, ', ')
             FROM healthpass.claim_due_reminders('w2', 10) c JOIN healthpass.reminder r USING (person_id, reminder_id)),
          '1', 'another worker gets the rest, never what the first holds');
SELECT pg_temp.make_due(pg_temp.rid(:a, :a_doc, 30)), pg_temp.make_due(pg_temp.rid(:a, :a_doc, 7));
SELECT is((SELECT string_agg(r.offset_days || ' ' || c.attempts, ', ' ORDER BY r.offset_days DESC)
             FROM healthpass.claim_due_reminders('w2', 10) c JOIN healthpass.reminder r USING (person_id, reminder_id)),
          '30 2, 7 2', 'once a lease has run out the reminder is handed out again, the attempt counted');
SELECT quote_nullable((SELECT string_agg(claimed_by, ',' ORDER BY offset_days DESC) FROM healthpass.reminder
                        WHERE person_id = :a AND subject_id = :a_doc AND subject = 'document' AND claimed_until > now())) AS got \gset
SELECT is(:got::text,
          'w2,w2,w2', 'the second worker holds all three');
SELECT is(healthpass.mark_reminder_sent(:a, pg_temp.rid(:a, :a_doc, 30), 'w1'), true,
          'the first worker''s late report still counts: the message went out');
SELECT pg_temp.rid(:a, :a_doc, 30) AS r30 \gset
SELECT quote_nullable((SELECT status || ' ' || claimed_by FROM healthpass.reminder WHERE reminder_id = :r30)) AS got \gset
SELECT is(:got::text, 'sent w1',
          'sent, by the worker that reported it');
SELECT is(healthpass.mark_reminder_sent(:a, pg_temp.rid(:a, :a_doc, 30), 'w2'), false,
          'the worker the lease passed to reports it too: false, nothing changes');

-- failures, backoff, max attempts
SELECT is(healthpass.mark_reminder_failed(:a, pg_temp.rid(:a, :a_doc, 7), 'w1', 'timeout'), false,
          'a failure reported by a worker that no longer holds the reminder changes nothing');
SELECT is(healthpass.mark_reminder_failed(:a, pg_temp.rid(:a, :a_doc, 7), 'w2', E'smtp 451\ntry later'), true, 'the holder reports a failure');
SELECT pg_temp.rid(:a, :a_doc, 7) AS r7 \gset
SELECT quote_nullable((SELECT status || ' ' || (next_at - updated_at) || ' ' || last_error FROM healthpass.reminder WHERE reminder_id = :r7)) AS got \gset
SELECT is(:got::text,
          E'scheduled 00:02:00 smtp 451\ntry later', 'it is retried after 1 minute x 2^(attempts - 1): 2 minutes after the second attempt');
SELECT is(healthpass.mark_reminder_failed(:a, pg_temp.rid(:a, :a_doc, 1), 'w2', 'bounced'), true, 'a first attempt failed');
SELECT pg_temp.rid(:a, :a_doc, 1) AS r1 \gset
SELECT quote_nullable((SELECT (next_at - updated_at)::text FROM healthpass.reminder WHERE reminder_id = :r1)) AS got \gset
SELECT is(:got::text,
          '00:01:00', 'is retried after a minute');
SELECT is((SELECT count(*)::int FROM healthpass.claim_due_reminders('w1')), 0, 'not before');
SELECT pg_temp.make_due(pg_temp.rid(:a, :a_doc, 7));
SELECT is((SELECT attempts FROM healthpass.claim_due_reminders('w1')), 3, 'then handed out again');
SELECT is(healthpass.mark_reminder_failed(:a, pg_temp.rid(:a, :a_doc, 7), 'w1', 'timeout'), true, 'and failing again');
SELECT pg_temp.rid(:a, :a_doc, 7) AS r7 \gset
SELECT quote_nullable((SELECT (next_at - updated_at)::text FROM healthpass.reminder WHERE reminder_id = :r7)) AS got \gset
SELECT is(:got::text,
          '00:04:00', 'waits twice as long');
SELECT pg_temp.rid(:a, :a_doc, 7) AS r7 \gset
UPDATE healthpass.reminder SET attempts = 19 WHERE reminder_id = :r7;
SELECT healthpass.configure('reminder_max_attempts', '25');
SELECT pg_temp.make_due(pg_temp.rid(:a, :a_doc, 7));
SELECT is((SELECT attempts FROM healthpass.claim_due_reminders('w1')), 20, 'the twentieth attempt');
SELECT is(healthpass.mark_reminder_failed(:a, pg_temp.rid(:a, :a_doc, 7), 'w1', 'timeout'), true, 'fails');
SELECT pg_temp.rid(:a, :a_doc, 7) AS r7 \gset
SELECT quote_nullable((SELECT (next_at - updated_at)::text FROM healthpass.reminder WHERE reminder_id = :r7)) AS got \gset
SELECT is(:got::text,
          '1 day', 'the wait is at most a day');
SELECT healthpass.configure('reminder_max_attempts', '21');
SELECT pg_temp.make_due(pg_temp.rid(:a, :a_doc, 7));
SELECT is((SELECT attempts FROM healthpass.claim_due_reminders('w1')), 21, 'the last attempt (reminder_max_attempts)');
SELECT is(healthpass.mark_reminder_failed(:a, pg_temp.rid(:a, :a_doc, 7), 'w1', 'mailbox full'), true, 'fails too');
SELECT pg_temp.rid(:a, :a_doc, 7) AS r7 \gset
SELECT quote_nullable((SELECT status || ' ' || coalesce(next_at::text, 'none') || ' ' || last_error
                         FROM healthpass.reminder WHERE reminder_id = :r7)) AS got \gset
SELECT is(:got::text,
          'failed none mailbox full', 'the reminder is given up as failed, with the last error');
SELECT pg_temp.rid(:a, :a_doc, 1) AS r1 \gset
UPDATE healthpass.reminder SET next_at = now() - interval '1 second' WHERE reminder_id = :r1;
SELECT is((SELECT string_agg(reminder_id::text, ',') FROM healthpass.claim_due_reminders('w1')), pg_temp.rid(:a, :a_doc, 1)::text,
          'a failed reminder is not handed out again');
SELECT is(healthpass.mark_reminder_sent(:a, pg_temp.rid(:a, :a_doc, 7), 'w1'), false, 'a late report of a failed one changes nothing');
SELECT is(healthpass.mark_reminder_failed(:a, pg_temp.rid(:a, :a_doc, 30), 'w1', 'x'), false, 'nor a failure of a sent one');
SELECT healthpass.configure('reminder_max_attempts', NULL);
SELECT is(healthpass.mark_reminder_sent(:a, pg_temp.rid(:a, :a_doc, 1), 'w1'), true, 'the retried reminder is sent');

-- the scheduler pg_cron runs
SELECT is(healthpass.reminder_scheduler(), 0::bigint, 'the scheduler counts nothing due');
SELECT pg_temp.make_due(pg_temp.rid(:a, :a_pp, 30)), pg_temp.make_due(pg_temp.rid(:a, :a_pp, 7));
SELECT is(healthpass.reminder_scheduler(), 2::bigint, 'and counts what is due');
UPDATE healthpass.reminder r SET next_at = r.due_at WHERE r.person_id = :a AND r.subject_id = :a_pp AND r.subject = 'document';
CREATE FUNCTION pg_temp.plan(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE l text; p text := '';
BEGIN
    -- the table is small here: ask whether the index serves the query at all
    SET LOCAL enable_seqscan = off;
    SET LOCAL enable_bitmapscan = off;
    FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP p := p || l || E'\n'; END LOOP;
    RETURN p;
END $$;
SELECT matches(pg_temp.plan($$SELECT count(*) FROM healthpass.reminder r WHERE r.status = 'scheduled' AND r.next_at <= now()
                                AND (r.claimed_until IS NULL OR r.claimed_until <= now())$$),
    'Index Scan using reminder_queue', 'the scheduler''s count reads the due part of the queue''s partial index');
-- (on a Citus cluster the claim reads the due reminders of every shard
-- without a lock, then claims each shard's: hp_claim_due_by_shard)
SELECT current_setting('citus.version', true) IS NOT NULL AS on_citus \gset
SELECT matches(pg_temp.plan(CASE WHEN :'on_citus'::boolean
                                 THEN $$SELECT r.person_id, r.reminder_id FROM healthpass.reminder r WHERE r.status = 'scheduled'
                                         AND r.next_at <= now() AND (r.claimed_until IS NULL OR r.claimed_until <= now())
                                         ORDER BY r.next_at LIMIT 100$$
                                 ELSE $$SELECT r.ctid FROM healthpass.reminder r WHERE r.status = 'scheduled'
                                         AND r.next_at <= now() AND (r.claimed_until IS NULL OR r.claimed_until <= now())
                                         ORDER BY r.next_at LIMIT 100 FOR UPDATE SKIP LOCKED$$ END),
    'Index Scan using reminder_queue', 'a claim can walk the queue''s partial index in next_at order');

-- refusals of the delivery functions
SELECT throws_ok(format($$SELECT healthpass.mark_reminder_sent(%s, %s, 'w1')$$, :a, pg_temp.rid(:a, :a_pp, 1)),
    '55000', format('reminder %s was never handed out', pg_temp.rid(:a, :a_pp, 1)), 'a reminder never claimed cannot be reported sent');
SELECT throws_ok(format($$SELECT healthpass.mark_reminder_sent(%s, 999999, 'w1')$$, :a),
    'P0002', format('reminder 999999 of person %s does not exist', :a), 'an unknown reminder is refused');
SELECT throws_ok(format($$SELECT healthpass.mark_reminder_sent(%s, %s, 'w1')$$, :a + 1000, pg_temp.rid(:a, :a_pp, 1)),
    'P0002', format('reminder %s of person %s does not exist', pg_temp.rid(:a, :a_pp, 1), :a + 1000), 'another person''s reminder is unknown');
SELECT throws_ok(format($$SELECT healthpass.mark_reminder_failed(%s, 999999, 'w1', 'x')$$, :a),
    'P0002', format('reminder 999999 of person %s does not exist', :a), 'failures of unknown reminders too');
SELECT throws_ok(format($$SELECT healthpass.mark_reminder_sent(NULL, %s, 'w1')$$, pg_temp.rid(:a, :a_pp, 1)),
    '22004', 'person id is missing', 'a missing person id is 22004');
SELECT throws_ok(format($$SELECT healthpass.mark_reminder_sent(%s, NULL, 'w1')$$, :a),
    '22004', 'reminder id is missing', 'a missing reminder id is 22004');
SELECT throws_ok(format($$SELECT healthpass.mark_reminder_failed(%s, NULL, 'w1', 'x')$$, :a),
    '22004', 'reminder id is missing', 'in a failure report too');
SELECT throws_ok(format($$SELECT healthpass.mark_reminder_sent(%s, %s, NULL)$$, :a, pg_temp.rid(:a, :a_pp, 1)),
    '22004', 'worker is missing', 'a report names its worker');
SELECT throws_ok(format($$SELECT healthpass.mark_reminder_failed(%s, %s, '  ', 'x')$$, :a, pg_temp.rid(:a, :a_pp, 1)),
    '22004', 'worker is missing', 'a blank worker is a missing one');
SELECT throws_ok(format($$SELECT healthpass.mark_reminder_failed(%s, %s, 'w1', NULL)$$, :a, pg_temp.rid(:a, :a_pp, 1)),
    '22004', 'error is missing', 'a failure says why');
SELECT throws_ok(format($$SELECT healthpass.mark_reminder_failed(%s, %s, 'w1', repeat('x', 1001))$$, :a, pg_temp.rid(:a, :a_pp, 1)),
    '54000', NULL, 'an error has at most 1000 characters');
SELECT throws_ok(format($$SELECT healthpass.mark_reminder_failed(%s, %s, 'w1', E'bad\x01')$$, :a, pg_temp.rid(:a, :a_pp, 1)),
    '22023', 'error "bad?" holds a control character', 'no control characters in an error (line breaks are fine)');
SELECT throws_ok($$SELECT * FROM healthpass.claim_due_reminders(NULL)$$, '22004', 'worker is missing', 'a claim names its worker');
SELECT throws_ok($$SELECT * FROM healthpass.claim_due_reminders(E'w\u202e1')$$, '22023', 'worker "w?1" holds a control character',
    'no text-direction characters in a worker''s name');
SELECT throws_ok($$SELECT * FROM healthpass.claim_due_reminders(repeat('w', 101))$$, '54000', NULL, 'a worker''s name has at most 100 characters');
SELECT throws_ok($$SELECT * FROM healthpass.claim_due_reminders('w1', NULL)$$, '22004', 'max count is missing', 'a claim says how many');
SELECT throws_ok($$SELECT * FROM healthpass.claim_due_reminders('w1', 0)$$, '22023', 'max count 0 is out of range', 'at least one');
SELECT throws_ok($$SELECT * FROM healthpass.claim_due_reminders('w1', 10001)$$, '22023', 'max count 10001 is out of range', 'at most 10000');
SELECT throws_ok($$SELECT * FROM healthpass.reminders(NULL)$$, '22004', 'person id is missing', 'reminders() needs a person');
SELECT throws_ok($$SELECT * FROM healthpass.reminders(-1)$$, 'P0002', 'person -1 does not exist', 'an unknown person is refused');

-- corrected dates ------------------------------------------------------------------------
-- (the new instant is read first: Citus refuses a STABLE operator, timestamptz
-- minus interval, over a column in an UPDATE)
SELECT quote_nullable((SELECT expires_at - interval '100 days' FROM healthpass.travel_document WHERE document_id = :a_pp)) AS new_expiry \gset
UPDATE healthpass.travel_document SET valid_until = valid_until - 100, expires_at = :new_expiry::timestamptz
 WHERE document_id = :a_pp;
SELECT is(pg_temp.rem(:a, 'document', :a_pp),
          '30 cancelled (expiry date changed), 30 scheduled, 7 cancelled (expiry date changed), 7 scheduled, '
          '1 cancelled (expiry date changed), 1 scheduled',
          'a corrected expiry date cancels the pending reminders and schedules them anew');
-- (the document is read first: joining reminder to travel_document on the
-- document id, not the person, is a repartition join Citus refuses)
SELECT quote_nullable((SELECT expires_at FROM healthpass.travel_document WHERE document_id = :a_pp)) AS pp_expiry \gset
SELECT quote_nullable((SELECT bool_and(r.due_at = :pp_expiry::timestamptz - make_interval(days => r.offset_days))
                         FROM healthpass.reminder r
                        WHERE r.subject = 'document' AND r.subject_id = :a_pp AND r.status = 'scheduled')) AS got \gset
SELECT ok(:got::boolean, 'on the new dates');

-- a new permit replaces the old one ---------------------------------------------------------
SELECT pg_temp.make_due(pg_temp.rid(:a, :a_mo2, 60, 'endorsement'));
SELECT is((SELECT count(*)::int FROM healthpass.claim_due_reminders('w3')), 1, 'a worker holds a claim on the Macau endorsement''s reminder');
SELECT pg_temp.permit(:a, 'C12345679') AS a_doc2 \gset
SELECT is(pg_temp.rem(:a, 'document', :a_doc),
          '30 sent, 7 failed, 1 sent', 'the replaced permit''s delivered and failed reminders stay as they were');
SELECT is(pg_temp.rem(:a, 'endorsement', :a_mo2), '60 cancelled (endorsement cancelled), 14 cancelled (endorsement cancelled)',
          'its endorsements'' pending reminders are cancelled, the claimed one too');
SELECT quote_nullable((SELECT reminder_id FROM healthpass.reminder WHERE subject = 'endorsement' AND subject_id = :a_mo2 AND offset_days = 60)) AS got \gset
SELECT is(healthpass.mark_reminder_sent(:a, :got::bigint, 'w3'),
          false, 'the worker''s report of a cancelled reminder changes nothing');
SELECT is(pg_temp.rem(:a, 'document', :a_doc2), '30 scheduled, 7 scheduled, 1 scheduled',
          'the new permit''s are scheduled: the electronic permit moved to it');
SELECT quote_nullable((SELECT document_id FROM healthpass.electronic_permit WHERE person_id = :a)) AS got \gset
SELECT is(:got::bigint, :a_doc2::bigint, 'the electronic permit is on the new card');
SELECT pg_temp.permit(:a, 'C12345680') AS a_doc3 \gset
SELECT is(pg_temp.rem(:a, 'document', :a_doc2),
          '30 cancelled (document replaced), 7 cancelled (document replaced), 1 cancelled (document replaced)',
          'replaced before any was due: all cancelled as replaced');

-- unbinding and binding again ---------------------------------------------------------------
SELECT pg_temp.make_due(pg_temp.rid(:a, :a_doc3, 7));
SELECT is((SELECT count(*)::int FROM healthpass.claim_due_reminders('w1')), 1, 'one reminder of the current permit is claimed');
SELECT is(healthpass.mark_reminder_sent(:a, pg_temp.rid(:a, :a_doc3, 7), 'w1'), true, 'and sent');
SELECT is(healthpass.unbind_electronic_permit(:a), true, 'the holder unbinds the electronic permit');
SELECT count(*)::int AS n FROM healthpass.reminder WHERE person_id = :a AND status = 'scheduled' \gset
SELECT is(:n::integer, 0,
          'unbinding leaves no reminder pending');
SELECT is(pg_temp.rem(:a, 'document', :a_doc3),
          '30 cancelled (electronic permit unbound), 7 sent, 1 cancelled (electronic permit unbound)',
          'what was pending is cancelled as unbound and kept; what was sent stays sent');
SELECT healthpass.record_endorsement(:a, :a_doc3, 'HK', 'G', 'multiple', :'today'::date - 1, :'today'::date + 300, 7) AS a_hk3 \gset
SELECT is(pg_temp.rem(:a, 'endorsement', :a_hk3), '', 'without the electronic permit nothing is scheduled');
SELECT is(pg_temp.bind(:a, 'C12345680'), 'bound', 'binding again');
SELECT is(pg_temp.rem(:a, 'document', :a_doc3),
          '30 cancelled (electronic permit unbound), 30 scheduled, 7 sent, 1 cancelled (electronic permit unbound), 1 scheduled',
          'schedules anew what is not sent yet; the history stays');
SELECT is(pg_temp.rem(:a, 'endorsement', :a_hk3), '30 scheduled, 7 scheduled, 1 scheduled', 'the endorsement recorded meanwhile too');

-- used up by the issuing system's count, and a lost permit -------------------------------
SELECT pg_temp.traveller('440104199003071247', '李红') AS b \gset
SELECT pg_temp.permit(:b, 'C22222222') AS b_doc \gset
SELECT healthpass.record_endorsement(:b, :b_doc, 'HK', 'L', '1', :'today'::date - 1, :'today'::date + 100, 7) AS b_hk \gset
SELECT is(pg_temp.bind(:b, 'C22222222'), 'bound', 'a second traveller binds');
SELECT is(healthpass.confirm_endorsement_entries(:b, :b_hk, 1), 1, 'the issuing system confirms the only entry used');
SELECT is(pg_temp.rem(:b, 'endorsement', :b_hk), 'used_up scheduled, 30 scheduled, 7 scheduled, 1 scheduled',
          'the used-up reminder follows the confirmed count too');
SELECT healthpass.record_document_lost(:b, :b_doc);
SELECT is(pg_temp.rem(:b, 'document', :b_doc),
          '30 cancelled (document reported lost), 7 cancelled (document reported lost), 1 cancelled (document reported lost)',
          'a lost permit''s reminders are cancelled');
SELECT is(pg_temp.rem(:b, 'endorsement', :b_hk),
          'used_up cancelled (endorsement cancelled), 30 cancelled (endorsement cancelled), 7 cancelled (endorsement cancelled), 1 cancelled (endorsement cancelled)',
          'and its endorsements''');
SELECT is((SELECT outcome FROM healthpass.permit_bindings(:b) ORDER BY attempted_at DESC LIMIT 1), 'unbound', 'the electronic permit is unbound');

-- a new permit from another province: the electronic permit is unbound
SELECT pg_temp.traveller('440106198506125313', '周建国') AS c \gset
SELECT pg_temp.permit(:c, 'C33333333') AS c_doc \gset
SELECT is(pg_temp.bind(:c, 'C33333333'), 'bound', 'a third traveller binds');
SELECT pg_temp.permit(:c, 'C33333334', province => '11') AS c_doc2 \gset
SELECT is(pg_temp.rem(:c, 'document', :c_doc2), '30 cancelled (electronic permit unbound), 7 cancelled (electronic permit unbound), 1 cancelled (electronic permit unbound)',
          'a new permit not from Guangdong unbinds the electronic permit: no reminders for it');

-- who may call what ---------------------------------------------------------------------------
SELECT ok(has_function_privilege('healthpass_messenger', 'healthpass.claim_due_reminders(text, integer)', 'EXECUTE')
          AND has_function_privilege('healthpass_messenger', 'healthpass.mark_reminder_sent(bigint, bigint, text)', 'EXECUTE')
          AND has_function_privilege('healthpass_messenger', 'healthpass.mark_reminder_failed(bigint, bigint, text, text)', 'EXECUTE')
          AND has_function_privilege('healthpass_messenger', 'healthpass.reminder_scheduler()', 'EXECUTE'),
          'delivery workers claim, report and run the scheduler');
SELECT ok(has_function_privilege('healthpass_app', 'healthpass.reminders(bigint)', 'EXECUTE')
          AND NOT has_function_privilege('healthpass_app', 'healthpass.claim_due_reminders(text, integer)', 'EXECUTE')
          AND NOT has_function_privilege('healthpass_messenger', 'healthpass.reminders(bigint)', 'EXECUTE'),
          'the app lists a person''s reminders and claims none');
SELECT ok(NOT has_table_privilege('healthpass_messenger', 'healthpass.reminder', 'SELECT')
          AND NOT has_table_privilege('healthpass_app', 'healthpass.reminder', 'SELECT'), 'the table is granted to nobody');
SET ROLE healthpass_messenger;
SELECT is((SELECT count(*)::int FROM healthpass.claim_due_reminders('w9')), 0, 'a messenger claims through the function');
RESET ROLE;

SELECT * FROM finish();
