#!/usr/bin/env bash
# NOTIFY healthpass_reminders (TAP): one psql session LISTENs on the channel
# and does what makes reminders, and the notifications psql prints between
# markers are counted. A notification is sent when a reminder made is due
# already (the used-up one), and by reminder_scheduler() when anything is
# due; never for reminders due later. Its payload is empty, so a
# transaction that makes several due reminders notifies once.
# (A notification to the session's own backend reaches psql by the next
# command at the latest: each step ends with an empty query to flush it.)
set -u
cd "$(dirname "$0")/../.."
db=hp_reminders_notify
n=0
check() { # description expected actual
  n=$((n + 1))
  if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   expected: $2"; echo "#   got:      $3"; fi
}
dropdb --if-exists "$db" >/dev/null 2>&1; createdb "$db"
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" 2>&1 <<'SQL'
CREATE EXTENSION healthpass;
CREATE FUNCTION pg_temp.traveller(id text, nm text, number text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE pid bigint := healthpass.register_person('cn_resident_id', id, nm); doc bigint;
BEGIN
    PERFORM healthpass.record_realname_result(pid, 1, 'approved');
    PERFORM healthpass.record_face_check(pid, 'CTID', 'passed', '\xffd8ffe000104a46494600');
    doc := healthpass.record_travel_document(pid, 'hk_macau_permit', number, '广东省公安厅出入境管理局',
                                             current_date - 400, current_date + 3000, '44');
    PERFORM healthpass.record_endorsement(pid, doc, 'HK', 'G', '1', current_date - 1, current_date + 100, 7);
    PERFORM healthpass.record_endorsement(pid, doc, 'MO', 'G', '1', current_date - 1, current_date + 100, 7);
    RETURN pid;
END $$;
SELECT pg_temp.traveller('440104199003071239', '王小明', 'C75100001') AS a \gset
SELECT pg_temp.traveller('440104199003071247', '李红', 'C75100002') AS b \gset
LISTEN healthpass_reminders;
\echo == binding
SELECT outcome FROM healthpass.bind_electronic_permit(:a, 'C75100001', 'read_digits');
SELECT outcome FROM healthpass.bind_electronic_permit(:b, 'C75100002', 'read_digits');
SELECT count(*) AS scheduled FROM healthpass.reminder;
;
\echo == last entry
SELECT passed FROM healthpass.cross_border('luohu', 'exit', 'manual', 'hk_macau_permit', 'C75100001');
;
\echo == claimed
SELECT count(*) AS claimed FROM healthpass.claim_due_reminders('w1');
SELECT healthpass.reminder_scheduler() AS due;
;
\echo == due again
UPDATE healthpass.reminder SET claimed_until = now() - interval '1 minute' WHERE claimed_until IS NOT NULL;
SELECT healthpass.reminder_scheduler() AS due;
;
\echo == two in one transaction
BEGIN;
SELECT healthpass.confirm_endorsement_entries(:a, e.endorsement_id, 1) FROM healthpass.endorsement e
 WHERE e.person_id = :a AND e.region = 'MO';
SELECT healthpass.confirm_endorsement_entries(:b, e.endorsement_id, 1) FROM healthpass.endorsement e
 WHERE e.person_id = :b AND e.region = 'HK';
COMMIT;
SELECT count(*) AS due FROM healthpass.reminder WHERE due_at <= now() AND status = 'scheduled' AND attempts = 0;
;
\echo == end
SQL
)
rc=$?
check "the session runs" "0" "$rc"
# the lines of a step, markers excluded
step() { echo "$out" | awk -v s="== $1" '$0 == s { on = 1; next } /^== / { on = 0 } on'; }
notes() { step "$1" | grep -c '^Asynchronous notification "healthpass_reminders"' ; }
check "binding schedules 18 reminders, all due later: no notification" "0 18" \
      "$(notes binding) $(step binding | grep -E '^[0-9]+$')"
check "the last entry used makes a reminder due now: one notification" "1" "$(notes 'last entry')"
check "nothing due: the scheduler counts 0 and does not notify" "0 0" "$(notes claimed) $(step claimed | sed -n 2p)"
check "a lease run out: the scheduler counts it and notifies" "1 1" "$(notes 'due again') $(step 'due again' | grep -E '^[0-9]+$')"
check "two due reminders made in one transaction: one notification" "1 2" \
      "$(notes 'two in one transaction') $(step 'two in one transaction' | grep -E '^[0-9]+$' | tail -1)"
check "the payload is empty" "0" "$(echo "$out" | grep -c 'with payload')"
# the session's output on failure, or with HP_SHOW=1
if [ "$rc" -ne 0 ] || [ -n "${HP_SHOW:-}" ]; then echo "$out" | sed 's/^/# /'; fi
echo "1..$n"
dropdb "$db"
