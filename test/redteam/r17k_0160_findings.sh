#!/usr/bin/env bash
# Red team r17k (0.16.0 review): the log key rotation (red team r16a K02),
# attacked as the log operator facing an auditor, a malicious member, a
# peer's plain role and a peer's superuser.  Tested: main f0eda4e.
# Each case prints "ok   - ..." (held) or "FAIL - ..." (a finding, named
# F1..Fn as in the report); exit status 1 if any FAIL.
# PG_BIN: the build under test; BATTLEDGER_CLI: its CLI.  R17K_PORT (default
# 56760: ports +0 .. +2).  R17K_ONLY=A|B runs one group (A: verify_log and
# the CLI, one cluster; B: a peer, two members).
#
# Results at f0eda4e (PostgreSQL 15, 2026-12-06, see the report):
#   see the header block printed at the end of a run ("results").
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
CLI=${BATTLEDGER_CLI:-$BL_ROOT/bin/battledger}
BASE=${R17K_PORT:-56760}
ONLY=${R17K_ONLY:-}
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }

bl_scratch
K=$BL_WORK/keys; mkdir -p "$K"; chmod 755 "$K"
for k in one two three other; do "$CLI" keygen --out "$K/$k" >/dev/null; done
[ "$(id -u)" = 0 ] && chown -R postgres: "$K"

# ------------------------------------------------------------------ group A
if [ -z "$ONLY" ] || [ "$ONLY" = A ]; then
ORIGIN=rot.example/batteries
cp "$K/one.key" "$K/log.key"; [ "$(id -u)" = 0 ] && chown postgres: "$K/log.key"
bl_start_cluster rot "$BASE" "battledger.origin = '$ORIGIN'
battledger.log_key_file = '$K/log.key'"
export PGDATABASE=rot
createdb rot
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE soh (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('soh', 'battery');
INSERT INTO soh SELECT 'B' || i % 3, 100 - i FROM generate_series(1, 20) i;
SELECT battledger.seal();
SQL
V1=$("$CLI" vkey --key "$K/one.key" --name "$ORIGIN")
V2=$("$CLI" vkey --key "$K/two.key" --name "$ORIGIN")
V3=$("$CLI" vkey --key "$K/three.key" --name "$ORIGIN")
check "A0 the log's own key is key one" [ "$(q -c "SELECT battledger.log_vkey()")" = "$V1" ]
# sign KEY SIZE: a checkpoint note of this log at SIZE, signed by KEY (the log operator's CLI)
sign() {
  local root; root=$(q -c "SELECT encode(battledger.tree_root($2)::bytea, 'base64')")
  "$CLI" sign-checkpoint --key "$K/$1.key" --origin "$ORIGIN" --size "$2" --root "$root"
}
# store SIZE NOTE: the operator (a superuser) adds a checkpoint row, as seal() would
store() { q -v s="$1" -v n="$2" <<<"INSERT INTO battledger.checkpoint (tree_size, root, note) VALUES (:s, battledger.tree_root(:s), :'n' || E'\\n')"; }
problems() { q -c "SELECT coalesce(string_agg(problem || ' ' || ref, ', ' ORDER BY ref::bigint), 'none') FROM battledger.verify_log(false, \$k\$$1\$k\$)" 2>&1 || true; }

# a note signed by key one and key two: key one's note with key two's signature line added
N1=$(sign one 5); N2=$(sign two 5)
DUAL="$N1"$'\n'"$(printf '%s\n' "$N2" | tail -n 1)"
check "A1 the dual note verifies under either key (CLI)" \
  bash -c '"$0" verify-checkpoint --vkey "$1" --file <(printf "%s\n" "$3") >/dev/null && "$0" verify-checkpoint --vkey "$2" --file <(printf "%s\n" "$3") >/dev/null' "$CLI" "$V1" "$V2" "$DUAL"
store 3 "$(sign one 3)"
store 5 "$DUAL"
store 7 "$(sign one 7)"
# the log: 3 (one), 5 (one+two), 7 (one), 20 (one, seal()).  The peer trigger
# takes a dual checkpoint's era as its newest key (witness.c: "the newest key
# it verifies under"), so it refuses key one after 5; verify_log() should too.
P=$(problems "$V1"$'\n'"$V2")
check "F1 verify_log: key one alone after a checkpoint signed by one and two is caught (got: $P)" \
  [ "$P" = "checkpoint_bad_signature 7, checkpoint_bad_signature 20" ]

# duplicate keys: one, two, one lets the retired key one sign again
q >/dev/null <<'SQL'
INSERT INTO soh SELECT 'C' || i % 3, 50 - i FROM generate_series(1, 10) i;
SQL
cp "$K/two.key" "$K/log.key"; q -c "SELECT battledger.seal()" >/dev/null      # 30, key two
q -c "INSERT INTO soh VALUES ('D', 1), ('D', 2)" >/dev/null
cp "$K/one.key" "$K/log.key"; q -c "SELECT battledger.seal()" >/dev/null      # 32, key one (retired)
P=$(problems "$V1"$'\n'"$V2")
check "A2 keys one, two: key one after two's checkpoint at 30 is caught (got: $P)" \
  grep -q "checkpoint_bad_signature 32" <<<"$P"
P=$(problems "$V1"$'\n'"$V2"$'\n'"$V1")
check "F2 keys one, two, one (a key listed twice): refused, or key one at 32 still caught (got: $P)" \
  bash -c '[[ "$0" == *"ERROR"* ]] || grep -q "checkpoint_bad_signature 32" <<<"$0"' "$P"
P=$(problems "$V1"$'\n'"$V1")
check "A3 the same key twice, nothing else: no new error (got: $P)" bash -c '[[ "$0" != *ERROR* ]]' "$P"

# the list's format
P12=$(problems "$V1"$'\n'"$V2")
check "A4 CRLF lines and a trailing CRLF read as LF" [ "$(problems "$V1"$'\r\n'"$V2"$'\r\n')" = "$P12" ]
check "A5 blank lines between keys are skipped" [ "$(problems $'\n'"$V1"$'\n\n'"$V2"$'\n\n')" = "$P12" ]
P=$(problems " $V1"$'\n'"$V2")
check "A6 a key with a leading blank: an error, not a silent skip (got: ${P:0:80})" grep -q "ERROR" <<<"$P"
P=$(problems "$V1 "$'\n'"$V2")
check "A7 a key with a trailing blank: an error, not a silent skip (got: ${P:0:80})" grep -q "ERROR" <<<"$P"
P=$(problems "$V1"$'\n'"$("$CLI" vkey --key "$K/two.key" --name other.example/log)")
check "A8 keys of two names: refused" grep -q 'names keys of two logs' <<<"$P"
L16=$(for i in $(seq 1 16); do echo "$V3"; done)
P=$(problems "$L16")
check "A9 16 keys: accepted (each checkpoint then bad: not the log's key)" bash -c '[[ "$0" != *ERROR* ]]' "$P"
P=$(problems "$L16"$'\n'"$V1")
check "A10 17 keys: refused (54000)" grep -q 'more than 16 keys' <<<"$P"
P=$(problems "$(for i in $(seq 1 3); do echo "$("$CLI" vkey --key "$K/other.key" --name other.example/log)"; done)")
check "A11 a list of another log's keys: every checkpoint bad (got: ${P:0:60})" \
  bash -c '[ "$(grep -o checkpoint_bad_signature <<<"$0" | wc -l)" = "$1" ]' "$P" "$(q -c "SELECT count(*) FROM battledger.checkpoint")"

# the CLI: verify-consistency --old-vkey
save() { printf '%s\n' "$(q -c "SELECT note FROM battledger.checkpoint WHERE tree_size = $1")" > "$2"; }
save 20 "$BL_WORK/c20.txt"; save 30 "$BL_WORK/c30.txt"
q -c "SELECT encode(h::bytea, 'base64') FROM unnest(battledger.consistency_proof(20, 30)) h" > "$BL_WORK/p.txt"
cli_rc() { local rc=0; "$CLI" "$@" >/dev/null 2>&1 || rc=$?; echo $rc; }
check "A12 CLI --old-vkey one --vkey two: ok" \
  [ "$(cli_rc verify-consistency --vkey "$V2" --old-vkey "$V1" --old "$BL_WORK/c20.txt" --new "$BL_WORK/c30.txt" --proof "$BL_WORK/p.txt")" = 0 ]
check "A13 CLI --old-vkey equal to --vkey: as without it (old note by key one refused under two)" \
  [ "$(cli_rc verify-consistency --vkey "$V2" --old-vkey "$V2" --old "$BL_WORK/c20.txt" --new "$BL_WORK/c30.txt" --proof "$BL_WORK/p.txt")" = 1 ]
# the old checkpoint re-signed for another origin by another key, same tree
OROOT=$(sed -n 3p "$BL_WORK/c20.txt")
"$CLI" sign-checkpoint --key "$K/other.key" --origin other.example/log --size 20 --root "$OROOT" > "$BL_WORK/o20.txt"
VO=$("$CLI" vkey --key "$K/other.key" --name other.example/log)
check "A14 CLI: old note of another origin under its own --old-vkey: refused" \
  [ "$(cli_rc verify-consistency --vkey "$V2" --old-vkey "$VO" --old "$BL_WORK/o20.txt" --new "$BL_WORK/c30.txt" --proof "$BL_WORK/p.txt")" = 1 ]
check "A15 CLI: the same with --origin of the new log: refused" \
  [ "$(cli_rc verify-consistency --vkey "$V2" --old-vkey "$VO" --origin "$ORIGIN" --old "$BL_WORK/o20.txt" --new "$BL_WORK/c30.txt" --proof "$BL_WORK/p.txt")" = 1 ]
check "A16 CLI: the same with --origin of the old log: refused" \
  [ "$(cli_rc verify-consistency --vkey "$V2" --old-vkey "$VO" --origin other.example/log --old "$BL_WORK/o20.txt" --new "$BL_WORK/c30.txt" --proof "$BL_WORK/p.txt")" -ge 1 ]
check "A17 CLI: an --old-vkey of two lines (a list) is refused" \
  [ "$(cli_rc verify-consistency --vkey "$V2" --old-vkey "$V1"$'\n'"$V2" --old "$BL_WORK/c20.txt" --new "$BL_WORK/c30.txt" --proof "$BL_WORK/p.txt")" -ge 1 ]
# the dual note as the old checkpoint: under --old-vkey two too
q -c "SELECT encode(h::bytea, 'base64') FROM unnest(battledger.consistency_proof(5, 30)) h" > "$BL_WORK/p5.txt"
printf '%s\n' "$DUAL" > "$BL_WORK/c5.txt"
check "A18 CLI: a dual-signed old note verifies with --old-vkey one and with two" \
  [ "$(cli_rc verify-consistency --vkey "$V2" --old-vkey "$V1" --old "$BL_WORK/c5.txt" --new "$BL_WORK/c30.txt" --proof "$BL_WORK/p5.txt")$(cli_rc verify-consistency --vkey "$V2" --old "$BL_WORK/c5.txt" --new "$BL_WORK/c30.txt" --proof "$BL_WORK/p5.txt")" = 00 ]
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/rot" -m fast stop >/dev/null
fi
echo "group A done"
exit $fail
