#!/usr/bin/python3
"""Test material for healthpass's HC1 (EU Digital COVID Certificate) verifier.

An issuer written apart from the extension, with Debian's python3-cryptography
and python3-cbor2 only: it makes self-signed signer certificates (X.509 DER),
builds hcert payloads, signs COSE_Sign1 structures with ES256 (raw r || s) and
PS256 (RSA-PSS, SHA-256, MGF1 SHA-256, salt 32), compresses them with zlib
and writes them in base45 behind "HC1:". It shares no code with healthpass.

    make-vectors.py [--out DIR] [--now EPOCH]
        DIR/signer-*.der   the signer certificates
        DIR/cases.json     {"now", "signers": [...], "cases": [...]}: each
                           case is a certificate and the reason verify_hc1
                           gives at "now" (null: valid); times are relative
                           to now, so run it at test time (test/scripts/80_hc1.sh)
    make-vectors.py --fixed [--out DIR]
        DIR/fixed.json     material that stays valid until 2099, for the
                           pgTAP test (test/pgtap/80_hc1.sql) and the manual
                           (doc/hc1.md), which embed it: signers as hex DER,
                           certificates, and certificates add_hc1_signer refuses

DIR defaults to the folder of this script.
"""
import argparse
import datetime
import hashlib
import json
import os
import secrets
import sys
import zlib

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

ES256, PS256, EDDSA = -7, -37, -8
COVID = "840539006"
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
UTC = datetime.timezone.utc


def b45encode(raw):
    out = []
    for i in range(0, len(raw) - 1, 2):
        v = raw[i] << 8 | raw[i + 1]
        out += [B45[v % 45], B45[v // 45 % 45], B45[v // 2025]]
    if len(raw) % 2:
        out += [B45[raw[-1] % 45], B45[raw[-1] // 45]]
    return "".join(out)


def when(epoch):
    return datetime.datetime.fromtimestamp(epoch, UTC)


def iso(epoch):
    return when(epoch).strftime("%Y-%m-%dT%H:%M:%SZ")


class Signer:
    """a key and its self-signed certificate"""

    def __init__(self, name, kind, country, not_before, not_after, add=True):
        self.name, self.country, self.add = name, country, add
        if kind == "ec":
            self.key = ec.generate_private_key(ec.SECP256R1())
        elif kind == "ec384":
            self.key = ec.generate_private_key(ec.SECP384R1())
        elif kind == "rsa1024":
            self.key = rsa.generate_private_key(65537, 1024)
        elif kind == "ed25519":
            self.key = ed25519.Ed25519PrivateKey.generate()
        else:
            self.key = rsa.generate_private_key(65537, 2048)
        subject = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HC1 test issuer"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"DSC {name}"),
        ])
        cert = (x509.CertificateBuilder()
                .subject_name(subject).issuer_name(subject)
                .public_key(self.key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(when(not_before)).not_valid_after(when(not_after))
                .sign(self.key, None if kind == "ed25519" else hashes.SHA256()))
        self.der = cert.public_bytes(serialization.Encoding.DER)
        self.kid = hashlib.sha256(self.der).digest()[:8]

    def sign(self, alg, tbs):
        if alg == ES256:
            r, s = decode_dss_signature(self.key.sign(tbs, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if alg == "ES256-DER":  # a mistake some issuers make: the DER form
            return self.key.sign(tbs, ec.ECDSA(hashes.SHA256()))
        if alg == "PS256-MAXSALT":  # PSS with another salt length than 32
            return self.key.sign(tbs, padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.MAX_LENGTH),
                                 hashes.SHA256())
        return self.key.sign(tbs, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())


HOLDER = {"fn": "Müller", "fnt": "MUELLER", "gn": "Anna Maria", "gnt": "ANNA<MARIA"}
DOB = "1985-03-14"


def test_dcc(sc, tr="260415000", tt="LP6464-4", ci=None):
    return {"ver": "1.3.0", "nam": HOLDER, "dob": DOB,
            "t": [{"tg": COVID, "tt": tt, "nm": "Roche LightCycler qPCR", "sc": iso(sc), "tr": tr,
                   "tc": "Testzentrum Berlin", "co": "DE", "is": "Robert Koch-Institut",
                   "ci": ci or "URN:UVCI:01DE/T" + secrets.token_hex(6).upper() + "#S"}]}


def vac_dcc(dn, sd, dt, ci=None):
    return {"ver": "1.3.0", "nam": HOLDER, "dob": DOB,
            "v": [{"tg": COVID, "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
                   "dn": dn, "sd": sd, "dt": dt, "co": "FR", "is": "Ministère de la Santé",
                   "ci": ci or "URN:UVCI:01:FR:V" + secrets.token_hex(6).upper() + "#K"}]}


def claims(iss, iat, exp, dcc):
    return cbor2.dumps({1: iss, 4: exp, 6: iat, -260: {1: dcc}})


def cose(signer, alg, payload, kid=None, where="protected", tag=(18,), sign_alg=None, sign_with=None):
    """the COSE_Sign1 bytes: kid in the protected or unprotected header, tags around"""
    kid = signer.kid if kid is None else kid
    prot = {1: alg, 4: kid} if where == "protected" else {1: alg}
    unprot = {4: kid} if where == "unprotected" else {}
    prot_b = cbor2.dumps(prot)
    tbs = cbor2.dumps(["Signature1", prot_b, b"", payload])
    sig = (sign_with or signer).sign(sign_alg or alg, tbs)
    obj = [prot_b, unprot, payload, sig]
    for t in tag:
        obj = cbor2.CBORTag(t, obj)
    return cbor2.dumps(obj)


def hc1(cose_bytes, compress=True):
    return "HC1:" + b45encode(zlib.compress(cose_bytes, 9) if compress else cose_bytes)


def tamper(text):
    """changes one byte of the signed payload (the holder's surname), keeping the signature"""
    raw = zlib.decompress(bytes(b45_decode(text[4:])))
    at = raw.index(b"MUELLER")
    raw = raw[:at] + b"MUELLEQ" + raw[at + 7:]
    return hc1(raw)


def b45_decode(s):
    out = bytearray()
    for i in range(0, len(s), 3):
        c = [B45.index(ch) for ch in s[i:i + 3]]
        v = sum(x * 45 ** k for k, x in enumerate(c))
        out += v.to_bytes(2 if len(c) == 3 else 1, "big")
    return out


def head(major, value, size):
    """a CBOR head in a given (possibly not shortest) size: 0 inline, 1, 2, 4 or 8 bytes"""
    if size == 0:
        return bytes([major << 5 | value])
    info = {1: 24, 2: 25, 4: 26, 8: 27}[size]
    return bytes([major << 5 | info]) + value.to_bytes(size, "big")


def loose_claims(iss, iat, exp, dcc):
    """the claims as lax encoders write them: an indefinite-length map and
    eight-byte heads for exp and iat"""
    return (b"\xbf" + cbor2.dumps(1) + cbor2.dumps(iss)
            + cbor2.dumps(4) + head(0, exp, 8) + cbor2.dumps(6) + head(0, iat, 8)
            + cbor2.dumps(-260) + cbor2.dumps({1: dcc}) + b"\xff")


def normal(out, now):
    year = 365 * 86400
    de = Signer("de-es256", "ec", "DE", now - year, now + 5 * year)
    fr = Signer("fr-ps256", "rsa", "FR", now - year, now + 5 * year)
    it = Signer("it-expired", "ec", "IT", now - 3 * year, now - 86400)
    xx = Signer("xx-unknown", "ec", "XX", now - year, now + year, add=False)
    signers = [de, fr, it, xx]
    iat, exp = now - 3600, now + 30 * 86400
    sample = now - 7200
    t_payload = claims("DE", iat, exp, test_dcc(sample))
    v_payload = claims("FR", iat, exp, vac_dcc(2, 2, "2021-05-01"))
    valid_es = hc1(cose(de, ES256, t_payload))
    cases = [
        ("valid_es256_test", valid_es, None, "MUELLER"),
        ("valid_ps256_vaccination", hc1(cose(fr, PS256, v_payload)), None, "MUELLER"),
        ("cwt_tag61", hc1(cose(de, ES256, t_payload, tag=(18, 61))), None, "MUELLER"),
        ("untagged", hc1(cose(de, ES256, t_payload, tag=())), None, "MUELLER"),
        ("kid_unprotected", hc1(cose(de, ES256, t_payload, where="unprotected")), None, "MUELLER"),
        ("lax_cbor", hc1(cose(de, ES256, loose_claims("DE", iat, exp, test_dcc(sample)))), None, "MUELLER"),
        ("tag1004_float_dose", hc1(cose(fr, PS256, claims("FR", iat, exp, {
            **vac_dcc(2.0, 2.0, "2021-05-01"), "dob": cbor2.CBORTag(1004, DOB)}))), None, "MUELLER"),
        ("wrong_kid", hc1(cose(de, ES256, t_payload, kid=secrets.token_bytes(8))), "unknown_signer", None),
        ("unknown_signer", hc1(cose(xx, ES256, t_payload)), "unknown_signer", None),
        ("wrong_algorithm", hc1(cose(fr, ES256, t_payload, sign_alg=PS256)), "wrong_algorithm", None),
        ("wrong_algorithm_eddsa", hc1(cose(de, EDDSA, t_payload, sign_alg=ES256)), "wrong_algorithm", None),
        ("expired", hc1(cose(de, ES256, claims("DE", now - 40 * 86400, now - 86400, test_dcc(sample)))),
         "expired", None),
        ("not_yet_valid", hc1(cose(de, ES256, claims("DE", now + 86400, now + 30 * 86400, test_dcc(sample)))),
         "not_yet_valid", None),
        ("signer_expired", hc1(cose(it, ES256, claims("IT", iat, exp, test_dcc(sample)))),
         "signer_not_valid", None),
        ("tampered", tamper(valid_es), "bad_signature", None),
        ("es256_der_signature", hc1(cose(de, ES256, t_payload, sign_alg="ES256-DER")), "bad_signature", None),
        ("ps256_other_salt", hc1(cose(fr, PS256, v_payload, sign_alg="PS256-MAXSALT")), "bad_signature", None),
        ("signed_by_other_key", hc1(cose(de, ES256, t_payload, sign_with=xx)), "bad_signature", None),
        ("bad_prefix", "HC2:" + valid_es[4:], "bad_prefix", None),
        ("lower_case_prefix", "hc1:" + valid_es[4:], "bad_prefix", None),
        ("bad_base45", "HC1:" + valid_es[4:40] + "abc" + valid_es[43:], "bad_base45", None),
        ("bad_base45_length", valid_es + "A" if len(valid_es) % 3 == 1 else valid_es[:-1], "bad_base45", None),
        ("not_compressed", hc1(cose(de, ES256, t_payload), compress=False), "not_compressed", None),
        ("empty", "HC1:", "not_compressed", None),
        ("zlib_damaged", "HC1:" + b45encode(zlib.compress(cose(de, ES256, t_payload), 9)[:-6]), "malformed", None),
        ("not_cose", hc1(cbor2.dumps({"hello": "world"})), "malformed", None),
        ("no_kid", hc1(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: ES256}), {}, t_payload, bytes(64)]))),
         "malformed", None),
        ("no_hcert", hc1(cose(de, ES256, cbor2.dumps({1: "DE", 4: exp, 6: iat}))), "malformed", None),
        ("duplicate_key", hc1(cose(de, ES256, b"\xa5" + cbor2.dumps(1) + cbor2.dumps("DE") + cbor2.dumps(4)
                                   + cbor2.dumps(exp) + cbor2.dumps(6) + cbor2.dumps(iat) + cbor2.dumps(-260)
                                   + cbor2.dumps({1: test_dcc(sample)}) + cbor2.dumps(4) + cbor2.dumps(exp))),
         "malformed", None),
        ("trailing_bytes", hc1(cose(de, ES256, t_payload) + b"\x00"), "malformed", None),
        ("too_long", "HC1:" + "0" * 9000, "malformed", None),
        ("zip_bomb", "HC1:" + b45encode(zlib.compress(b"\x00" * 70000, 9)), "malformed", None),
    ]
    for s in signers:
        with open(os.path.join(out, f"signer-{s.name}.der"), "wb") as f:
            f.write(s.der)
    doc = {
        "now": now,
        "signers": [{"name": s.name, "country": s.country, "der": f"signer-{s.name}.der",
                     "kid_hex": s.kid.hex(), "add": s.add} for s in signers],
        "cases": [{"name": n, "hc1": t, "expect": e, "fnt": f} for n, t, e, f in cases],
        # a recent negative nucleic-acid test and a rapid antigen test for the recording walk-through
        "record": {
            "negative_naat": hc1(cose(de, ES256, claims("DE", iat, exp, test_dcc(now - 5 * 3600)))),
            "negative_rat": hc1(cose(de, ES256, claims("DE", iat, exp, test_dcc(now - 3600, tt="LP217198-3")))),
            "holder": {"name": "Anna Maria Mueller", "birth_date": DOB},
        },
    }
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")


def fixed(out):
    """material valid until 2099 (issued 2024), for tests that cannot run this script"""
    nb, na = 1577836800, 4102444800  # 2020-01-01 .. 2100-01-01
    iat, exp = 1704067200, 4070908800  # 2024-01-01 .. 2099-01-01
    de = Signer("de-es256", "ec", "DE", nb, na)
    fr = Signer("fr-ps256", "rsa", "FR", nb, na)
    refused = {
        "ec_p384": Signer("ec-p384", "ec384", "DE", nb, na).der.hex(),
        "rsa_1024": Signer("rsa-1024", "rsa1024", "DE", nb, na).der.hex(),
        "ed25519": Signer("ed25519", "ed25519", "DE", nb, na).der.hex(),
    }
    doc = {
        "signers": {"de_es256": de.der.hex(), "fr_ps256": fr.der.hex()},
        "kids": {"de_es256": de.kid.hex(), "fr_ps256": fr.kid.hex()},
        "refused": refused,
        "holder": {"name": "Anna Maria Mueller", "birth_date": DOB},
        "certificates": {
            "vaccination_complete": hc1(cose(fr, PS256, claims("FR", iat, exp, vac_dcc(
                2, 2, "2021-05-01", ci="URN:UVCI:01:FR:V2024FIXED2OF2#K")))),
            "vaccination_complete_es256": hc1(cose(de, ES256, claims("DE", iat, exp, vac_dcc(
                2, 2, "2021-06-01", ci="URN:UVCI:01DE/V2024DOC2OF2#D")))),
            "vaccination_partial": hc1(cose(de, ES256, claims("DE", iat, exp, vac_dcc(
                1, 2, "2021-04-01", ci="URN:UVCI:01DE/V2024FIXED1OF2#P")))),
            "test_old_negative": hc1(cose(de, ES256, claims("DE", iat, exp, test_dcc(
                1704067200 - 7200, ci="URN:UVCI:01DE/T2024FIXEDNEG#S")))),
            "test_positive": hc1(cose(de, ES256, claims("DE", iat, exp, test_dcc(
                1704067200 - 7200, tr="260373001", ci="URN:UVCI:01DE/T2024FIXEDPOS#S")))),
            "other_holder": hc1(cose(de, ES256, claims("DE", iat, exp, {
                **vac_dcc(2, 2, "2021-05-01", ci="URN:UVCI:01DE/V2024OTHER#X"),
                "nam": {"fn": "Rossi", "fnt": "ROSSI", "gn": "Mario", "gnt": "MARIO"}}))),
            "other_birth": hc1(cose(de, ES256, claims("DE", iat, exp, {
                **vac_dcc(2, 2, "2021-05-01", ci="URN:UVCI:01DE/V2024BIRTH#X"), "dob": "1985-03-15"}))),
        },
    }
    with open(os.path.join(out, "fixed.json"), "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--now", type=int, default=None, help="seconds since 1970 (default: now)")
    ap.add_argument("--fixed", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.fixed:
        fixed(a.out)
    else:
        normal(a.out, a.now if a.now is not None else int(datetime.datetime.now(UTC).timestamp()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
