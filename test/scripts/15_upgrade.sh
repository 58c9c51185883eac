#!/usr/bin/env bash
# ALTER EXTENSION healthpass UPDATE (TAP). Installs every released version
# from its frozen install script (sql/versions/), fills it through that
# version's API, updates to the current version and checks that
#   (a) the catalogue equals a fresh install's (test/upgrade/catalog.sql:
#       every routine, table, column, constraint, index, trigger, type,
#       grant, comment and dump filter), and
#   (b) the data survives: row counts, look-ups, and tokens issued before
#       the update still verify after it.
set -u
cd "$(dirname "$0")/../.."
HP_OUT=${HP_OUT:-test/out}; mkdir -p "$HP_OUT"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$@"; }
n=0
check() { # description expected actual
  n=$((n + 1))
  if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   expected: $2"; echo "#   got:      $3" | head -40; fi
}
current=$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" healthpass.control)
fresh=hp_upgrade_fresh
dropdb --if-exists "$fresh" >/dev/null 2>&1; createdb "$fresh"
q "$fresh" -c 'CREATE EXTENSION healthpass' >/dev/null
q "$fresh" -f test/upgrade/catalog.sql >"$HP_OUT/catalog-fresh.txt"
check "the catalogue description of a fresh install is not empty" "t" \
  "$( [ "$(grep -c '^function ' $HP_OUT/catalog-fresh.txt)" -gt 100 ] && echo t)"
check "a fresh install is at $current" "$current" "$(q "$fresh" -c "SELECT extversion FROM pg_extension WHERE extname = 'healthpass'")"

for script in sql/versions/healthpass--*.sql; do
  old=$(basename "$script" .sql); old=${old#healthpass--}
  case "$old" in *--*) continue ;; esac   # a frozen update script, not a release
  # record_realname_result gained the checked version in 0.2.0
  case "$old" in
    0.1.0) realname="healthpass.record_realname_result(healthpass.find_person('cn_resident_id', '440104199003071239'), 'approved')" ;;
    *) realname="healthpass.record_realname_result(p.person_id, p.version, 'approved') FROM healthpass.person p
                 WHERE p.person_id = healthpass.find_person('cn_resident_id', '440104199003071239')" ;;
  esac
  db="hp_upgrade_${old//./_}"
  dropdb --if-exists "$db" >/dev/null 2>&1; createdb "$db"
  # fill the old version through its own API
  q "$db" >/dev/null <<SQL
CREATE EXTENSION healthpass VERSION '$old';
SELECT healthpass.publish_notice('registration_notice', 'Notice', 'Read me.');
SELECT healthpass.publish_notice('commitment_letter', 'Letter', 'I promise.');
SELECT healthpass.submit_entry(healthpass.register_person('cn_resident_id', n, name), 1, jsonb_build_object(
         'arrival_port', 'Gongbei', 'arrival_date', current_date::text, 'transport_mode', 'on_foot',
         'departure_country', 'MAC', 'departure_city', 'Macau', 'destination_district', 'Chancheng',
         'destination_address', '2 Zumiao Road', 'contact_phone', '13800138000', 'purpose', 'tourism'))
  FROM (VALUES ('440104199003071239', '王小明'), ('440104199003071247', '李红')) v(n, name);
SELECT healthpass.bind_companion(healthpass.find_person('cn_resident_id', '440104199003071239'),
                                 'cn_resident_id', '440104199003071247');
SELECT $realname;
SELECT healthpass.record_face_check(healthpass.find_person('cn_resident_id', '440104199003071239'),
                                    'CTID', 'passed', '\xffd8ffe000104a46494600');
SELECT healthpass.apply_epass(healthpass.find_person('cn_resident_id', '440104199003071239'), 1,
         '{"residence_district": "Chancheng", "residence_address": "3 Lianhua Road"}');
SELECT healthpass.add_family_member(healthpass.find_person('cn_resident_id', '440104199003071239'),
         'cn_resident_id', '440606195508084416', '王大爷', 'parent');
SELECT healthpass.record_test_result(healthpass.find_person('cn_resident_id', '440104199003071247'),
         'Lab', 'R-1', now() - interval '1 day', 'negative');
SELECT healthpass.configure_health(code_valid_for => '5 minutes');
SELECT healthpass.add_colour_rule('yellow', 'temperature 37.0 °C or higher',
                                  '{"fact": "temperature", "op": ">=", "value": 37.0}', 95);
SQL
  state="SELECT (SELECT count(*) FROM healthpass.person) || ' ' || (SELECT count(*) FROM healthpass.person_history)
          || ' ' || (SELECT count(*) FROM healthpass.companion_of) || ' ' || (SELECT count(*) FROM healthpass.epass)
          || ' ' || (SELECT count(*) FROM healthpass.family_member) || ' ' || (SELECT count(*) FROM healthpass.test_result)
          || ' ' || (SELECT count(*) FROM healthpass.signing_key)"
  before=$(q "$db" -c "$state")
  token=$(q "$db" -c "SELECT healthpass.issue_token('health', '{\"c\": \"green\"}', '1 day')")
  code=$(q "$db" -c "SELECT token FROM healthpass.health_code(healthpass.find_person('cn_resident_id', '440104199003071247'))")
  err=$(q "$db" -c 'ALTER EXTENSION healthpass UPDATE' 2>&1 >/dev/null)
  check "$old: ALTER EXTENSION healthpass UPDATE runs without error" "" "$err"
  check "$old: the update reaches $current" "$current" \
    "$(q "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'healthpass'")"
  q "$db" -f test/upgrade/catalog.sql >"$HP_OUT/catalog-$old.txt"
  check "$old: the updated catalogue equals a fresh install's" "" \
    "$( [ -s "$HP_OUT/catalog-$old.txt" ] || echo "no catalogue description"; diff "$HP_OUT/catalog-fresh.txt" "$HP_OUT/catalog-$old.txt" | head -40)"
  check "$old: every row survives the update" "$before" "$(q "$db" -c "$state")"
  check "$old: look-up by document works after the update" "t" \
    "$(q "$db" -c "SELECT healthpass.find_person('cn_resident_id', '440104199003071247') IS NOT NULL")"
  check "$old: a token issued before the update still verifies" "valid" \
    "$(q "$db" -c "SELECT coalesce(reason, 'valid') FROM healthpass.verify_token('$token')")"
  check "$old: a health code issued before the update still verifies" "valid" \
    "$(q "$db" -c "SELECT coalesce(reason, 'valid') FROM healthpass.verify_token('$code')")"
  check "$old: a changed setting survives the update, the unchanged ones keep their defaults" \
    "00:05:00 1 day code_valid_for" \
    "$(q "$db" -c "SELECT s.code_valid_for || ' ' || s.declaration_valid_for || ' ' || (SELECT string_agg(name, ',') FROM healthpass.setting) FROM healthpass.health_settings() s")"
  pid=$(q "$db" -c "SELECT healthpass.register_person('cn_resident_id', '440606198506153311', '赵六')")
  check "$old: a rule set made before the update still computes colours" "2 true" \
    "$(q "$db" -c "SELECT (SELECT max(version) FROM healthpass.colour_rulesets()) || ' ' || (c.colour IS NOT NULL)
                     FROM healthpass.colour_status(${pid:-0}) c" 2>&1)"
  check "$old: the updated database issues new codes" "valid" \
    "$(q "$db" -c "SELECT coalesce(v.reason, 'valid') FROM healthpass.health_code(healthpass.find_person('cn_resident_id', '440104199003071239')) c, healthpass.verify_token(c.token) v")"
  dropdb "$db"
done
echo "1..$n"
dropdb "$fresh"
