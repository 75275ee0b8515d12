#!/usr/bin/env bash
# Every SQL and shell block of the docs, run as printed.  The blocks are
# taken from the docs themselves, so doc and test cannot drift apart: each
# doc's ```sql and ```sh blocks run in document order in a database of its
# own in a scratch cluster (set up as the doc tells a DBA to set it up; a
# second cluster is consortium.md's second member), and each block must
# succeed.  Where a block states what happens:
#
#   -- ERROR:  text      (and -- DETAIL: / -- HINT: lines after it) the block
#                        must raise exactly these errors, in this order, and
#                        no other; DETAIL and HINT lines printed must match
#   … -- … → value       on the line ending a statement (or on a comment
#                        line of its own after it): the statement's
#                        result (psql -At, fields joined by " | ", rows by
#                        "; ") is exactly `value`, where "…" matches anything
#
# A shell block runs under bash -euo pipefail in the doc's working folder,
# with the built CLI (battledger) and psql on its PATH.
#
# Only fences whose info string is exactly "sql" or "sh" run.  A block that
# cannot run as printed says why in its info string, which keeps its
# language first for highlighting: "sql template" / "sh template" (it has
# placeholders), "sh system" (it installs packages, starts a service or
# writes system paths such as /etc).  "sql at member b" runs at
# consortium.md's second member instead of its first.
# Plain ``` blocks (config fragments, formats, output) are never run.
#
# DOC_BLOCKS_DOCS="dba-guide signatures" runs only those docs.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
CLI_DIR=$(dirname "${CLI:-$BL_ROOT/bin/battledger}")
PORT=${DOC_BLOCKS_PORT:-56401} PORT_B=${DOC_BLOCKS_PORT_B:-56402}
DOCS=${DOC_BLOCKS_DOCS:-"dba-guide signatures registry transparency-log consortium encoding design security"}
fail=0 nblocks=0 nskipped=0
# each block's line says how long it took (the target is a minute in all)
T0=$(date +%s.%N)
took() { local now; now=$(date +%s.%N); TOOK=$(awk -v a="$T0" -v b="$now" 'BEGIN { printf "%.1fs", b - a }'); T0=$now; }
check() { local what=$1; shift; if "$@"; then took; echo "ok   - $what ($TOOK)"; else took; echo "FAIL - $what ($TOOK)"; fail=1; fi; }

# extract DOC: writes each fenced block of docs/DOC.md as
# $BL_WORK/blocks/DOC/NNN.LINE.KIND, KIND being the info string with spaces
# turned into dashes ("plain" for none); blocks are numbered in doc order.
extract() {
  local doc=$1 dir=$BL_WORK/blocks/$1
  mkdir -p "$dir"
  # a fence may be indented (a block inside a list item): its lines lose
  # the fence's indentation
  awk -v dir="$dir" '
    !inb && /^ *```/ { inb = 1; n++; match($0, /^ */); ind = RLENGTH
                       kind = substr($0, ind + 4); gsub(/^ +| +$/, "", kind); gsub(/ +/, "-", kind)
                       if (kind == "") kind = "plain"
                       f = sprintf("%s/%03d.%d.%s", dir, n, NR, kind); printf "" > f; next }
    inb && /^ *```[ \t]*$/ { inb = 0; close(f); next }
    inb { line = $0; if (substr(line, 1, ind) ~ /^ *$/) line = substr(line, ind + 1); print line > f }' \
    "$BL_ROOT/docs/$doc.md"
}

# sql_script BLOCK: the block as a psql script with a marker after each line
# that ends a statement (its code, comment stripped, ends with ";" or it is a
# backslash command), on stdout (\echo) and on stderr (\warn), so that each
# statement's output can be told apart from the next's.
sql_script() {
  awk '{ print
         code = $0; sub(/--.*$/, "", code); sub(/[ \t]+$/, "", code)
         if (code ~ /;$/ || code ~ /^[ \t]*\\/ || code ~ /\\gexec$/) {
           printf "\\echo @@end %d\n\\warn @@end %d\n", NR, NR } }' "$1"
}

# like LIKE with "…" as the only wildcard
matches() { # matches VALUE PATTERN
  local v=$1 p=$2 re
  re=$(printf '%s' "$p" | sed -e 's/[][\.*^$+?(){}|/]/\\&/g' -e 's/…/.*/g')
  [[ "$v" =~ ^$re$ ]]
}

# run_sql DB DIR BLOCKFILE LABEL [PORT]: psql runs in DIR, where the doc's
# shell blocks left their files (a block may read one with \set x `cat file`)
run_sql() {
  local db=$1 dir=$2 f=$3 label=$4 port=${5:-$PGPORT} out err want got line ln value ok=1
  out=$BL_WORK/out.$BASHPID err=$BL_WORK/err.$BASHPID
  sql_script "$f" | ( cd "$dir" && psql -X -q -At -F ' | ' -R '; ' -v VERBOSITY=default -p "$port" -d "$db" ) >"$out" 2>"$err" || true
  # errors: exactly the printed ones, in order
  want=$(grep -E '^[[:space:]]*-- (ERROR|DETAIL|HINT): ' "$f" | sed -E 's/^[[:space:]]*-- //' || true)
  got=$(awk '/^(psql:[^ ]* )?ERROR: / { sub(/^psql:[^ ]* /, ""); print; e = 1; next }
             e && /^(DETAIL|HINT): / { print; next } { e = 0 }' "$err")
  if [ -n "$want" ]; then
    # the printed DETAIL/HINT lines are checked; the ones not printed are not
    local kinds
    kinds=$(grep -oE '^(DETAIL|HINT)' <<<"$want" | sort -u | paste -sd'|' || true)
    got=$(grep -E "^(ERROR${kinds:+|$kinds}):" <<<"$got" || true)
  else
    got=$(grep -E '^ERROR:' <<<"$got" || true)
  fi
  if [ "$got" != "$want" ]; then
    ok=0
    echo "     errors printed in the doc:"; sed 's/^/       /' <<<"${want:-(none)}"
    echo "     errors raised:";              sed 's/^/       /' <<<"${got:-(none)}"
  fi
  # results: each "→ value" against its statement's output
  while IFS= read -r line; do
    ln=${line%%:*}
    # a comment line of its own speaks of the statement ended before it
    ln=$(awk -v ln="$ln" '/^@@end / && $2 <= ln + 0 { m = $2 } END { print m + 0 }' "$out")
    value=${line#*→ }; value=${value%"${value##*[![:space:]]}"}
    got=$(awk -v ln="$ln" '
            /^@@end / { if ($2 == ln) { print buf; exit } buf = ""; next }
            { buf = buf (buf == "" ? "" : "; ") $0 }' "$out")
    if ! matches "$got" "$value"; then
      ok=0; echo "     line $ln: the doc prints → $value"; echo "     the statement returned: $got"
    fi
  done < <(grep -n -- '--.*→ ' "$f" || true)
  check "$label" test $ok = 1
  [ $ok = 1 ] || { echo "     ---- stderr"; grep -v '^@@end' "$err" | head -20 | sed 's/^/       /' || true; }
}

# run_sh DIR BLOCKFILE LABEL
run_sh() {
  local dir=$1 f=$2 label=$3 out rc=0
  out=$( cd "$dir" && PATH="$CLI_DIR:$PATH" bash -euo pipefail "$f" 2>&1 ) || rc=$?
  check "$label" test $rc = 0
  [ $rc = 0 ] || { sed 's/^/       /' <<<"$out" | tail -20 || true; }
}

# What a doc takes as given and does not show: the state its readers have
# reached another way.  setup_DOC runs before the doc's first block;
# after_DOC BLOCKFILE after each of its blocks (a doc that registers a member
# and then reads that member's batteries).

# transparency-log.md: an auditor checks "a member log" whose rows the doc
# never writes (test/shell/auditor_walkthrough.sh makes the same log): rows
# sealed, a checkpoint the auditor kept as old.txt, more rows sealed.
setup_transparency_log() {
  psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE soh (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('soh', 'battery');
INSERT INTO soh SELECT 'B' || i % 3, 100 - i FROM generate_series(1, 5) i;
SELECT battledger.seal();
SQL
  printf '%s\n' "$(psql -X -At -c "SELECT battledger.checkpoint()")" > "$1/old.txt"
  psql -X -q -v ON_ERROR_STOP=1 -c "INSERT INTO soh SELECT 'B' || i % 3, 90 - i FROM generate_series(1, 4) i" \
    -c "SELECT battledger.seal()" >/dev/null
}

# registry.md reads battery B0025, which demo.sh writes with signed rows:
# once the doc has registered its maker (cells.example, the namespace of
# B0025's GTIN), the maker writes the model, manufactures B0025 and places it
# on the market, signing with the TEST-ONLY signer's key.
after_registry() {
  grep -q 'add_id_namespace(' "$2" || return 0
  psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY: signs with seeds given in SQL
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT battledger.add_key('cells.example', battledger_test.public_key(battledger_test.seed('cells.example')));
SELECT model('cells.example', '{"model_id": "NMC-1", "manufacturer": "cells.example", "category": "ev",
                                "chemistry": "NMC", "rated_capacity_ah": 60}');
SELECT ev('cells.example', '{"battery_id": "gs1:01/09521234567899/21/B0025", "event": "manufactured",
                             "model_id": "NMC-1", "occurred_at": "2026-06-01T00:00:00Z"}');
SELECT ev('cells.example', '{"battery_id": "gs1:01/09521234567899/21/B0025", "event": "placed_on_market",
                             "passport_id": "P-B0025", "occurred_at": "2026-06-02T00:00:00Z"}');
SQL
}

# consortium.md: this database is member a (a.example/log); member b
# (b.example/log) is a second cluster set up the same way, by the doc's
# step 2 run there.  The join (step 4) is a template, the other member's
# address and keys in it elided: once the doc has shown it, the members join
# each other with the real ones, as consortium.sh does.
setup_consortium() {
  local wd=$1
  "$CLI_DIR/battledger" keygen --out "$wd/oem" >/dev/null
  for m in a b; do
    "$CLI_DIR/battledger" keygen --out "$BL_WORK/$m-log" >/dev/null
    "$CLI_DIR/battledger" keygen --out "$BL_WORK/$m-witness" >/dev/null
    [ "$(id -u)" = 0 ] && chown postgres: "$BL_WORK/$m-log.key" "$BL_WORK/$m-witness.key"
  done
  psql -X -q -v ON_ERROR_STOP=1 \
    -c "ALTER DATABASE consortium SET battledger.log_key_file = '$BL_WORK/a-log.key'" \
    -c "ALTER DATABASE consortium SET battledger.witness_key_file = '$BL_WORK/a-witness.key'" >/dev/null
  ( bl_start_cluster b "$PORT_B" "wal_level = logical
battledger.origin = 'b.example/log'
battledger.log_key_file = '$BL_WORK/b-log.key'
battledger.witness_key_file = '$BL_WORK/b-witness.key'
wal_retrieve_retry_interval = 200ms"
    createdb registry )
  # step 2 at b: the doc's own block, the same application tables
  local step2
  step2=$(grep -l '^CREATE EXTENSION battledger;' "$BL_WORK/blocks/consortium"/*.sql | head -1)
  ( cd "$wd" && psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "$PORT_B" -d registry -f "$step2" ) >/dev/null
}
# join SUBSCRIBER: the subscriber's psql connection options for the other
join_other() {
  local from_port=$1 from_db=$2 to_port=$3 to_db=$4 origin=$5
  local lv wv
  lv=$(psql -X -At -h "$BL_WORK" -p "$to_port" -d "$to_db" -c "SELECT battledger.log_vkey()")
  wv=$(psql -X -At -h "$BL_WORK" -p "$to_port" -d "$to_db" -c "SELECT battledger.witness_vkey()")
  psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "$from_port" -d "$from_db" -v origin="$origin" \
    -v conn="host=$BL_WORK port=$to_port dbname=$to_db user=postgres" -v lv="$lv" -v wv="$wv" >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT battledger.join(:'origin', :'conn', :'lv', :'wv') \gexec
SQL
}
after_consortium() {
  if grep -q "SELECT battledger.join('b.example/log'," "$2"; then
    join_other "$PORT" consortium "$PORT_B" registry b.example/log
    join_other "$PORT_B" registry "$PORT" consortium a.example/log
    # the doc's step 5 then watches a running subscription, as it shows
    wait_for "SELECT count(*) > 0 FROM battledger.consortium_member m JOIN pg_stat_subscription s ON s.subname = m.subscription WHERE s.pid IS NOT NULL"
  elif grep -q 'pg_drop_replication_slot' "$2"; then
    # "then join again as in the setup"
    join_other "$PORT" consortium "$PORT_B" registry b.example/log
  fi
}
wait_for() { # wait_for SQL: until it returns t at a (30 s)
  local i
  for i in $(seq 150); do
    [ "$(psql -X -At -c "$1")" = t ] && return 0
    sleep 0.2
  done
  echo "     timed out waiting for: $1"; return 1
}

# run_doc DOC DB WORKDIR: every block of DOC in order
run_doc() {
  local doc=$1 db=$2 wd=$3 f base ln kind
  extract "$doc"
  if declare -F "setup_${doc//-/_}" >/dev/null; then "setup_${doc//-/_}" "$wd"; fi
  for f in "$BL_WORK/blocks/$doc"/*; do
    base=$(basename "$f"); ln=${base#*.}; kind=${ln#*.}; ln=${ln%%.*}
    case $kind in
      sql) nblocks=$((nblocks + 1)); run_sql "$db" "$wd" "$f" "docs/$doc.md:$ln sql" ;;
      sh)  nblocks=$((nblocks + 1)); run_sh "$wd" "$f" "docs/$doc.md:$ln sh" ;;
      sql-at-member-b) # consortium.md: a block the doc runs at the other member
                       nblocks=$((nblocks + 1)); run_sql registry "$wd" "$f" "docs/$doc.md:$ln sql at member b" "$PORT_B" ;;
      sql-*|sh-*) nskipped=$((nskipped + 1)); echo "skip - docs/$doc.md:$ln ($kind)" ;;
    esac
    if declare -F "after_${doc//-/_}" >/dev/null; then "after_${doc//-/_}" "$wd" "$f"; fi
  done
}

# One cluster for every doc: each doc gets its own database, sealing under
# its own origin (an origin per database, as dba-guide.md says), with the
# TEST-ONLY log key as its battledger.log_key_file.  Apply workers start
# within 200 ms instead of 5 s (test/lib/consortium.sh, BL_QUICK_RETRY).
bl_start_cluster docs "$PORT" "$(bl_test_log_conf battledger.test/docs)
wal_level = logical
wal_retrieve_retry_interval = 200ms"
psql -X -q -c "LOAD 'battledger'" >/dev/null

# The docs' databases first, one after the other; then the docs run side
# by side (each in its own database and folder, its output kept and printed
# whole in doc order): most of a block's time is round trips and waits
# (replication, psql starting), so on two vCPUs the walk takes about half
# the time it takes one doc after the other.
declare -A dbof
for doc in $DOCS; do
  [ -f "$BL_ROOT/docs/$doc.md" ] || { check "docs/$doc.md exists" false; continue; }
  grep -qE '^ *```(sql|sh)( |$)' "$BL_ROOT/docs/$doc.md" || { dbof[$doc]=; continue; }
  db=${doc//-/_}; dbof[$doc]=$db
  # a doc that does not show CREATE EXTENSION starts where the extension is
  # installed (dba-guide.md, "Install"): a copy of a database that has it
  # (CREATE EXTENSION takes seconds on a loaded machine; a copy, a fraction)
  if grep -q '^ *CREATE EXTENSION battledger;' "$BL_ROOT/docs/$doc.md"; then
    createdb "$db"
  else
    if ! psql -X -At -c "SELECT 1 FROM pg_database WHERE datname = 'with_extension'" | grep -q 1; then
      createdb with_extension
      psql -X -q -d with_extension -c "CREATE EXTENSION battledger" >/dev/null
    fi
    createdb -T with_extension "$db"
  fi
  # transparency-log.md's log is the one its postgresql.conf lines name
  origin=docs.test/$doc
  [ "$doc" = transparency-log ] && origin=oem.example/batteries
  [ "$doc" = consortium ] && origin=a.example/log
  psql -X -q -c "ALTER DATABASE $db SET battledger.origin = '$origin'" >/dev/null
  mkdir -p "$BL_WORK/wd/$doc"; [ "$(id -u)" = 0 ] && chown postgres: "$BL_WORK/wd/$doc"
done

for doc in "${!dbof[@]}"; do
  db=${dbof[$doc]}; [ -n "$db" ] || continue
  (
    T0=$(date +%s.%N) nblocks=0 nskipped=0 fail=0; start=$T0
    PGDATABASE=$db run_doc "$doc" "$db" "$BL_WORK/wd/$doc"
    echo "-- docs/$doc.md: ran in $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }')"
    echo "$nblocks $nskipped $fail" > "$BL_WORK/status.$doc"
  ) > "$BL_WORK/log.$doc" 2>&1 &
done
wait
for doc in $DOCS; do
  [ -n "${dbof[$doc]+set}" ] || continue
  say "docs/$doc.md"
  if [ -z "${dbof[$doc]}" ]; then echo "(no sql or sh blocks)"; continue; fi
  cat "$BL_WORK/log.$doc"
  if [ -f "$BL_WORK/status.$doc" ]; then
    read -r b k f < "$BL_WORK/status.$doc"
    nblocks=$((nblocks + b)); nskipped=$((nskipped + k)); [ "$f" = 0 ] || fail=1
  else
    check "docs/$doc.md ran to its end" false
  fi
done

echo "$nblocks blocks run, $nskipped skipped"
[ $fail = 0 ] && echo "doc_blocks: PASS" || { echo "doc_blocks: FAIL"; exit 1; }
