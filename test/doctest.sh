#!/usr/bin/env bash
# Doc test: runs every ```sql block of a Markdown file, in order, in one
# fresh database, stopping a block at its first error. Prints TAP: one line
# a block, named by the line it starts on.
set -u
doc=${1:-README.md}
db=hp_doctest
dropdb --if-exists "$db" 2>/dev/null; createdb "$db"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# split the blocks into files named by their starting line
awk -v dir="$work" '
  /^```sql[[:space:]]*$/ { inblock = 1; n++; start = NR; file = sprintf("%s/%04d_%d.sql", dir, n, start); next }
  /^```/ && inblock { inblock = 0; close(file); next }
  inblock { print > file }
' "$doc"
n=0
for f in "$work"/*.sql; do
  [ -e "$f" ] || continue
  n=$((n + 1))
  line=${f##*_}; line=${line%.sql}
  if out=$(psql -X -q -d "$db" -v ON_ERROR_STOP=1 -f "$f" 2>&1); then
    echo "ok $n - $doc block at line $line"
  else
    echo "not ok $n - $doc block at line $line"
    echo "$out" | sed 's/^/# /'
  fi
done
echo "1..$n"
dropdb "$db"
