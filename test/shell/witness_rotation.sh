#!/usr/bin/env bash
# A member rotates its witness key, as its peer sees it (0.17.0;
# docs/consortium.md, "A member rotates its witness key").  a witnesses b's
# log: a's cosignatures of b's checkpoints replicate to b, which checks each
# against a's witness keys pinned at join():
#   - unannounced: a's first cosignature by its new key is refused
#     (bad_cosignature) and stops b's subscription to a; b pins the new key
#     (repin_witness_key()), runs the ALTER SUBSCRIPTION it returns, and the
#     cosignature arrives;
#   - a peer joining after the rotation passes both keys, oldest first, to
#     join(), and the join's copy of a's earlier cosignatures is accepted;
#   - the retired key cosigning again afterwards is refused: once a newer key
#     has cosigned, an older one cannot (the era rule of the log keys);
#   - (0.18.0) a pinned list damaged by hand says so in consortium_status()
#     ('bad witness keys', naming the line), not only 'stopped', and the
#     member recovers once the keys are put back;
#   - (0.18.0) a cosignature dated more than battledger.max_clock_ahead ahead
#     of b's clock is refused (cosignature_ahead) and the status names the
#     clock; one within the bound is accepted, and one refused for a clock
#     running ahead is accepted by ALTER SUBSCRIPTION ENABLE once the bound
#     allows it (raised back; 0.18.0 waited for b's clock, which on a loaded
#     machine let the row arrive within the bound).  A retired key's cosignature dated ahead no
#     longer holds the era back (docs/security.md, 0.17.0's limit).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"

bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }

P=${WITNESS_ROTATION_PORT:-55484}
declare -A PORT=([a]=$P [b]=$((P + 1)) [c]=$((P + 2)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [c]=c.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
# b writes N rows and seals them; a cosigns the checkpoint with the witness
# key in a-witness.key, which cosign KEY replaces in place first
seal_b() { q b -c "INSERT INTO reading SELECT 'B' || i % 10, 1 FROM generate_series(1, $1) i" -c "SELECT battledger.seal()" >/dev/null; }
cosign_with() { cp "$W/$1.key" "$W/a-witness.key"; }
# the size of the last checkpoint of b cosigned by a, as member M holds it
cosigned_at() { q "$1" -c "SELECT coalesce(max(tree_size), 0) FROM battledger.cosignature WHERE log_origin = 'b.example/log' AND witness = 'a.example/log'"; }
state_of_a() { q "$1" -c "SELECT state FROM battledger.consortium_status() WHERE member = 'a.example/log'"; }
status_of_a() { q "$1" -c "SELECT state || '|' || reason FROM battledger.consortium_status() WHERE member = 'a.example/log'"; }
refused() { q b -c "SELECT count(*) FROM battledger.rejections WHERE problem = '$1'"; }
# b's subscription to a, stopped by a refusal, drops the refused remote
# transaction (its LSN from the server log's error context) and resumes
skip_refused() {
  local sub lsn
  sub=$(q b -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'a.example/log'")
  bl_wait_for b "SELECT NOT subenabled FROM pg_subscription WHERE subname = '$sub'" || return 0
  lsn=$(grep -o 'finished at [0-9A-F]*/[0-9A-F]*' "$BL_WORK/b.log" | tail -n 1 | cut -d' ' -f3)
  q b -c "ALTER SUBSCRIPTION $sub SKIP (lsn = '$lsn')" -c "ALTER SUBSCRIPTION $sub ENABLE" >/dev/null
}
# forge KEY SIZE TIME: a's superuser publishes a cosignature by witness key
# KEY, signed time TIME, of a checkpoint of b at SIZE (a made-up tree: the
# trigger checks the signature and the keys, not that b signed that tree)
forge() {
  local root line
  root=$(q a -c "SELECT encode(sha256('forged $2'), 'base64')")
  line=$("$BL_CLI" sign-checkpoint --key "$W/w1.key" --origin b.example/log --size "$2" --root "$root" \
         | "$BL_CLI" cosign --key "$W/$1.key" --name a.example/log --time "$3" | tail -n 1)
  q a -v line="$line" >/dev/null \
    <<<"INSERT INTO battledger.cosignature VALUES ('b.example/log', $2, battledger.hash256(sha256('forged $2')), 'a.example/log', $3, :'line')"
}
enable_a() { q b >/dev/null <<<"SELECT format('ALTER SUBSCRIPTION %I ENABLE', subscription) FROM battledger.consortium_member WHERE origin = 'a.example/log' \gexec"; }
stored_at_b() { q b -c "SELECT count(*) FROM battledger.cosignature WHERE log_origin = 'b.example/log' AND witness = 'a.example/log' AND tree_size = $1"; }

for m in a b c; do
  w=""; [ "$m" = a ] && w=witness
  bl_member_start "$m" "$W" "$w" "$BL_QUICK_RETRY"
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('reading', 'battery');
SELECT battledger.publish_member();
SQL
done
for k in w2; do "$BL_CLI" keygen --out "$W/$k" >/dev/null; done
cp "$W/a-witness.key" "$W/w1.key"
[ "$(id -u)" = 0 ] && chown postgres: "$W"/*.key
bl_member_keys a witness
bl_member_keys b
W1=${WITV[a]}
bl_join a b      # a witnesses b's log
bl_join b a      # b receives a's cosignatures, checked against W1
# a cosigns what it applies, not what its join copies: both joins done first
bl_wait_for a "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = 'b.example/log'"
bl_wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = 'a.example/log'"
seal_b 10
bl_wait_for b "SELECT (SELECT coalesce(max(tree_size), 0) FROM battledger.cosignature WHERE log_origin = 'b.example/log' AND witness = 'a.example/log') = 10"
check "b: a's cosignature of b's checkpoint under a's first witness key" true

# unannounced: a's witness key is replaced; its next cosignature stops b
cosign_with w2
W2=$(q a -c "SELECT battledger.witness_vkey()")
check "a publishes its new witness key" [ "$W2" != "$W1" ]
seal_b 10
bl_wait_for b "SELECT state = 'stopped' FROM battledger.consortium_status() WHERE member = 'a.example/log'"
check "b: the first cosignature by an unpinned witness key stops a's subscription" \
  [ "$(q b -c "SELECT count(*) > 0 FROM battledger.rejections WHERE problem = 'bad_cosignature'")" = t ]
check "  and is not stored" [ "$(cosigned_at b)" = 10 ]
q b -v v="$W2" >/dev/null <<<"SELECT battledger.repin_witness_key('a.example/log', :'v') \gexec"
bl_wait_for b "SELECT (SELECT coalesce(max(tree_size), 0) FROM battledger.cosignature WHERE log_origin = 'b.example/log' AND witness = 'a.example/log') = 20"
check "b: after repin_witness_key() and the ALTER SUBSCRIPTION it returns, the cosignature arrives" true
bl_wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = 'a.example/log'"
check "  and a's state is ok again" true

# (0.18.0) b's superuser damages the pinned list by hand (a key listed
# again after a newer one): a's next cosignature is refused, and the state
# says why, naming the line, where it said only 'stopped'
good=$(q b -c "SELECT witness_vkey FROM battledger.consortium_member WHERE origin = 'a.example/log'")
q b -c "UPDATE battledger.consortium_member SET witness_vkey = witness_vkey || E'\n' || split_part(witness_vkey, E'\n', 1) WHERE origin = 'a.example/log'"
before=$(refused bad_cosignature)
seal_b 10
bl_wait_for b "SELECT count(*) > $before FROM battledger.rejections WHERE problem = 'bad_cosignature'"
ST=$(status_of_a b)
check "b: a damaged pinned witness key list says 'bad witness keys', naming the line (got: ${ST:0:160})" \
  grep -q '^bad witness keys|.*line 3 lists the key of line 1 again' <<<"$ST"
check "  and health() counts the member not ok" [ "$(q b -c "SELECT members_not_ok FROM battledger.health()")" = 1 ]
q b -v v="$good" <<<"UPDATE battledger.consortium_member SET witness_vkey = :'v' WHERE origin = 'a.example/log'"
bl_wait_for b "SELECT state = 'stopped' FROM battledger.consortium_status() WHERE member = 'a.example/log'" || true
check "  the keys put back: 'stopped' by the cosignature refused meanwhile" [ "$(state_of_a b)" = stopped ]
enable_a
bl_wait_for b "SELECT (SELECT coalesce(max(tree_size), 0) FROM battledger.cosignature WHERE log_origin = 'b.example/log' AND witness = 'a.example/log') = 30"
bl_wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = 'a.example/log'"
check "  and once the subscription is enabled, the cosignature arrives and a is ok" true

# a late joiner: c joins a with both witness keys, oldest first; the join's
# copy brings a's cosignatures under both
WITV[a]=$W1$'\n'$W2
bl_join c a
bl_wait_for c "SELECT (SELECT coalesce(max(tree_size), 0) FROM battledger.cosignature WHERE log_origin = 'b.example/log' AND witness = 'a.example/log') = 30"
check "c: joining after the rotation with both witness keys, a's cosignatures under both arrive" \
  [ "$(q c -c "SELECT count(*) FROM battledger.rejections")" = 0 ]

# the retired key cosigns again: refused
cosign_with w1
seal_b 10
bl_wait_for b "SELECT state = 'stopped' FROM battledger.consortium_status() WHERE member = 'a.example/log'"
check "b: a cosignature by the retired witness key after the new one cosigned: refused" \
  grep -q "older key may not sign" <<<"$(q b -c "SELECT string_agg(detail, ' ') FROM battledger.rejections WHERE problem = 'bad_cosignature'")"
check "  and not stored" [ "$(cosigned_at b)" = 30 ]

# (0.18.0) the clock.  The limit docs/security.md gave for 0.17.0: a retired
# key's cosignature dated ahead of the new key's, published by a's own
# superuser before any by the new key reached b, held the era back until
# the new key's were dated later.  a rotates again (w3, pinned ahead at b);
# a's superuser publishes a cosignature by the retired w2 dated ten years
# ahead, then, after w3 has cosigned, one by w2 dated now.
skip_refused
"$BL_CLI" keygen --out "$W/w3" >/dev/null
[ "$(id -u)" = 0 ] && chown postgres: "$W"/*.key
W3=$("$BL_CLI" vkey --key "$W/w3.key" --name a.example/log --cosigner)
q b -v v="$W3" >/dev/null <<<"SELECT battledger.repin_witness_key('a.example/log', :'v')"
now=$(date +%s)
forge w2 1000001 $((now + 315360000))
bl_wait_for b "SELECT (SELECT count(*) FROM battledger.rejections WHERE problem = 'cosignature_ahead') > 0
             OR EXISTS (SELECT 1 FROM battledger.cosignature WHERE tree_size = 1000001)" || true
check "b: a cosignature dated ten years ahead of b's clock is refused (cosignature_ahead)" \
  [ "$(refused cosignature_ahead)" = 1 ]
check "  and not stored" [ "$(stored_at_b 1000001)" = 0 ]
bl_wait_for b "SELECT state = 'stopped' FROM battledger.consortium_status() WHERE member = 'a.example/log'" || true
ST=$(status_of_a b)
check "  the status names the clock and the recovery (got: ${ST:0:200})" \
  grep -q "^stopped|.*ahead of this member's clock.*battledger.max_clock_ahead.*SKIP" <<<"$ST"
skip_refused
cosign_with w3
seal_b 10
bl_wait_for b "SELECT (SELECT coalesce(max(tree_size) FILTER (WHERE tree_size < 1000000), 0) FROM battledger.cosignature WHERE log_origin = 'b.example/log' AND witness = 'a.example/log') = 50"
check "b: a's first cosignature by w3 arrives" true
forge w2 1000002 "$(date +%s)"
bl_wait_for b "SELECT (SELECT count(*) FROM battledger.rejections WHERE problem = 'bad_cosignature' AND seq = 1000002) > 0
             OR EXISTS (SELECT 1 FROM battledger.cosignature WHERE tree_size = 1000002)" || true
check "b: then a cosignature by the retired w2 dated now is refused: the era is w3's (older key may not sign)" \
  grep -q "older key may not sign" <<<"$(q b -c "SELECT string_agg(detail, ' ') FROM battledger.rejections WHERE problem = 'bad_cosignature' AND seq = 1000002")"
check "  and not stored" [ "$(stored_at_b 1000002)" = 0 ]
skip_refused

# within the bound: accepted.  A clock running ahead by more: refused, and
# accepted by ALTER SUBSCRIPTION ENABLE once b's clock is within the bound
forge w3 1000003 $(($(date +%s) + 60))
bl_wait_for b "SELECT EXISTS (SELECT 1 FROM battledger.cosignature WHERE tree_size = 1000003)" || true
check "b: a cosignature dated 60 s ahead (within battledger.max_clock_ahead, 600 s) is accepted" [ "$(stored_at_b 1000003)" = 1 ]
q b -c "LOAD 'battledger'" -c "ALTER SYSTEM SET battledger.max_clock_ahead = 5" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
# 90 s ahead: refused if it arrives within 85 s (12 s, then 25 s, were too
# little on a loaded machine: the row arrived late enough to be within the
# bound).  Accepted by ALTER SUBSCRIPTION ENABLE once the bound allows it:
# here the bound is raised back (docs/consortium.md's other way back), which
# takes no wait for the clock; the check is re-run at apply either way
t=$(($(date +%s) + 90))
forge w3 1000004 $t
# (this cosignature's refusal, by its tree size: a loaded machine's apply
# worker can log one refusal twice before the subscription is disabled, so
# a count of every cosignature_ahead refusal was 3, not 2, once in all.sh)
bl_wait_for b "SELECT EXISTS (SELECT 1 FROM battledger.rejections WHERE problem = 'cosignature_ahead' AND seq = 1000004)
             OR EXISTS (SELECT 1 FROM battledger.cosignature WHERE tree_size = 1000004)" || true
GOT="$(stored_at_b 1000004)/$(q b -c "SELECT count(*) > 0 FROM battledger.rejections WHERE problem = 'cosignature_ahead' AND seq = 1000004")"
check "b: with battledger.max_clock_ahead = 5 s, a cosignature dated 90 s ahead is refused (got $GOT)" [ "$GOT" = 0/t ]
bl_wait_for b "SELECT state = 'stopped' FROM battledger.consortium_status() WHERE member = 'a.example/log'" || true
q b -c "ALTER SYSTEM RESET battledger.max_clock_ahead" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
enable_a
bl_wait_for b "SELECT EXISTS (SELECT 1 FROM battledger.cosignature WHERE tree_size = 1000004)" || true
check "  and accepted by ALTER SUBSCRIPTION ENABLE once the bound allows it (600 s again)" [ "$(stored_at_b 1000004)" = 1 ]

exit $fail
