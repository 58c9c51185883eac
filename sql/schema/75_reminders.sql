-- 75_reminders.sql: reminders before a travel document or an endorsement
-- expires, and when an endorsement's entries are used up (seed 001: the
-- reminder service that comes with the electronic permit in the card
-- package).
--
-- Rows are made and cancelled by row triggers on travel_document,
-- endorsement and electronic_permit (sql/api/75_reminders.sql); delivery
-- workers take due rows from the queue with claim_due_reminders() and
-- report each one sent or failed. A reminder is of one person: person_id
-- comes first in the primary key and in the unique key, so the table can
-- be distributed by person as every personal table is.
-- (created once: later changes go to sql/updates/)

-- One reminder of one person:
--   subject, subject_id   'document' (a travel_document's document_id) or
--                         'endorsement' (an endorsement's endorsement_id)
--   reason                document_expiry, endorsement_expiry, or
--                         endorsement_used_up (every entry used)
--   offset_days           the days before expiry it is due (NULL for used_up)
--   status                scheduled -> sent; scheduled -> failed after
--                         reminder_max_attempts; scheduled -> cancelled when
--                         it no longer applies. A worker's claim is not a
--                         status: claimed_by and claimed_until (the lease)
--                         say who holds it until when; a claim whose lease
--                         ran out is handed out again
--   next_at               when it is due: due_at, or a retry time after a
--                         failure; NULL once final (sent, failed, cancelled)
-- Claiming writes only columns no index holds (claimed_by, claimed_until,
-- attempts, updated_at), so with the free space the fill factor leaves a
-- claim is a heap-only update: no index entry is written.
--   doc_kind ... expires_on  what the message says, copied from the subject
--                         when the reminder is made (a document's kind and
--                         number never change; a changed expiry date makes
--                         new reminders), so that handing out a reminder
--                         reads this table alone: the document kind, its
--                         number masked, an endorsement's region and type,
--                         and the last valid day
-- Cancelled rows are kept as history; at most one row of a subject, reason
-- and offset is anything but cancelled, which makes scheduling idempotent
-- (INSERT ... ON CONFLICT DO NOTHING) and sends each reminder once.
CREATE TABLE reminder (
    person_id        bigint NOT NULL,
    reminder_id      bigint GENERATED ALWAYS AS IDENTITY,
    subject          text NOT NULL CHECK (subject IN ('document', 'endorsement')),
    subject_id       bigint NOT NULL,
    reason           text NOT NULL CHECK (reason IN ('document_expiry', 'endorsement_expiry', 'endorsement_used_up')),
    offset_days      integer CHECK (offset_days BETWEEN 1 AND 366),
    due_at           timestamptz NOT NULL,
    doc_kind         text NOT NULL,
    doc_number_masked text NOT NULL,
    region           text CHECK (region IN ('HK', 'MO')),
    endorsement_type text,
    expires_on       date NOT NULL,
    status           text NOT NULL DEFAULT 'scheduled'
                     CHECK (status IN ('scheduled', 'sent', 'failed', 'cancelled')),
    next_at          timestamptz,
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    claimed_by       text,
    claimed_until    timestamptz,
    last_error       text,
    sent_at          timestamptz,
    cancelled_reason text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, reminder_id),
    CHECK ((subject = 'document') = (reason = 'document_expiry')),
    CHECK ((reason = 'endorsement_used_up') = (offset_days IS NULL)),
    CHECK ((subject = 'endorsement') = (region IS NOT NULL AND endorsement_type IS NOT NULL)),
    CHECK ((status = 'scheduled') = (next_at IS NOT NULL)),
    CHECK (claimed_until IS NULL OR claimed_by IS NOT NULL),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    CHECK ((status = 'cancelled') = (cancelled_reason IS NOT NULL))
) WITH (fillfactor = 80);
COMMENT ON TABLE healthpass.reminder IS
    'reminders before a document or an endorsement expires and when an endorsement is used up: due time, delivery status, attempts';
-- scheduling is idempotent: one live (not cancelled) reminder of a subject,
-- reason and offset; the used-up reminder (offset NULL) once per endorsement
CREATE UNIQUE INDEX reminder_once ON reminder (person_id, subject, subject_id, reason, offset_days) NULLS NOT DISTINCT
    WHERE status <> 'cancelled';
-- the delivery queue: what is handed out next, and nothing else
CREATE INDEX reminder_queue ON reminder (next_at) WHERE status = 'scheduled';

SELECT pg_catalog.pg_extension_config_dump('reminder', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.reminder', 'reminder_id'), '');
