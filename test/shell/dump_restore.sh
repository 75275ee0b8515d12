#!/usr/bin/env bash
# A ledger database survives pg_dump / pg_restore: the registry, triggers and
# guards come back, verify() is clean, every hash is unchanged, new rows chain
# onto the restored heads, and the transparency log (leaves, tree, signed
# checkpoints) is restored intact and keeps growing consistently.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster dump "${DUMP_RESTORE_PORT:-55453}" "$(bl_test_log_conf dump.test/log)"
createdb src
psql -X -q -v ON_ERROR_STOP=1 -d src <<'SQL'
CREATE EXTENSION battledger;
CREATE SCHEMA registry;
CREATE TABLE registry.battery_event (battery text, kind text, at timestamptz, soh numeric,
    payload jsonb, tags text[], id uuid, raw bytea, f float8, d date, iv interval);
SELECT battledger.enable_ledger('registry.battery_event', 'battery');
CREATE TABLE public.notes (body text);
SELECT battledger.enable_ledger('public.notes');
SET TimeZone = 'Asia/Kolkata';
INSERT INTO registry.battery_event
SELECT 'B00' || (25 + i % 8), 'soh_reported', '2009-02-13 19:03:52+00'::timestamptz + i * interval '1 day',
       round((1.85 - i * 0.001)::numeric, 4), jsonb_build_object('cycle', i, 'ok', i % 2 = 0),
       ARRAY['nasa', 'pcoe'], md5(i::text)::uuid, sha256(int4send(i)), i / 3.0, '2024-01-01'::date + i, i * interval '1 minute'
  FROM generate_series(1, 2000) i;
INSERT INTO public.notes VALUES ('one'), ('two');
SELECT battledger.seal() IS NOT NULL;
INSERT INTO public.notes VALUES ('queued, not yet sealed');
SQL
hashes() { psql -X -At -d "$1" -c "
  SELECT 'e', battery, ledger_seq, ledger_hash FROM registry.battery_event
  UNION ALL SELECT 'n', '', ledger_seq, ledger_hash FROM public.notes ORDER BY 1, 2, 3"; }
hashes src >"$BL_WORK/before"
registry() { psql -X -At -d "$1" -c "SELECT string_agg(tbl::text || ':' || coalesce(chain_by, '-'), ',' ORDER BY tbl::text) FROM battledger.ledger_tables"; }
checkpoint() { psql -X -At -d "$1" -c "SELECT battledger.checkpoint()"; }
registry src >"$BL_WORK/registry.before"
checkpoint src >"$BL_WORK/cp.before"

pg_dump -Fc -d src -f "$BL_WORK/src.dump"
createdb dst
# as docs/dba-guide.md "Backup and restore" prints it
PGOPTIONS='-c battledger.restore=on' pg_restore -d dst --exit-on-error "$BL_WORK/src.dump"
hashes dst >"$BL_WORK/after"

fail=0
# A ledger table dumped alone (pg_dump -t) arrives without its registration:
# its triggers refuse every insert rather than acting as a half-ledger.
createdb alone
psql -X -q -v ON_ERROR_STOP=1 -d alone -c "CREATE EXTENSION battledger"
pg_dump -d src -t public.notes | psql -X -q -d alone >/dev/null 2>&1 || true
alone=$(psql -X -At -d alone -c "INSERT INTO public.notes VALUES ('x')" 2>&1 || true)
if grep -q 'is not a ledger table' <<<"$alone"; then
  echo "a table restored alone refuses inserts: ok"
else
  echo "a table restored alone did NOT refuse an insert: $alone"; fail=1
fi
if cmp -s "$BL_WORK/before" "$BL_WORK/after"; then
  echo "hashes unchanged: $(wc -l <"$BL_WORK/after") rows"
else
  echo "hashes differ after restore"; diff "$BL_WORK/before" "$BL_WORK/after" | head; fail=1
fi
check_same() { if cmp -s "$1" "$2"; then echo "$3: unchanged"; else echo "$3: DIFFERENT"; fail=1; fi; }
registry dst >"$BL_WORK/registry.after"; check_same "$BL_WORK/registry.before" "$BL_WORK/registry.after" "ledger registry"
checkpoint dst >"$BL_WORK/cp.after"; check_same "$BL_WORK/cp.before" "$BL_WORK/cp.after" "latest signed checkpoint"
# While src lives, the restored copy is a second log under the same origin and
# key in one cluster: its seal() is refused (BL042).  The documented recovery
# once src is retired: drop it and remove its claim on the origin.
refused=$(psql -X -At -v ON_ERROR_STOP=1 -d dst -c "SELECT battledger.seal()" 2>&1 || true)
# (here-strings, not pipes: with pipefail, grep -q closing early fails the pipe)
if grep -q 'is sealed by another database of this cluster' <<<"$refused"; then
  echo "second database sealing the same origin: refused"
else
  echo "second database sealing the same origin NOT refused: $refused"; fail=1
fi
dropdb src
rm "$BL_WORK/dump/battledger_origins/$(printf '%s' dump.test/log | sha256sum | cut -c1-64)"
result=$(psql -X -At -d dst 2>&1 <<'SQL'
SELECT 'log_problems=' || count(*) FROM battledger.verify_log();
SELECT 'sealed_again=' || (battledger.seal() IS NOT NULL);
SELECT 'consistent=' || battledger.verify_consistency(a.tree_size, b.tree_size, a.root, b.root,
         battledger.consistency_proof(a.tree_size, b.tree_size))
  FROM battledger.checkpoint a, battledger.checkpoint b
 WHERE a.tree_size = (SELECT min(tree_size) FROM battledger.checkpoint)
   AND b.tree_size = (SELECT max(tree_size) FROM battledger.checkpoint);
SELECT 'log_problems_after_seal=' || count(*) FROM battledger.verify_log();
SELECT 'verify_events=' || count(*) FROM battledger.verify('registry.battery_event');
SELECT 'verify_notes=' || count(*) FROM battledger.verify('public.notes');
INSERT INTO registry.battery_event (battery, kind) VALUES ('B0025', 'after restore') RETURNING 'appended_seq=' || ledger_seq;
SELECT 'verify_after_append=' || count(*) FROM battledger.verify('registry.battery_event');
DELETE FROM public.notes;
SQL
)
echo "$result"
grep -q '^log_problems=0$' <<<"$result" || fail=1
grep -q '^sealed_again=true$' <<<"$result" || fail=1
grep -q '^consistent=true$' <<<"$result" || fail=1
grep -q '^log_problems_after_seal=0$' <<<"$result" || fail=1
grep -q '^verify_events=0$' <<<"$result" || fail=1
grep -q '^verify_notes=0$' <<<"$result" || fail=1
grep -q '^appended_seq=251$' <<<"$result" || fail=1
grep -q '^verify_after_append=0$' <<<"$result" || fail=1
grep -q 'DELETE is not allowed on ledger table "notes"' <<<"$result" || fail=1
[ $fail = 0 ] && echo "dump_restore: PASS" || { echo "dump_restore: FAIL"; exit 1; }
