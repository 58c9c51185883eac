#!/usr/bin/env bash
# Installs whatever healthpass needs to build, test and demo on Debian 12,
# with apt-get, and only what is missing. Run as root (make test and
# make demo call it first).
set -euo pipefail
PGVER=${PGVER:-15}
pkgs=(
  make gcc
  "postgresql-$PGVER" "postgresql-server-dev-$PGVER" postgresql-common
  libsodium-dev libqrencode-dev libpng-dev zlib1g-dev libfreetype-dev fonts-wqy-microhei libssl-dev
  "postgresql-$PGVER-pgtap" libtap-parser-sourcehandler-pgtap-perl
  zbar-tools librsvg2-bin qrencode bc
  python3-cbor2 python3-cryptography
  clang-14 libclang-rt-14-dev
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: these packages are missing and installing them needs root: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# the packaged cluster is not needed: tests and the demo make their own
mkdir -p /etc/postgresql-common
grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
  echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
