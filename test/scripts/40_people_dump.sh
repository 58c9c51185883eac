#!/usr/bin/env bash
# People survive pg_dump / restore (TAP): the person, look-up, history,
# registration, companion, photo, e-pass and family tables are extension
# configuration tables, so a dump carries their rows and a restore into a
# fresh database gives the same people, the same look-ups and working
# functions (the identity sequence continues after the restored ids).
set -u
src=hp_people_dump_src dst=hp_people_dump_dst
dropdb --if-exists "$src" >/dev/null 2>&1; dropdb --if-exists "$dst" >/dev/null 2>&1
createdb "$src" && createdb "$dst"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$@"; }
n=0
check() { # description expected actual
  n=$((n + 1))
  if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   expected: $2"; echo "#   got:      $3"; fi
}
q "$src" <<'SQL' >/dev/null
CREATE EXTENSION healthpass;
SELECT healthpass.publish_notice('registration_notice', 'Notice', 'Read me.');
SELECT healthpass.publish_notice('commitment_letter', 'Letter', 'I promise.');
SELECT healthpass.submit_entry(healthpass.register_person('cn_resident_id', n, name), 1, jsonb_build_object(
         'arrival_port', 'Gongbei', 'arrival_date', current_date::text, 'transport_mode', 'on_foot',
         'departure_country', 'MAC', 'departure_city', 'Macau', 'destination_district', 'Chancheng',
         'destination_address', '2 Zumiao Road', 'contact_phone', '13800138000', 'purpose', 'tourism'))
  FROM (VALUES ('440104199003071239', '王小明'), ('440104199003071247', '李红')) v(n, name);
SELECT healthpass.bind_companion(healthpass.find_person('cn_resident_id', '440104199003071239'),
                                 'cn_resident_id', '440104199003071247');
SELECT healthpass.edit_person(healthpass.find_person('cn_resident_id', '440104199003071239'), '{"phone": "13900139000"}');
SELECT healthpass.record_realname_result(healthpass.find_person('cn_resident_id', '440104199003071239'), (healthpass.person_info(healthpass.find_person('cn_resident_id', '440104199003071239'))->>'version')::integer, 'approved');
SELECT healthpass.record_face_check(healthpass.find_person('cn_resident_id', '440104199003071239'),
                                    'CTID', 'passed', '\xffd8ffe000104a46494600');
SELECT healthpass.apply_epass(healthpass.find_person('cn_resident_id', '440104199003071239'), 1,
         '{"residence_district": "Chancheng", "residence_address": "3 Lianhua Road"}');
SELECT healthpass.add_family_member(healthpass.find_person('cn_resident_id', '440104199003071239'),
         'cn_resident_id', '440606195508084416', '王大爷', 'parent');
SQL
state="SELECT (SELECT count(*) FROM healthpass.person) || ' ' || (SELECT count(*) FROM healthpass.person_history)
        || ' ' || (SELECT count(*) FROM healthpass.document_index) || ' ' || (SELECT count(*) FROM healthpass.companion_of)
        || ' ' || (SELECT count(*) FROM healthpass.certified_photo) || ' ' || (SELECT count(*) FROM healthpass.epass)
        || ' ' || (SELECT count(*) FROM healthpass.family_member) || ' ' || (SELECT count(*) FROM healthpass.notice)"
before=$(q "$src" -c "$state")
# restore as pg_dump's users do (psql, going on after errors), then look for
# errors about this domain's tables (other domains test their own)
err=$(mktemp); trap 'rm -f "$err"' EXIT
pg_dump -d "$src" | psql -X -q -d "$dst" >/dev/null 2>"$err"
ours='(person|person_history|document_index|ref_index|notice|notice_acceptance|entry_registration|entry_registration_history|code_issued|entry_code_issued|companion|companion_of|face_check|certified_photo|epass|epass_history|family_member|family_member_history)'
check "restore raises no error about the people tables" "" \
  "$(grep -B2 -E "(COPY|relation|table|sequence) \"?(healthpass\.)?${ours}(_[a-z_]+_seq)?\"?[ ,:]" "$err" | grep -E 'ERROR' | head -3)"
check "the dump carries every people table's rows" "$before" "$(q "$dst" -c "$state")"
check "look-up by document works after restore" \
  "$(q "$src" -c "SELECT healthpass.find_person('cn_resident_id', '440104199003071247')")" \
  "$(q "$dst" -c "SELECT healthpass.find_person('cn_resident_id', '440104199003071247')")"
check "the group pages in the same order after restore" \
  "$(q "$src" -c "SELECT string_agg(person_ref::text, ',' ORDER BY pos) FROM healthpass.group_codes(healthpass.find_person('cn_resident_id', '440104199003071247'))")" \
  "$(q "$dst" -c "SELECT string_agg(person_ref::text, ',' ORDER BY pos) FROM healthpass.group_codes(healthpass.find_person('cn_resident_id', '440104199003071247'))")"
restored_max=$(q "$dst" -c "SELECT max(person_id) FROM healthpass.person")
check "new people get ids after the restored ones" "t" \
  "$(q "$dst" -c "SELECT healthpass.register_person('cn_resident_id', '440606198506153311', '赵六') > $restored_max")"
check "the e-pass page works after restore" "active" \
  "$(q "$dst" -c "SELECT healthpass.epass_page(healthpass.find_person('cn_resident_id', '440104199003071239'))->>'status'")"
echo "1..$n"
dropdb "$src"; dropdb "$dst"
