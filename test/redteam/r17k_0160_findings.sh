#!/usr/bin/env bash
# Red team r17k (0.16.0 review): the log key rotation (red team r16a K02),
# attacked as the log operator facing an auditor, a malicious member, a
# peer's plain role and a peer's superuser.  Tested: main f0eda4e.
# Each case prints "ok   - ..." (held) or "FAIL - ..." (a finding, named
# F1..Fn as in the report); exit status 1 if any FAIL.
# PG_BIN: the build under test; BATTLEDGER_CLI: its CLI.  R17K_PORT (default
# 56760: ports +0 .. +5).  R17K_ONLY=A|B runs one group (A: verify_log and
# the CLI, one cluster; B: a peer, two members).
#
# Results at f0eda4e (PostgreSQL 15.20, 2026-12-06 06:09 UTC, load 3-4 on
# 2 vCPUs shared with other helpers; group A ~25 s, group B ~140 s; exit 1):
#   F1 FAIL  verify_log(): a checkpoint signed by the old AND the new key
#            leaves the era at the old key (it takes the oldest key that
#            verifies), so later checkpoints signed by the retired key alone
#            pass; the peer trigger (witness.c) takes the newest key of such a
#            checkpoint and refuses them.  Fix: in verify_checkpoints(), after
#            finding the first key k >= era that verifies, advance era to the
#            newest key >= k that also verifies (as open_peer_checkpoint()).
#   F2 FAIL  verify_log(): a key listed twice (one, two, one) is accepted and
#            revives the retired key one after key two has signed.  Fix:
#            parse_log_vkeys() refuses a repeated key (22023), as
#            repin_log_key() refuses a key pinned already.
#   F4 FAIL  a peer that joins after a member rotated, pinning the key the
#            member publishes now (log_vkey(), the documented step), refuses
#            the copied checkpoints signed by the old key (bad_checkpoint at
#            the first one) and the join stops; join() takes one key only
#            (_vkey_name() of a two-line list is NULL), so there is no way in
#            but the one B7c shows: join with the member's FIRST key, then
#            repin_log_key() each later key at each stop (undocumented; needs
#            the member's whole key history anyway).  Fix: let join() take the
#            member's keys oldest first, one per line (each line checked as
#            repin_log_key() does, at most 16, no repeats), and document it
#            in "A member rotates its log key"; or have the member publish its
#            key history (log_vkeys()) for joiners.
# 0.17.0 (9323b45): F4b ok (join() takes the keys oldest first; F4 itself,
#   a join with the current key alone, still stops, as it must: the old
#   checkpoints cannot be checked without the old key), F5 ok (the status
#   says "bad log keys", naming the line; a trailing CR now parses: F5a).
#   F5 FAIL  (low) a pinned list that does not parse (the peer superuser's
#            hand edit, here a CR after the last key) makes every arrival of
#            the member elog(ERROR) "the log keys pinned ... do not parse"
#            (XX000, no hint) in a retry loop; consortium_status() says only
#            "failing: ... apply errors ... server log".  Fix: ereport with
#            SQLSTATE 22023 and a hint naming consortium_member.log_vkey and
#            repin_log_key(); consortium_status() could test the pinned list
#            (_vkey_name() per line) and name it as the reason.
# On r17kfix (f0eda4e + the fixes, 06:20 UTC): F1 holds (the newest key
#   that signed a note sets the era, as in witness.c); F2 holds (a key
#   listed twice is refused, 22023) -- A3 and A9-A11 now FAIL because they
#   list one key several times, which is what F2's fix refuses; F4 still
#   FAILs as written (join() pins one key): docs/consortium.md now gives
#   the procedure (join with the first key, repin each later one before
#   the subscription is created); F5 still FAILs for consortium_status()'s
#   reason, the error itself is now 22023 with a detail and a hint.
#   held: A1-A18 (CRLF/blank lines, blanks inside a key line, two names, 16
#            and 17 keys, another log's keys; the CLI with --old-vkey equal to
#            --vkey, another origin's old note with or without --origin, a
#            two-line --old-vkey, a dual-signed old note), R1-R3 and B1-B9
#            (repin_log_key() refuses a trailing CR or LF, two lines, a
#            leading blank, a 17th key; a plain role cannot UPDATE
#            consortium_member; no SECURITY DEFINER function of the extension
#            writes it; the retired key signing an older size, 120, after the
#            new key's 150 was witnessed: refused "an older key may not sign").
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

# ------------------------------------------------------------------ group B
if [ -z "$ONLY" ] || [ "$ONLY" = B ]; then
source "$(dirname "$0")/../lib/consortium.sh"
BL_CLI=$CLI
W=$BL_WORK/mkeys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([a]=$((BASE + 1)) [b]=$((BASE + 2)) [c]=$((BASE + 3)) [d]=$((BASE + 4)) [e]=$((BASE + 5)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [c]=c.example/log [d]=d.example/log [e]=e.example/log)
declare -A LOGV WITV
mq() { bl_mq "$@"; }
wait_for() {
  local m=$1 sql=$2 n=${3:-300} i
  for i in $(seq 1 "$n"); do
    [ "$(mq "$m" -c "$sql" 2>/dev/null)" = t ] && return 0
    sleep 0.2
  done
  return 1
}
seal_rows() {
  cp "$W/$2.key" "$W/a-log.key"
  mq a -c "INSERT INTO reading SELECT 'B' || i % 10, 100 - i * 0.01 FROM generate_series(1, $1) i" \
       -c "SELECT battledger.seal()" >/dev/null
}
state_of_a() { mq "$1" -c "SELECT state || ': ' || coalesce(reason, '') FROM battledger.consortium_status() WHERE member = 'a.example/log'"; }
for m in a b c d e; do
  bl_member_start "$m" "$W" "" "wal_retrieve_retry_interval = 200ms"
  mq "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('reading', 'battery');
SELECT battledger.publish_member();
SQL
done
for k in k1 k2 k3; do "$CLI" keygen --out "$W/$k" >/dev/null; done
cp "$W/a-log.key" "$W/k1.key"
[ "$(id -u)" = 0 ] && chown postgres: "$W"/*.key
V1=$("$CLI" vkey --key "$W/k1.key" --name a.example/log)
V2=$("$CLI" vkey --key "$W/k2.key" --name a.example/log)
V3=$("$CLI" vkey --key "$W/k3.key" --name a.example/log)
bl_member_keys a
bl_join b a
seal_rows 100 k1
check "B0 b: a's rows and checkpoint under k1" \
  wait_for b "SELECT (SELECT count(*) FROM reading) = 100 AND (SELECT max(tree_size) FROM battledger.peer_checkpoint) = 100"

# repin_log_key()'s argument: one key line, nothing else (each tried in a
# transaction rolled back).  pinned_log_keys() splits on LF only and
# elog(ERROR)s on a line that does not parse: a CR, a second line of another
# name or a blank would stop every later checkpoint of the member.
repin_try() {  # KEYTEXT -> "accepted N" (N keys pinned then) or the error
  psql -X -q -At -h "$BL_WORK" -p "${PORT[b]}" -d bl -v v="$1" 2>&1 <<'SQL' | sed -n 's/^.*ERROR:  //p; s/^\(accepted.*\)$/\1/p' | head -n 1
BEGIN;
SELECT battledger.repin_log_key('a.example/log', :'v') IS NOT NULL AS x \gset
SELECT 'accepted ' || cardinality(string_to_array(log_vkey, E'\n')) FROM battledger.consortium_member WHERE origin = 'a.example/log';
ROLLBACK;
SQL
}
R=$(repin_try "$V2"$'\r'); check "R1 repin_log_key: a key with a trailing CR is refused (got: $R)" bash -c '[[ "$0" != accepted* ]]' "$R"
R=$(repin_try "$V2"$'\n'"$V3"); check "R2 repin_log_key: two keys in one argument are refused (got: $R)" bash -c '[[ "$0" != accepted* ]]' "$R"
R=$(repin_try "$V2"$'\n'); check "R3 repin_log_key: a key with a trailing LF is refused (got: $R)" bash -c '[[ "$0" != accepted* ]]' "$R"
R=$(repin_try " $V2"); check "B1 repin_log_key: a key with a leading blank is refused (got: $R)" bash -c '[[ "$0" != accepted* ]]' "$R"
R=$(repin_try "$V2"); check "B2 repin_log_key: the plain key is accepted (got: $R)" [ "$R" = "accepted 2" ]
# sixteen keys at most
for i in $(seq 1 16); do "$CLI" keygen --out "$W/m$i" >/dev/null; done
R=$(psql -X -q -At -h "$BL_WORK" -p "${PORT[b]}" -d bl 2>&1 <<SQL
BEGIN;
$(for i in $(seq 1 15); do echo "SELECT battledger.repin_log_key('a.example/log', '$("$CLI" vkey --key "$W/m$i.key" --name a.example/log)') IS NULL;"; done)
SELECT cardinality(string_to_array(log_vkey, E'\n')) FROM battledger.consortium_member WHERE origin = 'a.example/log';
SELECT battledger.repin_log_key('a.example/log', '$("$CLI" vkey --key "$W/m16.key" --name a.example/log)');
ROLLBACK;
SQL
)
R=$(grep -E "^[0-9]+$|ERROR" <<<"$R" || true)
check "B3 repin_log_key: 16 keys pinned, the 17th refused (got: $(tr '\n' ' ' <<<"$R"))" grep -q "has 16 log keys pinned" <<<"$R"
mq b -c "CREATE ROLE plain LOGIN" >/dev/null
R=$(psql -X -q -At -h "$BL_WORK" -p "${PORT[b]}" -d bl -U plain -c "UPDATE battledger.consortium_member SET log_vkey = log_vkey || E'\\n' || 'x'" 2>&1 || true)
check "B4 a plain role cannot edit the pinned keys (got: $R)" grep -q "permission denied" <<<"$R"
R=$(psql -X -q -At -h "$BL_WORK" -p "${PORT[b]}" -d bl -U plain -c "SELECT p.oid::regprocedure FROM pg_proc p WHERE p.prosecdef AND p.pronamespace = 'battledger'::regnamespace AND (p.prosrc ~* '(update|insert into|delete from)[^;]*consortium_member' OR p.prosrc ILIKE '%repin_log_key%')" 2>&1)
check "B5 no SECURITY DEFINER function of the extension touches consortium_member (got: ${R:-none})" [ -z "$R" ]

# the rotation, then the retired key signs an older size (a's superuser adds
# the row to its own checkpoint table, which is published)
seal_rows 50 k2
wait_for b "SELECT state = 'stopped' FROM battledger.consortium_status() WHERE member = 'a.example/log'" || true
mq b -v v="$V2" >/dev/null <<<"SELECT battledger.repin_log_key('a.example/log', :'v') \gexec"
check "B6 b: after the repin, a's rows and k2's checkpoint arrive" \
  wait_for b "SELECT (SELECT count(*) FROM reading) = 150 AND (SELECT max(tree_size) FROM battledger.peer_checkpoint) = 150"

# a late joiner: c joins a after the rotation, pinning what a publishes now (k2)
bl_member_keys a
check "B7a a publishes k2 now" [ "${LOGV[a]}" = "$V2" ]
bl_join c a
if wait_for c "SELECT (SELECT count(*) FROM reading) = 150 AND (SELECT max(tree_size) FROM battledger.peer_checkpoint) = 150" 150; then late=ok; else late=no; fi
check "F4 a peer joining after a rotation, with the key a publishes now, gets a's log (state: $(state_of_a c | head -c 200); rejections: $(mq c -c "SELECT string_agg(problem || ' ' || seq, ', ') FROM battledger.rejections"))" [ $late = ok ]
R=$(psql -X -q -At -h "$BL_WORK" -p "${PORT[c]}" -d bl -v v="$V1"$'\n'"$V2" 2>&1 <<'SQL'
SELECT coalesce(battledger._vkey_name(:'v', 1), 'NULL');
SQL
)
echo "     join()'s check of a two-line key list, _vkey_name(list, 1): $R (join refuses unless it is the origin)"

# the workaround a late joiner has today: join with the member's FIRST key,
# then repin each later one in order and restart after each stop
LOGV[a]=$V1
bl_join d a
wait_for d "SELECT state = 'stopped' FROM battledger.consortium_status() WHERE member = 'a.example/log'" 150 || true
mq d -v v="$V2" >/dev/null <<<"SELECT battledger.repin_log_key('a.example/log', :'v') \gexec"
check "B7c workaround: d joins with k1, repins k2 at the stop: a's log arrives (state: $(state_of_a d | head -c 120))" \
  wait_for d "SELECT (SELECT count(*) FROM reading) = 150 AND (SELECT max(tree_size) FROM battledger.peer_checkpoint) = 150" 150
LOGV[a]=$V2

# 0.17.0, F4's fix: join() takes the member's keys oldest first, one per line
LOGV[a]=$V1$'\n'$V2
bl_join e a
check "F4b (0.17.0) e joins with a's keys oldest first: a's log arrives" \
  wait_for e "SELECT (SELECT count(*) FROM reading) = 150 AND (SELECT max(tree_size) FROM battledger.peer_checkpoint) = 150" 150
check "     without a stop on the way: no rejection at e, state ok (state: $(state_of_a e | head -c 120))" \
  [ "$(mq e -c "SELECT count(*) FROM battledger.rejections")" = 0 ]
LOGV[a]=$V2

# the peer's superuser edits the pinned list by hand: a CR after the last key
# (0.16.0 refused the list; since 0.17.0 the peer strips a CR as verify_log()
# does), then a line that is no key
PIN=$(mq b -c "SELECT log_vkey FROM battledger.consortium_member WHERE origin = 'a.example/log'")
mq b -c "UPDATE battledger.consortium_member SET log_vkey = log_vkey || E'\r' WHERE origin = 'a.example/log'" >/dev/null
ST=$(state_of_a b | head -c 300)
check "F5a b: a CR after the last pinned key is no problem (0.17.0; got: $ST)" bash -c '[[ "$0" != "bad log keys"* ]]' "$ST"
mq b -c "UPDATE battledger.consortium_member SET log_vkey = log_vkey || E'\nnot a key' WHERE origin = 'a.example/log'" >/dev/null
seal_rows 1 k2
sleep 8
ST=$(state_of_a b | head -c 300)
LOGERR=$(grep -h "do not parse" "$BL_WORK/b.log" | head -n 1 | sed 's/^.*ERROR:  //' || true)
REJ=$(mq b -c "SELECT count(*) FROM battledger.rejections")
echo "     b after a line that is no key appended to its pinned list: status [$ST]; server log [$LOGERR]; rejections $REJ"
check "F5 b: a pinned list that does not parse is named by consortium_status() (got: $ST)" \
  grep -qi "pinned\|log key\|parse" <<<"$ST"
# put it back: the checkpoint of 151 arrives
mq b -v v="$PIN" >/dev/null <<<"UPDATE battledger.consortium_member SET log_vkey = :'v' WHERE origin = 'a.example/log'"
mq b -c "SELECT format('ALTER SUBSCRIPTION %I ENABLE', subscription) FROM battledger.consortium_member WHERE origin = 'a.example/log'" -c '\gexec' >/dev/null 2>&1 || true
mq b -c "SELECT format('ALTER SUBSCRIPTION %I ENABLE', subscription) FROM battledger.consortium_member WHERE origin = 'a.example/log' \gexec" >/dev/null 2>&1 || true
check "B9 b: the list put back, a's checkpoint of 151 arrives" \
  wait_for b "SELECT (SELECT max(tree_size) FROM battledger.peer_checkpoint) = 151"

# the retired key signs an older size after k2's checkpoint was witnessed
ROOT120=$(mq a -c "SELECT encode(battledger.tree_root(120)::bytea, 'base64')")
N120=$("$CLI" sign-checkpoint --key "$W/k1.key" --origin a.example/log --size 120 --root "$ROOT120")
mq a -v n="$N120" >/dev/null <<<"INSERT INTO battledger.checkpoint (tree_size, root, note) VALUES (120, battledger.tree_root(120), :'n' || E'\n')"
wait_for b "SELECT count(*) > 1 FROM battledger.rejections WHERE problem = 'bad_checkpoint'" 100 || true
check "B8 b: k1 signing size 120 after k2's 150: refused as an older key (got: $(mq b -c "SELECT string_agg(seq || ' ' || left(detail, 160), ' | ' ORDER BY at) FROM battledger.rejections WHERE problem = 'bad_checkpoint'"))" \
  bash -c '[ "$(psql -X -At -h "$0" -p "$1" -d bl -c "SELECT count(*) FROM battledger.rejections WHERE seq = 120 AND detail LIKE '"'"'%older key may not sign%'"'"'")" -ge 1 ] && [ "$(psql -X -At -h "$0" -p "$1" -d bl -c "SELECT count(*) FROM battledger.peer_checkpoint WHERE tree_size = 120")" = 0 ]' "$BL_WORK" "${PORT[b]}"

fi
exit $fail
