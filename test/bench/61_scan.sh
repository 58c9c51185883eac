#!/usr/bin/env bash
# Benchmarks of the scan history (issue 11), in one run:
#  1. the scan path: pgbench, 2 clients, durable commits (the cluster's
#     default synchronous_commit = on), A = staff_scan() on real dynamic
#     health codes of many people (verify the code, the colour now, the
#     latest test, the decision, one row into the day's partition), B = the
#     same row shape inserted into a bare table with the same indexes by
#     pgbench; rounds alternate A and B; prints median transactions per
#     second and the ratio A/B (target >= 0.70);
#  2. storage: bytes per scan (heap + indexes) of a day of scans;
#  3. retention: dropping a day's partition of HP_BENCH_DAY_ROWS scans
#     (700,000) with scan_maintenance(), median of the drops.
set -euo pipefail
cd "$(dirname "$0")/../.."
PEOPLE=${HP_BENCH_PEOPLE:-2000}
ROUNDS=${HP_BENCH_ROUNDS:-5}
SECS=${HP_BENCH_SECONDS:-10}
DAYROWS=${HP_BENCH_DAY_ROWS:-700000}
db=hp_bench_scan
dropdb --if-exists "$db"; createdb "$db"
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
psql -X -q -d "$db" -v ON_ERROR_STOP=1 <<SQL >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION healthpass;
SELECT healthpass.configure('code_valid_for', '1 day');
SELECT healthpass.scan_maintenance();
CREATE TABLE bench_ctx AS
SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明') AS manager,
       healthpass.register_person('cn_resident_id', '440104199003071247', '李红') AS staff;
CREATE TABLE bench_venue AS
SELECT healthpass.register_venue(manager, 'uscc', '91350100M000100Y43', '图书馆', '太平镇', '人民路 1 号',
                                 '0537-1234567', '\xffd8ffe000104a46494600') AS venue FROM bench_ctx;
SELECT healthpass.add_venue_staff(c.manager, v.venue, 'cn_resident_id', '440104199003071247', '李红')
  FROM bench_ctx c, bench_venue v;
-- people with a passport each, a declaration and a dynamic code
CREATE TABLE bench_code (i integer PRIMARY KEY, token text);
INSERT INTO bench_code
SELECT i, (SELECT token FROM healthpass.health_code(p))
  FROM (SELECT i, healthpass.register_person('passport', 'BENCH' || lpad(i::text, 6, '0'), 'Person ' || chr(65 + i % 26),
                                             '1990-01-01', nationality => 'GBR') AS p
          FROM generate_series(1, $PEOPLE) i) x;
SELECT count(healthpass.declare_health(healthpass.find_person('passport', 'BENCH' || lpad(i::text, 6, '0')), false, false))
  FROM generate_series(1, $PEOPLE) i;
-- the baseline: the same row shape and indexes, no partitions, no logic
CREATE TABLE bare_scan (LIKE healthpass.scan);
CREATE UNIQUE INDEX ON bare_scan (venue_id, scanned_at, person_id);
CREATE INDEX ON bare_scan (person_id, scanned_at);
SQL
staff=$(psql -X -Atq -d "$db" -c "SELECT staff FROM bench_ctx")
venue=$(psql -X -Atq -d "$db" -c "SELECT venue FROM bench_venue")
cat > "$w/a.sql" <<S
\set i random(1, $PEOPLE)
SELECT decision FROM healthpass.staff_scan($staff, $venue, (SELECT token FROM bench_code WHERE i = :i));
S
cat > "$w/b.sql" <<S
\set i random(1, $PEOPLE)
INSERT INTO bare_scan VALUES (date_trunc('second', clock_timestamp()), $venue, :i, $staff, 't', 'h', 'green', 'a', 'n',
                              now() - interval '1 day', '\x00112233445566778899aabbccddeeff')
    ON CONFLICT DO NOTHING;
S
# durable commits: pg_virtualenv turns fsync off; the scan path is measured with it on
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
echo "# scan path: $PEOPLE people with dynamic codes, 2 clients, ${SECS}s x $ROUNDS rounds each, alternating"
printf 'scan: staff_scan %8.0f tps, bare INSERT %8.0f tps, ratio %.3f (target 0.70)\n' "$ma" "$mb" "$(echo "$ma / $mb" | bc -l)"

# storage and retention: a day of scans a month ago, then its drop
drops=()
for r in 1 2 3; do
  psql -X -q -d "$db" -v ON_ERROR_STOP=1 <<SQL >/dev/null
SET client_min_messages = warning;
SELECT healthpass_internal.hp_scan_partition(current_date - 40);
INSERT INTO healthpass.scan (scanned_at, venue_id, person_id, staff_id, method, code_kind, colour, decision, test,
                             test_sampled_at, token_id)
SELECT (current_date - 40)::timestamp AT TIME ZONE 'UTC' + make_interval(secs => (g % 86400)),
       1 + g % 20000, 1 + (g::bigint * 7919) % 200000, NULL, 's', NULL, 'green', 'a', 'n', now() - interval '41 days', NULL
  FROM generate_series(1, $DAYROWS) g
    ON CONFLICT DO NOTHING;
SQL
  part="scan_$(psql -X -Atq -d "$db" -c "SELECT to_char(current_date - 40, 'YYYYMMDD')")"
  if [ "$r" = 1 ]; then
    psql -X -Atq -d "$db" -c "SELECT format('storage: %s scans in a day, %s bytes each (heap %s, indexes %s)',
        count(*), round(pg_total_relation_size('healthpass.$part')::numeric / count(*)),
        round(pg_relation_size('healthpass.$part')::numeric / count(*)),
        round(pg_indexes_size('healthpass.$part')::numeric / count(*))) FROM healthpass.$part"
  fi
  drops+=("$(psql -X -Atq -d "$db" -c "SELECT extract(epoch FROM clock_timestamp() - now()) * 0 + (
               SELECT extract(epoch FROM (SELECT clock_timestamp() FROM (SELECT count(*) FROM healthpass.scan_maintenance()
                                          WHERE action = 'dropped') x) - now()) * 1000)")")
done
printf 'retention: dropping a day of %s scans takes %.1f ms (median of 3; target <= 1000 ms)\n' "$DAYROWS" "$(median "${drops[@]}")"
psql -X -q -d "$db" -c "ALTER SYSTEM RESET fsync" -c "ALTER SYSTEM RESET synchronous_commit" -c "SELECT pg_reload_conf()" >/dev/null
dropdb "$db"
