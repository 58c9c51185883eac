#!/usr/bin/env bash
# Coverage-guided fuzzing of the HP1 token decoding path (test/fuzz/hp1_fuzz.c
# over the PostgreSQL-free codec files src/hp1_*.c alone) with libFuzzer,
# AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer.
#
#   test/fuzz/run-fuzz.sh [seconds] [hp1|hc1]      (default 300, hp1)
#
# hc1 fuzzes the HC1 (EU DCC) decoding path instead (test/fuzz/hc1_fuzz.c
# over src/hc1_codec.c and the codec files), seeded with the certificates of
# test/hc1/fixed.json; its corpus and crashes are kept apart (build/hc1-*).
#
# Builds into test/fuzz/build/ (git-ignored), seeds the corpus with the
# tokens of test/vectors/hp1-vectors.json and their decoded COSE bytes, keeps
# what the fuzzer finds in test/fuzz/build/corpus/ for the next run, and
# exits non-zero when libFuzzer reports a crash, a leak, undefined
# behaviour, a timeout or a broken property; the input that did it is in
# test/fuzz/build/crashes/. Reproduce one with
#   test/fuzz/build/hp1_fuzz test/fuzz/build/crashes/<file>
# The last line is "hp1_fuzz: N s, N execs (N/s), N corpus inputs, no crash".
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-300}
target=${2:-hp1}
case $secs in '' | *[!0-9]*) echo "usage: $0 [seconds] [hp1|hc1]" >&2; exit 2 ;; esac
case $target in hp1 | hc1) ;; *) echo "usage: $0 [seconds] [hp1|hc1]" >&2; exit 2 ;; esac
build=test/fuzz/build
mkdir -p "$build/corpus" "$build/seeds" "$build/crashes"

cc=
for c in clang-14 clang; do
  if command -v "$c" >/dev/null; then cc=$c; break; fi
done
if [ -z "$cc" ]; then
  echo "run-fuzz: clang is missing (Debian packages clang-14 and libclang-rt-14-dev)" >&2
  exit 3
fi

if [ "$target" = hc1 ]; then
  exec test/fuzz/run-hc1-fuzz.sh "$secs" "$cc"
fi

# rebuild only when the harness or a codec changed
codec=(src/hp1_*.c)
srcs=(test/fuzz/hp1_fuzz.c src/hp1_codec.h "${codec[@]}")
bin=$build/hp1_fuzz
stale=0
[ -x "$bin" ] || stale=1
for f in "${srcs[@]}" "$0"; do [ "$f" -nt "$bin" ] && stale=1; done
if [ "$stale" = 1 ]; then
  "$cc" -std=gnu99 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Wall -Wextra -Werror -Wno-unused-parameter -Isrc \
    -o "$bin.tmp.$$" test/fuzz/hp1_fuzz.c "${codec[@]}" \
    -lsodium -lz -lm
  mv "$bin.tmp.$$" "$bin"
fi

# seeds: each vector token as text, and the COSE bytes it decodes to
rm -f "$build/seeds"/*
/usr/bin/python3 - test/vectors/hp1-vectors.json "$build/seeds" <<'PY'
import json, sys, zlib
vec, out = json.load(open(sys.argv[1])), sys.argv[2]
abc = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
def b45(s):
    b = bytearray()
    for i in range(0, len(s), 3):
        g = [abc.index(c) for c in s[i:i + 3]]
        v = sum(d * 45 ** k for k, d in enumerate(g))
        b += v.to_bytes(2 if len(g) == 3 else 1, "big")
    return bytes(b)
def put(name, data):
    with open(f"{out}/{name}", "wb") as f:
        f.write(data)
put("deterministic.cose", bytes.fromhex(vec["deterministic"]["cose_hex"]))
for c in vec["cases"]:
    put(c["name"] + ".txt", c["token"].encode())
    try:
        raw = b45(c["token"][4:])
        put(c["name"] + ".cose", zlib.decompress(raw) if raw[:1] == b"\x78" else raw)
    except (ValueError, OverflowError, zlib.error):
        pass  # the malformed vectors have no COSE bytes
def text(raw):
    out = []
    for i in range(0, len(raw) - 1, 2):
        v = raw[i] << 8 | raw[i + 1]
        out += [abc[v % 45], abc[v // 45 % 45], abc[v // 2025]]
    if len(raw) % 2:
        out += [abc[raw[-1] % 45], abc[raw[-1] // 45]]
    return ("HP1:" + "".join(out)).encode()
# zlib streams that inflate past the 65536-byte limit
for n in (65537, 65900, 200000):
    put(f"zipbomb-{n}.txt", text(zlib.compress(b"\xd2" * n, 9)))
c = zlib.compressobj(9)  # a block that ends just under the limit, then more
put("zipbomb-blocks.txt", text(c.compress(b"\xd2" * 65300) + c.flush(zlib.Z_FULL_FLUSH) +
                             c.compress(b"\xd2" * 700) + c.flush()))
# a token signed with key A (RFC 8032 test 1) whose body has every kind of value
import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
sk = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vec["deterministic"]["seed_hex"]))
prot = cbor2.dumps({1: -8, 4: bytes.fromhex(vec["deterministic"]["kid_hex"])}, canonical=True)
body = {"k": "health", "v": 1, "n": "\u5f20*\u660e", "a": [0, 23, 24, -1, -25, 65536, 2**32, -2**63],
        "f": [1.5, 100000.0, 1.1, -0.0, 5.960464477539063e-8, 3.4028234663852886e+38],
        "b": [True, False, None, b"", b"\x00\xff"], "m": {"x": {"y": [[], {}]}}, "s": "\U0001f600"}
payload = cbor2.dumps({1: "CN-44", 4: 2082758400, 6: 1767225600, 7: bytes(range(16)), -65537: body},
                      canonical=True)
sig = sk.sign(cbor2.dumps(["Signature1", prot, b"", payload]))
cose = cbor2.dumps(cbor2.CBORTag(18, [prot, {}, payload, sig]))
put("rich.cose", cose)
put("rich.txt", text(zlib.compress(cose, 9)))
PY

log=$build/fuzz.log
before=$(ls "$build/crashes" | wc -l)
rc=0
# detect_leaks: leaks are failures; halt_on_error: UB is one too
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:symbolize=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -dict=test/fuzz/hp1.dict -print_final_stats=1 -print_pcs=0 \
    -artifact_prefix="$build/crashes/" "$build/corpus" "$build/seeds" >"$log" 2>&1 || rc=$?
after=$(ls "$build/crashes" | wc -l)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
corpus=$(ls "$build/corpus" | wc -l)
if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ]; then
  grep -E 'ERROR|runtime error|hp1_fuzz: property|SUMMARY|Test unit written|#0 |#1 |#2 |#3 ' "$log" | head -40 >&2
  echo "hp1_fuzz: FAILED after ${execs:-?} execs (exit $rc); log $log, inputs in $build/crashes/" >&2
  exit 1
fi
echo "hp1_fuzz: $secs s, ${execs:-0} execs (${rate:-0}/s), $corpus corpus inputs, no crash"
