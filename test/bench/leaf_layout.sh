#!/usr/bin/env bash
# test/bench/leaf_layout.sh — the leaf store's alternatives (issue 15): bytes
# per leaf and the CPU to write them, for today's log_leaf and three
# prototypes built with SQL from the same sealed log; baselines in the same
# database.
#
# For each size N (BENCH_SIZES), in one cluster and one database per size:
# the plain, indexed and ledger tables of test/bench/schema.sql loaded with
# the same N rows (bench.bulk_sql: 1,000 chain keys), seal(), VACUUM
# (ANALYZE); bytes per row of each table (pg_total_relation_size: heap,
# indexes, TOAST, free space and visibility maps) and of each part of the
# log.  Then test/bench/leaf_layout.sql builds, from battledger.log_leaf,
# the prototype stores (a) today's log_leaf, (b) without leaf_hash and with a
# smallint table id, (c) one row per 256 leaves with the leaf hashes and the
# (table id, seq) locators packed in two bytea, (d) the leaf hashes alone in
# such rows, the ledger row carrying its leaf index (an int8 column, measured
# as the difference between two copies of the ledger table, with and without
# it).  Each prototype is written BENCH_REPS times into its emptied table
# (order rotated from round to round, CHECKPOINT before each) with one
# INSERT ... SELECT from an UNLOGGED staging table of its rows, timed by the
# writing backend's own CPU (user + system from /proc/self/schedstat, read by
# the backend: Linux and a superuser), with the WAL it wrote
# (pg_current_wal_insert_lsn() deltas); medians are reported.  Also per
# size: today's seal() (its backend CPU and WAL), one nextval() a row (net of
# the same scan), level 0 as seals of BENCH_SEAL_EVERY leaves would leave it
# (delta rows and superseding rows), a witness's copy in peer_leaf's shape,
# the CPU of fetching a proof's 16 leaf hashes from (a) and from (d) (5,000
# random groups a session), and the pages each lookup touches (EXPLAIN
# (ANALYZE, BUFFERS)).  With BENCH_UPDATE=1 (the default) it times giving
# each ledger row its leaf index by UPDATE, the way (d) would have to if the
# index were not known at insert.  Once, after the sizes: single-row INSERTs
# at 8 clients into the indexed table, with a column DEFAULT nextval(), with
# the same column DEFAULT 0, and without it (cluster CPU a row, tps).
#
# Nothing in the product changes: the prototypes live in schema "proto".
#
# Environment: BENCH_SIZES (default "100000"; the design figures used
#   "100000 1000000"), BENCH_REPS (default 3), BENCH_UPDATE (default 1),
#   BENCH_SEAL_EVERY (default 200: the leaves a seal adds, for level 0's
#   delta and superseding rows), BENCH_CONT_SECONDS (default 10; 0 skips the
#   8-client sequence probe), BENCH_CONT_ROUNDS (default 3), BENCH_PORT
#   (default 55460), BENCH_NO_INSTALL (lib.sh).
# Example, on a relocated build (see lib.sh):
#   PG_BIN=$D/usr/lib/postgresql/15/bin PG_CONFIG=$PG_BIN/pg_config BENCH_NO_INSTALL=1 \
#     BENCH_SIZES="100000 1000000" test/bench/leaf_layout.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"
BENCH_SIZES=${BENCH_SIZES:-"100000"}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_UPDATE=${BENCH_UPDATE:-1}
BENCH_PORT=${BENCH_PORT:-55460}
SEAL_EVERY=${BENCH_SEAL_EVERY:-200}
CONT_SECONDS=${BENCH_CONT_SECONDS:-10}
CONT_ROUNDS=${BENCH_CONT_ROUNDS:-3}
RESULTS=$HERE/results/leaf_layout.md
COMMAND="BENCH_SIZES=\"$BENCH_SIZES\" BENCH_REPS=$BENCH_REPS BENCH_UPDATE=$BENCH_UPDATE BENCH_SEAL_EVERY=$SEAL_EVERY BENCH_CONT_SECONDS=$CONT_SECONDS BENCH_CONT_ROUNDS=$CONT_ROUNDS test/bench/leaf_layout.sh"
VARIANTS="a b c d"

GIT_STATE=$(bench_git_state)
bench_install
bl_scratch
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_0=$(machine_busy); OWN_0=$(children_cpu); T_0=$(now_ms)
bl_start_cluster leaf_layout "$BENCH_PORT" "$(bl_test_log_conf bench.example/leaf_layout)
shared_buffers = 1GB
max_wal_size = 8GB
checkpoint_timeout = 30min
work_mem = 128MB"

per() { awk -v a="$1" -v n="$2" 'BEGIN { printf "%.1f", a / n }'; }
sum() { awk 'BEGIN { s = 0; for (i = 1; i < ARGC; i++) s += ARGV[i]; printf "%.1f", s }' "$@"; }
rat() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { if (ms > 0) printf "%.0f", n / (ms / 1000); else print "-" }'; }
declare -A B CPU WAL PG ROWS TPS USR GRP
for n in $BENCH_SIZES; do
  db=l$n
  createdb "$db"
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "LOAD 'battledger'" \
    -c "ALTER DATABASE $db SET battledger.origin = 'bench.example/leaf_layout-$n'"
  q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
  size() { q "SELECT pg_total_relation_size('$1')"; }
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$HERE/schema.sql"
  for kind in plain indexed ledger; do
    say "$n rows: $kind"
    q "SELECT bench.make_table('$kind', 's')" >/dev/null
    q "SELECT bench.time_ms(bench.bulk_sql('${kind}_s', $n))" >/dev/null
  done
  say "$n rows: seal()"
  # the seal's own backend CPU (schedstat, ns) and WAL, for the projection of
  # a seal that writes (c) or (d) instead of (a)
  { read -r sc0; read -r sw0; read -r _; read -r sc1; read -r sw1; } < <(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" \
      -c "SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)" -c "SELECT pg_current_wal_insert_lsn() - '0/0'" \
      -c "SELECT length(battledger.seal())" \
      -c "SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)" -c "SELECT pg_current_wal_insert_lsn() - '0/0'")
  CPU[seal,$n]=$(awk -v a="$sc0" -v b="$sc1" 'BEGIN { printf "%.1f", (b - a) / 1000000 }')
  WAL[seal,$n]=$(awk -v a="$sw0" -v b="$sw1" 'BEGIN { printf "%.0f", b - a }')
  echo "seal() of $n leaves: ${CPU[seal,$n]} ms CPU, $(per "${WAL[seal,$n]}" "$n") WAL bytes a leaf"
  q "VACUUM (ANALYZE)"
  [ "$(q 'SELECT count(*) FROM battledger.log_leaf')" = "$n" ] || { echo "the log does not hold $n leaves" >&2; exit 1; }
  [ "$(q 'SELECT count(*) FROM battledger.log_pending')" = 0 ] || { echo "rows left in the queue" >&2; exit 1; }

  # baselines and today's log, in bytes (divided by n when reported)
  for kind in plain indexed ledger; do B[$kind,$n]=$(size "public.${kind}_s"); done
  B[lheap,$n]=$(q "SELECT pg_table_size('public.ledger_s')")
  B[lidx,$n]=$(q "SELECT pg_indexes_size('public.ledger_s')")
  B[iidx,$n]=$(q "SELECT pg_indexes_size('public.indexed_s')")
  B[leaf_heap,$n]=$(q "SELECT pg_table_size('battledger.log_leaf')")
  B[leaf_pk,$n]=$(size battledger.log_leaf_pkey)
  B[leaf_row,$n]=$(size battledger.log_leaf_row)
  B[tile,$n]=$(size battledger.log_tile)
  B[block,$n]=$(size battledger.log_block)
  B[cp,$n]=$(size battledger.checkpoint)
  B[leaf,$n]=$(size battledger.log_leaf)
  B[tree,$n]=$(sum "${B[tile,$n]}" "${B[block,$n]}" "${B[cp,$n]}")

  say "$n rows: staging the prototypes (test/bench/leaf_layout.sql)"
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$HERE/leaf_layout.sql" >/dev/null
  # (d)'s column: two copies of the ledger table (its indexes, no triggers),
  # without and with the leaf index, filled the same way
  q "CREATE TABLE proto.d_base (LIKE public.ledger_s INCLUDING ALL)"
  q "CREATE TABLE proto.d_rows (LIKE public.ledger_s INCLUDING ALL)"
  q "ALTER TABLE proto.d_rows ADD COLUMN ledger_leaf bigint"
  q "INSERT INTO proto.d_base SELECT * FROM public.ledger_s"
  # in leaf order, which is the order the rows were inserted in (one load,
  # sealed in queue order), as rows numbered at insert would lie in the heap
  q "INSERT INTO proto.d_rows SELECT s.*, l.leaf_index FROM public.ledger_s s
       JOIN battledger.log_leaf l ON l.row_hash OPERATOR(battledger.=) s.ledger_hash AND l.tbl = 'public.ledger_s'
      ORDER BY l.leaf_index"
  [ "$(q 'SELECT count(ledger_leaf) FROM proto.d_rows')" = "$n" ] || { echo "not every row found its leaf" >&2; exit 1; }

  for r in $(seq 1 "$BENCH_REPS"); do
    order=$(echo $VARIANTS | awk -v r="$r" '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
    for v in $order; do
      q "TRUNCATE proto.$v"
      q "CHECKPOINT"
      IFS='|' read -r cpu wal rows <<<"$(q "SELECT cpu_ms, wal_bytes, n FROM proto.time_write('$v')")"
      CPU[$v,$n,$r]=$cpu; WAL[$v,$n,$r]=$wal
      echo "$n leaves, round $r, ($v): $rows rows written, $cpu ms CPU ($(rate "$n" "$cpu") leaves per CPU s), $(per "$wal" "$n") WAL bytes a leaf"
    done
  done
  # (d)'s insert-time leaf index: one nextval() a row, against the same scan without it
  for r in $(seq 1 "$BENCH_REPS"); do
    IFS='|' read -r c0 w0 <<<"$(q "SELECT cpu_ms, wal_bytes FROM proto.time_sql('SELECT count(i) FROM generate_series(1, $n) i')")"
    IFS='|' read -r c1 w1 <<<"$(q "SELECT cpu_ms, wal_bytes FROM proto.time_sql('SELECT count(nextval(''proto.leaf_seq'')) FROM generate_series(1, $n) i')")"
    CPU[nv,$n,$r]=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.1f", b - a }'); WAL[nv,$n,$r]=$w1
    echo "$n nextval() calls: $c1 ms CPU against $c0 without, $(per "$w1" "$n") WAL bytes a call"
  done
  q "VACUUM (ANALYZE) proto.a, proto.b, proto.c, proto.d, proto.d_base, proto.d_rows, proto.tbl_id"
  for v in $VARIANTS; do
    B[$v,$n]=$(size "proto.$v")
    B[${v}_main,$n]=$(q "SELECT pg_relation_size('proto.$v')")
    B[${v}_toast,$n]=$(q "SELECT coalesce(pg_total_relation_size(nullif(reltoastrelid, 0)), 0) FROM pg_class WHERE oid = 'proto.$v'::regclass")
    B[${v}_idx,$n]=$(q "SELECT pg_indexes_size('proto.$v')")
  done
  # (d)'s way from a leaf to its row: a BRIN index on the leaf index (the rows
  # lie in the heap in about the order their indexes were taken)
  q "CREATE INDEX d_rows_leaf ON proto.d_rows USING brin (ledger_leaf) WITH (pages_per_range = 8)"
  q "ANALYZE proto.d_rows"
  B[brin,$n]=$(size proto.d_rows_leaf)
  B[tblid,$n]=$(size proto.tbl_id)
  B[dcol,$n]=$(( $(size proto.d_rows) - $(size proto.d_base) ))
  B[dbase,$n]=$(size proto.d_base)
  # the ledger with each layout of the leaves; tiles (levels 1+), blocks and checkpoints as today
  B[all_today,$n]=$(sum "${B[ledger,$n]}" "${B[leaf,$n]}" "${B[tree,$n]}")
  B[all_a,$n]=$(sum "${B[ledger,$n]}" "${B[a,$n]}" "${B[tree,$n]}")
  # (b)'s indexes hold the same keys as today's two: counted at today's size,
  # which seal()'s sorted hash-index inserts keep smaller than the executor's
  # unsorted ones in the prototype (compare (a) with today's log_leaf)
  B[b_table,$n]=$(q "SELECT pg_table_size('proto.b')")
  B[b_today_idx,$n]=$(sum "${B[b_table,$n]}" "${B[leaf_pk,$n]}" "${B[leaf_row,$n]}")
  B[all_b,$n]=$(sum "${B[ledger,$n]}" "${B[b_today_idx,$n]}" "${B[tblid,$n]}" "${B[tree,$n]}")
  B[all_c,$n]=$(sum "${B[ledger,$n]}" "${B[c,$n]}" "${B[tblid,$n]}" "${B[tree,$n]}")
  B[all_d,$n]=$(sum "${B[ledger,$n]}" "${B[dcol,$n]}" "${B[brin,$n]}" "${B[d,$n]}" "${B[tree,$n]}")

  # Level 0 as small seals write it: every BENCH_SEAL_EVERY leaves a seal,
  # each adding to the right-edge tile either a delta row (the hashes it
  # added: (d)'s rule) or a superseding row (the tile's whole prefix, the
  # rule of the levels above); key (idx, width) as log_tile's.  And a
  # witness's copy of the leaves: peer_leaf's shape (the origin and the
  # leaf's fields, primary key (origin, leaf_index)) against (d)'s.
  q "CREATE TABLE proto.d_delta (LIKE proto.d INCLUDING ALL)"
  q "CREATE TABLE proto.d_super (LIKE proto.d INCLUDING ALL)"
  q "INSERT INTO proto.d_delta
     SELECT leaf_index / 256, max(leaf_index) % 256 + 1, string_agg(leaf_hash::bytea, ''::bytea ORDER BY leaf_index)
       FROM battledger.log_leaf GROUP BY leaf_index / 256, leaf_index / $SEAL_EVERY ORDER BY 1, 2"
  q "INSERT INTO proto.d_super
     SELECT t, b - 256 * t, (SELECT string_agg(leaf_hash::bytea, ''::bytea ORDER BY leaf_index)
                               FROM battledger.log_leaf WHERE leaf_index >= 256 * t AND leaf_index < b)
       FROM (SELECT DISTINCT ((b - 1) / 256) AS t, b
               FROM (SELECT least(g, $n) AS b FROM generate_series($SEAL_EVERY, $n + $SEAL_EVERY - 1, $SEAL_EVERY) g) s
              UNION SELECT t, 256 * t + 256 FROM generate_series(0, $n / 256 - 1) t) x
      ORDER BY 1, 2"
  q "CREATE TABLE proto.peer (LIKE battledger.peer_leaf INCLUDING ALL)"
  q "INSERT INTO proto.peer SELECT 'member.example/peer-log', * FROM battledger.log_leaf ORDER BY leaf_index"
  q "VACUUM (ANALYZE) proto.d_delta, proto.d_super, proto.peer"
  B[d_delta,$n]=$(size proto.d_delta)
  B[d_super,$n]=$(size proto.d_super)
  B[peer,$n]=$(size proto.peer)
  ROWS[d_delta,$n]=$(q "SELECT count(*) FROM proto.d_delta")
  ROWS[d_super,$n]=$(q "SELECT count(*) FROM proto.d_super")

  # Pages the lookups touch, for the leaf in the middle of the log
  mid=$((n / 2)); grp=$((mid / 16 * 16)); off=$((mid % 256 / 16 * 16 * 32 + 1))
  IFS='|' read -r h bat org sq <<<"$(q "SELECT l.row_hash, s.battery, s.ledger_origin, s.ledger_seq
      FROM battledger.log_leaf l JOIN public.ledger_s s ON s.ledger_hash OPERATOR(battledger.=) l.row_hash
     WHERE l.leaf_index = $mid")"
  row_q="FROM proto.d_rows WHERE battery = '$bat' AND ledger_origin = '$org' AND ledger_seq = $sq"
  PG[row,$n]=$(q "SELECT proto.pages(\$q\$SELECT ledger_hash $row_q\$q\$)")
  PG[d_rowleaf,$n]=$(q "SELECT proto.pages(\$q\$SELECT ledger_leaf $row_q\$q\$)")
  for v in a b; do
    PG[${v}_byhash,$n]=$(q "SELECT proto.pages(\$q\$SELECT leaf_index FROM proto.$v WHERE row_hash OPERATOR(battledger.=) '$h'\$q\$)")
    PG[${v}_leaf,$n]=$(q "SELECT proto.pages(\$q\$SELECT * FROM proto.$v WHERE leaf_index = $mid\$q\$)")
  done
  PG[a_group,$n]=$(q "SELECT proto.pages(\$q\$SELECT leaf_hash FROM proto.a WHERE leaf_index BETWEEN $grp AND $((grp + 15))\$q\$)")
  PG[b_group,$n]=$(q "SELECT proto.pages(\$q\$SELECT seq, tbl_id, prev, row_hash FROM proto.b WHERE leaf_index BETWEEN $grp AND $((grp + 15))\$q\$)")
  for v in c d; do
    PG[${v}_group,$n]=$(q "SELECT proto.pages(\$q\$SELECT substring(hashes FROM $off FOR 512) FROM proto.$v WHERE idx = $((mid / 256)) ORDER BY width DESC LIMIT 1\$q\$)")
  done
  PG[d_brin,$n]=$(q "SELECT proto.pages(\$q\$SELECT ledger_hash FROM proto.d_rows WHERE ledger_leaf = $mid\$q\$)")
  PG[c_leaf,$n]=$(q "SELECT proto.pages(\$q\$SELECT substring(hashes FROM $((mid % 256 * 32 + 1)) FOR 32), substring(locators FROM $((mid % 256 * 10 + 1)) FOR 10) FROM proto.c WHERE idx = $((mid / 256)) ORDER BY width DESC LIMIT 1\$q\$)")

  # CPU of fetching a proof's 16 leaf hashes, (a) against (d), one session
  # each, the same random groups (medians of BENCH_REPS sessions)
  for r in $(seq 1 "$BENCH_REPS"); do
    for v in a d; do
      GRP[$v,$n,$r]=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "SELECT setseed(0.$r)" -c "SELECT proto.time_groups('$v', $n, 5000)" | tail -n 1)
    done
    echo "$n leaves, round $r: a proof's 16 leaf hashes, (a) ${GRP[a,$n,$r]} µs, (d) ${GRP[d,$n,$r]} µs of CPU a fetch"
  done

  if [ "$BENCH_UPDATE" = 1 ]; then
    say "$n rows: the leaf index given to each ledger row by UPDATE at seal time"
    q "CREATE TABLE proto.d_upd (LIKE public.ledger_s INCLUDING ALL)"
    q "ALTER TABLE proto.d_upd ADD COLUMN ledger_leaf bigint"
    q "INSERT INTO proto.d_upd SELECT * FROM public.ledger_s"
    q "CREATE UNLOGGED TABLE proto.src_upd AS SELECT row_hash, leaf_index FROM battledger.log_leaf"
    q "VACUUM (ANALYZE) proto.d_upd, proto.src_upd"
    q "CHECKPOINT"
    before=$(size proto.d_upd)
    q "CREATE FUNCTION proto.time_update(OUT cpu numeric, OUT wal numeric) LANGUAGE plpgsql AS \$fn\$
DECLARE c0 numeric := proto.cpu_ms(); w0 pg_lsn := pg_current_wal_insert_lsn();
BEGIN
  UPDATE proto.d_upd u SET ledger_leaf = s.leaf_index FROM proto.src_upd s
   WHERE s.row_hash OPERATOR(battledger.=) u.ledger_hash;
  cpu := round(proto.cpu_ms() - c0, 1); wal := pg_current_wal_insert_lsn() - w0;
END \$fn\$"
    IFS='|' read -r ucpu uwal <<<"$(q "SELECT cpu, wal FROM proto.time_update()")"
    q "VACUUM (ANALYZE) proto.d_upd"
    B[upd_growth,$n]=$(( $(size proto.d_upd) - before ))
    CPU[upd,$n]=$ucpu; WAL[upd,$n]=$uwal
    echo "UPDATE of $n ledger rows: $ucpu ms CPU, $(per "$uwal" "$n") WAL bytes a row, table +$(per "${B[upd_growth,$n]}" "$n") bytes a row after VACUUM"
  fi
done

# The sequence under concurrency: single-row INSERTs into the indexed table,
# 8 clients (pgbench, 2 threads), with and without a column taking
# nextval() of a CACHE 1 sequence (the leaf index at insert), and with the
# same column filled by a constant (the wider row alone), alternated
# BENCH_CONT_ROUNDS times (default 3); synchronous_commit off (set for the clients) so that the commit's
# WAL flush does not hide a contention on the sequence's page.  CPU: the
# whole cluster's, exited backends included (cluster_cpu), per row.
if [ "$CONT_SECONDS" -gt 0 ]; then
  createdb lcont
  qc() { psql -X -q -At -v ON_ERROR_STOP=1 -d lcont -c "$1"; }
  psql -X -q -v ON_ERROR_STOP=1 -d lcont -f "$HERE/schema.sql" >/dev/null
  qc "CREATE SEQUENCE public.leaf_seq"
  for r in $(seq 1 "$CONT_ROUNDS"); do
    for v in plain_seq const nv; do
      tbl=indexed_${v}_$r
      qc "SELECT bench.make_table('indexed', '${v}_$r')" >/dev/null
      [ "$v" = nv ] && qc "ALTER TABLE public.$tbl ADD COLUMN leaf bigint NOT NULL DEFAULT nextval('public.leaf_seq')"
      # the same column with a constant: the wider row without the sequence
      [ "$v" = const ] && qc "ALTER TABLE public.$tbl ADD COLUMN leaf bigint NOT NULL DEFAULT 0"
      qc "CHECKPOINT"
      c0=$(cluster_cpu "$BL_WORK/leaf_layout")
      out=$(PGOPTIONS='-c synchronous_commit=off' pgbench -n -f "$HERE/insert.sql" -D tbl="$tbl" -c 8 -j 2 -T "$CONT_SECONDS" lcont 2>&1) || { echo "$out"; exit 1; }
      # the backends' CPU reaches the postmaster's account when it reaps them
      for _ in $(seq 1 50); do
        [ "$(qc "SELECT count(*) FROM pg_stat_activity WHERE datname = 'lcont' AND pid <> pg_backend_pid()")" = 0 ] && break
        sleep 0.1
      done
      sleep 0.3
      c1=$(cluster_cpu "$BL_WORK/leaf_layout")
      rows=$(qc "SELECT count(*) FROM public.$tbl")
      TPS[$v,$r]=$(awk '/^tps = / { printf "%.0f", $3; exit }' <<<"$out")
      USR[$v,$r]=$(awk -v a="$c0" -v b="$c1" -v n="$rows" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
      echo "8 clients, $v, round $r: ${TPS[$v,$r]} tps, ${USR[$v,$r]} µs of cluster CPU a row"
    done
  done
fi

ELAPSED=$(( ($(now_ms) - T_0) / 1000 ))
OWN=$(awk -v a="$(children_cpu)" -v b="$OWN_0" -v c="$(cluster_cpu "$BL_WORK/leaf_layout")" 'BEGIN { print a - b + c }')
OTHER=$(awk -v a="$(machine_busy)" -v b="$BUSY_0" -v o="$OWN" 'BEGIN { x = a - b - o; print (x < 0) ? 0 : x }')
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

med() {  # med KIND V N: median over rounds
  local a=() r
  for r in $(seq 1 "$BENCH_REPS"); do
    if [ "$1" = cpu ]; then a+=("${CPU[$2,$3,$r]}"); else a+=("${WAL[$2,$3,$r]}"); fi
  done
  median "${a[@]}"
}
mkdir -p "$(dirname "$RESULTS")"
{
  bench_report_head ": the leaf store's alternatives (issue 15)" "$COMMAND"
  bench_run_rows
  echo "| Server | $(q 'SELECT version()' | cut -d, -f1) |"
  echo
  echo "## Bytes per row, after seal() and VACUUM (ANALYZE)"
  echo
  echo "pg_total_relation_size() / rows (heap, indexes, TOAST, free space and visibility maps)."
  echo
  echo "| | $(for n in $BENCH_SIZES; do printf '%s rows | vs indexed | ' "$n"; done)"
  echo "|---|$(for n in $BENCH_SIZES; do printf -- '---:|---:|'; done)"
  row() {
    local label=$1 key=$2 n
    printf '| %s |' "$label"
    for n in $BENCH_SIZES; do printf ' %s | %s |' "$(per "${B[$key,$n]}" "$n")" "$(rat "${B[$key,$n]}" "${B[indexed,$n]}")"; done
    echo
  }
  row "plain" plain
  row "indexed (battery, at)" indexed
  row "(the indexed table's index)" iidx
  row "ledger (table, its indexes)" ledger
  row "… the ledger's heap (with TOAST and maps)" lheap
  row "… the ledger's indexes" lidx
  row "log today: log_leaf heap" leaf_heap
  row "log today: log_leaf_pkey (btree, leaf_index)" leaf_pk
  row "log today: log_leaf_row (hash, row_hash)" leaf_row
  row "log today: log_tile (levels 8, 16, …)" tile
  row "log today: log_block (levels 4, 8, …)" block
  row "log today: checkpoint" cp
  row "(a) today's log_leaf, rewritten by INSERT … SELECT" a
  row "… (a)'s heap (main fork)" a_main
  row "… (a)'s two indexes" a_idx
  row "(b) no leaf_hash, smallint table id" b
  row "… (b)'s heap (main fork)" b_main
  row "… (b)'s two indexes" b_idx
  row "(b)'s heap with today's two indexes (what seal() would write)" b_today_idx
  row "(c) a row per 256 leaves: hashes + (table id, seq) locators" c
  row "… (c)'s TOAST" c_toast
  row "(d) a row per 256 leaves: hashes only" d
  row "… (d)'s TOAST" d_toast
  row "(d) the ledger row's leaf index column (d_rows − d_base)" dcol
  row "(d) a BRIN index on the leaf index (pages_per_range 8), leaf → row" brin
  row "**ledger + log today**" all_today
  row "**ledger + (b) (today's index sizes) + tiles, blocks, checkpoints**" all_b
  row "**ledger + (c) + tiles, blocks, checkpoints**" all_c
  row "**ledger with leaf column and its BRIN + (d) + tiles, blocks, checkpoints**" all_d
  echo
  echo "(c)'s parts per row: $(for n in $BENCH_SIZES; do printf '%s rows: heap %s, TOAST %s, index %s; ' "$n" "$(per "${B[c_main,$n]}" "$n")" "$(per "${B[c_toast,$n]}" "$n")" "$(per "${B[c_idx,$n]}" "$n")"; done)"
  echo "(d)'s parts per row: $(for n in $BENCH_SIZES; do printf '%s rows: heap %s, TOAST %s, index %s; ' "$n" "$(per "${B[d_main,$n]}" "$n")" "$(per "${B[d_toast,$n]}" "$n")" "$(per "${B[d_idx,$n]}" "$n")"; done)"
  echo "The ledger copy without the column (d_base): $(for n in $BENCH_SIZES; do printf '%s rows %s; ' "$n" "$(per "${B[dbase,$n]}" "$n")"; done)against the ledger table itself above."
  echo
  echo "Level 0 written by seals of $SEAL_EVERY leaves each (the figures above are one seal of all N):"
  for n in $BENCH_SIZES; do
    echo "$n leaves: delta rows (d's rule) $(per "${B[d_delta,$n]}" "$n") bytes a leaf in ${ROWS[d_delta,$n]} rows;" \
         "superseding rows (the upper levels' rule) $(per "${B[d_super,$n]}" "$n") bytes a leaf in ${ROWS[d_super,$n]} rows;" \
         "a witness's copy in peer_leaf's shape $(per "${B[peer,$n]}" "$n") bytes a leaf."
  done
  echo
  echo "## Writing the leaves: one INSERT … SELECT from staged rows, backend CPU (user + system), median of $BENCH_REPS rounds"
  echo
  echo "| layout | $(for n in $BENCH_SIZES; do printf '%s: CPU ms | leaves per CPU s | WAL bytes a leaf | rounds (CPU ms) | ' "$n"; done)"
  echo "|---|$(for n in $BENCH_SIZES; do printf -- '---:|---:|---:|---|'; done)"
  for v in $VARIANTS; do
    printf '| (%s) |' "$v"
    for n in $BENCH_SIZES; do
      c=$(med cpu "$v" "$n"); w=$(med wal "$v" "$n")
      rs=$(for r in $(seq 1 "$BENCH_REPS"); do printf '%s ' "${CPU[$v,$n,$r]}"; done)
      printf ' %s | %s | %s | %s|' "$c" "$(rate "$n" "$c")" "$(per "$w" "$n")" "$rs"
    done
    echo
  done
  printf '| seal() of the N rows (today: (a) with the bulk path, tiles, blocks, checkpoint; one run) |'
  for n in $BENCH_SIZES; do printf ' %s | %s | %s | |' "${CPU[seal,$n]}" "$(rate "$n" "${CPU[seal,$n]}")" "$(per "${WAL[seal,$n]}" "$n")"; done
  echo
  printf '| one nextval() a row ((d) at insert), net of the same scan without it |'
  for n in $BENCH_SIZES; do
    c=$(med cpu nv "$n"); w=$(med wal nv "$n")
    rs=$(for r in $(seq 1 "$BENCH_REPS"); do printf '%s ' "${CPU[nv,$n,$r]}"; done)
    printf ' %s | %s | %s | %s|' "$c" "$(rate "$n" "$c")" "$(per "$w" "$n")" "$rs"
  done
  echo
  if [ "$BENCH_UPDATE" = 1 ]; then
    printf '| UPDATE of every ledger row with its leaf index (join included) |'
    for n in $BENCH_SIZES; do printf ' %s | %s | %s | table +%s bytes a row after VACUUM |' "${CPU[upd,$n]}" "$(rate "$n" "${CPU[upd,$n]}")" "$(per "${WAL[upd,$n]}" "$n")" "$(per "${B[upd_growth,$n]}" "$n")"; done
    echo
  fi
  if [ "$CONT_SECONDS" -gt 0 ]; then
    echo
    echo "## The sequence under 8 clients: single-row INSERTs into the indexed table, ${CONT_SECONDS} s each, synchronous_commit off"
    echo
    echo "| | median tps | median cluster CPU µs a row | rounds: tps | rounds: µs a row |"
    echo "|---|---:|---:|---|---|"
    for v in plain_seq const nv; do
      t=(); u=()
      for r in $(seq 1 "$CONT_ROUNDS"); do t+=("${TPS[$v,$r]}"); u+=("${USR[$v,$r]}"); done
      case $v in
        nv) label="+ a column DEFAULT nextval() (CACHE 1)" ;;
        const) label="+ the same column DEFAULT 0 (no sequence)" ;;
        *) label="indexed table" ;;
      esac
      echo "| $label | $(median "${t[@]}") | $(median "${u[@]}") | ${t[*]} | ${u[*]} |"
    done
  fi
  echo
  echo "## Pages (shared buffers hit or read) a lookup touches, the leaf in the middle of the log (EXPLAIN (ANALYZE, BUFFERS))"
  echo
  echo "| lookup | $(for n in $BENCH_SIZES; do printf '%s | ' "$n"; done)"
  echo "|---|$(for n in $BENCH_SIZES; do printf -- '---:|'; done)"
  prow() { printf '| %s |' "$1"; for n in $BENCH_SIZES; do printf ' %s |' "${PG[$2,$n]}"; done; echo; }
  prow "the ledger row by its chain key (chain index; every layout)" row
  prow "(a) row hash → leaf index (hash index)" a_byhash
  prow "(b) row hash → leaf index (hash index)" b_byhash
  prow "(d) the row's leaf index, read with the row by its chain key" d_rowleaf
  prow "(a) one leaf's fields by index (battledger.leaf())" a_leaf
  prow "(b) one leaf's fields by index" b_leaf
  prow "(c) one leaf's hash and locator (two TOAST slices)" c_leaf
  prow "(d) leaf index → its row (BRIN on the leaf index, then the heap)" d_brin
  prow "(a) a proof's 16 leaf hashes (primary key range)" a_group
  prow "(b) a proof's 16 leaves' fields (to hash 16 times)" b_group
  prow "(c) a proof's 16 leaf hashes (one 512-byte TOAST slice)" c_group
  prow "(d) a proof's 16 leaf hashes (one 512-byte TOAST slice)" d_group
  echo
  echo "CPU of fetching a proof's 16 leaf hashes (5,000 random groups a session, warmed; µs a fetch, median of $BENCH_REPS sessions):"
  for n in $BENCH_SIZES; do
    ga=(); gd=()
    for r in $(seq 1 "$BENCH_REPS"); do ga+=("${GRP[a,$n,$r]}"); gd+=("${GRP[d,$n,$r]}"); done
    echo "$n leaves: (a) primary-key range $(median "${ga[@]}") µs (${ga[*]}), (d) TOAST slice $(median "${gd[@]}") µs (${gd[*]})."
  done
} > "$RESULTS"
say "summary (also in ${RESULTS#"$BL_ROOT"/})"
cat "$RESULTS"
