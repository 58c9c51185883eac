#!/usr/bin/env bash
# make demo: a throwaway cluster, the extension, and test/demo/demo.sql,
# then test/demo/*.sql in name order, which show the main job as far as it exists. Images and other output go
# to demo-out/ (DEMO_OUT to change).
set -euo pipefail
cd "$(dirname "$0")/../.."
PGVER=${PGVER:-15}
if [ "${HP_IN_VENV:-}" != 1 ]; then
  exec env HP_IN_VENV=1 pg_virtualenv -t -v "$PGVER" "$0" "$@"
fi
export PATH="/usr/lib/postgresql/$PGVER/bin:$PATH"
out=${DEMO_OUT:-$PWD/demo-out}
rm -rf "$out"; mkdir -p "$out"
createdb hp_demo
# one script per feature, in name order, all in the same database
for f in test/demo/*.sql; do
  psql -X -q -d hp_demo -v ON_ERROR_STOP=1 -v out="$out" -f "$f"
done
# files the demo wrote (psql's \copy / \o go through the client)
if [ -n "$(ls -A "$out")" ]; then
  echo; echo "demo output in $out:"; ls -l "$out" | tail -n +2 | sed 's/^/  /'
fi
