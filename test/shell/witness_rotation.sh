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
#     has cosigned, an older one cannot (the era rule of the log keys).
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

# a late joiner: c joins a with both witness keys, oldest first; the join's
# copy brings a's cosignatures under both
WITV[a]=$W1$'\n'$W2
bl_join c a
bl_wait_for c "SELECT (SELECT coalesce(max(tree_size), 0) FROM battledger.cosignature WHERE log_origin = 'b.example/log' AND witness = 'a.example/log') = 20"
check "c: joining after the rotation with both witness keys, a's cosignatures under both arrive" \
  [ "$(q c -c "SELECT count(*) FROM battledger.rejections")" = 0 ]

# the retired key cosigns again: refused
cosign_with w1
seal_b 10
bl_wait_for b "SELECT state = 'stopped' FROM battledger.consortium_status() WHERE member = 'a.example/log'"
check "b: a cosignature by the retired witness key after the new one cosigned: refused" \
  grep -q "older key may not sign" <<<"$(q b -c "SELECT string_agg(detail, ' ') FROM battledger.rejections WHERE problem = 'bad_cosignature'")"
check "  and not stored" [ "$(cosigned_at b)" = 20 ]

exit $fail
