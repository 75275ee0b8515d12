#!/usr/bin/env bash
# consortium_status() backend CPU per call: this build's body against the one
# of commit OLD_COMMIT (default 8991d68, 0.11.0's), created as
# public.status_old() in the same database; 20 members whose subscriptions
# exist but never connected (connect = false: no worker, so every check of
# the status runs), each with 10 tables counted in peer_arrival (0.13.0);
# BENCH_CALLS calls per round, BENCH_REPS rounds each.
# BENCH_SUBREL=1 (0.14.0): the subscriptions are made disabled, with no slot
# and no copy, against a publication of 10 tables in another database of the
# cluster, so that each has 10 rows in pg_subscription_rel (the status names
# the tables' own BEFORE INSERT triggers that fire on arrival: one table in
# the subscribing database has one, ENABLE ALWAYS); every member is then
# "stopped".
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
SUBOPTS="connect = false"; CONN="host=/nonexistent dbname=x"
if [ "${BENCH_SUBREL:-0}" = 1 ]; then
  $P -c "CREATE DATABASE pubdb" >/dev/null
  for d in pubdb postgres; do
    $P -d "$d" -c "DO \$\$ BEGIN FOR t IN 1..10 LOOP EXECUTE format('CREATE TABLE public.t%s (k text, v int)', t); END LOOP; END \$\$" >/dev/null
  done
  $P -d pubdb -c "CREATE PUBLICATION p FOR ALL TABLES" >/dev/null
  $P -c "CREATE FUNCTION public.keep() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'" \
     -c "CREATE TRIGGER a_keep BEFORE INSERT ON public.t1 FOR EACH ROW EXECUTE FUNCTION public.keep()" \
     -c "ALTER TABLE public.t1 ENABLE ALWAYS TRIGGER a_keep" >/dev/null
  SUBOPTS="create_slot = false, enabled = false, copy_data = false, slot_name = 'none_%s'"
  CONN="host=$W port=$PORT user=postgres dbname=pubdb"
fi
for i in $(seq 1 20); do
  $P -c "INSERT INTO battledger.consortium_member (origin, subscription, log_vkey) VALUES ('m$i.example/log', 'sub$i', 'x')" \
     -c "CREATE SUBSCRIPTION sub$i CONNECTION '$CONN' PUBLICATION p WITH ($(printf "$SUBOPTS" "$i"))" >/dev/null 2>&1
done
if [ "${BENCH_SUBREL:-0}" = 1 ]; then echo "pg_subscription_rel rows: $($P -c "SELECT count(*) FROM pg_subscription_rel")"; fi
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
  # the order alternates by round: the one first in a round should not be
  # the only one to meet what the machine does at that moment
  order="battledger.consortium_status public.status_old"
  [ $((r % 2)) = 0 ] && order="public.status_old battledger.consortium_status"
  for f in $order; do
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
