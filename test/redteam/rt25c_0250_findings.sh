#!/usr/bin/env bash
# Red team rt25c (0.25.0): a quick review of main's 00f9216, 5b4e942, 1faabf9.
# FAIL = an open hole, ok = holds.  Clusters on ports 56140 (sealing
# worker) and 56142 (usage_state_rr.sh's setup).
#  R1 (00f9216, a regression: ok on 00f9216^) the report trigger reads the
#     disclosure with the transaction's snapshot first: a report applied at
#     REPEATABLE READ after its disclosure's erasure committed past the
#     snapshot folds the erased values (usage_state_check() names it; a
#     rebuild drops the row).
#  W1 the sealing worker's overrides (5b4e942, 1faabf9) hold against ALTER
#     DATABASE SET by the database's non-superuser owner, but
#     default_transaction_read_only is not overridden: that owner stops the
#     log (every seal fails, retried every 10 s) from the worker's next start.
#     W3: output settings (DateStyle, TimeZone, ...) the owner sets do not
#     change what the worker seals.
#  B1 (00f9216) enable_bitmapscan = off: the erasure trigger's
#     "restricted = old OR restricted = new" (UPDATE of a disclosure's
#     commitment) became a seq scan of battery_event; the other probes keep
#     their index scans (generic plans too).  Since fixed: one array probe
#     (= ANY), checked here in the trigger's form.
#  C1 registry_conflicts()'s commitment_replayed, new form (DISTINCT ON) vs
#     the form before 00f9216, on a scratch table holding the columns it
#     reads (the signer's member stored directly): same rows and messages on
#     three kinds of one commitment, NULL commitments, two origins at equal
#     ledger_at, a tie after the first row.  T1 (not a regression): when the
#     first two rows tie in (ledger_at, ledger_origin, ledger_seq) across
#     batteries, neither form lists the replay.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
fail=0
ok()   { echo "ok   - $1"; }
bad()  { echo "FAIL - $1"; fail=1; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (got '$2', want '$3')"; fi; }

bl_scratch
bl_start_cluster w 56140 "$(bl_test_log_conf rt25c.test/log)
shared_preload_libraries = 'battledger'
battledger.seal_database = 'ledger'
battledger.seal_interval = 1"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE dbo LOGIN" -c "CREATE DATABASE ledger OWNER dbo"
psql -X -q -v ON_ERROR_STOP=1 -d ledger <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, v int);
SELECT battledger.enable_ledger('reading', 'battery');
GRANT INSERT ON reading TO dbo;
SQL
drained() {  # $1: tag; waits up to 8 s for the queue to empty
  PGOPTIONS="-c default_transaction_read_only=off -c statement_timeout=0 -c lock_timeout=0" psql -X -q -d ledger -c "INSERT INTO reading SELECT '$1' || (i % 3), i FROM generate_series(1, 50) i" >/dev/null
  for _ in $(seq 16); do
    [ "$(PGOPTIONS="-c statement_timeout=0" psql -X -At -d ledger -c "SELECT count(*) FROM battledger.log_pending")" = 0 ] && { echo yes; return; }
    sleep 0.5
  done
  echo no
}
restart() { as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/w" -l "$BL_WORK/w.log" -w restart >/dev/null; sleep 1; }
sleep 10   # the worker retries every 10 s until the database exists
check "W0 the worker seals" "$(drained a)" yes
# W1: the non-superuser owner's database settings, taken at the worker's next start
PGUSER=dbo psql -X -q -v ON_ERROR_STOP=1 -d ledger \
  -c "ALTER DATABASE ledger SET default_transaction_isolation = 'serializable'" \
  -c "ALTER DATABASE ledger SET statement_timeout = 1" -c "ALTER DATABASE ledger SET lock_timeout = 1"
restart
check "W1a owner's ALTER DATABASE SET isolation/timeouts: the worker still seals (overrides hold)" "$(drained b)" yes
PGUSER=dbo psql -X -q -v ON_ERROR_STOP=1 -d ledger -c "ALTER DATABASE ledger SET default_transaction_read_only = on"
restart
check "W1b owner's ALTER DATABASE SET default_transaction_read_only = on: the worker still seals" "$(drained c)" yes
grep -q 'read-only transaction' "$BL_WORK/w.log" && echo "     (server log: $(grep -m1 'read-only transaction' "$BL_WORK/w.log"))"
psql -X -q -d postgres -c "ALTER DATABASE ledger RESET ALL" >/dev/null
# W3: output settings the owner may set (the worker's seal hashes rows):
# what it seals under them verifies under the defaults
PGUSER=dbo psql -X -q -v ON_ERROR_STOP=1 -d ledger -c "ALTER DATABASE ledger SET DateStyle = 'SQL, DMY'" \
  -c "ALTER DATABASE ledger SET TimeZone = 'Pacific/Chatham'" -c "ALTER DATABASE ledger SET IntervalStyle = 'sql_standard'" \
  -c "ALTER DATABASE ledger SET extra_float_digits = -15" -c "ALTER DATABASE ledger SET bytea_output = 'escape'"
restart
check "W3a owner's output settings: the worker seals" "$(drained d)" yes
psql -X -q -d postgres -c "ALTER DATABASE ledger RESET ALL" >/dev/null
check "W3b ... and the log verifies under the defaults" "$(psql -X -At -d ledger -c "SELECT count(*) FROM battledger.verify_log()")" 0
check "W2 a non-superuser owner cannot ALTER ROLE postgres SET" \
  "$(PGUSER=dbo psql -X -q -At -d ledger -c "ALTER ROLE postgres SET default_transaction_read_only = on" 2>&1 | grep -c "must be superuser")" 1

# C1: the two forms of commitment_replayed on a scratch table
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
CREATE TABLE be (restricted text, battery_id text, ledger_at timestamptz, ledger_origin text, ledger_seq bigint, event text, member text);
CREATE FUNCTION old_form() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT format('%s|%s|%s|%s|%s|%s|%s', e.battery_id, e.ledger_origin, e.ledger_seq, e.event, o.battery_id, o.ledger_origin, o.ledger_seq || o.event || o.member)
    FROM (SELECT r.restricted FROM be r WHERE r.restricted IS NOT NULL GROUP BY r.restricted HAVING count(*) > 1) twice
    JOIN be e ON e.restricted = twice.restricted
    CROSS JOIN LATERAL (SELECT f.battery_id, f.ledger_origin, f.ledger_seq, f.event, f.member FROM be f
                         WHERE f.restricted = e.restricted
                           AND (f.ledger_at, f.ledger_origin, f.ledger_seq) < (e.ledger_at, e.ledger_origin, e.ledger_seq)
                         ORDER BY f.ledger_at, f.ledger_origin, f.ledger_seq LIMIT 1) o $$;
CREATE FUNCTION new_form() RETURNS SETOF text LANGUAGE sql AS $$
  SELECT format('%s|%s|%s|%s|%s|%s|%s', e.battery_id, e.ledger_origin, e.ledger_seq, e.event, o.battery_id, o.ledger_origin, o.ledger_seq || o.event || o.member)
    FROM (SELECT DISTINCT ON (r.restricted) r.* FROM
            (SELECT t.restricted FROM be t WHERE t.restricted IS NOT NULL GROUP BY t.restricted HAVING count(*) > 1) twice
            JOIN be r ON r.restricted = twice.restricted
           ORDER BY r.restricted, r.ledger_at, r.ledger_origin, r.ledger_seq, r.battery_id) o
    JOIN be e ON e.restricted = o.restricted
     AND (o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id) < (e.ledger_at, e.ledger_origin, e.ledger_seq, e.battery_id) $$;
CREATE FUNCTION same() RETURNS boolean LANGUAGE sql AS $$
  SELECT NOT EXISTS (SELECT * FROM old_form() EXCEPT ALL SELECT * FROM new_form())
     AND NOT EXISTS (SELECT * FROM new_form() EXCEPT ALL SELECT * FROM old_form()) $$;
SQL
c() { psql -X -q -At -d postgres -c "TRUNCATE be" -c "INSERT INTO be VALUES $1" -c "SELECT same() || ':' || (SELECT count(*) FROM old_form()) || ':' || (SELECT count(*) FROM new_form())"; }
T0="'2026-01-01 00:00:00+00'"; T1="'2026-01-01 00:00:01+00'"; T2="'2026-01-01 00:00:02+00'"
check "C1a three rows of one commitment, three kinds: same rows and messages" \
  "$(c "('c1','B1',$T0,'o1',1,'soh_reported','m1'),('c1','B2',$T1,'o2',4,'test_reported','m2'),('c1','B3',$T2,'o1',9,'repurposed','m1')")" "true:2:2"
check "C1b rows with NULL restricted beside a replay: same" \
  "$(c "(NULL,'B1',$T0,'o1',1,'soh_reported','m1'),(NULL,'B2',$T0,'o1',1,'soh_reported','m1'),('c2','B1',$T1,'o1',2,'soh_reported','m1'),('c2','B2',$T2,'o2',2,'soh_reported','m2')")" "true:1:1"
check "C1c two origins, equal ledger_at: same (the later origin listed)" \
  "$(c "('c3','B1',$T0,'o2',7,'soh_reported','m2'),('c3','B2',$T0,'o1',7,'soh_reported','m1')")" "true:1:1"
check "C1d a tie across batteries after the first row: same" \
  "$(c "('c4','B1',$T0,'o1',1,'soh_reported','m1'),('c4','B2',$T1,'o1',5,'soh_reported','m1'),('c4','B3',$T1,'o1',5,'test_reported','m1')")" "true:2:2"
# T1: the first two rows tie (one origin writes two batteries' n-th rows in
# one transaction, equal now()): the form before 00f9216 lists neither; the
# installed form breaks the tie by battery (the later battery listed)
check "T1 two rows of one commitment tied in (ledger_at, origin, seq) across batteries: listed (the new form)" \
  "$(c "('c5','B1',$T0,'o1',3,'soh_reported','m1'),('c5','B2',$T0,'o1',3,'soh_reported','m1')")" "false:0:1"

# B1 (item 3): the erasure trigger's last query under enable_bitmapscan =
# off, on 200,000 synthetic rows (triggers off while loading: a plan
# measurement, not a row anyone could write): restricted = old OR
# restricted = new, which only a BitmapOr reads by index, becomes a seq scan
# of battery_event for an UPDATE changing a disclosure's commitment (the
# table owner's or a superuser's statement: disclosure grants no UPDATE).
psql -X -q -v ON_ERROR_STOP=1 -d ledger >/dev/null <<'SQL'
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.battery_event DISABLE TRIGGER ALL;
INSERT INTO battledger.battery_event (battery_id, event, occurred_at, restricted, ledger_seq, ledger_prev, ledger_hash, ledger_key_id, ledger_at, ledger_origin)
SELECT ('iso15459:UN/043325711/B' || (i % 20000))::text::battledger.battery_id, 'soh_reported', now(),
       encode(sha256(i::text::bytea), 'hex')::battledger.hash256, i, encode(sha256(('p'||i)::bytea),'hex')::battledger.hash256,
       encode(sha256(('h'||i)::bytea),'hex')::battledger.hash256, encode(sha256('k'::bytea),'hex')::battledger.hash256,
       now() + i * interval '1 ms', 'o' || (i % 3)
  FROM generate_series(1, 200000) i;
ANALYZE battledger.battery_event;
SQL
plan() { psql -X -q -At -d ledger -c "SET enable_bitmapscan = off" -c "PREPARE q(battledger.hash256, battledger.hash256, text) AS
  SELECT DISTINCT r.battery_id FROM battledger.battery_event r WHERE r.event = 'soh_reported'
     AND r.restricted OPERATOR(battledger.=) ANY (CASE WHEN \$3 = 'UPDATE' THEN ARRAY[\$1, \$2] ELSE ARRAY[\$1] END)" \
  -c "EXPLAIN (COSTS OFF) EXECUTE q(encode(sha256('5'::bytea),'hex')::battledger.hash256, encode(sha256('6'::bytea),'hex')::battledger.hash256, '$1')" | grep -c 'Seq Scan'; }
check "B1a erasure trigger (DELETE) under enable_bitmapscan = off: no seq scan of battery_event" "$(plan DELETE)" 0
check "B1b erasure trigger (UPDATE of the commitment) under enable_bitmapscan = off: no seq scan of battery_event" "$(plan UPDATE)" 0
for q in "SELECT count(*) FROM (SELECT FROM battledger.battery_event r WHERE r.restricted OPERATOR(battledger.=) \$1 LIMIT 3) r" \
         "SELECT DISTINCT r.battery_id FROM battledger.battery_event r WHERE r.restricted OPERATOR(battledger.=) \$1 AND r.event = 'soh_reported'" \
         "SELECT r.battery_id FROM battledger.battery_event r WHERE r.restricted OPERATOR(battledger.=) \$1 LIMIT 2"; do
  n=$(psql -X -q -At -d ledger -c "SET enable_bitmapscan = off" -c "SET plan_cache_mode = force_generic_plan" -c "PREPARE q(battledger.hash256) AS $q" \
      -c "EXPLAIN (COSTS OFF) EXECUTE q(encode(sha256('5'::bytea),'hex')::battledger.hash256)" | grep -c 'Seq Scan' || true)
  check "B1c generic plan, no bitmap: ${q:0:60}...: index scan" "$n" 0
done

# R1 (item 2): a report applied at REPEATABLE READ whose disclosure its
# snapshot sees but which was erased (committed) before its trigger ran.
# Until 00f9216 the trigger read the disclosure with the latest snapshot at
# any level but READ COMMITTED (gone: no fold); now it reads it with the
# transaction's snapshot first and folds the erased values.  Setup and the
# apply as in test/shell/usage_state_rr.sh (case 7).
bl_start_cluster ur 56142 "$(bl_test_log_conf battledger.test/ur)"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d ur "$@"; }
eval "$(sed -n '/^createdb ur/,/^unfolded()/p' "$(dirname "$0")/../shell/usage_state_rr.sh")"
q -c "SELECT disclose(11)" >/dev/null
row=$(q -c "BEGIN" -c "SELECT report(11)" -c "SELECT to_jsonb(e) FROM battledger.battery_event e WHERE e.restricted = commitment(salt(11), val(11))" -c "ROLLBACK" | grep '^{')
out=$(psql -X -q -At -d ur -v ON_ERROR_STOP=1 -v row="$row" -c "\\set VERBOSITY sqlstate" -f - 2>&1 <<SQL && echo ok
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM battledger.disclosure;
SELECT x FROM dblink('$B', 'SELECT erase(11)::text') AS t(x text);
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.battery_event DISABLE TRIGGER zz_battledger_arrive;
SET LOCAL session_replication_role = replica;
INSERT INTO battledger.battery_event SELECT * FROM jsonb_populate_record(NULL::battledger.battery_event, :'row');
ALTER TABLE battledger.battery_event ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
)
echo "     (apply at REPEATABLE READ: $(tail -1 <<<"$out"))"
check "R0 disclosure 11 erased" "$(q -c "SELECT count(*) FROM battledger.disclosure WHERE commitment = commitment(salt(11), val(11))")" 0
check "R1 a report applied at REPEATABLE READ after its disclosure's erasure committed past the snapshot: erased values not counted (usage_state_check() clean)" "$(unfolded)" 0
st() { q -c "SELECT to_jsonb(u) - 'updated_at' FROM battledger._usage_state u WHERE battery_id = bid('RR-1')"; }
before=$(st); q -c "SELECT battledger.usage_state_rebuild(bid('RR-1'))" >/dev/null
check "R1b _usage_state of RR-1 as a rebuild makes it" "$before" "$(st)"
[ "${RT25C_DEBUG:-}" ] && { q -c "SELECT * FROM battledger.usage_state_check()"; echo "before: $before"; echo "after:  $(st)"; }
exit $fail
