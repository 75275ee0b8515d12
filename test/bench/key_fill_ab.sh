#!/usr/bin/env bash
# test/bench/key_fill_ab.sh — the key cache's fill query and _signer(), 0.23.0's
# form (joined to the members view) against this version's (the member's row
# probed alone), on one database with many member rows, in the same run.
#
# One throwaway cluster, battledger as installed for PG_CONFIG / PG_BIN;
# BENCH_MEMBERS members (each added and its roles changed once: two member
# rows each) with a key each.  For each variant, interleaved in BENCH_REPS
# rounds, the backend's CPU time (user + system, /proc/PID/stat) per call:
#   fill     the key cache's fill query (src/pg/keys.c key_fill()) as a
#            miss ran it until 0.23.0: prepared, planned and executed once
#            (EXECUTE in PL/pgSQL), BENCH_FILLS calls, each for another
#            member's key; and this version's as it runs now, its generic
#            plan kept for the session (static SQL in PL/pgSQL; 20 times as
#            many calls, for the clock's 10 ms ticks);
#   _signer  _signer(key_id), the old body (frozen
#            sql/upgrade/battledger--0.23.0.sql) and this version's swapped
#            in place, BENCH_CALLS calls in one session (generic plans).
# Every key's answer must be the same in both variants, or the script fails.
#
#   PG_BIN=... PG_CONFIG=... bash test/bench/key_fill_ab.sh
# Environment: BENCH_MEMBERS (800), BENCH_FILLS (200), BENCH_CALLS (2000),
# BENCH_REPS (5), BENCH_PORT (55859).
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/lib/cluster.sh
BENCH_MEMBERS=${BENCH_MEMBERS:-800}
BENCH_FILLS=${BENCH_FILLS:-200}
BENCH_CALLS=${BENCH_CALLS:-2000}
BENCH_REPS=${BENCH_REPS:-5}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
bl_scratch   # (before bl_test_log_conf, which writes the key into BL_WORK)
bl_start_cluster kf "${BENCH_PORT:-55859}" "$(bl_test_log_conf battledger.test/kf)"
createdb kf
P() { psql -X -q -At -v ON_ERROR_STOP=1 -d kf "$@"; }
P >/dev/null <<SQL
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY: public keys from seeds
SELECT battledger.add_member('m' || i, ARRAY['oem']) FROM generate_series(1, $BENCH_MEMBERS) i;
SELECT battledger.set_member_roles('m' || i, ARRAY['oem', 'recycler']) FROM generate_series(1, $BENCH_MEMBERS) i;
SELECT battledger.add_key('m' || i, battledger_test.public_key(battledger_test.seed('kf-' || i))) FROM generate_series(1, $BENCH_MEMBERS) i;
ANALYZE;
CREATE TABLE kf_keys AS SELECT row_number() OVER (ORDER BY member) AS n, key_id FROM battledger.key_event;
SQL
OLD_FILL="SELECT k.member, k.public_key, k.valid_from, k.valid_until, k.revoked_at, m.roles::text
  FROM battledger.keys k JOIN battledger.members m ON m.member = k.member
 WHERE k.key_id OPERATOR(battledger.=) \$1::battledger.hash256"
NEW_FILL=$(sed -n '/SPI_prepare_cursor("SELECT k.member, k.public_key/,/1, argtypes, CURSOR_OPT/p' src/pg/keys.c | grep '"' |
           sed -e 's/^[^"]*"//' -e 's/"[^"]*$//' -e 's/\\"/"/g' | tr '\n' ' ')
case "$NEW_FILL" in *"CROSS JOIN LATERAL"*"OFFSET 0"*) ;; *) echo "could not read the fill query from src/pg/keys.c" >&2; exit 1 ;; esac
awk -v names=_signer -f sql/upgrade/replace_functions.awk sql/upgrade/battledger--0.23.0.sql \
  | sed 's/@extschema@/battledger/g' > "$BL_WORK/old.sql"
cat sql/install/*.sql | awk -v names=_signer -f sql/upgrade/replace_functions.awk \
  | sed 's/@extschema@/battledger/g' > "$BL_WORK/this.sql"
grep -q "CREATE OR REPLACE FUNCTION battledger._signer(" "$BL_WORK/old.sql" "$BL_WORK/this.sql"
# backend CPU µs per call of a PL/pgSQL block body run N times (i: 1..N)
cpu_us() {  # N BODY [SQL run first in the session]
  P <<SQL | tail -1
${3:-}
CREATE FUNCTION pg_temp.cpu() RETURNS bigint LANGUAGE sql AS \$f\$
  SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint
    FROM pg_read_file('/proc/' || pg_backend_pid() || '/stat') s \$f\$;
DO \$\$ DECLARE kid battledger.hash256; rec record; BEGIN
  SELECT key_id INTO kid FROM kf_keys WHERE n = 1; $2
END \$\$;
CREATE TEMP TABLE t0 AS SELECT pg_temp.cpu() AS ticks;
DO \$\$ DECLARE kid battledger.hash256; rec record; BEGIN
  FOR i IN 1..$1 LOOP
    SELECT key_id INTO kid FROM kf_keys WHERE n = 1 + i % $BENCH_MEMBERS; $2
  END LOOP;
END \$\$;
SELECT round((pg_temp.cpu() - ticks) * 1000000.0 / $(getconf CLK_TCK) / $1) FROM t0;
SQL
}
fill() { printf 'EXECUTE %s INTO rec USING kid;' "\$q\$$1\$q\$"; }
# the query as the kept plan runs it (generic, planned once a session)
kept() { printf '%s' "$(sed 's/ FROM battledger.keys k/ INTO rec FROM battledger.keys k/; s/\$1::battledger.hash256/kid/' <<<"$1");"; }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "key cache fill query and _signer(), backend CPU µs per call, median of $BENCH_REPS interleaved rounds (in brackets)"
echo "$(P -c "SELECT count(*) FROM battledger.member_event") member rows ($BENCH_MEMBERS members), $(P -c "SELECT count(*) FROM battledger.key_event") keys;" \
     "fill: $BENCH_FILLS misses a round ($((BENCH_FILLS * 20)) with the plan kept), _signer(): $BENCH_CALLS calls"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1), load $LOAD_BEFORE before; commit $(git rev-parse --short HEAD)"
echo
echo "| probe | 0.23.0 (members view) | this (the member's row) | this / 0.23.0 |"
echo "|---|---:|---:|---:|"
FO=(); FT=(); FK=(); SO=(); ST=()
for r in $(seq 1 "$BENCH_REPS"); do
  FO+=("$(cpu_us "$BENCH_FILLS" "$(fill "$OLD_FILL")")")
  FT+=("$(cpu_us "$BENCH_FILLS" "$(fill "$NEW_FILL")")")
  FK+=("$(cpu_us $((BENCH_FILLS * 20)) "$(kept "$NEW_FILL")" "SET plan_cache_mode = force_generic_plan;")")
  P -f "$BL_WORK/old.sql" >/dev/null;  SO+=("$(cpu_us "$BENCH_CALLS" "PERFORM battledger._signer(kid);")")
  P -f "$BL_WORK/this.sql" >/dev/null; ST+=("$(cpu_us "$BENCH_CALLS" "PERFORM battledger._signer(kid);")")
done
row() { local o t; o=$(median "${@:2:$BENCH_REPS}"); t=$(median "${@:$((BENCH_REPS + 2))}")
        echo "| $1 | $o [${*:2:$BENCH_REPS}] | $t [${*:$((BENCH_REPS + 2))}] | $(awk -v a="$t" -v b="$o" 'BEGIN { printf "%.2f", a / b }') |"; }
row "key cache fill (a miss), planned at each" "${FO[@]}" "${FT[@]}"
row "key cache fill (a miss), this version's plan kept" "${FO[@]}" "${FK[@]}"
row "_signer()" "${SO[@]}" "${ST[@]}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# the same answer for every key, and for a key nobody registered
same() {
  P <<SQL
CREATE TEMP TABLE a AS SELECT n, r.* FROM kf_keys CROSS JOIN LATERAL ($(sed 's/\$1::battledger.hash256/kf_keys.key_id/' <<<"$OLD_FILL")) r;
CREATE TEMP TABLE b AS SELECT n, r.* FROM kf_keys CROSS JOIN LATERAL ($(sed 's/\$1::battledger.hash256/kf_keys.key_id/' <<<"$NEW_FILL")) r;
SELECT count(*) || ' keys, ' || (SELECT count(*) FROM (TABLE a EXCEPT TABLE b) x) + (SELECT count(*) FROM (TABLE b EXCEPT TABLE a) y)
       || ' rows differ' FROM a;
SQL
}
fills=$(same)
P -f "$BL_WORK/old.sql" >/dev/null;  SIG_OLD=$(P -c "SELECT md5(string_agg((battledger._signer(key_id))::text, ',' ORDER BY n)) FROM kf_keys")
P -f "$BL_WORK/this.sql" >/dev/null; SIG_THIS=$(P -c "SELECT md5(string_agg((battledger._signer(key_id))::text, ',' ORDER BY n)) FROM kf_keys")
echo "fill query answers: $fills; _signer() answers: $([ "$SIG_OLD" = "$SIG_THIS" ] && echo "identical (md5 $SIG_THIS)" || echo "DIFFER")"
[ "$SIG_OLD" = "$SIG_THIS" ] && [[ "$fills" == *", 0 rows differ" ]]
