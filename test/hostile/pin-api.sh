#!/usr/bin/env bash
# Regenerates the pinned API surface of test/pgtap/98_api_surface.sql from
# the extension as installed now (run `make install` first):
#
#     flock /tmp/healthpass-build.lock make -s install && test/hostile/pin-api.sh
#
# In a throwaway cluster (pg_virtualenv, as test/run-tests.sh does), it
# creates the extension in a fresh database, runs the file's own SURFACE
# QUERY block and rewrites the rows between "-- BEGIN PINNED" and
# "-- END PINNED", one routine a line, sorted. Review `git diff` of the file:
# every changed line is a changed signature, volatility, security or grant.
set -eu
cd "$(dirname "$0")/../.."
PGVER=${PGVER:-15}
if [ "${HP_IN_VENV:-}" != 1 ]; then
  exec env HP_IN_VENV=1 pg_virtualenv -t -v "$PGVER" "$0" "$@"
fi
export PATH="/usr/lib/postgresql/$PGVER/bin:$PATH"
f=test/pgtap/98_api_surface.sql
db=hp_pin_api
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
dropdb --if-exists "$db" >/dev/null 2>&1 || true
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION healthpass'
{ sed -n '/^-- BEGIN SURFACE QUERY/,/^-- END SURFACE QUERY/p' "$f"
  echo "SELECT format('    (%L, %L, %L, %L, %L, %L, %L)', sig, kind, result, volatility, security, search_path, executors)
          FROM api_now ORDER BY sig;"
} | psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >"$tmp/rows"
dropdb "$db"
n=$(wc -l <"$tmp/rows")
[ "$n" -gt 0 ] || { echo "no routines found" >&2; exit 1; }
sed '$!s/$/,/' "$tmp/rows" >"$tmp/rows2"
awk -v rows="$tmp/rows2" '
  /^-- BEGIN PINNED/ { print; while ((getline l < rows) > 0) print l; skip = 1; next }
  /^-- END PINNED/   { skip = 0 }
  !skip { print }' "$f" >"$tmp/new"
grep -q '^-- BEGIN PINNED' "$tmp/new" && grep -q '^-- END PINNED' "$tmp/new"
cat "$tmp/new" >"$f"
echo "pinned $n routines in $f"
