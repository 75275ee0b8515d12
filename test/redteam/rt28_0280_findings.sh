#!/usr/bin/env bash
# rt28 (0.28.0 cycle, main 463efb0): red team of "Name a batch by its id and
# its signer's key" (a batch is (batch_id, key_id); its rows are found, and
# re-read at commit and by verify(), by ledger_batch and ledger_key_id).
# FAIL = an open hole, ok = holds.  One cluster on RT28_PORT (default
# 58850), shared_buffers 2MB (M's peaks are the backend's own memory).
# Members tel.example (keys tel-1, tel-2: one application may hold two) and
# oth.example (oth-1), both hosted here; "app" may only INSERT into the
# signed table public.tel (and, as PUBLIC, into battledger.batch).
#  J1-J10 rows riding on a batch of another key (app): another key's or a
#      NULL key on a filed id, two same-id batches of two keys in one
#      transaction (interleaved; a row relabelled, changed, duplicated),
#      savepoints, COPY, INSERT...SELECT naming another member's committed
#      batch of the id, a deferred trigger's extra row, _batch_open_here().
#  P1  a member files the victim's next id with 50,000 rows of its own key:
#      the victim's 1-row commit check fetched 50,002 heap rows through the
#      index on ledger_batch alone; must fetch < 100.
#  P2  100 keys each file 100 rows under one id: verify() fetched 1,110,030
#      rows for 70,000 (quadratic in the keys); must be < 3x the rows.
#  M1  verify() of 10,000 one-row batches: the backend's peak grew 2,831
#      bytes a batch (833-byte names, each check's leftovers kept; 0.27.0
#      ~1.8 kB); must be < 1 kB.  M2 the COMMIT of 10,000 one-row batches:
#      1,405 bytes a batch past the filing's peak; must be < 1 kB.
#  E1  a commit refused for one of two same-id batches: the DETAIL named the
#      id only.  E2 verify()'s detail for a batch of an id two keys filed,
#      the same (its origin and chain key columns are NULL for a batch).
#  D1  (constraint dropped by the member's superuser) an application filed
#      one name twice for the same rows and committed; D2 a later filing of
#      a taken name refused (BL020); D3 verify() passed a name with two
#      manifests (it read whichever the scan met first).
#  U1-U5 a 0.27.0 database with batches, updated: verify() clean, a second
#      key's batch of a filed id accepted, batch constraints, indexes and
#      schema battledger's functions, views, ACLs as a fresh install's.
# Results, PostgreSQL 15, 2026-12-07, main 463efb0: FAIL P1, P2, M1, M2, E1,
# E2, D1, D3; every J, D2, U ok.  Fixed on branch rt28 (index (ledger_batch,
# ledger_key_id), duplicate_batch on two rows, per-batch contexts and
# compact names, details naming the key): 0 FAILs, about 50 s.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/redteam.sh"

bl_scratch
bl_start_cluster rt28 "${RT28_PORT:-58850}" "$(bl_test_log_conf rt28.test/redteam)
shared_buffers = 2MB"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d bl "$@"; }
# the SQLSTATE a script (stdin) fails with, or "ok"; as role $1 if given
err() {
  local u=${1:-postgres}
  if psql -X -q -At -U "$u" -d bl -v ON_ERROR_STOP=1 -c "\\set VERBOSITY verbose" -f - >/dev/null 2>"$BL_WORK/err"; then echo ok; return; fi
  [ -n "${RT28_DEBUG:-}" ] && cat "$BL_WORK/err" >&2
  sed -n 's/^.*ERROR: *\([A-Z0-9]\{5\}\): .*/\1/p' "$BL_WORK/err" | head -1
}
# the rows of (id, seed's key), or of id if no seed
rows() {
  if [ -n "${2:-}" ]; then q -c "SELECT count(*) FROM public.tel WHERE ledger_batch = '$1' AND ledger_key_id OPERATOR(battledger.=) battledger.key_id(battledger_test.public_key(battledger_test.seed('$2')))"
  else q -c "SELECT count(*) FROM public.tel WHERE ledger_batch = '$1'"; fi
}
problems() { q -c "SELECT coalesce(string_agg(problem, ',' ORDER BY problem), '') FROM battledger.verify('$1')"; }

createdb bl
q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
SELECT battledger.add_member('tel.example', ARRAY['fleet_operator']);
SELECT battledger.add_key('tel.example', battledger_test.public_key(battledger_test.seed('tel-1')));
SELECT battledger.add_key('tel.example', battledger_test.public_key(battledger_test.seed('tel-2')));
SELECT battledger.add_member('oth.example', ARRAY['fleet_operator']);
SELECT battledger.add_key('oth.example', battledger_test.public_key(battledger_test.seed('oth-1')));
CREATE ROLE owner LOGIN;
CREATE ROLE app LOGIN;
GRANT CREATE ON DATABASE bl TO owner;
GRANT CREATE ON SCHEMA public TO owner;
GRANT USAGE ON SCHEMA battledger_test TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA battledger_test TO PUBLIC;   -- TEST ONLY: the signer
SET ROLE owner;
CREATE TABLE public.tel (battery text, n int, v text);
RESET ROLE;
SELECT battledger.enable_ledger('public.tel', 'battery', signed => true, signer_roles => ARRAY['fleet_operator']);
GRANT INSERT ON public.tel TO app;
CREATE FUNCTION public.kid(s text) RETURNS battledger.hash256 LANGUAGE sql AS $$
  SELECT battledger.key_id(battledger_test.public_key(battledger_test.seed(s))) $$;
-- row i of batch (id, seed's key): battery B<i % 3>, n = i, v
CREATE FUNCTION public.trow(id text, s text, i int, v text DEFAULT 'x') RETURNS public.tel LANGUAGE sql AS $$
  SELECT jsonb_populate_record(NULL::public.tel, jsonb_build_object('battery', 'B' || (i % 3), 'n', i, 'v', v,
     'ledger_key_id', public.kid(s)::text, 'ledger_batch', id)) $$;
-- files batch (id, seed's key) signed for the rows given, or rows 1..n of trow()
CREATE FUNCTION public.file_rows(id text, s text, r public.tel[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE root battledger.hash256 := battledger.batch_root(ARRAY(SELECT pg_catalog.sha256(battledger.signing_bytes(x))::battledger.hash256 FROM unnest(r) x));
BEGIN
  INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
  VALUES (id, 'public.tel', public.kid(s), cardinality(r), root,
          battledger_test.sign(battledger_test.seed(s), battledger.batch_manifest('public.tel', id, cardinality(r), root)));
END $$;
CREATE FUNCTION public.file_batch(id text, s text, n int) RETURNS void LANGUAGE sql AS $$
  SELECT public.file_rows(id, s, ARRAY(SELECT public.trow(id, s, i) FROM generate_series(1, n) i)) $$;
-- a batch and its n rows, in the caller's transaction
CREATE FUNCTION public.put(id text, s text, n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM public.file_batch(id, s, n);
  INSERT INTO public.tel SELECT (public.trow(id, s, i)).* FROM generate_series(1, n) i;
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO PUBLIC;
SQL

# ------------------------------------------------------------------ J: rows riding on a batch of another key
check "J1 (app) batch (j1, tel-1) filed, a row naming (j1, tel-2), (j1, oth-1): each refused (BL020)" "$(err app <<'SQL'
BEGIN;
SELECT file_batch('j1', 'tel-1', 1);
INSERT INTO tel SELECT (trow('j1', 'tel-1', 1)).*;
INSERT INTO tel SELECT (trow('j1', 'tel-2', 2)).*;
COMMIT;
SQL
)|$(err app <<'SQL'
BEGIN;
SELECT file_batch('j1', 'tel-1', 1);
INSERT INTO tel SELECT (trow('j1', 'tel-1', 1)).*;
INSERT INTO tel SELECT (trow('j1', 'oth-1', 2)).*;
COMMIT;
SQL
)|$(rows j1)" "BL020|BL020|0"
check "J2 (app) a row of batch j2 with a NULL ledger_key_id: refused" "$(err app <<'SQL'
BEGIN;
SELECT file_batch('j2', 'tel-1', 1);
INSERT INTO tel (battery, n, v, ledger_key_id, ledger_batch) SELECT (r).battery, (r).n, (r).v, NULL, 'j2' FROM (SELECT trow('j2', 'tel-1', 1) r) s;
COMMIT;
SQL
)|$(rows j2)" "BL017|0"
check "J3 (app) (j3, tel-1) and (j3, tel-2) in one transaction, rows interleaved: accepted, 2 + 3 rows" "$(err app <<'SQL'
BEGIN;
SELECT file_batch('j3', 'tel-1', 2);
SELECT file_batch('j3', 'tel-2', 3);
INSERT INTO tel SELECT (trow('j3', CASE WHEN i % 2 = 0 THEN 'tel-1' ELSE 'tel-2' END, (i + 1) / 2)).* FROM generate_series(1, 5) i WHERE i <> 5;
INSERT INTO tel SELECT (trow('j3', 'tel-2', 3)).*;
COMMIT;
SQL
)|$(rows j3 tel-1)|$(rows j3 tel-2)" "ok|2|3"
j4=""
for extra in "trow('j4', 'tel-2', 2)" "trow('j4', 'tel-1', 2, 'y')" "trow('j4', 'tel-1', 1)"; do
  # a row of the tel-1 batch relabelled tel-2 (its content hash then differs),
  # a changed row, a duplicated row: each in the other same-id batch's company
  j4="$j4 $(err app <<SQL
BEGIN;
SELECT file_batch('j4', 'tel-1', 2);
SELECT file_batch('j4', 'tel-2', 2);
INSERT INTO tel SELECT (trow('j4', 'tel-2', i)).* FROM generate_series(1, 2) i;
INSERT INTO tel SELECT (trow('j4', 'tel-1', 1)).*;
INSERT INTO tel SELECT ($extra).*;
COMMIT;
SQL
)"
done
check "J4 (app) two same-id batches, one row relabelled/changed/extra: each refused (BL021), nothing stored" "$j4|$(rows j4)" " BL021 BL021 BL021|0"
check "J5 (app) (j5, tel-2) filed in a savepoint rolled back, its rows after, beside (j5, tel-1): refused (BL020)" "$(err app <<'SQL'
BEGIN;
SELECT put('j5', 'tel-1', 2);
SAVEPOINT s;
SELECT file_batch('j5', 'tel-2', 1);
ROLLBACK TO SAVEPOINT s;
INSERT INTO tel SELECT (trow('j5', 'tel-2', 1)).*;
COMMIT;
SQL
)|$(err app <<'SQL'
BEGIN;
SELECT put('j5', 'tel-1', 2);
SAVEPOINT s;
SELECT put('j5', 'tel-2', 2);
ROLLBACK TO SAVEPOINT s;
INSERT INTO tel SELECT (trow('j5', 'tel-1', 3)).*;
COMMIT;
SQL
)|$(err app <<'SQL'
BEGIN;
SELECT put('j5', 'tel-1', 2);
SAVEPOINT s;
SELECT put('j5', 'tel-2', 2);
ROLLBACK TO SAVEPOINT s;
COMMIT;
SQL
)|$(rows j5 tel-1)|$(rows j5 tel-2)" "BL020|BL021|ok|2|0"
q -c "COPY (SELECT (trow('j6', CASE WHEN i <= 3 THEN 'tel-1' ELSE 'tel-2' END, i)).* FROM generate_series(1, 5) i) TO STDOUT" > "$BL_WORK/j6.copy"
q -c "COPY (SELECT (trow('j6x', CASE WHEN i <= 3 THEN 'tel-1' ELSE 'tel-2' END, i)).* FROM generate_series(1, 6) i) TO STDOUT" > "$BL_WORK/j6x.copy"
chmod 644 "$BL_WORK"/*.copy
check "J6 (app) COPY of two same-id batches' rows: exact accepted, one more row of tel-2's refused (BL021)" "$(err app <<SQL
BEGIN;
SELECT file_rows('j6', 'tel-1', ARRAY(SELECT trow('j6', 'tel-1', i) FROM generate_series(1, 3) i));
SELECT file_rows('j6', 'tel-2', ARRAY(SELECT trow('j6', 'tel-2', i) FROM generate_series(4, 5) i));
\\copy tel FROM '$BL_WORK/j6.copy'
COMMIT;
SQL
)|$(err app <<SQL
BEGIN;
SELECT file_rows('j6x', 'tel-1', ARRAY(SELECT trow('j6x', 'tel-1', i) FROM generate_series(1, 3) i));
SELECT file_rows('j6x', 'tel-2', ARRAY(SELECT trow('j6x', 'tel-2', i) FROM generate_series(4, 5) i));
\\copy tel FROM '$BL_WORK/j6x.copy'
COMMIT;
SQL
)|$(rows j6)|$(rows j6x)" "ok|BL021|5|0"
q -c "SELECT put('j7', 'oth-1', 2)" >/dev/null
check "J7 (app) (j7, oth-1) committed earlier; (j7, tel-1) filed now, a row naming (j7, oth-1) by INSERT...SELECT: refused (BL020)" "$(err app <<'SQL'
BEGIN;
SELECT put('j7', 'tel-1', 1);
INSERT INTO tel SELECT (trow('j7', s, 3)).* FROM (VALUES ('oth-1')) v(s);
COMMIT;
SQL
)|$(rows j7 oth-1)|$(rows j7 tel-1)" "BL020|2|0"
q >/dev/null <<'SQL'
SET ROLE owner;
CREATE TABLE public.kick (a int);
CREATE FUNCTION public.kick_row() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN INSERT INTO public.tel SELECT (public.trow('j8', 'tel-2', 9)).*; RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER kick AFTER INSERT ON public.kick DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.kick_row();
GRANT INSERT ON public.kick TO app;
RESET ROLE;
SQL
check "J8 (owner's deferred trigger) an extra row of (j8, tel-2) at commit, beside (j8, tel-1): refused (BL021)" "$(err app <<'SQL'
BEGIN;
SELECT put('j8', 'tel-1', 2);
SELECT put('j8', 'tel-2', 2);
INSERT INTO kick VALUES (1);
COMMIT;
SQL
)|$(rows j8)" "BL021|0"
check "J9 _batch_open_here() with the other key of a filed id: false; with its own: true" "$(q <<'SQL'
BEGIN;
SELECT file_batch('j9', 'tel-1', 1) \g /dev/null
SELECT battledger._batch_open_here('j9', 'public.tel', kid('tel-2'))::text || battledger._batch_open_here('j9', 'public.tel', kid('tel-1'))::text;
ROLLBACK;
SQL
)" "falsetrue"
check "J10 verify() of public.tel and battledger.batch after J: clean" "$(problems public.tel)|$(problems battledger.batch)" "|"

# ------------------------------------------------------------------ P: re-reads slowed by other keys' rows of one id
# heap rows public.tel's index scans fetched, as flushed by ended sessions
fetched() { q -c "SELECT pg_stat_clear_snapshot(); SELECT coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables WHERE relid = 'public.tel'::regclass" | tail -1; }
ms() { local a b; a=$(date +%s%N); "$@" >/dev/null; b=$(date +%s%N); echo $(((b - a) / 1000000)); }
P_ROWS=${RT28_P_ROWS:-50000}
# a malicious member's key files the victim's next id with P_ROWS rows
q -c "SELECT put('victim-next', 'oth-1', $P_ROWS)" >/dev/null
q -c "SELECT put('victim-base', 'oth-1', 1)" >/dev/null
sleep 1
f0=$(fetched)
t_base=$(ms err app <<<"BEGIN; SELECT put('victim-base', 'tel-1', 1); COMMIT;")
sleep 1
f1=$(fetched)
t_next=$(ms err app <<<"BEGIN; SELECT put('victim-next', 'tel-1', 1); COMMIT;")
sleep 1
f2=$(fetched)
echo "# P1 victim's 1-row batch commit: ${t_base} ms (id free of others' rows), ${t_next} ms (id with $P_ROWS rows of oth-1); heap rows fetched by index: $((f1 - f0)), $((f2 - f1))"
check "P1 the victim's commit check of (victim-next, tel-1) fetches < 100 heap rows, not oth-1's $P_ROWS of that id" \
  "$(( f2 - f1 < 100 ))|$(rows victim-next tel-1)" "1|1"
# verify(): M keys of one member each file one batch of R rows under one id
# (quadratic: each batch's re-read fetches every key's rows) vs M ids
P_KEYS=${RT28_P_KEYS:-100}; P_R=${RT28_P_R:-100}
q >/dev/null <<SQL
SELECT battledger.add_key('oth.example', battledger_test.public_key(battledger_test.seed('oth-k' || k))) FROM generate_series(1, $P_KEYS) k;
SQL
for k in $(seq 1 "$P_KEYS"); do echo "SELECT put('same-id', 'oth-k$k', $P_R);"; done | q >/dev/null
for k in $(seq 1 "$P_KEYS"); do echo "SELECT put('own-id-$k', 'oth-k$k', $P_R);"; done | q >/dev/null
sleep 1
f0=$(fetched)
t_own=$(ms q -c "SELECT count(*) FROM battledger.verify('public.tel') WHERE problem <> 'ok'")
sleep 1
f1=$(fetched)
echo "# P2 verify('public.tel'): ${t_own} ms in all, heap rows fetched by index $((f1 - f0)) ($P_KEYS batches of $P_R rows under one id, $P_KEYS under own ids, + the rest)"
check "P2 verify() fetches each batch row once by index: < 3 x the table's batch rows" \
  "$(( f1 - f0 < 3 * (2 * P_KEYS * P_R + P_ROWS + 100) ))" "1"
check "P3 verify() of public.tel after P: clean" "$(problems public.tel)" ""

# ------------------------------------------------------------------ M: memory of the batch checks
# (shared_buffers is 2MB in this cluster: the peaks below are the backend's
# own memory, not the shared pages it touched)
M_N=${RT28_M_N:-10000}
q >/dev/null <<SQL
CREATE TABLE public.mem (battery text, n int, v text);
SELECT battledger.enable_ledger('public.mem', 'battery', signed => true, signer_roles => ARRAY['fleet_operator']);
CREATE TABLE public.tiny (battery text, n int, v text);
SELECT battledger.enable_ledger('public.tiny', 'battery', signed => true, signer_roles => ARRAY['fleet_operator']);
CREATE TABLE public.sgl (battery text, n int, v text);
SELECT battledger.enable_ledger('public.sgl', 'battery', signed => true, signer_roles => ARRAY['fleet_operator']);
-- one-row batch id of public.mem, its row filed with it
CREATE FUNCTION public.mput(id text) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE r public.mem := jsonb_populate_record(NULL::public.mem, jsonb_build_object('battery', 'B', 'n', 1, 'v', 'x',
            'ledger_key_id', public.kid('tel-1')::text, 'ledger_batch', id));
        root battledger.hash256 := battledger.batch_root(ARRAY[pg_catalog.sha256(battledger.signing_bytes(r))::battledger.hash256]);
BEGIN
  INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
  VALUES (id, 'public.mem', public.kid('tel-1'), 1, root,
          battledger_test.sign(battledger_test.seed('tel-1'), battledger.batch_manifest('public.mem', id, 1, root)));
  INSERT INTO public.mem SELECT r.*;
END \$\$;
-- a signed row i of public.sgl
CREATE FUNCTION public.srow(i int) RETURNS public.sgl LANGUAGE plpgsql AS \$\$
DECLARE r public.sgl := jsonb_populate_record(NULL::public.sgl, jsonb_build_object('battery', 'B', 'n', i, 'v', 'x',
            'ledger_key_id', public.kid('tel-1')::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed('tel-1'), battledger.signing_bytes(r)); RETURN r; END \$\$;
INSERT INTO public.sgl SELECT (public.srow(i)).* FROM generate_series(1, $M_N) i;
SQL
# the backend's peak (kB) grown by the statement (stdin) run after a warm-up
peak() {
  { echo "SELECT pg_backend_pid() AS pid \\gset"; echo "\\setenv BPID :pid"; echo "$1"
    echo "\\! grep VmHWM /proc/\$BPID/status | tr -dc 0-9 > $BL_WORK/peak.before"; cat
    echo "\\! grep VmHWM /proc/\$BPID/status | tr -dc 0-9 > $BL_WORK/peak.after"; } > "$BL_WORK/peak.sql"
  psql -X -q -d bl -v ON_ERROR_STOP=1 -f "$BL_WORK/peak.sql" >/dev/null
  echo $(( $(cat "$BL_WORK/peak.after") - $(cat "$BL_WORK/peak.before") ))
}
m_commit=$(peak "SELECT count(*) FROM battledger.verify('public.tiny');" <<SQL
BEGIN;
SELECT count(*) FROM (SELECT public.mput('m-' || i) FROM generate_series(1, $M_N) i) s;
\\! grep VmHWM /proc/\$BPID/status | tr -dc 0-9 > $BL_WORK/peak.before
COMMIT;
SQL
)
m_batches=$(peak "SELECT count(*) FROM battledger.verify('public.tiny');" <<<"SELECT count(*) FROM battledger.verify('public.mem');")
m_signed=$(peak "SELECT count(*) FROM battledger.verify('public.tiny');" <<<"SELECT count(*) FROM battledger.verify('public.sgl');")
echo "# M: the backend's peak grew by $m_commit kB at the COMMIT of $M_N one-row batches ($(( m_commit * 1024 / M_N )) bytes a batch);"
echo "#    by $m_batches kB in verify() of them ($(( m_batches * 1024 / M_N )) bytes a batch), by $m_signed kB in verify() of $M_N signed rows"
check "M1 verify() of one-row batches: < 1 kB a batch (rows walked, names kept, each batch's check)" \
  "$([ $(( m_batches * 1024 / M_N )) -lt 1024 ] && echo yes || echo "no ($(( m_batches * 1024 / M_N )) bytes)")" yes
check "M2 COMMIT of one-row batches: < 1 kB a batch" \
  "$([ $(( m_commit * 1024 / M_N )) -lt 1024 ] && echo yes || echo "no ($(( m_commit * 1024 / M_N )) bytes)")" yes
check "M3 verify() of public.mem and public.sgl: clean" "$(problems public.mem)|$(problems public.sgl)" "|"

# ------------------------------------------------------------------ E: details that name the batch
# (before D, whose dropped constraint makes every batch look-up a scan)
e1=$(psql -X -q -At -U app -d bl -v ON_ERROR_STOP=1 2>&1 >/dev/null <<'SQL'
BEGIN;
SELECT put('e1', 'tel-1', 2);
SELECT file_batch('e1', 'tel-2', 2);
INSERT INTO tel SELECT (trow('e1', 'tel-2', 1)).*;
COMMIT;
SQL
)
check "E1 commit of (e1, tel-1) whole and (e1, tel-2) short a row: the DETAIL names tel-2's key" \
  "$(grep -c "DETAIL: .*e1.*$(q -c "SELECT kid('tel-2')")" <<<"$e1")" 1
# the member's superuser writes a row of (e2, tel-2) behind the triggers
# (restore mode, a chain of its own); (e2, tel-1) is whole
q -c "SELECT put('e2', 'tel-1', 2), put('e2', 'tel-2', 2)" >/dev/null
q >/dev/null <<'SQL'
SET battledger.restore = on;
DO $$
DECLARE e public.tel := public.trow('e2', 'tel-2', 7);
BEGIN
    e.battery := 'E2-extra';
    e.ledger_origin := current_setting('battledger.origin');
    e.ledger_seq := 1;
    e.ledger_at := now();
    e.ledger_prev := repeat('0', 64);
    e.ledger_hash := battledger.chain_hash(e.ledger_prev, 1, battledger.row_bytes(e));
    INSERT INTO public.tel SELECT e.*;
END $$;
SQL
check "E2 verify(): (e2, tel-2)'s extra row named with tel-2's key, (e2, tel-1) not named" \
  "$(q -c "SELECT string_agg(problem, ',') FROM battledger.verify('public.tel') WHERE detail LIKE '%\"e2\" of key ' || kid('tel-2')::text || '%'")|$(q -c "SELECT count(*) FROM battledger.verify('public.tel') WHERE detail LIKE '%' || kid('tel-1')::text || '%'")" "batch_extra_rows|0"

# ------------------------------------------------------------------ D: two batches of one name past the unique constraint
# a member's superuser, behind its own guard, drops the name's constraint
q >/dev/null <<'SQL'
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.batch DROP CONSTRAINT batch_batch_id_key_id_key;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
SQL
check "D1 (app, constraint dropped) (d1, tel-1) filed twice for the same 2 rows, in one transaction: refused" "$(err app <<'SQL'
BEGIN;
SELECT file_batch('d1', 'tel-1', 2);
SELECT file_batch('d1', 'tel-1', 2);
INSERT INTO tel SELECT (trow('d1', 'tel-1', i)).* FROM generate_series(1, 2) i;
COMMIT;
SQL
)|$(q -c "SELECT count(*) FROM battledger.batch WHERE batch_id = 'd1'")" "BL021|0"
q -c "SELECT put('d2', 'tel-1', 2)" >/dev/null
check "D2 (app, constraint dropped) (d2, tel-1) filed again in a later transaction with a third row: refused" "$(err app <<'SQL'
BEGIN;
SELECT file_batch('d2', 'tel-1', 3);
INSERT INTO tel SELECT (trow('d2', 'tel-1', 3)).*;
COMMIT;
SQL
)|$(q -c "SELECT count(*) FROM battledger.batch WHERE batch_id = 'd2'")|$(rows d2)" "BL020|1|2"
# the superuser writes a second copy of (d3, tel-1)'s batch row past the
# triggers (restore mode, its chain fields computed): same manifest, same rows
q -c "SELECT put('d3', 'tel-1', 2)" >/dev/null
q >/dev/null <<'SQL'
SET battledger.restore = on;
DO $$
DECLARE b battledger.batch;
BEGIN
    SELECT * INTO b FROM battledger.batch WHERE batch_id = 'd3';
    SELECT x.ledger_seq + 1, x.ledger_hash INTO b.ledger_seq, b.ledger_prev
      FROM battledger.batch x WHERE x.key_id OPERATOR(battledger.=) b.key_id AND x.ledger_origin = b.ledger_origin
     ORDER BY x.ledger_seq DESC LIMIT 1;
    b.ledger_hash := battledger.chain_hash(b.ledger_prev, b.ledger_seq, battledger.row_bytes(b));
    INSERT INTO battledger.batch SELECT b.*;
END $$;
SQL
check "D3 (setup) two batch rows named (d3, tel-1)" "$(q -c "SELECT count(*) FROM battledger.batch WHERE batch_id = 'd3'")" 2
check "D3 verify() of public.tel names the two batches of one name" \
  "$(q -c "SELECT count(*) > 0 FROM battledger.verify('public.tel') WHERE problem = 'duplicate_batch'")" t

# ------------------------------------------------------------------ U: a 0.27.0 database with batches, updated
createdb up
qu() { psql -X -q -At -v ON_ERROR_STOP=1 -d up "$@"; }
qu >/dev/null <<'SQL'
CREATE EXTENSION battledger VERSION '0.27.0';
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
SELECT battledger.add_member('tel.example', ARRAY['fleet_operator']);
SELECT battledger.add_key('tel.example', battledger_test.public_key(battledger_test.seed('tel-1')));
SELECT battledger.add_key('tel.example', battledger_test.public_key(battledger_test.seed('tel-2')));
CREATE TABLE public.tel (battery text, n int, v text);
SELECT battledger.enable_ledger('public.tel', 'battery', signed => true, signer_roles => ARRAY['fleet_operator']);
SQL
# the helpers of database bl, by their definitions
q -c "SELECT string_agg(pg_get_functiondef(p.oid), E';\n' ORDER BY array_position(ARRAY['kid', 'trow', 'file_rows', 'file_batch', 'put'], p.proname::text)) || ';'
        FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.proname IN ('kid', 'trow', 'file_rows', 'file_batch', 'put')" | qu >/dev/null
qu -c "SELECT put('u1', 'tel-1', 3)" >/dev/null
check "U1 (setup) 0.27.0: a second key's batch of id u1 refused (UNIQUE (batch_id))" "$(psql -X -q -At -d up -v ON_ERROR_STOP=1 -c "SELECT put('u1', 'tel-2', 1)" 2>&1 | grep -c batch_batch_id_key)" 1
qu -c "ALTER EXTENSION battledger UPDATE" >/dev/null
check "U2 updated: verify() of public.tel and battledger.batch clean" \
  "$(qu -c "SELECT coalesce(string_agg(problem, ','), '') FROM battledger.verify('public.tel')")|$(qu -c "SELECT coalesce(string_agg(problem, ','), '') FROM battledger.verify('battledger.batch')")" "|"
check "U3 updated: (u1, tel-2) and (u2, tel-1) filed with their rows" \
  "$(qu -c "SELECT put('u1', 'tel-2', 2)" >/dev/null 2>&1; qu -c "SELECT put('u2', 'tel-1', 1)" >/dev/null 2>&1; qu -c "SELECT count(*) FROM public.tel")" 6
# constraints of battledger.batch and the index definitions of public.tel and of the extension's tables
shape() { psql -X -q -At -d "$1" -c "SELECT string_agg(x, E'\n' ORDER BY x) FROM (
  SELECT conname || ' ' || pg_get_constraintdef(oid) x FROM pg_constraint WHERE conrelid = 'battledger.batch'::regclass
  UNION ALL SELECT indexdef FROM pg_indexes WHERE indexname LIKE '%ledger_batch%') s"; }
createdb fresh
psql -X -q -At -v ON_ERROR_STOP=1 -d fresh >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE public.tel (battery text, n int, v text);
SELECT battledger.enable_ledger('public.tel', 'battery', signed => true, signer_roles => ARRAY['fleet_operator']);
SQL
check "U4 updated vs fresh: battledger.batch's constraints and every ledger_batch index the same" "$(shape up)" "$(shape fresh)"
# every function's definition and ACL, view, constraint and index of schema battledger
catalog() { psql -X -q -At -d "$1" -c "SELECT md5(string_agg(x, E'\\n' ORDER BY x)) FROM (
  SELECT pg_get_functiondef(p.oid) || coalesce(p.proacl::text, '') x FROM pg_proc p WHERE p.pronamespace = 'battledger'::regnamespace AND p.prokind <> 'a'
  UNION ALL SELECT c.relname || pg_get_viewdef(c.oid) || coalesce(c.relacl::text, '') FROM pg_class c WHERE c.relnamespace = 'battledger'::regnamespace AND c.relkind = 'v'
  UNION ALL SELECT c.relname || coalesce(c.relacl::text, '') FROM pg_class c WHERE c.relnamespace = 'battledger'::regnamespace AND c.relkind IN ('r', 'S')
  UNION ALL SELECT conrelid::regclass::text || conname || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'battledger'::regnamespace
  UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'battledger') s"; }
check "U5 updated vs fresh: schema battledger's functions, views, tables' ACLs, constraints, indexes the same" "$(catalog up)" "$(catalog fresh)"


echo "# rt28: $FAILS FAIL(s)"
exit $FAILS
