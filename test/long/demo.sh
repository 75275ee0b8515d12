#!/usr/bin/env bash
# The README's demo (./demo.sh), as a user runs it: it must end with status 0,
# which it does only when every attack it shows was refused, every verify*()
# count is 0 and every passport validated against its schema.  Run in the
# long stage so that a change breaking the demo fails CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ./demo.sh > "$out" 2>&1; then rc=0; else rc=$?; fi
fail=0
if [ "$rc" = 0 ]; then echo "ok   - demo.sh ended with status 0"
else echo "FAIL - demo.sh ended with status $rc"; tail -30 "$out"; fail=1; fi
if grep -q '^Done\.' "$out"; then echo "ok   - demo.sh ran to its end"
else echo "FAIL - demo.sh did not reach its last line"; fail=1; fi
# the refusals it shows are ✘ lines too: six of them, each naming its reason
n=$(grep -c '✘' "$out" || true)
if [ "$n" = 6 ]; then echo "ok   - the six refusals the demo shows, and nothing else, are marked ✘"
else echo "FAIL - $n lines marked ✘, six expected:"; grep '✘' "$out"; fail=1; fi
exit $fail
