#!/usr/bin/env bash
# Settings, rules, notices and keys survive pg_dump / restore (TAP), in
# plain and in custom format: every row CREATE EXTENSION inserts is either
# not dumped or dumped only as far as the user changed it, so a restore into
# a fresh database (which creates the extension first) raises no error and
# every settings function answers as in the source; tokens issued before the
# dump still verify after the restore.
set -u
cd "$(dirname "$0")/../.."
src=hp_settings_dump_src
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$@"; }
n=0
check() { # description expected actual
  n=$((n + 1))
  if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   expected: $2" | head -20; echo "#   got:      $3" | head -20; fi
}
dropdb --if-exists "$src" >/dev/null 2>&1; createdb "$src"
mo_list=$(python3 -c "
import json; d = json.load(open('test/vectors/hp1-vectors.json'))
keys = [k for k in d['trust_list']['keys'] if k.get('iss') == 'MO']
print(json.dumps({'issuer': 'MO', 'generated_at': '2026-01-01T00:00:00Z', 'keys': keys}))")
# change every setting, rule, rule set, notice, key and revocation there is
q "$src" >/dev/null <<SQL
CREATE EXTENSION healthpass;
SELECT healthpass.configure_health(code_valid_for => '5 minutes', declaration_valid_for => '2 days');
SELECT healthpass.publish_notice('registration_notice', 'Notice', 'Read me.');
SELECT healthpass.publish_notice('registration_notice', 'Notice v2', 'Read me again.');
SELECT healthpass.publish_notice('commitment_letter', 'Letter', 'I promise.');
SELECT healthpass.add_colour_rule('yellow', 'temperature 37.0 °C or higher',
                                  '{"fact": "temperature", "op": ">=", "value": 37.0}', 95);
SELECT healthpass.retire_colour_rule(8);
SELECT healthpass.declare_risk_area('广东省珠海市');
SELECT healthpass.issue_token('health', '{"c": "green"}', '1 day');
SELECT healthpass.rotate_signing_key('2 years');
SELECT healthpass.import_trust_list('$mo_list'::jsonb);
SELECT healthpass.revoke_token('\x00112233445566778899aabbccddeeff', 'lost phone');
SQL
token=$(q "$src" -c "SELECT healthpass.issue_token('health', '{\"c\": \"green\"}', '1 day')")
old_revoked=$(q "$src" -c "SELECT healthpass.issue_token('health', '{\"c\": \"green\"}', '1 day')")
q "$src" -c "SELECT healthpass.revoke_token((healthpass.verify_token('$old_revoked')).token_id, 'test')" >/dev/null
# what every settings function says
state="SELECT row(s.*)::text FROM healthpass.health_settings() s
UNION ALL SELECT string_agg(row(s.name, s.value, s.changed, s.updated_at)::text, ';' ORDER BY s.name) FROM healthpass.settings() s
UNION ALL SELECT coalesce(string_agg(row(r.rule_id, r.priority, r.colour, r.reason, r.condition, r.created_by,
                 -- the shipped rules are made when the extension is created
                 CASE WHEN r.created_by <> 'healthpass' THEN r.created_at END)::text, ';' ORDER BY r.rule_id), '')
            FROM healthpass.colour_rules() r
UNION ALL SELECT coalesce(string_agg(row(v.*)::text, ';' ORDER BY v.version), '') FROM healthpass.colour_rulesets() v
UNION ALL SELECT coalesce(string_agg(row(k.*)::text, ';' ORDER BY k.kid, k.issuer), '') FROM healthpass.signing_keys() k
UNION ALL SELECT row(c.*)::text FROM healthpass.current_notice('registration_notice') c
UNION ALL SELECT row(c.*)::text FROM healthpass.current_notice('commitment_letter') c
UNION ALL SELECT coalesce(string_agg(row(a.*)::text, ';' ORDER BY a.area_id), '') FROM healthpass.risk_areas(true) a
UNION ALL SELECT (healthpass.trust_list() - 'generated_at')::text
UNION ALL SELECT (healthpass.revocation_list() - 'generated_at')::text
UNION ALL SELECT coalesce((healthpass.verify_token('$token')).reason, 'valid')
UNION ALL SELECT coalesce((healthpass.verify_token('$old_revoked')).reason, 'valid')"
before=$(q "$src" -c "$state")
check "the source answers: token valid, revoked token revoked" "valid revoked" \
  "$(echo "$before" | tail -2 | tr '\n' ' ' | sed 's/ $//')"
check "the source keeps changed settings" '(00:05:00,"2 days",' "$(echo "$before" | head -1 | cut -c1-19)"
err=$(mktemp); trap 'rm -f "$err" "$err.dump"' EXIT
for format in plain custom; do
  dst="hp_settings_dump_$format"
  dropdb --if-exists "$dst" >/dev/null 2>&1; createdb "$dst"
  if [ "$format" = plain ]; then
    pg_dump -d "$src" -f "$err.dump" && psql -X -q -v ON_ERROR_STOP=1 -d "$dst" -f "$err.dump" >/dev/null 2>"$err"
  else
    pg_dump -Fc -d "$src" -f "$err.dump" && pg_restore --exit-on-error -d "$dst" "$err.dump" 2>"$err"
  fi
  check "$format: the restore raises no error" "" "$(grep -E 'ERROR|error' "$err" | head -3)"
  check "$format: every settings function answers as in the source" "" \
    "$(diff <(echo "$before") <(q "$dst" -c "$state"))"
  check "$format: a fresh health code uses the restored validity" "00:05:00" \
    "$(q "$dst" -c "SELECT c.expires_at - v.issued_at FROM healthpass.register_person('cn_resident_id', '440104199003071239', '王小明') p,
                    healthpass.health_code(p) c, healthpass.verify_token(c.token) v")"
  dropdb "$dst"
done
echo "1..$n"
dropdb "$src"
