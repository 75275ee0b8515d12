#!/usr/bin/env bash
# Red team hx1 against 0.6.0's first-statement head cache (issue 15, hb):
# the statement that loads battledger (no session_preload_libraries) may keep
# its chains' heads in memory when it is the session's top-level plain INSERT
# or COPY FROM.  Each case below makes that statement also append to the SAME
# chain from somewhere else (user BEFORE/AFTER row triggers, a function with
# and without an aborting exception block, a rule, a writable CTE, COPY FROM
# with a trigger, replica role, concurrent fresh sessions over the extended and
# prepared protocols) and checks that every chain stays gapless, without a
# duplicate position, and that verify() reports nothing.  Every step prints
# ok/FAIL; a case that holds stays as a regression test.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster hx1 55701
trap 'as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/hx1" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$BL_WORK"' EXIT
createdb hx
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d hx "$@"; }
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; else echo "FAIL - $what"; fail=1; fi; }
loaded() { [ "$(q -c "SELECT count(*) FROM pg_settings WHERE name = 'battledger.origin'")" = 0 ]; }

q <<'SQL'
CREATE EXTENSION battledger;
CREATE FUNCTION mk(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (battery text NOT NULL, kind text NOT NULL, n int)', t);
    PERFORM battledger.enable_ledger(t::regclass, 'battery');
END $$;
SELECT mk(t) FROM unnest(ARRAY['btrg', 'atrg', 'fn', 'fnx', 'cte', 'cptrg', 'rul', 'repl', 'pg', 'mix']) t;

-- a BEFORE row trigger sorting before the chain trigger that appends to the same chain
CREATE FUNCTION dup_before() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() = 1 THEN
        EXECUTE format('INSERT INTO %I (battery, kind, n) VALUES ($1, ''inner'', $2)', TG_TABLE_NAME)
            USING NEW.battery, NEW.n;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER a_dup BEFORE INSERT ON btrg FOR EACH ROW EXECUTE FUNCTION dup_before();
CREATE TRIGGER a_dup BEFORE INSERT ON cptrg FOR EACH ROW EXECUTE FUNCTION dup_before();
-- an AFTER row trigger doing the same
CREATE FUNCTION dup_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() = 1 THEN
        INSERT INTO atrg (battery, kind, n) VALUES (NEW.battery, 'inner', NEW.n);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER z_dup AFTER INSERT ON atrg FOR EACH ROW EXECUTE FUNCTION dup_after();
-- functions called from the outer INSERT's SELECT list
CREATE FUNCTION ins_fn(i int) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fn (battery, kind, n) VALUES ('B1', 'inner', i);
    RETURN 'outer';
END $$;
-- odd rows: the nested insert commits in its block; even rows: its subtransaction aborts
CREATE FUNCTION ins_fnx(i int) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        INSERT INTO fnx (battery, kind, n) VALUES ('B1', 'inner', i);
        IF i % 2 = 0 THEN RAISE EXCEPTION 'undo'; END IF;
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
    RETURN 'outer';
END $$;
-- a rule that makes one INSERT two statements on the same chain
CREATE TABLE rul_in (battery text, n int);
CREATE RULE r AS ON INSERT TO rul_in DO INSTEAD (
    INSERT INTO rul (battery, kind, n) VALUES (NEW.battery, 'r1', NEW.n);
    INSERT INTO rul (battery, kind, n) VALUES (NEW.battery, 'r2', NEW.n));
CREATE TABLE mix_log (n int);
SQL
check "a fresh session has not loaded battledger" loaded

problems() { q -c "SELECT count(*) FROM battledger.verify('$1')"; }
# per chain: positions 1..count, each once, and each row's prev is its predecessor's hash
sound() {
    q -c "SELECT coalesce(bool_and(ok), true) FROM (
            SELECT count(*) = max(ledger_seq) AND count(DISTINCT ledger_seq) = count(*) AS ok
            FROM $1 GROUP BY battery) s" | grep -qx t &&
    q -c "SELECT count(*) FROM $1 a LEFT JOIN $1 b ON b.battery = a.battery AND b.ledger_seq = a.ledger_seq - 1
          WHERE a.ledger_seq > 1 AND b.ledger_hash::text IS DISTINCT FROM a.ledger_prev::text" | grep -qx 0
}
case_check() { # name table expected-rows
    check "$1: verify() clean" [ "$(problems "$2")" = 0 ]
    check "$1: chains gapless, no duplicate position, prev links" sound "$2"
    check "$1: $3 rows" [ "$(q -c "SELECT count(*) FROM $2")" = "$3" ]
}

q -c "INSERT INTO btrg (battery, kind, n) SELECT 'B' || (i % 2), 'outer', i FROM generate_series(1, 20) i"
case_check "first statement, BEFORE row trigger appending to the same chain" btrg 40

q -c "INSERT INTO atrg (battery, kind, n) SELECT 'B' || (i % 2), 'outer', i FROM generate_series(1, 20) i"
case_check "first statement, AFTER row trigger appending to the same chain" atrg 40

q -c "INSERT INTO fn (battery, kind, n) SELECT 'B1', ins_fn(i), i FROM generate_series(1, 20) i"
case_check "first statement INSERT ... SELECT f() where f appends to the same chain" fn 40

q -c "INSERT INTO fnx (battery, kind, n) SELECT 'B1', ins_fnx(i), i FROM generate_series(1, 20) i"
case_check "first statement, nested appends in exception blocks, half aborted" fnx 30

q -c "WITH x AS (INSERT INTO cte (battery, kind, n) SELECT 'B1', 'a', i FROM generate_series(1, 10) i RETURNING n)
      INSERT INTO cte (battery, kind, n) SELECT 'B1', 'b', n FROM x"
q -c "INSERT INTO cte (battery, kind, n) VALUES ('B1', 'z', 99)"
case_check "first statement a writable CTE on one chain, then a plain INSERT" cte 21

printf 'B1\touter\t1\nB2\touter\t2\nB1\touter\t3\nB1\touter\t4\n' | q -c "COPY cptrg (battery, kind, n) FROM STDIN"
case_check "first statement COPY FROM with a BEFORE trigger appending to the same chain" cptrg 8

q -c "INSERT INTO rul_in SELECT 'B1', i FROM generate_series(1, 10) i"
q -c "INSERT INTO rul (battery, kind, n) VALUES ('B1', 'z', 0)"
case_check "first statement rewritten by a rule into two INSERTs on one chain" rul 21

check "a rule on the ledger table itself is refused" \
    bash -c '! psql -X -q -At -d hx -c "CREATE RULE m AS ON INSERT TO mix DO ALSO INSERT INTO mix_log VALUES (NEW.n)" 2>/dev/null'

# as replica, a local INSERT is taken for a replicated row and refused (wrong_origin)
check "first INSERT under session_replication_role = replica is refused" \
    bash -c '! psql -X -q -At -v ON_ERROR_STOP=1 -d hx -c "SET session_replication_role = replica" \
        -c "INSERT INTO repl (battery, kind, n) SELECT '"'B1'"', '"'r'"', i FROM generate_series(1, 10) i" 2>/dev/null'
q -c "INSERT INTO repl (battery, kind, n) SELECT 'B1', 'r', i FROM generate_series(1, 10) i"
case_check "then a first statement as origin" repl 10

# Concurrent fresh sessions (-C: a new connection per transaction, so every
# transaction's first statement is the one that loads battledger) on two chains.
cat > "$BL_WORK/one.sql" <<'SQL'
\set b random(1, 2)
INSERT INTO pg (battery, kind, n) SELECT 'B' || :b, 'p', i FROM generate_series(1, 3) i;
SQL
cat > "$BL_WORK/two.sql" <<'SQL'
\set b random(1, 2)
INSERT INTO pg (battery, kind, n) VALUES ('B' || :b, 'q', 1);
INSERT INTO pg (battery, kind, n) VALUES ('B' || :b, 'q', 2);
SQL
total=0
for mode in simple extended prepared; do
    for iso in 'read committed' 'repeatable read' serializable; do
        PGOPTIONS="-c default_transaction_isolation=${iso// /\\ }" \
            timeout 120 "$PG_BIN/pgbench" -n -C -M "$mode" -c 4 -t 15 --max-tries=20 -f "$BL_WORK/one.sql" -f "$BL_WORK/two.sql" hx \
            >>"$BL_WORK/pgbench.out" 2>&1 || { echo "pgbench $mode/$iso:"; tail -3 "$BL_WORK/pgbench.out"; }
    done
done
n=$(q -c "SELECT count(*) FROM pg")
check "concurrent fresh sessions (simple/extended/prepared x 3 isolation levels) wrote rows ($n)" [ "$n" -gt 0 ]
check "concurrent fresh sessions: verify() clean" [ "$(problems pg)" = 0 ]
check "concurrent fresh sessions: chains gapless, no duplicate position, prev links" sound pg


# hv: rows hidden from verify().  A role RLS filters may not verify (it would
# see only part of the chain); a row a superuser writes behind the guards with
# the chain index's maintenance off is still named; rows of an aborted or a
# concurrent uncommitted transaction are not reported as problems.
q <<'SQL'
CREATE ROLE hx_owner LOGIN;
SELECT mk('hv');
ALTER TABLE hv OWNER TO hx_owner;
INSERT INTO hv (battery, kind, n) SELECT 'B' || (i % 3), 'v', i FROM generate_series(1, 30) i;
ALTER TABLE hv ENABLE ROW LEVEL SECURITY;
ALTER TABLE hv FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON hv FOR SELECT USING (battery <> 'B1');
SQL
check "RLS-filtered owner cannot verify a partial view" \
    bash -c '! psql -X -q -At -v ON_ERROR_STOP=1 -d hx -U hx_owner -c "SELECT count(*) FROM battledger.verify('"'hv'"')" >/dev/null 2>&1'
check "superuser verify() of the RLS table is clean" [ "$(problems hv)" = 0 ]
q -c "BEGIN" -c "INSERT INTO hv (battery, kind, n) VALUES ('B1', 'aborted', 0)" -c "ROLLBACK"
check "an aborted row is not a problem" [ "$(problems hv)" = 0 ]
# a concurrent uncommitted row on the chain
( psql -X -q -At -d hx -c "BEGIN" -c "INSERT INTO hv (battery, kind, n) VALUES ('B2', 'open', 0)" -c "SELECT pg_sleep(4)" -c "ROLLBACK" >/dev/null 2>&1 & )
sleep 1.5
check "a concurrent uncommitted row is not a problem" [ "$(timeout 20 psql -X -q -At -d hx -c "SELECT count(*) FROM battledger.verify('hv')")" = 0 ]
sleep 3
# behind the guards: chain trigger off and the chain index not maintained, a forged row
q <<'SQL'
UPDATE pg_index SET indisready = false WHERE indrelid = 'hv'::regclass;
UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'hv'::regclass;
SQL
q -c "INSERT INTO hv SELECT * FROM hv WHERE battery = 'B2' AND ledger_seq = 3" 2>&1 | head -3 || true
q -c "UPDATE pg_trigger SET tgenabled = 'O' WHERE tgrelid = 'hv'::regclass" \
  -c "UPDATE pg_index SET indisready = true WHERE indrelid = 'hv'::regclass"
forged=$(q -c "SELECT count(*) FROM hv")
v=$(q -c "SELECT count(*) FROM battledger.verify('hv')")
check "a forged row written behind the guards is in the table ($forged rows)" [ "$forged" = 31 ]
check "  and verify() names it ($v problems)" [ "$v" -gt 0 ]

# hs: a key whose OpenSSL context one session has cached (it just verified a
# row) is revoked by ANOTHER session; the first session's next row under it
# must be refused, and a bad signature after a good one on the same context too.
q <<'SQL'
CREATE EXTENSION battledger_test_signer;
SET search_path = public, battledger, battledger_test;
SELECT add_member('oem.example', ARRAY['oem']);
SELECT add_key('oem.example', public_key(seed('oem-1')));
CREATE TABLE soh (battery text, soh_pct numeric, note text);
SELECT enable_ledger('soh', 'battery', signed => true, signer_roles => ARRAY['oem']);
CREATE FUNCTION public.signed_soh(seedname text, battery text, soh_pct numeric, note text) RETURNS soh
LANGUAGE plpgsql SET search_path = public, battledger, battledger_test AS $$
DECLARE r soh := jsonb_populate_record(NULL::soh, jsonb_build_object('battery', battery, 'soh_pct', soh_pct, 'note', note));
BEGIN
    r.ledger_key_id := key_id(public_key(seed(seedname)));
    r.ledger_sig := sign(seed(seedname), signing_bytes(r));
    RETURN r;
END $$;
SQL
out=$(psql -X -q -At -d hx 2>&1 <<'SQL' || true
INSERT INTO soh SELECT (signed_soh('oem-1', 'B1', 100, 'good')).*;
INSERT INTO soh (battery, soh_pct, note, ledger_key_id, ledger_sig)
    SELECT battery, 50, note, ledger_key_id, ledger_sig FROM signed_soh('oem-1', 'B1', 90, 'altered');
\! psql -X -q -At -d hx -c "SELECT battledger.revoke_key(battledger.key_id(battledger_test.public_key(battledger_test.seed('oem-1'))))" >/dev/null
INSERT INTO soh SELECT (signed_soh('oem-1', 'B1', 99, 'after revocation elsewhere')).*;
SELECT 'rows=' || count(*) FROM soh;
SQL
)
check "a bad signature after a good one on the same cached context is refused" grep -q 'does not verify' <<<"$out"
check "a key revoked by another session is refused in a session that cached it" grep -q 'signed with a revoked key' <<<"$out"
check "  and only the good row was written" grep -qx 'rows=1' <<<"$out"
printf "%s\n" "$out" | sed "s/^/#   /"
check "signed table verify() clean" [ "$(problems soh)" = 0 ]

exit $fail
