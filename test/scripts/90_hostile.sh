#!/usr/bin/env bash
# Hostile arguments to every routine a purpose role may execute (TAP).
#
# The routines come from the catalogue: every function, aggregate and
# procedure of schema healthpass on which one of the seven purpose roles
# (healthpass_admin, _app, _scanner, _health, _report, _border, _messenger)
# has EXECUTE (has_function_privilege). Each is called as every role that may
# execute it, first with baseline arguments (real people, codes, keys, rules,
# travel documents, crossings, reminders, certificates, a transfer partner
# made in set-up, so calls reach deep code), then with one hostile value at a
# time in one position, the others baseline: NULL everywhere, and per type
# empty / 1 MB / control and bidi characters / digits / ID-shaped numbers
# (text), random and 1 MB bytes, 0 / -1 / extremes / nonexistent ids,
# tiny / negative / huge intervals, ±infinity and far instants, malformed and
# huge jsonb plus every node of the baseline document with a wrong type or
# left out, garbled and out-of-place HP1 tokens. Every call runs in its own
# subtransaction as SET LOCAL ROLE and is rolled back; each is its own
# statement in one psql session, so statement_timeout bounds it
# (HOSTILE_TIMEOUT, default 2s).
#
# One TAP line per routine: not ok when one of its calls crashed the server
# (lost connection), raised an internal error (XX***), quoted a full
# resident ID number in a message, detail or hint (except the validators
# listed in test/hostile/report.sql), or raised a message over 300
# characters. Outputs in test/out/ (or $HP_OUT):
#   hostile-accepted.txt   every hostile call that succeeded (for review)
#   hostile-failures.txt   every failing call
#   hostile-psql.err       notices and warnings the calls raised
# HOSTILE_KEEP=1 keeps the database hp_hostile for a look at hostile.outcome
# (and hp_hostile_mo, the transfer partner).
# Files: test/hostile/partner.sql (a second database of the cluster, issuer
# MO: the transfer partner, its material and transfer tokens), setup.sql
# (data, catalogue, values, hostile.try), run.sql (the calls), report.sql
# (verdicts).
set -u
cd "$(dirname "$0")/../.."
db=hp_hostile
partner_db=hp_hostile_mo   # another issuer (MO), the transfer partner
OUT=${HP_OUT:-test/out}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT   # work files; copied to $OUT at the end
timeout=${HOSTILE_TIMEOUT:-2s}
t0=$(date +%s.%N)
n=0
say() { n=$((n + 1)); echo "$1 $n - $2"; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
qp() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$partner_db" "$@"; }
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

dropdb --if-exists "$db" >/dev/null 2>&1
dropdb --if-exists "$partner_db" >/dev/null 2>&1
# the partner: its own issuer, our material imported, its material and two
# transfer tokens to us printed (one line each) for setup.sql
if ! { createdb "$db" && q -c 'CREATE EXTENSION healthpass' &&
       createdb "$partner_db" && qp -c "ALTER DATABASE $partner_db SET healthpass.issuer = 'MO'" &&
       qp -c 'CREATE EXTENSION healthpass' &&
       qp -v material="$(q -c 'SELECT healthpass.transfer_material()')" -f test/hostile/partner.sql >"$W/partner.out" &&
       [ "$(wc -l <"$W/partner.out")" -eq 3 ] &&
       q -v trust_list="$(cat test/vectors/hp1-vectors.json)" -v hc1="$(cat test/hc1/fixed.json)" \
         -v partner_material="$(sed -n 1p "$W/partner.out")" \
         -v transfer_token_setup="$(sed -n 2p "$W/partner.out")" -v transfer_token="$(sed -n 3p "$W/partner.out")" \
         -f test/hostile/setup.sql; } >"$W/hostile-setup.log" 2>&1; then
  say "not ok" "set-up: baseline data, routines from the catalogue, hostile values"
  sed 's/^/# /' "$W/hostile-setup.log" | head -40
  exit 1
fi
say ok "set-up: baseline data, routines from the catalogue, hostile values"
t_setup=$(elapsed)

nfn=$(q -c "SELECT count(*) FROM hostile.fn")
if [ "$nfn" -ge 50 ]; then
  say ok "the catalogue lists $nfn routines that a purpose role may execute"
else
  say "not ok" "the catalogue lists $nfn routines that a purpose role may execute (expected 50 or more)"
fi
uncalled=$(q -c "SELECT string_agg(name, ', ') FROM hostile.fn f
                  WHERE skip_why IS NULL AND NOT EXISTS (SELECT FROM hostile.calls c WHERE c.fn = f.fn)")
if [ -z "$uncalled" ]; then
  say ok "every routine callable from SQL is called"
else
  say "not ok" "every routine callable from SQL is called"; echo "#   not called: $uncalled"
fi

# the calls; after a lost connection, wait for the server and go on after
# the call that was running (it is recorded as a crash)
: >"$W/hostile-psql.err"
start=0 crashes=0
while :; do
  psql -X -q -At -d "$db" -v start="$start" -v timeout="$timeout" -f test/hostile/run.sql \
    >/dev/null 2>>"$W/hostile-psql.err"
  rc=$?
  [ "$rc" -eq 0 ] && break
  for _ in $(seq 1 120); do q -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.5; done
  crashed=$(q -c "SELECT min(call_id) FROM hostile.calls c
                   WHERE call_id > $start AND NOT EXISTS (SELECT FROM hostile.result r WHERE r.call_id = c.call_id)")
  [ -z "$crashed" ] && break
  q -c "INSERT INTO hostile.result (call_id, outcome, message) VALUES ($crashed, 'crash', 'psql exited with $rc')"
  # a routine that lost the connection 3 times is not called again
  q -c "INSERT INTO hostile.result (call_id, outcome, message)
        SELECT c.call_id, 'skipped', 'the routine lost the connection 3 times'
          FROM hostile.calls c
         WHERE c.fn = (SELECT fn FROM hostile.calls WHERE call_id = $crashed)
           AND (SELECT count(*) FROM hostile.result r JOIN hostile.calls x USING (call_id)
                 WHERE x.fn = c.fn AND r.outcome = 'crash') >= 3
           AND NOT EXISTS (SELECT FROM hostile.result r WHERE r.call_id = c.call_id)"
  crashes=$((crashes + 1)); start=$crashed
  if [ "$crashes" -ge 100 ]; then echo "# giving up after $crashes lost connections"; break; fi
done
t_calls=$(elapsed)
if [ "$crashes" -eq 0 ]; then
  say ok "no call lost the connection"
else
  say "not ok" "no call lost the connection ($crashes did)"
  q -c "SELECT '#   ' || f.name || ' | ' || CASE WHEN c.pos = 0 THEN 'baseline' ELSE 'arg ' || c.pos || ' = ' || c.label END
               || ' | ' || c.role
          FROM hostile.result r JOIN hostile.calls c USING (call_id) JOIN hostile.fn f USING (fn)
         WHERE r.outcome = 'crash' ORDER BY c.call_id"
fi

# verdicts per routine
tapf=$W/tap
if ! q -v tapfile="$tapf" -v failfile="$W/hostile-failures.txt" -v acceptedfile="$W/hostile-accepted.txt" \
       -f test/hostile/report.sql >"$W/hostile-report.log" 2>&1; then
  say "not ok" "verdicts"; sed 's/^/# /' "$W/hostile-report.log" | head -20; exit 1
fi
while IFS= read -r line; do
  case "$line" in
    "ok - "*) say ok "${line#ok - }" ;;
    "not ok - "*) say "not ok" "${line#not ok - }" ;;
    *) echo "$line" ;;
  esac
done <"$tapf"

# what the calls printed: notices and warnings (the rest is caught in
# hostile.try; an ERROR here is a harness error)
bad=$(grep -E '(^|[^0-9A-Za-z])[0-9]{17}[0-9Xx]([^0-9A-Za-z]|$)' "$W/hostile-psql.err" | head -5)
long=$(awk 'length($0) > 400' "$W/hostile-psql.err" | cut -c1-200 | head -5)
errs=$(grep -E 'ERROR:' "$W/hostile-psql.err" | head -5)   # lost connections are counted above
if [ -z "$bad$long$errs" ]; then
  say ok "notices and warnings quote no ID number and are short; no harness error"
else
  say "not ok" "notices and warnings quote no ID number and are short; no harness error"
  printf '%s\n%s\n%s\n' "$bad" "$long" "$errs" | grep -v '^$' | cut -c1-300 | sed 's/^/#   /'
fi

# summary
q <<'SQL' | sed 's/^/# /'
SELECT format('%s routines (%s not callable from SQL: %s), %s calls: %s accepted (%s with a hostile value), %s refused, %s timed out, %s hostile values not of the type, %s crashed, %s failing calls',
       (SELECT count(*) FROM hostile.fn), (SELECT count(*) FROM hostile.fn WHERE skip_why IS NOT NULL),
       (SELECT coalesce(string_agg(name, ', '), '-') FROM hostile.fn WHERE skip_why IS NOT NULL),
       count(*), count(*) FILTER (WHERE outcome = 'accepted'),
       count(*) FILTER (WHERE outcome = 'accepted' AND pos > 0),
       count(*) FILTER (WHERE outcome = 'refused'), count(*) FILTER (WHERE outcome = 'timeout'),
       count(*) FILTER (WHERE outcome = 'unrepresentable'),
       count(*) FILTER (WHERE outcome = 'crash') || ' (' || count(*) FILTER (WHERE outcome = 'skipped') || ' skipped after 3)',
       count(*) FILTER (WHERE failure <> ''))
  FROM hostile.outcome;
SELECT 'failing calls by kind: ' || coalesce(string_agg(k || ' ' || c, ', ' ORDER BY c DESC), 'none')
  FROM (SELECT regexp_replace(k, '[0-9]+', 'N', 'g') k, count(*) c
          FROM hostile.outcome, regexp_split_to_table(failure, '; ') k
         WHERE failure <> '' GROUP BY 1) s;
SELECT 'refusals by SQLSTATE: ' || string_agg(sqlstate || ' ' || c, ', ' ORDER BY c DESC)
  FROM (SELECT sqlstate, count(*) c FROM hostile.outcome WHERE outcome = 'refused' GROUP BY 1) s;
SELECT 'baseline refused: ' || name || ' as ' || string_agg(replace(role, 'healthpass_', ''), ',') || ' -> '
       || sqlstate || ' ' || hostile.cut(message, 100)
  FROM hostile.outcome WHERE pos = 0 AND outcome = 'refused'
 GROUP BY name, sqlstate, hostile.cut(message, 100) ORDER BY name;
SELECT 'timed out: ' || name || ' | ' || what || ' | ' || role FROM hostile.outcome WHERE outcome = 'timeout' ORDER BY call_id;
SELECT 'slowest: ' || string_agg(name || ' ' || what || ' ' || ms || ' ms', '; ' ORDER BY ms DESC)
  FROM (SELECT * FROM hostile.outcome WHERE ms IS NOT NULL ORDER BY ms DESC LIMIT 3) s;
SQL
mkdir -p "$OUT"
cp "$W/hostile-accepted.txt" "$W/hostile-failures.txt" "$W/hostile-psql.err" "$OUT/"
echo "# accepted hostile calls listed in $OUT/hostile-accepted.txt ($(wc -l <"$W/hostile-accepted.txt") lines), failing calls in $OUT/hostile-failures.txt"
echo "# time: set-up ${t_setup} s, calls $(awk -v a="$t_setup" -v b="$t_calls" 'BEGIN { printf "%.1f", b - a }') s, total $(elapsed) s"
[ -n "${HOSTILE_KEEP:-}" ] || { dropdb "$db"; dropdb "$partner_db"; } >/dev/null 2>&1
echo "1..$n"
