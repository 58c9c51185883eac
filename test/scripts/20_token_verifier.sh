#!/usr/bin/env bash
# HP1 tokens seen from outside the database, printing TAP:
#  - an independent verifier (Debian's python3 with cbor2 and cryptography,
#    sharing no code with healthpass) checks tokens issued by the extension
#    given only trust_list(): base45, zlib, COSE_Sign1, Ed25519, claims (iss
#    is the issuer the key was published under), and that every payload is
#    canonical CBOR by cbor2's own encoder;
#  - the same verifier gives every token of test/vectors/hp1-vectors.json
#    the verdict the vectors expect, issuer_mismatch included (the spec's
#    steps in order, each key vouching only for its own "iss");
#  - pg_dump of a database with keys holds no secret key in clear, and a
#    restore keeps signing with the same (encrypted) keys;
#  - the master key file: refused when group-readable; another master key
#    cannot decrypt the keys.
set -u
cd "$(dirname "$0")/../.."
db=hp_token_script
work=$(mktemp -d); chmod 755 "$work"; trap 'rm -rf "$work"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
q() { psql -X -Atq -v ON_ERROR_STOP=1 -d "$db" "$@"; }

dropdb --if-exists "$db" >/dev/null 2>&1; createdb "$db"
q -c 'CREATE EXTENSION healthpass' >/dev/null
datadir=$(q -c 'SHOW data_directory')
owner=$(stat -c %U "$datadir")

# ---- tokens for the independent verifier
q -F $'\t' >"$work/tokens.tsv" <<'SQL'
SELECT t, (healthpass.verify_token(t)).body
  FROM (VALUES
    (healthpass.issue_token('health', '{"c": "green", "n": "张*明", "d": "4401**********123X", "r": "P-7F3A"}', '5 minutes')),
    (healthpass.issue_token('entry', '{"port": "Hengqin", "at": "2026-01-02", "party": [{"n": "李*"}, {"n": "王*"}], "ok": true, "x": null}', '30 days')),
    (healthpass.issue_token('record', '{"t": 36.6, "h": 1.5, "s": 100000.5, "big": 18446744073709551615, "neg": -3, "e": 1e300}', '1 day')),
    (healthpass.issue_token('venue', '{"a long key that is longer than twenty-three bytes": {"b": [[], {}]}, "é": ""}', '1 year'))
  ) x(t)
SQL
q -c 'SELECT healthpass.trust_list()' >"$work/trust.json"
cat >"$work/verify.py" <<'PY'
import base64, datetime, hashlib, json, sys, zlib
import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.exceptions import InvalidSignature

B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
def b45decode(s):
    out = bytearray()
    for i in range(0, len(s), 3):
        c = [B45.index(ch) for ch in s[i:i + 3]]
        v = sum(x * 45 ** k for k, x in enumerate(c))
        out += v.to_bytes(2 if len(c) == 3 else 1, "big")
    return bytes(out)
def same(a, b):
    """CBOR value a equals JSON value b (a float equals the number it was made from)"""
    if isinstance(a, float):
        return isinstance(b, (int, float)) and not isinstance(b, bool) and a == float(b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) == type(b) and a == b
def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

trust = json.load(open(sys.argv[1]))
keys = {}
issuer_of = {}
for k in trust["keys"]:
    x = b64u(k["x"])
    assert k["kty"] == "OKP" and k["crv"] == "Ed25519"
    assert b64u(k["kid"]) == hashlib.sha256(x).digest()[:8], "kid is SHA-256(x)[:8]"
    keys[b64u(k["kid"])] = Ed25519PublicKey.from_public_bytes(x)
    issuer_of[b64u(k["kid"])] = k.get("iss", trust["issuer"])
now = datetime.datetime.now(datetime.timezone.utc).timestamp()
for line in open(sys.argv[2], encoding="utf-8"):
    token, body = line.rstrip("\n").split("\t")
    name = token[:20] + "..."
    try:
        assert token.startswith("HP1:")
        raw = b45decode(token[4:])
        assert raw[0] == 0x78, "issuers compress"
        cose = cbor2.loads(zlib.decompress(raw))
        assert isinstance(cose, cbor2.CBORTag) and cose.tag == 18, "tagged COSE_Sign1"
        prot_b, unprot, payload_b, sig = cose.value
        prot = cbor2.loads(prot_b)
        assert set(prot) == {1, 4} and prot[1] == -8 and unprot == {}
        assert cbor2.dumps(prot, canonical=True) == prot_b, "protected header is canonical"
        sig_structure = cbor2.dumps(["Signature1", prot_b, b"", payload_b])
        keys[prot[4]].verify(sig, sig_structure)
        claims = cbor2.loads(payload_b)
        assert cbor2.dumps(claims, canonical=True) == payload_b, "payload is canonical CBOR"
        assert set(claims) == {1, 4, 6, 7, -65537}
        assert claims[1] == issuer_of[prot[4]] and len(claims[7]) == 16, "iss is the key's issuer"
        assert claims[6] <= now + 300 < claims[4] + 600
        got = claims[-65537]
        assert same(got, json.loads(body)), "body equals what verify_token returns: %r" % (got,)
        print("ok - independent verifier accepts", name, "kind", got["k"])
    except (AssertionError, InvalidSignature, KeyError, ValueError) as e:
        print("not ok - independent verifier rejects", name, repr(e))
PY
while read -r line; do
  case "$line" in
    "ok - "*) ok 0 "${line#ok - }" ;;
    *) ok 1 "${line#not ok - }" ;;
  esac
done < <(/usr/bin/python3 "$work/verify.py" "$work/trust.json" "$work/tokens.tsv" 2>&1)
ok "$([ "$(wc -l <"$work/tokens.tsv")" -eq 4 ] && echo 0 || echo 1)" "four tokens were checked"

# ---- the vectors, through the independent verifier
cat >"$work/vectors.py" <<'PY'
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
        out += v.to_bytes(2 if len(c) == 3 else 1, "big")
    return bytes(out)
def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def when(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()

vec = json.load(open(sys.argv[1]))
trust = vec["trust_list"]
keys = {}
for k in trust["keys"]:
    keys[b64u(k["kid"])] = dict(pk=Ed25519PublicKey.from_public_bytes(b64u(k["x"])),
                                iss=k.get("iss", trust["issuer"]), status=k.get("status", "active"),
                                nb=when(k["not_before"]), na=when(k["not_after"]))
at, skew = when(vec["verify_at"]), 300

def verdict(token):
    # 1. structure
    try:
        if not token.startswith("HP1:"):
            return "malformed"
        raw = b45decode(token[4:])
        if raw[:1] == b"\x78":
            raw = zlib.decompress(raw)
        cose = cbor2.loads(raw)
        if not (isinstance(cose, cbor2.CBORTag) and cose.tag == 18 and len(cose.value) == 4):
            return "malformed"
        prot_b, unprot, payload_b, sig = cose.value
        prot, claims = cbor2.loads(prot_b), cbor2.loads(payload_b)
        kid, iss, iat, exp = prot[4], claims[1], claims[6], claims[4]
        if prot[1] != -8 or unprot != {} or len(sig) != 64 or len(claims[7]) != 16:
            return "malformed"
    except Exception:
        return "malformed"
    # 2. the kid names a key; 3. not revoked, iat inside its validity
    key = keys.get(kid)
    if key is None:
        return "unknown_key"
    if key["status"] == "revoked":
        return "key_revoked"
    if not key["nb"] <= iat < key["na"]:
        return "key_expired"
    # 4. the signature
    try:
        key["pk"].verify(sig, cbor2.dumps(["Signature1", prot_b, b"", payload_b]))
    except InvalidSignature:
        return "bad_signature"
    # 4b. a key vouches only for its own issuer
    if iss != key["iss"]:
        return "issuer_mismatch"
    # 5. time
    if at >= exp + skew:
        return "expired"
    if iat > at + skew:
        return "not_yet_valid"
    return "valid"

for c in vec["cases"]:
    got = verdict(c["token"])
    print("%s - independent verifier: vector %s is %s (got %s)" % ("ok" if got == c["expect"] else "not ok", c["name"], c["expect"], got))
print("ok - the vectors hold a case for every verdict of the spec but revoked" if
      {c["expect"] for c in vec["cases"]} >= {"valid", "malformed", "unknown_key", "bad_signature", "issuer_mismatch", "expired", "not_yet_valid"}
      else "not ok - the vectors lack a verdict")
PY
while read -r line; do
  case "$line" in
    "ok - "*) ok 0 "${line#ok - }" ;;
    *) ok 1 "${line#not ok - }" ;;
  esac
done < <(/usr/bin/python3 "$work/vectors.py" test/vectors/hp1-vectors.json 2>&1)

# ---- pg_dump: keys survive encrypted only
seed=4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb   # RFC 8032 TEST 2
echo "$seed" >"$work/seed.hex"; chown "$owner" "$work/seed.hex"; chmod 600 "$work/seed.hex"
kid=$(q -c "SELECT encode(healthpass.import_signing_key('$work/seed.hex'), 'hex')")
ok "$([ "$kid" = 39f713d0a644253f ] && echo 0 || echo 1)" "a known seed becomes the active key (kid $kid)"
tok=$(q -c "SELECT healthpass.issue_token('entry', '{}', '1 hour')")
pg_dump -d "$db" >"$work/dump.sql"
ok "$(grep -q 'COPY healthpass.signing_key' "$work/dump.sql" && echo 0 || echo 1)" "pg_dump keeps the signing keys (extension config table)"
secret=$(/usr/bin/python3 - "$seed" "$work/dump.sql" <<'PY'
import base64, sys
seed = bytes.fromhex(sys.argv[1])
dump = open(sys.argv[2], "rb").read()
forms = [seed, seed.hex().encode(), seed.hex().upper().encode(), base64.b64encode(seed),
         base64.urlsafe_b64encode(seed).rstrip(b"=")]
print(1 if any(f in dump for f in forms) else 0)
PY
)
ok "$secret" "the dump holds the secret key neither as hex, base64 nor raw bytes"
createdb "${db}_restored"
psql -X -q -d "${db}_restored" -f "$work/dump.sql" >"$work/restore.log" 2>&1
r=$(psql -X -Atq -d "${db}_restored" -c "SELECT (healthpass.verify_token('$tok')).valid, encode((healthpass.verify_token(healthpass.issue_token('entry', '{}', '1 hour'))).kid, 'hex')")
ok "$([ "$r" = "t|$kid" ] && echo 0 || echo 1)" "a restored dump verifies old tokens and signs with the same key ($r)"
dropdb "${db}_restored"
ok "$(grep -qi "$seed" "$datadir"/log/* 2>/dev/null && echo 1 || echo 0)" "the server log does not hold the seed"

# ---- the master key file
mk="$datadir/healthpass_master.key"
ok "$([ "$(stat -c %a "$mk")" = 600 ] && echo 0 || echo 1)" "the default master key file was made with mode 0600"
chmod 640 "$mk"
out=$(q -c 'SELECT healthpass.rotate_signing_key()' 2>&1)
chmod 600 "$mk"
ok "$(echo "$out" | grep -q 'master key file ".*healthpass_master.key" is accessible by group or others' && echo 0 || echo 1)" \
  "a group-readable master key file is refused"
ok "$(echo "$out" | grep -q 'HINT:  Run chmod 600 on the file.' && echo 0 || echo 1)" "with a hint"
head -c 32 /dev/urandom >"$work/other.key"; chown "$owner" "$work/other.key"; chmod 600 "$work/other.key"
# ALTER SYSTEM knows the GUC once the library is loaded in the session
q -c "LOAD 'healthpass'" -c "ALTER SYSTEM SET healthpass.master_key_file = '$work/other.key'" -c 'SELECT pg_reload_conf()' >/dev/null
sleep 0.5
out=$(q -c "SELECT healthpass.issue_token('entry', '{}', '1 hour')" 2>&1)
ok "$(echo "$out" | grep -q "cannot decrypt signing key $kid" && echo 0 || echo 1)" \
  "under another master key (healthpass.master_key_file) the keys cannot be decrypted"
kid2=$(q -c "SELECT encode(healthpass.rotate_signing_key(), 'hex')" 2>&1)
ok "$(q -c "SELECT (healthpass.verify_token(healthpass.issue_token('entry', '{}', '1 hour'))).kid = '\\x$kid2'" | grep -qx t && echo 0 || echo 1)" \
  "a key rotated under the new master key signs"
# file errors of the master key: a specific SQLSTATE each (never XX000), the path quoted cut
mk_error() { # master_key_file -> the verbose error of a rotation
  q -c "LOAD 'healthpass'" -c "ALTER SYSTEM SET healthpass.master_key_file = '$1'" -c 'SELECT pg_reload_conf()' >/dev/null
  sleep 0.5
  psql -X -Atq -v VERBOSITY=verbose -d "$db" -c 'SELECT healthpass.rotate_signing_key()' 2>&1 | grep '^ERROR'
}
long300=$(printf 'k%.0s' $(seq 300)); long2000=$(printf 'k%.0s' $(seq 2000))
out=$(mk_error "$work/$long300")
ok "$(echo "$out" | grep -qE '^ERROR:  22023: could not open master key file ".{24}\.\.\.k{40}": File name too long$' && echo 0 || echo 1)" \
  "a master key file name longer than the system allows: 22023, quoted cut ($out)"
out=$(mk_error "$work/$long2000")
ok "$(echo "$out" | grep -qE '^ERROR:  22023: master key file name ".{24}\.\.\.k{40}" is too long$' && echo 0 || echo 1)" \
  "a master key file name over 1023 bytes: 22023, quoted cut ($out)"
out=$(mk_error "$work/missing.key")
ok "$(echo "$out" | grep -q '^ERROR:  58P01: could not open master key file' && echo 0 || echo 1)" "a missing master key file: 58P01 ($out)"
out=$(mk_error "$work")
ok "$(echo "$out" | grep -q '^ERROR:  F0000: master key file ".*" is not a regular file' && echo 0 || echo 1)" "a directory as master key file: F0000 ($out)"
q -c "LOAD 'healthpass'" -c 'ALTER SYSTEM RESET healthpass.master_key_file' -c 'SELECT pg_reload_conf()' >/dev/null
dropdb "$db"
echo "1..$n"
[ "$failed" -eq 0 ]
