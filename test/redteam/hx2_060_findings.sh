#!/usr/bin/env bash
# Red team hx2 (0.6.0 review): the fold cache's readers (battery_state(),
# passport()) and the tiled log (log_tile).  Each step prints "ok <case>" when
# the property holds and "FAIL <case>: ..." when it does not, so the script
# passes once every finding is fixed and the cases that hold stay as
# regression tests.  Exit status: the number of FAILs (0 = all hold).
#   P1  a plain role: no EXECUTE on _battery_state_read(), no read of the cache
#   P2  battery_state() = the whole fold after a row with an earlier registry
#       position arrives (replication stand-in)
#   P3  ... after a key is revoked, P4 a namespace added, P5 the custody date set
#   P6  ... after the DBA changes status_role (who may move into which status)
#   P7  ... after the DBA changes event_kind (who may sign which event)
#   P8  passport()'s dynamic attributes with more than 8 reports = 0.5.0's formula
#   T1  tree_root() and inclusion_proof() at tile edges = an independent RFC 9162
#   T2  verify_log() names a tampered, an extra and a deleted tile
#   T3  a plain role cannot write log_tile
#   T4  a tile inserted ahead of the tree: named by verify_log(); the next
#       seal() refuses naming it (before the hx2 fix: a bare unique violation)
#   T5  the 0.5.0 -> 0.6.0 update refuses a log_node that does not give the
#       checkpoints' roots; one with nodes past the tree, which that frozen
#       update accepts, is refused by the update to 0.7.0
# On cb7da82 (before the fixes) P6, P7 (twice), T4 and T5-extra-node FAIL;
# with the fixes of 0.7.0 (hx2's, and the update's tile check) none does.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
FAILS=0
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }
# check CASE "SQL returning one row, true when the property holds" [detail SQL]
check() {
  local got; got=$(q -c "$2" 2>&1)
  if [ "$got" = t ]; then ok "$1"; else fail "$1" "$got${3:+ | $(q -c "$3" 2>&1 | tr '\n' ' ')}"; fi
}
bl_scratch
bl_start_cluster hx2 55721 "$(bl_test_log_conf hx2.test/redteam)"
createdb reg
q() { timeout 120 psql -X -q -At -v ON_ERROR_STOP=1 -d reg "$@"; }
q <<'SQL' >/dev/null
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
SET search_path = public, battledger, battledger_test;
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT count(*) FROM (SELECT add_member(m, r), add_key(m, public_key(seed(m)))
  FROM (VALUES ('cells.test', ARRAY['cell_maker', 'pack_maker', 'oem']),
               ('fleet.test', ARRAY['fleet_operator', 'oem']),
               ('rec.test',   ARRAY['recycler', 'collector'])) v(m, r)) x;
SELECT model('cells.test', '{"model_id": "M1", "manufacturer": "cells.test", "category": "ev", "chemistry": "NMC", "rated_capacity_ah": 2.0}');
-- same_state(b): battery_state() (as the caller) equals the last row of the whole fold
CREATE FUNCTION public.same_state(b text) RETURNS boolean LANGUAGE sql AS $$
  SELECT (s.manufactured, s.status, s.passport_id, s.custodian, s.handover_to) IS NOT DISTINCT FROM
         (SELECT (coalesce(l.manufactured, false), l.status, l.passport_id, l.custodian, l.handover_to)
            FROM battledger.battery_lifecycle(b::battledger.battery_id) l
           ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC LIMIT 1)
    FROM battledger.battery_state(b::battledger.battery_id) s $$;
CREATE FUNCTION public.show_state(b text) RETURNS text LANGUAGE sql AS $$
  SELECT format('battery_state %s / whole fold %s', (SELECT s FROM battledger.battery_state(b::battledger.battery_id) s),
         (SELECT (l.manufactured, l.status, l.passport_id, l.custodian, l.handover_to)
            FROM battledger.battery_lifecycle(b::battledger.battery_id) l
           ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC LIMIT 1)) $$;
CREATE ROLE plain LOGIN;
CREATE ROLE mem LOGIN IN ROLE battledger_member;
GRANT USAGE ON SCHEMA battledger TO plain, mem;
SQL
B1=gs1:01/09521234567899/21/H1
B2=gs1:01/09521234567899/21/H2
B3=gs1:01/09521234567899/21/H3
mk() {  # mk BATTERY PASSPORT: made, placed on the market, handed over to fleet.test and accepted
  q >/dev/null <<SQL
SET search_path = public, battledger;
SELECT ev('cells.test', '{"battery_id": "$1", "event": "manufactured", "model_id": "M1", "occurred_at": "2026-01-01T00:00:00Z"}');
SELECT ev('cells.test', '{"battery_id": "$1", "event": "placed_on_market", "passport_id": "$2", "occurred_at": "2026-01-02T00:00:00Z"}');
SELECT ev('cells.test', '{"battery_id": "$1", "event": "handover", "data": {"to": "fleet.test"}, "occurred_at": "2026-01-03T00:00:00Z"}');
SELECT ev('fleet.test', '{"battery_id": "$1", "event": "handover_accepted", "occurred_at": "2026-01-04T00:00:00Z"}');
SQL
}
mk "$B1" PP-H1; mk "$B2" PP-H2; mk "$B3" PP-H3
echo "== hp: battery_state() from the fold cache"
check P0-cache-filled "SELECT count(*) = 3 FROM battledger.battery_fold_cache"
check P1-plain-no-execute "SELECT NOT has_function_privilege('plain', 'battledger._battery_state_read(battledger.battery_id)', 'EXECUTE')
   AND NOT has_table_privilege('plain', 'battledger.battery_fold_cache', 'SELECT')
   AND NOT has_function_privilege('plain', 'battledger._battery_fold_cached(battledger.battery_id, bigint)', 'EXECUTE')"
got=$(timeout 60 psql -X -At -d reg -U plain -c "SELECT battledger.battery_state('$B1')" 2>&1)
if grep -q "permission denied" <<<"$got"; then ok P1-plain-reads-nothing; else fail P1-plain-reads-nothing "$got"; fi
got=$(timeout 60 psql -X -At -d reg -U mem -c "SELECT public.same_state('$B1')" 2>&1)
if [ "$got" = t ]; then ok P1-member-same-state; else fail P1-member-same-state "$got"; fi

# P2: a row with an earlier registry position arrives (stand-in for replication:
# stored without the local triggers, as the apply worker does)
q >/dev/null <<SQL
CREATE TABLE public.saved_tg AS SELECT tgname, tgenabled FROM pg_trigger
 WHERE tgrelid = 'battledger.battery_event'::regclass AND NOT tgisinternal;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.battery_event DISABLE TRIGGER ALL;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
-- B1's custodian (cells.test) moved it into waste between its placing on the
-- market and its handover, in registry order: an effective move the cached
-- state (original) does not have; its row arrives only now
INSERT INTO battledger.battery_event (battery_id, event, new_status, occurred_at, ledger_key_id, ledger_sig, ledger_at, ledger_origin, ledger_seq, ledger_hash, ledger_prev)
SELECT h.battery_id, 'status_changed', 'waste', h.occurred_at, h.ledger_key_id, sha512('p2'::bytea),
       p.ledger_at + (h.ledger_at - p.ledger_at) / 2, 'zz', 1, h.ledger_hash, h.ledger_prev
  FROM battledger.battery_event h, battledger.battery_event p
 WHERE h.battery_id::text = '$B1' AND h.event = 'handover' AND p.battery_id::text = '$B1' AND p.event = 'placed_on_market';
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
DO \$\$ DECLARE t record; BEGIN
  FOR t IN SELECT * FROM public.saved_tg LOOP
    EXECUTE format('ALTER TABLE battledger.battery_event %s TRIGGER %I',
                   CASE t.tgenabled WHEN 'O' THEN 'ENABLE' WHEN 'A' THEN 'ENABLE ALWAYS' WHEN 'R' THEN 'ENABLE REPLICA' ELSE 'DISABLE' END, t.tgname);
  END LOOP; END \$\$;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
SQL
check P2-triggers-restored "SELECT (SELECT array_agg((tgname, tgenabled)::text ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'battledger.battery_event'::regclass AND NOT tgisinternal)
                            = (SELECT array_agg((tgname, tgenabled)::text ORDER BY tgname) FROM public.saved_tg)"
check P2-earlier-row "SELECT public.same_state('$B1')" "SELECT public.show_state('$B1')"
check P2-earlier-row-effective "SELECT status = 'waste' FROM battledger.battery_state('$B1')" "SELECT public.show_state('$B1')"
# P3: B1's signer's key revoked, dated before its handover
q -c "SELECT battledger.revoke_key(battledger.key_id(battledger_test.public_key(battledger_test.seed('fleet.test'))), '2025-01-01')" >/dev/null 2>&1 \
  || q -c "SELECT battledger.revoke_key(battledger.key_id(battledger_test.public_key(battledger_test.seed('fleet.test'))))" >/dev/null
check P3-key-revoked "SELECT public.same_state('$B1')" "SELECT public.show_state('$B1')"
# (the fold names a row's signer by its key's "added" event alone, so a
# revocation, even dated back, changes no state: verify() reports such rows)
# P4: a namespace covering B2's id registered to another member, dated back
q -c "INSERT INTO battledger.id_namespace (namespace, member, at) VALUES ('gs1:952123', 'rec.test', '2000-01-01')" >/dev/null
check P4-namespace "SELECT public.same_state('$B2')" "SELECT public.show_state('$B2')"
# P5: custody from a date after the events: before it, whoever moved the battery holds it
q -c "SELECT battledger.set_custody_from('2030-01-01')" >/dev/null
check P5-custody "SELECT public.same_state('$B3')" "SELECT public.show_state('$B3')"
q -c "SELECT battledger.set_custody_from('-infinity')" >/dev/null

# P6: the DBA changes who may move a battery into "waste" after the move was
# cached: the counts in _fold_generation() do not change, so the cache stays
B4=gs1:01/09999999999994/21/H4
B5=gs1:01/09999999999994/21/H5
q >/dev/null <<SQL
SET search_path = public, battledger;
SELECT ev('cells.test', '{"battery_id": "$B4", "event": "manufactured", "model_id": "M1", "occurred_at": "2026-01-01T00:00:00Z"}');
SELECT ev('cells.test', '{"battery_id": "$B4", "event": "placed_on_market", "passport_id": "PP-H4", "occurred_at": "2026-01-02T00:00:00Z"}');
SELECT ev('cells.test', '{"battery_id": "$B4", "event": "status_changed", "new_status": "waste", "occurred_at": "2026-01-03T00:00:00Z"}');
SELECT ev('cells.test', '{"battery_id": "$B4", "event": "handover", "data": {"to": "rec.test"}, "occurred_at": "2026-01-04T00:00:00Z"}');
SELECT ev('rec.test', '{"battery_id": "$B4", "event": "handover_accepted", "occurred_at": "2026-01-05T00:00:00Z"}');
SELECT ev('cells.test', '{"battery_id": "$B5", "event": "manufactured", "model_id": "M1", "occurred_at": "2026-01-01T00:00:00Z"}');
SELECT ev('cells.test', '{"battery_id": "$B5", "event": "placed_on_market", "passport_id": "PP-H5", "occurred_at": "2026-01-02T00:00:00Z"}');
-- any later row of B5 brings the writer's cache up to its placement
SELECT ev('cells.test', '{"battery_id": "$B5", "event": "installed", "occurred_at": "2026-01-04T00:00:00Z"}');
SQL
q -c "UPDATE battledger.status_role SET roles = '{collector,recycler}' WHERE status = 'waste'" >/dev/null
check P6-status-role-changed "SELECT public.same_state('$B4')" "SELECT public.show_state('$B4')"
q -c "UPDATE battledger.status_role SET roles = '{collector,recycler,oem,fleet_operator,second_life_operator}' WHERE status = 'waste'" >/dev/null
# P7: the DBA changes who may sign "placed_on_market"
q -c "UPDATE battledger.event_kind SET roles = '{second_life_operator}' WHERE event = 'placed_on_market'" >/dev/null
check P7-event-kind-changed "SELECT public.same_state('$B5')" "SELECT public.show_state('$B5')"
# ... and the writer judges the next row on the stale state: the whole fold
# says B5 is not on the market, so a move into waste must be refused
got=$(q -c "SELECT public.ev('cells.test', '{\"battery_id\": \"$B5\", \"event\": \"status_changed\", \"new_status\": \"waste\", \"occurred_at\": \"2026-01-06T00:00:00Z\"}')" 2>&1)
if grep -q "not been placed on the market\|BL036" <<<"$got"; then ok P7-writer-on-whole-fold; else fail P7-writer-on-whole-fold "the writer accepted a move the whole fold refuses: ${got:-accepted}; $(q -c "SELECT public.show_state('$B5')")"; fi
q -c "UPDATE battledger.event_kind SET roles = '{pack_maker,oem,second_life_operator}' WHERE event = 'placed_on_market'" >/dev/null

# P8: passport()'s dynamic attributes come from the 8 latest reports first
# (0.6.0), then the walk; with 20 reports, keys set only beyond the 8 latest
# must still come from their latest report, as 0.5.0's per-key walk gave them
B6=gs1:01/09999999999994/21/H6
q >/dev/null <<SQL
SET search_path = public, battledger;
SELECT ev('cells.test', '{"battery_id": "$B6", "event": "manufactured", "model_id": "M1", "occurred_at": "2026-01-01T00:00:00Z"}');
SELECT ev('cells.test', '{"battery_id": "$B6", "event": "placed_on_market", "passport_id": "PP-H6", "occurred_at": "2026-01-02T00:00:00Z"}');
CREATE TEMP TABLE rep AS
SELECT i, sha256(convert_to('salt' || i, 'UTF8')) AS salt,
       jsonb_strip_nulls(jsonb_build_object('soh_pct', 100 - i,                               -- every report
                          'capacity_ah', CASE WHEN i = 1 THEN 2.5 END,               -- the oldest only
                          'full_cycles', CASE WHEN i IN (5, 12) THEN i * 10 END,      -- beyond the 8 latest
                          're_ohm', CASE WHEN i = 18 THEN 0.018 END)) AS value        -- among them
  FROM generate_series(1, 20) i;
INSERT INTO battledger.disclosure SELECT commitment(salt, value), 'legitimate_interest', salt, value FROM rep WHERE i <> 19;
SELECT ev('cells.test', jsonb_build_object('battery_id', '$B6', 'event', 'soh_reported', 'occurred_at', '2026-02-01'::timestamptz + i * interval '1 day',
                                           'restricted', commitment(salt, value)::text)) FROM rep ORDER BY i;
SQL
# 0.5.0's formula (7a31de1:sql/install/85_passport.sql), as the owner
# (_passport_derived() then adds "basis" to each: compare each 0.5.0 attribute by containment)
check P8-dynamic-beyond-8-reports "SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(n) k) = (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(o) k)
       AND NOT EXISTS (SELECT 1 FROM jsonb_each(o) x WHERE NOT n->x.key @> x.value)
  FROM (SELECT battledger._passport_source('$B6', 'legitimate_interest')->'dynamic' AS n) nn, (
  SELECT jsonb_object_agg(a.key, jsonb_build_object('value', x.value, 'at', x.occurred_at,
           'event', (x.e).event, 'sequence', (x.e).ledger_seq, 'ledgerHash', (x.e).ledger_hash::text,
           'leafIndex', battledger.leaf_index('battledger.battery_event', (x.e).ledger_hash))) AS o
    FROM battledger._dynamic_attribute a
   CROSS JOIN LATERAL (
         SELECT (d.value->>a.key)::numeric AS value, e.occurred_at, e
           FROM battledger.battery_event e
           JOIN battledger.disclosure d ON d.commitment OPERATOR(battledger.=) e.restricted
          WHERE e.battery_id OPERATOR(battledger.=) '$B6' AND e.event = 'soh_reported'
            AND d.tier = 'legitimate_interest' AND d.value ? a.key
          ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1) x
   WHERE EXISTS (SELECT 1 FROM battledger.disclosure d0 WHERE d0.value ? a.key)) oo" \
  "SELECT battledger._passport_source('$B6', 'legitimate_interest')->'dynamic'"
check P8-dynamic-values "SELECT (v->'capacity_ah'->>'value')::numeric = 2.5 AND (v->'full_cycles'->>'value')::numeric = 120
                            AND (v->'re_ohm'->>'value')::numeric = 0.018 AND (v->'soh_pct'->>'value')::numeric = 80
   FROM (SELECT battledger._passport_source('$B6', 'legitimate_interest')->'dynamic' AS v) x" \
  "SELECT battledger._passport_source('$B6', 'legitimate_interest')->'dynamic'"
# the passport's responsible operator (from the fold cache) = the whole fold's
check P8-responsible-operator "SELECT (SELECT l.signer FROM battledger.battery_lifecycle('$B6') l WHERE l.effective AND l.event IN ('placed_on_market', 'status_changed')
                                        ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC LIMIT 1)
                              = battledger.passport('$B6')->'secondLife'->'responsibleOperator'->>'member'" \
  "SELECT battledger.passport('$B6')->'secondLife'"

echo "== ht: the tiled log"
q >/dev/null <<'SQL'
CREATE TABLE public.t (x int);
SELECT battledger.enable_ledger('public.t', 'x');
SELECT battledger.seal();
SQL
# grow(N): exactly N leaves, sealed (a checkpoint at each size)
grow() {
  local have; have=$(q -c "SELECT (SELECT count(*) FROM battledger.log_leaf) + (SELECT count(*) FROM battledger.log_pending)")
  [ "$have" -lt "$1" ] && q -c "INSERT INTO public.t SELECT g FROM generate_series(1, $1 - $have) g" >/dev/null
  q -c "SELECT battledger.seal()" >/dev/null
}
for n in 255 256 257 511 512 513 767; do grow $n; done
check T0-sizes "SELECT array_agg(tree_size ORDER BY tree_size) @> '{255,256,257,511,512,513,767}' FROM battledger.checkpoint" \
  "SELECT array_agg(tree_size ORDER BY tree_size) FROM battledger.checkpoint"
# an independent RFC 9162 (section 2.1) computation from log_leaf's leaf hashes
q -c "SELECT leaf_hash::text FROM battledger.log_leaf ORDER BY leaf_index" > "$BL_WORK/leaves"
q -c "SELECT tree_size || ' ' || root::text FROM battledger.checkpoint ORDER BY tree_size" > "$BL_WORK/cps"
PAIRS="0:255 254:255 255:256 0:256 255:257 256:257 0:511 256:511 510:511 511:512 255:512 511:513 512:513 256:767 512:767 766:767"
CPAIRS="255:256 256:257 255:513 256:512 257:511 511:512 512:513 255:767 513:767 1:767"
for p in $PAIRS; do i=${p%%:*}; n=${p##*:}
  echo "inc $i $n $(q -c "SELECT array_to_string(battledger.inclusion_proof($i, $n)::text[], ',')") $(q -c "SELECT battledger.tree_root($n)::text")"
done > "$BL_WORK/sql_proofs"
for p in $CPAIRS; do m=${p%%:*}; n=${p##*:}
  echo "con $m $n $(q -c "SELECT array_to_string(battledger.consistency_proof($m, $n)::text[], ',')")"
done >> "$BL_WORK/sql_proofs"
res=$(python3 - "$BL_WORK" <<'PY2'
import hashlib, sys
w = sys.argv[1]
L = [bytes.fromhex(l.strip().removeprefix('\\x')) for l in open(w + '/leaves') if l.strip()]
H = lambda a, b: hashlib.sha256(b'\x01' + a + b).digest()
def k(n):  # largest power of two < n
    p = 1
    while p * 2 < n: p *= 2
    return p
def mth(a, b):
    n = b - a
    if n == 1: return L[a]
    m = k(n); return H(mth(a, a + m), mth(a + m, b))
def path(i, a, b):
    n = b - a
    if n == 1: return []
    m = k(n)
    if i < m: return path(i, a, a + m) + [mth(a + m, b)]
    return path(i - m, a + m, b) + [mth(a, a + m)]
def subproof(m, a, b, full):
    n = b - a
    if m == n: return [] if full else [mth(a, b)]
    kk = k(n)
    if m <= kk: return subproof(m, a, a + kk, full) + [mth(a + kk, b)]
    return subproof(m - kk, a + kk, b, False) + [mth(a, a + kk)]
h = lambda x: x.hex()
bad = []
for l in open(w + '/cps'):
    n, r = l.split(); n = int(n)
    if h(mth(0, n)) != r.removeprefix('\\x'): bad.append('checkpoint %d root' % n)
for l in open(w + '/sql_proofs'):
    f = l.split()
    norm = lambda s: [x.removeprefix('\\x') for x in s.split(',')] if s else []
    if f[0] == 'inc':
        i, n = int(f[1]), int(f[2]); got = norm(f[3] if len(f) > 4 else ''); root = f[-1].removeprefix('\\x')
        if root != h(mth(0, n)): bad.append('tree_root(%d)' % n)
        if got != [h(x) for x in path(i, 0, n)]: bad.append('inclusion_proof(%d, %d)' % (i, n))
    else:
        m, n = int(f[1]), int(f[2]); got = norm(f[3] if len(f) > 3 else '')
        if got != [h(x) for x in subproof(m, 0, n, True)]: bad.append('consistency_proof(%d, %d)' % (m, n))
print(' '.join(bad) if bad else 'same')
PY2
)
if [ "$res" = same ]; then ok T1-proofs-at-tile-edges; else fail T1-proofs-at-tile-edges "$res"; fi
# (check_rows false: P2's stand-in row is in no log, as verify_log() says)
check T1-verify-log-clean "SELECT NOT EXISTS (SELECT 1 FROM battledger.verify_log(false))" "SELECT string_agg(concat_ws(' ', v.*), '; ') FROM battledger.verify_log(false) v"
check T1-tiles-stored "SELECT array_agg(level || ':' || idx || ':' || width ORDER BY level, idx, width) = '{1:0:1,1:0:2}' FROM battledger.log_tile" \
  "SELECT array_agg(level || ':' || idx || ':' || width ORDER BY level, idx, width) FROM battledger.log_tile"

# T3: who may write the tiles
for r in plain mem; do
  got=$(timeout 60 psql -X -At -d reg -U $r -c "INSERT INTO battledger.log_tile VALUES (1, 9, 1, sha256('x'::bytea) || ''::bytea)" 2>&1)
  if grep -q "permission denied" <<<"$got"; then ok "T3-$r-cannot-insert-tile"; else fail "T3-$r-cannot-insert-tile" "$got"; fi
done
check T3-append-only "SELECT count(*) = 1 FROM pg_trigger WHERE tgrelid = 'battledger.log_tile'::regclass AND tgname = 'battledger_append_only' AND tgenabled = 'A'"
got=$(q -c "UPDATE battledger.log_tile SET hashes = hashes" 2>&1)
if grep -q "ERROR" <<<"$got"; then ok T3-superuser-update-refused; else fail T3-superuser-update-refused "$got"; fi

# T2/T4: a superuser (or the log's owner) writes tiles behind the guard; verify_log() must name each
# A tile ahead of the tree (level 1, index 0, width 3: the 767 leaves have 2
# level-8 nodes) with the two real hashes and a made-up third
q >/dev/null <<'SQL'
INSERT INTO battledger.log_tile
SELECT 1, 0, 3, t.hashes || sha256('forged'::bytea) FROM battledger.log_tile t WHERE level = 1 AND idx = 0 AND width = 2;
SQL
check T2-extra-tile-named "SELECT EXISTS (SELECT 1 FROM battledger.verify_log(false) v WHERE v.problem = 'extra_tile' AND v.detail LIKE '%level 1, index 0, width 3%')" \
  "SELECT string_agg(concat_ws(' ', v.*), '; ') FROM battledger.verify_log(false) v"
check T4-proofs-unaffected "SELECT battledger.tree_root(767)::text = (SELECT root::text FROM battledger.checkpoint WHERE tree_size = 767)"
# the tree grows to 768 leaves: seal() must refuse, naming the row in its way
# (storing the real third node beside it would leave readers, which take the
# widest row, a choice of two), not fail on a bare unique violation
q -c "INSERT INTO public.t SELECT 1" >/dev/null
got=$(q -c "SELECT battledger.seal() IS NOT NULL" 2>&1)
if grep -q "right-edge tile (level 1, index 0) has a row wider than the tree" <<<"$got"; then ok T4-seal-after-forged-tile
else fail T4-seal-after-forged-tile "seal() at 768 leaves: $got"; fi
check T4-verify-log-names-forged "SELECT EXISTS (SELECT 1 FROM battledger.verify_log(false) v WHERE v.problem IN ('extra_tile', 'tile_mismatch') AND v.detail LIKE '%level 1, index 0, width 3%')" \
  "SELECT string_agg(concat_ws(' ', v.*), '; ') FROM battledger.verify_log(false) v"

echo "== ht: the 0.5.0 -> 0.6.0 update and log_node"
# upd CASE "SQL that damages log_node": a 0.5.0 install (with this library, as
# test/shell/upgrade.sh does) of 767 sealed leaves, damaged behind the guard,
# then ALTER EXTENSION ... UPDATE TO '0.6.0'; prints the update's outcome
upd() {
  local db=u_$1
  createdb "$db"
  # each database seals its own origin
  q -c "ALTER DATABASE $db SET battledger.origin = 'hx2.test/$db'" >/dev/null
  timeout 120 psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >/dev/null 2>"$BL_WORK/$db.err" <<SQL || { echo "SETUP FAILED: $(cat "$BL_WORK/$db.err")"; return; }
CREATE EXTENSION battledger VERSION '0.5.0';
CREATE TABLE public.t (x int);
SELECT battledger.enable_ledger('public.t', 'x');
INSERT INTO public.t SELECT g FROM generate_series(1, 600) g;
SELECT battledger.seal();
INSERT INTO public.t SELECT g FROM generate_series(1, 167) g;
SELECT battledger.seal();
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.log_node DISABLE TRIGGER battledger_append_only;
$2;
ALTER TABLE battledger.log_node ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
SQL
  timeout 120 psql -X -q -At -d "$db" -c "ALTER EXTENSION battledger UPDATE TO '0.6.0'" 2>&1 | head -3
}
ud() { timeout 120 psql -X -q -At -d "u_$1" -c "$2" 2>&1; }
check T5-setup "SELECT true"
got=$(upd clean "SELECT 1")
if [ -z "$got" ] && [ "$(ud clean "SELECT count(*) FROM battledger.verify_log(false)")" = 0 ]; then ok T5-clean-update; else fail T5-clean-update "$got"; fi
# a level-8 node the checkpoints' roots read, changed
got=$(upd changed "UPDATE battledger.log_node SET hash = (SELECT hash FROM battledger.log_node WHERE level = 8 AND idx = 0) WHERE level = 8 AND idx = 1")
if grep -q "do not give the root" <<<"$got"; then ok T5-changed-node-refused; else fail T5-changed-node-refused "update: ${got:-succeeded}"; fi
# the last level-8 node deleted (no gap: the tiles just end early)
got=$(upd deleted "DELETE FROM battledger.log_node WHERE level = 8 AND idx = 1")
if grep -q "ERROR" <<<"$got"; then ok T5-deleted-node-refused; else fail T5-deleted-node-refused "update: ${got:-succeeded}; verify_log after: $(ud deleted "SELECT string_agg(concat_ws(' ', v.*), '; ') FROM battledger.verify_log(false) v")"; fi
# a level-8 node past the tree (767 leaves have 2): contiguous, so no gap, and no checkpoint reads it
# The frozen 0.5.0 -> 0.6.0 script accepts it (a tile row past the tree, on
# which seal() then stops); the update to 0.7.0 must refuse that log.
got=$(upd extra "INSERT INTO battledger.log_node (level, idx, hash) SELECT 8, 2, hash FROM battledger.log_node WHERE level = 8 AND idx = 1")
if grep -q "ERROR" <<<"$got"; then ok T5-extra-node-refused
else
  got7=$(ud extra "ALTER EXTENSION battledger UPDATE TO '0.7.0'")
  if grep -q "tile row past its tree of 767 leaves: level 1, index 0, width 3" <<<"$got7" &&
     [ "$(ud extra "SELECT extversion FROM pg_extension WHERE extname = 'battledger'")" = 0.6.0 ]; then
    ok T5-extra-node-refused-by-the-update-to-0.7.0
  else fail T5-extra-node-refused "update to 0.6.0: ${got:-succeeded}; to 0.7.0: ${got7:-succeeded}"; fi
fi
# a node of a level the tiles do not keep (recomputed): harmless, the update may drop it
got=$(upd level3 "UPDATE battledger.log_node SET hash = (SELECT hash FROM battledger.log_node WHERE level = 3 AND idx = 0) WHERE level = 3 AND idx = 1")
if [ -z "$got" ] && [ "$(ud level3 "SELECT count(*) FROM battledger.verify_log(false)")" = 0 ]; then ok T5-other-level-dropped; else fail T5-other-level-dropped "$got"; fi
echo "FAILS=$FAILS"
exit $FAILS
