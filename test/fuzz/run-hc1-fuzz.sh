#!/usr/bin/env bash
# The HC1 half of test/fuzz/run-fuzz.sh (run it as `run-fuzz.sh SECONDS
# hc1`): builds test/fuzz/hc1_fuzz.c over src/hc1_codec.c and the HP1 codec
# files with libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer,
# seeds the corpus with the certificates of test/hc1/fixed.json, and exits
# non-zero on a crash, a leak, undefined behaviour or a broken property.
# The last line is "hc1_fuzz: N s, N execs (N/s), N corpus inputs, no crash".
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=$1 cc=$2
build=test/fuzz/build
mkdir -p "$build/hc1-corpus" "$build/hc1-seeds" "$build/hc1-crashes"
codec=(src/hp1_*.c src/hc1_codec.c)
bin=$build/hc1_fuzz
stale=0
[ -x "$bin" ] || stale=1
for f in test/fuzz/hc1_fuzz.c src/hc1.h src/hp1_codec.h "${codec[@]}" "$0"; do [ "$f" -nt "$bin" ] && stale=1; done
if [ "$stale" = 1 ]; then
  "$cc" -std=gnu99 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Wall -Wextra -Werror -Wno-unused-parameter -Isrc \
    -o "$bin.tmp.$$" test/fuzz/hc1_fuzz.c "${codec[@]}" \
    -lsodium -lz -lm
  mv "$bin.tmp.$$" "$bin"
fi
rm -f "$build/hc1-seeds"/*
/usr/bin/python3 - test/hc1/fixed.json "$build/hc1-seeds" <<'PY'
import json, sys
d, out = json.load(open(sys.argv[1])), sys.argv[2]
for name, text in d["certificates"].items():
    open(f"{out}/{name}.txt", "w").write(text)
PY
log=$build/hc1-fuzz.log
before=$(ls "$build/hc1-crashes" | wc -l)
rc=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:symbolize=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$bin" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -print_pcs=0 \
    -artifact_prefix="$build/hc1-crashes/" "$build/hc1-corpus" "$build/hc1-seeds" >"$log" 2>&1 || rc=$?
after=$(ls "$build/hc1-crashes" | wc -l)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
corpus=$(ls "$build/hc1-corpus" | wc -l)
if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ]; then
  grep -E 'ERROR|runtime error|hc1_fuzz: property|SUMMARY|Test unit written|#0 |#1 |#2 |#3 ' "$log" | head -40 >&2
  echo "hc1_fuzz: FAILED after ${execs:-?} execs (exit $rc); log $log, inputs in $build/hc1-crashes/" >&2
  exit 1
fi
echo "hc1_fuzz: $secs s, ${execs:-0} execs (${rate:-0}/s), $corpus corpus inputs, no crash"
