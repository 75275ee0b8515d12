# test/lib/redteam.sh — sourced by red team findings scripts after
# test/lib/cluster.sh and test/lib/consortium.sh: their verdict helpers and
# the consortium most of 0.25.0's scripts start from.
#
# rt_check WHAT GOT WANT: "ok   - WHAT" when GOT is WANT, else
# "FAIL - WHAT: got ..., want ..." and FAILS one more (the script exits with
# FAILS: the number of findings open).
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
q() { bl_mq "$@"; }
# the TEST-ONLY public key of a seed's name, as SQL
pub() { echo "battledger_test.public_key(battledger_test.seed('$1'))"; }

# rt_three_members PORT [F_CONF]: members c (c.example/log, hosting
# cell.example: cell maker, pack maker, oem, fleet operator; key cell-1),
# m (m.example/log, mal.example: pack maker, oem, fleet operator; key
# mal-1: the malicious member) and f (f.example/log, fleet.example: fleet
# operator; key fleet-1) on PORT, PORT+1 and PORT+2, each a witness with
# the signed writers (test/lib/signed_writers.sql), publishing, subscribed
# to the two others; F_CONF: more postgresql.conf lines for f.  Sets W,
# PORT, ORIGIN, LOGV, WITV.
rt_three_members() {
  local p=$1 fconf=${2:-} x
  bl_scratch
  W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
  declare -gA PORT=([c]=$p [m]=$((p + 1)) [f]=$((p + 2)))
  declare -gA ORIGIN=([c]=c.example/log [m]=m.example/log [f]=f.example/log)
  declare -gA LOGV WITV
  for x in c m f; do
    bl_member_start "$x" "$W" witness "$BL_QUICK_RETRY$([ "$x" = f ] && [ -n "$fconf" ] && printf '\n%s' "$fconf")"
    q "$x" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT battledger.publish_member();
SQL
  done
  q c -c "SELECT battledger.add_member('cell.example', ARRAY['cell_maker', 'pack_maker', 'oem', 'fleet_operator']),
                battledger.add_key('cell.example', $(pub cell-1), now() - interval '1 hour')" >/dev/null
  q m -c "SELECT battledger.add_member('mal.example', ARRAY['pack_maker', 'oem', 'fleet_operator']),
                battledger.add_key('mal.example', $(pub mal-1), now() - interval '1 hour')" >/dev/null
  q f -c "SELECT battledger.add_member('fleet.example', ARRAY['fleet_operator']),
                battledger.add_key('fleet.example', $(pub fleet-1), now() - interval '1 hour')" >/dev/null
  for x in c m f; do bl_member_keys "$x" witness; done
  bl_join c m; bl_join m c; bl_join c f; bl_join f c; bl_join m f; bl_join f m
  for x in c m f; do bl_wait_for "$x" "SELECT count(*) = 3 FROM battledger.members" >/dev/null; done
}
