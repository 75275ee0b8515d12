#!/usr/bin/env bash
# rt26 (0.26.0 opened on 0.25.0's code, fc1067e): red team of what 0.25.0
# added.  FAIL = an open hole, ok = holds.  Clusters: RT26_PORT (default
# 57220: a single server with the sealing worker) and RT26_PORT+10..+12
# (members c, m, f of test/lib/redteam.sh's rt_three_members).
#  W   the sealing worker against its database's owner (no superuser):
#      W1 ALTER DATABASE ... SET role = <owner> and W2 ... SET
#      session_authorization = <owner> are applied to the worker's
#      connection (BackgroundWorkerInitializeConnection() reads
#      pg_db_role_setting, as for any backend); the worker's overrides
#      (src/pg/worker.c) cover isolation, timeouts and read-only but not
#      who it runs as: every seal() fails "permission denied for function
#      seal" (retried every 10 s), the log stops.
#  G   a member's application (a plain role with its key, rules on) SETs
#      gin_fuzzy_search_limit = 1 (and enable_seqscan = off) in its own
#      session: _lot_ledger() finds a lot's consumers through the GIN index
#      battery_event_lots, which then returns a random subset of them, so
#      the writer's mass balance (BL033) undercounts the lot's uses and
#      accepts uses past its mass; lot_available_kg() goes negative (the
#      rows are signed and replicate as any accepted row).  The effect is
#      the documented residual "The mass balance itself is the writer's
#      rule" (a holder bypassing its rules, its own lot), reached here
#      without a bypass: the writer's rule does not hold for an application.
#  R   the same setting stops the apply workers of a member (PostgreSQL's,
#      whose connection reads it too): every row from a peer fails
#      ("permission denied for table peer_arrival"); consortium_status()
#      said "failing ... (server log)" without naming the setting.
#      Not preventable by the extension (PostgreSQL's worker, no hook
#      loaded in the owner's session): since 0.26.0 R1 checks the status
#      names it ("runs as another role") with its RESET, R2 that the rows
#      arrive once it is reset as the reason says (both FAIL on 0.25.0).
#  A   BL045 at the writer for a member's application (a plain role with
#      its member's key, rules on): a multi-row INSERT, a COPY, an INSERT
#      ... ON CONFLICT DO NOTHING naming one commitment twice, and a row
#      naming a commitment another member's replicated row names, are
#      refused; a row written again after a rolled-back savepoint counts.
#  D   a disclosure's life (authority tier updated to legitimate interest,
#      erased, disclosed again, upserted back to authority, erased and
#      restored around a savepoint, TRUNCATE): the usage state equals a
#      recomputation after each step (usage_state_check()) and shows the
#      report only while a legitimate-interest disclosure is held.
#  P   the C entry points 0.25.0 added (_usage_reports_latest(),
#      _usage_disclosure_latest(), _background_workers()) and the fold's
#      new internals are not executable by a plain role; NULL gives NULL;
#      at READ COMMITTED the _latest() pair returns NULL, at REPEATABLE READ
#      what is committed; no crash.
# Tried and held, not scripted: standard_conforming_strings = off in an
# application's session turns _text_id_key()'s '(01)' expressions into an
# error (its own writes refused), operator_id()'s '[\s-]' into '[s-]'
# (its own canonical ids differ): no bypass found; a backdated revocation of the key that
# signed a battery's lifecycle rows left its cached fold equal to a fold
# from scratch at the writer and at a replica; _fold_deps() was read
# against every read of _battery_verdict()/_battery_fold() (keys view,
# _member_hosts, _id_owners(), handover target, passport holders) and no
# unnamed input was found; seal() reads dbo-owned ledger tables as their
# owner in a restricted operation, and the worker's own query names
# battledger.seal() qualified (search_path set by the owner is harmless).
# Results, PostgreSQL 15, 2026-12-07, main 93d77e3 (= fc1067e's code):
# 5 FAILs (W1, W2, G1, R1, R2), 28 cases ok; about 80 s.  Fixed in 0.26.0:
# W1, W2 (src/pg/worker.c), G1 (gin_fuzzy_search_limit pinned to 0 by the
# functions that decide through GIN), R1, R2 (consortium_status()).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/redteam.sh"
P=${RT26_PORT:-57220}

# ------------------------------------------------------------------ W
bl_scratch
bl_start_cluster w "$P" "$(bl_test_log_conf rt26.test/log)
shared_preload_libraries = 'battledger'
battledger.seal_database = 'ledger'
battledger.seal_interval = 1"
wq() { psql -X -q -At -h "$BL_WORK" -p "$P" "$@"; }
wq -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE dbo LOGIN" -c "CREATE DATABASE ledger OWNER dbo"
wq -v ON_ERROR_STOP=1 -d ledger >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, v int);
SELECT battledger.enable_ledger('reading', 'battery');
SQL
drained() {  # $1: tag; 50 rows, then waits up to 8 s for the queue to empty
  wq -d ledger -c "SET ROLE NONE" -c "INSERT INTO reading SELECT '$1' || (i % 3), i FROM generate_series(1, 50) i" >/dev/null
  for _ in $(seq 16); do
    [ "$(wq -d ledger -c "SET ROLE NONE" -c "SELECT count(*) FROM battledger.log_pending")" = 0 ] && { echo yes; return; }
    sleep 0.5
  done
  echo no
}
wrestart() { as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/w" -l "$BL_WORK/w.log" -w restart >/dev/null; sleep 1; }
sleep 10   # the worker retries every 10 s until the database exists
check "W0 the worker seals" "$(drained a)" yes
# W1: the owner (no superuser) makes every connection to its database,
# the worker's included, take its own role
PGUSER=dbo wq -v ON_ERROR_STOP=1 -d ledger -c "ALTER DATABASE ledger SET role = dbo"
wrestart
check "W1 owner's ALTER DATABASE SET role = dbo: the worker still seals" "$(drained b)" yes
grep -q 'permission denied for function seal' "$BL_WORK/w.log" && echo "     (server log: $(grep -m1 'permission denied for function seal' "$BL_WORK/w.log" | cut -c25-))"
wq -d ledger -c "SET ROLE NONE" -c "ALTER DATABASE ledger RESET ALL" >/dev/null
wrestart
check "W1b (reset: the worker seals again)" "$(drained c)" yes
PGUSER=dbo wq -v ON_ERROR_STOP=1 -d ledger -c "ALTER DATABASE ledger SET session_authorization = dbo"
wrestart
check "W2 owner's ALTER DATABASE SET session_authorization = dbo: the worker still seals" "$(drained d)" yes
wq -d ledger -c "ALTER DATABASE ledger RESET ALL" >/dev/null

# ------------------------------------------------------------------ G
# The mass balance is the writer's rule (docs/security.md, "The mass
# balance itself is the writer's rule"): an application (a plain role with
# its member's key, rules on) may not consume more of a lot than it has
# left (BL033).  _lot_ledger() finds a lot's consumers through the GIN
# index battery_event_lots, and gin_fuzzy_search_limit (any role may SET
# it) makes a GIN scan return a random subset of the matches: with it at 1
# (and enable_seqscan off, so that the small table is read by the index)
# the writer sees about one consumer of the lot, the rest undercounted.
# Member x.example (miner, cell maker) makes lot L1 of 10 kg and three
# batteries of 3 kg each (1 kg left); VACUUM (autovacuum's work) moves the
# index's pending entries into the tree, which the fuzzy limit reduces.
wq -v ON_ERROR_STOP=1 -d ledger >/dev/null <<SQL
CREATE EXTENSION battledger_test_signer;
\i $BL_SIGNED_WRITERS
SELECT battledger.add_member('x.example', ARRAY['miner', 'cell_maker']), battledger.add_key('x.example', $(pub x-1), now() - interval '1 hour');
CREATE FUNCTION public.lot(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE r battledger.lot_event := jsonb_populate_record(NULL::battledger.lot_event,
    j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.lot_event SELECT r.*; END \$\$;
SELECT model('x-1', '{"model_id": "X-M", "manufacturer": "x.example", "category": "ev", "chemistry": "LFP", "rated_capacity_ah": 280}'::jsonb);
SELECT lot('x-1', '{"lot_id": "L1", "event": "extracted", "material": "lithium", "mass_kg": 10, "country": "CL", "occurred_at": "2026-01-01T00:00:00Z"}');
SELECT ev('x-1', jsonb_build_object('battery_id', 'iso15459:UN/043325711/P' || i, 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z',
                                    'model_id', 'X-M', 'lots', '[{"lot": "L1", "mass_kg": 3}]'::jsonb)) FROM generate_series(1, 3) i;
CREATE ROLE app LOGIN;
GRANT USAGE ON SCHEMA battledger_test TO app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA battledger_test TO app;
VACUUM battledger.battery_event;
SQL
consume() {  # the application's manufacture $1 taking 3 kg of L1, with the session settings $2
  PGUSER=app wq -d ledger -c "$2" -c "SELECT public.ev('x-1', jsonb_build_object('battery_id', 'iso15459:UN/043325711/$1', 'event', 'manufactured',
    'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'X-M', 'lots', '[{\"lot\": \"L1\", \"mass_kg\": 3}]'::jsonb))" 2>&1 | grep -m1 -c 'mass balance'
}
check "G0 app: a 4th use of 3 kg of L1 (1 kg left) is refused (BL033)" "$(consume P4 'SET enable_seqscan = off')" 1
n=0; for i in 5 6 7 8 9; do [ "$(consume "P$i" 'SET enable_seqscan = off; SET gin_fuzzy_search_limit = 1')" = 0 ] && n=$((n + 1)); done
check "G1 app with SET gin_fuzzy_search_limit = 1: no use past L1's balance accepted (of 5 tries)" "$n" 0
echo "     (L1's kilograms left now: $(wq -d ledger -c "SELECT battledger.lot_available_kg('L1')"))"
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/w" -m fast stop >/dev/null

# ------------------------------------------------------------------ members
rt_three_members $((P + 10))
C=gs1:01/09521230000017/21
q c -c "SELECT model('cell-1', '{\"model_id\": \"CELL-M\", \"manufacturer\": \"cell.example\", \"category\": \"ev\", \"chemistry\": \"LFP\", \"rated_capacity_ah\": 280}'::jsonb)" >/dev/null
for b in B1 B2; do
  q c -c "SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/$b', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M'))" \
      -c "SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/$b', 'event', 'placed_on_market', 'passport_id', 'urn:bp:$b', 'occurred_at', '2026-01-10T00:00:00Z'))" >/dev/null
done
# c's application: a plain role holding its member's signing key (TEST
# ONLY: the test signer's functions stand in for the application's signer)
q c >/dev/null <<'SQL'
CREATE ROLE app LOGIN;
GRANT USAGE ON SCHEMA battledger_test TO app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA battledger_test TO app;
-- sr(m, j): a battery_event row signed by m, not inserted
CREATE FUNCTION public.sr(m text, j jsonb) RETURNS battledger.battery_event LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event,
    j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN
    r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r));
    RETURN r;
END $$;
CREATE TABLE public.val AS SELECT n, sha256(convert_to('rt26:' || n, 'UTF8')) AS salt,
       jsonb_build_object('cycle', jsonb_build_object('type', 'discharge', 'ah', 100, 'wh', 300, 'capacity_ah', 280 - 10 * n, 'v_min', 3.0)) AS v
  FROM generate_series(1, 9) n;
GRANT SELECT ON public.val TO app;
SQL
qa() { psql -X -q -At -h "$BL_WORK" -p "${PORT[c]}" -U app -d bl "$@"; }
cm() { q c -c "SELECT battledger.commitment(salt, v)::text FROM public.val WHERE n = $1"; }
disclose() { q c -c "INSERT INTO battledger.disclosure SELECT battledger.commitment(salt, v), '${2:-legitimate_interest}', salt, v FROM public.val WHERE n = $1" >/dev/null; }
rows_of() { q c -c "SELECT count(*) FROM battledger.battery_event WHERE restricted OPERATOR(battledger.=) '$(cm "$1")'"; }
two() {  # the SELECT of two signed usage reports of B1 and B2 naming commitment $1
  echo "SELECT (public.sr('cell-1', jsonb_build_object('battery_id', b, 'event', 'soh_reported', 'occurred_at', '2026-02-01T00:00:00Z', 'restricted', '$(cm "$1")'))).* FROM (VALUES ('$C/B1'), ('$C/B2')) v(b)"
}
refused() {  # accepted | refused (BL045) | refused: <another error>
  local e; if e=$("$@" 2>&1 >/dev/null); then echo accepted
  elif grep -q 'is named by an event already' <<<"$e"; then echo refused; else echo "refused: $(grep -m1 ERROR <<<"$e")"; fi
}

# ------------------------------------------------------------------ A
disclose 1
check "A1 app: one INSERT naming commitment 1 for two batteries is refused (BL045 sees the statement's first row)" \
  "$(refused qa -v ON_ERROR_STOP=1 -c "INSERT INTO battledger.battery_event $(two 1)")|$(rows_of 1)" "refused|0"
qa -c "COPY ($(two 1)) TO STDOUT" > "$BL_WORK/two.copy"
check "A2 app: COPY of the two rows is refused" \
  "$(refused qa -v ON_ERROR_STOP=1 -c "COPY battledger.battery_event FROM STDIN" < "$BL_WORK/two.copy")|$(rows_of 1)" "refused|0"
check "A3 app: INSERT ... ON CONFLICT DO NOTHING of the two rows is refused" \
  "$(refused qa -v ON_ERROR_STOP=1 -c "INSERT INTO battledger.battery_event $(two 1) ON CONFLICT DO NOTHING")|$(rows_of 1)" "refused|0"
one() { echo "SELECT public.ev('cell-1', jsonb_build_object('battery_id', '$C/$2', 'event', 'soh_reported', 'occurred_at', '2026-02-01T00:00:00Z', 'restricted', '$(cm "$1")'))"; }
qa -v ON_ERROR_STOP=1 -c "BEGIN" -c "SAVEPOINT s" -c "$(one 1 B2)" -c "ROLLBACK TO s" -c "$(one 1 B1)" -c "COMMIT" >/dev/null 2>&1
check "A4 app: a row rolled back to a savepoint leaves the commitment free; the row written after it counts" \
  "$(rows_of 1)|$(q c -c "SELECT reports FROM battledger.usage_derived('$C/B1') WHERE key = 'soh_pct'")" "1|1"
# m's application copies c's commitment from the replicated row
bl_wait_for m "SELECT count(*) = 1 FROM battledger.battery_event WHERE restricted OPERATOR(battledger.=) '$(cm 1)'" >/dev/null
q m -c "SELECT model('mal-1', '{\"model_id\": \"MAL-M\", \"manufacturer\": \"mal.example\", \"category\": \"ev\", \"chemistry\": \"LFP\", \"rated_capacity_ah\": 280}'::jsonb)" \
    -c "SELECT ev('mal-1', jsonb_build_object('battery_id', 'iso15459:UN/043325711/M1', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'MAL-M'))" \
    -c "SELECT ev('mal-1', jsonb_build_object('battery_id', 'iso15459:UN/043325711/M1', 'event', 'placed_on_market', 'passport_id', 'urn:bp:M1', 'occurred_at', '2026-01-10T00:00:00Z'))" >/dev/null 2>&1
check "A5 m's application naming c's replicated commitment for its own battery is refused" \
  "$(refused q m -c "SELECT ev('mal-1', jsonb_build_object('battery_id', 'iso15459:UN/043325711/M1', 'event', 'soh_reported', 'occurred_at', '2026-03-01T00:00:00Z', 'restricted', '$(cm 1)'))")" refused

# ------------------------------------------------------------------ D
state() { q c -c "SELECT (SELECT count(*) FROM battledger.usage_state_check()) || ':' ||
                         coalesce((SELECT value || '@' || reports FROM battledger.usage_derived('$C/B2') WHERE key = 'soh_pct'), 'none')"; }
disclose 5 authority
qa -v ON_ERROR_STOP=1 -c "$(one 5 B2)" >/dev/null
check "D1 report 5 disclosed to authorities only: no usage" "$(state)" "0:none"
q c -c "UPDATE battledger.disclosure SET tier = 'legitimate_interest' WHERE commitment OPERATOR(battledger.=) '$(cm 5)'" >/dev/null
check "D2 the disclosure's tier updated to legitimate interest: counted, state = recomputation" "$(state)" "0:82.14@1"
q c -c "DELETE FROM battledger.disclosure WHERE commitment OPERATOR(battledger.=) '$(cm 5)'" >/dev/null
check "D3 erased: not counted" "$(state)" "0:none"
disclose 5
check "D4 disclosed again: counted" "$(state)" "0:82.14@1"
q c -c "INSERT INTO battledger.disclosure SELECT battledger.commitment(salt, v), 'authority', salt, v FROM public.val WHERE n = 5
        ON CONFLICT (commitment) DO UPDATE SET tier = EXCLUDED.tier" >/dev/null
check "D5 upserted back to authority: not counted" "$(state)" "0:none"
q c -c "BEGIN" -c "DELETE FROM battledger.disclosure WHERE commitment OPERATOR(battledger.=) '$(cm 5)'" \
    -c "INSERT INTO battledger.disclosure SELECT battledger.commitment(salt, v), 'legitimate_interest', salt, v FROM public.val WHERE n = 5" \
    -c "SAVEPOINT s" -c "DELETE FROM battledger.disclosure WHERE commitment OPERATOR(battledger.=) '$(cm 5)'" -c "ROLLBACK TO s" -c "COMMIT" >/dev/null
check "D6 erased and restored around a savepoint: counted" "$(state)" "0:82.14@1"
q c -c "TRUNCATE battledger.disclosure" >/dev/null
check "D7 TRUNCATE of the disclosures: nothing counted" "$(state)|$(q c -c "SELECT count(*) FROM battledger.usage_derived('$C/B1') WHERE key = 'soh_pct'")" "0:none|0"

# ------------------------------------------------------------------ P
cp0=$(q c -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
# (0.26.0: _usage_reports_latest() is _commitment_rows(c, limit, true), mend26)
for f in "_commitment_rows('$(cm 1)', 3, true)" "_usage_disclosure_latest('$(cm 1)')" "_background_workers()" "_usage_lock('$(cm 1)')" \
         "_fold_deps('$C/B1', NULL, NULL, NULL, NULL)" "_fold_dep_sum('{*}')" "_usage_contested('$C/B1')" "_fold_ns_subject('gs1:0952')"; do
  check "P1 a plain role cannot call battledger.${f%%(*}()" \
    "$(qa -c "SELECT battledger.$f" 2>&1 | grep -c 'permission denied')" 1
done
disclose 1
check "P2 NULL arguments: NULL" "$(q c -c "SELECT battledger._commitment_rows(NULL, 3, true) IS NULL AND battledger._usage_disclosure_latest(NULL) IS NULL")" t
check "P3 at READ COMMITTED the _latest() pair returns NULL" \
  "$(q c -c "SELECT battledger._commitment_rows('$(cm 1)', 3, true) IS NULL AND battledger._usage_disclosure_latest('$(cm 1)') IS NULL")" t
check "P4 at REPEATABLE READ: what is committed (1 row, the disclosure)" \
  "$(q c -c "BEGIN ISOLATION LEVEL REPEATABLE READ" -c "SELECT battledger._commitment_rows('$(cm 1)', 3, true) || ':' || (battledger._usage_disclosure_latest('$(cm 1)') = (SELECT v FROM public.val WHERE n = 1))" -c "COMMIT")" "1:true"
check "P5 _background_workers() counts the apply workers and launcher (>= 3)" "$(q c -c "SELECT battledger._background_workers() >= 3")" t
check "P6 no crash" "$(q c -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")" "$cp0"

# ------------------------------------------------------------------ R
# f's database owned by a role without superuser, which sets its own role
# for every connection to it, the apply workers' included
q f -c "CREATE ROLE dbo LOGIN" -c "ALTER DATABASE bl OWNER TO dbo" >/dev/null
psql -X -q -h "$BL_WORK" -p "${PORT[f]}" -U dbo -d bl -c "ALTER DATABASE bl SET role = dbo"
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/f" -l "$BL_WORK/f.log" -w restart >/dev/null
q c -c "SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/B2', 'event', 'negative_event', 'occurred_at', '2026-06-01T00:00:00Z', 'data', jsonb_build_object('kind', 'rt26')))" >/dev/null
n=$(q c -c "SELECT count(*) FROM battledger.battery_event WHERE ledger_origin = 'c.example/log'")
# PostgreSQL's apply worker takes the setting and applies c's rows as dbo,
# which may not write battledger's tables: nothing the extension runs can
# stop it (it needs no preloading, so no hook sees the owner's ALTER
# DATABASE).  Detected instead (0.26.0): f's status names the setting
# with the statement that resets it, and the rows arrive once it is reset.
bl_wait_for f "SET ROLE NONE; SELECT state = 'runs as another role' FROM battledger.consortium_status() WHERE member = 'c.example/log'" 30 >/dev/null
r=$(q f -c "SET ROLE NONE" -c "SELECT state || ': ' || coalesce(reason, '') FROM battledger.consortium_status() WHERE member = 'c.example/log'")
echo "     (f's status of c: $r)"
check "R1 owner's ALTER DATABASE SET role = dbo at f: f's consortium_status() names it and its RESET" \
  "$(grep -c '^runs as another role: .*role=dbo (ALTER DATABASE bl RESET role)' <<<"$r")" 1
q f -c "SET ROLE NONE" -c "ALTER DATABASE bl RESET role" >/dev/null
q f -c "SET ROLE NONE" -c "ALTER SUBSCRIPTION $(q f -c "SET ROLE NONE" -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'c.example/log'") DISABLE" \
    -c "ALTER SUBSCRIPTION $(q f -c "SET ROLE NONE" -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'c.example/log'") ENABLE" >/dev/null
bl_wait_for f "SELECT count(*) >= $n FROM battledger.battery_event WHERE ledger_origin = 'c.example/log'" 300 || true
echo "     (f's status of c after the reset: $(q f -c "SELECT state || ': ' || coalesce(reason, '') FROM battledger.consortium_status() WHERE member = 'c.example/log'"))"
check "R2 ... reset as the reason says: c's rows reach f, and its status leaves that state" \
  "$(q f -c "SELECT count(*) >= $n FROM battledger.battery_event WHERE ledger_origin = 'c.example/log'")|$(q f -c "SELECT state <> 'runs as another role' FROM battledger.consortium_status() WHERE member = 'c.example/log'")" "t|t"
q f -c "ALTER DATABASE bl RESET ALL" -c "ALTER DATABASE bl OWNER TO postgres" >/dev/null

exit $FAILS
