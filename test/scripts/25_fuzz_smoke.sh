#!/usr/bin/env bash
# Smoke run of the HP1 decode fuzzer (TAP): test/fuzz/run-fuzz.sh for 15 s
# (libFuzzer with AddressSanitizer and UndefinedBehaviorSanitizer, see
# test/fuzz/hp1_fuzz.c), then every input in test/fuzz/regress/ (inputs the
# fuzzer once failed on; the file names say why) through the same harness,
# then the HC1 decode fuzzer (test/fuzz/hc1_fuzz.c) for 8 s.
# `make fuzz` runs longer.
# Needs no database. Skips only when clang is not installed.
set -u
cd "$(dirname "$0")/../.."
if ! command -v clang-14 >/dev/null && ! command -v clang >/dev/null; then
  echo "ok 1 # SKIP clang is not installed"
  echo "ok 2 # SKIP clang is not installed"
  echo "ok 3 # SKIP clang is not installed"
  echo "1..3"
  exit 0
fi
secs=15
out=$(test/fuzz/run-fuzz.sh "$secs" 2>&1); rc=$?
execs=$(printf '%s\n' "$out" | sed -n 's/^hp1_fuzz: [0-9]* s, \([0-9]*\) execs.*/\1/p' | tail -1)
if [ "$rc" -eq 0 ] && [ -n "$execs" ] && [ "$execs" -gt 0 ]; then
  echo "ok 1 - hp1 decode fuzz $secs s, $execs execs, no crash"
else
  echo "not ok 1 - hp1 decode fuzz $secs s (exit $rc)"
  printf '%s\n' "$out" | tail -40 | sed 's/^/# /'
fi

regress=(test/fuzz/regress/*)
if [ -x test/fuzz/build/hp1_fuzz ] &&
   rout=$(ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            test/fuzz/build/hp1_fuzz "${regress[@]}" 2>&1); then
  echo "ok 2 - hp1 fuzz regression inputs pass (${#regress[@]} files)"
else
  echo "not ok 2 - hp1 fuzz regression inputs"
  printf '%s\n' "${rout:-the harness was not built}" | grep -E 'ERROR|runtime error|property|SUMMARY|Running' | head -20 | sed 's/^/# /'
fi
hout=$(test/fuzz/run-fuzz.sh 8 hc1 2>&1); hrc=$?
hexecs=$(printf '%s\n' "$hout" | sed -n 's/^hc1_fuzz: [0-9]* s, \([0-9]*\) execs.*/\1/p' | tail -1)
if [ "$hrc" -eq 0 ] && [ -n "$hexecs" ] && [ "$hexecs" -gt 0 ]; then
  echo "ok 3 - hc1 decode fuzz 8 s, $hexecs execs, no crash"
else
  echo "not ok 3 - hc1 decode fuzz 8 s (exit $hrc)"
  printf '%s\n' "$hout" | tail -40 | sed 's/^/# /'
fi
echo "1..3"
