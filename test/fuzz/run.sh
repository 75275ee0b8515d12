#!/usr/bin/env bash
# Builds the libFuzzer targets test/fuzz/fuzz_*.c with clang
# (-fsanitize=fuzzer,address,undefined, UB fatal, leaks detected) and runs
# each for a bounded time on a copy of its seed corpus test/fuzz/corpus/<t>/
# (new inputs it finds go to a scratch copy, not into the repository).
#
#   test/fuzz/run.sh [TARGET...]      e.g. test/fuzz/run.sh note tlog_proof
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default: the targets share about 60 s
#                   of wall-clock time, FUZZ_JOBS at a time)
#   FUZZ_JOBS       targets run at once (default: the number of CPUs)
#   FUZZ_ARTIFACTS  directory to keep crashing inputs in (default: a scratch
#                   directory that is printed, and kept, when something fails)
#   CLANG           compiler (default: clang; on Debian 12 it needs the
#                   libclang-rt-14-dev package for libFuzzer and the sanitizers)
#
# Prints, per target, the seconds, executions and corpus size; exits non-zero
# if a target does not build, or finds a crash, a leak, undefined behaviour,
# a timeout or a failed property (FUZZ_CHECK), after running the others.
# Reproduce a finding with: <scratch>/bin/fuzz_<target> <crashing input>
set -euo pipefail
cd "$(dirname "$0")/../.."

CLANG=${CLANG:-clang}
ALL=(base64 vkey vkey_list checkpoint note tlog_proof merkle batch pem hash256 battery_id number cli)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${ALL[@]}"); fi
JOBS=${FUZZ_JOBS:-$(nproc)}
# libFuzzer overshoots -max_total_time by about a second: take it off
rounds=$(( (${#targets[@]} + JOBS - 1) / JOBS ))
SECONDS_EACH=${FUZZ_SECONDS:-$(( 60 / rounds > 2 ? 60 / rounds - 1 : 1 ))}

W=$(mktemp -d /tmp/battledger-fuzz.XXXXXX)
ART=${FUZZ_ARTIFACTS:-$W/artifacts}
mkdir -p "$W/bin" "$W/obj" "$ART"
keep=0
trap '[ $keep = 1 ] || rm -rf "$W"' EXIT

# -O1 and frame pointers keep sanitizer reports readable; every UBSan check
# aborts, so undefined behaviour fails the run like a crash.
CFLAGS=(-g -O1 -fno-omit-frame-pointer -std=c99 -Wall -Wextra -Werror -Isrc/core
        -fsanitize=address,undefined -fno-sanitize-recover=all)
LIB=(sha256 merkle ed25519 codec note batch type_text number_text)

if ! command -v "$CLANG" > /dev/null; then
  echo "fuzz: $CLANG not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
echo "== build ($("$CLANG" --version | head -1))"
for f in "${LIB[@]}"; do
  "$CLANG" "${CFLAGS[@]}" -fsanitize=fuzzer-no-link -c "src/core/$f.c" -o "$W/obj/$f.o" &
done
wait
objs=("${LIB[@]/#/$W/obj/}")
objs=("${objs[@]/%/.o}")
pids=()
for t in "${targets[@]}"; do
  [ -f "test/fuzz/fuzz_$t.c" ] || { echo "fuzz: no target test/fuzz/fuzz_$t.c" >&2; exit 2; }
  "$CLANG" "${CFLAGS[@]}" -fsanitize=fuzzer -Itest/fuzz -o "$W/bin/fuzz_$t" \
    "test/fuzz/fuzz_$t.c" "${objs[@]}" -lcrypto &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || { echo "fuzz: build failed" >&2; exit 1; }; done

echo "== run: ${#targets[@]} targets, ${SECONDS_EACH} s each, $JOBS at a time"
# run_target T: fuzz T, leaving its output in $W/T.log and exit status in $W/T.rc.
# The scratch corpus comes first, so libFuzzer writes new inputs there; the
# committed seeds (and regression inputs) are read from the second.
run_target() {
  local t=$1 rc=0
  mkdir -p "$W/corpus/$t"
  "$W/bin/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -use_value_profile=1 -print_final_stats=1 \
    -artifact_prefix="$ART/$t-" "$W/corpus/$t" "test/fuzz/corpus/$t" \
    > "$W/$t.log" 2>&1 || rc=$?
  echo $rc > "$W/$t.rc"
}
running=0
for t in "${targets[@]}"; do
  if [ $running -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
  run_target "$t" &
  running=$((running + 1))
done
wait

failed=()
total_execs=0
for t in "${targets[@]}"; do
  rc=$(cat "$W/$t.rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$W/$t.log" | tail -1)
  seeds=$(find "test/fuzz/corpus/$t" -type f 2>/dev/null | wc -l)
  corpus=$(find "$W/corpus/$t" -type f | wc -l)
  if [ "$rc" -ne 0 ] || grep -qE '^==[0-9]+==ERROR|runtime error:|property failed' "$W/$t.log"; then
    failed+=("$t")
    printf '%-12s FAIL (exit %d) after %s executions\n' "$t" "$rc" "${execs:-?}"
    grep -E 'ERROR|runtime error|property failed|SUMMARY|Test unit written|Base64' "$W/$t.log" | head -20 | sed 's/^/    /'
  else
    total_execs=$((total_execs + ${execs:-0}))
    printf '%-12s ok   %3d s  %9d executions  seeds %3d  new inputs %d\n' \
      "$t" "$SECONDS_EACH" "${execs:-0}" "$seeds" "$corpus"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  keep=1
  echo "== FAILED: ${failed[*]}; logs, binaries and inputs kept in $W (artifacts: $ART)"
  exit 1
fi
echo "== all ${#targets[@]} fuzz targets clean ($total_execs executions)"
