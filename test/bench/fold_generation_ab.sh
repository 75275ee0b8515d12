#!/usr/bin/env bash
# _fold_generation(): 0.6.0's (row counts of event_kind and status_role, the
# custody date as text) against 0.7.0's (their contents' md5, the date as
# epoch), same session, interleaved rounds; backend CPU (utime+stime from
# /proc) per call.  Every fold-cache check (each battery_event insert, each
# cached battery_state()) calls it once.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
bl_scratch
bl_start_cluster fg 55733
N=${N:-20000}
psql -X -q -At -d postgres >/dev/null <<'SQL'
CREATE EXTENSION battledger;
-- 0.6.0's body, verbatim (git show 8a7f2d1:sql/install/80_registry.sql)
CREATE FUNCTION public.fold_generation_060() RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT concat_ws('/', (SELECT r.since FROM battledger.registry_rule r WHERE r.rule = 'custody'),
                     (SELECT count(*) FROM battledger.member_event), (SELECT count(*) FROM battledger.key_event),
                     (SELECT count(*) FROM battledger.id_namespace), (SELECT count(*) FROM battledger.event_kind),
                     (SELECT count(*) FROM battledger.status_role))
$$;
CREATE FUNCTION public.loop_old(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP PERFORM public.fold_generation_060(); END LOOP;
END $$;
CREATE FUNCTION public.loop_new(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP PERFORM battledger._fold_generation(); END LOOP;
END $$;
SQL
coproc P { psql -X -q -At -d postgres; }
echo "SELECT pg_backend_pid();" >&"${P[1]}"; read -r pid <&"${P[0]}"
cpu() { awk '{print $14 + $15}' /proc/$pid/stat; }   # clock ticks
tick=$(getconf CLK_TCK)
declare -A tot=([old]=0 [new]=0)
run() { local a b; echo "SELECT 'x';" >&"${P[1]}"; read -r _ <&"${P[0]}"; a=$(cpu)
  echo "SELECT public.loop_$1($N), 'done';" >&"${P[1]}"; read -r _ <&"${P[0]}"; b=$(cpu)
  tot[$1]=$(( ${tot[$1]} + b - a )); }
for r in 1 2 3; do run old; run new; done
echo "\\q" >&"${P[1]}"
awk -v o=${tot[old]} -v n=${tot[new]} -v t=$tick -v N=$N 'BEGIN {
  printf "0.6.0 _fold_generation: %.1f us CPU/call\n0.7.0 _fold_generation: %.1f us CPU/call\nratio new/old: %.2f\n",
         o / t / (3 * N) * 1e6, n / t / (3 * N) * 1e6, n / o }'
