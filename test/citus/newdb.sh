#!/bin/bash
# test/citus/newdb.sh DIR DB [drop]: makes database DB on every node of the
# cluster in DIR (Citus does not propagate CREATE DATABASE by default),
# creates the citus extension in it on every node and registers the
# coordinator and the workers in its metadata; "drop" drops it everywhere.
set -euo pipefail
dir=$1 db=$2
read -r base w1 w2 < "$dir/ports"
run() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -h "$dir" -U postgres -v ON_ERROR_STOP=1 "$@"; }
if [ "${3:-}" = drop ]; then
    for p in $base $w1 $w2; do run -p "$p" -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
    exit 0
fi
for p in $base $w1 $w2; do
    run -p "$p" -d postgres -c "CREATE DATABASE $db" >/dev/null
    run -p "$p" -d "$db" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION citus' >/dev/null
done
run -p "$base" -d "$db" -c "SELECT citus_set_coordinator_host('127.0.0.1', $base)" \
    -c "SELECT citus_add_node('127.0.0.1', $w1)" -c "SELECT citus_add_node('127.0.0.1', $w2)" >/dev/null
