#!/bin/bash
# Build and install Citus 13.2.2 from ../shared/citus/ once, cached.
#
# The installed result is keyed by the sha256 of the source tarball: a stamp
# /var/cache/healthpass-citus/<sha256>.stamp records a finished install, and a
# later run does nothing while that stamp exists and citus.so is still in the
# server's library directory. The build itself runs under `nice`.
#
#   test/citus/build-citus.sh            build if needed
#   CITUS_FORCE=1 test/citus/build-citus.sh   rebuild anyway
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PGVER=${PGVER:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PGVER/bin/pg_config}
cache=${CITUS_CACHE:-/var/cache/healthpass-citus}
# the source: CITUS_DIR, else shared/citus next to the work tree (a clone
# elsewhere, such as CI's, looks in the workplace's shared folder too)
if [ -z "${CITUS_DIR:-}" ]; then
    for d in "$root/../shared/citus" /work/shared/citus; do
        if [ -f "$d/citus-v13.2.2.tar.gz" ]; then CITUS_DIR=$d; break; fi
    done
fi
CITUS_DIR=${CITUS_DIR:-$root/../shared/citus}
tarball=$CITUS_DIR/citus-v13.2.2.tar.gz
patchfile=$CITUS_DIR/citus-v13.2.2-pg15.20-have_createdb_privilege.patch

installed() { # stamp
    [ -x "$PG_CONFIG" ] || return 1
    local lib share
    lib=$("$PG_CONFIG" --pkglibdir); share=$("$PG_CONFIG" --sharedir)
    [ -f "$1" ] && [ -f "$lib/citus.so" ] && [ -f "$share/extension/citus.control" ]
}

if [ ! -f "$tarball" ]; then
    # no source here: a Citus this script built and installed before will do
    for stamp in "$cache"/*.pg"$PGVER".stamp; do
        if [ -z "${CITUS_FORCE:-}" ] && installed "$stamp"; then
            echo "build-citus: $tarball is missing; using the Citus installed from sha256 $(basename "$stamp" | cut -c1-12)"
            exit 0
        fi
    done
    echo "build-citus: $tarball is missing (set CITUS_DIR to the folder with the Citus 13.2.2 tarball and its patch)" >&2
    exit 1
fi
sum=$(sha256sum "$tarball" | cut -d' ' -f1)
stamp=$cache/$sum.pg$PGVER.stamp

if [ -z "${CITUS_FORCE:-}" ] && installed "$stamp"; then
    echo "build-citus: Citus from $(basename "$tarball") (sha256 ${sum:0:12}) is already installed"
    exit 0
fi

# Debian build dependencies, installed only when missing
need=()
for p in postgresql-server-dev-$PGVER libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev libssl-dev make gcc patch; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "build-citus: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

work=$(mktemp -d /tmp/healthpass-citus-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "build-citus: building Citus in $work (sha256 ${sum:0:12}); this takes about 5 minutes"
start=$(date +%s)
tar -xzf "$tarball" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n1)
[ -f "$src/configure" ] || src=$work
cd "$src"
patch -p1 --forward < "$patchfile"
nice -n 10 ./configure PG_CONFIG="$PG_CONFIG" > "$work/configure.log" 2>&1 \
    || { tail -n 40 "$work/configure.log" >&2; exit 1; }
nice -n 10 make -j2 -s > "$work/make.log" 2>&1 || { tail -n 60 "$work/make.log" >&2; exit 1; }
make -s install > "$work/install.log" 2>&1 || { tail -n 40 "$work/install.log" >&2; exit 1; }

mkdir -p "$cache"
rm -f "$cache"/*.pg$PGVER.stamp
{ echo "tarball=$(basename "$tarball")"; echo "sha256=$sum"; echo "pg_config=$PG_CONFIG";
  echo "built=$(date -u +%FT%TZ)"; echo "seconds=$(( $(date +%s) - start ))"; } > "$stamp"
echo "build-citus: installed in $(( $(date +%s) - start ))s; stamp $stamp"
