#!/usr/bin/env bash
# Runs every suite against a throwaway cluster (pg_virtualenv) and ends with
# one line "N passed, N failed" totalled over all suites:
#   regress   pg_regress: sql/*.sql against expected/*.out (one per file)
#   pgtap     pg_prove: test/pgtap/*.sql, each in a fresh database (one per assertion)
#   isolation pg_isolation_regress: test/isolation/specs/*.spec (one per spec)
#   scripts   test/scripts/*.sh printing TAP: zbar decoding, C unit tests (one per assertion)
#   doc       every ```sql block of README.md and doc/*.md, in the order
#             test/doctest.sh gives, in one database (one per block)
# Exits non-zero when anything failed.
#
# For development: test/run-tests.sh REGEX runs only the files whose names
# match REGEX (and the doc test only when HP_DOCS names files to run, in the
# order given; HP_DOCS=all runs the whole manual).
set -u
cd "$(dirname "$0")/.."
PGVER=${PGVER:-15}
if [ "${HP_IN_VENV:-}" != 1 ]; then
  exec env HP_IN_VENV=1 pg_virtualenv -t -v "$PGVER" "$0" "$@"
fi
export PATH="/usr/lib/postgresql/$PGVER/bin:$PATH"
export PGDATABASE=postgres
only=${1:-}
pick() { if [ -n "$only" ]; then grep -E -- "$only" || true; else cat; fi; }
OUT=${HP_OUT:-test/out}; export HP_OUT=$OUT
rm -rf "$OUT"; mkdir -p "$OUT"
pass=0 fail=0
add() { pass=$((pass + $1)); fail=$((fail + $2)); echo "== $3: $1 passed, $2 failed"; }

# count TAP lines of a file: "ok" and "not ok" at the start of a line;
# a non-zero exit with no "not ok" still counts one failure
tap_count() { # file rc label
  local ok nok
  ok=$(grep -cE '^ok ' "$1"); nok=$(grep -cE '^not ok ' "$1")
  if [ "$2" -ne 0 ] && [ "$nok" -eq 0 ]; then nok=1; fi
  if [ "$nok" -ne 0 ]; then echo "-- $3 failed:"; grep -vE '^ok ' "$1" | head -60; fi
  tp=$((tp + ok)); tf=$((tf + nok))
}

# pg_regress prints "All N tests passed." or "M of N tests failed."
regress_count() { # log label
  local all n m
  all=$(grep -oE 'All [0-9]+ tests passed' "$1" | grep -oE '[0-9]+')
  if [ -n "$all" ]; then add "$all" 0 "$2"; return; fi
  read -r m n < <(grep -oE '[0-9]+ of [0-9]+ tests failed' "$1" | awk '{print $1, $3}')
  if [ -z "${n:-}" ]; then add 0 1 "$2"; else add $((n - m)) "$m" "$2"; fi
}

# 1. pg_regress
regress=$(ls sql/*.sql 2>/dev/null | pick | xargs -r -n1 basename | sed 's/\.sql$//' | tr '\n' ' ')
if [ -n "$regress" ]; then
  rm -f regression.diffs
  make -s installcheck REGRESS="$regress" >"$OUT/regress.log" 2>&1
  cat "$OUT/regress.log" | grep -E '^(ok|not ok|test |     )' | sed 's/^/  /'
  regress_count "$OUT/regress.log" regress
  [ -f regression.diffs ] && { echo "-- regression.diffs:"; cat regression.diffs; }
fi

# 2. pgTAP
tp=0 tf=0
for f in $(ls test/pgtap/*.sql 2>/dev/null | pick); do
  db="hp_tap_$(basename "$f" .sql | tr -c 'a-z0-9_\n' '_')"
  dropdb --if-exists "$db" 2>/dev/null; createdb "$db"
  psql -q -d "$db" -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION pgtap; CREATE EXTENSION healthpass;' >/dev/null
  pg_prove -v -d "$db" "$f" >"$OUT/$(basename "$f").tap" 2>&1; rc=$?
  tap_count "$OUT/$(basename "$f").tap" "$rc" "$f"
  dropdb "$db"
done
add "$tp" "$tf" pgtap

# 3. isolation specs
specs=$(ls test/isolation/specs/*.spec 2>/dev/null | pick | xargs -r -n1 basename | sed 's/\.spec$//')
if [ -n "$specs" ]; then
  ISO=$(dirname "$(pg_config --pgxs)")/../test/isolation/pg_isolation_regress
  # shellcheck disable=SC2086
  "$ISO" --inputdir=test/isolation --outputdir="$OUT/isolation" \
    --bindir="$(pg_config --bindir)" --dbname=hp_isolation \
    --load-extension=healthpass $specs >"$OUT/isolation.log" 2>&1
  grep -E '^(ok|not ok|test )' "$OUT/isolation.log" | sed 's/^/  /'
  regress_count "$OUT/isolation.log" isolation
  [ -f "$OUT/isolation/regression.diffs" ] && { echo "-- isolation diffs:"; cat "$OUT/isolation/regression.diffs"; }
fi

# 4. scripts printing TAP
tp=0 tf=0
for f in $(ls test/scripts/*.sh 2>/dev/null | pick); do
  bash "$f" >"$OUT/$(basename "$f").tap" 2>&1; rc=$?
  tap_count "$OUT/$(basename "$f").tap" "$rc" "$f"
done
add "$tp" "$tf" scripts

# 5. doc test: README.md, then the manual in doc/ (test/doctest.sh --list)
docs=${HP_DOCS:-}
[ -z "$only" ] && [ -z "$docs" ] && docs=all
tp=0 tf=0
if [ -n "$docs" ]; then
  # several files are run as one document, in the order given
  if [ "$docs" = all ]; then docs=$(bash test/doctest.sh --list | tr '\n' ' '); fi
  # shellcheck disable=SC2086
  bash test/doctest.sh $docs >"$OUT/doctest.tap" 2>&1; rc=$?
  tap_count "$OUT/doctest.tap" "$rc" "doc test"
fi
add "$tp" "$tf" doc

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
