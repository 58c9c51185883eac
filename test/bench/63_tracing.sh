#!/usr/bin/env bash
# Contact-tracing benchmark (issue 11, "Performance: tracing"): one trace of
# a case over a city's month of scans, and the same trace over a table ten
# times smaller, in one run, alternating.
#
# Two databases are loaded with INSERT ... SELECT straight into
# healthpass.scan (day partitions made first by scan_maintenance() and
# hp_scan_partition for the past days): 200,000 people at 20,000 venues over
# the last 28 days (06:00-22:00 UTC, uniform), with the row shape of real
# scans (60 % self-scans, 35 % staff scans with a token id, 5 % manual; most
# showing a recent negative test):
#   big    HP_BENCH_SCANS scans (default 20,000,000: about 100 per person,
#          1,000 per venue)
#   small  a tenth of that (2,000,000)
# The "same trace" must touch the same rows in both, so both hold one
# identical neighbourhood, generated from one seed: NCASES cases (the last
# person ids) with 100 scans each at 200 reserved venues, and those venues
# filled to the big table's density (1,000 scans each over 28 days) by
# other people. Everything else is background, 10x denser in big. A trace
# of a planted case returns the same people in both databases; the
# difference in time is what the size of the table costs.
#
# Each round traces every planted case in big, then in small, in one warm
# session each (a health authority's connection); the medians over cases and
# rounds, and their ratio, are printed (targets: big <= 50 ms, big/small <=
# 1.5). For comparison: random people of the background (who touch 10x less
# in small), and the trace with the second ring in big. Then bytes per scan
# (heap and indexes of the day partitions over the rows; aim <= 150).
# Run by `make bench` (test/bench/run-bench.sh) in a throwaway cluster; not
# by make test. HP_BENCH_SCANS=4000000 makes a quicker run.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIG=${HP_BENCH_SCANS:-20000000}
SMALL=${HP_BENCH_SMALL_SCANS:-$((BIG / 10))}
PEOPLE=200000
VENUES=20000
DAYS=28
NCASES=${HP_BENCH_CASES:-9}
RESERVED=200
ROUNDS=${HP_BENCH_ROUNDS:-5}
PER_PERSON=$((BIG / PEOPLE))          # a case's scans: as a person of big
PER_VENUE=$((BIG / VENUES))           # a reserved venue's scans: as a venue of big
BASE=$(date -u -d "-$DAYS days" +%F)  # the first day; the trace range is [BASE, today)
TODAY=$(date -u +%F)

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# one database of $2 scans
load() { # db scans
  local db=$1 n=$2 P
  P="psql -X -q -v ON_ERROR_STOP=1 -d $db"
  dropdb --if-exists "$db"; createdb "$db"
  $P -v people=$PEOPLE -v base="$BASE" -v today="$TODAY" <<'SQL'
CREATE EXTENSION healthpass;
SET session_replication_role = replica;     -- bulk load: no per-row history or colour triggers
INSERT INTO healthpass.person (doc_kind, doc_number, name, birth_date, created_at, updated_at)
SELECT 'passport', 'P' || lpad(g::text, 8, '0'), 'Person ' || g, date '1950-01-01' + (g % 20000), now(), now()
  FROM generate_series(1, :people) g;
RESET session_replication_role;
SELECT count(*) AS made FROM healthpass.scan_maintenance() \gset
SELECT count(*) FILTER (WHERE healthpass_internal.hp_scan_partition(d::date)) AS made_past
  FROM generate_series(:'base'::date, :'today'::date, interval '1 day') d \gset
-- a token id (16 bytes) from random(), so that setseed makes it the same
CREATE FUNCTION public.gen_random_bytes_16() RETURNS bytea LANGUAGE sql VOLATILE
    RETURN decode(md5(random()::text), 'hex');
-- one scan row of the usual shape for (instant, venue, person), k a
-- pseudo-random number of the row
CREATE FUNCTION public.bench_scans(days integer, first_day date, n bigint, venue_lo bigint, venue_n bigint,
                                   person_lo bigint, person_n bigint)
    RETURNS SETOF healthpass.scan LANGUAGE sql VOLATILE AS $$
    SELECT (first_day + r.day + time '06:00' + floor(random() * 57600) * interval '1 second') AT TIME ZONE 'UTC',
           venue_lo + floor(random() * venue_n)::bigint, person_lo + floor(random() * person_n)::bigint,
           CASE WHEN r.k < 0.60 THEN NULL ELSE 1 + floor(random() * 50000)::bigint END,
           CASE WHEN r.k < 0.60 THEN 's' WHEN r.k < 0.95 THEN 't' ELSE 'm' END::"char",
           CASE WHEN r.k >= 0.60 AND r.k < 0.95 THEN 'h' END::"char",
           CASE WHEN r.k < 0.97 THEN 'green' WHEN r.k < 0.995 THEN 'yellow' ELSE 'light_green' END::healthpass.health_colour,
           CASE WHEN r.k < 0.97 THEN 'a' WHEN r.k < 0.995 THEN 'c' ELSE 'd' END::"char",
           CASE WHEN r.k < 0.85 THEN 'n' END::"char",
           CASE WHEN r.k < 0.85 THEN first_day + r.day - 2 END::timestamptz,
           CASE WHEN r.k >= 0.60 AND r.k < 0.95 THEN gen_random_bytes_16() END
      FROM (SELECT floor(random() * days)::integer AS day, random() AS k FROM generate_series(1, n)) r
$$;
SQL
}
# rows of one day: background (spread over the days by the caller) or the
# neighbourhood (one seeded statement, identical in both databases)
fill() { # db scans
  local db=$1 n=$2 bg per_day d w P pids=()
  P="psql -X -q -v ON_ERROR_STOP=1 -d $db"
  # the neighbourhood: the planted cases at the reserved venues, and others
  # there at the big table's density; one seed, the same rows in both databases
  $P -v seed=0.42 -v days=$DAYS -v base="$BASE" -v ncases=$NCASES -v per_person=$PER_PERSON \
     -v per_venue=$PER_VENUE -v reserved=$RESERVED -v people=$PEOPLE -v venues=$VENUES <<'SQL'
SELECT setseed(:seed) \g /dev/null
CREATE UNLOGGED TABLE public.bench_hood AS
SELECT * FROM public.bench_scans(:days, :'base', :ncases * :per_person, :venues - :reserved + 1, :reserved,
                                 :people - :ncases + 1, :ncases)
UNION ALL
SELECT * FROM public.bench_scans(:days, :'base', :reserved * :per_venue, :venues - :reserved + 1, :reserved,
                                 1, :people - :ncases);
SQL
  # a day at a time (its partition's indexes stay in memory), two loaders:
  # the background and the neighbourhood's rows of that day, shuffled, so the
  # neighbourhood lies among the background as any venue's scans do
  bg=$((n - NCASES * PER_PERSON - RESERVED * PER_VENUE))
  per_day=$((bg / DAYS))
  for w in 0 1; do
    (
      for d in $(seq "$w" 2 $((DAYS - 1))); do
        $P -v day="$(date -u -d "$BASE + $d days" +%F)" -v n=$((per_day + (d == 0 ? bg - per_day * DAYS : 0))) \
           -v people=$PEOPLE -v ncases=$NCASES -v venues=$VENUES -v reserved=$RESERVED <<'SQL'
INSERT INTO healthpass.scan
SELECT * FROM (SELECT * FROM public.bench_scans(1, :'day', :n, 1, :venues - :reserved, 1, :people - :ncases)
               UNION ALL
               SELECT * FROM public.bench_hood h
                WHERE h.scanned_at >= :'day'::timestamp AT TIME ZONE 'UTC'
                  AND h.scanned_at < (:'day'::date + 1)::timestamp AT TIME ZONE 'UTC') x
 ORDER BY random()
ON CONFLICT DO NOTHING;
SQL
      done
    ) &
    pids+=($!)
  done
  for w in "${pids[@]}"; do wait "$w"; done
  $P -c 'VACUUM ANALYZE healthpass.scan' -c 'VACUUM ANALYZE healthpass.person'
  $P <<'SQL'
CREATE FUNCTION public.bench_trace(pid bigint, lo timestamptz, hi timestamptz, ring2 boolean,
                                   OUT ms float8, OUT people bigint)
    LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    SELECT count(*) INTO people FROM healthpass.trace_contacts(pid, lo, hi, NULL, ring2);
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
SQL
}

for spec in "hp_bench_trace_big $BIG" "hp_bench_trace_small $SMALL"; do
  set -- $spec
  t0=$(now); load "$1" "$2"; fill "$1" "$2"; t1=$(now)
  rows=$(psql -X -Atq -d "$1" -c 'SELECT count(*) FROM healthpass.scan')
  echo "loaded $1: $rows scans in $(secs "$t0" "$t1") s"
done

hood() { psql -X -Atq -d "$1" -c "SELECT md5(string_agg(h::text, ',' ORDER BY h::text)) FROM public.bench_hood h"; }
if [ "$(hood hp_bench_trace_big)" = "$(hood hp_bench_trace_small)" ]; then
  echo "the neighbourhood of the planted cases is the same in both: $((NCASES * PER_PERSON + RESERVED * PER_VENUE)) scans"
else
  echo "the neighbourhoods differ: the comparison below is void" >&2; exit 1
fi
CASES=$(seq -s ' ' $((PEOPLE - NCASES + 1)) "$PEOPLE")
RANDOM_PEOPLE=$(psql -X -Atq -d hp_bench_trace_big -c \
  "SELECT string_agg((1 + (hashint4(g) & 2147483647) % ($PEOPLE - $NCASES - 1))::text, ' ') FROM generate_series(1, $NCASES) g")
# one session: a warm-up trace, then each person once; prints "ms people" a line
traces() { # db ring2 people...
  local db=$1 ring2=$2 sql="" p
  shift 2
  sql="SELECT * FROM public.bench_trace($1, '$BASE', '$TODAY', false) \\g /dev/null"$'\n'
  for p in "$@"; do
    sql+="SELECT ms, people FROM public.bench_trace($p, '$BASE', '$TODAY', $ring2);"$'\n'
  done
  psql -X -Atq -F ' ' -d "$db" <<<"$sql"
}

echo "# $NCASES planted cases, $ROUNDS rounds, trace range $BASE to $TODAY, window 30 minutes"
big=() small=() bign=() smalln=() rbig=() rsmall=() rbign=() rsmalln=()
for r in $(seq "$ROUNDS"); do
  while read -r ms n; do big+=("$ms"); bign+=("$n"); done < <(traces hp_bench_trace_big false $CASES)
  while read -r ms n; do small+=("$ms"); smalln+=("$n"); done < <(traces hp_bench_trace_small false $CASES)
  while read -r ms n; do rbig+=("$ms"); rbign+=("$n"); done < <(traces hp_bench_trace_big false $RANDOM_PEOPLE)
  while read -r ms n; do rsmall+=("$ms"); rsmalln+=("$n"); done < <(traces hp_bench_trace_small false $RANDOM_PEOPLE)
done
two=() twon=()
while read -r ms n; do two+=("$ms"); twon+=("$n"); done < <(traces hp_bench_trace_big true $CASES)

mb=$(median "${big[@]}"); ms=$(median "${small[@]}")
printf 'trace, planted cases:  %s scans %8.2f ms (target 50), %s scans %8.2f ms, ratio %.2f (target 1.5); people returned: median %s and %s\n' \
  "$BIG" "$mb" "$SMALL" "$ms" "$(echo "$mb / $ms" | bc -l)" "$(median "${bign[@]}")" "$(median "${smalln[@]}")"
mrb=$(median "${rbig[@]}"); mrs=$(median "${rsmall[@]}")
printf 'trace, random people:  %s scans %8.2f ms, %s scans %8.2f ms (they touch ten times less there); people returned: median %s and %s\n' \
  "$BIG" "$mrb" "$SMALL" "$mrs" "$(median "${rbign[@]}")" "$(median "${rsmalln[@]}")"
printf 'trace with the second ring, planted cases, %s scans: %8.2f ms, people returned: median %s\n' \
  "$BIG" "$(median "${two[@]}")" "$(median "${twon[@]}")"
# the plan of one trace's encounters in big, kept in test/bench/build/63_tracing_plan.txt
mkdir -p test/bench/build
psql -X -Atq -d hp_bench_trace_big >test/bench/build/63_tracing_plan.txt <<SQL
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT count(*) FROM healthpass_internal.hp_trace_encounters(ARRAY[${RANDOM_PEOPLE%% *}]::bigint[], ARRAY['$BASE']::timestamptz[],
                                                             '$TODAY', interval '30 minutes');
SQL
echo "plan of the encounters of random person ${RANDOM_PEOPLE%% *} in big (test/bench/build/63_tracing_plan.txt):"
grep -E '^ *(->  )?(Aggregate|Nested Loop|Append|Function Scan)|Subplans Removed|Execution Time|Planning Time' \
  test/bench/build/63_tracing_plan.txt | sed 's/^/  /'
echo "  $(grep -c 'Index Scan using scan_[0-9]*_person' test/bench/build/63_tracing_plan.txt) index scans of (person_id, scanned_at)," \
     "$(grep -c 'Index Only Scan using scan_[0-9]*_venue' test/bench/build/63_tracing_plan.txt) index-only scans of (venue_id, scanned_at, person_id)," \
     "$(grep -c 'Seq Scan\|Hash Join\|Merge Join' test/bench/build/63_tracing_plan.txt) seq scans or hash/merge joins (of empty future days)"
for db in hp_bench_trace_big hp_bench_trace_small; do
  psql -X -Atq -d "$db" <<'SQL'
SELECT format('bytes per scan, %s: %s (heap %s + indexes %s) over %s rows, %s day partitions of %s MB',
              current_database(), round((sum(t + i) / sum(n))::numeric, 1), round((sum(t) / sum(n))::numeric, 1),
              round((sum(i) / sum(n))::numeric, 1), sum(n), count(*), round(sum(t + i) / 1048576))
  FROM (SELECT pg_table_size(c.oid)::float8 AS t, pg_indexes_size(c.oid)::float8 AS i,
               (SELECT count(*) FROM healthpass.scan s WHERE s.tableoid = c.oid)::float8 AS n
          FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
         WHERE h.inhparent = 'healthpass.scan'::regclass) p
 WHERE n > 0;
SQL
done
[ "${HP_BENCH_KEEP:-}" = 1 ] || { dropdb hp_bench_trace_big; dropdb hp_bench_trace_small; }
