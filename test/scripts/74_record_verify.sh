#!/usr/bin/env bash
# Entry-exit record certificates seen from outside the database, printing TAP
# (issue 12 item 7; seed 003):
#  - a certificate (a period with crossings at several ports and channels,
#    and the kiosk print) is verified offline by an independent verifier
#    (Debian's python3 with cbor2 and cryptography, sharing no code with
#    healthpass, as in 20_token_verifier.sh) given only trust_list(): base45,
#    zlib, COSE_Sign1, Ed25519, claims, kind "record"; it decodes the
#    crossings and they equal what verify_record_certificate shows a
#    counter (instant, port, direction, region, channel), as do the masked
#    name, document and period; no full name or number is in the body;
#  - a changed certificate is refused offline; a revoked one is found in
#    revocation_list() by its hashed token id;
#  - the QR code of the PNG and of the SVG certificate (rendered by
#    rsvg-convert) decodes with zbarimg to the certificate's exact token;
#    record_certificate_png's code is the certificate it just issued;
#  - a contactless e-Channel code scanned at two gates at once lets one
#    through and the other gets already_used.
set -u
export LC_ALL=C.UTF-8
cd "$(dirname "$0")/../.."
db=hp_record_verify
work=$(mktemp -d); chmod 755 "$work"
trap 'rm -rf "$work"; dropdb --if-exists "$db" >/dev/null 2>&1' EXIT
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); [ -n "${3:-}" ] && echo "# $3"; fi; }
q() { psql -X -Atq -v ON_ERROR_STOP=1 -d "$db" "$@"; }

dropdb --if-exists "$db" >/dev/null 2>&1; createdb "$db"
q -c 'CREATE EXTENSION healthpass' >/dev/null || { echo "not ok 1 - create the extension"; echo "1..1"; exit 1; }

# ---- a mainland resident's crossings: four ports, both regions, three channels
q >/dev/null <<'SQL'
SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明') AS p \gset
SELECT healthpass.record_realname_result(:p, 1, 'approved');
SELECT healthpass.record_travel_document(:p, 'hk_macau_permit', 'C12345678', '广东省公安厅出入境管理局',
                                         current_date - 100, current_date + 3000, '44') AS d \gset
SELECT healthpass.record_endorsement(:p, :d, 'HK', 'S', 'multiple', current_date - 60, current_date + 300, 14);
SELECT healthpass.record_endorsement(:p, :d, 'MO', 'S', 'multiple', current_date - 60, current_date + 300, 14);
SELECT healthpass.give_biometric_consent(:p);
SELECT healthpass.enrol_biometrics(:p, 'gongbei_collection', 'officer 3', 'tmpl:0000000074');
UPDATE healthpass.biometric_consent SET given_at = now() - interval '1 year';
UPDATE healthpass.biometric_enrolment SET enrolled_at = now() - interval '1 year';
SELECT healthpass.cross_border('shenzhen_bay', 'exit', 'manual', 'hk_macau_permit', 'C12345678', crossed_at => now() - interval '20 days 3 hours 17 seconds');
SELECT healthpass.cross_border('luohu', 'entry', 'e_channel', 'hk_macau_permit', 'C12345678', crossed_at => now() - interval '18 days 5 hours 41 seconds');
SELECT healthpass.cross_border('hzmb_zhuhai', 'exit', 'self_service', 'hk_macau_permit', 'C12345678', region => 'MO', crossed_at => now() - interval '9 days 2 hours 3 seconds');
SELECT healthpass.cross_border('gongbei', 'entry', 'document_free', person_id => :p, crossed_at => now() - interval '7 days 11 hours 29 seconds');
SELECT healthpass.cross_border('shenzhen_bay', 'exit', 'manual', 'hk_macau_permit', 'C12345678', crossed_at => now() - interval '2 days');
SELECT healthpass.cross_border('shenzhen_bay', 'entry', 'manual', 'hk_macau_permit', 'C12345678', crossed_at => now() - interval '1 day');
SQL
pid=$(q -c "SELECT healthpass.find_person('cn_resident_id', '440104199003071239')")
crossings=$(q -c "SELECT count(*) FROM healthpass.crossings($pid)")
ok "$([ "$crossings" = 6 ] && echo 0 || echo 1)" "six crossings recorded through the border API ($crossings)"

# ---- the certificates, what verify_record_certificate shows, the trust list
rec=$(q -c "SELECT healthpass.crossing_record($pid, now() - interval '30 days', now())")
kiosk=$(q -c "SELECT healthpass.latest_crossing_record($pid, 'gongbei')")
for t in "$rec" "$kiosk"; do
  q -c "SELECT row_to_json(v)::text FROM healthpass.verify_record_certificate('$t') v"
done >"$work/sql.jsonl"
printf '%s\n%s\n' "$rec" "$kiosk" >"$work/tokens.txt"
q -c 'SELECT healthpass.trust_list()' >"$work/trust.json"

cat >"$work/verify.py" <<'PY'
import base64, datetime, hashlib, json, sys, zlib
import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.exceptions import InvalidSignature

B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
def b45decode(s):
    if len(s) % 3 == 1:
        raise ValueError("base45 length")
    out = bytearray()
    for i in range(0, len(s), 3):
        c = [B45.index(ch) for ch in s[i:i + 3]]
        v = sum(x * 45 ** k for k, x in enumerate(c))
        if v > (65535 if len(c) == 3 else 255):
            raise ValueError("base45 value")
        out += v.to_bytes(2 if len(c) == 3 else 1, "big")
    return bytes(out)
def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def load_keys(path):
    trust = json.load(open(path))
    keys = {}
    for k in trust["keys"]:
        x = b64u(k["x"])
        assert k["kty"] == "OKP" and k["crv"] == "Ed25519"
        assert b64u(k["kid"]) == hashlib.sha256(x).digest()[:8], "kid is SHA-256(x)[:8]"
        keys[b64u(k["kid"])] = (Ed25519PublicKey.from_public_bytes(x), k.get("iss", trust["issuer"]))
    return keys

def verify(token, keys, now):
    """the claims of a valid token, or an exception"""
    assert token.startswith("HP1:"), "prefix"
    raw = b45decode(token[4:])
    assert raw[0] == 0x78, "issuers compress"
    cose = cbor2.loads(zlib.decompress(raw))
    assert isinstance(cose, cbor2.CBORTag) and cose.tag == 18, "tagged COSE_Sign1"
    prot_b, unprot, payload_b, sig = cose.value
    prot = cbor2.loads(prot_b)
    assert set(prot) == {1, 4} and prot[1] == -8 and unprot == {}, "EdDSA, kid, empty unprotected header"
    pk, iss = keys[prot[4]]
    pk.verify(sig, cbor2.dumps(["Signature1", prot_b, b"", payload_b]))
    claims = cbor2.loads(payload_b)
    assert cbor2.dumps(claims, canonical=True) == payload_b, "payload is canonical CBOR"
    assert claims[1] == iss, "iss is the key's issuer"
    assert claims[6] <= now + 300 < claims[4] + 300, "inside iat .. exp"
    return prot[4], claims

mode = sys.argv[1]
keys = load_keys(sys.argv[2])
now = datetime.datetime.now(datetime.timezone.utc).timestamp()
cst = datetime.timezone(datetime.timedelta(hours=8))

if mode == "certificates":
    tokens = open(sys.argv[3]).read().splitlines()  # base45 holds spaces
    rows = [json.loads(l) for l in open(sys.argv[4], encoding="utf-8")]
    for token, row in zip(tokens, rows):
        what = "the kiosk print" if token == tokens[-1] else "the period certificate"
        try:
            kid, claims = verify(token, keys, now)
        except Exception as e:
            print("not ok - the independent verifier rejects %s: %r" % (what, e))
            continue
        body = claims[-65537]
        print("ok - the independent verifier accepts %s (%d characters)" % (what, len(token)))
        print(("ok" if body["k"] == "record" and body["v"] == 1 else "not ok") + " - %s is of kind record" % what)
        # the crossings as the offline verifier decodes them, as the SQL shows them
        mine = [(datetime.datetime.fromtimestamp(x["t"], cst).strftime("%Y-%m-%dT%H:%M:%S+08:00"), x["p"], x["d"], x["r"], x["c"])
                for x in body["x"]]
        theirs = [(c["crossed_at"], c["port_code"], c["direction"], c["region"], c["channel"]) for c in row["crossings"]]
        print(("ok" if mine == theirs and len(mine) > 0 else "not ok")
              + " - %s: its crossings decoded offline (%d) equal verify_record_certificate's" % (what, len(mine)))
        if mine != theirs:
            print("# offline %r\n# sql     %r" % (mine, theirs))
        same = (body["name"], body["doc"], body["id"]) == (row["name_masked"], row["doc_kind"], row["id_masked"]) \
            and row["valid"] and row["reason"] is None
        print(("ok" if same else "not ok") + " - %s: masked name and document as verify_record_certificate shows them" % what)
        if "per" in body:
            per = [datetime.datetime.fromisoformat(row[k]).timestamp() for k in ("period_from", "period_to")]
            print(("ok" if per == body["per"] and row["latest_at_port"] is None else "not ok")
                  + " - %s: the period [from, to) in epoch seconds" % what)
            print(("ok" if all(body["per"][0] <= x["t"] < body["per"][1] for x in body["x"])
                   and [x["t"] for x in body["x"]] == sorted(x["t"] for x in body["x"]) else "not ok")
                  + " - %s: every crossing inside the period, oldest first" % what)
        else:
            print(("ok" if body["at"] == row["latest_at_port"] and len(body["x"]) == 1 and body["x"][0]["p"] == body["at"]
                   and row["period_from"] is None else "not ok")
                  + " - %s: one crossing, at the kiosk's port" % what)
        text = json.dumps(body, ensure_ascii=False)
        print(("ok" if not any(s in text for s in ("王小明", "小明", "440104199003071239", "C12345678")) else "not ok")
              + " - %s: no full name, identity number or permit number in the body" % what)
elif mode == "changed":
    # every character of the token's base45 text changed once: none verifies
    token = open(sys.argv[3]).read().splitlines()[0]
    accepted = 0
    for i in range(4, len(token)):
        for ch in (B45[(B45.index(token[i]) + 1) % 45], B45[(B45.index(token[i]) + 17) % 45]):
            try:
                verify(token[:i] + ch + token[i + 1:], keys, now)
                accepted += 1
            except Exception:
                pass
    print(("ok" if accepted == 0 else "not ok")
          + " - none of %d changed certificates verifies offline" % (2 * (len(token) - 4)))
elif mode == "revoked":
    # revocation_list(): the first 16 bytes of SHA-256 over the token id, by kid
    token, rl = sys.argv[3], json.load(open(sys.argv[4]))
    kid, claims = verify(token, keys, now)
    h = base64.urlsafe_b64encode(hashlib.sha256(claims[7]).digest()[:16]).rstrip(b"=").decode()
    listed = rl["hash"] == "sha256-128" and (h in rl["revoked"].get(base64.urlsafe_b64encode(kid).rstrip(b"=").decode(), [])
                                              or h in rl["revoked"].get("*", []))
    print(("ok" if listed == (sys.argv[5] == "yes") else "not ok")
          + " - the offline verifier finds the certificate %s the revocation list" % ("on" if sys.argv[5] == "yes" else "not on"))
PY

tap() { # relay the verifier's TAP lines
  while IFS= read -r line; do
    case "$line" in
      "ok - "*) ok 0 "${line#ok - }" ;;
      "not ok - "*) ok 1 "${line#not ok - }" ;;
      "# "*) echo "$line" ;;
      *) ok 1 "verifier: $line" ;;
    esac
  done
}
tap < <(/usr/bin/python3 "$work/verify.py" certificates "$work/trust.json" "$work/tokens.txt" "$work/sql.jsonl" 2>&1)
tap < <(/usr/bin/python3 "$work/verify.py" changed "$work/trust.json" "$work/tokens.txt" 2>&1)
q -c 'SELECT healthpass.revocation_list()' >"$work/rl0.json"
tap < <(/usr/bin/python3 "$work/verify.py" revoked "$work/trust.json" "$kiosk" "$work/rl0.json" no 2>&1)
q -c "SELECT healthpass.revoke_pass('$kiosk'::healthpass.pass, 'printed twice')" >/dev/null
q -c 'SELECT healthpass.revocation_list()' >"$work/rl1.json"
tap < <(/usr/bin/python3 "$work/verify.py" revoked "$work/trust.json" "$kiosk" "$work/rl1.json" yes 2>&1)

# ---- the printed code is the token
hex() { od -An -v -tx1 | tr -d ' \n'; }
want=$(printf '%s' "$rec" | hex)
q -c "SELECT encode(healthpass_internal.hp_record_png('$rec', 4), 'base64')" | base64 -d >"$work/cert.png"
got=$(zbarimg --nodbus --raw -q -Sbinary "$work/cert.png" 2>/dev/null | hex)
ok "$([ -n "$got" ] && [ "$got" = "$want" ] && echo 0 || echo 1)" "the PNG certificate's QR code decodes to its exact token"
q -c "SELECT healthpass_internal.hp_record_svg('$rec')" >"$work/cert.svg"
rsvg-convert "$work/cert.svg" -o "$work/cert-svg.png"
got=$(zbarimg --nodbus --raw -q -Sbinary "$work/cert-svg.png" 2>/dev/null | hex)
ok "$([ -n "$got" ] && [ "$got" = "$want" ] && echo 0 || echo 1)" "the SVG certificate, rendered by rsvg-convert, decodes to its exact token"
q -c "SELECT encode(healthpass.record_certificate_png($pid, now() - interval '30 days', now()), 'base64')" | base64 -d >"$work/issued.png"
scanned=$(zbarimg --nodbus --raw -q -Sbinary "$work/issued.png" 2>/dev/null)
r=$(q -c "SELECT v.valid, v.token_id = (SELECT c.token_id FROM healthpass.record_certificate c WHERE c.person_id = $pid
                                         ORDER BY c.certificate_id DESC LIMIT 1),
                 (SELECT count(*) FROM healthpass.verify_record_certificate('$scanned') x, jsonb_array_elements(x.crossings))
            FROM healthpass.verify_token('$scanned') v" 2>&1)
ok "$([ "$r" = 't|t|6' ] && echo 0 || echo 1)" "record_certificate_png's QR code is the certificate it just issued, with its six crossings ($r)"
printf '%s\n' "$scanned" >"$work/scanned.txt"
q -c "SELECT row_to_json(v)::text FROM healthpass.verify_record_certificate('$scanned') v" >"$work/scanned.jsonl"
line=$(/usr/bin/python3 "$work/verify.py" certificates "$work/trust.json" "$work/scanned.txt" "$work/scanned.jsonl" 2>&1 | grep 'crossings decoded offline')
ok "$(case "$line" in "ok - "*) echo 0 ;; *) echo 1 ;; esac)" "the scanned PNG's crossings, decoded offline, equal the SQL's"
q -c "SELECT encode(healthpass.latest_crossing_png($pid, 'shenzhen_bay'), 'base64')" | base64 -d >"$work/kiosk.png"
kscan=$(zbarimg --nodbus --raw -q -Sbinary "$work/kiosk.png" 2>/dev/null)
r=$(q -c "SELECT valid::text || ' ' || latest_at_port || ' ' || (crossings->0->>'direction') FROM healthpass.verify_record_certificate('$kscan')")
ok "$([ "$r" = 'true shenzhen_bay entry' ] && echo 0 || echo 1)" "the kiosk's PNG decodes to a certificate of the latest crossing at its port ($r)"

# ---- a contactless e-Channel code at two gates at once: used once
h=$(q -c "SELECT healthpass.register_person('hkid', 'A123456(3)', 'CHAN Tai Man', birth_date => '1980-05-01')")
cc=$(q -c "SELECT healthpass.hk_contactless_code($h, 'iam_smart')")
# the first gate holds its passage uncommitted for a second; the second gate waits for it
psql -X -Atq -d "$db" -c "BEGIN" -c "SELECT passed FROM healthpass.scan_contactless_code('$cc', 'shenzhen_bay', 'arrival')" \
  -c "SELECT pg_sleep(1)" -c "COMMIT" >"$work/gate1.txt" 2>&1 &
g1=$!
sleep 0.3
psql -X -Atq -d "$db" -c "SELECT passed::text || ' ' || coalesce(refusal, '-') FROM healthpass.scan_contactless_code('$cc', 'luohu', 'arrival')" \
  >"$work/gate2.txt" 2>&1
wait "$g1"
g1=$(grep -E '^(t|f)$' "$work/gate1.txt"); g2=$(cat "$work/gate2.txt")
ok "$([ "$g1" = t ] && [ "$g2" = 'false already_used' ] && echo 0 || echo 1)" \
  "two gates scanning one code at once: one lets the holder through, the other answers already_used ($g1 / $g2)"
r=$(q -c "SELECT count(*) FROM healthpass.contactless_passage WHERE person_id = $h")
ok "$([ "$r" = 1 ] && echo 0 || echo 1)" "one passage recorded ($r)"

echo "1..$n"
[ "$failed" -eq 0 ]
