#!/bin/bash
# A throwaway Citus cluster on loopback: a coordinator and two workers.
#
#   test/citus/cluster.sh start DIR   initdb three nodes in DIR, start them,
#                                     and register the workers
#   test/citus/cluster.sh stop DIR    stop them (DIR is left for the caller)
#   test/citus/cluster.sh env DIR     print PGHOST/PGPORT lines for the coordinator
#
# Ports: CITUS_PORT (default 57636) for the coordinator and the next two for
# the workers; when any of them is taken, the next free block of three above
# it is used (outside pg_virtualenv's 5432-5440). The ports in use are written
# to DIR/ports. Every node listens on 127.0.0.1 only, trusts loopback
# connections, preloads citus with statistics collection off, and reads the
# same master key file DIR/master.key (32 random bytes): a signing key sealed
# on one node opens on every node (doc/citus.md).
#
# As root the servers run as the postgres user (as pg_virtualenv does); DIR
# is then given to that user.
set -euo pipefail

PGVER=${PGVER:-15}
BIN=/usr/lib/postgresql/$PGVER/bin
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|env DIR" >&2; exit 2; }

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

nodes="coordinator worker1 worker2"

start() {
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    local base=${CITUS_PORT:-57636}
    while ! { port_free "$base" && port_free $((base + 1)) && port_free $((base + 2)); }; do
        base=$((base + 3))
        [ "$base" -lt 65000 ] || { echo "cluster: no free ports" >&2; exit 1; }
    done
    echo "$base $((base + 1)) $((base + 2))" > "$dir/ports"
    as_pg sh -c "umask 077; head -c 32 /dev/urandom > '$dir/master.key'"
    local i=0 port
    for n in $nodes; do
        port=$((base + i)); i=$((i + 1))
        as_pg "$BIN/initdb" -D "$dir/$n" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/$n.initdb.log" 2>&1 \
            || { cat "$dir/$n.initdb.log" >&2; exit 1; }
        cat >> "$dir/$n/postgresql.conf" <<CONF
# test/citus/cluster.sh
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_preload_libraries = 'citus'
citus.enable_statistics_collection = off
healthpass.master_key_file = '$dir/master.key'
max_connections = 100
citus.shard_count = 4
shared_buffers = 64MB
fsync = off
synchronous_commit = off
full_page_writes = off
max_prepared_transactions = 100
log_min_messages = warning
CONF
        printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' > "$dir/$n/pg_hba.conf"
        as_pg "$BIN/pg_ctl" -D "$dir/$n" -l "$dir/$n.log" -w -t 60 start >/dev/null
    done
    psql_c() { as_pg "$BIN/psql" -X -q -h "$dir" -p "$base" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
    for p in $base $((base + 1)) $((base + 2)); do
        as_pg "$BIN/psql" -X -q -h "$dir" -p "$p" -U postgres -d postgres -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION citus' >/dev/null
    done
    psql_c -c "SELECT citus_set_coordinator_host('127.0.0.1', $base)" \
           -c "SELECT citus_add_node('127.0.0.1', $((base + 1)))" \
           -c "SELECT citus_add_node('127.0.0.1', $((base + 2)))" >/dev/null
    echo "cluster: coordinator 127.0.0.1:$base, workers :$((base + 1)) :$((base + 2)) in $dir"
}

stop() {
    dir=$(cd "$dir" && pwd)
    for n in $nodes; do
        [ -f "$dir/$n/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$dir/$n" -m immediate -w stop >/dev/null 2>&1 || true
    done
    return 0
}

case $cmd in
    start) start ;;
    stop) stop ;;
    env) dir=$(cd "$dir" && pwd); read -r b _ < "$dir/ports"
         echo "PGHOST=$dir"; echo "PGPORT=$b"; echo "PGUSER=postgres" ;;
    *) echo "usage: $0 start|stop|env DIR" >&2; exit 2 ;;
esac
