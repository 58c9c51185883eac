#!/usr/bin/env bash
# Cross-border transfers between databases that never connect (seed 002),
# printing TAP. Three databases in one cluster, no dblink, no foreign
# tables: gd (issuer CN-44), mo (issuer MO) and hk (issuer HK, trusts gd
# but is not the destination of its transfers). Material is exchanged once
# as text; every transfer token travels as text, the way a phone carries
# it. Checked:
#   - Guangdong -> Macau and Macau -> Guangdong, the two outcomes (visitor:
#     entry-person page with a code; resident: submitted), the received
#     provenance, a cross-border worker's Macau tests seen in Guangdong;
#   - every refusal, by SQLSTATE and message (pgTAP files in
#     test/transfer/, run with the tokens as psql variables);
#   - the token seen by an independent verifier (Python, cbor2 +
#     cryptography, no code shared): the signature checks with the trust
#     list alone, and the body holds no personal data in clear;
#   - pg_dump holds the sealing key only sealed: a restore under another
#     master key cannot open a package.
# make test-citus runs it again with the Guangdong database distributed on
# its 3-node cluster: HP_CITUS_NEWDB is then the command that makes a
# database on every node of the cluster (test/citus/newdb.sh DIR), and gd
# is made with it and distributed after CREATE EXTENSION.
set -u
cd "$(dirname "$0")/../.."
work=$(mktemp -d); chmod 755 "$work"; trap 'rm -rf "$work"' EXIT
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
check() { # description expected actual
  n=$((n + 1))
  if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   expected: $2" | head -20; echo "#   got:      $3" | head -20; fi
}
q() { local d=$1; shift; psql -X -Atq -v ON_ERROR_STOP=1 -d "$d" "$@"; }
# a pgTAP file's TAP lines, renumbered into this script's count
tap() { # db file [psql -v args...]
  local d=$1 f=$2; shift 2
  local line
  while IFS= read -r line; do
    case "$line" in
      "ok "*) n=$((n + 1)); echo "ok $n -${line#*-}" ;;
      "not ok "*) n=$((n + 1)); echo "not ok $n -${line#*-}" ;;
      "#"*) echo "$line" ;;
    esac
  done < <(psql -X -Atq -d "$d" "$@" -f "$f" 2>&1)
}
token_of() { # db sql -> the first column of the first row, unaligned
  q "$1" -c "$2" | head -1
}

gd_db() { # make|drop the Guangdong database
  if [ -z "${HP_CITUS_NEWDB:-}" ]; then
    if [ "$1" = make ]; then createdb hp_xfer_gd; else dropdb --if-exists hp_xfer_gd >/dev/null 2>&1; fi
  elif [ "$1" = make ]; then $HP_CITUS_NEWDB hp_xfer_gd
  else $HP_CITUS_NEWDB hp_xfer_gd drop; fi
}
gd_db drop
for d in hp_xfer_mo hp_xfer_hk hp_xfer_mo2; do dropdb --if-exists "$d" >/dev/null 2>&1; done
gd_db make; createdb hp_xfer_mo; createdb hp_xfer_hk
q hp_xfer_mo -c "ALTER DATABASE hp_xfer_mo SET healthpass.issuer = 'MO'"
q hp_xfer_hk -c "ALTER DATABASE hp_xfer_hk SET healthpass.issuer = 'HK'"
for d in hp_xfer_gd hp_xfer_mo hp_xfer_hk; do
  q "$d" -c 'CREATE EXTENSION pgtap; CREATE EXTENSION healthpass' >/dev/null
  q "$d" -c "SELECT healthpass.publish_notice('transfer_notice', '申领须知', 'Your answers are sealed for the destination.')" >/dev/null
done
if [ -n "${HP_CITUS_NEWDB:-}" ]; then
  check "gd is distributed on the cluster" "t" \
    "$(q hp_xfer_gd -c 'SELECT count(*) > 0 FROM healthpass.distribute()' -c 'SELECT healthpass_internal.hp_distributed()' | tail -n1)"
fi

# ---- the material, exchanged once as text
q hp_xfer_gd -c 'SELECT healthpass.transfer_material()' >"$work/gd.json"
q hp_xfer_mo -c 'SELECT healthpass.transfer_material()' >"$work/mo.json"
check "the material holds public keys only: issuer, trust list, sealing keys" "CN-44 issuer,sealing_keys,trust_list" \
  "$(python3 -c "import json; d = json.load(open('$work/gd.json')); print(d['issuer'], ','.join(sorted(d)))")"
check "gd imports mo's material (both ways)" "1" \
  "$(q hp_xfer_gd -v m="$(cat "$work/mo.json")" <<< "SELECT healthpass.import_transfer_partner(:'m', true, true)")"
check "mo imports gd's material (both ways)" "1" \
  "$(q hp_xfer_mo -v m="$(cat "$work/gd.json")" <<< "SELECT healthpass.import_transfer_partner(:'m', true, true)")"
check "hk accepts gd's transfers but is not their destination" "1" \
  "$(q hp_xfer_hk -v m="$(cat "$work/gd.json")" <<< "SELECT healthpass.import_transfer_partner(:'m', true, false)")"

# ---- people in Guangdong: green, yellow, a cross-border worker
q hp_xfer_gd >/dev/null <<'SQL'
SELECT healthpass.register_person('cn_resident_id', '440402198808084562', '何敏', phone => '13900000002');
SELECT healthpass.declare_health(healthpass.find_person('cn_resident_id', '440402198808084562'), false, false);
SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明', phone => '13800138000');
SELECT healthpass.declare_health(healthpass.find_person('cn_resident_id', '440104199003071239'), true, false);
SQL
form='{"name": "何敏", "birth_date": "1988-08-08", "doc_kind": "cn_resident_id", "doc_number": "440402198808084562",
       "phone": "13900000002", "fever_today": false, "contact_14d": false, "travel_14d": false}'
itin='{"phone": "85366660000", "destination_city": "澳门", "address": "新马路 1 号", "sms_checked": true, "captcha_checked": true}'
# export refusals and the valid exports (pgTAP, in gd)
tap hp_xfer_gd test/transfer/export.sql -v form="$form"
t1=$(token_of hp_xfer_gd "SELECT token FROM healthpass.request_transfer(healthpass.find_person('cn_resident_id', '440402198808084562'), 'MO', 1, '$form')")
t2=$(token_of hp_xfer_gd "SELECT token FROM healthpass.request_transfer(healthpass.find_person('cn_resident_id', '440402198808084562'), 'MO', 1, '$form')")
check "a transfer token is an HP1 token of kind transfer, signed by the source" "transfer CN-44 true" \
  "$(q hp_xfer_gd -v t="$t1" <<< "SELECT kind || ' ' || issuer || ' ' || valid FROM healthpass.verify_token(:'t')")"
check "the transfer token fits a QR code (at most 1,500 characters)" "t" "$( [ "${#t1}" -le 1500 ] && echo t)"

# ---- the independent verifier: signature with the trust list alone; the body is opaque
q hp_xfer_gd -c 'SELECT healthpass.trust_list()' >"$work/gd_trust.json"
printf '%s' "$t1" >"$work/t1.txt"
cat >"$work/verify.py" <<'PY'
import base64, hashlib, json, sys, zlib
import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
def b45decode(s):
    out = bytearray()
    for i in range(0, len(s), 3):
        c = [B45.index(ch) for ch in s[i:i + 3]]
        v = sum(x * 45 ** k for k, x in enumerate(c))
        out += v.to_bytes(2 if len(c) == 3 else 1, "big")
    return bytes(out)
def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
token = open(sys.argv[1]).read().strip()
trust = json.load(open(sys.argv[2]))
assert token.startswith("HP1:")
raw = zlib.decompress(b45decode(token[4:]))
cose = cbor2.loads(raw)
if isinstance(cose, cbor2.CBORTag):
    cose = cose.value
prot, unprot, payload, sig = cose
kid = cbor2.loads(prot).get(4) or unprot.get(4)
key = next(k for k in trust["keys"] if b64u(k["kid"]) == kid)
Ed25519PublicKey.from_public_bytes(b64u(key["x"])).verify(
    sig, cbor2.dumps(["Signature1", prot, b"", payload]))
claims = cbor2.loads(payload)
print("verified", key.get("iss", trust.get("issuer")))
print(json.dumps(claims, default=str, ensure_ascii=False))
def find(x, name):
    if isinstance(x, dict):
        for k, v in x.items():
            if k == name:
                return v
            r = find(v, name)
            if r is not None:
                return r
    return None
box = b64u(find(claims, "box"))
# crypto_box_seal: a 32-byte ephemeral public key, then the ciphertext and a 16-byte tag
try:
    json.loads(box[32:-16])
    print("readable")
except Exception:
    print("sealed" if len(box) > 48 else "short")
PY
out=$(/usr/bin/python3 "$work/verify.py" "$work/t1.txt" "$work/gd_trust.json" 2>&1)
check "an independent verifier checks the transfer token's signature with the trust list alone" "verified CN-44" "$(echo "$out" | head -1)"
body=$(echo "$out" | sed -n 2p)
check "the token's body names the destination and the package, nothing personal in clear" "clear" \
  "$(echo "$body" | grep -q -e '何敏' -e '440402198808084562' -e '13900000002' -e '1988-08-08' -e 'green' && echo leaked || echo clear)"
check "the personal data is a sealed box (ephemeral key, ciphertext, tag): not JSON, not readable without the destination's key" "sealed" \
  "$(echo "$out" | sed -n 3p)"

# ---- the destination: refusals, then the import (pgTAP, in mo)
tap hp_xfer_mo test/transfer/import.sql -v t1="$t1" -v t2="$t2" -v itin="$itin"
# a token for mo presented to hk (hk trusts gd): not its destination
tap hp_xfer_hk test/transfer/wrong_destination.sql -v t="$t2" -v itin="$itin"

# ---- forged tokens, signed with gd's own key (a superuser can call the internals)
mo_key=$(python3 -c "import json; d = json.load(open('$work/mo.json')); print(d['sealing_keys'][-1]['x25519'], d['sealing_keys'][-1]['kid'])")
yellow=$(q hp_xfer_gd -c "
  SELECT healthpass.issue_token('transfer', jsonb_build_object('dst', 'MO', 'pkg', p, 'skid', '${mo_key#* }',
           'box', healthpass_internal._b64url_encode(healthpass_internal._seal_box(
               healthpass_internal._b64url_decode('k', '${mo_key% *}'),
               convert_to(jsonb_build_object('pkg', p, 'src', 'CN-44', 'dst', 'MO', 'colour', 'yellow')::text, 'UTF8')))), '1 hour')
    FROM gen_random_uuid() p")
swapped=$(q hp_xfer_gd -c "
  SELECT healthpass.issue_token('transfer', jsonb_build_object('dst', 'MO', 'pkg', gen_random_uuid(), 'skid', '${mo_key#* }',
           'box', healthpass_internal._b64url_encode(healthpass_internal._seal_box(
               healthpass_internal._b64url_decode('k', '${mo_key% *}'),
               convert_to(jsonb_build_object('pkg', gen_random_uuid(), 'src', 'CN-44', 'dst', 'MO', 'colour', 'green')::text, 'UTF8')))), '1 hour')")
notsealed=$(q hp_xfer_gd -c "SELECT healthpass.issue_token('transfer', jsonb_build_object('dst', 'MO', 'pkg', gen_random_uuid(),
           'skid', '${mo_key#* }', 'box', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), '1 hour')")
# a key of gd's vouching for another issuer: the token claims "HK"
mismatch=$(PGOPTIONS='-c healthpass.issuer=HK' q hp_xfer_gd -c "SELECT token FROM healthpass.request_transfer(
           healthpass.find_person('cn_resident_id', '440402198808084562'), 'MO', 1, '$form')")
shortlived=$(q hp_xfer_gd -c "INSERT INTO healthpass.setting (name, value) VALUES ('transfer_valid_for', '1 second')" \
                          -c "SELECT token FROM healthpass.request_transfer(healthpass.find_person('cn_resident_id', '440402198808084562'), 'MO', 1, '$form')" \
                          -c "DELETE FROM healthpass.setting WHERE name = 'transfer_valid_for'" | grep '^HP1:')
sleep 2
tap hp_xfer_mo test/transfer/forged.sql -v yellow="$yellow" -v swapped="$swapped" -v notsealed="$notsealed" \
    -v mismatch="$mismatch" -v shortlived="$shortlived" -v itin="$itin"

# ---- Macau -> Guangdong: a Macau resident (entry-person page), a mainland
# worker in Macau whose Macau tests come along (seed 002 Q2, "submitted")
q hp_xfer_mo >/dev/null <<'SQL'
SELECT healthpass.register_person('macau_id', '1234567(8)', 'CHEONG Ka Man', birth_date => '1990-02-03', nationality => 'CHN');
SELECT healthpass.declare_health(healthpass.find_person('macau_id', '1234567(8)'), false, false);
SELECT healthpass.register_person('cn_resident_id', '440305199201011234', '许文', phone => '13900000001');
SELECT healthpass.record_test_result(healthpass.find_person('cn_resident_id', '440305199201011234'), '澳门仁伯爵综合医院', 'MO-77',
                                     now() - interval '2 days', 'negative', now() - interval '1 day');
SELECT healthpass.declare_health(healthpass.find_person('cn_resident_id', '440305199201011234'), false, false);
SQL
mform='{"name": "CHEONG Ka Man", "birth_date": "1990-02-03", "doc_kind": "macau_id", "doc_number": "1234567(8)",
        "phone": "85366661111", "fever_today": false, "contact_14d": false, "travel_14d": false}'
wform='{"name": "许文", "birth_date": "1992-01-01", "doc_kind": "cn_resident_id", "doc_number": "440305199201011234",
        "phone": "13900000001", "fever_today": false, "contact_14d": false, "travel_14d": true, "travel_places": ["澳门"]}'
t3=$(token_of hp_xfer_mo "SELECT token FROM healthpass.request_transfer(healthpass.find_person('macau_id', '1234567(8)'), 'CN-44', 1, '$mform')")
t4=$(token_of hp_xfer_mo "SELECT token FROM healthpass.request_transfer(healthpass.find_person('cn_resident_id', '440305199201011234'), 'CN-44', 1, '$wform')")
gitin='{"phone": "85366661111", "destination_city": "珠海市", "address": "拱北 1 号", "sms_checked": true, "captcha_checked": true}'
check "Macau -> Guangdong: a Macau resident gets the entry-person page with a green code" "entry_person_page green MO true" \
  "$(q hp_xfer_gd -v t="$t3" -v i="$gitin" <<< "SELECT outcome || ' ' || colour || ' ' || source || ' ' || (code LIKE 'HP1:%')
                                                  FROM healthpass.import_transfer(:'t', :'i')")"
check "Macau -> Guangdong: a mainland resident's transfer is submitted (the usual code shows it)" "submitted green true" \
  "$(q hp_xfer_gd -v t="$t4" -v i="$gitin" <<< "SELECT outcome || ' ' || colour || ' ' || (code IS NULL)
                                                  FROM healthpass.import_transfer(:'t', :'i')")"
# (the person is found first: a statement over test_result whose WHERE calls
# find_person would run it on every shard of a distributed Guangdong)
worker=$(q hp_xfer_gd -c "SELECT healthpass.find_person('cn_resident_id', '440305199201011234')")
check "the Macau test is seen in Guangdong, named as Macau's" "MO: 澳门仁伯爵综合医院 MO-77 negative" \
  "$(q hp_xfer_gd -c "SELECT institution || ' ' || sample_ref || ' ' || result FROM healthpass.test_result
                       WHERE person_id = ${worker:-0}")"
check "the received data keeps its provenance" "MO green 1 珠海市" \
  "$(q hp_xfer_gd -c "SELECT source || ' ' || colour || ' ' || tests || ' ' || destination_city
                       FROM healthpass.received_transfers(healthpass.find_person('cn_resident_id', '440305199201011234'))")"
check "the Macau resident is registered in Guangdong by the Macau ID" "CHEONG Ka Man 1990-02-03" \
  "$(q hp_xfer_gd -c "SELECT name || ' ' || birth_date FROM healthpass.person WHERE doc_kind = 'macau_id'")"

# ---- the destination's own rule reads the recognised green (rules as data)
check "a rule on recognised_green_at: green when a trusted partner found the person green within 24 hours" \
  "green recognised green from a partner within 24 hours" \
  "$(q hp_xfer_gd <<'SQL' | tail -1
SELECT healthpass.add_colour_rule('green', 'recognised green from a partner within 24 hours',
                                  '{"fact": "recognised_green_at", "op": "within", "value": "24 hours"}', 1) IS NOT NULL;
SELECT colour || ' ' || reasons[1] FROM healthpass.colour_status(healthpass.find_person('macau_id', '1234567(8)'));
SQL
)"
check "and the rule does not apply to someone who brought no transfer" "f" \
  "$(q hp_xfer_gd -c "SELECT 'recognised green from a partner within 24 hours' = ANY (reasons)
                       FROM healthpass.colour_status(healthpass.find_person('cn_resident_id', '440402198808084562'))")"

# ---- rotating the sealing key: the old key opens for the grace period only
t6=$(token_of hp_xfer_gd "SELECT token FROM healthpass.request_transfer(healthpass.find_person('cn_resident_id', '440402198808084562'), 'MO', 1, '$form')")
t7=$(token_of hp_xfer_gd "SELECT token FROM healthpass.request_transfer(healthpass.find_person('cn_resident_id', '440402198808084562'), 'MO', 1, '$form')")
q hp_xfer_mo -c "SELECT healthpass.rotate_sealing_key('1 day')" >/dev/null
check "after a rotation, a package sealed to the old key opens during the grace period" "entry_person_page" \
  "$(q hp_xfer_mo -v t="$t6" -v i="$itin" <<< "SELECT outcome FROM healthpass.import_transfer(:'t', :'i')")"
q hp_xfer_mo -c "UPDATE healthpass.sealing_key SET open_until = now() WHERE retired_at IS NOT NULL" >/dev/null
check "after the grace period it no longer opens" "the seal of the transfer does not open" \
  "$(q hp_xfer_mo -v t="$t7" -v i="$itin" <<< "SELECT outcome FROM healthpass.import_transfer(:'t', :'i')" 2>&1 | sed -n 's/^ERROR:  //p')"
q hp_xfer_mo -c 'SELECT healthpass.transfer_material()' >"$work/mo2.json"
check "the partner imports the new material: the old key is retired there too" "1 1" \
  "$(q hp_xfer_gd -v m="$(cat "$work/mo2.json")" <<< "SELECT healthpass.import_transfer_partner(:'m', true, true);
     SELECT count(*) FILTER (WHERE retired_at IS NOT NULL) || ' ' || count(*) FILTER (WHERE retired_at IS NULL)
       FROM healthpass.partner_sealing_key WHERE issuer = 'MO'" | tail -1)"
t8=$(token_of hp_xfer_gd "SELECT token FROM healthpass.request_transfer(healthpass.find_person('cn_resident_id', '440402198808084562'), 'MO', 1, '$form')")
check "and seals to the new key" "entry_person_page" \
  "$(q hp_xfer_mo -v t="$t8" -v i="$itin" <<< "SELECT outcome FROM healthpass.import_transfer(:'t', :'i')")"

# ---- pg_dump holds the sealing key only sealed under the master key
pg_dump -d hp_xfer_mo -f "$work/mo.sql" 2>/dev/null
check "the dump carries the sealing keys (the current and the retired one) as 72-byte sealed boxes, nothing else of them" "2" \
  "$(grep -c -P '^\\\\x[0-9a-f]{16}\t\\\\x[0-9a-f]{64}\t\\\\x[0-9a-f]{144}\t' "$work/mo.sql")"
t5=$(token_of hp_xfer_gd "SELECT token FROM healthpass.request_transfer(healthpass.find_person('cn_resident_id', '440402198808084562'), 'MO', 1, '$form')")
createdb hp_xfer_mo2
q hp_xfer_mo2 -c "ALTER DATABASE hp_xfer_mo2 SET healthpass.issuer = 'MO'" -c 'CREATE EXTENSION healthpass' >/dev/null
psql -X -q -d hp_xfer_mo2 -f "$work/mo.sql" >/dev/null 2>&1
head -c 32 /dev/urandom >"$work/other.key"; chmod 600 "$work/other.key"
datadir=$(q hp_xfer_mo -c 'SHOW data_directory'); owner=$(stat -c %U "$datadir")
cp "$work/other.key" "$datadir/hp_other_master.key"; chown "$owner" "$datadir/hp_other_master.key"; chmod 600 "$datadir/hp_other_master.key"
q hp_xfer_mo -c "LOAD 'healthpass'" -c "ALTER SYSTEM SET healthpass.master_key_file = 'hp_other_master.key'" -c 'SELECT pg_reload_conf()' >/dev/null
sleep 1
check "restored under another master key, the dump cannot open a package" "22023: the seal of the transfer does not open" \
  "$(psql -X -Atq -d hp_xfer_mo2 -v t="$t5" -v i="$itin" 2>&1 <<'SQL' | sed -n 's/^NOTICE:  //p' | head -1
SET client_min_messages = notice;
SET hp.t = :'t';
SET hp.i = :'i';
DO $$ BEGIN
  PERFORM * FROM healthpass.import_transfer(current_setting('hp.t'), current_setting('hp.i')::jsonb);
  RAISE NOTICE 'imported';
EXCEPTION WHEN others THEN RAISE NOTICE '%: %', SQLSTATE, SQLERRM;
END $$;
SQL
)"
q hp_xfer_mo -c "LOAD 'healthpass'" -c "ALTER SYSTEM RESET healthpass.master_key_file" -c 'SELECT pg_reload_conf()' >/dev/null
rm -f "$datadir/hp_other_master.key"
sleep 1
check "with the right master key the same package opens" "entry_person_page" \
  "$(q hp_xfer_mo -v t="$t5" -v i="$itin" <<< "SELECT outcome FROM healthpass.import_transfer(:'t', :'i')")"

echo "1..$n"
gd_db drop
for d in hp_xfer_mo hp_xfer_hk hp_xfer_mo2; do dropdb --if-exists "$d" >/dev/null 2>&1; done
