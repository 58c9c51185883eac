#!/usr/bin/env bash
# Reminder queue benchmark (issue 12 item 5): a delivery worker claims 1,000
# due reminders with claim_due_reminders() from a table holding the
# reminders of N documents and endorsements, N = HP_BENCH_SUBJECTS
# (default 10,000,000: "big") and a tenth of that ("small"), in one run.
#
# Each database is filled with INSERT ... SELECT straight into the tables
# (no API, no triggers: session_replication_role = replica), the reminder
# table's secondary indexes dropped during the load and built again from
# their own definitions:
#   people       N / 2, each with a Guangdong permit (travel_document) and a
#                Hong Kong endorsement on it: N subjects
#   reminders    three a subject (30, 7 and 1 days before expiry): 3 N rows;
#                expiry dates spread from 3 years ago to 5 years ahead, so
#                about a third are history (sent, out of the queue) and the
#                rest scheduled, next_at = due_at
#   due          about HP_BENCH_DUE scheduled reminders (default 30,000) of
#                people scattered over the table, due in the last hour
# Each run opens a session (a worker connecting), claims 10 to warm it,
# then claims 1,000 and reports the time of that claim inside the server
# (the function call, its commit excluded). Runs alternate big and small,
# HP_BENCH_ROUNDS each (default 7); the medians and their ratio are printed
# (targets: big <= 20 ms, big/small <= 1.3). For scale, each round also
# times the floor: as many random reminder rows of each table updated by
# tuple id, no queue (a claim writes only columns no index holds, so with
# the fill factor's free space each claimed row is a heap-only update; the
# full-page images the first change of a page after a checkpoint writes to
# the WAL are most of what is left). After each measured claim the worker's
# reports are applied, untimed (the claimed reminders become sent). Then reminder_scheduler()'s count of what is due,
# and the plans of the claim's queue walk and of that count in big
# (test/bench/build/75_reminders_plan.txt).
# Run by `make bench` (test/bench/run-bench.sh) in a throwaway cluster; not
# by make test. HP_BENCH_SUBJECTS=1000000 makes a quicker run (1M and 100k).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIG=${HP_BENCH_SUBJECTS:-10000000}
SMALL=${HP_BENCH_SMALL_SUBJECTS:-$((BIG / 10))}
DUE=${HP_BENCH_DUE:-30000}
ROUNDS=${HP_BENCH_ROUNDS:-7}
CLAIM=1000

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

load() { # db subjects
  local db=$1 people=$(($2 / 2))
  dropdb --if-exists "$db"; createdb "$db"
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v people="$people" -v due="$DUE" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION healthpass;
-- the queue's and the unique key's definitions, built again after the load
SELECT string_agg(pg_get_indexdef(i.indexrelid), E';\n') || ';' AS indexes
  FROM pg_index i WHERE i.indrelid = 'healthpass.reminder'::regclass AND NOT i.indisprimary \gset
DROP INDEX healthpass.reminder_once, healthpass.reminder_queue;
SET session_replication_role = replica;     -- bulk load: no triggers, no foreign-key checks
-- person g: permit g (expiring between 3 years ago and 5 years ahead) and
-- Hong Kong endorsement g on it
CREATE UNLOGGED TABLE public.bench_subject AS
SELECT g AS person_id,
       current_date - 1095 + ((g * 7919) % 2920)::integer AS doc_until,
       current_date - 1095 + ((g * 104729) % 2920)::integer AS end_until
  FROM generate_series(1::bigint, :people) g;
INSERT INTO healthpass.travel_document (person_id, document_id, doc_kind, doc_number, issuing_authority, issuing_province,
                                        issued_on, valid_until, expires_at)
OVERRIDING SYSTEM VALUE
SELECT s.person_id, s.person_id, 'hk_macau_permit', 'C' || lpad(s.person_id::text, 8, '0'), '广东省公安厅出入境管理局', '44',
       s.doc_until - 1825, s.doc_until, (s.doc_until + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
  FROM public.bench_subject s;
INSERT INTO healthpass.endorsement (person_id, endorsement_id, document_id, region, endorsement_type, entries_allowed,
                                    valid_from, valid_until, starts_at, expires_at, days_per_stay)
OVERRIDING SYSTEM VALUE
SELECT s.person_id, s.person_id, s.person_id, 'HK', 'G', NULL, s.end_until - 365, s.end_until,
       (s.end_until - 365)::timestamp AT TIME ZONE 'Asia/Shanghai', (s.end_until + 1)::timestamp AT TIME ZONE 'Asia/Shanghai', 7
  FROM public.bench_subject s;
-- six reminders a person, in primary-key order: those already due are
-- history (sent), the others scheduled; of about HP_BENCH_DUE people
-- (picked by a hash of their id, so scattered over the table) the
-- endorsement's scheduled 30-day reminder is made due in the last hour
INSERT INTO healthpass.reminder (person_id, reminder_id, subject, subject_id, reason, offset_days, due_at,
                                 doc_kind, doc_number_masked, region, endorsement_type, expires_on,
                                 status, next_at, attempts, claimed_by, sent_at, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT r.person_id, (r.person_id - 1) * 6 + r.k, r.subject, r.person_id, r.reason, r.o, r.due,
       'hk_macau_permit', 'C' || left(lpad(r.person_id::text, 8, '0'), 1) || '*****' || right(r.person_id::text, 2),
       CASE WHEN r.subject = 'endorsement' THEN 'HK' END, CASE WHEN r.subject = 'endorsement' THEN 'G' END, r.until,
       CASE WHEN r.pending THEN 'scheduled' ELSE 'sent' END,
       CASE WHEN r.pending THEN r.due END,
       CASE WHEN r.pending THEN 0 ELSE 1 END,
       CASE WHEN r.pending THEN NULL ELSE 'w0' END,
       CASE WHEN r.pending THEN NULL ELSE r.due END,
       r.due - interval '400 days', least(r.due, now())
  FROM (SELECT d.person_id, d.k, d.subject, d.reason, d.o, d.until,
               CASE WHEN d.made_due THEN now() - ((d.person_id * 40503) % 3600) * interval '1 second' ELSE d.due END AS due,
               d.made_due OR d.due > now() AS pending
          FROM (SELECT s.person_id, x.k, x.subject, x.reason, x.o, u.until,
                       (u.until + 1 - x.o)::timestamp AT TIME ZONE 'Asia/Shanghai' AS due,
                       x.k = 4 AND (s.person_id * 7877) % :people < :due * 164 / 100
                       AND (u.until + 1 - x.o)::timestamp AT TIME ZONE 'Asia/Shanghai' > now() AS made_due
                  FROM public.bench_subject s
                 CROSS JOIN (VALUES (1, 'document', 'document_expiry', 30), (2, 'document', 'document_expiry', 7),
                                    (3, 'document', 'document_expiry', 1), (4, 'endorsement', 'endorsement_expiry', 30),
                                    (5, 'endorsement', 'endorsement_expiry', 7), (6, 'endorsement', 'endorsement_expiry', 1))
                            AS x (k, subject, reason, o)
                 CROSS JOIN LATERAL (SELECT CASE x.subject WHEN 'document' THEN s.doc_until ELSE s.end_until END AS until) u
               ) d
         ORDER BY d.person_id, d.k) r;
RESET session_replication_role;
SELECT setval(pg_get_serial_sequence('healthpass.reminder', 'reminder_id'), max(reminder_id)) FROM healthpass.reminder \g /dev/null
:indexes
DROP TABLE public.bench_subject;
VACUUM (ANALYZE) healthpass.reminder;
VACUUM (ANALYZE) healthpass.travel_document;
VACUUM (ANALYZE) healthpass.endorsement;
CHECKPOINT;
-- one claim, timed inside the server
CREATE FUNCTION public.bench_claim(n integer, OUT ms float8, OUT claimed bigint) LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    SELECT count(*) INTO claimed FROM healthpass.claim_due_reminders('bench-worker', n);
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
-- what the worker then reports (untimed): the claimed reminders sent, as
-- mark_reminder_sent leaves them, so the next run's queue starts as a
-- worker loop leaves it
CREATE FUNCTION public.bench_sent() RETURNS bigint LANGUAGE sql AS $$
    WITH s AS (UPDATE healthpass.reminder SET status = 'sent', sent_at = now(), next_at = NULL, claimed_until = NULL
                WHERE status = 'scheduled' AND claimed_until > now() RETURNING 1)
    SELECT count(*) FROM s
$$;
-- the floor: the same number of reminder rows, of random people, updated
-- by their tuple ids without the queue (what 1,000 row versions with the
-- table's three indexes cost here)
CREATE FUNCTION public.bench_floor(n integer, people bigint, OUT ms float8, OUT updated bigint) LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; tids tid[];
BEGIN
    SELECT array_agg(r.ctid) INTO tids
      FROM (SELECT DISTINCT 1 + floor(random() * people)::bigint AS p FROM generate_series(1, n * 2) LIMIT n) x
      JOIN healthpass.reminder r ON r.person_id = x.p AND r.reminder_id = (x.p - 1) * 6 + 2;
    t0 := clock_timestamp();
    UPDATE healthpass.reminder r SET updated_at = now() WHERE r.ctid = ANY (tids);
    GET DIAGNOSTICS updated = ROW_COUNT;
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
CREATE FUNCTION public.bench_scheduler(OUT ms float8, OUT due bigint) LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    due := healthpass.reminder_scheduler();
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
SQL
}

for spec in "hp_bench_reminders_big $BIG" "hp_bench_reminders_small $SMALL"; do
  set -- $spec
  t0=$(now); load "$1" "$2"; t1=$(now)
  psql -X -Atq -d "$1" -c "SELECT format('loaded %s: %s subjects, %s reminders (%s in the queue, %s due) in %s s; reminder table %s MB + indexes %s MB',
      current_database(), $2, count(*), count(*) FILTER (WHERE status = 'scheduled'),
      count(*) FILTER (WHERE status = 'scheduled' AND next_at <= now()), round($(secs "$t0" "$t1")),
      pg_table_size('healthpass.reminder') / 1048576, pg_indexes_size('healthpass.reminder') / 1048576)
    FROM healthpass.reminder"
done

# one worker session: a warm-up claim of 10, then the measured claim of 1,000
claim() { psql -X -Atq -F ' ' -d "$1" -c "SELECT * FROM public.bench_claim(10)" -c "SELECT ms, claimed FROM public.bench_claim($CLAIM)" \
                -c "SELECT public.bench_sent()" | tail -2 | head -1; }
floor_() { psql -X -Atq -F ' ' -d "$1" -c "SELECT ms, updated FROM public.bench_floor($CLAIM, $2 / 2)"; }
echo "# $ROUNDS rounds, alternating; each run a new session claiming $CLAIM"
big=() small=() fbig=() fsmall=()
for r in $(seq "$ROUNDS"); do
  read -r t n < <(claim hp_bench_reminders_big); big+=("$t")
  [ "$n" = "$CLAIM" ] || { echo "big: claimed $n, not $CLAIM" >&2; exit 1; }
  read -r t n < <(claim hp_bench_reminders_small); small+=("$t")
  [ "$n" = "$CLAIM" ] || { echo "small: claimed $n, not $CLAIM" >&2; exit 1; }
  read -r t n < <(floor_ hp_bench_reminders_big "$BIG"); fbig+=("$t")
  read -r t n < <(floor_ hp_bench_reminders_small "$SMALL"); fsmall+=("$t")
done
mb=$(median "${big[@]}"); ms=$(median "${small[@]}")
echo "# big runs (ms):   ${big[*]}"
echo "# small runs (ms): ${small[*]}"
printf 'claim %s due reminders: %s subjects %8.2f ms (target 20), %s subjects %8.2f ms, ratio %.2f (target 1.3)\n' \
  "$CLAIM" "$BIG" "$mb" "$SMALL" "$ms" "$(echo "$mb / $ms" | bc -l)"
printf 'floor, %s random reminder rows given a new version by tuple id (no queue): %s subjects %8.2f ms, %s subjects %8.2f ms\n' \
  "$CLAIM" "$BIG" "$(median "${fbig[@]}")" "$SMALL" "$(median "${fsmall[@]}")"
for db in hp_bench_reminders_big hp_bench_reminders_small; do
  psql -X -Atq -d "$db" -c "SELECT * FROM public.bench_scheduler()" >/dev/null
  psql -X -Atq -F ' ' -d "$db" -c "SELECT * FROM public.bench_scheduler()" | {
    read -r t n; printf 'reminder_scheduler(), %s: %s due counted in %.2f ms\n' "$db" "$n" "$t"; }
done
mkdir -p test/bench/build
# the claim's two statements as claim_due_reminders runs them (rolled back;
# the list of tuple ids cut in the file), then the scheduler's count
psql -X -Atq -d hp_bench_reminders_big <<SQL | sed -E "s/'\\{[^}]*\\}'::tid/'{$CLAIM tuple ids}'::tid/" >test/bench/build/75_reminders_plan.txt
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, WAL, COSTS OFF)
SELECT r.ctid FROM healthpass.reminder r
 WHERE r.status = 'scheduled' AND r.next_at <= now() AND (r.claimed_until IS NULL OR r.claimed_until <= now())
 ORDER BY r.next_at LIMIT $CLAIM FOR UPDATE SKIP LOCKED;
SELECT array_agg(q.ctid) AS tids
  FROM (SELECT r.ctid FROM healthpass.reminder r
         WHERE r.status = 'scheduled' AND r.next_at <= now() AND (r.claimed_until IS NULL OR r.claimed_until <= now())
         ORDER BY r.next_at LIMIT $CLAIM FOR UPDATE SKIP LOCKED) q \gset
EXPLAIN (ANALYZE, BUFFERS, WAL, COSTS OFF)
UPDATE healthpass.reminder r
   SET claimed_by = 'bench-worker', claimed_until = now() + interval '5 minutes',
       attempts = r.attempts + 1, updated_at = now()
 WHERE r.ctid = ANY (:'tids'::tid[]) AND r.status = 'scheduled' AND r.next_at <= now()
   AND (r.claimed_until IS NULL OR r.claimed_until <= now());
ROLLBACK;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT count(*) FROM healthpass.reminder r
 WHERE r.status = 'scheduled' AND r.next_at <= now() AND (r.claimed_until IS NULL OR r.claimed_until <= now());
SQL
echo "plans in big: the claim's queue walk, its update, the scheduler's count (test/bench/build/75_reminders_plan.txt):"
sed 's/^/  /' test/bench/build/75_reminders_plan.txt
[ "${HP_BENCH_KEEP:-}" = 1 ] || { dropdb hp_bench_reminders_big; dropdb hp_bench_reminders_small; }
