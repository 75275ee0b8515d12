#!/usr/bin/env bash
# Red team r16a (0.15.0 cycle, release 0.14.0 as on main 6f376bd): the
# auditor's side.  What an auditor relies on when verifying offline with no
# trust in any database (the battledger CLI: signed notes, checkpoints,
# cosignatures, tlog-proofs, raw proofs, verifier keys), what a malicious
# log operator (who holds the log key) or witness can make it accept, the
# proof SQL functions called by a plain role with odd arguments, and a
# member's superuser rewriting the log behind the guards.
# Each case prints "ok <case>" / "FAIL <case>: ..."; exit status: FAILs.
# PG_BIN: the build under test; CLI: its battledger binary (default
# $PG_BIN/../../../../../bin/battledger, the layout of the helpers' copies, else
# bin/battledger).  Ports R16A_PORT (default 56201) to R16A_PORT + 2.
# Results (PostgreSQL 15, 2026-12-06 02:20-02:31 UTC): branch r16a at
# b89c4c0 (server and CLI): 1 FAIL (K02); main 6f376bd's build: 3 FAILs
# (C10, K01, K02), every other case the same.  On main a96e922 (0.16.0,
# 2026-12-06 05:12 UTC): 0 FAIL (K02 holds with --old-vkey and verify_log's
# list of keys).
#   C01 the member's own checkpoint and tlog-proof verify (sanity) (holds)
#   C02 signature lines by unknown keys, before and after the log's, are
#       ignored (signed-note: MUST ignore) (holds)
#   C03 a line with the log's name but another key ID (another key) is
#       ignored: alone, the note is refused (holds)
#   C04 a second line by the log key (name and ID) with a bad signature
#       rejects the whole note (signed-note: SHOULD) (holds)
#   C05 non-canonical base64 (non-zero padding bits) in the root line and
#       in a signature line, each over a validly signed text: refused (holds)
#   C06 tree size lines "00", "01", "-1", "+1", " 1", "1 ", "0x1", 2^64,
#       each signed by the log key: refused as not a checkpoint (holds);
#       2^63 and 2^64-1 are accepted (u64, the spec sets no bound; the
#       witness trigger refuses them: a row's bigint cannot carry them)
#   C07 origin lines with a tab, a CR, a NUL, invalid and overlong UTF-8,
#       each signed by the log key: refused; a CRLF note refused (holds)
#   C08 a blank line after the signatures: refused, with the psql hint (holds)
#   C09 1 valid + 16 unknown signature lines accepted (spec: at least 16);
#       1 + 64 refused whole (the parser's cap of 64) (holds)
#   C10 FAILS on main 6f376bd: --min-witnesses counts one Ed25519 witness
#       key twice when the policy lists it under two names.
#       tlog-cosignature/v1's signed message does not commit to the
#       cosigner's name, so the log operator, given ONE honest
#       cosignature line by key P (name w1), writes a second line itself:
#       the same signature under name w1b with the key ID of (w1b, 0x04, P).
#       verify-checkpoint / verify-proof --witness w1 --witness w1b
#       --witness w2 --min-witnesses 2 say OK with w2 absent.
#       bl_witness_quorum() (src/core/note.c) deduplicated witnesses by
#       (name, key ID) only.  FIXED on r16a: it counts a public key once,
#       whatever names it is listed under (C10 holds; w1 + w2 still a quorum)
#   C11 tlog-proof bundles: index = size, index 2^64-1, one hash too many,
#       one too few, a hash changed, 65 hashes, a bad "extra" line, an empty
#       "extra ", a wrong header, a leaf of another index: all refused (holds)
#   C12 split view by the log operator: two checkpoints of one size with
#       different roots, both signed: verify-consistency refuses either
#       order; a smaller "new" checkpoint refused; a rewritten history of a
#       larger size (another tree, consistency proof computed from it)
#       refused against the kept checkpoint (holds)
#   C13 verify-consistency: old size 0 with a non-empty root refused; old
#       checkpoint by another key under the same origin refused (holds)
#   C14 vkeys: key ID not matching the key, a cosignature (0x04) key as
#       --vkey, a note (0x01) key as --witness, a small-order public key,
#       an unknown type byte: refused (holds)
#   C15 raw proofs: verify-inclusion size 0, index = size, --size "01" and
#       "-1"; verify-consistency-raw size1 > size2: refused (holds)
#   C16 CLI cosign: it cosigns any parseable checkpoint note, even one with
#       no valid log signature and one contradicting a checkpoint it
#       cosigned before (it keeps no state).  By design and documented
#       ("Verify the checkpoint and its consistency ... before cosigning
#       it"): noted, not counted.  The consortium's witness keeps state:
#       see M01-M05
#   S01-S06 a plain role (no grants) calls inclusion_proof, consistency_proof,
#       tlog_proof, leaf, tree_root, verify_inclusion, verify_consistency with
#       NULLs, negatives, 0, sizes beyond the log, 2^63-1, proofs of 65
#       hashes, NULL elements, 2-D arrays: every error has a class 22 / 55
#       SQLSTATE, none XX000, no crash (holds)
#   S07 checkpoint() and log_vkey() as a plain role: public data only (holds)
#   K01 FAILS on main 6f376bd: the log key file replaced in place (same
#       path, the usual way to rotate a key) while a backend that has signed
#       before goes on: that backend's next seal() signs with the OLD key
#       (key_file_load() in src/pg/log.c caches the key per backend and
#       rereads it only when the setting's path changes).  A seal worker or
#       pooled connection keeps signing with a retired (perhaps compromised)
#       key until it exits; auditors holding the new vkey see checkpoints
#       that do not verify, mixed with ones that do.  FIXED on r16a: the
#       key file (log and witness) is read at every use and parsed again
#       when its bytes change (K01 holds; ~10 us a load, test/bench/keyfile_ab.sh)
#   K02 FAILED on main 6f376bd; holds on 0.16.0 (verify-consistency --old-vkey,
#       verify_log with the log's keys oldest first).  After a log key
#       rotation (before 0.16.0) nothing let an auditor check the history across it.
#       verify-consistency takes one --vkey for both notes, so the kept
#       checkpoint (old key) and the new one (new key) never verify
#       together; verify_log(false, new vkey) reports every honest older
#       checkpoint as checkpoint_bad_signature; peers pinned the old vkey at
#       join() and refuse the new checkpoints (bad_checkpoint).  No doc
#       describes a rotation
#   R01 the member's superuser rewrites a log_leaf row (row hash, and a
#       leaf hash consistent with it) behind the guards: verify_log()
#       reports it; the auditor's leaf from the rewritten values fails
#       verify-proof against a fresh tlog_proof(); seal() then refuses to
#       sign ("the stored tree does not match the last signed checkpoint")
#       (holds)
#   R02 the superuser replaces the latest checkpoint row by one signed with
#       the log key over another root: verify_log() reports it; the kept
#       older checkpoint refuses it with the consistency proof the database
#       now serves (holds)
#   M01-M06 a member's witness (witness.c): member a joins c and verifies
#       and cosigns c's log (sizes 3, 6); c's superuser, holding c's log
#       key, then publishes checkpoint rows (append-only trigger disabled)
#       signed with that key: size 6 with another root (M01: recorded as
#       split_view), size 4 with a root not of the tree (M02: rollback), a
#       row of size -1 whose note says 2^64-1 with the empty root (M03) and
#       one of size -2^63 whose note says 2^63 (M04), where the row's bigint
#       cast to u64 equals the note's size (both: rollback), the verified
#       size-3 checkpoint again (M05: no conflict, no second cosignature);
#       none cosigned by a; no crash (M06) (holds)
# R16A_VERBOSE=1 prints every S case's SQLSTATE; R16A_SKIP_M=1 skips M (two
# more clusters, on R16A_PORT + 1 and + 2).
set -uo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
source "$(dirname "$0")/../lib/cluster.sh"
if [ -z "${CLI:-}" ]; then
  CLI=$(cd "$PG_BIN/../../../../.." 2>/dev/null && pwd)/bin/battledger
  [ -x "$CLI" ] || CLI=$BL_ROOT/bin/battledger
fi
B=$CLI
FAILS=0
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }
note() { echo "# $*"; }
bl_scratch
T=$BL_WORK/t; mkdir -p "$T"; chmod 755 "$T"; cd "$T"
PORT=${R16A_PORT:-56201}
ORIGIN=oem.example/log
EMPTY=$(printf '' | openssl dgst -sha256 -binary | base64)

# ---------------------------------------------------------------- helpers
# keyid KEYFILE NAME [--cosigner]: the 8 hex digits of the key's note key ID
keyid() { "$B" vkey --key "$1" --name "$2" ${3:-} | cut -d+ -f2; }
# sigline KEYFILE NAME TEXTFILE: "— NAME base64(keyid || Ed25519(text))"
sigline() {
  local id sig
  id=$(keyid "$1" "$2"); sig=$("$B" sign --key "$1" < "$3")
  printf '\xe2\x80\x94 %s %s\n' "$2" "$(printf '%s%s' "$id" "$sig" | xxd -r -p | base64 -w0)"
}
# signed TEXTFILE KEYFILE NAME: the note TEXT + blank line + signature line
signed() { cat "$1"; printf '\n'; sigline "$2" "$3" "$1"; }
# verdict of verify-checkpoint on FILE (extra args after): "OK" / "FAIL: why" / "ERR rc"
vcp() {
  local f=$1; shift
  local out; out=$("$B" verify-checkpoint --vkey "$LOGV" --file "$f" "$@" 2>&1); local rc=$?
  case "$out" in OK:*) echo OK;; FAIL:*) echo "$out";; *) echo "ERR $rc: $out";; esac
}
# cosig_relabel LINE NEWNAME NEWKEYID: the same cosignature under another name and key ID
cosig_relabel() {
  python3 - "$1" "$2" "$3" <<'PY'
import base64, sys
line, name, kid = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
blob = base64.b64decode(line.split(' ')[2])
print('\u2014 ' + name + ' ' + base64.b64encode(kid + blob[4:]).decode())
PY
}

"$B" keygen --out log >/dev/null
"$B" keygen --out other >/dev/null
"$B" keygen --out w1 >/dev/null
"$B" keygen --out w2 >/dev/null
[ "$(id -u)" = 0 ] && chown postgres: log.key
LOGV=$("$B" vkey --key log.key --name "$ORIGIN")

# ------------------------------------------------- the member's database
bl_start_cluster m "$PORT" "battledger.origin = '$ORIGIN'
battledger.log_key_file = '$T/log.key'"
export PGDATABASE=bl
createdb bl
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE soh (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('soh', 'battery');
INSERT INTO soh SELECT 'B' || i % 3, 100 - i FROM generate_series(1, 5) i;
SELECT battledger.seal();
CREATE ROLE plain LOGIN;
SQL
printf '%s\n' "$(q -c "SELECT battledger.checkpoint()")" > old.txt
q -c "INSERT INTO soh SELECT 'B' || i % 3, 90 - i FROM generate_series(1, 6) i" -c "SELECT battledger.seal()" >/dev/null
printf '%s\n' "$(q -c "SELECT battledger.checkpoint()")" > new.txt
N=$(q -c "SELECT max(tree_size) FROM battledger.checkpoint")
printf '%s\n' "$(q -c "SELECT battledger.tlog_proof(2)")" > proof2.txt
LEAF2=$(q -c "SELECT encode(battledger.leaf(2), 'hex')")
LEAF3=$(q -c "SELECT encode(battledger.leaf(3), 'hex')")
q -c "SELECT encode(h::bytea, 'base64') FROM unnest(battledger.consistency_proof(5, $N)) h" > cons.txt
# the checkpoint's body (text without signatures)
sed '/^$/,$d' new.txt > body.txt
ROOT=$(sed -n 3p body.txt)

# -------------------------------------------------------------- C: CLI
r=$(vcp new.txt); r2=$("$B" verify-proof --vkey "$LOGV" --proof proof2.txt --leaf-hex "$LEAF2" 2>&1)
[ "$r" = OK ] && [[ $r2 == OK:* ]] && ok "C01 checkpoint and tlog-proof verify" || fail C01 "$r / $r2"

# C02: unknown keys' lines around the log's
{ cat body.txt; printf '\n'; sigline other.key other.example/x body.txt; sigline log.key "$ORIGIN" body.txt
  sigline w1.key w1.example body.txt; } > c02.txt
r=$(vcp c02.txt); [ "$r" = OK ] && ok "C02 unknown signature lines ignored" || fail C02 "$r"

# C03: the log's name, another key: ignored; alone it does not verify
{ cat body.txt; printf '\n'; sigline other.key "$ORIGIN" body.txt; } > c03.txt
{ cat body.txt; printf '\n'; sigline other.key "$ORIGIN" body.txt; sigline log.key "$ORIGIN" body.txt; } > c03b.txt
r=$(vcp c03.txt); rb=$(vcp c03b.txt)
[[ $r == FAIL:*"no valid signature"* ]] && [ "$rb" = OK ] && ok "C03 same name, other key ID ignored" || fail C03 "$r / $rb"

# C04: a second, bad line by the log key
bad=$(sigline log.key "$ORIGIN" body.txt | python3 -c '
import base64,sys
l=sys.stdin.read().strip().split(" "); b=bytearray(base64.b64decode(l[2])); b[10]^=1
print(" ".join(l[:2]+[base64.b64encode(bytes(b)).decode()]))')
{ cat new.txt; echo "$bad"; } > c04.txt
r=$(vcp c04.txt); [[ $r == FAIL:* ]] && ok "C04 a failing line by the log key rejects the note" || fail C04 "$r"

# C05: non-canonical base64, the text validly signed
python3 - "$ROOT" > c05.root <<'PY'
import sys
a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
r = sys.argv[1]; c = r[-2]; print(r[:-2] + a[a.index(c) ^ 1] + r[-1])
PY
{ sed -n 1,2p body.txt; cat c05.root; } > c05body.txt
signed c05body.txt log.key "$ORIGIN" > c05.txt
python3 - new.txt > c05b.txt <<'PY'
import sys
a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
lines = open(sys.argv[1]).read().split("\n")
s = lines[-2]; c = s[-2]; lines[-2] = s[:-2] + a[a.index(c) ^ 1] + s[-1]
sys.stdout.write("\n".join(lines))
PY
r=$(vcp c05.txt); rb=$(vcp c05b.txt)
[[ $r == FAIL:* ]] && [[ $rb == FAIL:* ]] && ! cmp -s new.txt c05b.txt \
  && ok "C05 non-canonical base64 refused (root line, signature line)" || fail C05 "$r / $rb"

# C06: tree size spellings
c06=""
for s in 00 01 -1 +1 " 1" "1 " 0x1 18446744073709551616; do
  printf '%s\n%s\n%s\n' "$ORIGIN" "$s" "$EMPTY" > c06body.txt
  signed c06body.txt log.key "$ORIGIN" > c06.txt
  r=$(vcp c06.txt); [[ $r == FAIL:*"not a checkpoint"* ]] || c06="$c06 [$s: $r]"
done
for s in 9223372036854775808 18446744073709551615; do
  printf '%s\n%s\n%s\n' "$ORIGIN" "$s" "$EMPTY" > c06body.txt
  signed c06body.txt log.key "$ORIGIN" > c06.txt
  r=$(vcp c06.txt); [ "$r" = OK ] && note "C06 size $s accepted by the CLI (u64)"
done
[ -z "$c06" ] && ok "C06 non-canonical tree sizes refused" || fail C06 "$c06"

# C07: origin bytes (each note signed by the log key, --origin given as the same bytes)
c07=""
for o in $'oem.example/\tlog' $'oem.example/log\r' $'oem.example/\xc0\xafx' $'oem.example/\xe2\x82' $'oem.example/\xed\xa0\x80x'; do
  printf '%s\n%s\n%s\n' "$o" 0 "$EMPTY" > c07body.txt
  signed c07body.txt log.key "$ORIGIN" > c07.txt
  r=$("$B" verify-checkpoint --vkey "$LOGV" --origin "$o" --file c07.txt 2>&1)
  [[ $r == FAIL:* ]] || c07="$c07 [$(printf %q "$o"): $r]"
done
printf 'oem.example/\x00log\n0\n%s\n' "$EMPTY" > c07body.txt
signed c07body.txt log.key "$ORIGIN" > c07.txt
r=$(vcp c07.txt); [[ $r == FAIL:* ]] || c07="$c07 [NUL: $r]"
sed 's/$/\r/' new.txt > c07crlf.txt
r=$(vcp c07crlf.txt); [[ $r == FAIL:* ]] || c07="$c07 [CRLF: $r]"
[ -z "$c07" ] && ok "C07 control characters and bad UTF-8 in the origin refused" || fail C07 "$c07"

# C08
{ cat new.txt; echo; } > c08.txt
r=$(vcp c08.txt); [[ $r == FAIL:*"psql -At"* ]] && ok "C08 a blank line after the signatures refused, with the hint" || fail C08 "$r"

# C09: many signature lines
{ cat new.txt; for i in $(seq 1 16); do sigline other.key "u$i.example" body.txt; done; } > c09a.txt
{ cat new.txt; for i in $(seq 1 64); do sigline other.key "u$i.example" body.txt; done; } > c09b.txt
ra=$(vcp c09a.txt); rb=$(vcp c09b.txt)
[ "$ra" = OK ] && [[ $rb == FAIL:* ]] && ok "C09 16 extra signature lines accepted, 64 refused" || fail C09 "$ra / $rb"

# C10: one witness key under two names counts once
W1V=$("$B" vkey --key w1.key --name w1.example --cosigner)
W1BV=$("$B" vkey --key w1.key --name w1b.example --cosigner)
W2V=$("$B" vkey --key w2.key --name w2.example --cosigner)
"$B" cosign --key w1.key --name w1.example --time 1700000000 --file new.txt > c10.txt
line=$(tail -n 1 c10.txt)
cosig_relabel "$line" w1b.example "$(keyid w1.key w1b.example --cosigner)" >> c10.txt
rw=$(vcp c10.txt --witness "$W1V" --witness "$W1BV")
rq=$(vcp c10.txt --witness "$W1V" --witness "$W1BV" --witness "$W2V" --min-witnesses 2)
# the same bundle as a tlog-proof: the proof lines of proof2.txt, then this note
{ sed '/^$/,$d' proof2.txt; echo; cat c10.txt; } > c10proof.txt
rp=$("$B" verify-proof --vkey "$LOGV" --proof c10proof.txt --leaf-hex "$LEAF2" \
       --witness "$W1V" --witness "$W1BV" --witness "$W2V" --min-witnesses 2 2>&1)
# both honest witnesses: still a quorum of 2
"$B" cosign --key w2.key --name w2.example --time 1700000001 --file new.txt | tail -n 1 > c10w2.line
{ cat c10.txt c10w2.line; } > c10ok.txt
rh=$(vcp c10ok.txt --witness "$W1V" --witness "$W1BV" --witness "$W2V" --min-witnesses 2)
note "C10 every listed witness (w1, w1b: one key) -> $rw"
if [[ $rq == FAIL:* ]] && [[ $rp == FAIL:* ]] && [ "$rh" = OK ]; then
  ok "C10 one witness key under two names counts once towards --min-witnesses"
else
  fail C10 "the log operator relabelled w1's cosignature as w1b (same key): --min-witnesses 2 of w1, w1b, w2 -> verify-checkpoint $rq, verify-proof ${rp%%$'\n'*} (w1 + w2 honest: $rh)"
fi

# C11: tlog-proof bundles
c11=""
t11() {  # NAME FILE [LEAFHEX]
  local r; r=$("$B" verify-proof --vkey "$LOGV" --proof "$2" --leaf-hex "${3:-$LEAF2}" 2>&1)
  [[ $r == FAIL:* ]] || c11="$c11 [$1: $r]"
}
cp proof2.txt c11a.txt; sed -i "s/^index 2$/index $N/" c11a.txt; t11 "index=size" c11a.txt
cp proof2.txt c11b.txt; sed -i "s/^index 2$/index 18446744073709551615/" c11b.txt; t11 "index 2^64-1" c11b.txt
awk 'NR==3{print; print; next} {print}' proof2.txt > c11c.txt; t11 "extra hash" c11c.txt
awk 'NR==3{next} {print}' proof2.txt > c11d.txt; t11 "hash missing" c11d.txt
awk -v e="$EMPTY" 'NR==3{print e; next} {print}' proof2.txt > c11e.txt; t11 "hash changed" c11e.txt
{ sed -n 1,2p proof2.txt; for i in $(seq 1 65); do echo "$EMPTY"; done; echo; cat new.txt; } > c11f.txt; t11 "65 hashes" c11f.txt
{ sed -n 1p proof2.txt; echo "extra AB="; sed -n '2,$p' proof2.txt; } > c11g.txt; t11 "bad extra" c11g.txt
{ sed -n 1p proof2.txt; echo "extra "; sed -n '2,$p' proof2.txt; } > c11h.txt; t11 "empty extra" c11h.txt
{ echo "c2sp.org/tlog-proof@v2"; sed -n '2,$p' proof2.txt; } > c11i.txt; t11 "header" c11i.txt
t11 "leaf 3" proof2.txt "$LEAF3"
[ -z "$c11" ] && ok "C11 malformed and wrong tlog-proof bundles refused" || fail C11 "$c11"

# C12: split view and rewritten history by the log operator (it holds the key)
printf '%s\n%s\n%s\n' "$ORIGIN" "$N" "$EMPTY" > fork.body
signed fork.body log.key "$ORIGIN" > fork.txt
: > none.txt
r1=$("$B" verify-consistency --vkey "$LOGV" --old new.txt --new fork.txt --proof none.txt 2>&1)
r2=$("$B" verify-consistency --vkey "$LOGV" --old fork.txt --new new.txt --proof none.txt 2>&1)
r3=$("$B" verify-consistency --vkey "$LOGV" --old new.txt --new old.txt --proof cons.txt 2>&1)
# another history of 20 leaves, its root and the consistency proof 5 -> 20 computed from it
for i in $(seq 1 20); do printf 'forged %d' "$i" | openssl dgst -sha256 -hex | awk '{print $2}'; done > fork.leaves
fr=$(python3 "$BL_ROOT/test/redteam/rfc9162.py" root:20 cons:5:20 < fork.leaves)
froot=$(echo "$fr" | awk '/^root/{print $2}' | xxd -r -p | base64)
echo "$fr" | awk '/^cons/{print $2}' | tr , '\n' | while read -r h; do echo "$h" | xxd -r -p | base64; done > fork.cons
printf '%s\n%s\n%s\n' "$ORIGIN" 20 "$froot" > fork20.body
signed fork20.body log.key "$ORIGIN" > fork20.txt
r4=$("$B" verify-consistency --vkey "$LOGV" --old old.txt --new fork20.txt --proof fork.cons 2>&1)
rgood=$("$B" verify-consistency --vkey "$LOGV" --old old.txt --new new.txt --proof cons.txt 2>&1)
if [[ $r1 == FAIL:* && $r2 == FAIL:* && $r3 == FAIL:* && $r4 == FAIL:* && $rgood == OK:* ]]; then
  ok "C12 split views and a rewritten history refused against the kept checkpoint"
else
  fail C12 "same size other root: $r1 / $r2; smaller new: $r3; forged history: $r4; honest: $rgood"
fi

# C13
printf '%s\n0\n%s\n' "$ORIGIN" "$ROOT" > z.body; signed z.body log.key "$ORIGIN" > z.txt
r1=$("$B" verify-consistency --vkey "$LOGV" --old z.txt --new new.txt --proof none.txt 2>&1)
sed '/^$/,$d' old.txt > oldbody.txt; signed oldbody.txt other.key "$ORIGIN" > oth.txt
r2=$("$B" verify-consistency --vkey "$LOGV" --old oth.txt --new new.txt --proof cons.txt 2>&1)
[[ $r1 == FAIL:* && $r2 == FAIL:* ]] && ok "C13 a size-0 checkpoint with a root, another key's checkpoint refused" \
  || fail C13 "$r1 / $r2"

# C14: verifier keys
c14=""
tv() {  # NAME OPTS...: must be refused (usage error 2, or FAIL 1)
  local n=$1; shift
  "$B" verify-checkpoint --file new.txt "$@" >/dev/null 2>&1; local rc=$?
  [ $rc != 0 ] || c14="$c14 [$n: rc $rc]"
}
bad_id=$(echo "$LOGV" | awk -F+ '{print $1 "+00000000+" $3}')
tv "key id" --vkey "$bad_id"
tv "0x04 as --vkey" --vkey "$("$B" vkey --key log.key --name "$ORIGIN" --cosigner)"
tv "0x01 as --witness" --vkey "$LOGV" --witness "$("$B" vkey --key w1.key --name w1.example)"
small=$(python3 - "$ORIGIN" <<'PY'
import base64, hashlib, sys
name = sys.argv[1].encode(); pub = bytes(32)  # the all-zero encoding: a small-order point
kid = hashlib.sha256(name + b"\n\x01" + pub).digest()[:4]
print(sys.argv[1] + "+" + kid.hex() + "+" + base64.b64encode(b"\x01" + pub).decode())
PY
)
tv "small-order key" --vkey "$small"
unk=$(python3 - "$ORIGIN" <<'PY'
import base64, hashlib, sys
name = sys.argv[1].encode(); pub = bytes(range(32))
kid = hashlib.sha256(name + b"\n\x07" + pub).digest()[:4]
print(sys.argv[1] + "+" + kid.hex() + "+" + base64.b64encode(b"\x07" + pub).decode())
PY
)
tv "type 0x07" --vkey "$unk"
[ -z "$c14" ] && ok "C14 malformed, weak and wrong-type verifier keys refused" || fail C14 "$c14"

# C15: raw proofs
c15=""
printf '%s\n' "$EMPTY" > one.txt
t15() { local n=$1 want=$2; shift 2; "$B" "$@" >/dev/null 2>&1; local rc=$?; [ $rc = "$want" ] || c15="$c15 [$n: rc $rc]"; }
t15 "size 0" 1 verify-inclusion --size 0 --index 0 --root "$EMPTY" --leaf-hash "$EMPTY" --proof-file none.txt
t15 "index=size" 1 verify-inclusion --size 1 --index 1 --root "$EMPTY" --leaf-hash "$EMPTY" --proof-file none.txt
t15 "size 01" 2 verify-inclusion --size 01 --index 0 --root "$EMPTY" --leaf-hash "$EMPTY" --proof-file none.txt
t15 "size -1" 2 verify-inclusion --size -1 --index 0 --root "$EMPTY" --leaf-hash "$EMPTY" --proof-file none.txt
t15 "size1>size2" 1 verify-consistency-raw --size1 2 --size2 1 --root1 "$EMPTY" --root2 "$EMPTY" --proof-file one.txt
[ -z "$c15" ] && ok "C15 raw proofs with impossible sizes refused" || fail C15 "$c15"

# C16: the CLI's cosign keeps no state and checks no log signature (by design)
{ cat body.txt; printf '\n'; sigline other.key "$ORIGIN" body.txt; } > c16.txt
if "$B" cosign --key w1.key --name w1.example --file c16.txt >/dev/null 2>&1; then
  note "C16 battledger cosign cosigned a note with no valid log signature (documented: the witness verifies first)"
fi
if "$B" cosign --key w1.key --name w1.example --file fork.txt >/dev/null 2>&1; then
  note "C16 battledger cosign cosigned a split-view checkpoint (no state kept; documented)"
fi

# ------------------------------------------------- S: SQL as a plain role
# sq SQL: "ok" or the SQLSTATE of the error
sq() {
  local out
  out=$(psql -X -q -At -U plain -v ON_ERROR_STOP=1 -c '\set VERBOSITY verbose' -c "$1" 2>&1)
  if [ $? = 0 ]; then echo ok; else echo "$out" | grep -m1 -o 'ERROR:  [0-9A-Z]\{5\}' | cut -c9-; fi
}
s_bad=""
scase() {  # EXPECTED-PATTERN SQL
  local got; got=$(sq "$2")
  [ -n "${R16A_VERBOSE:-}" ] && note "$2 -> $got"
  [[ $got =~ ^($1)$ ]] || s_bad="$s_bad [$2 -> ${got:-no SQLSTATE}]"
}
BIG=9223372036854775807
scase '22004' "SELECT battledger.inclusion_proof(NULL)"
for a in "-1" "$N" "$BIG" "0, 0" "0, -1" "0, $((N + 1))" "0, $BIG" "-9223372036854775808, 5"; do
  scase '22023|22003|55000' "SELECT battledger.inclusion_proof($a)"
done
scase 'ok' "SELECT battledger.inclusion_proof(0, NULL)"
for a in "0, 1" "-1, 1" "1, $((N + 1))" "2, 1" "1, $BIG" "$BIG, $BIG" "1, -1"; do
  scase '22023|22003' "SELECT battledger.consistency_proof($a)"
done
for a in "-1" "$BIG" "$N" "0, 2147483647"; do
  scase '22023|22003|55000' "SELECT battledger.tlog_proof($a)"
done
scase 'ok' "SELECT battledger.tlog_proof(0, -5)"
for a in -1 "$N" "$BIG"; do scase '22023|22003' "SELECT battledger.leaf($a)"; done
for a in -1 "$((N + 1))" "$BIG"; do scase '22023|22003' "SELECT battledger.tree_root($a)"; done
scase 'ok' "SELECT battledger.tree_root(0)"
scase '22023|54000' "SELECT battledger.verify_inclusion('\\x00'::bytea, 0, 2, array_fill(battledger.tree_root(0), ARRAY[65]), battledger.tree_root(1))"
scase '22004' "SELECT battledger.verify_inclusion('\\x00'::bytea, 0, 2, ARRAY[NULL::battledger.hash256], battledger.tree_root(1))"
scase '22023' "SELECT battledger.verify_inclusion('\\x00'::bytea, 0, 2, array_fill(battledger.tree_root(0), ARRAY[1,1]), battledger.tree_root(1))"
scase 'ok' "SELECT battledger.verify_inclusion('\\x00'::bytea, $BIG, -1, '{}', battledger.tree_root(1))"
scase 'ok' "SELECT battledger.verify_consistency(0, 0, battledger.tree_root(0), battledger.tree_root(0), '{}')"
scase 'ok' "SELECT battledger.verify_consistency(-1, $BIG, battledger.tree_root(0), battledger.tree_root(0), '{}')"
[ -z "$s_bad" ] && ok "S01-S06 odd proof arguments: class 22/55 errors, no XX000" || fail S01-S06 "$s_bad"
if grep -q 'terminated by signal\|server process .* was terminated' "$BL_WORK/m.log"; then
  fail S06b "a backend crashed: $(grep -m1 'terminated by signal' "$BL_WORK/m.log")"
fi
cpp=$(psql -X -At -U plain -c "SELECT battledger.checkpoint() = (SELECT note FROM battledger.checkpoint ORDER BY tree_size DESC LIMIT 1), battledger.log_vkey() = '$LOGV'" 2>&1)
[ "$cpp" = "t|t" ] && ok "S07 checkpoint() and log_vkey() as a plain role: the published note and vkey" || fail S07 "$cpp"

# ------------------------------------------- K: rotating the log key
cp log.key log1.key; "$B" keygen --out log2 >/dev/null
[ "$(id -u)" = 0 ] && chown postgres: log2.key
V2=$("$B" vkey --key log2.key --name "$ORIGIN")
# K01: the key file replaced in place while a backend that signed before goes on
q >/dev/null <<SQL
INSERT INTO soh VALUES ('K', 1);
SELECT battledger.seal();
\\! cp $T/log2.key $T/log.key
INSERT INTO soh VALUES ('K', 2);
SELECT battledger.seal();
SQL
K=$(q -c "SELECT max(tree_size) FROM battledger.checkpoint")
printf '%s\n' "$(q -c "SELECT note FROM battledger.checkpoint WHERE tree_size = $K")" > k01.txt
r1=$(vcp k01.txt); r2=$("$B" verify-checkpoint --vkey "$V2" --file k01.txt 2>&1)
if [[ $r2 == OK:* ]]; then
  ok "K01 a seal after the key file was replaced signs with the new key"
else
  fail K01 "the key file was replaced (same path) in a session that had sealed: its next checkpoint (size $K) is still signed by the old key (old vkey: $r1; new vkey: $r2)"
fi
# K02: after a rotation, can an auditor check the history across it?
q -c "INSERT INTO soh VALUES ('K', 3)" -c "SELECT battledger.seal()" >/dev/null
printf '%s\n' "$(q -c "SELECT battledger.checkpoint()")" > k02.txt
K2=$(q -c "SELECT max(tree_size) FROM battledger.checkpoint")
q -c "SELECT encode(h::bytea, 'base64') FROM unnest(battledger.consistency_proof(5, $K2)) h" > k02cons.txt
rn=$("$B" verify-checkpoint --vkey "$V2" --file k02.txt 2>&1)
# (0.16.0: the old note checked with the old key, the log's keys oldest first)
rc=$("$B" verify-consistency --vkey "$V2" --old-vkey "$LOGV" --old old.txt --new k02.txt --proof k02cons.txt 2>&1)
pl=$(q -c "SELECT string_agg(problem || ' ' || ref, ',' ORDER BY ref) FROM battledger.verify_log(false, \$k\$$LOGV"$'\n'"$V2\$k\$) WHERE problem = 'checkpoint_bad_signature' AND ref = 5")
if [[ $rn == OK:* && $rc == OK:* && -z $pl ]]; then
  ok "K02 an auditor verifies the history across a log key rotation"
else
  fail K02 "no way across a rotation: verify-consistency --old-vkey (kept size-5 checkpoint, old key for it, new key for the new one): $rc; verify_log(false, old and new vkeys) reports the honest size-5 checkpoint: $pl"
fi

# ------------------------------------------- R: the member's superuser
# (after K: the log is signed by log2.key now; log1.key is the key of old.txt)
q >/dev/null <<SQL
ALTER TABLE battledger.log_leaf DISABLE TRIGGER battledger_append_only;
UPDATE battledger.log_leaf SET row_hash = battledger.tree_root(0) WHERE leaf_index = 2;
UPDATE battledger.log_leaf SET leaf_hash = sha256('\\x00'::bytea || battledger.leaf(2))::battledger.hash256
 WHERE leaf_index = 2;
ALTER TABLE battledger.log_leaf ENABLE TRIGGER battledger_append_only;
SQL
p=$(q -c "SELECT string_agg(DISTINCT problem, ',') FROM battledger.verify_log(true, '$LOGV')")
printf '%s\n' "$(q -c "SELECT battledger.tlog_proof(2)")" > r01.txt
RL=$(q -c "SELECT encode(battledger.leaf(2), 'hex')")
r=$("$B" verify-proof --vkey "$LOGV" --proof r01.txt --leaf-hex "$RL" 2>&1)
[[ $p == *leaf_hash_mismatch* || $p == *sealed_row_changed* ]] && [[ $r == FAIL:* ]] && ok "R01 a rewritten leaf: verify_log() says $p; its proof fails" || fail R01 "verify_log: '$p'; proof: $r"

# R02: the latest checkpoint replaced by one signed (old log key) over another root
L=$(q -c "SELECT max(tree_size) FROM battledger.checkpoint")
printf '%s\n%s\n%s\n' "$ORIGIN" "$L" "$EMPTY" > r02.body
signed r02.body log1.key "$ORIGIN" > r02.txt
q -v note="$(cat r02.txt)"$'\n' >/dev/null <<SQL
ALTER TABLE battledger.checkpoint DISABLE TRIGGER USER;
UPDATE battledger.checkpoint SET root = battledger.tree_root(0), note = :'note' WHERE tree_size = $L;
ALTER TABLE battledger.checkpoint ENABLE TRIGGER USER;
SQL
p=$(q -c "SELECT string_agg(DISTINCT problem, ',') FROM battledger.verify_log(false, '$LOGV')")
printf '%s\n' "$(q -c "SELECT battledger.checkpoint()")" > r02new.txt
q -c "SELECT encode(h::bytea, 'base64') FROM unnest(battledger.consistency_proof(5, $L)) h" > r02cons.txt
r=$("$B" verify-consistency --vkey "$LOGV" --old old.txt --new r02new.txt --proof r02cons.txt 2>&1)
[[ $p == *checkpoint_root_mismatch* ]] && [[ $r == FAIL:*"does not hold"* ]] && cmp -s r02.txt r02new.txt \
  && ok "R02 a replaced checkpoint: verify_log() says $p; the kept checkpoint refuses it" \
  || fail R02 "verify_log: '$p'; consistency: $r"

# ------------------------------------------- M: a member's witness (witness.c)
# c publishes its log; a joins c and witnesses it.  c's superuser (holding
# c's log key) then publishes checkpoints that contradict what a verified.
if [ "${R16A_SKIP_M:-}" != 1 ]; then
source "$BL_ROOT/test/lib/consortium.sh"
BL_CLI=$B
W=$BL_WORK/m; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([a]=$((PORT + 1)) [c]=$((PORT + 2)))
declare -A ORIGIN=([a]=a.example/log [c]=c.example/log)
declare -A LOGV WITV
for m in a c; do
  bl_member_start "$m" "$W" witness "$BL_QUICK_RETRY"
  bl_mq "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE soh (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('soh', 'battery');
SELECT battledger.publish_member();
SQL
done
for m in a c; do bl_member_keys "$m" witness; done
bl_join a c
mwait() {  # SQL: until a answers t (60 s)
  for _ in $(seq 1 300); do [ "$(bl_mq a -c "$1" 2>/dev/null)" = t ] && return 0; sleep 0.2; done
  note "timed out waiting at a for: $1"; return 1
}
# the join's table copies done first: a checkpoint copied at join is kept unverified
mwait "SELECT count(*) > 0 AND bool_and(srsubstate = 'r') FROM pg_subscription_rel"
bl_mq c -c "INSERT INTO soh SELECT 'B' || i, i FROM generate_series(1, 3) i" -c "SELECT battledger.seal()" >/dev/null
bl_mq c -c "INSERT INTO soh SELECT 'B' || i, i FROM generate_series(4, 6) i" -c "SELECT battledger.seal()" >/dev/null
MS=$(bl_mq c -c "SELECT max(tree_size) FROM battledger.checkpoint")
# a has verified (frontier stored) and cosigned c's tree at size MS
mwait "SELECT count(*) = 1 FROM battledger.peer_checkpoint WHERE origin = 'c.example/log' AND tree_size = $MS AND frontier IS NOT NULL" \
  && mwait "SELECT count(*) >= 1 FROM battledger.cosignature WHERE log_origin = 'c.example/log' AND tree_size = $MS"
ncos0=$(bl_mq a -c "SELECT count(*) FROM battledger.cosignature WHERE log_origin = 'c.example/log'")
[ "$ncos0" -ge 1 ] || fail M00 "set-up: a did not cosign c's log ($ncos0 cosignatures)"
# cpins SIZE-IN-ROW SIZE-IN-NOTE ROOT-B64: c publishes a checkpoint signed with its log key
cpins() {
  "$B" sign-checkpoint --key "$W/c-log.key" --origin c.example/log --size "$2" --root "$3" > "$W/cp.txt"
  bl_mq c -v note="$(cat "$W/cp.txt")"$'\n' -v root="$3" >/dev/null <<SQL
ALTER TABLE battledger.checkpoint DISABLE TRIGGER battledger_append_only;
DELETE FROM battledger.checkpoint WHERE tree_size = $1;
INSERT INTO battledger.checkpoint (tree_size, root, note)
VALUES ($1, encode(decode(:'root', 'base64'), 'hex')::battledger.hash256, :'note');
ALTER TABLE battledger.checkpoint ENABLE ALWAYS TRIGGER battledger_append_only;
SQL
}
nconf() { bl_mq a -c "SELECT count(*) FROM battledger.log_conflict WHERE origin = 'c.example/log'"; }
mcase() {  # NAME ROW-SIZE NOTE-SIZE ROOT
  local before after ncos
  before=$(nconf)
  cpins "$2" "$3" "$4"
  mwait "SELECT count(*) > $before FROM battledger.log_conflict WHERE origin = 'c.example/log'" >/dev/null
  after=$(nconf)
  ncos=$(bl_mq a -c "SELECT count(*) FROM battledger.cosignature WHERE log_origin = 'c.example/log'")
  prob=$(bl_mq a -c "SELECT string_agg(problem, ',') FROM (SELECT problem FROM battledger.log_conflict
                     WHERE origin = 'c.example/log' ORDER BY detected_at, ctid OFFSET $before) x")
  if [ "$after" -gt "$before" ] && [ "$ncos" = "$ncos0" ]; then
    ok "$1 recorded at a as $prob, not cosigned"
  else
    fail "$1" "conflicts $before -> $after, a's cosignatures of c $ncos0 -> $ncos"
  fi
}
FAKE=$(printf 'fork' | openssl dgst -sha256 -binary | base64)
mcase "M01 split view (size $MS, another root)" "$MS" "$MS" "$FAKE"
mcase "M02 rollback (size 4 < $MS, a root not of the tree)" 4 4 "$FAKE"
mcase "M03 a row of size -1 whose note says 2^64-1 (the empty root)" -1 18446744073709551615 "$EMPTY"
mcase "M04 a row of size -2^63 whose note says 2^63" -9223372036854775808 9223372036854775808 "$EMPTY"
# M05: a checkpoint that only repeats a verified one: neither a conflict nor a second cosignature
before=$(nconf)
R3=$(bl_mq c -c "SELECT encode(decode(root::text, 'hex'), 'base64') FROM battledger.checkpoint WHERE tree_size = 3")
cpins 3 3 "$R3"; sleep 3
ncos=$(bl_mq a -c "SELECT count(*) FROM battledger.cosignature WHERE log_origin = 'c.example/log'")
[ "$(nconf)" = "$before" ] && [ "$ncos" = "$ncos0" ] && ok "M05 a verified checkpoint published again: no conflict, no new cosignature" \
  || fail M05 "conflicts $before -> $(nconf), cosignatures $ncos0 -> $ncos"
if grep -q 'terminated by signal' "$BL_WORK"/a.log "$BL_WORK"/c.log; then fail M06 "a backend crashed"; else ok "M06 no backend crash at a or c"; fi
fi

echo "# $FAILS FAIL(s)"
exit $FAILS
