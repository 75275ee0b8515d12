#!/usr/bin/env bash
# rt27e (0.27.0, main c360e12): red team of priv27 (31 internal functions
# revoked from PUBLIC, 21 granted to battledger_member and
# battledger_legitimate_interest), _operator_rules() SECURITY DEFINER
# (639ed71) and rt27d's gin_fuzzy_search_limit pin in bl_spi_connect().
# FAIL = an open hole, ok = holds.  One cluster: RT27E_PORT (default 58500).
#  P1 no SECURITY INVOKER function a role may execute (PUBLIC,
#     battledger_member, battledger_legitimate_interest, battledger_authority)
#     calls, outside comments, one that role may not, except the pairs
#     judged here (each: the role cannot read what the path reads anyway, or
#     the call is guarded by has_function_privilege/role membership).  A new
#     caller of a revoked function from a user's path shows up here.
#  P2 a database updated from 0.26.0 has the privileges, SECURITY DEFINER
#     and settings of a fresh 0.27.0 install on every function and relation
#     (PUBLIC's grants are not left behind).
#  O1 _operator_rules() as the owner still judges the signer, not the
#     owner: a plain role's registration naming another member than its
#     key's is refused BL060, one in a non-canonical form 22P02.
#  O2 two members registering one identifier at the same moment: the
#     identifier's turn (_lock_subject(), now reachable) makes the second
#     wait and be refused BL061; one holder.
#  G1 usage_derived() and the legitimate-interest passport, read by
#     battledger_legitimate_interest with gin_fuzzy_search_limit = 1 (and
#     enable_seqscan off) in its session: its own answer every time
#     (disclosure's row security keeps the non-leakproof ? out of the GIN
#     index scan).
#  G2 the same setting left for every session by the database's owner (no
#     superuser: ALTER DATABASE ... SET), read by the extension's owner,
#     whom no policy filters: usage_derived()'s early-out "no disclosure
#     carries per-cycle data" (and _usage_derived()'s) read disclosure
#     through its GIN index (disclosure_keys) without the pin, and a fuzzy
#     scan of 40 matches found none about half the time: the battery had no
#     derived usage values (11 of 20 on c360e12).  The passport reads the
#     usage cache and held.
# Results, PostgreSQL 15, 2026-12-07: c360e12 FAIL G2 (P1, P2, O1, O2, G1
# ok).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/redteam.sh"

bl_scratch
bl_start_cluster rt27e "${RT27E_PORT:-58500}" "$(bl_test_log_conf rt27e.test/redteam)"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "${DB:-bl}" "$@"; }
# as ROLE: the answer, or "SQLSTATE message" of the first error
as() {
  local role=$1; shift
  if PGUSER=$role psql -X -q -At -d bl -v ON_ERROR_STOP=1 -c "\\set VERBOSITY verbose" -c "$1" >"$BL_WORK/out" 2>"$BL_WORK/err"; then
    tr '\n' ' ' <"$BL_WORK/out" | sed 's/ $//'; return; fi
  sed -n 's/^ERROR: *\([A-Z0-9]*\): \(.*\)/\1 \2/p' "$BL_WORK/err" | head -1
}

createdb bl
q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT battledger.add_member(m, r), battledger.add_key(m, battledger_test.public_key(battledger_test.seed(m)), now() - interval '1 hour')
  FROM (VALUES ('maker.test', ARRAY['miner', 'cell_maker', 'pack_maker', 'oem']), ('fleet.test', ARRAY['fleet_operator'])) v(m, r);
CREATE FUNCTION public.bid(serial text) RETURNS battledger.battery_id LANGUAGE sql AS $$
    SELECT ('https://id.gs1.org/01/09521234567899/21/' || serial)::battledger.battery_id $$;
CREATE FUNCTION public.reg(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.operator_registration := jsonb_populate_record(NULL::battledger.operator_registration,
            jsonb_build_object('member', m, 'occurred_at', '2025-01-01T00:00:00Z') || j
            || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(coalesce(j->>'signer', m))))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(coalesce(j->>'signer', m)), battledger.signing_bytes(r));
      INSERT INTO battledger.operator_registration SELECT r.*; END $$;
CREATE ROLE plain LOGIN;
CREATE ROLE app LOGIN IN ROLE battledger_member;
CREATE ROLE li LOGIN IN ROLE battledger_legitimate_interest;
GRANT USAGE ON SCHEMA battledger_test TO PUBLIC;   -- TEST ONLY: anyone signs as anyone
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA battledger_test TO PUBLIC;
GRANT EXECUTE ON FUNCTION public.ev(text, jsonb), public.model(text, jsonb), public.reg(text, jsonb) TO PUBLIC;
SQL

# --- P1: callers a role may run that call what it may not
got=$(q <<'SQL'
WITH r(role) AS (VALUES ('public'), ('battledger_member'), ('battledger_legitimate_interest'), ('battledger_authority')),
f AS (SELECT p.oid, p.proname, p.prosecdef, regexp_replace(p.prosrc, '--[^\n]*', '', 'g') AS src
        FROM pg_proc p WHERE p.pronamespace = 'battledger'::regnamespace)
SELECT coalesce(string_agg(x, ' ' ORDER BY x), '') FROM (
SELECT DISTINCT r.role || ':' || c.proname || '>' || callee.proname AS x
  FROM r CROSS JOIN f c JOIN f callee ON c.src ~ ('\m' || callee.proname || '\s*\(') AND c.oid <> callee.oid
 WHERE NOT c.prosecdef AND has_function_privilege(r.role, c.oid, 'EXECUTE')
   AND NOT has_function_privilege(r.role, callee.oid, 'EXECUTE')
   -- guarded: the call only under has_function_privilege() on the callee
   AND c.src !~ ('has_function_privilege\(''battledger\.' || callee.proname || '\(')
   -- the raw-event readers: a role without SELECT on the raw events was refused there before
   AND NOT (c.proname IN ('battery_lifecycle', 'battery_state', 'lot_available_kg', 'lot_custodian', 'registry_conflicts')
            AND NOT has_table_privilege(r.role, 'battledger.battery_event', 'SELECT'))
   -- verify_member() reads held_row, the owner's
   AND NOT (c.proname = 'verify_member' AND NOT has_table_privilege(r.role, 'battledger.held_row', 'SELECT'))) s
SQL
)
check "P1 no invoker function a role may run calls one it may not (but passport()'s tiers, registry_conflicts()' hint)" \
  "$got" "battledger_authority:passport>_passport_legitimate_interest battledger_legitimate_interest:passport>_passport_authority battledger_legitimate_interest:registry_conflicts>pin_member_host battledger_member:passport>_passport_authority battledger_member:passport>_passport_legitimate_interest battledger_member:registry_conflicts>pin_member_host public:passport>_passport_authority public:passport>_passport_legitimate_interest"

# --- P2: 0.26.0 updated against a fresh install
createdb up
DB=up q -c "CREATE EXTENSION battledger VERSION '0.26.0'" -c "ALTER EXTENSION battledger UPDATE" >/dev/null
ACL="SELECT 'f ' || p.oid::regprocedure || ' ' || p.prosecdef || ' ' || coalesce(p.proconfig::text, '') || ' ' || coalesce(p.proacl::text, 'default')
       FROM pg_proc p WHERE p.pronamespace = 'battledger'::regnamespace
     UNION ALL SELECT 'r ' || c.oid::regclass || ' ' || c.relrowsecurity || ' ' || coalesce(c.relacl::text, 'default')
       FROM pg_class c WHERE c.relnamespace = 'battledger'::regnamespace ORDER BY 1"
DB=bl q -c "$ACL" >"$BL_WORK/acl_fresh"; DB=up q -c "$ACL" >"$BL_WORK/acl_up"
check "P2 0.26.0 -> 0.27.0: every function's and relation's privileges, definer and settings as a fresh install ($(wc -l <"$BL_WORK/acl_fresh") objects)" \
  "$(diff "$BL_WORK/acl_fresh" "$BL_WORK/acl_up" | head -3 | tr '\n' ' ')" ""

# --- O1: the rules, run as the owner, still judge the signer
o1=$(as plain "SELECT reg('fleet.test', '{\"signer\": \"maker.test\", \"identifier\": \"lei:5493001KJTIIGC8Y1R12\", \"kind\": \"operator\", \"name\": \"X\", \"address\": {\"country\": \"DE\"}}')" | cut -c1-5)
o1b=$(as plain "SELECT reg('maker.test', '{\"identifier\": \"LEI:5493001kjtiigc8y1r12\", \"kind\": \"operator\", \"name\": \"X\", \"address\": {\"country\": \"DE\"}}')" | cut -c1-5)
check "O1 a plain role's registration for another member than its key's: BL060; not canonical: 22P02" "$o1 $o1b" "BL060 22P02"

# --- O2: two registrations of one identifier at the same moment
ID=gln:9521234567899
PGUSER=plain psql -X -q -At -d bl -v ON_ERROR_STOP=1 -c "BEGIN" \
  -c "SELECT reg('maker.test', '{\"identifier\": \"$ID\", \"kind\": \"operator\", \"name\": \"M\", \"address\": {\"country\": \"DE\"}}')" \
  -c "SELECT pg_sleep(3)" -c "COMMIT" >"$BL_WORK/o2a" 2>&1 &
sleep 1
o2b=$(as app "SELECT reg('fleet.test', '{\"identifier\": \"$ID\", \"kind\": \"operator\", \"name\": \"F\", \"address\": {\"country\": \"DE\"}}')" | cut -c1-5)
wait
check "O2 two members register one identifier at once: the second waits its turn and is refused; one holder" \
  "$(cat "$BL_WORK/o2a" | tr -d '\n')$o2b $(q -c "SELECT battledger.operator_holder('$ID'), count(*) FROM battledger.operator_registration WHERE identifier = '$ID' GROUP BY 1")" \
  "BL061 maker.test|1"

# --- G1: usage_derived()'s early-out through the GIN index, under a fuzzy limit
q >/dev/null <<'SQL'
SELECT model('maker.test', jsonb_build_object('model_id', 'M1', 'manufacturer', 'maker.test', 'category', 'ev', 'chemistry', 'LFP', 'rated_capacity_ah', 280));
SELECT ev('maker.test', jsonb_build_object('battery_id', bid('A1')::text, 'event', 'manufactured', 'model_id', 'M1', 'occurred_at', '2026-01-02T00:00:00Z'));
SELECT ev('maker.test', jsonb_build_object('battery_id', bid('A1')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:A1', 'occurred_at', '2026-01-03T00:00:00Z'));
CREATE TABLE public.report AS
SELECT n, '2026-02-01T00:00:00Z'::timestamptz + n * interval '1 day' AS at,
       jsonb_build_object('cycle', jsonb_build_object('type', 'discharge', 'ah', 100, 'wh', 320, 'capacity_ah', 270 - n, 'v_min', 3.0)) AS v,
       sha256(convert_to('A1:' || n, 'UTF8')) AS salt   -- TEST ONLY: reproducible salts
  FROM generate_series(1, 40) n;
INSERT INTO battledger.disclosure SELECT battledger.commitment(salt, v), 'legitimate_interest', salt, v FROM public.report;
SELECT ev('maker.test', jsonb_build_object('battery_id', bid('A1')::text, 'event', 'soh_reported', 'occurred_at', at,
          'restricted', battledger.commitment(salt, v)::text)) FROM public.report ORDER BY n;
VACUUM ANALYZE battledger.disclosure;   -- the GIN pending list into the index, as autovacuum does
SQL
U="SELECT coalesce(string_agg(key || '=' || value || '@' || reports, ' ' ORDER BY key), 'none') FROM battledger.usage_derived(bid('A1'))"
want=$(q -c "$U")
echo "#   the owner's usage_derived(A1): ${want:0:100}..."
P="SELECT md5(battledger.passport(bid('A1'), 'legitimate_interest')::text)"
wantp=$(q -c "$P"); wanta=$(as app "$U")
echo "#   a member's application's usage_derived(A1) (its tier): ${wanta:0:60}"
F="SET gin_fuzzy_search_limit = 1; SET enable_seqscan = off"
d1=0; d2=0; d3=0
for i in $(seq 1 20); do
  [ "$(as li "$F; $U")" = "$want" ] || d1=$((d1 + 1))
  [ "$(as app "$F; $U")" = "$wanta" ] || d2=$((d2 + 1))
  [ "$(as li "$F; $P")" = "$wantp" ] || d3=$((d3 + 1))
done
check "G1 usage_derived() as legitimate interest and as a member's application, and the legitimate-interest passport, under the reader's gin_fuzzy_search_limit = 1: each its answer without it, 20 of 20 tries" \
  "$d1 $d2 $d3 differ" "0 0 0 differ"
# G2: the same setting left for every session by the database's owner (no
# superuser: ALTER DATABASE ... SET of a user setting), read by the
# extension's owner, whom no row security filters (a passport service, an
# auditor's script run as the owner)
q -c "CREATE ROLE dbo LOGIN" -c "ALTER DATABASE bl OWNER TO dbo" >/dev/null
PGUSER=dbo psql -X -q -d bl -c "ALTER DATABASE bl SET gin_fuzzy_search_limit = 1" -c "ALTER DATABASE bl SET enable_seqscan = off"
d4=0; d5=0
for i in $(seq 1 20); do
  [ "$(q -c "$U")" = "$want" ] || d4=$((d4 + 1))
  [ "$(q -c "$P")" = "$wantp" ] || d5=$((d5 + 1))
done
check "G2 the database's owner sets gin_fuzzy_search_limit = 1 for the database: the owner's usage_derived() and legitimate-interest passport unchanged, 20 of 20 tries" \
  "$d4 $d5 differ" "0 0 differ"
q -c "ALTER DATABASE bl RESET ALL" >/dev/null
exit $FAILS
