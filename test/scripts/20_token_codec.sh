#!/usr/bin/env bash
# Unit test of the PostgreSQL-free HP1 codecs (src/hp1_*.c): builds
# 20_token_codec.c against them with libsodium and zlib and feeds it the
# HP1 test vectors. Prints TAP.
# The codec files must link alone: first they are linked into a shared
# object that may leave no symbol undefined (only the C library, libsodium
# and zlib), so a call into the extension fails the build and the test.
set -eu
cd "$(dirname "$0")/../.."
build=$(mktemp -d); trap 'rm -rf "$build"' EXIT
codec=(src/hp1_*.c)
gcc -std=gnu99 -O2 -Wall -Wextra -Werror -Wno-unused-parameter -Isrc -fPIC -shared \
  -Wl,--no-undefined -o "$build/libhp1.so" "${codec[@]}" -lsodium -lz -lm
gcc -std=gnu99 -O2 -Wall -Wextra -Werror -Wno-unused-parameter -Isrc \
  -o "$build/codec" test/scripts/20_token_codec.c "${codec[@]}" \
  -lsodium -lz -lm
/usr/bin/python3 - test/vectors/hp1-vectors.json >"$build/input" <<'PY'
import base64, json, sys
d = json.load(open(sys.argv[1]))
b64 = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)).hex()
for k in d["trust_list"]["keys"]:
    print("key", b64(k["kid"]), b64(k["x"]), k.get("iss", d["trust_list"]["issuer"]), sep="\t")
v = d["deterministic"]
print("det", v["protected_hex"], v["payload_hex"], v["signature_hex"], v["cose_hex"], sep="\t")
for c in d["cases"]:
    print("case", c["name"], c["expect"], c["token"], sep="\t")
PY
"$build/codec" <"$build/input"
