#!/usr/bin/env bash
# Benchmark of cross-border transfers (issue 13): export and import, each
# on one core (one backend, one statement looping over N travellers), in
# one run, with the split of the time between signing (issue_token of the
# same body), sealing or opening (the sealed box alone) and verifying, and
# the SQL around them. Target: at least 2,000 a second each.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${HP_BENCH_TRANSFERS:-2000}
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
for d in hp_bench_gd hp_bench_mo; do dropdb --if-exists "$d"; createdb "$d"; done
psql -X -q -d hp_bench_mo -c "ALTER DATABASE hp_bench_mo SET healthpass.issuer = 'MO'"
[ -n "${HP_BENCH_PROFILE:-}" ] && psql -X -q -d hp_bench_mo -c "ALTER DATABASE hp_bench_mo SET track_functions = 'all'"
for d in hp_bench_gd hp_bench_mo; do
  psql -X -q -d "$d" -c 'CREATE EXTENSION healthpass' \
       -c "SELECT healthpass.publish_notice('transfer_notice', 'n', 'n')" >/dev/null
done
psql -X -Atq -d hp_bench_gd -c 'SELECT healthpass.transfer_material()' >"$w/gd.json"
psql -X -Atq -d hp_bench_mo -c 'SELECT healthpass.transfer_material()' >"$w/mo.json"
psql -X -q -d hp_bench_gd -v m="$(cat "$w/mo.json")" <<< "SELECT healthpass.import_transfer_partner(:'m', true, true)" >/dev/null
psql -X -q -d hp_bench_mo -v m="$(cat "$w/gd.json")" <<< "SELECT healthpass.import_transfer_partner(:'m', true, true)" >/dev/null
# N green travellers with a passport each
psql -X -q -d hp_bench_gd <<SQL >/dev/null
SET client_min_messages = warning;
CREATE TABLE bench_people AS
SELECT i, healthpass.register_person('passport', 'BENCH' || lpad(i::text, 6, '0'), 'Person ' || chr(65 + i % 26),
                                     '1990-01-01', nationality => 'GBR') AS p
  FROM generate_series(1, $N) i;
SELECT count(healthpass.declare_health(p, false, false)) FROM bench_people;
SQL
ms() { # db sql -> milliseconds of the statement
  psql -X -q -d "$1" -c '\timing on' -c "$2" | awk '/^Time:/ {print $2}' | tail -1
}
export_ms=$(ms hp_bench_gd "CREATE TABLE bench_tokens AS SELECT r.token FROM bench_people b, LATERAL healthpass.request_transfer(b.p, 'MO', 1,
  jsonb_build_object('name', 'Person ' || chr(65 + b.i % 26), 'birth_date', '1990-01-01', 'doc_kind', 'passport',
                     'doc_number', 'BENCH' || lpad(b.i::text, 6, '0'), 'phone', '13900000000',
                     'fever_today', false, 'contact_14d', false, 'travel_14d', false)) r")
sign_ms=$(ms hp_bench_gd "SELECT count(healthpass.issue_token('transfer', (healthpass.verify_token(token)).body, '6 hours')) FROM bench_tokens")
seal_ms=$(ms hp_bench_gd "SELECT count(healthpass_internal._seal_box(k.public_key, convert_to(repeat('x', 700), 'UTF8')))
                            FROM bench_tokens, (SELECT public_key FROM healthpass.partner_sealing_key LIMIT 1) k")
psql -X -Atq -d hp_bench_gd -c 'SELECT token FROM bench_tokens' >"$w/tokens.txt"
psql -X -q -d hp_bench_mo -c 'CREATE TABLE bench_tokens (token text)' >/dev/null
psql -X -q -d hp_bench_mo -c "\\copy bench_tokens FROM '$w/tokens.txt'" >/dev/null
verify_ms=$(ms hp_bench_mo "SELECT count((healthpass.verify_token(token)).valid) FROM bench_tokens")
open_ms=$(ms hp_bench_mo "SELECT count(healthpass_internal._open_box(k.kid, k.secret_box,
                            healthpass_internal._b64url_decode('box', (healthpass.verify_token(token)).body->>'box')))
                            FROM bench_tokens, (SELECT kid, secret_box FROM healthpass.sealing_key LIMIT 1) k")
import_ms=$(ms hp_bench_mo "SELECT count(r.outcome) FROM bench_tokens t, LATERAL healthpass.import_transfer(t.token, '{\"phone\": \"85366660000\",
                              \"destination_city\": \"澳门\", \"address\": \"新马路 1 号\", \"sms_checked\": true, \"captcha_checked\": true}') r")
echo "# $N transfers, one backend each way (one core)"
awk -v n="$N" -v e="$export_ms" -v s="$sign_ms" -v l="$seal_ms" 'BEGIN {
  printf "export: %6.0f a second (target 2000); per transfer %.3f ms: signing %.3f, sealing %.3f, SQL %.3f\n",
         n / e * 1000, e / n, s / n, l / n, (e - s - l) / n }'
awk -v n="$N" -v i="$import_ms" -v v="$verify_ms" -v o="$open_ms" 'BEGIN {
  printf "import: %6.0f a second (target 2000); per transfer %.3f ms: verifying %.3f, opening %.3f (with its verify), SQL %.3f\n",
         n / i * 1000, i / n, v / n, o / n, (i - o) / n }'
psql -X -Atq -d hp_bench_mo -c "SELECT format('checked: %s received, %s people', (SELECT count(*) FROM healthpass.received_transfer),
                                               (SELECT count(*) FROM healthpass.person))"
[ -n "${HP_BENCH_PROFILE:-}" ] && psql -X -q -d hp_bench_mo -c "SELECT funcname, calls, round(total_time::numeric, 1) total, round(self_time::numeric, 1) self FROM pg_stat_user_functions ORDER BY self_time DESC LIMIT 15"
for d in hp_bench_gd hp_bench_mo; do dropdb "$d"; done
