#!/usr/bin/env bash
# test/bench/fold_stale_ab.sh — the legitimate-interest passport of a battery
# whose fold cache a member joining has made stale (issue 15; 0.25.0's fold
# cache dependencies), a build of an earlier commit (BENCH_BASE_BIN, e.g.
# main's build installed in a second PostgreSQL copy) against this one
# (PG_BIN), in the same run.
#
# The cache change is in tables and triggers, so the two cannot be swapped
# on one database as passport_cycles_ab.sh swaps functions: each build gets
# test/shell/derived_values.sh's database (its checks run first and must
# pass) plus passport_cycles_ab.sh's NASA-ALL (2,358 reports with per-cycle
# data), on its own cluster.  In BENCH_REPS interleaved rounds, for each
# build: a member joins with a key (add_member(), add_key(): a change no
# battery's fold reads), then the backend's CPU time (user + system,
# /proc/PID/stat) over BENCH_CALLS calls of passport(b,
# 'legitimate_interest') in one DO block ("stale": a reader does not store
# the cache, so until a write does every call meets it so); then the
# battery's cache stored again (the rules' _battery_state_cached()) and
# the same calls ("fresh").  Then whether each build's cache stood the
# join, and each build's document from the cache against one folded from
# scratch (the cache emptied in a transaction rolled back), which must be
# identical (since 0.26.0 every tier in every format as well).
#
#   PG_BIN=... PG_CONFIG=... BENCH_BASE_BIN=/opt/base/usr/lib/postgresql/15/bin bash test/bench/fold_stale_ab.sh
# Environment: BENCH_BASE_BIN (required), BENCH_CALLS (300; NASA-ALL:
# BENCH_BIG_CALLS, 100), BENCH_REPS (5), BENCH_PORTS ("56070 56071": base, this),
# BENCH_CALLGRIND (0; 1: also instructions per call, below), BENCH_CG_CALLS (20),
# BENCH_BASE_TREE (.: the base's source tree, whose derived_values.sh builds its database).
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/lib/cluster.sh
: "${BENCH_BASE_BIN:?the bin directory of the build to compare against}"
BENCH_CALLS=${BENCH_CALLS:-300}
BENCH_BIG_CALLS=${BENCH_BIG_CALLS:-100}
BENCH_REPS=${BENCH_REPS:-5}
read -r PORT_BASE PORT_THIS <<<"${BENCH_PORTS:-56070 56071}"
THIS_BIN=$PG_BIN
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
bl_scratch
W=$BL_WORK
trap 'for v in base this; do [ -d "$W/$v/dv" ] && as_pg "$([ $v = base ] && echo "$BENCH_BASE_BIN" || echo "$THIS_BIN")/pg_ctl" -D "$W/$v/dv" -m immediate stop >/dev/null 2>&1 || true; done; rm -rf "$W"' EXIT
# each build's database (derived_values.sh leaves its cluster running for a given BL_WORK)
for v in base this; do
  mkdir -p "$W/$v"; chown postgres "$W/$v" 2>/dev/null || true
  bin=$([ $v = base ] && echo "$BENCH_BASE_BIN" || echo "$THIS_BIN")
  port=$([ $v = base ] && echo "$PORT_BASE" || echo "$PORT_THIS")
  # (the base's own derived_values.sh where given: it swaps its tree's
  # passport functions in, which may call C functions the base lacks)
  tree=$([ $v = base ] && echo "${BENCH_BASE_TREE:-.}" || echo .)
  BL_WORK=$W/$v PG_BIN=$bin PG_CONFIG=$bin/pg_config DV_PORT=$port bash "$tree/test/shell/derived_values.sh" > "$W/$v.dv.out" 2>&1 ||
    { tail -20 "$W/$v.dv.out"; echo "derived_values.sh failed ($v)" >&2; exit 1; }
done
P() { local v=$1; shift; psql -X -q -At -h "$W/$v" -p "$([ $v = base ] && echo "$PORT_BASE" || echo "$PORT_THIS")" -U postgres -d dv "$@"; }
for v in base this; do
  P $v >/dev/null <<'SQL'
SET search_path = public, battledger, battledger_test;
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('NASA-ALL')::text, 'event', 'manufactured', 'model_id', 'NASA-18650',
          'data', '{"rated": {"overchargeVoltageV": 4.21, "idleTemperatureLowerC": 5, "idleTemperatureUpperC": 40}}'::jsonb,
          'occurred_at', '2009-01-15T00:00:00Z'));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('NASA-ALL')::text, 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb,
          'occurred_at', '2009-01-20T00:00:00Z'));
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('NASA-ALL')::text, 'event', 'handover_accepted', 'occurred_at', '2009-01-20T00:00:00Z'));
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('NASA-ALL')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:NASA-ALL:1',
          'occurred_at', '2009-02-01T00:00:00Z'));
SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('NASA-ALL')::text, 'event', 'installed', 'occurred_at', '2009-02-10T00:00:00Z'));
SELECT sum(nasa_cycles('fleet.test', c, 'NASA-ALL')) FROM (SELECT DISTINCT cell c FROM nasa_raw ORDER BY 1) x;
SQL
done
# backend CPU ms per call of an expression, n calls in one session (one call first)
cpu_ms() {
  local v=$1 n=$2 e=$3
  P $v <<SQL | tail -1
SET search_path = public, battledger, battledger_test;
SELECT ($e) IS NOT NULL;
CREATE TEMP TABLE t0 AS SELECT split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ' ', 14)::bigint
                             + split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ' ', 15)::bigint AS ticks;
DO \$\$ BEGIN FOR i IN 1..$n LOOP PERFORM $e; END LOOP; END \$\$;
SELECT round(((split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ' ', 14)::bigint
             + split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ' ', 15)::bigint - ticks)
              * 1000.0 / $(getconf CLK_TCK) / $n)::numeric, 3) FROM t0;
SQL
}
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
join_member() { P "$1" -c "SET search_path = public, battledger, battledger_test" \
  -c "SELECT add_member('joiner-$2.test', ARRAY['oem']) IS NOT NULL, add_key('joiner-$2.test', public_key(seed('joiner-$2.test'))) IS NOT NULL" >/dev/null; }
store() { P "$1" -c "SET search_path = public, battledger, battledger_test" -c "SELECT battledger._battery_state_cached(bid('$2')) IS NOT NULL" >/dev/null; }
echo "legitimate-interest passport (battledger.passport(b, 'legitimate_interest')), backend CPU ms per call, median of $BENCH_REPS interleaved rounds (in brackets),"
echo "$BENCH_CALLS calls a round (NASA-B0025), $BENCH_BIG_CALLS (NASA-ALL); stale: after a member joined with a key; fresh: after the cache was stored again"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1), load $LOAD_BEFORE before; commit $(git rev-parse --short HEAD); base $BENCH_BASE_BIN"
echo
echo "| battery (reports with per-cycle data) | cache | base | this | this / base |"
echo "|---|---|---:|---:|---:|"
fail=0; DOCS=""; k=0
for b in NASA-B0025 NASA-ALL; do
  n=$BENCH_CALLS; [ $b = NASA-ALL ] && n=$BENCH_BIG_CALLS
  E="battledger.passport(bid('$b'), 'legitimate_interest')"
  SB=(); ST=(); FB=(); FT=()
  for v in base this; do store $v $b; done
  for r in $(seq 1 "$BENCH_REPS"); do
    for v in base this; do
      k=$((k + 1)); join_member $v "$b-$r"
      s=$(cpu_ms $v "$n" "$E"); store $v $b; f=$(cpu_ms $v "$n" "$E")
      if [ $v = base ]; then SB+=("$s"); FB+=("$f"); else ST+=("$s"); FT+=("$f"); fi
    done
  done
  reports=$(P this -c "SELECT count(*) FROM battledger.battery_event e
             JOIN battledger.disclosure d ON d.commitment OPERATOR(battledger.=) e.restricted
            WHERE e.battery_id OPERATOR(battledger.=) public.bid('$b') AND d.value ? 'cycle'")
  ms=$(median "${SB[@]}"); mt=$(median "${ST[@]}")
  echo "| $b ($reports) | stale | $ms [${SB[*]}] | $mt [${ST[*]}] | $(awk -v a="$mt" -v b="$ms" 'BEGIN { printf "%.2f", a / b }') |"
  ms=$(median "${FB[@]}"); mt=$(median "${FT[@]}")
  echo "| $b ($reports) | fresh | $ms [${FB[*]}] | $mt [${FT[*]}] | $(awk -v a="$mt" -v b="$ms" 'BEGIN { printf "%.2f", a / b }') |"
  for v in base this; do
    join_member $v "$b-check"
    stands=$(P $v -c "SELECT (SELECT count(*) FROM battledger.battery_event e WHERE e.battery_id OPERATOR(battledger.=) public.bid('$b')
                                AND e.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled', 'handover', 'handover_accepted'))
                              = (SELECT c.n FROM battledger.battery_fold_cache c WHERE c.battery_id OPERATOR(battledger.=) public.bid('$b'))
                          AND (SELECT c.generation FROM battledger.battery_fold_cache c WHERE c.battery_id OPERATOR(battledger.=) public.bid('$b'))
                              = battledger._fold_generation()")
    if [ $v = this ]; then
      stands=$(P $v -c "SELECT '$stands'::boolean AND (SELECT c.dep_sum = battledger._fold_dep_sum(c.deps) FROM battledger.battery_fold_cache c
                                             WHERE c.battery_id OPERATOR(battledger.=) public.bid('$b'))")
    fi
    # (every tier in every format since 0.26.0; the two builds' documents
    # cannot be compared with each other: each database's rows carry their
    # own times, hashes and signatures)
    A="(SELECT md5(string_agg(battledger.passport(public.bid('$b'), t, f)::text, E'\\n' ORDER BY t, f))
          FROM unnest(ARRAY['public', 'legitimate_interest', 'authority']) t,
               unnest(ARRAY['battledger', 'batterypass', 'catenax']) f)"
    cached=$(P $v -c "SELECT md5(($E)::text) || ' ' || $A")
    whole=$(P $v -c "BEGIN" -c "DELETE FROM battledger.battery_fold_cache" -c "SELECT md5(($E)::text) || ' ' || $A" -c "ROLLBACK")
    DOCS+=" $b $v: cache stood a join: $stands; from the cache = from scratch (li battledger; 3 tiers x 3 formats): $([ "$cached" = "$whole" ] && echo yes || echo NO) (md5 $cached);"
    [ "$cached" = "$whole" ] || fail=1
  done
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "documents:$DOCS"
# BENCH_CALLGRIND=1: instructions per call (callgrind, which the machine's
# load does not move), BENCH_CG_CALLS (20) calls in one DO block after two,
# each build's database copied and run by a single-user postgres: stale
# (a member joins first) and fresh (the cache stored first)
if [ "${BENCH_CALLGRIND:-0}" = 1 ]; then
  command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
  N=${BENCH_CG_CALLS:-20}
  echo
  echo "instructions per call (callgrind), $N calls in one DO block after two:"
  echo
  echo "| battery | cache | base | this | this / base |"
  echo "|---|---|---:|---:|---:|"
  declare -A IR
  for v in base this; do
    bin=$([ $v = base ] && echo "$BENCH_BASE_BIN" || echo "$THIS_BIN")
    as_pg "$bin/pg_ctl" -D "$W/$v/dv" -m fast -w stop >/dev/null
    for b in NASA-B0025 NASA-ALL; do
      for c in stale fresh; do
        rm -rf "$W/copy"; cp -a "$W/$v/dv" "$W/copy"
        { echo "SET search_path = public, battledger, battledger_test;"
          if [ $c = stale ]; then
            echo "SELECT battledger._battery_state_cached(bid('$b')) IS NULL;"
            echo "SELECT add_member('joiner-cg.test', ARRAY['oem']) IS NULL, add_key('joiner-cg.test', public_key(seed('joiner-cg.test'))) IS NULL;"
          else
            echo "SELECT battledger._battery_state_cached(bid('$b')) IS NULL;"
          fi
          echo "SELECT battledger.passport(bid('$b'), 'legitimate_interest') IS NULL;"
          echo "SELECT battledger.passport(bid('$b'), 'legitimate_interest') IS NULL;"
          echo "DO \$\$ DECLARE b battledger.battery_id := bid('$b'); BEGIN FOR i IN 1..$N LOOP PERFORM battledger.passport(b, 'legitimate_interest'); END LOOP; END \$\$;"
        } > "$W/in.sql"
        chmod 644 "$W/in.sql"
        as_pg valgrind --tool=callgrind --collect-atstart=no --toggle-collect=plpgsql_inline_handler \
          --callgrind-out-file="$W/cg.out" "$bin/postgres" --single -D "$W/copy" -c jit=off dv < "$W/in.sql" > "$W/single.out" 2>&1
        IR[$v,$b,$c]=$(awk -v n="$N" '/^totals:/ { printf "%.0f", $2 / n }' "$W/cg.out")
        rm -f "$W/cg.out"
      done
    done
  done
  for b in NASA-B0025 NASA-ALL; do
    for c in stale fresh; do
      echo "| $b | $c | ${IR[base,$b,$c]} | ${IR[this,$b,$c]} | $(awk -v a="${IR[this,$b,$c]}" -v o="${IR[base,$b,$c]}" 'BEGIN { printf "%.3f", a / o }') |"
    done
  done
fi
exit $fail
