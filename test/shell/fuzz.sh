#!/usr/bin/env bash
# libFuzzer on the pure C parsers shared by the extension and the CLI (notes,
# checkpoints, cosignatures, tlog-proofs, vkeys, base64, PEM keys, Merkle
# proofs, the hash256 and battery_id text input): test/fuzz/run.sh builds
# every target with clang (address and undefined-behaviour sanitizers, leak
# checks) and runs them for about 60 s in all (FUZZ_SECONDS per target to
# change it).  No database.  Fails on any crash, leak, undefined behaviour
# or failed property, printing the input that caused it.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash test/fuzz/run.sh
