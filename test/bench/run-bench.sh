#!/usr/bin/env bash
# make bench: runs every test/bench/*.sh (or those matching $1) inside one
# throwaway cluster. Each benchmark measures its raw baseline in the same
# run, alternating A and B, and prints medians and ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
PGVER=${PGVER:-15}
if [ "${HP_IN_VENV:-}" != 1 ]; then
  exec env HP_IN_VENV=1 pg_virtualenv -t -v "$PGVER" "$0" "$@"
fi
export PATH="/usr/lib/postgresql/$PGVER/bin:$PATH"
export PGDATABASE=postgres
for b in test/bench/*.sh; do
  case "$b" in */run-bench.sh) continue ;; esac
  [ -n "${1:-}" ] && ! echo "$b" | grep -qE -- "$1" && continue
  echo "== $b"
  bash "$b"
done
