#!/usr/bin/env bash
# idx28 (0.28.0 cycle, main 463efb0): red team of the C paths that scan a
# ledger table's chain index directly (the chain trigger's head lookup,
# verify()'s walk, the arrival check's lookups), against a table's owner
# who is not a superuser and runs index DDL on its own table.  FAIL = an
# open hole, ok = holds.  One cluster on IDX28_PORT (default 58800).  Roles:
# "owner" owns public.t (chained by battery), public.s (one chain) and
# public.u (battery text COLLATE "und-x-icu"), with CREATE on the database
# and on schema public; "app" may only INSERT; "dbo" owns the database.
#  F1  the chain index was found as the first of the table's indexes (OID
#      order) that was unique, btree, valid and on the right columns, with
#      no look at sort order, operator class or collation.  The owner
#      creates UNIQUE (battery, ledger_origin, ledger_seq DESC) and runs
#      REINDEX INDEX CONCURRENTLY t_ledger_chain (no event trigger sees
#      REINDEX; the rebuilt chain index gets a larger OID): the C paths then
#      scan the DESC index.  verify() reported a clean table corrupt
#      (duplicate_position, missing_rows in every chain).
#  F2  the same: the next insert into an existing chain, by "app" in a new
#      session, read the chain's first row as its head and failed
#      (duplicate key): the owner stops every writer.
#  F3  the same on a single-chain table: (ledger_origin, ledger_seq DESC).
#  F4  the chain column's collation: on public.u the owner creates UNIQUE
#      (battery COLLATE "C", ledger_origin, ledger_seq); the scans compared
#      with the column's ICU collation in an index sorted by "C".
#  G   guards, which held on main: G1 DROP INDEX, G2 DROP INDEX
#      CONCURRENTLY, G3 ALTER INDEX ... RENAME, G4 ADD CONSTRAINT ... UNIQUE
#      USING INDEX on the chain index, G4b ALTER COLUMN ... TYPE ... COLLATE
#      of the chain column refused (BL002); G5 REINDEX (TABLE,
#      CONCURRENTLY), CLUSTER, VACUUM FULL, ALTER INDEX SET (fillfactor),
#      ALTER COLUMN SET STATISTICS, then inserts, verify(), seal(),
#      verify_log() and an inclusion proof all clean; G6 REINDEX INDEX
#      CONCURRENTLY of the chain index in a loop under four writers: no
#      error, no fork, verify() clean; G7 a CREATE UNIQUE INDEX
#      CONCURRENTLY of the chain's exact shape left INVALID (lock_timeout)
#      and the chain index reindexed behind it: passed over; G8 GIN
#      (btree_gin), BRIN, hash, partial, expression and INCLUDE indexes of
#      the chain's columns, the chain index reindexed behind them: inserts
#      and verify() clean; G9 a database owner's ALTER DATABASE SET
#      enable_indexscan/enable_bitmapscan = off: inserts, verify() clean;
#      G10 with F4's index, rows of new chains (which the head lookup finds
#      empty) each get a leaf when sealed (the commit's check that a
#      queued row landed, log_entries.c, looks it up in the chain index).
#  F6  the arrival check: members a and b (IDX28_PORT + 5, + 6) share
#      public.r (battery text COLLATE "und-x-icu"); at b its owner (no
#      superuser) builds F4's index and reindexes the chain index behind
#      it; a's next rows of existing chains must arrive at b, not be
#      refused (missing_rows: a blamed, b's subscription to a stopped).
# Results, PostgreSQL 15, 2026-12-07, main 463efb0: FAIL F1 (30 problems
# in a clean table), F2, F3 (23505 on insert), F4 (23505), F6 (refused as
# missing_rows, b's subscription stopped); every G ok.  Fixed on branch
# idx28 (find_chain_index() checks each key's sort order, operator class
# and collation, and readiness, no INCLUDE): 0 FAILs, about 45 s.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/redteam.sh"

bl_scratch
bl_start_cluster idx28 "${IDX28_PORT:-58800}" "$(bl_test_log_conf idx28.test/redteam)"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d bl "$@"; }
# the SQLSTATE a script (stdin) fails with as role $1, or "ok"
err() {
  if psql -X -q -At -U "$1" -d bl -v ON_ERROR_STOP=1 -c "\\set VERBOSITY verbose" -f - >/dev/null 2>"$BL_WORK/err"; then echo ok; return; fi
  sed -n 's/^.*ERROR: *\([A-Z0-9]\{5\}\): .*/\1/p' "$BL_WORK/err" | head -1
}
# problems verify() finds in table $1 (0: clean), or the SQLSTATE it fails with
problems() {
  local n
  if n=$(psql -X -q -At -d bl -v ON_ERROR_STOP=1 -c "\\set VERBOSITY verbose" \
           -c "SELECT count(*) FROM battledger.verify('$1')" 2>"$BL_WORK/err"); then echo "$n"; return; fi
  sed -n 's/^.*ERROR: *\([A-Z0-9]\{5\}\): .*/\1/p' "$BL_WORK/err" | head -1
}
# whether every chain of table $1 runs 1..n with each row's prev the hash of the row before
links() {
  q -c "SELECT count(*) FROM (SELECT ledger_seq, ledger_prev, lag(ledger_hash) OVER w AS h, row_number() OVER w AS r
                               FROM $1 WINDOW w AS (PARTITION BY $2 ledger_origin ORDER BY ledger_seq)) x
         WHERE ledger_seq <> r OR (r > 1 AND ledger_prev::text <> h::text)"
}

createdb bl
q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE ROLE owner LOGIN;
CREATE ROLE app LOGIN;
CREATE ROLE dbo LOGIN;
ALTER DATABASE bl OWNER TO dbo;
GRANT CREATE ON DATABASE bl TO owner;
GRANT CREATE ON SCHEMA public TO owner;
SET ROLE owner;
CREATE TABLE public.t (battery text, v int);
CREATE TABLE public.s (v int);
CREATE TABLE public.u (battery text COLLATE "und-x-icu", v int);
RESET ROLE;
SELECT battledger.enable_ledger('public.t', 'battery');
SELECT battledger.enable_ledger('public.s');
SELECT battledger.enable_ledger('public.u', 'battery');
GRANT SELECT, INSERT ON public.t, public.s, public.u TO app;
SET ROLE app;
INSERT INTO public.t (battery, v) SELECT 'B' || (i % 3), i FROM generate_series(1, 30) i;
INSERT INTO public.s (v) SELECT i FROM generate_series(1, 10) i;
-- chains whose order differs between "C" and the ICU collation
INSERT INTO public.u (battery, v) SELECT b, i FROM generate_series(1, 4) i, unnest(ARRAY['a1', 'B1', 'b2', 'A3', 'c0', 'C9']) b;
SQL

# ------------------------------------------------------------------ G1-G4
check "G1 DROP INDEX of the chain index refused" "$(err owner <<<'DROP INDEX public.t_ledger_chain')" BL002
check "G2 DROP INDEX CONCURRENTLY of the chain index refused" "$(err owner <<<'DROP INDEX CONCURRENTLY public.t_ledger_chain')" BL002
check "G3 ALTER INDEX ... RENAME of the chain index refused" "$(err owner <<<'ALTER INDEX public.t_ledger_chain RENAME TO x')" BL002
check "G4 ADD CONSTRAINT ... UNIQUE USING INDEX on the chain index refused" \
  "$(err owner <<<'ALTER TABLE public.t ADD CONSTRAINT c UNIQUE USING INDEX t_ledger_chain')" BL002
check "G4b ALTER COLUMN ... TYPE ... COLLATE of the chain column refused" \
  "$(err owner <<<'ALTER TABLE public.t ALTER COLUMN battery TYPE text COLLATE "POSIX"')" BL002

# ------------------------------------------------------------------ F1-F3
q -U owner >/dev/null <<'SQL'
CREATE UNIQUE INDEX t_desc ON public.t (battery, ledger_origin, ledger_seq DESC);
REINDEX INDEX CONCURRENTLY public.t_ledger_chain;
CREATE UNIQUE INDEX s_desc ON public.s (ledger_origin, ledger_seq DESC);
REINDEX INDEX CONCURRENTLY public.s_ledger_chain;
SQL
check "F1 verify() of a clean table after a DESC index and REINDEX CONCURRENTLY of the chain index: clean" "$(problems public.t)" 0
check "F2 then an insert into an existing chain by app in a new session: accepted, chained" \
  "$(err app <<<"INSERT INTO public.t (battery, v) VALUES ('B1', 100); INSERT INTO public.t (battery, v) VALUES ('B1', 101)")|$(links public.t battery,)|$(q -c "SELECT max(ledger_seq) FROM public.t WHERE battery = 'B1'")" "ok|0|12"
check "F3 the same on a single-chain table: insert accepted and chained, verify() clean" \
  "$(err app <<<"INSERT INTO public.s (v) VALUES (100)")|$(links public.s '')|$(problems public.s)" "ok|0|0"
q -U owner -c "DROP INDEX public.t_desc" -c "DROP INDEX public.s_desc" >/dev/null

# ------------------------------------------------------------------ F4
q -U owner >/dev/null <<'SQL'
CREATE UNIQUE INDEX u_c ON public.u (battery COLLATE "C", ledger_origin, ledger_seq);
REINDEX INDEX CONCURRENTLY public.u_ledger_chain;
SQL
f4=$(err app <<<"INSERT INTO public.u (battery, v) SELECT b, 5 FROM unnest(ARRAY['a1', 'B1', 'b2', 'A3', 'c0', 'C9']) b")
check "F4 a chain column's index in another collation, chain index reindexed behind it: inserts chained, verify() clean" \
  "$f4|$(links public.u battery,)|$(q -c "SELECT count(*) FROM public.u WHERE ledger_seq = 5")|$(problems public.u)" "ok|0|6|0"
f5=$(err app <<<"INSERT INTO public.u (battery, v) SELECT b, 1 FROM unnest(ARRAY['d1', 'D2', 'e3', 'E4', 'F5', 'f6']) b")
q -c "SELECT battledger.seal()" >/dev/null
check "G10 then rows of new chains: each has a leaf in the log once sealed, verify_log() clean" \
  "$f5|$(q -c "SELECT count(*) FROM public.u WHERE battledger.leaf_index('public.u', ledger_hash) IS NULL")|$(q -c "SELECT count(*) FROM battledger.verify_log()")" "ok|0|0"
q -U owner -c "DROP INDEX public.u_c" >/dev/null

# ------------------------------------------------------------------ G5
g5=$(err owner <<'SQL'
REINDEX TABLE public.t;
REINDEX TABLE CONCURRENTLY public.t;
CLUSTER public.t USING t_ledger_chain;
VACUUM FULL public.t;
ALTER INDEX public.t_ledger_chain SET (fillfactor = 20);
ALTER TABLE public.t ALTER COLUMN battery SET STATISTICS 1000;
ALTER TABLE public.t ALTER COLUMN ledger_seq SET STATISTICS 1000;
SQL
)
g5i=$(err app <<<"INSERT INTO public.t (battery, v) SELECT 'B' || (i % 4), i FROM generate_series(1, 20) i")
q -c "SELECT battledger.seal()" >/dev/null
g5p=$(q -c "WITH l AS (SELECT battledger.leaf_index('public.t', ledger_hash) AS i FROM public.t ORDER BY ledger_seq DESC LIMIT 1),
                 c AS (SELECT max(tree_size) AS n FROM battledger.checkpoint)
            SELECT battledger.verify_inclusion(battledger.leaf(l.i), l.i, c.n, battledger.inclusion_proof(l.i, c.n), battledger.tree_root(c.n))
              FROM l, c" 2>&1)
check "G5 REINDEX, CLUSTER, VACUUM FULL, fillfactor, statistics: inserts, verify(), seal, verify_log(), a proof clean" \
  "$g5|$g5i|$(links public.t battery,)|$(problems public.t)|$(q -c "SELECT count(*) FROM battledger.verify_log()")|$g5p" "ok|ok|0|0|0|t"

# ------------------------------------------------------------------ G6
cat > "$BL_WORK/ins.sql" <<'SQL'
\set b random(1, 6)
INSERT INTO public.t (battery, v) VALUES ('W' || :b, 1);
SQL
chmod 644 "$BL_WORK/ins.sql"
"$PG_BIN/pgbench" -n -U app -c 4 -T 12 -f "$BL_WORK/ins.sql" bl >"$BL_WORK/pgbench.out" 2>&1 &
pgb=$!
g6=ok
for _ in $(seq 1 8); do
  r=$(err owner <<<'REINDEX INDEX CONCURRENTLY public.t_ledger_chain'); [ "$r" = ok ] || g6="reindex: $r"
  r=$(problems public.t); [ "$r" = 0 ] || g6="verify: $r"
done
wait $pgb
g6w=$(grep -c 'ERROR' "$BL_WORK/pgbench.out")
check "G6 REINDEX CONCURRENTLY of the chain index in a loop under 4 writers: no error, chains linked, verify() clean" \
  "$g6|$g6w|$(links public.t battery,)|$(problems public.t)" "ok|0|0|0"

# ------------------------------------------------------------------ G7
# a transaction holding RowExclusiveLock makes CREATE INDEX CONCURRENTLY wait, and time out, after its catalog entry
psql -X -q -U app -d bl -c "BEGIN" -c "INSERT INTO public.t (battery, v) VALUES ('H', 1)" -c "SELECT pg_sleep(6)" -c "COMMIT" >/dev/null 2>&1 &
hold=$!
sleep 1
g7c=$(err owner <<<"SET lock_timeout = '1s'; CREATE UNIQUE INDEX CONCURRENTLY t_half ON public.t (battery, ledger_origin, ledger_seq)")
wait $hold
q -U owner -c "REINDEX INDEX CONCURRENTLY public.t_ledger_chain" >/dev/null
check "G7 an INVALID index of the chain's shape (failed CREATE INDEX CONCURRENTLY) ahead of the chain index: passed over" \
  "$g7c|$(q -c "SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.t_half'::regclass")|$(err app <<<"INSERT INTO public.t (battery, v) VALUES ('H', 2), ('B1', 3)")|$(links public.t battery,)|$(problems public.t)" \
  "55P03|f|ok|0|0"
q -U owner -c "DROP INDEX public.t_half" >/dev/null

# ------------------------------------------------------------------ G8
q -c "CREATE EXTENSION btree_gin" >/dev/null
g8=$(err owner <<'SQL'
CREATE INDEX t_gin ON public.t USING gin (battery, ledger_seq);
CREATE INDEX t_brin ON public.t USING brin (ledger_seq);
CREATE INDEX t_hash ON public.t USING hash (ledger_seq);
CREATE UNIQUE INDEX t_part ON public.t (battery, ledger_origin, ledger_seq) WHERE ledger_seq > 3;
CREATE UNIQUE INDEX t_expr ON public.t (battery, ledger_origin, (ledger_seq + 0));
CREATE UNIQUE INDEX t_incl ON public.t (battery, ledger_origin, ledger_seq) INCLUDE (v);
CREATE UNIQUE INDEX t_pat ON public.t (battery text_pattern_ops, ledger_origin, ledger_seq);
REINDEX INDEX CONCURRENTLY public.t_ledger_chain;
SQL
)
check "G8 GIN, BRIN, hash, partial, expression, INCLUDE, other-opclass indexes ahead of the chain index: inserts, verify() clean" \
  "$g8|$(err app <<<"INSERT INTO public.t (battery, v) SELECT 'B' || (i % 5), i FROM generate_series(1, 10) i")|$(links public.t battery,)|$(problems public.t)" \
  "ok|ok|0|0"

# ------------------------------------------------------------------ G9
q -U dbo -c "ALTER DATABASE bl SET enable_indexscan = off" -c "ALTER DATABASE bl SET enable_bitmapscan = off" >/dev/null
check "G9 a database owner's enable_indexscan/enable_bitmapscan = off: inserts, verify() clean" \
  "$(err app <<<"INSERT INTO public.t (battery, v) SELECT 'B' || (i % 5), i FROM generate_series(1, 10) i")|$(links public.t battery,)|$(problems public.t)|$(problems public.s)" \
  "ok|0|0|0"

# ------------------------------------------------------------------ F6
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
P=${IDX28_PORT:-58800}
declare -A PORT=([a]=$((P + 5)) [b]=$((P + 6)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log)
declare -A LOGV WITV
for m in a b; do
  bl_member_start "$m" "$W" "" "$BL_QUICK_RETRY"
  bl_mq "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE ROLE owner LOGIN;
GRANT CREATE ON SCHEMA public TO owner;
SET ROLE owner;
CREATE TABLE public.r (battery text COLLATE "und-x-icu", v int);
RESET ROLE;
SELECT battledger.enable_ledger('public.r', 'battery');
SELECT battledger.publish_member();
SQL
done
for m in a b; do bl_member_keys "$m"; done
bl_join a b; bl_join b a
bl_mq a -c "INSERT INTO public.r (battery, v) SELECT b, i FROM generate_series(1, 4) i, unnest(ARRAY['a1', 'B1', 'b2', 'A3', 'c0', 'C9']) b" >/dev/null
bl_wait_for b "SELECT count(*) = 24 FROM public.r" >/dev/null
bl_mq b -U owner >/dev/null <<'SQL'
CREATE UNIQUE INDEX r_c ON public.r (battery COLLATE "C", ledger_origin, ledger_seq);
REINDEX INDEX CONCURRENTLY public.r_ledger_chain;
SQL
bl_mq a -c "INSERT INTO public.r (battery, v) SELECT b, 5 FROM unnest(ARRAY['a1', 'B1', 'b2', 'A3', 'c0', 'C9']) b" >/dev/null
f6=$(BL_WAIT_TRIES=100 bl_wait_for b "SELECT count(*) = 30 FROM public.r" >/dev/null && echo arrived || echo "not arrived")
check "F6 a's rows of existing chains arrive at b, whose owner indexed the chain column in another collation" \
  "$f6|$(bl_mq b -c "SELECT bool_and(subenabled) FROM pg_subscription")" "arrived|t"

echo "# idx28: $FAILS FAIL(s)"
exit $FAILS
