#!/usr/bin/env bash
# Red team r14 (0.13.0 review): the four changes merged since 0.12.0 (e78
# arrival counts, bsig partial signature index, vfirst verify() memory,
# b0fb4cc held leaves at commit), attacked as a plain role, a non-superuser
# table owner, a member's superuser and a malicious member.
# Each case prints "ok <case>" / "FAIL <case>: ..."; exit status: FAILs
# (0: every check holds).  Results on PostgreSQL 15, 2026-12-05:
#   L1  a's battledger.checkpoint dropped from its publication: the leaves of
#       its next seal reach b without their checkpoint; b's apply worker
#       stores them at commit with no apply error.  FAILS on b0fb4cc^ (apply
#       errors 0 -> 4 in seconds: "cannot execute SQL without an outer
#       snapshot or portal", retried for ever, status "failing"); holds on
#       main a6d32b5
#   L2  meanwhile no sample of b's status of a says "ok" for 15 s past
#       battledger.unsealed_after (5 s at b).  FAILED on main a6d32b5: 15 of
#       15 samples "ok" (peer_arrival 70 rows, 70 leaves; 20 leaves past the
#       last verified checkpoint; verify_member() empty).  Fixed here:
#       consortium_status() "unverified" (leaves stored past the last
#       verified checkpoint, that checkpoint older than unsealed_after)
#   L3  recovery: the table published again and a seal at a: b verifies the
#       stored leaves (tree size 71), "ok" (holds on main; on b0fb4cc^ b
#       stays at 50, "failing", 66 apply errors and counting)
#   P1  peer_arrival: INSERT/UPDATE/DELETE/TRUNCATE refused, and
#       recount_arrivals() not executable, for a plain role and a table
#       owner (holds)
#   S1  a replayed per-row signature: refused by the partial index, by
#       ON CONFLICT ... DO UPDATE (append-only), silently dropped by ON
#       CONFLICT DO NOTHING (nothing stored) (holds)
#   S2  the table owner (not a superuser) drops, renames, drops
#       CONCURRENTLY, or swaps for a weaker partial index the signature
#       index: refused by the DDL guard; index intact, replay refused (holds)
#   S3  enable_ledger() when <table>_ledger_sig_key is taken by another
#       relation: refused ("already exists"), never registered without it
#       (holds; a self-inflicted refusal only)
#   V1  verify() of ledger tables with 0 rows and 1 row, keyed and not:
#       clean (holds)
#   V2  3000 chains with 1504-byte incompressible keys (9 MB per batch, the
#       key arena doubles from 64 kB into 2 MB pages): clean, and two rows
#       changed behind the guards found as hash_mismatch (holds; keys cannot
#       go out of line: the chain index refuses entries past 2704 bytes)
#   V3  statement_timeout (5/30/300 ms) mid-verify() 12 times in one
#       session and pg_cancel_backend 5 times: cancelled, the backend lives,
#       memory contexts grow < 1 MB over the cancels (131072 bytes seen),
#       the next call clean (holds)
#   V4  no backend crash in the cluster's log (holds)
#   U1  update 0.12.0 -> 0.13.0 when a role with CREATE on the schema of a
#       signed table took the name battledger_sig_<oid> the conversion
#       builds under.  FAILED on main a6d32b5 ("relation battledger_sig_N
#       already exists": the update fails for the whole database).  Fixed
#       here: the next free suffix
#   U2  after the update: a valid partial unique index under the old
#       constraint's name, no UNIQUE constraint left, both guards ENABLE
#       ALWAYS, for tables in public and in a schema named with quotes and
#       spaces, owned by a non-superuser (holds)
#   U3  a replayed signature refused after the update (holds)
#   D1  pg_dump -Fc / pg_restore of the updated database: the partial index
#       restored, a replay refused, verify() clean (holds)
#   T1  noticed in this review, a check since 0.14.0: a ledger table's owner
#       at b (no superuser) creates a BEFORE INSERT row trigger returning
#       NULL and ENABLEs it ALWAYS or REPLICA (in the apply worker it fires
#       before zz_battledger_arrive: a's rows dropped at b uncounted and
#       unrefused, b's status "rows missing" of an honest a), or names one
#       after zz_battledger_chain (CREATE, ALTER TRIGGER ... RENAME): refused
#       by the DDL guard; a plain role may not touch its triggers.  FAILED on
#       main 6f05a29 (4 of the owner's 4 accepted)
#   T2  b's superuser does it anyway (warned, not refused): a's next 5 rows
#       are dropped at b, and b's status of a, "rows missing", names b's
#       trigger a_drop in its reason.  FAILED on main 6f05a29 (the reason
#       blamed a alone)
#   T3  pg_dump -Fc / pg_restore of b as the superuser: no error, the
#       superuser's trigger still ENABLE ALWAYS, the ledger's triggers as
#       they were, the rows verify (holds)
# R14_ONLY=L runs the consortium cases (L, T) alone (the A/B against
# b0fb4cc^ or main: PG_BIN of a copy with that build installed), R14_ONLY=S
# the others.
# Ports 57801-57803 (R14_PORT_BASE + 1..3, default 57800).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }
note() { echo "# $*"; }
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
# R14_PORT_BASE: another base (within 57800-57840) to run two copies at once
P0=${R14_PORT_BASE:-57800}
declare -A PORT=([a]=$((P0 + 1)) [b]=$((P0 + 2)) [s]=$((P0 + 3)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [s]=s.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
A=a.example/log
ONLY=${R14_ONLY:-}          # "L": only the consortium case (the A/B against b0fb4cc^)
wait_for() {
  local m=$1 sql=$2 n=${3:-300} i
  for i in $(seq 1 "$n"); do
    [ "$(q "$m" -c "$sql" 2>/dev/null)" = t ] && return 0
    sleep 0.2
  done
  echo "# timed out at $m waiting for: $sql"; return 1
}
status_a() { q b -c "SELECT state || ': ' || coalesce(reason, '') FROM battledger.consortium_status() WHERE member = '$A'" 2>&1; }

# ------------------------------------------------------------------ L
if [ "$ONLY" != S ]; then
# leaves arriving at b in a remote transaction without their checkpoint
for m in a b; do
  extra=""
  [ $m = b ] && extra="wal_retrieve_retry_interval = 1s
battledger.unsealed_after = '5s'"
  bl_member_start "$m" "$W" "" "$extra"
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('reading', 'battery');
SELECT battledger.publish_member();
SQL
done
bl_member_keys a
bl_join b a
q a -c "INSERT INTO reading SELECT 'B' || i % 10, 90 FROM generate_series(1, 50) i" -c "SELECT battledger.seal()" >/dev/null
wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" \
  || fail L-setup "b never ok: $(status_a)"
wait_for b "SELECT count(*) = 50 FROM reading" || fail L-setup "b did not receive a's rows"
size0=$(q b -c "SELECT max(tree_size) FROM battledger.peer_checkpoint WHERE origin = '$A'")
note "L: b verified a's log up to $size0"
# L1: a's checkpoint table leaves its publication: the leaves of the next
# seal reach b without their checkpoint (held, stored at commit)
q a -c "ALTER PUBLICATION battledger_member DROP TABLE battledger.checkpoint" >/dev/null
errs0=$(q b -c "SELECT coalesce(sum(apply_error_count), 0) FROM pg_stat_subscription_stats")
q a -c "INSERT INTO reading SELECT 'C' || i % 10, 80 FROM generate_series(1, 20) i" -c "SELECT battledger.seal()" >/dev/null
if wait_for b "SELECT count(*) = 70 FROM reading" 100; then
  sleep 2
  errs=$(q b -c "SELECT coalesce(sum(apply_error_count), 0) FROM pg_stat_subscription_stats")
  if [ "$errs" = "$errs0" ]; then ok L1-held-leaves-applied
  else fail L1-held-leaves-applied "apply errors $errs0 -> $errs: $(grep -m1 -o 'ERROR: .*' "$BL_WORK/b.log" | tail -1)"; fi
else
  fail L1-held-leaves-applied "a's rows never applied at b; apply errors $(q b -c "SELECT sum(apply_error_count) FROM pg_stat_subscription_stats"); b's log: $(grep -o 'ERROR: .*' "$BL_WORK/b.log" | sort | uniq -c | head -3 | tr '\n' ' ')"
fi
note "L: b's peer_leaf for a: $(q b -c "SELECT count(*) FROM battledger.peer_leaf WHERE origin = '$A'") leaves; peer_arrival: $(q b -c "SELECT tbl || ' rows ' || rows_received || ' leaves ' || leaves_received FROM battledger.peer_arrival WHERE origin = '$A'" | tr '\n' ' ')"
# L2: b cannot verify the new leaves (no checkpoint signs them): for
# 15 s (past unsealed_after) no sample of the status may say "ok"
sleep 6
okc=0; n=0; seen=""
for i in $(seq 1 15); do
  s=$(status_a); n=$((n + 1)); [ "${s%%:*}" = ok ] && okc=$((okc + 1))
  case ",$seen," in *",${s%%:*},"*) ;; *) seen="$seen,${s%%:*}";; esac
  sleep 1
done
note "L: b's status of a now: $(status_a)"
note "L: verify_member at b: $(q b -c "SELECT problem || ' ' || count(*) FROM battledger.verify_member('$A') GROUP BY problem" 2>&1 | tr '\n' ' ')"
if [ "$okc" = 0 ]; then ok "L2-status-not-ok-without-checkpoint ($seen)"
else fail L2-status-not-ok-without-checkpoint "$okc of $n samples said ok (states$seen) while b holds $(q b -c "SELECT count(*) FROM battledger.peer_leaf WHERE origin = '$A' AND leaf_index >= $size0") leaves of a no checkpoint signs"; fi
# L3: the recovery (docs/consortium.md): the checkpoint table published
# again and a seal at a; b verifies the leaves it stored alone, "ok"
q a -c "ALTER PUBLICATION battledger_member ADD TABLE battledger.checkpoint" \
    -c "INSERT INTO reading VALUES ('D1', 70)" -c "SELECT battledger.seal()" >/dev/null
if wait_for b "SELECT max(tree_size) = 71 FROM battledger.peer_checkpoint WHERE origin = '$A'" 100 \
   && wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" 100; then ok L3-recovery
else fail L3-recovery "b's last checkpoint of a: $(q b -c "SELECT max(tree_size) FROM battledger.peer_checkpoint WHERE origin = '$A'"), conflicts $(q b -c "SELECT count(*) FROM battledger.log_conflict"); $(status_a)"; fi

# ------------------------------------------------------------------ T
# b's own triggers on the ledger table a's rows arrive in (the note above;
# fixed in 0.14.0): b's table owner (no superuser) may not make a BEFORE
# INSERT row trigger fire on arriving rows (ENABLE ALWAYS/REPLICA), nor
# after the chain trigger (a name after zz_battledger_chain); a plain role
# may not touch its triggers; b's superuser may (warned), and b's status
# then names the trigger in its reason; pg_restore of b keeps it
q b >/dev/null <<'SQL'
CREATE ROLE r14_towner LOGIN;
CREATE ROLE r14_tplain LOGIN;
GRANT CREATE ON SCHEMA public TO r14_towner;
ALTER TABLE reading OWNER TO r14_towner;
SQL
qb_as() { local r=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[b]}" -U "$r" -d bl "$@"; }
qb_as r14_towner >/dev/null <<'SQL'
CREATE FUNCTION public.r14_drop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE TRIGGER a_drop BEFORE INSERT ON public.reading FOR EACH ROW EXECUTE FUNCTION public.r14_drop();
SQL
# refused_b CASE ROLE SQL UNDO: the command must fail; if it was accepted, b's superuser undoes it
refused_b() {
  local c=$1 r=$2 sql=$3 undo=$4 out
  if out=$(qb_as "$r" -c "$sql" 2>&1); then fail "$c" "accepted as $r: $sql"; q b -c "$undo" >/dev/null 2>&1
  else ok "$c"; note "$c: ${out%%$'\n'*}"; fi
}
for mode in ALWAYS REPLICA; do
  refused_b "T1-owner-enable-$mode" r14_towner "ALTER TABLE public.reading ENABLE $mode TRIGGER a_drop" \
    "ALTER TABLE public.reading ENABLE TRIGGER a_drop"
  refused_b "T1-plain-enable-$mode" r14_tplain "ALTER TABLE public.reading ENABLE $mode TRIGGER a_drop" \
    "ALTER TABLE public.reading ENABLE TRIGGER a_drop"
done
refused_b T1-owner-create-after-chain r14_towner \
  "CREATE TRIGGER zzz_drop BEFORE INSERT ON public.reading FOR EACH ROW EXECUTE FUNCTION public.r14_drop()" \
  "DROP TRIGGER zzz_drop ON public.reading"
refused_b T1-owner-rename-after-chain r14_towner "ALTER TRIGGER a_drop ON public.reading RENAME TO zzz_drop" \
  "ALTER TRIGGER zzz_drop ON public.reading RENAME TO a_drop"
refused_b T1-plain-create r14_tplain \
  "CREATE TRIGGER a_plain BEFORE INSERT ON public.reading FOR EACH ROW EXECUTE FUNCTION public.r14_drop()" \
  "DROP TRIGGER a_plain ON public.reading"
check_b() { local got; got=$(q b -c "$2" 2>&1); if [ "$got" = t ]; then ok "$1"; else fail "$1" "$got"; fi; }
check_b T1-nothing-fires-on-arrival "SELECT count(*) = 0 FROM pg_trigger WHERE tgrelid = 'public.reading'::regclass
   AND tgenabled IN ('A', 'R') AND tgtype::int & 7 = 7 AND tgname <> 'zz_battledger_arrive'"
# T2: b's superuser does it anyway: a's next rows are dropped at b before
# they are counted; the status says "rows missing" and names b's trigger
if out=$(q b -c "ALTER TABLE public.reading ENABLE ALWAYS TRIGGER a_drop" 2>&1); then
  ok T2-superuser-not-refused; note "T2: ${out%%$'\n'*}"
else fail T2-superuser-not-refused "$out"; fi
q a -c "INSERT INTO reading SELECT 'E' || i, 60 FROM generate_series(1, 5) i" -c "SELECT battledger.seal()" >/dev/null
if wait_for b "SELECT state = 'rows missing' FROM battledger.consortium_status() WHERE member = '$A'" 100; then
  s=$(status_a); note "T2: b's status of a: $s"
  case "$s" in *a_drop*) ok T2-status-names-local-trigger ;;
    *) fail T2-status-names-local-trigger "the reason does not name b's trigger a_drop: $s" ;; esac
else fail T2-status-names-local-trigger "never 'rows missing': $(status_a)"; fi
check_b T2-rows-dropped-here "SELECT count(*) = 71 FROM public.reading"
# T3: pg_dump / pg_restore of b (as the superuser): restored whole, the
# superuser's trigger still ENABLE ALWAYS, the ledger's triggers as they were
"$PG_BIN/pg_dump" -h "$BL_WORK" -p "${PORT[b]}" -Fc --no-subscriptions --no-publications -d bl -f "$BL_WORK/b.dump" 2>"$BL_WORK/b.dump.err" \
  || fail T3-dump "$(head -c 300 "$BL_WORK/b.dump.err")"
createdb -h "$BL_WORK" -p "${PORT[b]}" bl_restored
"$PG_BIN/pg_restore" -h "$BL_WORK" -p "${PORT[b]}" -d bl_restored "$BL_WORK/b.dump" 2>"$BL_WORK/b.restore.err"
if grep -q 'ERROR' "$BL_WORK/b.restore.err"; then fail T3-restore "$(grep -m3 ERROR "$BL_WORK/b.restore.err" | tr '\n' ' ')"
else ok T3-restore; fi
qr() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[b]}" -d bl_restored "$@"; }
got=$(qr -c "SELECT string_agg(tgname || ':' || tgenabled::text, ' ' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'public.reading'::regclass" 2>&1)
[ "$got" = "a_drop:A battledger_append_only:A battledger_log:O zz_battledger_arrive:R zz_battledger_chain:O" ] \
  && ok T3-triggers-restored || fail T3-triggers-restored "$got"
got=$(qr -c "SELECT count(*) = 71 AND (SELECT count(*) = 0 FROM battledger.verify('public.reading')) FROM public.reading" 2>&1)
[ "$got" = t ] && ok T3-restored-rows-verify || fail T3-restored-rows-verify "$got"

if [ "$ONLY" = L ]; then echo "FAILS=$FAILS"; exit $FAILS; fi
fi

# ------------------------------------------------------------------ one cluster
bl_member_start s "$W" "" "statement_timeout = 0"
qs() { timeout 600 psql -X -q -At -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[s]}" -d bl "$@"; }
as_role() { local r=$1; shift; timeout 600 psql -X -q -At -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[s]}" -U "$r" -d bl "$@"; }
check() {
  local got; got=$(qs -c "$2" 2>&1)
  if [ "$got" = t ]; then ok "$1"; else fail "$1" "$got${3:+ | $(qs -c "$3" 2>&1 | tr '\n' ' ')}"; fi
}
# refused: the command must fail, with an error naming what refused it
refused() {
  local c=$1 r=$2 sql=$3 out
  if out=$(as_role "$r" -c "$sql" 2>&1); then fail "$c" "accepted as $r: $sql -> $out"; else ok "$c"; note "$c: ${out%%$'\n'*}"; fi
}
qs >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
CREATE ROLE r14_plain LOGIN;
CREATE ROLE r14_owner LOGIN;
GRANT CREATE ON SCHEMA public TO r14_owner;
SQL
# P: peer_arrival and recount_arrivals() (e78): a plain role and a table
# owner may read the counts, write none of them, and not recount
for r in r14_plain r14_owner; do
  refused "P1-insert-peer_arrival-$r" $r "INSERT INTO battledger.peer_arrival (origin, tbl, rows_received, leaves_received) VALUES ('a.example/log', 'public.reading', 0, 99)"
  refused "P1-update-peer_arrival-$r" $r "UPDATE battledger.peer_arrival SET leaves_received = 0"
  refused "P1-delete-peer_arrival-$r" $r "DELETE FROM battledger.peer_arrival"
  refused "P1-truncate-peer_arrival-$r" $r "TRUNCATE battledger.peer_arrival"
  refused "P1-recount-$r" $r "SELECT count(*) FROM battledger.recount_arrivals()"
done
check P1-no-owner-path "SELECT NOT has_function_privilege('r14_owner', 'battledger.recount_arrivals()', 'EXECUTE')
   AND NOT has_table_privilege('r14_owner', 'battledger.peer_arrival', 'INSERT, UPDATE, DELETE, TRUNCATE')
   AND (SELECT relowner = (SELECT oid FROM pg_roles WHERE rolname = 'postgres') FROM pg_class WHERE oid = 'battledger.peer_arrival'::regclass)"

# S: the signature's partial unique index (bsig)
qs >/dev/null <<'SQL'
SET search_path = public, battledger, battledger_test;
SELECT add_member('oem.example', ARRAY['oem']);
SELECT add_key('oem.example', public_key(seed('oem-1')));
CREATE TABLE soh (battery text, soh_pct numeric, note text);
SELECT enable_ledger('soh', 'battery', signed => true, signer_roles => ARRAY['oem']);
ALTER TABLE soh OWNER TO r14_owner;
CREATE FUNCTION public.signed_soh(seedname text, battery text, soh_pct numeric, note text) RETURNS soh
LANGUAGE plpgsql SET search_path = public, battledger, battledger_test AS $$
DECLARE r soh := jsonb_populate_record(NULL::soh, jsonb_build_object('battery', battery, 'soh_pct', soh_pct, 'note', note));
BEGIN
    r.ledger_key_id := key_id(public_key(seed(seedname)));
    r.ledger_sig := sign(seed(seedname), signing_bytes(r));
    RETURN r;
END $$;
INSERT INTO soh SELECT (signed_soh('oem-1', 'B1', 100, 'placed on market')).*;
INSERT INTO soh SELECT (signed_soh('oem-1', 'B1', 99, 'second')).*;
SQL
nsoh() { qs -c "SELECT count(*) FROM public.soh"; }
n0=$(nsoh)
rep="INSERT INTO public.soh (battery, soh_pct, note, ledger_key_id, ledger_sig) SELECT battery, soh_pct, note, ledger_key_id, ledger_sig FROM public.soh WHERE ledger_seq = 1"
refused S1-replay-plain postgres "$rep"
qs -c "$rep ON CONFLICT DO NOTHING" >/dev/null 2>&1
qs -c "$rep ON CONFLICT (ledger_sig) WHERE ledger_sig IS NOT NULL DO NOTHING" >/dev/null 2>&1
refused S1-replay-on-conflict-update postgres "$rep ON CONFLICT (ledger_sig) WHERE ledger_sig IS NOT NULL DO UPDATE SET note = 'x'"
[ "$(nsoh)" = "$n0" ] && ok S1-no-replay-stored || fail S1-no-replay-stored "rows $n0 -> $(nsoh)"
# the table owner (not a superuser) replaces the partial index by a weaker
# one, or drops it: the DDL guard refuses each
refused S2-owner-drops-sig-index r14_owner "DROP INDEX public.soh_ledger_sig_key"
refused S2-owner-renames-sig-index r14_owner "ALTER INDEX public.soh_ledger_sig_key RENAME TO soh_x"
as_role r14_owner -c "CREATE UNIQUE INDEX soh_weak ON public.soh (ledger_sig) WHERE ledger_sig IS NOT NULL AND soh_pct > 1000" >/dev/null 2>&1 \
  && as_role r14_owner -c "DROP INDEX public.soh_ledger_sig_key" >/dev/null 2>&1 \
  && fail S2-owner-swaps-index "the owner dropped the partial index once a weaker one existed" || ok S2-owner-swaps-index
refused S2-owner-reindex-concurrently-then-drop r14_owner "DROP INDEX CONCURRENTLY public.soh_ledger_sig_key"
[ "$(qs -c "SELECT count(*) FROM pg_index WHERE indexrelid = 'public.soh_ledger_sig_key'::regclass AND indisvalid")" = 1 ] \
  && ok S2-index-intact || fail S2-index-intact "$(qs -c "SELECT indexrelid::regclass, indisvalid FROM pg_index WHERE indrelid = 'public.soh'::regclass" | tr '\n' ' ')"
refused S1-replay-after-owner-ddl postgres "$rep"
# S3: _register() with a predicate it must not take: a table whose
# ledger_sig index predicate is another one (its own index named as
# enable_ledger's, made before): enable_ledger must refuse, not register
qs >/dev/null 2>&1 <<'SQL'
CREATE TABLE public.soh2 (battery text, soh_pct numeric);
CREATE TABLE public.other (battery text);
CREATE UNIQUE INDEX soh2_ledger_sig_key ON public.other (battery);
SQL
if out=$(qs -c "SELECT battledger.enable_ledger('public.soh2', 'battery', signed => true, signer_roles => ARRAY['oem'])" 2>&1); then
  # registered: its signature index must be the partial one on ledger_sig
  check S3-name-taken-index-right "SELECT count(*) = 1 FROM pg_index i WHERE i.indrelid = 'public.soh2'::regclass AND i.indisunique
      AND i.indkey::text = (SELECT attnum::text FROM pg_attribute WHERE attrelid = 'public.soh2'::regclass AND attname = 'ledger_sig')"
else ok S3-name-taken-refused; note "S3: ${out%%$'\n'*}"; fi

# V: verify() working memory (vfirst)
qs >/dev/null <<'SQL'
CREATE TABLE public.v0 (k text, v int);  SELECT battledger.enable_ledger('public.v0', 'k');
CREATE TABLE public.v1 (k text, v int);  SELECT battledger.enable_ledger('public.v1', 'k');
INSERT INTO public.v1 VALUES ('only', 1);
CREATE TABLE public.vn (v int);  SELECT battledger.enable_ledger('public.vn');
INSERT INTO public.vn VALUES (1);
CREATE TABLE public.vw (k text, v int);  SELECT battledger.enable_ledger('public.vw', 'k');
-- wide keys: 3000 chains of 2 rows with 1504-byte keys stored inline
-- (hex of md5s: not compressed), 9 MB of keys per batch, far past the key
-- arena's first 64 kB, so it doubles into 2 MB pages (no key goes out of
-- line: the chain index's B-tree refuses entries past 2704 bytes)
INSERT INTO public.vw SELECT (SELECT string_agg(md5(i || '/' || x), '') FROM generate_series(1, 47) x), j
  FROM generate_series(1, 3000) i, generate_series(1, 2) j;
CREATE TABLE public.vb (k text, v int);  SELECT battledger.enable_ledger('public.vb', 'k');
INSERT INTO public.vb SELECT 'k' || (i % 5000), i FROM generate_series(1, 300000) i;
SQL
check V1-empty-and-one-row "SELECT (SELECT count(*) FROM battledger.verify('public.v0')) = 0 AND (SELECT count(*) FROM battledger.verify('public.v1')) = 0
   AND (SELECT count(*) FROM battledger.verify('public.vn')) = 0"
check V2-wide-keys-clean "SELECT count(*) = 0 FROM battledger.verify('public.vw')" "SELECT problem, count(*) FROM battledger.verify('public.vw') GROUP BY 1"
# a row changed behind the guards among the wide keys: found
qs >/dev/null <<'SQL'
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE public.vw DISABLE TRIGGER battledger_append_only;
SET LOCAL session_replication_role = replica;
UPDATE public.vw SET v = -1 WHERE k = (SELECT string_agg(md5(2999 || '/' || x), '') FROM generate_series(1, 47) x) AND v = 2;
UPDATE public.vw SET v = -2 WHERE k = (SELECT string_agg(md5(7 || '/' || x), '') FROM generate_series(1, 47) x) AND v = 1;
ALTER TABLE public.vw ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
note "V2: keys $(qs -c "SELECT pg_size_pretty(sum(pg_column_size(k))) || ' stored, ' FROM public.vw")"
check V2-wide-keys-tamper-found "SELECT count(*) = 2 AND bool_and(problem = 'hash_mismatch') FROM battledger.verify('public.vw')" "SELECT problem, count(*) FROM battledger.verify('public.vw') GROUP BY 1"
# V3: statement_timeout and cancels in the middle of verify(), 12 times in
# one session: each call ends with the cancel, the backend lives, its
# memory does not grow with the cancels, and the next call is clean
out=$(qs 2>&1 <<'SQL'
\set ON_ERROR_STOP 0
SELECT count(*) FROM battledger.verify('public.vb');
SELECT sum(total_bytes) AS m0 FROM pg_backend_memory_contexts \gset
SET statement_timeout = '5ms';
SELECT count(*) FROM battledger.verify('public.vb');
SELECT count(*) FROM battledger.verify('public.vb');
SELECT count(*) FROM battledger.verify('public.vb');
SELECT count(*) FROM battledger.verify('public.vb');
SET statement_timeout = '30ms';
SELECT count(*) FROM battledger.verify('public.vb');
SELECT count(*) FROM battledger.verify('public.vb');
SELECT count(*) FROM battledger.verify('public.vb');
SELECT count(*) FROM battledger.verify('public.vb');
SET statement_timeout = '300ms';
SELECT count(*) FROM battledger.verify_log();
SELECT count(*) FROM battledger.verify('public.vb');
SELECT count(*) FROM battledger.verify('public.vb');
SELECT count(*) FROM battledger.verify('public.vb');
RESET statement_timeout;
SELECT 'after=' || count(*) FROM battledger.verify('public.vb');
SELECT 'growth=' || (sum(total_bytes) - :m0) FROM pg_backend_memory_contexts;
SQL
)
cancels=$(grep -c "canceling statement due to statement timeout" <<<"$out")
growth=$(grep -o 'growth=-\?[0-9]*' <<<"$out" | cut -d= -f2)
note "V3: $cancels of 12 calls cancelled; context growth ${growth:-?} bytes"
if grep -q '^after=0$' <<<"$out" && [ "$cancels" -ge 4 ] && [ "${growth:-999999999}" -lt 1048576 ]; then ok V3-cancel-mid-verify
else fail V3-cancel-mid-verify "$(tr '\n' ' ' <<<"$out" | head -c 600)"; fi
# the same with pg_cancel_backend from another session, 5 times
for i in 1 2 3 4 5; do
  ( qs -c "SELECT count(*) FROM battledger.verify('public.vb')" >/dev/null 2>&1 ) &
  vp=$!
  sleep 0.$((RANDOM % 3 + 1))
  qs -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%verify(''public.vb'')%' AND pid <> pg_backend_pid()" >/dev/null
  wait $vp
done
check V3-alive-after-cancels "SELECT count(*) = 0 FROM battledger.verify('public.vb')"
if grep -q "terminated by signal\|TRAP\|PANIC" "$BL_WORK/s.log"; then fail V4-no-crash "$(grep -m2 'terminated by signal\|TRAP\|PANIC' "$BL_WORK/s.log")"; else ok V4-no-crash; fi

# U: the update's conversion of the signature constraint (bsig), with a
# signed table in an odd schema, owned by a non-superuser, and a name the
# update builds its index under taken beforehand by a role that may only
# create in that schema
createdb -h "$BL_WORK" -p "${PORT[s]}" ub
qu() { timeout 600 psql -X -q -At -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[s]}" -d ub "$@"; }
qu >/dev/null 2>"$BL_WORK/u_setup.err" <<'SQL' || fail U-setup "$(head -c 300 "$BL_WORK/u_setup.err")"
CREATE EXTENSION battledger VERSION '0.12.0';
CREATE EXTENSION battledger_test_signer;
SET search_path = public, battledger, battledger_test;
SELECT add_member('oem.example', ARRAY['oem']);
SELECT add_key('oem.example', public_key(seed('oem-1')));
CREATE ROLE r14_squat LOGIN;
CREATE SCHEMA "Odd ""sch"" x";
GRANT CREATE, USAGE ON SCHEMA "Odd ""sch"" x" TO r14_squat, r14_owner;
GRANT CREATE ON SCHEMA public TO r14_squat;
CREATE TABLE "Odd ""sch"" x"."Soh ""1""" (battery text, soh_pct numeric);
SELECT enable_ledger('"Odd ""sch"" x"."Soh ""1"""', 'battery', signed => true, signer_roles => ARRAY['oem']);
ALTER TABLE "Odd ""sch"" x"."Soh ""1""" OWNER TO r14_owner;
CREATE TABLE public.soh (battery text, soh_pct numeric);
SELECT enable_ledger('public.soh', 'battery', signed => true, signer_roles => ARRAY['oem']);
CREATE FUNCTION public.sgn(seedname text, battery text, soh_pct numeric) RETURNS public.soh
LANGUAGE plpgsql SET search_path = public, battledger, battledger_test AS $$
DECLARE r public.soh := jsonb_populate_record(NULL::public.soh, jsonb_build_object('battery', battery, 'soh_pct', soh_pct));
BEGIN
    r.ledger_key_id := key_id(public_key(seed(seedname)));
    r.ledger_sig := sign(seed(seedname), signing_bytes(r));
    RETURN r;
END $$;
INSERT INTO public.soh SELECT (public.sgn('oem-1', 'B1', 100)).*;
SQL
for t in 'public.soh' '"Odd ""sch"" x"."Soh ""1"""'; do
  oid=$(qu -c "SELECT '$t'::regclass::oid")
  nsp=$(qu -c "SELECT quote_ident(nspname) FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid WHERE c.oid = $oid")
  timeout 60 psql -X -q -At -h "$BL_WORK" -p "${PORT[s]}" -U r14_squat -d ub -c "CREATE TABLE $nsp.battledger_sig_$oid (x int)" >/dev/null 2>&1 \
    || fail U1-setup "could not create $nsp.battledger_sig_$oid as r14_squat"
done
if out=$(qu -c "ALTER EXTENSION battledger UPDATE TO '0.13.0'" 2>&1); then ok U1-update-despite-squatted-name
else fail U1-update-despite-squatted-name "a role with CREATE on the schema blocks the update: ${out%%$'\n'*}"; fi
check_u() { local got; got=$(qu -c "$2" 2>&1); if [ "$got" = t ]; then ok "$1"; else fail "$1" "$got"; fi; }
check_u U2-partial-index-both "SELECT count(*) = 2 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
   WHERE i.indrelid IN ('public.soh'::regclass, '\"Odd \"\"sch\"\" x\".\"Soh \"\"1\"\"\"'::regclass) AND i.indisunique AND i.indisvalid
     AND pg_get_expr(i.indpred, i.indrelid) = '(ledger_sig IS NOT NULL)' AND c.relname LIKE '%ledger_sig_key'"
check_u U2-no-constraint-left "SELECT count(*) = 0 FROM pg_constraint WHERE contype = 'u' AND conrelid IN ('public.soh'::regclass, '\"Odd \"\"sch\"\" x\".\"Soh \"\"1\"\"\"'::regclass)"
check_u U2-guards-on "SELECT count(*) = 2 FROM pg_event_trigger WHERE evtname IN ('battledger_ddl_guard', 'battledger_drop_guard') AND evtenabled = 'A'"
if out=$(qu -c "INSERT INTO public.soh (battery, soh_pct, ledger_key_id, ledger_sig) SELECT battery, soh_pct, ledger_key_id, ledger_sig FROM public.soh WHERE ledger_seq = 1" 2>&1); then
  fail U3-replay-refused-after-update "accepted"; else ok U3-replay-refused-after-update; fi
# D1: dump and restore of the updated database: the partial index comes
# back as it was, and still refuses a replayed signature
"$PG_BIN/pg_dump" -h "$BL_WORK" -p "${PORT[s]}" -Fc -d ub -f "$BL_WORK/ub.dump" 2>"$BL_WORK/ub.dump.err" || fail D1-dump "$(head -c 300 "$BL_WORK/ub.dump.err")"
createdb -h "$BL_WORK" -p "${PORT[s]}" ub2
"$PG_BIN/pg_restore" -h "$BL_WORK" -p "${PORT[s]}" -d ub2 "$BL_WORK/ub.dump" 2>"$BL_WORK/ub.restore.err" || note "D1: pg_restore: $(grep -m2 ERROR "$BL_WORK/ub.restore.err" | tr '\n' ' ')"
qu2() { timeout 600 psql -X -q -At -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[s]}" -d ub2 "$@"; }
got=$(qu2 -c "SELECT count(*) = 1 FROM pg_index i WHERE i.indrelid = 'public.soh'::regclass AND i.indisunique AND i.indisvalid
   AND pg_get_expr(i.indpred, i.indrelid) = '(ledger_sig IS NOT NULL)'" 2>&1)
[ "$got" = t ] && ok D1-partial-index-restored || fail D1-partial-index-restored "$got"
if out=$(qu2 -c "INSERT INTO public.soh (battery, soh_pct, ledger_key_id, ledger_sig) SELECT battery, soh_pct, ledger_key_id, ledger_sig FROM public.soh WHERE ledger_seq = 1" 2>&1); then
  fail D1-replay-refused-after-restore "accepted"; else ok D1-replay-refused-after-restore; note "D1: ${out%%$'\n'*}"; fi
got=$(qu2 -c "SELECT count(*) = 0 FROM battledger.verify('public.soh')" 2>&1)
[ "$got" = t ] && ok D1-verify-clean || fail D1-verify-clean "$got"
echo "FAILS=$FAILS"
exit $FAILS
