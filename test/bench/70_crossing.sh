#!/usr/bin/env bash
# Benchmark of the crossing path (issue 12), in one run: pgbench, 2
# clients, durable commits (fsync and synchronous_commit on);
#   A = cross_border() at a gate: a permit read by number, its document and
#       endorsement checked, one entry used atomically (UPDATE of the
#       endorsement row), one crossing row inserted; HP_BENCH_PEOPLE
#       travellers with a multiple-entry endorsement each;
#   B = pgbench inserting the same row shape into a bare table with the
#       same primary key and index.
# Rounds alternate A and B; prints the median transactions per second and
# the ratio A/B (target >= 0.70).
set -euo pipefail
cd "$(dirname "$0")/../.."
PEOPLE=${HP_BENCH_PEOPLE:-2000}
ROUNDS=${HP_BENCH_ROUNDS:-5}
SECS=${HP_BENCH_SECONDS:-10}
db=hp_bench_crossing
dropdb --if-exists "$db"; createdb "$db"
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
psql -X -q -d "$db" -v ON_ERROR_STOP=1 <<SQL >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION healthpass;
-- travellers: a Guangdong permit numbered C7xxxxxxx and a multiple-entry
-- Hong Kong endorsement each
SELECT count(healthpass.record_endorsement(p, d, 'HK', 'S', 'multiple', current_date - 1, current_date + 300, 7))
  FROM (SELECT p, healthpass.record_travel_document(p, 'hk_macau_permit', 'C7' || lpad(i::text, 7, '0'), '广东省公安厅出入境管理局',
                                                    current_date - 100, current_date + 3000, '44') AS d
          FROM (SELECT i, healthpass.register_person('passport', 'BENCH' || lpad(i::text, 6, '0'), 'Person ' || chr(65 + i % 26),
                                                     '1990-01-01', nationality => 'GBR') AS p
                  FROM generate_series(1, $PEOPLE) i) x) y;
-- the baseline: the same row shape, primary key and index, no logic
CREATE TABLE bare_crossing (LIKE healthpass.crossing INCLUDING DEFAULTS);
ALTER TABLE bare_crossing ALTER crossing_id ADD GENERATED ALWAYS AS IDENTITY;
ALTER TABLE bare_crossing ADD PRIMARY KEY (person_id, crossing_id);
CREATE INDEX ON bare_crossing (person_id, crossed_at);
SQL
cat > "$w/a.sql" <<S
\set i random(1, $PEOPLE)
SELECT passed FROM healthpass.cross_border('shenzhen_bay', 'exit', 'manual', 'hk_macau_permit', 'C7' || lpad(:i::text, 7, '0'));
S
cat > "$w/b.sql" <<S
\set i random(1, $PEOPLE)
INSERT INTO bare_crossing (person_id, port_code, direction, region, channel, crossed_at, document_id, endorsement_id)
VALUES (:i, 'shenzhen_bay', 'exit', 'HK', 'manual', now(), :i, :i);
S
psql -X -q -d "$db" -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
echo "# fsync $(psql -X -Atq -d "$db" -c 'SHOW fsync'), synchronous_commit $(psql -X -Atq -d "$db" -c 'SHOW synchronous_commit')"
tps() { pgbench -n -c 2 -j 2 -T "$SECS" -f "$1" "$db" 2>/dev/null | awk '/^tps/ {print $3; exit}'; }
ta=() tb=()
for r in $(seq "$ROUNDS"); do
  ta+=("$(tps "$w/a.sql")")
  tb+=("$(tps "$w/b.sql")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ma=$(median "${ta[@]}"); mb=$(median "${tb[@]}")
echo "# crossing path: $PEOPLE travellers, 2 clients, ${SECS}s x $ROUNDS rounds each, alternating"
printf 'crossing: cross_border %8.0f tps, bare INSERT %8.0f tps, ratio %.3f (target 0.70)\n' "$ma" "$mb" "$(echo "$ma / $mb" | bc -l)"
psql -X -Atq -d "$db" -c "SELECT format('checked: %s crossings recorded, %s entries used', (SELECT count(*) FROM healthpass.crossing),
                                         (SELECT sum(entries_used) FROM healthpass.endorsement))"
psql -X -q -d "$db" -c "ALTER SYSTEM RESET fsync" -c "ALTER SYSTEM RESET synchronous_commit" -c "SELECT pg_reload_conf()" >/dev/null
dropdb "$db"
