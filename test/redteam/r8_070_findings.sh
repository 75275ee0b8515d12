#!/usr/bin/env bash
# Red team r8 (0.7.0 review): batch_check as the table owner, custom chain
# keys, verify()'s unindexed-row count and the arrival check's unique probes.
# Each step prints "ok <case>" when the property holds and "FAIL <case>: ..."
# when it does not; the cases that hold stay as regression checks.
# Exit status: the number of FAILs (0 = all hold).
#   U1  a malicious member's row breaking a DEFERRABLE unique constraint:
#       named (unique_conflict) on arrival, not a commit failure the apply
#       worker retries forever in silence
#   U2  ... an exclusion constraint (EXCLUDE USING btree (tag WITH =))
#   U3  ... a unique index created by another session while the arrival
#       cache is warm; U4 a partial unique index; U5 a NULLS NOT DISTINCT one
#   C1  ... a CHECK or NOT NULL constraint of the receiving table: named
#       (constraint_violation), not an insert failure retried forever
#   V1  a row kept out of the chain index (superuser behind the guards, index
#       maintenance switched off), then updated in place (a heap-only tuple):
#       verify() names it (not_in_chain_index); V2 an in-place update of an
#       indexed row is a hash_mismatch, not a row outside the index
#   B0  verify() by a superuser re-checks batches reading as the owner (the
#       owner's index predicate function runs as the owner)
#   B1  a batch row changed behind the guards: verify() re-checks the batch
#       over all its rows (batch_root_mismatch)
#   B3  an owner's forced RLS policy cannot hide a row riding on a batch
#   B4  a batch of 2,500 rows (more than one fetch) verifies; one row short
#       is refused at commit
#   K1  a chain key under a nondeterministic collation (two spellings, one
#       chain to the cache, the index and verify(), two to the bytes):
#       refused by enable_ledger(), also in an array of a domain
#   K2  a residual: numeric 1.0 and 1.00 are one chain, consistently
#   S1  verify()'s slices of 262,144 index entries: a changed row and a gap
#       at the slice edge are named
#   L1  one seal() of more than 262,144 rows (seal()'s deferred hash entries
#       flushed mid-way): every leaf found through log_leaf_row; L2 clean
#   P1  a plain role may execute none of the passport's internals
# On eaa4cbb (0.7.0's code) U1, U2, C1 (twice), V1, V2 and K1 (twice) FAIL;
# with r8's fixes none does.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
FAILS=0
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }
check() {
  local got; got=$(q -c "$2" 2>&1)
  if [ "$got" = t ]; then ok "$1"; else fail "$1" "$got${3:+ | $(q -c "$3" 2>&1 | tr '\n' ' ')}"; fi
}
bl_scratch
bl_start_cluster r8 56121 "$(bl_test_log_conf r8.test/redteam)"
createdb reg
q() { timeout 120 psql -X -q -At -v ON_ERROR_STOP=1 -d reg "$@"; }
qo() { timeout 120 psql -X -q -At -v ON_ERROR_STOP=1 -d reg -U owner "$@"; }
q <<'SQL' >/dev/null
CREATE EXTENSION battledger;
CREATE ROLE owner LOGIN;
GRANT CREATE ON SCHEMA public TO owner;
GRANT USAGE ON SCHEMA battledger TO owner;
SQL

# --- U: the arrival check's unique probes (a replicated row, as the apply
# worker stores it: session_replication_role = replica, the row's own chain
# fields; origin b.example/log)
q <<'SQL' >/dev/null
SET search_path = public, battledger;
CREATE TABLE tagged (battery text, tag text, code text);
SELECT enable_ledger('tagged', 'battery');
ALTER TABLE tagged ADD CONSTRAINT tagged_tag_deferred UNIQUE (tag) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE tagged ADD CONSTRAINT tagged_code_excl EXCLUDE USING btree (code WITH =);
CREATE FUNCTION public.t_row(b text, tag text, code text) RETURNS tagged LANGUAGE plpgsql AS $$
DECLARE r tagged := jsonb_populate_record(NULL::tagged, jsonb_build_object('battery', b, 'tag', tag, 'code', code));
BEGIN
    r.ledger_origin := 'b.example/log'; r.ledger_seq := 1; r.ledger_prev := repeat('0', 64)::battledger.hash256;
    r.ledger_hash := battledger.chain_hash(r.ledger_prev, 1, battledger.row_bytes(r));
    RETURN r;
END $$;
INSERT INTO tagged (battery, tag, code) VALUES ('L1', 'x', 'c1');
SQL
arrive() {  # arrive "ROW ARGS": the row stored as the apply worker would, in its own transaction
  q 2>&1 <<SQL
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO public.tagged SELECT (public.t_row($1)).*;
COMMIT;
SQL
}
named() { q -c "SELECT count(*) > 0 FROM battledger.rejections WHERE tbl = 'public.tagged' AND problem = 'unique_conflict' AND row_data->>'battery' = '$1'"; }
got=$(arrive "'R1', 'x', 'c9'")
if [ "$(named R1)" = t ]; then ok U1-deferrable-unique-named
else fail U1-deferrable-unique-named "arrival: ${got:-stored}"; fi
got=$(arrive "'R2', 'y', 'c1'")
if [ "$(named R2)" = t ]; then ok U2-exclusion-named
else fail U2-exclusion-named "arrival: ${got:-stored}"; fi
# warm the cache in one session, add an index from another, then arrive in the first
got=$(q 2>&1 <<'SQL'
SET search_path = public, battledger;
BEGIN; SET LOCAL session_replication_role = replica;
INSERT INTO tagged SELECT (t_row('W1', 'w1', 'cw1')).*;
COMMIT;
\! psql -X -q -d reg -c "CREATE UNIQUE INDEX tagged_lower ON public.tagged (lower(code)) WHERE code <> 'zz'"
BEGIN; SET LOCAL session_replication_role = replica;
INSERT INTO tagged SELECT (t_row('W2', 'w2', 'CW1')).*;
COMMIT;
SQL
)
if [ "$(named W2)" = t ]; then ok U3-new-index-after-warm-cache; else fail U3-new-index-after-warm-cache "${got:-stored}"; fi
q -c "CREATE UNIQUE INDEX tagged_code_nn ON public.tagged (code, tag) NULLS NOT DISTINCT" >/dev/null
got=$(arrive "'N1', NULL, NULL")
got2=$(arrive "'N2', NULL, NULL")
if [ "$(named N2)" = t ]; then ok U5-nulls-not-distinct; else fail U5-nulls-not-distinct "${got2:-stored}"; fi
got=$(arrive "'P1', 'p1', 'zz'"); got=$(arrive "'P2', 'p2', 'ZZ'")
# lower('ZZ') = 'zz', but P1 (code 'zz') is outside the partial index: no conflict
if [ "$(named P2)" = f ]; then ok U4-partial-index-predicate; else fail U4-partial-index-predicate "P2 named though P1 is outside the index"; fi
check U-arrivals-verify "SELECT count(*) = 0 FROM battledger.verify('public.tagged')" "SELECT string_agg(concat_ws(' ', v.*), '; ') FROM battledger.verify('public.tagged') v"

# C1: a row breaking a CHECK constraint (or a NOT NULL) of the receiving
# table: the insert fails after the arrival check, and the apply worker
# retries it forever, unnamed (a member's superuser can drop the constraint
# at home and send such rows)
q <<'SQL' >/dev/null
SET search_path = public, battledger;
CREATE TABLE checked (battery text, soh int CHECK (soh BETWEEN 0 AND 100), note text NOT NULL);
SELECT enable_ledger('checked', 'battery');
CREATE FUNCTION public.c_row(b text, soh int, note text) RETURNS checked LANGUAGE plpgsql AS $$
DECLARE r checked := jsonb_populate_record(NULL::checked, jsonb_build_object('battery', b, 'soh', soh, 'note', note));
BEGIN
    r.ledger_origin := 'b.example/log'; r.ledger_seq := 1; r.ledger_prev := repeat('0', 64)::battledger.hash256;
    r.ledger_hash := battledger.chain_hash(r.ledger_prev, 1, battledger.row_bytes(r));
    RETURN r;
END $$;
SQL
carrive() {
  q 2>&1 <<SQL
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO public.checked SELECT (public.c_row($1)).*;
COMMIT;
SQL
}
cnamed() { q -c "SELECT string_agg(problem, ',') FROM battledger.rejections WHERE tbl = 'public.checked' AND row_data->>'battery' = '$1'"; }
got=$(carrive "'C1', 150, 'x'")
if [ "$(cnamed C1)" = constraint_violation ]; then ok C1-check-constraint-named; else fail C1-check-constraint-named "arrival: ${got:-stored}"; fi
got=$(carrive "'C2', 50, NULL")
if [ "$(cnamed C2)" = constraint_violation ]; then ok C1-not-null-named; else fail C1-not-null-named "arrival: ${got:-stored}"; fi
got=$(carrive "'C3', 50, 'x'")
check C1-valid-row-stored "SELECT count(*) = 1 FROM public.checked WHERE battery = 'C3'" "SELECT '${got//\'/}'"

# --- V: verify()'s count of rows the chain index does not hold (0.7.0).
# A member's superuser, behind the guards, adds a row the chain index does
# not hold (a second row at B1's position 3), then updates it in place: the
# new version is a heap-only tuple (HOT), which check_unindexed() passed
# over as "reached through its chain's entry" - but no entry leads to it.
q <<'SQL' >/dev/null
SET search_path = public, battledger;
CREATE TABLE hid (battery text, v int);
SELECT enable_ledger('hid', 'battery');
INSERT INTO hid SELECT 'B' || (i % 3), i FROM generate_series(1, 30) i;
CREATE TABLE hid2 (LIKE hid);
SQL
check V0-clean "SELECT count(*) = 0 FROM battledger.verify('public.hid')"
q <<'SQL' >/dev/null
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
UPDATE pg_index SET indisready = false WHERE indexrelid = 'public.hid_ledger_chain'::regclass;
ALTER TABLE public.hid DISABLE TRIGGER ALL;
INSERT INTO public.hid SELECT battery, 999, ledger_seq, ledger_prev, ledger_hash, ledger_origin
  FROM public.hid WHERE battery = 'B1' AND ledger_seq = 3;
UPDATE pg_index SET indisready = true WHERE indexrelid = 'public.hid_ledger_chain'::regclass;
UPDATE public.hid SET v = 998 WHERE v = 999;
ALTER TABLE public.hid ENABLE TRIGGER ALL;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
check V1-hot-row-outside-the-index-is-heap-only "SELECT (SELECT ctid FROM public.hid WHERE v = 998) NOT IN (SELECT ctid FROM public.hid WHERE v <> 998)"
check V1-hot-row-outside-the-index-named "SELECT count(*) = 1 FROM battledger.verify('public.hid') WHERE problem = 'not_in_chain_index' AND seq = 3" \
  "SELECT coalesce(string_agg(concat_ws(' ', v.*), '; '), 'verify(): nothing') FROM battledger.verify('public.hid') v"
# and the legitimate HOT case stays clean: an in-place update of an indexed
# row behind the guards is a hash_mismatch, not "outside the index"
q <<'SQL' >/dev/null
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE public.hid DISABLE TRIGGER ALL;
UPDATE public.hid SET v = -v WHERE battery = 'B2' AND ledger_seq = 4;
ALTER TABLE public.hid ENABLE TRIGGER ALL;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
check V2-hot-update-of-indexed-row "SELECT array_agg(problem ORDER BY problem)::text = '{hash_mismatch,not_in_chain_index}' FROM battledger.verify('public.hid')" \
  "SELECT string_agg(concat_ws(' ', v.*), '; ') FROM battledger.verify('public.hid') v"

# --- B: batch-signed rows.  The table belongs to a non-superuser owner, whose
# partial index's predicate calls its own function, folded when a query on
# the table is planned (PostgreSQL keeps the folded predicate per backend):
# it notes the role it ran as.  A superuser's verify() re-checks batches by
# reading the rows as the owner, so the owner's code must run as the owner.
q <<'SQL' >/dev/null
CREATE EXTENSION battledger_test_signer;
SET search_path = public, battledger, battledger_test;
SELECT add_member('m.test', ARRAY['oem']);
SELECT add_key('m.test', public_key(seed('m-1')));
GRANT USAGE ON SCHEMA battledger_test TO owner;
SQL
qo <<'SQL' >/dev/null
SET search_path = public, battledger, battledger_test;
CREATE TABLE tel (battery text, cycle int, cap numeric);
SELECT enable_ledger('tel', 'battery', signed => true, signer_roles => ARRAY['oem']);
CREATE FUNCTION public.who_plans(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM pg_catalog.set_config('r8.ran_as', coalesce(pg_catalog.current_setting('r8.ran_as', true), '') || current_user || ' ', false);
  RETURN true;
END $$;
CREATE INDEX tel_owner_pred ON tel (cycle) WHERE public.who_plans('x');
SQL
q <<'SQL' >/dev/null
SET search_path = public, battledger, battledger_test;
CREATE FUNCTION public.tel_rows(id text, n int) RETURNS SETOF public.tel LANGUAGE sql AS $$
  SELECT jsonb_populate_record(NULL::public.tel, jsonb_build_object('battery', 'B' || (i % 7), 'cycle', i,
           'cap', 1.8 + i / 100000.0, 'ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed('m-1')))::text,
           'ledger_batch', id))
    FROM generate_series(1, n) i $$;
CREATE FUNCTION public.tel_batch(id text, n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE root battledger.hash256 := battledger.batch_root(ARRAY(SELECT sha256(battledger.signing_bytes(r))::battledger.hash256 FROM public.tel_rows(id, n) r));
BEGIN
  INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
  VALUES (id, 'public.tel', battledger.key_id(battledger_test.public_key(battledger_test.seed('m-1'))), n, root,
          battledger_test.sign(battledger_test.seed('m-1'), battledger.batch_manifest('public.tel', id, n, root)));
END $$;
SQL
# B4: a batch of 2,500 rows (more than one fetch of the commit-time re-read)
got=$(q 2>&1 <<'SQL'
BEGIN;
SELECT public.tel_batch('big', 2500);
INSERT INTO public.tel SELECT * FROM public.tel_rows('big', 2500);
COMMIT;
SQL
)
check B0-big-batch-committed "SELECT count(*) = 2500 FROM public.tel" "SELECT '${got//\'/}'"
got=$(q -c "SELECT count(*) FROM battledger.verify('public.tel')" -c "SELECT rtrim(current_setting('r8.ran_as', true))" 2>&1)
if [ "$got" = "0
owner" ]; then ok B0-verify-runs-owner-code-as-owner; else fail B0-verify-runs-owner-code-as-owner "$got"; fi
check B4-big-batch-verifies "SELECT count(*) = 0 FROM battledger.verify('public.tel')" \
  "SELECT string_agg(concat_ws(' ', v.*), '; ') FROM battledger.verify('public.tel') v"
# B4: one row too few, one too many, in a batch past one fetch: refused at commit
got=$(q 2>&1 <<'SQL'
BEGIN;
SELECT public.tel_batch('big2', 2500);
INSERT INTO public.tel SELECT * FROM public.tel_rows('big2', 2499);
COMMIT;
SQL
)
if grep -q "batch_incomplete" <<<"$got"; then ok B4-big-batch-short-refused; else fail B4-big-batch-short-refused "${got:-committed}"; fi
# B3: the owner forces a policy hiding the last row of a batch from itself:
# the commit-time check must not miss it (it fails instead)
qo -c "ALTER TABLE public.tel ENABLE ROW LEVEL SECURITY; ALTER TABLE public.tel FORCE ROW LEVEL SECURITY;
       CREATE POLICY hide_one ON public.tel USING (cap <> 9.99); CREATE POLICY ins ON public.tel FOR INSERT WITH CHECK (true)" >/dev/null
got=$(q 2>&1 <<'SQL'
BEGIN;
SELECT public.tel_batch('rls', 3);
INSERT INTO public.tel SELECT * FROM public.tel_rows('rls', 3);
-- an extra row riding on the batch, hidden from the owner by the policy
INSERT INTO public.tel (battery, cycle, cap, ledger_key_id, ledger_batch)
  SELECT battery, 3, 9.99, ledger_key_id, ledger_batch FROM public.tel_rows('rls', 3) WHERE cycle = 3;
COMMIT;
SQL
)
if grep -q "row-level security" <<<"$got" && [ "$(q -c "SELECT count(*) FROM battledger.batch WHERE batch_id = 'rls'")" = 0 ]; then ok B3-owner-policy-cannot-hide-a-row
else fail B3-owner-policy-cannot-hide-a-row "${got:-committed}"; fi
qo -c "ALTER TABLE public.tel NO FORCE ROW LEVEL SECURITY; ALTER TABLE public.tel DISABLE ROW LEVEL SECURITY" >/dev/null
# B1: a member's superuser changes one row of the big batch behind the guards,
# re-chaining it so that only the batch's signature can tell: verify()
# re-reads the whole batch (batch_root_mismatch)
q <<'SQL' >/dev/null
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE public.tel DISABLE TRIGGER ALL;
UPDATE public.tel SET cap = 0.5 WHERE ledger_batch = 'big' AND cycle = 2400;
ALTER TABLE public.tel ENABLE TRIGGER ALL;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
check B1-changed-batch-row "SELECT bool_or(problem = 'batch_root_mismatch') FROM battledger.verify('public.tel')" \
  "SELECT string_agg(concat_ws(' ', v.*), '; ') FROM battledger.verify('public.tel') v"

# --- K: custom chain keys.  A non-superuser cannot give a type its own hash
# or equality (CREATE OPERATOR CLASS needs a superuser), but it can give a
# text chain key a nondeterministic collation: 'A' and 'a' are then one key
# to the chain head cache, the chain index and verify(), while the rows'
# bytes, and so every external reader (a consortium member's filter, an
# auditor's export grouped by key), say two.
got=$(qo 2>&1 <<'SQL'
SET search_path = public, battledger;
CREATE COLLATION public.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE kci (battery text COLLATE public.ci, v int);
SELECT enable_ledger('kci', 'battery');
SQL
)
if grep -q "ERROR" <<<"$got"; then ok K1-nondeterministic-chain-key-refused
else
  qo -c "INSERT INTO public.kci VALUES ('A', 1); INSERT INTO public.kci VALUES ('a', 2)" >/dev/null 2>&1
  fail K1-nondeterministic-chain-key-refused "enable_ledger accepted it; rows: $(q -c "SELECT string_agg(battery || ':' || ledger_seq, ' ' ORDER BY v) FROM public.kci")"
fi
# ... also inside a type: an array of a domain; a composite (no canonical
# encoding: refused as a column of any ledger table)
got=$(qo 2>&1 <<'SQL'
SET search_path = public, battledger;
CREATE DOMAIN public.cid AS text COLLATE public.ci;
CREATE TYPE public.cpair AS (a int, b public.cid);
CREATE TABLE kci2 (battery public.cid[], v int);
SELECT enable_ledger('kci2', 'battery');
SQL
)
if grep -q "nondeterministic collation" <<<"$got"; then ok K1-nondeterministic-array-key-refused; else fail K1-nondeterministic-array-key-refused "${got:-accepted}"; fi
got=$(qo 2>&1 <<'SQL'
SET search_path = public, battledger;
CREATE TABLE kci3 (battery public.cpair, v int);
SELECT enable_ledger('kci3', 'battery');
SQL
)
if grep -q "nondeterministic collation\|unsupported type" <<<"$got"; then ok K1-nondeterministic-composite-key-refused; else fail K1-nondeterministic-composite-key-refused "${got:-accepted}"; fi
# a deterministic collation other than the default stays accepted
got=$(qo 2>&1 <<'SQL'
SET search_path = public, battledger;
CREATE TABLE kc (battery text COLLATE "C", v int);
SELECT enable_ledger('kc', 'battery');
INSERT INTO kc VALUES ('A', 1), ('a', 2);
SQL
)
check K1-deterministic-key-accepted "SELECT string_agg(battery || ':' || ledger_seq, ' ' ORDER BY v) = 'A:1 a:1' FROM public.kc" "SELECT '${got//\'/}'"

# K2 (a residual, docs/security.md): a type whose equality is coarser than
# its text, numeric 1.0 = 1.00, groups both spellings into one chain, the
# same way in the chain head cache and in verify() (which stays clean)
q <<'SQL' >/dev/null
CREATE TABLE public.knum (k numeric, v int);
SELECT battledger.enable_ledger('public.knum', 'k');
INSERT INTO public.knum VALUES (1.0, 1);
INSERT INTO public.knum VALUES (1.00, 2);
SQL
check K2-coarse-equality-one-chain-consistently "SELECT string_agg(k::text || ':' || ledger_seq, ' ' ORDER BY v) = '1.0:1 1.00:2'
   AND (SELECT count(*) = 0 FROM battledger.verify('public.knum')) FROM public.knum" \
  "SELECT string_agg(k::text || ':' || ledger_seq, ' ' ORDER BY v) FROM public.knum"

# --- S: verify() reads the chain index in slices of 262,144 entries
# (VERIFY_BATCH in src/pg/verify.c), fetching each slice's rows in heap
# order: rows on both sides of a slice's edge are checked, and the chain's
# state carries across it.  One chain of 262,150 rows; behind the guards a
# member's superuser changes row 262,144 (the last of the first slice) and
# deletes row 262,146 (the second of the next).
q <<'SQL' >/dev/null
CREATE TABLE public.big (v int);
SELECT battledger.enable_ledger('public.big');
INSERT INTO public.big SELECT i FROM generate_series(1, 262150) i;
SQL
check S0-big-clean "SELECT count(*) = 0 FROM battledger.verify('public.big')"
# L: one seal() of more than 262,144 rows fills seal()'s buffer of deferred
# hash index entries (HASH_DEFERRED_MAX in src/pg/log_bulk.c) more than once:
# every leaf must still be found through log_leaf_row, as a lookup by row
# hash does (an index scan forced for each leaf)
q -c "SELECT battledger.seal() IS NOT NULL" >/dev/null
LQ="SELECT count(*) FROM battledger.log_leaf a
     WHERE EXISTS (SELECT 1 FROM battledger.log_leaf b WHERE b.row_hash OPERATOR(battledger.=) a.row_hash AND b.ctid = a.ctid)"
export PGOPTIONS="-c enable_seqscan=off -c enable_bitmapscan=off -c enable_tidscan=off -c enable_hashjoin=off -c enable_mergejoin=off"
plan=$(q -c "EXPLAIN (COSTS OFF) $LQ" 2>&1)
found=$(q -c "$LQ" 2>&1)
unset PGOPTIONS
leaves=$(q -c "SELECT count(*) FROM battledger.log_leaf")
if grep -q "Index Scan using log_leaf_row" <<<"$plan" && [ "$found" = "$leaves" ] && [ "$leaves" -gt 262150 ]; then ok L1-every-leaf-indexed
else fail L1-every-leaf-indexed "leaves $leaves, found through log_leaf_row $found; plan: $(tr '\n' ' ' <<<"$plan")"; fi
# (the earlier steps' tampering is named too: only public.big's rows count here)
check L2-verify-log-big-clean "SELECT count(*) = 0 FROM battledger.verify_log(true) v WHERE v.detail LIKE '%\"public.big\"%'" \
  "SELECT string_agg(concat_ws(' ', v.*), '; ') FROM (SELECT * FROM battledger.verify_log(true) v WHERE v.detail LIKE '%\"public.big\"%' LIMIT 5) v"
q <<'SQL' >/dev/null
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE public.big DISABLE TRIGGER ALL;
UPDATE public.big SET v = -v WHERE ledger_seq = 262144;
DELETE FROM public.big WHERE ledger_seq = 262146;
ALTER TABLE public.big ENABLE TRIGGER ALL;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
check S1-slice-edge "SELECT array_agg(seq || ' ' || problem ORDER BY seq, problem)::text = '{\"262144 hash_mismatch\",\"262147 missing_rows\"}' FROM battledger.verify('public.big')" \
  "SELECT string_agg(concat_ws(' ', v.*), '; ') FROM battledger.verify('public.big') v"

# --- P: the passport's generic plans (0.7.0).  force_generic_plan is set on
# _passport(), which runs as the extension's owner under the tier functions;
# a plain role may run none of the internals directly, and the public tier
# gives a plain role the same answer as the owner's own call.
q -c "CREATE ROLE plain LOGIN" >/dev/null
check P1-plain-no-internals "SELECT coalesce(string_agg(p.oid::regprocedure::text, ', '), '') = ''
   FROM pg_proc p WHERE p.pronamespace = 'battledger'::regnamespace
    AND p.proname IN ('_passport', '_passport_source', '_passport_second_life', '_passport_legitimate_interest', '_passport_authority', '_battery_state_read')
    AND has_function_privilege('plain', p.oid, 'EXECUTE')" \
  "SELECT string_agg(p.oid::regprocedure::text, ', ') FROM pg_proc p WHERE p.pronamespace = 'battledger'::regnamespace
    AND p.proname LIKE '\_passport%' AND has_function_privilege('plain', p.oid, 'EXECUTE')"

echo "FAILS=$FAILS"
exit $FAILS
