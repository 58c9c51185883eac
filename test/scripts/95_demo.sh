#!/usr/bin/env bash
# make demo runs to the end (TAP): every test/demo/*.sql, in the test
# cluster, with its images written to a temporary folder. The demo is what a
# newcomer runs first; a renamed or moved function must not break it.
set -u
cd "$(dirname "$0")/../.."
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
dropdb --if-exists hp_demo >/dev/null 2>&1
if log=$(HP_IN_VENV=1 DEMO_OUT="$out" bash test/demo/run-demo.sh 2>&1); then
  echo "ok 1 - make demo runs every step without an error"
else
  echo "not ok 1 - make demo runs every step without an error"
  echo "$log" | grep -E 'ERROR|error' | head -5 | sed 's/^/# /'
fi
n=$(ls "$out" | grep -c '\.png$')
if [ "$n" -ge 4 ]; then echo "ok 2 - the demo writes its QR images ($n PNG files)"; else echo "not ok 2 - the demo writes its QR images ($n PNG files)"; fi
echo "1..2"
dropdb --if-exists hp_demo >/dev/null 2>&1
