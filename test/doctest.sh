#!/usr/bin/env bash
# Doc test: runs every ```sql block of the manual, in order, in one fresh
# database, one psql session per block, stopping a block at its first
# error. Prints TAP: one line a block, named by its file and the line it
# starts on.
#
#   test/doctest.sh                  README.md, then every doc/*.md (ORDER below)
#   test/doctest.sh FILE...          only these files, in the order given
#   test/doctest.sh --list           print the files the first form runs
#
# The order matters: later blocks use people, keys and tables that earlier
# blocks made (the health walk-through scans codes of people the people
# walk-through registered, and so on). ORDER lists the files whose blocks
# depend on one another, front door first; every other doc/*.md follows in
# name order, so a new manual page is run without being listed here.
set -u
cd "$(dirname "$0")/.." || exit 1
ORDER="README.md doc/identity.md doc/tokens.md doc/qr.md doc/people.md doc/health.md doc/venues.md doc/scans.md doc/tracing.md doc/reports.md doc/border.md doc/reminders.md doc/transfer.md doc/architecture.md doc/records.md doc/hc1.md"

all_docs() {
  local f
  for f in $ORDER; do echo "$f"; done
  for f in doc/*.md; do
    [ -e "$f" ] || continue
    case " $ORDER " in *" $f "*) ;; *) echo "$f" ;; esac
  done
}

if [ "${1:-}" = --list ]; then all_docs; exit 0; fi
if [ $# -gt 0 ]; then docs=("$@"); else mapfile -t docs < <(all_docs); fi

db=hp_doctest
dropdb --if-exists "$db" 2>/dev/null; createdb "$db"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
n=0 failed=0
for doc in "${docs[@]}"; do
  if [ ! -f "$doc" ]; then
    n=$((n + 1)); failed=1
    echo "not ok $n - $doc: no such file"
    continue
  fi
  # split the file's blocks into files numbered in running order, each
  # with its label (file and starting line) beside it
  rm -f "$work"/*
  awk -v dir="$work" -v doc="$doc" '
    /^```sql[[:space:]]*$/ { inblock = 1; k++; file = sprintf("%s/%04d.sql", dir, k)
                             printf "" > file; print doc " block at line " NR > (file ".label"); close(file ".label"); next }
    /^```/ && inblock { inblock = 0; close(file); next }
    inblock { print > file }
  ' "$doc"
  for f in "$work"/*.sql; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    label=$(cat "$f.label")
    if out=$(psql -X -q -d "$db" -v ON_ERROR_STOP=1 -f "$f" 2>&1); then
      echo "ok $n - $label"
    else
      echo "not ok $n - $label"
      echo "$out" | sed 's/^/# /'
    fi
  done
done
echo "1..$n"
dropdb "$db"
[ "$failed" -eq 0 ]
