#!/usr/bin/env bash
# rt27d (0.27.0 cycle, main 6c7c6e9): red team of 0.27.0's batch commit
# re-read (5a50b11, d1dcf52, 09fad99: each row hashed as the executor returns
# it, a DestReceiver given to SPI_execute_plan_extended) and of the batch
# root's merge sort (d95a13c, 39d8d36, fce27aa).  FAIL = an open hole, ok =
# holds.  One cluster on RT27D_PORT (default 58450).  Roles: "owner" owns
# the signed table public.tel (no superuser, CREATE on the database), "app"
# may only INSERT into it (a member's application, its rules on).
#  F1  a table owner commits rows riding unsigned on a signed batch: it
#      builds a GIN index on ledger_batch (btree_gin, a trusted extension),
#      and sets gin_fuzzy_search_limit = 1, under which a GIN scan returns a
#      random subset of its matches.  The re-read (planned, as the owner, on
#      the index) saw only some rows: one signed row and one unsigned one
#      committed in about one try in four, the batch's count and root met.
#      30 tries must commit none.
#  F2  the same by "app" (INSERT only) once such an index exists.
#  F3  verify() run in a session with gin_fuzzy_search_limit = 1 names a
#      batch's extra rows (written behind the triggers, as a member's
#      superuser would): it reads them with the same query.
#  M1  memory: the batch's content hashes (32 bytes a row) were left in the
#      caller's context, the commit check's for every batch of the
#      transaction and verify()'s for every batch of the table.  40 batches
#      of 5,000 rows committed in one transaction: the backend's peak grew
#      by 5.8 MB at COMMIT (6.4 MB of hashes); must be < 2 MB.
#  G   guards, which held on main: G1 rows lost to ROLLBACK TO SAVEPOINT,
#      G2 a batch filed in a savepoint rolled back, G3 a duplicated row,
#      G4 exact batches by COPY, INSERT ... SELECT, a writable CTE and a
#      PL/pgSQL loop accepted, G5 one changed row by each refused, G6 NULL
#      columns, G7 equal content hashes (merge sort ties) and odd counts,
#      G8 an extra row from a trigger on another table and from a deferred
#      constraint trigger, G9 a forced RLS policy hiding the extra row,
#      G10 planner settings (enable_*, jit, work_mem) at the plan's first
#      use, G11 the commit of a batch (5,000 rows of 60,000-digit
#      numerics) cancelled during its re-read: nothing committed, the
#      table's next batch accepted, G12 DDL between rows and commit refused,
#      G13 an extra row from a WITH HOLD cursor run at COMMIT, G14 the merge
#      sort on 1,000,001 hashes with ties, in four orders.
# Results, PostgreSQL 15, 2026-12-07, main 6c7c6e9: FAIL F1 (9 of 30 tries
# committed a 1-row batch with 2 rows), F2 (6 of 30), F3 (verify() named
# no batch_extra_rows), M1 (5,720 kB); every G ok.  Fixed on branch rt27d
# (bl_spi_connect() pins gin_fuzzy_search_limit = 0, the hashes freed
# after the root): 0 FAILs, about 90 s.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/redteam.sh"

bl_scratch
bl_start_cluster rt27d "${RT27D_PORT:-58450}" "$(bl_test_log_conf rt27d.test/redteam)"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d bl "$@"; }
# the SQLSTATE a script (stdin) fails with, or "ok"
err() {
  if psql -X -q -At -d bl -v ON_ERROR_STOP=1 -c "\\set VERBOSITY verbose" -f - >/dev/null 2>"$BL_WORK/err"; then echo ok; return; fi
  sed -n 's/^.*ERROR: *\([A-Z0-9]\{5\}\): .*/\1/p' "$BL_WORK/err" | head -1
}
rows() { q -c "SELECT count(*) FROM public.tel WHERE ledger_batch = '$1'"; }

createdb bl
q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
SELECT battledger.add_member('tel.example', ARRAY['fleet_operator']);
SELECT battledger.add_key('tel.example', battledger_test.public_key(battledger_test.seed('tel-1')));
CREATE ROLE owner LOGIN;
CREATE ROLE app LOGIN;
GRANT CREATE ON DATABASE bl TO owner;
GRANT CREATE ON SCHEMA public TO owner;
GRANT USAGE ON SCHEMA battledger_test TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA battledger_test TO PUBLIC;   -- TEST ONLY: the signer
SET ROLE owner;
CREATE TABLE public.tel (battery text, n int, v text, d numeric);
RESET ROLE;
SELECT battledger.enable_ledger('public.tel', 'battery', signed => true, signer_roles => ARRAY['fleet_operator']);
GRANT INSERT ON public.tel TO app;
-- row i of batch id (content: battery B<i % 3>, n = i, v = 'x', d = i / 7)
CREATE FUNCTION public.trow(id text, i int, v text DEFAULT 'x') RETURNS public.tel LANGUAGE sql AS $$
  SELECT jsonb_populate_record(NULL::public.tel, jsonb_build_object('battery', 'B' || (i % 3), 'n', i, 'v', v, 'd', i / 7.0,
     'ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed('tel-1')))::text, 'ledger_batch', id)) $$;
-- files batch id signed for rows 1..n of trow() (or for rows given)
CREATE FUNCTION public.file_rows(id text, r public.tel[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE root battledger.hash256 := battledger.batch_root(ARRAY(SELECT pg_catalog.sha256(battledger.signing_bytes(x))::battledger.hash256 FROM unnest(r) x));
BEGIN
  INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
  VALUES (id, 'public.tel', battledger.key_id(battledger_test.public_key(battledger_test.seed('tel-1'))), cardinality(r), root,
          battledger_test.sign(battledger_test.seed('tel-1'), battledger.batch_manifest('public.tel', id, cardinality(r), root)));
END $$;
CREATE FUNCTION public.file_batch(id text, n int) RETURNS void LANGUAGE sql AS $$
  SELECT public.file_rows(id, ARRAY(SELECT public.trow(id, i) FROM generate_series(1, n) i)) $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO PUBLIC;
SQL

# ------------------------------------------------------------------ G
check "G1 rows lost to ROLLBACK TO SAVEPOINT: refused (BL021)" "$(err <<'SQL'
BEGIN;
SELECT file_batch('g1', 3);
INSERT INTO tel SELECT (trow('g1', 1)).*;
SAVEPOINT s;
INSERT INTO tel SELECT (trow('g1', i)).* FROM generate_series(2, 3) i;
ROLLBACK TO SAVEPOINT s;
COMMIT;
SQL
)|$(rows g1)" "BL021|0"
check "G2 a batch filed in a savepoint rolled back, its rows after: refused (BL020)" "$(err <<'SQL'
BEGIN;
SAVEPOINT s;
SELECT file_batch('g2', 2);
ROLLBACK TO SAVEPOINT s;
SAVEPOINT t;
SELECT file_batch('g2', 2);
RELEASE SAVEPOINT t;
SAVEPOINT u;
INSERT INTO tel SELECT (trow('g2', i)).* FROM generate_series(1, 2) i;
ROLLBACK TO SAVEPOINT u;
INSERT INTO tel SELECT (trow('g2', i)).* FROM generate_series(1, 2) i;
INSERT INTO tel SELECT (trow('g2', 2)).*;
COMMIT;
SQL
)|$(rows g2)" "BL021|0"
check "G3 a row of the batch inserted twice: refused (BL021)" "$(err <<'SQL'
BEGIN;
SELECT file_batch('g3', 2);
INSERT INTO tel SELECT (trow('g3', i)).* FROM generate_series(1, 2) i;
INSERT INTO tel SELECT (trow('g3', 1)).*;
COMMIT;
SQL
)|$(rows g3)" "BL021|0"
# G4/G5: the rows by COPY, INSERT ... SELECT, a writable CTE, a PL/pgSQL loop
q -c "COPY (SELECT (trow('g4c', i)).* FROM generate_series(1, 5) i) TO STDOUT" > "$BL_WORK/g4c.copy"
q -c "COPY (SELECT (trow('g5c', i, CASE WHEN i = 4 THEN 'y' ELSE 'x' END)).* FROM generate_series(1, 5) i) TO STDOUT" > "$BL_WORK/g5c.copy"
chmod 644 "$BL_WORK"/*.copy
way() {  # way ID KIND: the statements inserting rows 1..5 of batch ID, row 4's v = $3
  local v=${3:-x}
  case $2 in
    copy) echo "\\copy tel FROM '$BL_WORK/${1}.copy'" ;;
    select) echo "INSERT INTO tel SELECT (trow('$1', i, CASE WHEN i = 4 THEN '$v' ELSE 'x' END)).* FROM generate_series(1, 5) i;" ;;
    cte) echo "WITH w AS (INSERT INTO tel SELECT (trow('$1', i, CASE WHEN i = 4 THEN '$v' ELSE 'x' END)).* FROM generate_series(1, 5) i RETURNING 1) SELECT count(*) FROM w;" ;;
    loop) echo "DO \$\$ BEGIN FOR i IN 1..5 LOOP INSERT INTO tel SELECT (trow('$1', i, CASE WHEN i = 4 THEN '$v' ELSE 'x' END)).*; END LOOP; END \$\$;" ;;
  esac
}
g4=""; g5=""
for k in c s w l; do
  kind=$(case $k in c) echo copy ;; s) echo select ;; w) echo cte ;; l) echo loop ;; esac)
  g4="$g4 $(printf 'BEGIN;\nSELECT file_batch(%s, 5);\n%s\nCOMMIT;\n' "'g4$k'" "$(way "g4$k" "$kind")" | err):$(rows g4$k)"
  g5="$g5 $(printf 'BEGIN;\nSELECT file_batch(%s, 5);\n%s\nCOMMIT;\n' "'g5$k'" "$(way "g5$k" "$kind" y)" | err):$(rows g5$k)"
done
check "G4 exact batches by COPY, INSERT ... SELECT, writable CTE, PL/pgSQL loop: accepted" "$g4" " ok:5 ok:5 ok:5 ok:5"
check "G5 the same with one value changed: each refused (BL021)" "$g5" " BL021:0 BL021:0 BL021:0 BL021:0"
check "G6 NULL columns: accepted as signed, a NULL made a value refused" "$(err <<'SQL'
BEGIN;
SELECT file_rows('g6', ARRAY[trow('g6', 1, NULL), trow('g6', 2)]);
INSERT INTO tel SELECT (trow('g6', 1, NULL)).*;
INSERT INTO tel SELECT (trow('g6', 2)).*;
COMMIT;
SQL
) $(err <<'SQL'
BEGIN;
SELECT file_rows('g6b', ARRAY[trow('g6b', 1, NULL), trow('g6b', 2)]);
INSERT INTO tel SELECT (trow('g6b', 1, '')).*;
INSERT INTO tel SELECT (trow('g6b', 2)).*;
COMMIT;
SQL
)" "ok BL021"
# G7: the same content hash many times (ties in the merge sort), odd counts
g7=""
for n in 1 3 7 33; do
  g7="$g7 $(printf "BEGIN;\nSELECT file_rows('g7-%s', array_fill(trow('g7-%s', 1), ARRAY[%s]));\nINSERT INTO tel SELECT (trow('g7-%s', 1)).* FROM generate_series(1, %s);\nCOMMIT;\n" $n $n $n $n $n | err)"
  g7="$g7 $(printf "BEGIN;\nSELECT file_rows('g7x-%s', array_fill(trow('g7x-%s', 1), ARRAY[%s]) || trow('g7x-%s', 2));\nINSERT INTO tel SELECT (trow('g7x-%s', 1)).* FROM generate_series(1, %s + 1);\nCOMMIT;\n" $n $n $n $n $n $n | err)"
done
check "G7 n equal rows signed and inserted accepted; n+1 of them for n equal + 1 other refused" "$g7" \
  " ok BL021 ok BL021 ok BL021 ok BL021"
q >/dev/null <<'SQL'
SET ROLE owner;
CREATE TABLE public.other (id text);
CREATE FUNCTION public.other_adds() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.tel SELECT (public.trow(NEW.id, 99)).*; RETURN NEW; END $$;
CREATE TRIGGER other_adds AFTER INSERT ON public.other FOR EACH ROW EXECUTE FUNCTION public.other_adds();
CREATE TABLE public.other_late (id text);
CREATE CONSTRAINT TRIGGER late_adds AFTER INSERT ON public.other_late DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION public.other_adds();
GRANT INSERT ON public.other, public.other_late TO app;
SQL
check "G8 an extra row from another table's trigger / a deferred constraint trigger: refused (BL021)" "$(err <<'SQL'
SET ROLE app;
BEGIN;
SELECT file_batch('g8', 2);
INSERT INTO tel SELECT (trow('g8', i)).* FROM generate_series(1, 2) i;
INSERT INTO other VALUES ('g8');
COMMIT;
SQL
) $(err <<'SQL'
SET ROLE app;
BEGIN;
SELECT file_batch('g8b', 2);
INSERT INTO other_late VALUES ('g8b');
INSERT INTO tel SELECT (trow('g8b', i)).* FROM generate_series(1, 2) i;
COMMIT;
SQL
)|$(rows g8)|$(rows g8b)" "BL021 BL021|0|0"
q >/dev/null <<'SQL'
SET ROLE owner;
ALTER TABLE public.tel ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.tel FORCE ROW LEVEL SECURITY;
CREATE POLICY hide_extra ON public.tel USING (n < 50) WITH CHECK (true);
SQL
g9="$(err <<'SQL'
SET ROLE owner;
BEGIN;
SELECT file_batch('g9', 2);
INSERT INTO tel SELECT (trow('g9', i)).* FROM generate_series(1, 2) i;
INSERT INTO tel SELECT (trow('g9', 77)).*;
COMMIT;
SQL
)|$(rows g9)"
q >/dev/null -c "SET ROLE owner" -c "ALTER TABLE public.tel NO FORCE ROW LEVEL SECURITY" -c "ALTER TABLE public.tel DISABLE ROW LEVEL SECURITY" -c "DROP POLICY hide_extra ON public.tel"
check "G9 a forced RLS policy hiding the extra row from the re-read: not committed" "${g9#*|}" "0"
check "G10 planner settings at the plan's first use: the extra row refused (BL021)" "$(err <<'SQL'
SET ROLE app;
SET enable_seqscan = off; SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;
SET jit = on; SET jit_above_cost = 0; SET work_mem = '64kB'; SET plan_cache_mode = force_custom_plan;
BEGIN;
SELECT file_batch('g10', 2);
INSERT INTO tel SELECT (trow('g10', i)).* FROM generate_series(1, 3) i;
COMMIT;
SQL
)|$(rows g10)" "BL021|0"
# G11: cancel the commit of a batch while it re-reads: 5,000 rows, each a
# numeric of 60,000 digits (its text form is in the signing bytes: about
# 0.3 ms a row, so the re-read takes seconds)
psql -X -q -d bl -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE public.big (battery text, n int);
SELECT battledger.enable_ledger('public.big', 'battery', signed => true, signer_roles => ARRAY['fleet_operator']);
CREATE TABLE public.slow (battery text, x numeric);
SELECT battledger.enable_ledger('public.slow', 'battery', signed => true, signer_roles => ARRAY['fleet_operator']);
CREATE FUNCTION public.brow(id text, i int) RETURNS public.big LANGUAGE sql AS $$
  SELECT jsonb_populate_record(NULL::public.big, jsonb_build_object('battery', 'B' || (i % 50), 'n', i,
     'ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed('tel-1')))::text, 'ledger_batch', id)) $$;
CREATE FUNCTION public.file_big(id text, n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE root battledger.hash256 := battledger.batch_root(ARRAY(SELECT pg_catalog.sha256(battledger.signing_bytes(public.brow(id, i)))::battledger.hash256 FROM generate_series(1, n) i));
BEGIN
  INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
  VALUES (id, 'public.big', battledger.key_id(battledger_test.public_key(battledger_test.seed('tel-1'))), n, root,
          battledger_test.sign(battledger_test.seed('tel-1'), battledger.batch_manifest('public.big', id, n, root)));
  INSERT INTO public.big SELECT (public.brow(id, i)).* FROM generate_series(1, n) i;
END $$;
CREATE FUNCTION public.srow(id text, i int) RETURNS public.slow LANGUAGE sql AS $$
  SELECT jsonb_populate_record(NULL::public.slow, jsonb_build_object('battery', 'S' || (i % 50), 'x', '1e60000'::numeric + i,
     'ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed('tel-1')))::text, 'ledger_batch', id)) $$;
CREATE FUNCTION public.file_slow(id text, n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE root battledger.hash256 := battledger.batch_root(ARRAY(SELECT pg_catalog.sha256(battledger.signing_bytes(public.srow(id, i)))::battledger.hash256 FROM generate_series(1, n) i));
BEGIN
  INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
  VALUES (id, 'public.slow', battledger.key_id(battledger_test.public_key(battledger_test.seed('tel-1'))), n, root,
          battledger_test.sign(battledger_test.seed('tel-1'), battledger.batch_manifest('public.slow', id, n, root)));
  INSERT INTO public.slow SELECT (public.srow(id, i)).* FROM generate_series(1, n) i;
END $$;
SQL
( psql -X -q -d bl -v ON_ERROR_STOP=1 -c "SET application_name = 'rt27d_g11'" -c "BEGIN" -c "SELECT file_slow('g11', 5000)" -c "COMMIT" > "$BL_WORK/g11.out" 2>&1; echo "rc=$?" >> "$BL_WORK/g11.out" ) &
g11pid=$!
# wait until the session is in its COMMIT, then cancel it
for i in $(seq 1 1200); do
  st=$(q -c "SELECT query FROM pg_stat_activity WHERE application_name = 'rt27d_g11' AND state = 'active'")
  [ "$st" = "COMMIT" ] && break
  sleep 0.05
done
sleep 0.2
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'rt27d_g11'" >/dev/null
wait $g11pid
g11c=$(grep -c "canceling statement due to user request" "$BL_WORK/g11.out")
check "G11 the commit of a batch cancelled in its re-read: nothing committed, the server up" \
  "$g11c|$(q -c "SELECT count(*) FROM public.slow WHERE ledger_batch = 'g11'")|$(q -c "SELECT 1")" "1|0|1"
check "G11b the table's next batch accepted" \
  "$(err <<'SQL'
SELECT file_slow('g11c', 3);
SQL
)|$(q -c "SELECT count(*) FROM public.slow WHERE ledger_batch = 'g11c'")" "ok|3"
check "G12 DDL on the table between the rows and COMMIT: refused" "$(err <<'SQL'
SET ROLE owner;
BEGIN;
SELECT file_batch('g12', 2);
INSERT INTO tel SELECT (trow('g12', i)).* FROM generate_series(1, 2) i;
ALTER TABLE tel ALTER COLUMN v TYPE varchar;
COMMIT;
SQL
)|$(rows g12)" "BL002|0"

q >/dev/null <<'SQL'
CREATE FUNCTION public.add_row(id text) RETURNS int LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.tel SELECT (public.trow(id, 88)).*; RETURN 1; END $$;
SQL
check "G13 an extra row inserted by a WITH HOLD cursor, run to its end at COMMIT: refused (BL021)" "$(err <<'SQL'
BEGIN;
SELECT file_batch('g13', 2);
INSERT INTO tel SELECT (trow('g13', i)).* FROM generate_series(1, 2) i;
DECLARE c CURSOR WITH HOLD FOR SELECT add_row('g13') FROM generate_series(1, 1);
COMMIT;
SQL
)|$(rows g13)" "BL021|0"
# G14: the merge sort on 1,000,001 content hashes (odd), a quarter of them
# sharing their first 8 bytes with another, some equal: one root whatever
# the order, and the root of the hashes already in memcmp order (bytea's)
g14=$(q <<'SQL'
CREATE TEMP TABLE h AS
SELECT i, (CASE WHEN i % 4 = 0 THEN substr(sha256(int4send(i / 4)), 1, 8) || substr(sha256(int4send(-i)), 9)
                WHEN i % 10 = 1 THEN sha256(int4send(7))
                ELSE sha256(int4send(i)) END)::battledger.hash256 AS b
  FROM generate_series(1, 1000001) i;
SELECT count(DISTINCT r) || ' ' || count(*)
  FROM (SELECT battledger.batch_root(ARRAY(SELECT b FROM h ORDER BY i)) r
        UNION ALL SELECT battledger.batch_root(ARRAY(SELECT b FROM h ORDER BY i DESC))
        UNION ALL SELECT battledger.batch_root(ARRAY(SELECT b FROM h ORDER BY md5(i::text)))
        UNION ALL SELECT battledger.batch_root(ARRAY(SELECT b FROM h ORDER BY b::text::bytea))) s;
SQL
)
check "G14 1,000,001 hashes with prefix ties and equal ones: one root in four orders" "$g14" "1 4"

# ------------------------------------------------------------------ F
q >/dev/null <<'SQL'
SET ROLE owner;
CREATE EXTENSION btree_gin;
DROP INDEX public.tel_ledger_batch;
CREATE INDEX tel_ledger_batch_gin ON public.tel USING gin (ledger_batch) WITH (fastupdate = off);
SQL
tries() {  # tries ROLE PREFIX: 30 transactions, 1 signed row + 1 unsigned riding on the batch
  for i in $(seq 1 30); do
    printf "BEGIN;\nSELECT file_batch('%s-%s', 1);\nINSERT INTO tel SELECT (trow('%s-%s', g)).* FROM generate_series(1, 2) g;\nCOMMIT;\n" "$2" "$i" "$2" "$i"
  done | psql -X -q -d bl -c "SET ROLE $1" -c "SET enable_seqscan = off" -c "SET gin_fuzzy_search_limit = 1" -f - >/dev/null 2>&1
  q -c "SELECT count(*) FROM public.tel WHERE ledger_batch LIKE '$2-%'"
}
check "F1 the owner's GIN index and gin_fuzzy_search_limit: no row riding unsigned on a batch committed (30 tries)" "$(tries owner f1)" 0
check "F2 the same by an application (INSERT only) once the index exists (30 tries)" "$(tries app f2)" 0
# F3: extra rows written behind the triggers (a member's superuser)
q >/dev/null <<'SQL'
BEGIN;
SELECT file_batch('f3', 2);
INSERT INTO tel SELECT (trow('f3', i)).* FROM generate_series(1, 2) i;
COMMIT;
SET battledger.restore = on;
DO $$
DECLARE r public.tel;
BEGIN
    FOR i IN 1..4 LOOP
        r := public.trow('f3', 500 + i);
        r.battery := 'Z' || i; r.ledger_origin := 'rt27d.test/redteam'; r.ledger_seq := 1; r.ledger_at := now();
        r.ledger_prev := repeat('0', 64);
        r.ledger_hash := battledger.chain_hash(r.ledger_prev, 1, battledger.row_bytes(r));
        INSERT INTO public.tel SELECT r.*;
    END LOOP;
END $$;
SQL
f3=$(psql -X -q -At -d bl -c "SET enable_seqscan = off" -c "SET gin_fuzzy_search_limit = 1" \
       -c "SELECT count(*) FROM battledger.verify('public.tel') WHERE problem = 'batch_extra_rows' AND detail LIKE '%\"f3\"%6.'" 2>&1 | tail -1)
check "F3 verify() under gin_fuzzy_search_limit = 1 names the batch's 4 rows written behind the triggers" "$f3" 1

# ------------------------------------------------------------------ M1
cat > "$BL_WORK/m1.sql" <<'SQL'
SELECT pg_backend_pid() AS pid \gset
BEGIN;
SELECT count(*) FROM (SELECT file_big('m1-' || i, 5000) FROM generate_series(1, 40) i) s;
\setenv BPID :pid
\! grep VmHWM /proc/$BPID/status | tr -dc 0-9 > BLWORK/m1.before
COMMIT;
\! grep VmHWM /proc/$BPID/status | tr -dc 0-9 > BLWORK/m1.after
SQL
sed -i "s|BLWORK|$BL_WORK|g" "$BL_WORK/m1.sql"
psql -X -q -d bl -v ON_ERROR_STOP=1 -f "$BL_WORK/m1.sql" >/dev/null
m1=$(( $(cat "$BL_WORK/m1.after") - $(cat "$BL_WORK/m1.before") ))
echo "#   M1: the backend's peak grew by $m1 kB at the COMMIT of 40 batches of 5,000 rows"
check "M1 COMMIT of 40 batches of 5,000 rows: the peak grows by < 2 MB (the hashes freed batch by batch)" \
  "$([ "$m1" -lt 2048 ] && echo yes || echo "no ($m1 kB)")" yes

echo "# rt27d: $FAILS FAIL(s)"
exit $FAILS
