#!/usr/bin/env bash
# make bench-citus: one node against a 3-node Citus cluster, in one run
# (issue 14 item 6; doc/citus.md "Measured on this machine").
#
# Starts a coordinator and two workers on loopback (test/citus/cluster.sh,
# Citus built once by test/citus/build-citus.sh) and makes two databases on
# the coordinator's server, loaded with the same rows from one seed:
#   one    healthpass on the coordinator alone (no citus extension in it)
#   three  the same, then distribute(): people on the two workers, scans by
#          venue, traces by trace id
# HP_BENCH_PEOPLE people (default 100,000) with declarations, results and
# marks and a first colour; HP_BENCH_VENUES venues (2,000) registered through
# the API, the first 64 with a staff member; HP_BENCH_SCANS scans (1,000,000)
# over the last two days; health codes of HP_BENCH_CODES people (2,000).
# Then ROUNDS rounds, each measuring one and three alternately:
#   scans      staff_scan() of a random person's health code at one of the 64
#              venues, pgbench, 2 clients, HP_BENCH_SECONDS each: tps
#   trace      trace_contacts() of HP_BENCH_CASES people over the two days, one
#              warm session: median ms
#   recolour   a rule change that flips about half the people (added, then
#              retired in the next round) and the job run by 2 sessions:
#              seconds for everyone
# and prints the medians and the ratio three/one of each. Both databases
# are on this one machine: the cluster's three servers share its 2 cores,
# so the ratio shows what distribution costs here (network hops on
# loopback, two-phase commit, the coordinator's planning), not what more
# machines add (doc/citus.md says what a 2-core machine can and cannot show).
set -euo pipefail
cd "$(dirname "$0")/../../.."
PGVER=${PGVER:-15}
export PATH="/usr/lib/postgresql/$PGVER/bin:$PATH"
PEOPLE=${HP_BENCH_PEOPLE:-100000}
VENUES=${HP_BENCH_VENUES:-2000}
SCANS=${HP_BENCH_SCANS:-1000000}
CODES=${HP_BENCH_CODES:-2000}
CASES=${HP_BENCH_CASES:-20}
ROUNDS=${HP_BENCH_ROUNDS:-3}
SECS=${HP_BENCH_SECONDS:-10}
STAFFED=64

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { printf '%.2f' "$(echo "scale=4; $2 / $1" | bc)"; }

nice -n 10 test/citus/build-citus.sh
dir=$(mktemp -d /tmp/healthpass-bench-citus.XXXXXX)
w=$(mktemp -d)
cleanup() { test/citus/cluster.sh stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir" "$w"; }
trap cleanup EXIT
test/citus/cluster.sh start "$dir" >"$w/cluster.log" 2>&1 || { cat "$w/cluster.log"; exit 1; }
read -r PORT _ _ < "$dir/ports"
export PGHOST=$dir PGPORT=$PORT PGUSER=postgres PGOPTIONS='-c client_min_messages=warning'
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
echo "cluster: $(tail -n1 "$w/cluster.log"); $(nproc) cores"

createdb one
test/citus/newdb.sh "$dir" three
for db in one three; do
  t0=$(now)
  q -d "$db" -v people="$PEOPLE" -v venues="$VENUES" -v scans="$SCANS" -v codes="$CODES" -v staffed=$STAFFED <<'SQL'
CREATE EXTENSION healthpass;
SELECT setseed(0.42) \gset
SELECT healthpass.configure('code_valid_for', '1 day') \gset
SET session_replication_role = replica;     -- bulk load: no per-row re-colouring
INSERT INTO healthpass.person (doc_kind, doc_number, name, birth_date, created_at, updated_at)
SELECT 'passport', 'P' || lpad(g::text, 8, '0'), 'Person ' || g, date '1950-01-01' + (g % 20000),
       now() - interval '3 days', now() - interval '3 days'
  FROM generate_series(1, :people) g;
INSERT INTO healthpass.document_index (doc_kind, doc_number, person_id)
SELECT 'passport', 'P' || lpad(g::text, 8, '0'), g FROM generate_series(1, :people) g;
INSERT INTO healthpass.health_declaration (person_id, declared_at, valid_until, fever_today, contact_14d,
                                          travel_places, destination_city, temperature)
SELECT g, now() - (g % 20) * interval '1 hour', now() - (g % 20) * interval '1 hour' + interval '1 day',
       g % 97 = 0, g % 89 = 0,
       CASE WHEN g % 3 = 0 THEN ARRAY['广东省深圳市南山区', '广东省佛山市'] ELSE '{}' END, '佛山市',
       CASE WHEN g % 2 = 0 THEN 36.0 + (g % 15) / 10.0 END
  FROM generate_series(1, :people) g WHERE g % 10 <> 0;
INSERT INTO healthpass.test_result (person_id, institution, sample_ref, sampled_at, result, reported_at, recorded_at)
SELECT g, 'Lab ' || (g % 7), 'S' || g, now() - (g % 300) * interval '1 hour',
       CASE WHEN g % 501 = 0 THEN 'positive' WHEN g % 53 = 0 THEN 'pending' ELSE 'negative' END,
       CASE WHEN g % 53 = 0 AND g % 501 <> 0 THEN NULL
            ELSE least(now(), now() - (g % 300) * interval '1 hour' + interval '6 hours') END,
       least(now(), now() - (g % 300) * interval '1 hour' + interval '6 hours')
  FROM generate_series(1, :people) g WHERE g % 5 <> 0;
RESET session_replication_role;
SELECT healthpass.recolour_start() \gset
CALL healthpass.recolour_run();
-- venues through the API: person 1 manages them, person 2 is staff of the first 64
SELECT count(healthpass.register_venue(1, 'uscc', '91350100M000100Y43', '场所 ' || n, '太平镇', '人民路 ' || n || ' 号',
                                       '0537-1234567', '\xffd8ffe000104a46494600'))
  FROM generate_series(1, :venues) n \gset
CREATE TABLE public.bench_venue AS
SELECT row_number() OVER (ORDER BY venue_id) AS n, venue_id FROM healthpass.venue;
SELECT count(healthpass.add_venue_staff(1, v.venue_id, 'passport', 'P00000002', 'Person 2'))
  FROM public.bench_venue v WHERE v.n <= :staffed \gset
-- scans over the last two days, straight into the history
SELECT count(healthpass_internal.hp_scan_partition(d::date))
  FROM generate_series(current_date - 2, current_date, interval '1 day') d \gset
SELECT setseed(0.42) \gset
INSERT INTO healthpass.scan (scanned_at, venue_id, person_id, method, colour, decision)
SELECT now() - random() * interval '47 hours', (SELECT min(venue_id) FROM healthpass.venue) + floor(random() * :venues)::bigint,
       1 + floor(random() * :people)::bigint, 's', 'green', 'a'
  FROM generate_series(1, :scans)
ON CONFLICT DO NOTHING;
-- the people whose codes are scanned, and the cases traced
CREATE TABLE public.bench_code (i integer PRIMARY KEY, token text);
INSERT INTO public.bench_code
SELECT i, (SELECT token FROM healthpass.health_code(100 + i)) FROM generate_series(1, :codes) i;
CREATE TABLE public.bench_case AS SELECT i, 1000 + i * 37 AS person_id FROM generate_series(1, 1000) i;
VACUUM ANALYZE;
SQL
  echo "$db: loaded $PEOPLE people, $VENUES venues, $SCANS scans, $CODES codes in $(secs "$t0" "$(now)") s"
done
t0=$(now)
q -d three -c 'SELECT count(*) FROM healthpass.distribute()' >/dev/null
echo "three: distribute() of the loaded database: $(secs "$t0" "$(now)") s"
q -d three -c 'VACUUM ANALYZE' >/dev/null
for db in one three; do
  q -d "$db" <<'SQL'
CREATE FUNCTION public.bench_trace(pid bigint, OUT ms float8, OUT people bigint) LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    SELECT count(*) INTO people FROM healthpass.trace_contacts(pid, now() - interval '2 days', now());
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
SQL
done
check_same() { # the same answer from both databases
  local a b
  a=$(q -d one -c "$1"); b=$(q -d three -c "$1")
  [ "$a" = "$b" ] || { echo "one and three differ on: $1"; echo "  one:   $a"; echo "  three: $b"; exit 1; }
}
check_same "SELECT colour || ' ' || count(*) FROM healthpass.colour_current GROUP BY colour ORDER BY colour"
check_same "SELECT count(*) FROM healthpass.scan"

cat > "$w/scan.sql" <<S
\set i random(1, $CODES)
\set v random(1, $STAFFED)
SELECT decision FROM healthpass.staff_scan(2, (SELECT venue_id FROM public.bench_venue WHERE n = :v),
                                           (SELECT token FROM public.bench_code WHERE i = :i));
S
rule=0
S1=() S3=() T1=() T3=() R1=() R3=() people1=0 people3=0
for r in $(seq "$ROUNDS"); do
  for db in one three; do
    tps=$(pgbench -n -c 2 -j 2 -T "$SECS" -f "$w/scan.sql" "$db" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    ms=$(q -d "$db" -c "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t.ms) || ' ' || sum(t.people)
                          FROM (SELECT (public.bench_trace(c.person_id)).* FROM public.bench_case c
                                 WHERE c.i BETWEEN ($r - 1) * $CASES + 1 AND $r * $CASES) t")
    # a rule change flipping about half the people, then the job by 2 sessions
    if [ $((r % 2)) = 1 ]; then
      q -d "$db" -c "SELECT healthpass.add_colour_rule('yellow', 'no negative test in the last 7 days (bench)',
                       '{\"not\": {\"fact\": \"last_negative_at\", \"op\": \"within\", \"value\": \"7 days\"}}', 115)" >/dev/null
    else
      q -d "$db" -c "SELECT healthpass.retire_colour_rule(max(rule_id)) FROM healthpass.colour_rules() WHERE reason LIKE '%(bench)'" >/dev/null
    fi
    q -d "$db" -c 'SELECT healthpass.recolour_start()' >/dev/null
    t0=$(now)
    for s in 1 2; do q -d "$db" -c 'CALL healthpass.recolour_run()' >/dev/null & done
    wait
    rec=$(secs "$t0" "$(now)")
    echo "round $r $db: scans $tps tps, trace median ${ms%% *} ms (${ms##* } people found), re-colouring $rec s"
    if [ "$db" = one ]; then S1+=("$tps"); T1+=("${ms%% *}"); R1+=("$rec"); people1=${ms##* }
    else S3+=("$tps"); T3+=("${ms%% *}"); R3+=("$rec"); people3=${ms##* }; fi
  done
  [ "$people1" = "$people3" ] || { echo "the traces found different people: $people1 against $people3"; exit 1; }
  check_same "SELECT colour || ' ' || count(*) FROM healthpass.colour_current GROUP BY colour ORDER BY colour"
done
s1=$(median "${S1[@]}") s3=$(median "${S3[@]}") t1=$(median "${T1[@]}") t3=$(median "${T3[@]}")
r1=$(median "${R1[@]}") r3=$(median "${R3[@]}")
echo
echo "medians over $ROUNDS rounds ($PEOPLE people, $SCANS scans, $(nproc) cores for all three servers):"
printf '  %-34s %12s %12s %8s\n' "" "one node" "3 nodes" "3/1"
printf '  %-34s %12.0f %12.0f %8s\n' "staff scans per second (2 clients)" "$s1" "$s3" "$(ratio "$s1" "$s3")"
printf '  %-34s %12.1f %12.1f %8s\n' "trace latency, ms" "$t1" "$t3" "$(ratio "$t1" "$t3")"
printf '  %-34s %12.1f %12.1f %8s\n' "re-colouring everyone, s" "$r1" "$r3" "$(ratio "$r1" "$r3")"
echo "  (the same colours and the same people traced in both, checked every round)"
