#!/usr/bin/env bash
# The signature's unique index, partial since 0.13.0 (issue 15): a signed
# ledger table refuses a replayed signature with a unique index on ledger_sig
# WHERE ledger_sig IS NOT NULL, so batch-signed rows (ledger_sig NULL) cost
# it no entry.  This test installs 0.12.0 (its frozen script, with the
# library being tested), where the index is a UNIQUE constraint's, and
#   1. fills two signed tables of different owners and schemas (one with a
#      63-character name, whose constraint PostgreSQL named by truncation)
#      with per-row-signed and batch-signed rows, seals them into the log;
#   2. runs ALTER EXTENSION battledger UPDATE while a session that opened
#      before it keeps inserting signed rows and batches, committing each;
#   3. checks that every registered signed table, the extension's own too,
#      now has exactly the partial index, under the constraint's old name,
#      and no unique constraint on ledger_sig; that rows, hashes, signatures,
#      leaves and the checkpoint's root are byte-identical to before; that
#      the writer lost nothing and verify()/verify_log() find no problem;
#   4. replays a signature as a plain role with INSERT, as the table's owner
#      and as a superuser (refused each time), and with ON CONFLICT naming
#      the index's predicate or no target (skipped), and checks that batch rows
#      added after the upgrade take no entry in the index (ANALYZE counts
#      a partial index's entries from the rows its predicate admits);
#   5. enables a new signed table: it gets the same partial index.
# SIG_INDEX_PORT sets the cluster's port (default 56181).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; else echo "FAIL - $what"; fail=1; fi; }

bl_scratch
bl_start_cluster sigidx "${SIG_INDEX_PORT:-56181}" "$(bl_test_log_conf sigidx.test/log)"
createdb sigidx
q() { timeout 300 psql -X -q -At -v ON_ERROR_STOP=1 -d sigidx "$@"; }
long=$(printf 'l%.0s' $(seq 63))   # a 63-character table name
q <<SQL >/dev/null
CREATE EXTENSION battledger VERSION '0.12.0';
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
ALTER DATABASE sigidx SET search_path = public, battledger, battledger_test;
SET search_path = public, battledger, battledger_test;
SELECT add_member('m.example', ARRAY['oem']);
SELECT add_key('m.example', public_key(seed('m-1')));
CREATE ROLE alice; CREATE ROLE bob; CREATE ROLE plain;
GRANT CREATE ON SCHEMA public TO alice;
CREATE SCHEMA "Other Sch" AUTHORIZATION bob;
GRANT USAGE ON SCHEMA "Other Sch" TO plain;
SET ROLE alice;
CREATE TABLE public.soh (battery text, soh numeric);
SELECT enable_ledger('public.soh', 'battery', signed => true, signer_roles => ARRAY['oem']);
GRANT INSERT, SELECT ON public.soh TO plain;
SET ROLE bob;
CREATE TABLE "Other Sch"."$long" (battery text, soh numeric);
SELECT enable_ledger('"Other Sch"."$long"', 'battery', signed => true, signer_roles => ARRAY['oem']);
GRANT INSERT, SELECT ON "Other Sch"."$long" TO plain;
RESET ROLE;

-- one per-row-signed row
CREATE FUNCTION put_signed(tbl regclass, b text, v numeric) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
    kid hash256 := key_id(public_key(seed('m-1')));
    sb bytea;
BEGIN
    EXECUTE format('SELECT signing_bytes(r) FROM jsonb_populate_record(NULL::%s, \$1) r', tbl)
       INTO sb USING jsonb_build_object('battery', b, 'soh', v, 'ledger_key_id', kid::text);
    EXECUTE format('INSERT INTO %s (battery, soh, ledger_key_id, ledger_sig) VALUES (\$1, \$2, \$3, \$4)', tbl)
      USING b, v, kid, sign(seed('m-1'), sb);
END \$\$;
-- a signed batch of n rows (checked at commit)
CREATE FUNCTION put_batch(tbl regclass, bid text, n int) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
    kid hash256 := key_id(public_key(seed('m-1')));
    root hash256;
BEGIN
    EXECUTE format('SELECT batch_root(array_agg(sha256(signing_bytes(r))::hash256))
                      FROM (SELECT jsonb_populate_record(NULL::%s, jsonb_build_object(''battery'', \$1 || i,
                                   ''soh'', i, ''ledger_key_id'', \$2::text, ''ledger_batch'', \$1)) r
                              FROM generate_series(1, \$3) i) s', tbl) INTO root USING bid, kid, n;
    INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
    SELECT bid, quote_ident(ns.nspname) || '.' || quote_ident(c.relname), kid, n, root, sign(seed('m-1'), batch_manifest(tbl, bid, n, root))
      FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE c.oid = tbl;
    EXECUTE format('INSERT INTO %s (battery, soh, ledger_key_id, ledger_batch)
                    SELECT \$1 || i, i, \$2, \$1 FROM generate_series(1, \$3) i', tbl) USING bid, kid, n;
END \$\$;
SQL
T1=public.soh
T2="\"Other Sch\".\"$long\""
for t in "$T1" "$T2"; do
  for i in $(seq 1 20); do q -c "SELECT put_signed('$t', 'B$i', $i)" >/dev/null; done
  q -c "SELECT put_batch('$t', 'pre-$(echo "$t" | md5sum | cut -c1-8)', 200)" >/dev/null
done
q -c "SELECT battledger.seal()" >/dev/null

rows() { q -c "SELECT string_agg(battery || '|' || soh || '|' || ledger_origin || '|' || ledger_seq || '|' || ledger_prev::text || '|' ||
                 ledger_hash::text || '|' || coalesce(encode(ledger_sig, 'hex'), '-') || '|' || coalesce(ledger_batch, '-') || '|' || ledger_at,
                 ',' ORDER BY battery, ledger_origin, ledger_seq) FROM $1 WHERE battery NOT LIKE 'W%'"; }
leaves() { q -c "SELECT md5(string_agg(l::text, ',' ORDER BY l::text)) FROM battledger.log_leaf l"; }
root() { q -c "SELECT md5(string_agg(c::text, ',' ORDER BY c::text)) FROM battledger.checkpoint c"; }
names() { q -c "SELECT string_agg(i.indexrelid::regclass::text, ',' ORDER BY l.tbl::text)
                  FROM battledger.ledger_tables l JOIN pg_index i ON i.indrelid = l.tbl
                  JOIN pg_attribute a ON a.attrelid = l.tbl AND a.attnum = i.indkey[0] AND a.attname = 'ledger_sig'
                 WHERE l.signer_roles IS NOT NULL"; }
before1=$(rows "$T1"); before2=$(rows "$T2"); leaves0=$(leaves); root0=$(root); names0=$(names)
check "0.12.0: signed tables have a UNIQUE constraint on ledger_sig" \
  [ "$(q -c "SELECT count(*) FROM pg_constraint WHERE contype = 'u' AND conrelid IN ('$T1'::regclass, '$T2'::regclass)")" = 2 ]

# 2. a writer, connected before the update, inserting throughout it
q -c "CREATE PROCEDURE writer(n int) LANGUAGE plpgsql AS \$\$
      BEGIN
          FOR i IN 1 .. n LOOP
              PERFORM put_signed('public.soh', 'W' || i, i);
              IF i % 20 = 0 THEN PERFORM put_batch('public.soh', 'W-batch-' || i, 50); END IF;
              COMMIT;
              PERFORM pg_sleep(0.01);
          END LOOP;
      END \$\$" >/dev/null
( q -c "CALL writer(300)" > "$BL_WORK/writer.out" 2>&1; echo $? > "$BL_WORK/writer.rc" ) &
writer=$!
wrows() { q -c "SELECT count(*) FROM soh WHERE battery LIKE 'W%' AND ledger_sig IS NOT NULL"; }
sleep 1
w0=$(wrows)
q -c "ALTER EXTENSION battledger UPDATE TO '0.13.0'"
w1=$(wrows)
wait $writer
check "the writer inserted before the update began ($w0 rows) and after it ended ($w1 of 300)" \
  test "$w0" -gt 0 -a "$w1" -lt 300
check "the writer ran through the update ($(cat "$BL_WORK/writer.out"))" [ "$(cat "$BL_WORK/writer.rc")" = 0 ]
check "the writer's rows are all there (300 signed, 15 batches of 50)" \
  [ "$(q -c "SELECT count(*) FILTER (WHERE ledger_sig IS NOT NULL) || '/' || count(*) FILTER (WHERE ledger_batch IS NOT NULL) FROM soh WHERE battery LIKE 'W%'")" = "300/750" ]

# 3. every registered signed table: the partial index, the old name, no constraint
check "every signed table has exactly one unique index on ledger_sig, partial" \
  [ "$(q -c "SELECT count(*) FILTER (WHERE n = 1 AND p) || '/' || count(*) FROM (
             SELECT l.tbl, count(i.indexrelid) AS n,
                    bool_and(i.indisunique AND i.indisvalid AND pg_get_expr(i.indpred, i.indrelid) = '(ledger_sig IS NOT NULL)') AS p
               FROM battledger.ledger_tables l
               LEFT JOIN pg_attribute a ON a.attrelid = l.tbl AND a.attname = 'ledger_sig'
               LEFT JOIN pg_index i ON i.indrelid = l.tbl AND i.indkey[0] = a.attnum AND i.indnkeyatts = 1
              WHERE l.signer_roles IS NOT NULL GROUP BY l.tbl) s")" = "6/6" ]
check "no unique constraint on ledger_sig is left" \
  [ "$(q -c "SELECT count(*) FROM pg_constraint c JOIN battledger.ledger_tables l ON l.tbl = c.conrelid WHERE c.contype = 'u'
             AND c.conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = l.tbl AND attname = 'ledger_sig')]")" = 0 ]
check "the indexes keep the constraints' names ($names0)" [ "$(names)" = "$names0" ]
check "the indexes belong to the tables' owners" \
  [ "$(q -c "SELECT string_agg(c.relowner::regrole::text, ',' ORDER BY c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid IN ('$T1'::regclass, '$T2'::regclass) AND i.indpred IS NOT NULL AND NOT c.relname LIKE '%batch%'")" = "bob,alice" ]
check "rows of public.soh byte-identical" [ "$(rows "$T1")" = "$before1" ]
check "rows of the other schema's table byte-identical" [ "$(rows "$T2")" = "$before2" ]
check "log leaves and checkpoints unchanged" [ "$(leaves) $(root)" = "$leaves0 $root0" ]
q -c "SELECT battledger.seal()" >/dev/null
check "verify() clean on both tables" \
  [ "$(q -c "SELECT (SELECT count(*) FROM verify('$T1')) + (SELECT count(*) FROM verify('$T2'))")" = 0 ]
check "verify_log(true) clean" [ "$(q -c "SELECT count(*) FROM verify_log(true)")" = 0 ]

# 4. a signature is accepted once, whoever replays it
replay() { q -c "SET ROLE $1" -c "INSERT INTO $2 (battery, soh, ledger_key_id, ledger_sig)
                                  SELECT battery, soh, ledger_key_id, ledger_sig FROM $2 WHERE battery = 'B7'" 2>&1 || true; }
for t in "$T1" "$T2"; do
  owner=$(q -c "SELECT relowner::regrole FROM pg_class WHERE oid = '$t'::regclass")
  for who in plain "$owner" postgres; do
    out=$(replay "$who" "$t")
    check "replay into $t as $who refused by the signature's index" \
      grep -q 'duplicate key value violates unique constraint' <<<"$out"
  done
done
# an idempotent re-send names the index's predicate (ON CONFLICT infers a
# partial index only from it); without a target it skips as before
check "ON CONFLICT (ledger_sig) WHERE ledger_sig IS NOT NULL DO NOTHING skips a replay" \
  [ "$(q -c "WITH i AS (INSERT INTO soh (battery, soh, ledger_key_id, ledger_sig) SELECT battery, soh, ledger_key_id, ledger_sig
             FROM soh WHERE battery = 'B7' ON CONFLICT (ledger_sig) WHERE ledger_sig IS NOT NULL DO NOTHING RETURNING 1)
             SELECT count(*) FROM i")" = 0 ]
check "ON CONFLICT DO NOTHING skips a replay" \
  [ "$(q -c "WITH i AS (INSERT INTO soh (battery, soh, ledger_key_id, ledger_sig) SELECT battery, soh, ledger_key_id, ledger_sig
             FROM soh WHERE battery = 'B7' ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM i")" = 0 ]
check "no signature twice" [ "$(q -c "SELECT count(*) - count(DISTINCT ledger_sig) FROM soh WHERE ledger_sig IS NOT NULL")" = 0 ]
q -c "SELECT put_batch('$T2', 'post', 300)" >/dev/null
q -c "ANALYZE $T2"
check "batch rows take no entry in the index (entries = signed rows)" \
  [ "$(q -c "SELECT c.reltuples::bigint = (SELECT count(ledger_sig) FROM $T2) AND c.reltuples < (SELECT count(*) FROM $T2)
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = '$T2'::regclass AND i.indpred IS NOT NULL AND NOT c.relname LIKE '%batch%'")" = t ]

# 5. a table enabled now gets the partial index from the start
q -c "CREATE TABLE fresh (battery text, soh numeric)" \
  -c "SELECT enable_ledger('fresh', 'battery', signed => true, signer_roles => ARRAY['oem'])" >/dev/null
check "a new signed table gets the partial index" \
  [ "$(q -c "SELECT indexdef FROM pg_indexes WHERE tablename = 'fresh' AND indexname = 'fresh_ledger_sig_key'")" = \
    "CREATE UNIQUE INDEX fresh_ledger_sig_key ON public.fresh USING btree (ledger_sig) WHERE (ledger_sig IS NOT NULL)" ]
q -c "SELECT put_signed('fresh', 'F', 1)" >/dev/null
out=$(q -c "INSERT INTO fresh (battery, soh, ledger_key_id, ledger_sig) SELECT battery, soh, ledger_key_id, ledger_sig FROM fresh" 2>&1 || true)
check "a new signed table refuses a replay" grep -q 'duplicate key value violates unique constraint "fresh_ledger_sig_key"' <<<"$out"
exit $fail
