#!/usr/bin/env bash
# Bulk re-colouring benchmark: 1M people re-coloured after a rule change.
#
# Loads 1,000,000 people with declarations, nucleic-acid results and risk
# marks (generate_series, triggers off), gives everyone a first colour, then
# alternates, ROUNDS times:
#   A  raw baseline: the same compiled rule set evaluated over all 1M people
#      in one INSERT ... SELECT into an unlogged table (no history, no
#      current-colour upkeep, no batching)
#   B  a rule change (adding, then retiring, "no negative test in the last
#      7 days -> yellow", which flips about half the people) and the
#      re-colouring job run to the end by WORKERS sessions (CALL
#      recolour_run()), closing every changed colour into the history
# and prints the medians, the ratio B/A and B against the 60 s target.
# Run by `make bench` (test/bench/run-bench.sh) in a throwaway cluster.
set -euo pipefail
N=${HP_BENCH_PEOPLE:-1000000}
ROUNDS=${HP_BENCH_ROUNDS:-3}
WORKERS=${HP_BENCH_WORKERS:-2}
DB=hp_bench_recolour
P="psql -X -q -v ON_ERROR_STOP=1 -d $DB"

dropdb --if-exists "$DB"; createdb "$DB"
$P -c 'CREATE EXTENSION healthpass'

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

t0=$(now)
$P -v n="$N" <<'SQL'
SET session_replication_role = replica;     -- bulk load: no per-row re-colouring
INSERT INTO healthpass.person (doc_kind, doc_number, name, birth_date, created_at, updated_at)
SELECT 'passport', 'P' || lpad(g::text, 8, '0'), 'Person ' || g, date '1950-01-01' + (g % 20000), now(), now()
  FROM generate_series(1, :n) g;
-- 90% declared (1% fever, 1% contact, a third travelled, half measured)
INSERT INTO healthpass.health_declaration (person_id, declared_at, valid_until, fever_today, contact_14d,
                                          travel_places, destination_city, temperature)
SELECT g, now() - (g % 20) * interval '1 hour', now() - (g % 20) * interval '1 hour' + interval '1 day',
       g % 97 = 0, g % 89 = 0,
       CASE WHEN g % 3 = 0 THEN ARRAY['广东省深圳市南山区', '广东省佛山市'] ELSE '{}' END, '佛山市',
       CASE WHEN g % 2 = 0 THEN 36.0 + (g % 15) / 10.0 END
  FROM generate_series(1, :n) g WHERE g % 10 <> 0;
-- 80% tested in the last 12.5 days (0.2% positive, 2% pending)
INSERT INTO healthpass.test_result (person_id, institution, sample_ref, sampled_at, result, reported_at, recorded_at)
SELECT g, 'Lab ' || (g % 7), 'S' || g, now() - (g % 300) * interval '1 hour',
       CASE WHEN g % 501 = 0 THEN 'positive' WHEN g % 53 = 0 THEN 'pending' ELSE 'negative' END,
       CASE WHEN g % 53 = 0 AND g % 501 <> 0 THEN NULL
            ELSE least(now(), now() - (g % 300) * interval '1 hour' + interval '6 hours') END,
       least(now(), now() - (g % 300) * interval '1 hour' + interval '6 hours')
  FROM generate_series(1, :n) g WHERE g % 5 <> 0;
-- 2.4% marked
INSERT INTO healthpass.risk_mark (person_id, kind, valid_from, valid_until, recorded_at)
SELECT g, (enum_range(NULL::healthpass.risk_mark_kind))[1 + g % 5], now() - interval '3 days',
       now() + interval '11 days', now() - interval '3 days'
  FROM generate_series(1, :n, 41) g;
RESET session_replication_role;
ANALYZE healthpass.person, healthpass.health_declaration, healthpass.test_result, healthpass.risk_mark;
CREATE UNLOGGED TABLE public.raw_colour (person_id bigint, at timestamptz, colour healthpass.health_colour,
                                         rule_ids integer[], recheck_at timestamptz);
SQL
t1=$(now)
echo "loaded $N people with declarations, results and marks in $(secs "$t0" "$t1") s"

# every worker works on the queued job until it is done
run_job() {
  local i
  for i in $(seq "$WORKERS"); do
    $P -c 'SET client_min_messages = warning' -c 'CALL healthpass.recolour_run()' &
  done
  wait
}

$P -c 'SELECT healthpass.recolour_start()' >/dev/null
t0=$(now); run_job; t1=$(now)
echo "first colours for $N people ($WORKERS workers): $(secs "$t0" "$t1") s"
$P -At -c "SELECT '  ' || string_agg(colour || ' ' || n, ', ' ORDER BY colour)
             FROM (SELECT colour, count(*) n FROM healthpass.colour_current GROUP BY colour) x"

A=() B=()
for r in $(seq "$ROUNDS"); do
  # A: raw set-wise evaluation of the rules in force
  t0=$(now)
  $P <<'SQL'
SET jit = off;
SET work_mem = '64MB';
TRUNCATE public.raw_colour;
DO $$
DECLARE q text;
BEGIN
  SELECT compiled INTO q FROM healthpass.colour_ruleset ORDER BY version DESC LIMIT 1;
  EXECUTE 'INSERT INTO public.raw_colour ' || q
    USING 1::bigint, 9223372036854775807::bigint,
          (SELECT array_agg(person_id ORDER BY person_id) FROM healthpass.person),
          (SELECT array_agg(now()) FROM healthpass.person);
END $$;
SQL
  t1=$(now); a=$(secs "$t0" "$t1"); A+=("$a")

  # B: a rule change and the job that re-colours everyone
  if [ $((r % 2)) -eq 1 ]; then
    $P -c "SELECT healthpass.add_colour_rule('yellow', 'no negative test in the last 7 days',
             '{\"not\": {\"fact\": \"last_negative_at\", \"op\": \"within\", \"value\": \"7 days\"}}', 115)" >/dev/null
    what="add rule"
  else
    $P -c "SELECT healthpass.retire_colour_rule((SELECT max(rule_id) FROM healthpass.colour_rules()))" >/dev/null
    what="retire rule"
  fi
  t0=$(now); run_job; t1=$(now); b=$(secs "$t0" "$t1"); B+=("$b")
  changed=$($P -At -c "SELECT changed FROM healthpass.recolour_progress() WHERE state = 'done' ORDER BY job_id DESC LIMIT 1")
  printf 'round %s: A raw evaluation %.1f s | B %s + re-colour %.1f s (%s colours changed, %s in history)\n' \
    "$r" "$a" "$what" "$b" "$changed" "$($P -At -c 'SELECT count(*) FROM healthpass.colour_history')"
done

ma=$(median "${A[@]}"); mb=$(median "${B[@]}")
printf 'median A (raw set-wise evaluation of %s people): %.1f s\n' "$N" "$ma"
printf 'median B (rule change, %s people re-coloured with history, %s workers): %.1f s = %.0f people/s\n' \
  "$N" "$WORKERS" "$mb" "$(echo "$N / $mb" | bc -l)"
printf 'ratio B/A: %.2f; target B <= 60 s: %s\n' "$(echo "$mb / $ma" | bc -l)" \
  "$(if [ "$(echo "$mb <= 60" | bc)" = 1 ]; then echo met; else echo MISSED; fi)"
dropdb "$DB"
