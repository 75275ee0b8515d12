#!/usr/bin/env bash
# consortium_status() backend CPU per call: this build's body against the one
# of commit OLD_COMMIT (default 8991d68, 0.11.0's), created as
# public.status_old() in the same database; 20 members whose subscriptions
# exist but never connected (connect = false: no worker, so every check of
# the status runs), each with 10 tables counted in peer_arrival (0.13.0);
# BENCH_CALLS calls per round, BENCH_REPS rounds each.
# Run as root: PG_BIN=... [BENCH_PORT=57593] test/bench/status_ab.sh
set -euo pipefail
BL_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PORT=${BENCH_PORT:-57593}; CALLS=${BENCH_CALLS:-500}; REPS=${BENCH_REPS:-3}
W=$(mktemp -d /tmp/status_ab.XXXXXX); chmod 755 "$W"; chown postgres: "$W"
git -C "$BL_ROOT" show "${OLD_COMMIT:-8991d68}:sql/install/90_consortium.sql" |
  awk -v names="consortium_status" -f "$BL_ROOT/sql/upgrade/replace_functions.awk" |
  sed 's/@extschema@\.consortium_status()/public.status_old()/; s/@extschema@/battledger/g' > "$W/old.sql"
runuser -u postgres -- "$BIN/initdb" -D "$W/d" -A trust -U postgres --no-sync >/dev/null
printf "port = $PORT\nlisten_addresses = ''\nunix_socket_directories = '$W'\nwal_level = logical\nbattledger.origin = 'ab.example/log'\n" >> "$W/d/postgresql.conf"
runuser -u postgres -- "$BIN/pg_ctl" -D "$W/d" -l "$W/log" -w start >/dev/null
trap 'runuser -u postgres -- "$BIN/pg_ctl" -D "$W/d" -m immediate stop >/dev/null; rm -rf "$W"' EXIT
P="$BIN/psql -X -q -At -h $W -p $PORT -U postgres -d postgres"
$P -c "CREATE EXTENSION battledger" >/dev/null
$P -f "$W/old.sql" >/dev/null
for i in $(seq 1 20); do
  $P -c "INSERT INTO battledger.consortium_member (origin, subscription, log_vkey) VALUES ('m$i.example/log', 'sub$i', 'x')" \
     -c "CREATE SUBSCRIPTION sub$i CONNECTION 'host=/nonexistent dbname=x' PUBLICATION p WITH (connect = false)" >/dev/null 2>&1
done
# since 0.13.0 the status reads battledger.peer_arrival: 10 tables per
# member, one with a leaf more than rows ("rows missing"), one with rows
# waiting an hour ("unsealed"), so that every reason is built
$P -c "DO \$\$ BEGIN IF to_regclass('battledger.peer_arrival') IS NOT NULL THEN
         INSERT INTO battledger.peer_arrival (origin, tbl, rows_received, leaves_received, unsealed_since)
         SELECT 'm' || i || '.example/log', 'public.t' || t, 1000 + (t = 2)::int, 1000 + (t = 1)::int,
                CASE WHEN t = 2 THEN now() - interval '1 hour' END
           FROM generate_series(1, 20) i, generate_series(1, 10) t;
       END IF; END \$\$" >/dev/null
for r in $(seq 1 "$REPS"); do
  for f in battledger.consortium_status public.status_old; do
    $P -v f="$f" -v calls="$CALLS" -v w="$W" <<'SQL'
SELECT pg_backend_pid() AS pid \gset
\setenv BPID :pid
\setenv W :w
\! awk '{ print $14 + $15 }' /proc/$BPID/stat > $W/c0
SELECT format('DO $d$ BEGIN FOR i IN 1..%s LOOP PERFORM count(*) FROM %s(); END LOOP; END $d$', :calls, :'f') \gexec
\! awk '{ print $14 + $15 }' /proc/$BPID/stat > $W/c1
SQL
    # clock ticks (1/100 s) -> microseconds per call
    echo "$f $(( ($(cat "$W/c1") - $(cat "$W/c0")) * 10000 / CALLS )) us backend CPU per call"
  done
done
