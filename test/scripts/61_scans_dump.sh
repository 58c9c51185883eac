#!/usr/bin/env bash
# The scan history survives pg_dump / restore (TAP): its day partitions are
# ordinary tables of the database (not members of the extension), so a dump
# carries them and their rows, and a restore attaches them to the
# extension's partitioned table again; venues, staff, checks and alerts
# are dumped as extension configuration tables.
set -u
cd "$(dirname "$0")/../.."
src=hp_scans_dump_src dst=hp_scans_dump_dst
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$@"; }
n=0
check() { # description expected actual
  n=$((n + 1))
  if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   expected: $2"; echo "#   got:      $3" | head -20; fi
}
dropdb --if-exists "$src" >/dev/null 2>&1; dropdb --if-exists "$dst" >/dev/null 2>&1
createdb "$src" && createdb "$dst"
q "$src" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION healthpass;
SELECT healthpass.scan_maintenance();
CREATE TEMP TABLE ids AS
SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明') AS m,
       healthpass.register_person('cn_resident_id', '440104199003071247', '李红') AS s,
       healthpass.register_person('cn_resident_id', '440606198506153311', '赵六') AS g;
SELECT healthpass.register_venue(m, 'uscc', '91350100M000100Y43', '图书馆', '太平镇', '人民路 1 号',
                                 '0537-1234567', '\xffd8ffe000104a46494600') FROM ids;
SELECT healthpass.add_venue_staff(m, (SELECT venue_id FROM healthpass.venue), 'cn_resident_id', '440104199003071247', '李红') FROM ids;
SELECT s.* FROM ids, healthpass.scan_venue_code(g, healthpass.venue_code(m, (SELECT venue_id FROM healthpass.venue))) s;
SELECT healthpass.record_test_result(g, 'Lab', 'R-1', now() - interval '1 day', 'positive') FROM ids;
SELECT pg_sleep(1.1);
UPDATE healthpass.person SET phone = '13800138000' WHERE doc_number = '440606198506153311';
SELECT c.* FROM ids, healthpass.staff_manual_check(s, (SELECT venue_id FROM healthpass.venue), 'cn_resident_id',
                                                   '440606198506153311', '赵六', '13800138000') c;
SQL
state="SELECT (SELECT count(*) FROM healthpass.scan) || ' ' || (SELECT count(*) FROM healthpass.venue) || ' '
          || (SELECT count(*) FROM healthpass.venue_staff) || ' ' || (SELECT count(*) FROM healthpass.venue_alert) || ' '
          || (SELECT count(*) FROM pg_inherits WHERE inhparent = 'healthpass.scan'::regclass)"
before=$(q "$src" -c "$state")
err=$(mktemp); trap 'rm -f "$err"' EXIT
pg_dump -d "$src" | psql -X -q -v ON_ERROR_STOP=1 -d "$dst" >/dev/null 2>"$err"
check "the restore raises no error" "" "$(grep -E 'ERROR' "$err" | head -3)"
check "the scans, venues, staff, alerts and day partitions come back" "$before" "$(q "$dst" -c "$state")"
check "the restored database records new scans into the restored partitions" "t" \
  "$(q "$dst" -c "SELECT recorded FROM healthpass.scan_venue_code(
        healthpass.register_person('cn_resident_id', '440606195508084416', '王大爷'),
        healthpass.venue_code(healthpass.find_person('cn_resident_id', '440104199003071239'),
                              (SELECT venue_id FROM healthpass.venue)))" 2>&1)"
echo "1..$n"
dropdb "$src"; dropdb "$dst"
