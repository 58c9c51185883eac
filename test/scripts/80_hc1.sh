#!/usr/bin/env bash
# HC1 (EU Digital COVID Certificate) verification against an independent
# issuer (TAP). test/hc1/make-vectors.py (Debian's python3 with cryptography
# and cbor2, sharing no code with healthpass) makes fresh signer
# certificates and certificates at test time, so that their issue and
# expiry times are relative to now; then in a throwaway database:
#  - add_hc1_signer gives every signer the kid the issuer computed,
#    SHA-256(DER)[0:8];
#  - verify_hc1 gives every case the reason the issuer expects (valid ones
#    with the kid, algorithm, signer country and content);
#  - record_hc1 of a recent negative nucleic-acid test makes the colour fact
#    foreign_negative_at, a rule on it changes the person's colour, and the
#    colour is re-checked when the rule's window closes; a rapid antigen test
#    makes no such fact;
#  - a dump carries the signer certificates and the recorded certificates.
set -u
cd "$(dirname "$0")/../.."
db=hp_hc1_script
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
check() { # description expected actual
  n=$((n + 1))
  if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   expected: $2"; echo "#   got:      $3"; fi
}
q() { psql -X -Atq -v ON_ERROR_STOP=1 -d "$db" "$@"; }

/usr/bin/python3 test/hc1/make-vectors.py --out "$work" >"$work/make.log" 2>&1
ok $? "make-vectors.py writes signers and cases"
if [ ! -f "$work/cases.json" ]; then sed 's/^/# /' "$work/make.log"; echo "1..$n"; exit 1; fi

dropdb --if-exists "$db" >/dev/null 2>&1; createdb "$db"
q -c 'CREATE EXTENSION healthpass' >/dev/null

# ---- signers: the kid is the issuer's
/usr/bin/python3 - "$work" >"$work/signers.tsv" <<'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/cases.json"))
for s in d["signers"]:
    if s["add"]:
        print(s["name"], s["country"], open(sys.argv[1] + "/" + s["der"], "rb").read().hex(), s["kid_hex"], sep="\t")
PY
while IFS=$'\t' read -r name country hex kid; do
  got=$(q -c "SELECT encode(healthpass.add_hc1_signer('$country', decode('$hex', 'hex')), 'hex')" 2>&1)
  check "add_hc1_signer($country, $name) returns SHA-256(DER)[0:8]" "$kid" "$got"
done <"$work/signers.tsv"
check "hc1_signers lists the three added" "DE EC,FR RSA,IT EC" \
  "$(q -c "SELECT string_agg(country || ' ' || family, ',' ORDER BY country) FROM healthpass.hc1_signers()")"

# ---- every case's verdict
/usr/bin/python3 - "$work" >"$work/cases.sql" <<'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/cases.json"))
for c in d["cases"]:
    assert "'" not in c["hc1"] and "\\" not in c["hc1"]
    print(f"SELECT '{c['name']}', coalesce(v.reason, 'valid'), v.valid, coalesce(encode(v.kid, 'hex'), '-'),"
          f" coalesce(v.alg, '-'), coalesce(v.country, '-'), coalesce(v.content->'nam'->>'fnt', '-'),"
          f" (v.issued_at IS NOT NULL)::text || '/' || (v.content IS NOT NULL)::text"
          f" FROM healthpass.verify_hc1('{c['hc1']}') v;")
PY
q -F $'\t' -f "$work/cases.sql" >"$work/verdicts.tsv" 2>"$work/verdicts.err"
ok $? "verify_hc1 answers every case without raising"
sed 's/^/# /' "$work/verdicts.err"
/usr/bin/python3 - "$work" "$n" <<'PY'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
d = json.load(open(work + "/cases.json"))
kids = {s["name"]: s["kid_hex"] for s in d["signers"]}
country = {s["name"]: s["country"] for s in d["signers"]}
got = {}
for line in open(work + "/verdicts.tsv", encoding="utf-8"):
    f = line.rstrip("\n").split("\t")
    got[f[0]] = f[1:]
# what a valid case must also show: its signer's kid, the algorithm, the country
signer_of = {"valid_es256_test": ("de-es256", "ES256"), "valid_ps256_vaccination": ("fr-ps256", "PS256"),
             "cwt_tag61": ("de-es256", "ES256"), "untagged": ("de-es256", "ES256"),
             "kid_unprotected": ("de-es256", "ES256"), "lax_cbor": ("de-es256", "ES256"),
             "tag1004_float_dose": ("fr-ps256", "PS256")}
claims_shown = {"valid", "expired", "not_yet_valid", "signer_not_valid"}
for c in d["cases"]:
    n += 1
    want = c["expect"] or "valid"
    g = got.get(c["name"])
    problems = []
    if g is None:
        problems.append("no verdict")
    else:
        reason, valid, kid, alg, ctry, fnt, shown = g
        if reason != want:
            problems.append(f"reason {reason}, expected {want}")
        if (valid == "t") != (want == "valid"):
            problems.append(f"valid {valid}")
        if want == "valid":
            s, a = signer_of[c["name"]]
            if (kid, alg, ctry, fnt) != (kids[s], a, country[s], c["fnt"]):
                problems.append(f"kid/alg/country/fnt {kid} {alg} {ctry} {fnt}")
        if shown != ("true/true" if want in claims_shown else "false/false"):
            problems.append(f"claims shown {shown}")
    if problems:
        print(f"not ok {n} - verify_hc1 {c['name']}: {want}")
        for p in problems:
            print(f"#   {p}")
    else:
        print(f"ok {n} - verify_hc1 {c['name']}: {want}")
open(work + "/n", "w").write(str(n))
PY
n=$(cat "$work/n")

# every reason is given by some case
check "every reason of verify_hc1 is tested" \
  "bad_base45,bad_prefix,bad_signature,expired,malformed,not_compressed,not_yet_valid,signer_not_valid,unknown_signer,valid,wrong_algorithm" \
  "$(cut -f2 "$work/verdicts.tsv" | sort -u | paste -sd,)"

# content: floats that are whole numbers, tag 1004 dates, nested objects
check "content of a tagged date and float doses" '1985-03-14|2|2|Ministère de la Santé' \
  "$(/usr/bin/python3 -c "import json,sys; print([c['hc1'] for c in json.load(open('$work/cases.json'))['cases'] if c['name']=='tag1004_float_dose'][0])" |
     { read -r t; q -c "SELECT concat_ws('|', content->>'dob', content->'v'->0->>'dn', content->'v'->0->>'sd', content->'v'->0->>'is') FROM healthpass.verify_hc1('$t')"; })"

# ---- recording: a recent negative nucleic-acid test is a colour fact
eval "$(/usr/bin/python3 - "$work" <<'PY'
import json, shlex, sys
d = json.load(open(sys.argv[1] + "/cases.json"))["record"]
print("naat=" + shlex.quote(d["negative_naat"]))
print("rat=" + shlex.quote(d["negative_rat"]))
print("holder=" + shlex.quote(d["holder"]["name"]))
print("dob=" + shlex.quote(d["holder"]["birth_date"]))
PY
)"
p1=$(q -c "SELECT healthpass.register_person('passport', 'C01X00T47', '$holder', '$dob', nationality => 'DEU')")
p2=$(q -c "SELECT healthpass.register_person('passport', 'C01X00T48', 'Anna-Maria  mueller', '$dob', nationality => 'DEU')")
# the default rule "no health information reported" (light green) gives way
# to a green rule on the foreign fact; without either, no rule applies (yellow)
q >/dev/null <<'SQL'
SELECT healthpass.retire_colour_rule(12);
SELECT healthpass.add_colour_rule('green', 'negative nucleic-acid test abroad in the last 72 hours',
         '{"fact": "foreign_negative_at", "op": "within", "value": "72 hours"}', 115);
SQL
check "before recording: no rule applies" "yellow" "$(q -c "SELECT colour FROM healthpass.colour_status($p1)")"
check "record_hc1 of a negative NAAT certificate" "test|DE" \
  "$(q -c "SELECT kind || '|' || country FROM healthpass.record_hc1($p1, '$naat')" 2>&1)"
check "the person is green by the foreign fact" "green|negative nucleic-acid test abroad in the last 72 hours" \
  "$(q -c "SELECT colour || '|' || array_to_string(reasons, ';') FROM healthpass.colour_status($p1)")"
check "the colour is re-checked when the 72 hours end" "t" \
  "$(q -c "SELECT c.recheck_at = h.sampled_at + interval '72 hours' FROM healthpass.colour_current c JOIN healthpass.hc1_record h USING (person_id) WHERE c.person_id = $p1")"
check "and it is yellow again then" "yellow" \
  "$(q -c "SELECT colour FROM healthpass_internal.hp_colour_compute($p1, now() + interval '73 hours')")"
check "a holder name in another order, case and spacing is the same person" "test" \
  "$(q -c "SELECT kind FROM healthpass.record_hc1($p2, '$rat')" 2>&1)"
check "a rapid antigen test is no nucleic-acid fact" "yellow" "$(q -c "SELECT colour FROM healthpass.colour_status($p2)")"
check "recording twice is refused (23505)" "23505" \
  "$(q -c "\\set VERBOSITY sqlstate" -c "SELECT healthpass.record_hc1($p1, '$naat')" 2>&1 | sed -n 's/^ERROR: *//p')"
check "facts catalogue lists the foreign facts" "foreign_negative_at:timestamptz,foreign_vaccination_complete:boolean" \
  "$(q -c "SELECT string_agg(name || ':' || type, ',' ORDER BY name) FROM healthpass.colour_facts_catalogue() WHERE name LIKE 'foreign%'")"

# ---- signer certificates and recorded certificates are in a dump
valid=$(/usr/bin/python3 -c "import json; print([c['hc1'] for c in json.load(open('$work/cases.json'))['cases'] if c['name'] == 'valid_es256_test'][0])")
dropdb --if-exists "${db}_restored" >/dev/null 2>&1; createdb "${db}_restored"
pg_dump -d "$db" >"$work/dump.sql" 2>"$work/dump.err" &&
  psql -X -q -v ON_ERROR_STOP=1 -d "${db}_restored" -f "$work/dump.sql" >/dev/null 2>>"$work/dump.err"
ok $? "pg_dump and restore"
sed 's/^/# /' "$work/dump.err"
check "after a restore the signers verify, and the recorded certificates are there" "true|2"   "$(psql -X -Atq -d "${db}_restored" -c "SELECT (SELECT valid FROM healthpass.verify_hc1('$valid'))::text || '|' || (SELECT count(*) FROM healthpass.hc1_record)")"
dropdb "${db}_restored"

dropdb "$db"
echo "1..$n"
