#!/usr/bin/env bash
# make test-citus: healthpass on a real Citus cluster (TAP).
#
#  1. builds Citus 13.2.2 from ../shared/citus/ (test/citus/build-citus.sh says
#     where else it looks) unless the same tarball is
#     already installed (test/citus/build-citus.sh, cached by its sha256);
#  2. starts a coordinator and two workers on loopback in a temporary
#     directory (test/citus/cluster.sh), removed afterwards;
#  3. checks that distribute() refuses clearly where citus is not installed;
#  4. fills a database through the API (test/citus/fill.sql), distributes it,
#     checks that no row was lost, that a second call does nothing, that
#     single-person, single-document and single-venue-day reads go to one
#     shard, and that undistribute() brings every row back and leaves no
#     shard behind after DROP EXTENSION;
#  5. runs the pgTAP suites test/pgtap/*.sql against the coordinator, each in
#     a fresh database: CREATE EXTENSION pgtap; CREATE EXTENSION healthpass;
#     SELECT healthpass.distribute().
# Ends with one line "N passed, N failed" (assertions, like make test) and
# exits non-zero when anything failed. Runs as root without a terminal.
#
#   test/citus/run-citus-tests.sh [REGEX]   only the pgTAP suites matching REGEX
#   HP_OUT=DIR                               where the logs go (test/out/citus)
#   CITUS_KEEP=1                             leave the cluster running (prints where)
set -u
cd "$(dirname "$0")/../.."
PGVER=${PGVER:-15}
export PATH="/usr/lib/postgresql/$PGVER/bin:$PATH"
only=${1:-}
OUT=${HP_OUT:-test/out/citus}; rm -rf "$OUT"; mkdir -p "$OUT"
t0=$(date +%s)
secs() { echo $(( $(date +%s) - $1 )); }

# 1. Citus
b0=$(date +%s)
nice -n 10 test/citus/build-citus.sh || { echo "Bail out! Citus could not be built"; echo "0 passed, 1 failed"; exit 1; }
echo "# citus build check: $(secs "$b0")s"

# 2. the cluster
dir=$(mktemp -d /tmp/healthpass-citus.XXXXXX)
cleanup() {
  if [ -n "${CITUS_KEEP:-}" ]; then echo "# cluster left running in $dir (test/citus/cluster.sh stop $dir)"; return; fi
  test/citus/cluster.sh stop "$dir"; rm -rf "$dir"
}
trap cleanup EXIT
c0=$(date +%s)
test/citus/cluster.sh start "$dir" >"$OUT/cluster.log" 2>&1 || { cat "$OUT/cluster.log"; echo "Bail out! the cluster did not start"; echo "0 passed, 1 failed"; exit 1; }
echo "# cluster start: $(secs "$c0")s ($(tail -n1 "$OUT/cluster.log"))"
read -r PORT W1 W2 < "$dir/ports"
export PGHOST=$dir PGPORT=$PORT PGUSER=postgres PGOPTIONS='-c client_min_messages=warning'

n=0 pass=0 fail=0
check() { # description expected actual
  n=$((n + 1))
  if [ "$2" = "$3" ]; then pass=$((pass + 1)); echo "ok $n - $1"
  else fail=$((fail + 1)); echo "not ok $n - $1"; echo "#   expected: $2"; printf '%s\n' "$3" | head -20 | sed 's/^/#   got:      /'; fi
}
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# 3. without citus in the database
createdb hp_plain
q -d hp_plain -c 'CREATE EXTENSION healthpass' >/dev/null
check "distribute() without citus: SQLSTATE 0A000 and a clear message" \
  "ERROR:  0A000: citus is not installed in this database" \
  "$(psql -X -q -At -v VERBOSITY=verbose -d hp_plain -c 'SELECT * FROM healthpass.distribute()' 2>&1 | head -n1)"
check "undistribute() without citus: the same refusal" \
  "ERROR:  0A000: citus is not installed in this database" \
  "$(psql -X -q -At -v VERBOSITY=verbose -d hp_plain -c 'SELECT * FROM healthpass.undistribute()' 2>&1 | head -n1)"
# the citus library is loaded on this server but not created in hp_plain:
# healthpass runs there as on plain PostgreSQL (a batch of people re-coloured
# at once), not on its cluster paths
check "a database without citus on a Citus server re-colours a batch as on one node" "yellow,yellow" \
  "$(q -d hp_plain -c "SELECT healthpass.declare_health(healthpass.register_person('passport', 'P000000' || i, 'Plain Person', '1990-01-01', NULL, 'GBR'), false, false, ARRAY['广东省深圳市南山区']) FROM generate_series(1, 2) i" \
       -c "SELECT healthpass.declare_risk_area('广东省深圳市')" \
       -c "SELECT string_agg(colour::text, ',') FROM healthpass.colour_current" 2>&1 | tail -n1)"
dropdb hp_plain

# 4. a populated database
f0=$(date +%s)
db=hp_citus_fill
test/citus/newdb.sh "$dir" "$db"
q -d "$db" -c 'CREATE EXTENSION healthpass' >/dev/null
check "the database fills through the API" "" "$(q -d "$db" -f test/citus/fill.sql 2>&1 >/dev/null | grep -E 'ERROR' | head -5)"
q -d "$db" -f test/citus/counts.sql >"$OUT/counts-before.txt"
check "the filled database has people, scans and traces" "t" \
  "$(awk '$1 == "person" && $2 >= 40 {p=1} $1 == "scan" && $2 >= 60 {s=1} $1 == "trace_result" && $2 > 0 {t=1} END {print (p && s && t) ? "t" : "f"}' "$OUT/counts-before.txt")"
d0=$(date +%s)
q -d "$db" -F ' | ' -c 'SELECT * FROM healthpass.distribute()' >"$OUT/distribute.txt" 2>&1; rc=$?
echo "# distribute() on the populated database: $(secs "$d0")s"
check "distribute() runs on a populated database" "0" "$rc"
check "distribute() places every table of the plan and meets no unplanned one" "" \
  "$(grep -E '\| (missing|not planned) \|' "$OUT/distribute.txt"; [ "$rc" = 0 ] || head -5 "$OUT/distribute.txt")"
check "distribute() reports 42 distributed tables, 21 reference tables, 2 local ones and 4 routed functions" \
  "42 21 2 4" \
  "$(awk -F' \\| ' '{c[$2]++} END {print c["distributed"]+0, c["reference"]+0, c["local"]+0, c["distributed function"]+0}' "$OUT/distribute.txt")"
q -d "$db" -f test/citus/counts.sql >"$OUT/counts-after.txt"
check "no row was lost or added by distribute()" "" "$(diff "$OUT/counts-before.txt" "$OUT/counts-after.txt")"
check "the coordinator keeps no second copy of the rows it handed to the shards" "" \
  "$(q -d "$db" -c "SELECT string_agg(c.relname, ' ') FROM pg_class c
                    WHERE c.relnamespace = 'healthpass'::regnamespace AND c.relkind = 'r' AND NOT c.relispartition
                      AND c.relname NOT IN ('recolour_job', 'recolour_chunk') AND pg_relation_size(c.oid) > 0")"
check "a second distribute() does nothing and says so" "nothing to do" \
  "$(q -d "$db" -c "SELECT string_agg(DISTINCT action, ',') FROM healthpass.distribute() WHERE action NOT IN ('unchanged', 'local')")"
check "the scan history's day partitions are distributed with it" "t" \
  "$(q -d "$db" -c "SELECT count(*) > 0 AND bool_and(p.partmethod = 'h') FROM pg_inherits i JOIN pg_dist_partition p ON p.logicalrelid = i.inhrelid WHERE i.inhparent = 'healthpass.scan'::regclass")"
tasks() { q -d "$db" -c "EXPLAIN $1" | grep -oE 'Task Count: [0-9]+' | head -n1; }
pid=$(q -d "$db" -c 'SELECT min(person_id) FROM healthpass.person')
vid=$(q -d "$db" -c 'SELECT min(venue_id) FROM healthpass.venue')
check "one person's row is read from one shard" "Task Count: 1" \
  "$(tasks "SELECT * FROM healthpass.person WHERE person_id = $pid")"
check "one person's colour, history and codes join on one shard" "Task Count: 1" \
  "$(tasks "SELECT * FROM healthpass.person p JOIN healthpass.colour_current c USING (person_id) JOIN healthpass.code_issued i USING (person_id) WHERE p.person_id = $pid")"
check "a look-up by document number is one shard" "Task Count: 1" \
  "$(tasks "SELECT person_id FROM healthpass.document_index WHERE doc_kind = 'cn_resident_id' AND doc_number = '440104199001010017'")"
check "one venue's scans of one day are one shard" "Task Count: 1" \
  "$(tasks "SELECT * FROM healthpass.scan WHERE venue_id = $vid AND scanned_at >= current_date AND scanned_at < current_date + 1")"
check "everyone at a venue around an instant is one shard" "Task Count: 1" \
  "$(tasks "SELECT person_id FROM healthpass.scan WHERE venue_id = $vid AND scanned_at BETWEEN now() - interval '1 hour' AND now()")"
check "a scan's venue (a reference table) joins on the scan's shard" "Task Count: 1" \
  "$(tasks "SELECT s.person_id, v.name FROM healthpass.scan s JOIN healthpass.venue v USING (venue_id) WHERE s.venue_id = $vid")"
check "health_code is routed to the person's worker" "t" \
  "$(q -d "$db" -c "SELECT count(*) = 4 FROM pg_dist_object WHERE distribution_argument_index = 0 AND objid::regproc::text LIKE 'healthpass.%'")"
check "a person's health code is issued and verifies after distribute()" "valid" \
  "$(q -d "$db" -c "SELECT coalesce(v.reason, 'valid') FROM healthpass.health_code($pid) c, healthpass.verify_token(c.token) v" 2>&1)"
check "the health code of a person on the other worker verifies too (same master key)" "valid" \
  "$(q -d "$db" -c "SELECT coalesce(v.reason, 'valid') FROM healthpass.health_code((SELECT max(person_id) FROM healthpass.person)) c, healthpass.verify_token(c.token) v" 2>&1)"
check "a new person registers after distribute()" "t" \
  "$(q -d "$db" -c "SELECT healthpass.register_person('cn_resident_id', '440104199001019998', '王红') > 0" 2>&1)"
check "distribute() gave both workers their own range of ids in every bigint identity sequence" \
  "$(q -d "$db" -c "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                    WHERE c.relnamespace = 'healthpass'::regnamespace AND c.relkind IN ('r', 'p') AND a.attidentity <> ''
                      AND a.atttypid = 'int8'::regtype AND c.relname NOT IN ('recolour_job', 'recolour_chunk')")" \
  "$(grep -c '_seq | configured | ids made on 2 worker' "$OUT/distribute.txt")"
wid=$(q -p "$W1" -d "$db" -c "SELECT healthpass.register_person('passport', 'W1000001', 'Worker One', '1990-01-01', NULL, 'GBR')" 2>&1)
cid=$(q -d "$db" -c "SELECT healthpass.register_person('passport', 'C1000001', 'Coord One', '1990-01-01', NULL, 'GBR')" 2>&1)
check "a person registered on a worker (query from any node) takes an id of that worker's range, no clash with the coordinator's" \
  "t" "$(q -d "$db" -c "SELECT $wid >= 281474976710656 AND $cid < 281474976710656 AND $wid <> $cid" 2>&1)"
check "the worker's person is found and coloured from the coordinator and from the other worker" "green green" \
  "$(q -d "$db" -c "SELECT healthpass.declare_health($wid, false, false)" >/dev/null 2>&1;
     q -d "$db" -c "SELECT colour FROM healthpass.health_status(healthpass.find_person('passport', 'W1000001'))" 2>&1) $(q -p "$W2" -d "$db" -c "SELECT colour FROM healthpass.health_status($wid)" 2>&1)"
check "undistribute() brings every table back to the coordinator" "" \
  "$(q -d "$db" -F ' | ' -c 'SELECT * FROM healthpass.undistribute()' 2>&1 >"$OUT/undistribute.txt" | head -5; q -d "$db" -c "SELECT logicalrelid FROM pg_dist_partition WHERE logicalrelid::text LIKE 'healthpass.%'")"
q -d "$db" -f test/citus/counts.sql >"$OUT/counts-undistributed.txt"
check "no row was lost by undistribute() (three more people)" "person $(( $(awk '$1 == "person" {print $2}' "$OUT/counts-before.txt") + 3 ))" \
  "$(grep '^person ' "$OUT/counts-undistributed.txt")"
check "a second undistribute() does nothing and says so" "nothing to do" \
  "$(q -d "$db" -c 'SELECT action FROM healthpass.undistribute()' 2>&1)"
q -d "$db" -c 'DROP EXTENSION healthpass' >/dev/null 2>&1
check "after undistribute() and DROP EXTENSION no shard is left on the workers" "0 0" \
  "$(for p in $W1 $W2; do q -p "$p" -d "$db" -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'healthpass'" 2>&1; done | tr '\n' ' ' | sed 's/ $//')"
test/citus/newdb.sh "$dir" "$db" drop
echo "# the populated database: $(secs "$f0")s"

# 4b. ALTER EXTENSION healthpass UPDATE on a distributed database: the last
#     release installed, filled, distributed, updated, distributed again
u0=$(date +%s)
db=hp_citus_upgrade
prev=$(ls sql/versions/healthpass--*.sql | sed -n 's|.*/healthpass--\([0-9.]*\)\.sql$|\1|p' | sort -V | tail -n1)
current=$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" healthpass.control)
test/citus/newdb.sh "$dir" "$db"
q -d "$db" -c "CREATE EXTENSION healthpass VERSION '$prev'" -c 'SELECT count(*) FROM healthpass.distribute()' >/dev/null
q -d "$db" -c "SELECT count(healthpass.declare_health(healthpass.register_person('passport', 'U000000' || i, 'Upgrade Person', '1990-01-01', NULL, 'GBR'), false, false)) FROM generate_series(1, 6) i" >/dev/null
before=$(q -d "$db" -c "SELECT (SELECT count(*) FROM healthpass.person) || ' ' || (SELECT count(*) FROM healthpass.health_declaration) || ' ' || (SELECT count(*) FROM healthpass.colour_current)")
check "a distributed $prev database takes ALTER EXTENSION healthpass UPDATE" "" \
  "$(q -d "$db" -c 'ALTER EXTENSION healthpass UPDATE' 2>&1 >/dev/null)"
check "every node is at $current after the update (Citus hands it to the workers)" "$current $current $current" \
  "$(for p in "$PORT" "$W1" "$W2"; do q -p "$p" -d "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'healthpass'"; done | tr '\n' ' ' | sed 's/ $//')"
q -d "$db" -F ' | ' -c 'SELECT * FROM healthpass.distribute()' >"$OUT/distribute-after-update.txt" 2>&1; rc=$?
check "distribute() after the update brings the shards' triggers to the new version" "0 t" \
  "$rc $(grep -c '^trigger health_declaration_recolour on healthpass.health_declaration | configured' "$OUT/distribute-after-update.txt" | awk '{print ($1 == 1) ? "t" : "f"}')"
check "every shard's re-colouring trigger now dates the change by the row (the trigger's argument)" "t" \
  "$(q -d "$db" -c "SELECT count(*) = (SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'healthpass.health_declaration'::regclass)
                    FROM run_command_on_placements('healthpass.health_declaration',
                           \$\$SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = '%s'::regclass AND NOT tgisinternal
                                AND pg_get_triggerdef(oid) ~ 'hp_recolour_trigger..declared_at.'\$\$)
                   WHERE success AND result <> ''")"
check "a second distribute() after the update does nothing" "nothing to do" \
  "$(q -d "$db" -c "SELECT string_agg(DISTINCT action, ',') FROM healthpass.distribute() WHERE action NOT IN ('unchanged', 'local')")"
check "every row survives the update" "$before" \
  "$(q -d "$db" -c "SELECT (SELECT count(*) FROM healthpass.person) || ' ' || (SELECT count(*) FROM healthpass.health_declaration) || ' ' || (SELECT count(*) FROM healthpass.colour_current)")"
check "after the update a declaration re-colours its person on the worker" "green" \
  "$(q -d "$db" -c "SELECT healthpass.declare_health(healthpass.register_person('passport', 'U1000001', 'Upgrade Person', '1990-01-01', NULL, 'GBR'), false, false)" >/dev/null 2>&1;
     q -d "$db" -c "SELECT colour FROM healthpass.colour_status(healthpass.find_person('passport', 'U1000001'))" 2>&1)"
test/citus/newdb.sh "$dir" "$db" drop
echo "# the update of a distributed database: $(secs "$u0")s"

# 5. the pgTAP suites, distributed: HP_CITUS_JOBS at a time (default 2),
#    each in a database of its own; the results are read back in name order
s0=$(date +%s)
suites_ok=() suites_bad=()
run_suite() { # file -> $OUT/<name>.tap, $OUT/<name>.rc (set-up failures: <name>.setup and rc 99)
  local f=$1 name db
  name=$(basename "$f" .sql)
  db="hp_ct_$(echo "$name" | tr -c 'a-z0-9_\n' '_')"
  test/citus/newdb.sh "$dir" "$db"
  if ! q -d "$db" -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION healthpass' -c 'SELECT count(*) FROM healthpass.distribute()' >"$OUT/$name.setup" 2>&1; then
    echo 99 >"$OUT/$name.rc"
  else
    pg_prove -v -d "$db" "$f" >"$OUT/$name.tap" 2>&1; echo $? >"$OUT/$name.rc"
  fi
  test/citus/newdb.sh "$dir" "$db" drop
}
files=()
for f in test/pgtap/*.sql test/citus/cross_worker.sql; do
  if [ -n "$only" ] && ! echo "$f" | grep -qE -- "$only"; then continue; fi
  files+=("$f")
done
jobs_max=${HP_CITUS_JOBS:-2}
for f in "${files[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
  run_suite "$f" &
done
wait
for f in "${files[@]}"; do
  name=$(basename "$f" .sql)
  rc=$(cat "$OUT/$name.rc" 2>/dev/null || echo 99)
  if [ "$rc" = 99 ]; then
    fail=$((fail + 1)); n=$((n + 1)); echo "not ok $n - $name: set-up failed"; sed 's/^/#   /' "$OUT/$name.setup" | head -5
    suites_bad+=("$name"); continue
  fi
  ok=$(grep -cE '^ok ' "$OUT/$name.tap"); nok=$(grep -cE '^not ok ' "$OUT/$name.tap")
  planned=$(grep -oE '^1\.\.[0-9]+' "$OUT/$name.tap" | head -n1 | cut -c4-)
  # assertions that never ran (the script stopped) count as failed
  if [ -n "$planned" ] && [ $((ok + nok)) -lt "$planned" ]; then nok=$((planned - ok)); fi
  if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then nok=1; fi
  pass=$((pass + ok)); fail=$((fail + nok))
  if [ "$nok" -eq 0 ]; then suites_ok+=("$name"); n=$((n + 1)); echo "ok $n - $name: $ok assertions pass distributed"
  else
    suites_bad+=("$name"); n=$((n + 1)); echo "not ok $n - $name: $ok passed, $nok failed distributed"
    { grep -E '^not ok ' "$OUT/$name.tap" | head -5; grep -E 'ERROR|psql:' "$OUT/$name.tap" | head -3; } | sed 's/^/#   /'
  fi
done
# 6. cross-border transfers (seed 002) with the Guangdong database distributed
#    and Macau's and Hong Kong's on one node: the script make test runs
if [ -z "$only" ] || echo "78_transfer" | grep -qE -- "$only"; then
  x0=$(date +%s)
  HP_CITUS_NEWDB="test/citus/newdb.sh $dir" bash test/scripts/78_transfer.sh >"$OUT/78_transfer.tap" 2>&1
  ok=$(grep -cE '^ok ' "$OUT/78_transfer.tap"); nok=$(grep -cE '^not ok ' "$OUT/78_transfer.tap")
  planned=$(grep -oE '^1\.\.[0-9]+' "$OUT/78_transfer.tap" | tail -n1 | cut -c4-)
  if [ -z "$planned" ] || [ $((ok + nok)) -lt "$planned" ]; then nok=$((nok + 1)); fi
  pass=$((pass + ok)); fail=$((fail + nok)); n=$((n + 1))
  if [ "$nok" -eq 0 ]; then suites_ok+=("78_transfer"); echo "ok $n - 78_transfer: $ok checks pass with Guangdong distributed"
  else
    suites_bad+=("78_transfer"); echo "not ok $n - 78_transfer: $ok passed, $nok failed with Guangdong distributed"
    grep -E '^not ok |ERROR' -A2 "$OUT/78_transfer.tap" | head -8 | sed 's/^/#   /'
  fi
  echo "# transfers: $(secs "$x0")s"
fi
echo "# pgTAP suites: $(secs "$s0")s; passing distributed: ${suites_ok[*]:-none}"
echo "# failing distributed: ${suites_bad[*]:-none}"
echo "1..$n"
echo "# total: $(secs "$t0")s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
