#!/usr/bin/env bash
# Red team r16b (0.15.0 review of release 0.14.0 as on main): the whole SQL
# surface as a plain role and as a non-superuser table owner, against the
# brief's promises -- a plain role cannot crash the server; internal
# functions are not executable by PUBLIC; every SQL function pins its
# search_path; a C entry point checks what it is attached to and what it is
# given; checks that decide read all rows (RLS cannot hide one).
# Each case prints "ok <case>" / "FAIL <case>: ..."; exit status: FAILs.
# PG_BIN: the build under test.  R16B_PORT (default 56330).
# Results: "main" is main c1a52b2 (0.14.0 + the opened 0.15.0), "r16b" is
# this branch on it; PostgreSQL 15, 2026-12-06 02:30 UTC: main 10 FAILs
# (T2, D1, D1b, D2, D3, P2 x2, N1, N2, Z), r16b 2 (P2 x2, fixed on p2fix).
#   S1  every SQL-language function of the extension pins search_path
#       (pg_catalog first, pg_temp last) (holds; sql/security.sql §11 too)
#   S2  SECURITY DEFINER functions: all pin search_path; the one PUBLIC may
#       execute is _passport_public() (the public tier) (holds)
#   S3  PUBLIC-executable functions named _*: exactly the list below, each
#       with why it is meant to be (holds; a new one FAILs until judged)
#   S4  tables and views PUBLIC may read: the list below; not the raw
#       events, disclosures, held rows, locks, fold cache, rejections, nor
#       battery_model.materials (holds)
#   T1  the table owner (no superuser) attaching any of the extension's 16
#       trigger functions to its plain table or its ledger table: 42501
#       each (holds)
#   T2  a superuser attaching the C trigger functions to what they were
#       not made for (a partitioned table, a view INSTEAD OF, TRUNCATE,
#       DELETE, a table with mistyped ledger columns, statement level on a
#       ledger table, three argument lists; 243 attachments): no crash, and
#       none silently drops a row.  FAILS on main: _keys_changed() returns
#       NULL without looking at how it fires, so attached BEFORE INSERT FOR
#       EACH ROW it drops every row (src/pg/keys.c).  Superuser-only (its
#       EXECUTE is revoked), but a C entry point that does not check what it
#       is attached to.  FIXED on r16b: it refuses anything but AFTER ...
#       FOR EACH STATEMENT (39P01)
#   D1  table owner: ALTER TABLE t ADD CONSTRAINT c UNIQUE USING INDEX
#       t_ledger_chain, then ALTER TABLE t DROP CONSTRAINT c.  FAILS on
#       main: accepted; the first renames the chain index after the
#       constraint, the guard knows the chain index by its registered name
#       (is_chain_index(), src/pg/guard.c), so DROP CONSTRAINT drops it: the
#       table refuses every insert, verify() fails and verify_log(true)
#       fails for every auditor ("ledger table ... has lost its chain
#       index") -- what security.md #7 says is prevented.  FIXED on r16b:
#       the guard refuses making an index it protects a constraint
#   D1b the same with ADD CONSTRAINT u_pk PRIMARY KEY USING INDEX (FAILS on
#       main, fixed; unnamed, the constraint takes the index's name, which
#       the guard still knows)
#   D2  table owner: ALTER COLUMN ledger_origin DROP NOT NULL.  FAILS on
#       main: accepted (ledger_seq/prev/hash and the chain column are
#       refused; is_ledger_column_name() leaves out ledger_origin), and a
#       row without an origin crashes verify() (N1).  FIXED on r16b
#   D3  table owner, 43 other DDL on a ledger table (column drop/type/
#       rename, generated or defaulted columns, rename/set schema/unlogged,
#       inheritance, partitions, rules, trigger firing, DROP/RENAME of the
#       chain index, DROP TABLE/SCHEMA/DOMAIN/TYPE ... CASCADE): refused
#       (holds).  Allowed, harmless to the chain (noted): ADD COLUMN without
#       default, SET/DROP DEFAULT and NOT NULL on the owner's columns,
#       storage/compression/statistics, fillfactor, REPLICA IDENTITY, CHECK
#       and UNIQUE constraints, indexes, CLUSTER/REINDEX of the chain index,
#       SET ACCESS METHOD heap, SET TABLESPACE, policies and RLS
#   D4  FORCE ROW LEVEL SECURITY with a policy hiding a chain: the owner's
#       and a plain writer's inserts still extend the hidden chain at the
#       right position; verify() refuses ("row-level security hides rows")
#       rather than judging what it sees (holds)
#   D5  an owner's domain over text with a CHECK calling the owner's
#       VOLATILE function (it records current_user) on the chain and a data
#       column: verify() and verify_log(true) run by the superuser never
#       call it (holds)
#   P1  a plain role and the registry: every PUBLIC-executable function
#       that reads the raw events (lot_available_kg, lot_custodian,
#       registry_conflicts, battery_state, battery_lifecycle,
#       verify_member, _battery_fold, _effective_manufacture,
#       _second_life_claims, _second_life_conflicts, _battery_consumption,
#       _held_before, _battery_successor) answers 42501; the public
#       passport (3 formats) holds no battery status, usage values,
#       negative events, service date or cathode; _passport_public() with a
#       NULL or unknown format answers the public tier only (holds).  Noted:
#       a recycled battery's passport says passportCeased to every tier (by
#       design, Art. 77(8)); battledger.quarantine (PUBLIC) names the chain
#       keys of quarantined chains of tables PUBLIC may not read
#   P2  the rules' verdict as an oracle: a plain role (no tier) or the
#       authority (both denied a battery's status: Annex XIII point 4; the
#       public passport has no batteryStatus) INSERTs into battery_event
#       (PUBLIC may: the rules then the signature decide) a "waste" move of
#       a battery in the custodian's name (key ids are public; the custodian
#       is named by BL043's detail) with a signature of zeros.  FAILED on
#       main and on r16b (FIXED in 0.15.0, branch p2fix: the rules raise a
#       verdict only for a row signed by the key it names; P2-batch and
#       P2-lot below try a batch row and lots the same way): a battery already in waste answers
#       BL035 'status cannot move from "waste" to "waste"', one in original
#       BL016 (bad signature): the status is read out, battery by battery.
#       _battery_rules() (sql/install/80_registry.sql) raises the verdict of
#       _battery_verdict() before the chain trigger checks the signature
#       (security.md lists "the rules run before the signature check" as a
#       CPU-only residual risk).  The same holds for lots (_check_inputs():
#       BL032 names a lot's custodian, BL033 its kg left; lot_custodian()
#       and lot_available_kg() are not PUBLIC) and for second life
#       (_check_second_life()), read in the code, not run here.  A fix would
#       check the row's signature before raising any verdict (for a batch
#       row, whose signature is checked at commit, the verdict would have to
#       wait too)
#   N1  a row with a NULL ledger_origin in a ledger table (a superuser
#       behind the guards, after D2): verify() by any role that may read the
#       table.  FAILS on main: the server crashes (segfault in
#       check_row_alone(), src/pg/verify.c: the NULL read as text), every
#       session is cut.  FIXED on r16b: reported as missing_chain_fields
#   N2  a row with a NULL chain key: verify().  FAILS on main: "invalid
#       Datum pointer" (XX000).  FIXED on r16b: missing_chain_fields
#   Z   no "terminated by signal" in the server log
# Also tried by hand, holding (not scripted): 55 C and SQL entry points as
# a plain role with NULLs, NULL array elements, negative and extreme
# integers, 10 MB text, OID 0 and system catalogs (clean SQLSTATEs, no
# crash; test/shell/sql_fuzz.sh passes on this build); a superuser session
# with search_path = evil, pg_catalog, public (a plain role's =(text,text),
# =(oid,oid), =(regclass,regclass), =(int8,int8), now(), count(anyelement),
# quote_ident(), to_regclass()) running verify(), verify_log(true),
# consortium_status(), health(), verify_member(), enable_ledger() and an
# insert: none of them called; the battledger GUCs are superuser-only
# (progress_interval excepted, the caller's own session); verify() and
# verify_log(true) as a role with SELECT on only some columns of a table
# (battery_model without materials): 42501 / table_not_checked.
# Noted, left alone: DROP NOT NULL and SET DEFAULT on ledger_key_id and
# ledger_at of a signed table are accepted (a row without them, stored
# behind the guards, is reported: hash_mismatch, unsigned_row); SET DEFAULT
# on ledger_origin makes every local insert fail (the owner's own table);
# verify_log(true) does not list a row without ledger_origin as
# row_not_in_log (verify() reports it, N1).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
FAILS=0
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }
note() { echo "# $*"; }
PORT=${R16B_PORT:-56330}
bl_scratch
bl_start_cluster r16b "$PORT" "$(bl_test_log_conf r16b.test/log)"
LOG=$BL_WORK/r16b.log
createdb bl
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d bl "$@"; }
# qr ROLE SQL: "committed", or "ERROR:  <SQLSTATE>: message" of the first error
qr() {
  local role=$1 sql=$2 out
  out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d bl -U "$role" -c '\set VERBOSITY verbose' -c "$sql" 2>&1)
  if [ $? = 0 ]; then echo committed; else echo "$out" | grep -m1 -E 'ERROR|server closed|terminated' | sed 's/^psql:[^E]*//'; fi
}
# in_tx ROLE SQL: run SQL in a transaction that is rolled back
in_tx() { qr "$1" "BEGIN; $2; ROLLBACK"; }
wait_up() { for _ in $(seq 60); do pg_isready -q -h "$BL_WORK" -p "$PORT" && psql -X -q -d bl -c 'SELECT 1' >/dev/null 2>&1 && return; sleep 1; done; }

q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE ROLE own LOGIN;
CREATE ROLE plain LOGIN;
CREATE SCHEMA app AUTHORIZATION own;
GRANT USAGE ON SCHEMA app TO plain;
SQL
EXT="FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
     JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'battledger'"

# ------------------------------------------------------------------ S (catalog)
# each catalog query must answer (an error would read as "nothing found")
bad=$(q -c "SELECT count(*) || ' ' || coalesce(string_agg(p.oid::regprocedure::text, ' ')
                 FILTER (WHERE NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c
                                            WHERE c ~ '^search_path=pg_catalog(, battledger)?, pg_temp\$')), '') $EXT
  WHERE p.prolang NOT IN (SELECT oid FROM pg_language WHERE lanname IN ('c', 'internal'))") || bad="0 query failed"
[ "${bad%% *}" -gt 100 ] && [ -z "${bad#* }" ] && ok "S1 (${bad%% *} functions)" || fail S1 "without a pinned search_path: $bad"

bad=$(q -c "SELECT string_agg(p.oid::regprocedure::text, ' ') $EXT WHERE p.prosecdef
  AND (NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c ~ '^search_path=pg_catalog')
       OR (has_function_privilege('public', p.oid, 'execute') AND p.proname <> '_passport_public'))") || bad="query failed"
[ -z "$bad" ] && ok S2 || fail S2 "SECURITY DEFINER, unpinned or PUBLIC: $bad"

# Why each is PUBLIC (S3), as 0.27.0 (priv27) judged the 52 then PUBLIC's
# caller by caller (the rest went to the owner, or to battledger_member and
# battledger_legitimate_interest, the roles reading the raw events; see
# sql/install/99_privileges.sql and test/redteam/priv27_0270_findings.sh):
#  _register, _check_encodable, _progress: enable_ledger() and
#    migrate_to_ledger() run as their caller and call them; _register checks
#    ownership, triggers, columns and rows itself (security.md #2),
#    _check_encodable reads the catalog, _progress writes a progress line
#  _refuse, _restoring, _signer, _model_holder, _key_owners, _key_claims,
#    _key_claim_allows, _id_owners, _id_key, _ns_candidates, _ns_covers,
#    _ns_hosted, _text_id_key, _json_num: battery_model's rules trigger
#    (SECURITY INVOKER) calls them as the writer, the operator rules
#    _refuse, _restoring and _signer; pure, or read PUBLIC tables (members,
#    keys, namespaces, who declared a model)
#  _key_proven_member, _key_member_validity: the keys view (PUBLIC's) calls
#    them as its reader; _origin: the _member_hosts view (C, STABLE, what
#    current_setting() gives any role)
#  _passport_public: the public tier, SECURITY DEFINER by design
#  _time_ok, _time_out (0.28.0, fin28): pure functions of their argument,
#    like _json_num; the writer's rules call _time_ok, and a plain role
#    reaches _time_out through operator_info() and battery_history()
ALLOWED_S3="_check_encodable _id_key _id_owners _ns_covers _ns_hosted _passport_public _progress
  _refuse _register _signer _model_holder _text_id_key _key_claim_allows _ns_candidates _key_owners
  _key_claims _json_num _origin _key_proven_member _key_member_validity _restoring _time_ok _time_out"
got=$(q -c "SELECT string_agg(DISTINCT p.proname, ' ' ORDER BY p.proname) $EXT
  WHERE p.proname LIKE '\\_%' AND has_function_privilege('public', p.oid, 'execute')") || got="query-failed"
extra=$(comm -13 <(tr -s ' \n' '\n' <<<"$ALLOWED_S3" | sed '/^$/d' | sort) <(tr ' ' '\n' <<<"$got" | sort))
[ -z "$extra" ] && ok S3 || fail S3 "PUBLIC-executable internal functions not judged: $(echo $extra)"

# Why each view is PUBLIC's (S4): keys, members: the registry's members and
# keys; (0.21.0, pass21) _lot_counted_creation: a security_invoker view of the
# raw lot events, read by _lot_custody_steps() as its caller: its reader
# needs SELECT on lot_event (42501 for a plain role, checked below);
# (0.22.0, keyorigin) _key_rows_counted: the rows of key_event (PUBLIC's)
# that count, where their origin added the member they name; (0.23.0)
# _member_hosts, _member_rows_counted: the origins that added each member
# and the rows of member_event (PUBLIC's) that count; host_pin: which of
# them this database counts for a contested member (named in
# registry_conflicts(), PUBLIC's, anyway); (0.23.0, pop23) key_proof: proofs
# of possession, public like the keys they prove; (0.24.0, kproof24)
# _key_proof_checked: which of those proofs verify, as this database
# checked them, read by the keys view (PUBLIC's) as its caller
ALLOWED_S4="_dynamic_attribute _key_proof_checked _key_rows_counted _lot_counted_creation _member_hosts _member_rows_counted batch checkpoint consortium_member cosignature event_kind fold_inputs host_pin id_namespace
  key_event key_proof keys ledger_tables log_block log_conflict log_leaf log_pending log_pending_intact log_tile
  member_event members operator_registration peer_arrival peer_checkpoint peer_leaf quarantine registry_rule
  status_role"
got=$(q -c "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c
  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'battledger'
  WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND has_table_privilege('public', c.oid, 'select')") || got="query-failed"
extra=$(comm -13 <(tr -s ' \n' '\n' <<<"$ALLOWED_S4" | sed '/^$/d' | sort) <(tr ' ' '\n' <<<"$got" | sort))
mat=$(q -c "SELECT has_column_privilege('public', 'battledger.battery_model', 'materials', 'select')")
[ -z "$extra" ] && [ "$mat" = f ] && ok S4 || fail S4 "PUBLIC may read: $(echo $extra) materials=$mat"
r=$(qr plain "SELECT count(*) FROM battledger._lot_counted_creation")
case "$r" in *42501*) ok "S4 (_lot_counted_creation as a plain role: 42501)";; *) fail S4 "a plain role reads _lot_counted_creation: $r";; esac

# ------------------------------------------------------------------ T (trigger functions)
qr own "CREATE TABLE app.plainx (a int);
  CREATE TABLE app.r (battery text, kind text NOT NULL);
  SELECT battledger.enable_ledger('app.r', chain_by => 'battery');
  INSERT INTO app.r VALUES ('B1', 'a'), ('B1', 'b'), ('B2', 'a');
  GRANT SELECT, INSERT ON app.r TO plain" >/dev/null
TRIGFNS=$(q -c "SELECT p.proname $EXT WHERE p.prorettype = 'trigger'::regtype ORDER BY 1")
n=0; bad=""
for f in $TRIGFNS; do
  for t in app.plainx app.r; do
    r=$(in_tx own "CREATE TRIGGER a_$f BEFORE INSERT ON $t FOR EACH ROW EXECUTE FUNCTION battledger.$f()")
    n=$((n + 1)); case "$r" in *42501*) ;; *) bad="$bad $f@$t($r)";; esac
  done
done
[ -z "$bad" ] && [ "$n" -ge 32 ] && ok "T1 ($n attachments refused)" || fail T1 "attached by the owner:$bad"

q >/dev/null <<'SQL'
CREATE TABLE app.pt (a int, battery text) PARTITION BY LIST (a);
CREATE TABLE app.pt1 PARTITION OF app.pt FOR VALUES IN (1);
CREATE VIEW app.vw AS SELECT * FROM app.plainx;
CREATE TABLE app.ot (battery text, ledger_seq text, ledger_prev int, ledger_hash text, ledger_origin int,
                     ledger_sig int, ledger_key_id int, ledger_at text, ledger_batch int);
SQL
CFNS=$(q -c "SELECT p.proname $EXT WHERE p.prorettype = 'trigger'::regtype AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') ORDER BY 1")
n=0; bad=""; crash=""
while IFS='|' read -r spec dml count; do
  for f in $CFNS; do
    for args in "" "'battery', ''" "'nope', 'x', 'y'"; do
      r=$(qr postgres "BEGIN; INSERT INTO app.plainx VALUES (1);
          CREATE TRIGGER zq $spec EXECUTE FUNCTION battledger.$f($args);
          $dml;
          DO \$\$BEGIN IF ($count) = 0 THEN RAISE EXCEPTION 'r16b: the row was dropped silently'; END IF; END\$\$;
          ROLLBACK")
      n=$((n + 1))
      case "$r" in
        *"server closed"*|*terminated*) crash="$crash $f/$spec"; wait_up;;
        *"dropped silently"*) bad="$bad $f@${spec// /_}";;
      esac
    done
  done
done <<'EOF'
BEFORE INSERT ON app.pt FOR EACH ROW|INSERT INTO app.pt VALUES (1, 'x')|SELECT count(*) FROM app.pt
AFTER INSERT ON app.pt FOR EACH STATEMENT|INSERT INTO app.pt VALUES (1, 'x')|SELECT count(*) FROM app.pt
INSTEAD OF INSERT ON app.vw FOR EACH ROW|INSERT INTO app.vw VALUES (2)|1
BEFORE TRUNCATE ON app.plainx FOR EACH STATEMENT|TRUNCATE app.plainx|1
AFTER DELETE ON app.plainx FOR EACH ROW|DELETE FROM app.plainx|1
BEFORE INSERT ON app.ot FOR EACH ROW|INSERT INTO app.ot VALUES ('a', '1', 1, 'x', 1, 1, 1, 'x', 1)|SELECT count(*) FROM app.ot
AFTER INSERT ON app.ot FOR EACH ROW|INSERT INTO app.ot VALUES ('a', '1', 1, 'x', 1, 1, 1, 'x', 1)|SELECT count(*) FROM app.ot
BEFORE INSERT ON app.r FOR EACH STATEMENT|INSERT INTO app.r VALUES ('B9', 'x')|SELECT count(*) FROM app.r WHERE battery = 'B9'
AFTER UPDATE ON app.ot REFERENCING NEW TABLE AS nt FOR EACH STATEMENT|UPDATE app.ot SET battery = 'b'|1
EOF
[ -z "$crash" ] || fail T2 "crashed the server:$crash"
[ -z "$bad" ] && [ -z "$crash" ] && ok "T2 ($n attachments, no crash, no row dropped silently)"
[ -z "$bad" ] || fail T2 "fired, dropped the row silently (returned NULL) in $(wc -w <<<"$bad") attachments:$bad"

# ------------------------------------------------------------------ D (the table owner's DDL)
qr own "CREATE TABLE app.u (battery text, kind text NOT NULL);
  SELECT battledger.enable_ledger('app.u', chain_by => 'battery');
  INSERT INTO app.u VALUES ('B1', 'a'), ('B1', 'b')" >/dev/null
r=$(qr own "ALTER TABLE app.u ADD CONSTRAINT u2 UNIQUE USING INDEX u_ledger_chain")
case "$r" in
  committed)
    r2=$(qr own "ALTER TABLE app.u DROP CONSTRAINT u2")
    left=$(q -c "SELECT count(*) FROM pg_index WHERE indrelid = 'app.u'::regclass")
    ins=$(qr own "INSERT INTO app.u VALUES ('B1', 'c')")
    vl=$(qr postgres "SELECT count(*) FROM battledger.verify_log(true)")
    fail D1 "the owner made the chain index a constraint ($r), dropped it ($r2; indexes left: $left); insert: $ins; verify_log(true) as the superuser: $vl"
    # put it back, for the cases below
    qr own "CREATE UNIQUE INDEX u_ledger_chain ON app.u (battery, ledger_origin, ledger_seq)" >/dev/null;;
  *) ok "D1 (refused: $r)";;
esac
r=$(in_tx own "ALTER TABLE app.u ADD CONSTRAINT u_pk PRIMARY KEY USING INDEX u_ledger_chain; ALTER TABLE app.u DROP CONSTRAINT u_pk")
case "$r" in *BL002*) ok D1b;; *) fail D1b "ADD CONSTRAINT u_pk PRIMARY KEY USING INDEX then DROP CONSTRAINT u_pk: $r (rolled back)";; esac

r=$(in_tx own "ALTER TABLE app.u ALTER COLUMN ledger_origin DROP NOT NULL")
case "$r" in committed) fail D2 "ALTER COLUMN ledger_origin DROP NOT NULL accepted (rolled back)";; *) ok D2;; esac

q >/dev/null <<'SQL'
CREATE TYPE app.en AS ENUM ('a', 'b');
ALTER TYPE app.en OWNER TO own;
SQL
qr own "CREATE TABLE app.e (battery text, k app.en);
  SELECT battledger.enable_ledger('app.e', chain_by => 'battery');
  INSERT INTO app.e VALUES ('B1', 'a')" >/dev/null
bad=""; n=0
while IFS= read -r s; do
  [ -z "$s" ] && continue
  r=$(in_tx own "$s"); n=$((n + 1))
  # refused by the guards (BL001 append-only, BL002 DDL), not for another reason
  case "$r" in *BL00[12]*) ;; *) bad="$bad [$s: $r]";; esac
done <<'EOF'
ALTER TABLE app.u DROP COLUMN kind
ALTER TABLE app.u ALTER COLUMN kind TYPE varchar(10)
ALTER TABLE app.u ALTER COLUMN battery TYPE text COLLATE "POSIX"
ALTER TABLE app.u ALTER COLUMN kind TYPE text USING upper(kind)
ALTER TABLE app.u ADD COLUMN g text GENERATED ALWAYS AS (kind || 'x') STORED
ALTER TABLE app.u ADD COLUMN d int DEFAULT 1
ALTER TABLE app.u ADD COLUMN i int GENERATED ALWAYS AS IDENTITY
ALTER TABLE app.u ALTER COLUMN ledger_hash SET DEFAULT NULL
ALTER TABLE app.u ALTER COLUMN ledger_seq DROP NOT NULL
ALTER TABLE app.u ALTER COLUMN battery DROP NOT NULL
ALTER TABLE app.u RENAME COLUMN kind TO kind2
ALTER TABLE app.u RENAME COLUMN ledger_seq TO s
ALTER TABLE app.u RENAME TO u3
ALTER TABLE app.u SET SCHEMA public
ALTER TABLE app.u SET UNLOGGED
CREATE TABLE app.child () INHERITS (app.u)
ALTER TABLE app.plainx INHERIT app.u
CREATE TABLE app.pp (LIKE app.u) PARTITION BY LIST (battery); ALTER TABLE app.pp ATTACH PARTITION app.u FOR VALUES IN ('B1')
CREATE RULE r AS ON INSERT TO app.u DO INSTEAD NOTHING
CREATE RULE r AS ON INSERT TO app.u DO ALSO NOTHING
ALTER TABLE app.u DISABLE TRIGGER zz_battledger_chain
ALTER TABLE app.u DISABLE TRIGGER ALL
ALTER TABLE app.u DISABLE TRIGGER USER
ALTER TABLE app.u ENABLE REPLICA TRIGGER zz_battledger_chain
ALTER TABLE app.u DISABLE TRIGGER battledger_append_only
ALTER TABLE app.u ENABLE REPLICA TRIGGER battledger_append_only
ALTER TABLE app.u DISABLE TRIGGER zz_battledger_arrive
ALTER TABLE app.u ENABLE TRIGGER zz_battledger_arrive
ALTER TABLE app.u DISABLE TRIGGER battledger_log
ALTER TRIGGER battledger_log ON app.u RENAME TO zzz
DROP TRIGGER battledger_append_only ON app.u
CREATE TRIGGER zzzz BEFORE INSERT ON app.u FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()
ALTER INDEX app.u_ledger_chain RENAME TO zz
DROP INDEX app.u_ledger_chain
ALTER TABLE app.u RENAME CONSTRAINT x TO y
DROP TABLE app.u
DROP SCHEMA app CASCADE
DROP TYPE app.en CASCADE
ALTER TYPE app.en RENAME VALUE 'a' TO 'z'
TRUNCATE app.u
DELETE FROM app.u
UPDATE app.u SET kind = 'z'
ALTER TABLE app.u ADD CONSTRAINT u2 UNIQUE USING INDEX u_ledger_chain
EOF
[ -z "$bad" ] && ok "D3 ($n DDL refused)" || fail D3 "accepted:$bad"

# D4: row-level security hiding a chain
qr own "ALTER TABLE app.r ENABLE ROW LEVEL SECURITY; ALTER TABLE app.r FORCE ROW LEVEL SECURITY;
  CREATE POLICY p ON app.r FOR SELECT USING (battery <> 'B2');
  CREATE POLICY pi ON app.r FOR INSERT WITH CHECK (true)" >/dev/null
r1=$(qr own "INSERT INTO app.r VALUES ('B2', 'b')")
r2=$(qr plain "INSERT INTO app.r VALUES ('B2', 'c')")
seqs=$(q -c "SELECT string_agg(ledger_seq::text, ',' ORDER BY ledger_seq) FROM app.r WHERE battery = 'B2'")
v_own=$(qr own "SELECT count(*) FROM battledger.verify('app.r')")
v_plain=$(qr plain "SELECT count(*) FROM battledger.verify('app.r')")
v_su=$(q -c "SELECT count(*) FROM battledger.verify('app.r')")
if [ "$r1$r2" = committedcommitted ] && [ "$seqs" = 1,2,3 ] && [ "$v_su" = 0 ] &&
   [[ "$v_own" == *"row-level security"* ]] && [[ "$v_plain" == *"row-level security"* ]]; then ok D4
else fail D4 "inserts: $r1 / $r2, B2's positions $seqs, verify as owner: $v_own, plain: $v_plain, superuser: $v_su"; fi

# D5: the owner's function inside a domain CHECK, the superuser verifying
qr own "CREATE TABLE app.spy (who text); GRANT INSERT ON app.spy TO PUBLIC;
  CREATE FUNCTION app.evil(t text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS
    \$\$BEGIN INSERT INTO app.spy VALUES (current_user); RETURN true; END\$\$;
  CREATE DOMAIN app.dk AS text CHECK (app.evil(VALUE));
  CREATE TABLE app.d (k app.dk, v app.dk);
  SELECT battledger.enable_ledger('app.d', chain_by => 'k');
  INSERT INTO app.d VALUES ('B1', 'x'), ('B1', 'y');
  TRUNCATE app.spy" >/dev/null
q -c "SELECT count(*) FROM battledger.verify('app.d')" -c "SELECT count(*) FROM battledger.verify_log(true)" >/dev/null 2>&1
spied=$(q -c "SELECT coalesce(string_agg(who, ','), '') FROM app.spy")
[ -z "$spied" ] && ok D5 || fail D5 "the owner's function ran as: $spied"

# ------------------------------------------------------------------ P (the registry as a plain role)
q -c "CREATE DATABASE pp" >/dev/null
psql -X -q -d pp -c "CREATE EXTENSION battledger" -f "$BL_ROOT/test/data/passport_batteries.sql" >/dev/null 2>&1
B="'https://id.gs1.org/01/09521234567899/21/FULL-ev'::battledger.battery_id"
pq() { psql -X -q -At -d pp -U "$1" -c '\set VERBOSITY verbose' -c "$2" 2>&1 | grep -m1 -E 'ERROR|.' ; }
nev=$(psql -X -At -d pp -c "SELECT count(*) FROM battledger.battery_event")
bad=""
while IFS= read -r s; do
  r=$(pq plain "$s")
  case "$r" in *42501*) ;; *) bad="$bad [$s => ${r:0:60}]";; esac
done <<EOF
SELECT battledger.lot_available_kg('L1')
SELECT battledger.lot_custodian('L1')
SELECT count(*) FROM battledger.registry_conflicts()
SELECT * FROM battledger.battery_state($B)
SELECT count(*) FROM battledger.battery_lifecycle($B)
SELECT count(*) FROM battledger.verify_member('oem.test')
SELECT battledger._battery_fold($B, NULL, now(), NULL, 0)
SELECT count(*) FROM battledger._effective_manufacture($B)
SELECT count(*) FROM battledger._second_life_claims($B)
SELECT count(*) FROM battledger._second_life_conflicts()
SELECT count(*) FROM battledger._battery_consumption($B)
SELECT battledger._held_before($B, 'oem.test', now(), NULL)
SELECT battledger._battery_successor($B)
SELECT battledger.passport($B, 'legitimate_interest')
SELECT battledger.passport($B, 'authority')
SELECT * FROM battledger.battery_event
SELECT * FROM battledger.disclosure
SELECT materials FROM battledger.battery_model
EOF
leak=""
for fmt in battledger batterypass catenax; do
  doc=$(pq plain "SELECT battledger.passport($B, 'public', '$fmt')")
  for k in batteryStatus negativeEvents stateOfHealth numberOfFullCycles puttingIntoService cathode \
           dateOfPuttingIntoService remainingCapacity; do
    grep -q "\"$k\"" <<<"$doc" && leak="$leak $fmt:$k"
  done
done
for fmt in NULL "'x'"; do
  doc=$(pq plain "SELECT battledger._passport_public($B, $fmt)")
  grep -q '"batteryStatus"\|"negativeEvents"\|"cathode"' <<<"$doc" && leak="$leak _passport_public($fmt)"
done
if [ "$nev" -gt 50 ] && [ -z "$bad" ] && [ -z "$leak" ]; then ok "P1 ($nev events)"
else fail P1 "events $nev; answered a plain role:$bad; restricted in the public passport:$leak"; fi
qk=$(psql -X -At -d pp -c "SELECT has_column_privilege('public', 'battledger.quarantine', 'chain_key', 'select')")
note "P1: battledger.quarantine.chain_key readable by PUBLIC: $qk (chain keys of quarantined chains, also of tables PUBLIC may not read)"

# P2: the rules' verdict on a row nobody signed, as an error message
psql -X -q -d pp -c "SET search_path = public, battledger, battledger_test" \
  -c "SELECT ev('oem.test', jsonb_build_object('battery_id', bid('FULL-lmt'), 'event', 'status_changed',
                                              'occurred_at', now(), 'new_status', 'waste'))" >/dev/null 2>&1
psql -X -q -d pp -c "CREATE ROLE auth LOGIN IN ROLE battledger_authority" >/dev/null 2>&1
p2() {   # p2 ROLE SERIAL: a "waste" move of the battery, in the custodian's name, with a signature of zeros
  pq "$1" "INSERT INTO battledger.battery_event (battery_id, event, occurred_at, new_status, ledger_key_id, ledger_sig)
    SELECT ('https://id.gs1.org/01/09521234567899/21/$2')::battledger.battery_id, 'status_changed', now(), 'waste',
           k.key_id, decode(repeat('00', 64), 'hex') FROM battledger.keys k WHERE k.member = 'oem.test'"
}
st=$(for b in FULL-lmt FULL-ev; do
      psql -X -At -d pp -c "SELECT status FROM battledger.battery_state('https://id.gs1.org/01/09521234567899/21/$b')"
    done | paste -sd,)
for role in plain auth; do
  a=$(p2 $role FULL-lmt); b=$(p2 $role FULL-ev)
  pub=$(pq $role "SELECT battledger.passport('https://id.gs1.org/01/09521234567899/21/FULL-lmt') ? 'batteryStatus'")
  ca=$(sed -E 's/^ERROR: +([A-Z0-9]{5}):.*/\1/' <<<"$a"); cb=$(sed -E 's/^ERROR: +([A-Z0-9]{5}):.*/\1/' <<<"$b")
  if [ "$st" = waste,original ] && [ "$pub" = f ] && [ "$ca" = "$cb" ] && ! grep -q 'from "waste"' <<<"$a"; then ok "P2 $role"
  else fail "P2 $role" "status (legitimate interest only; public passport shows it: $pub) told apart by the rules' errors on unsigned rows: a battery in waste: '${a:0:110}'; one in original: '${b:0:110}'"; fi
done
# P2-batch: the same move as a row of a batch that does not exist (the rules
# would raise their verdict on a batch row before the chain trigger looked)
p2b() {
  pq "$1" "INSERT INTO battledger.battery_event (battery_id, event, occurred_at, new_status, ledger_key_id, ledger_batch)
    SELECT ('https://id.gs1.org/01/09521234567899/21/$2')::battledger.battery_id, 'status_changed', now(), 'waste',
           k.key_id, 'no-such-batch' FROM battledger.keys k WHERE k.member = 'oem.test'"
}
for role in plain auth; do
  a=$(p2b $role FULL-lmt); b=$(p2b $role FULL-ev)
  ca=$(sed -E 's/^ERROR: +([A-Z0-9]{5}):.*/\1/' <<<"$a"); cb=$(sed -E 's/^ERROR: +([A-Z0-9]{5}):.*/\1/' <<<"$b")
  if [ "$ca" = "$cb" ] && [ "$ca" = BL020 ] && ! grep -q 'from "waste"' <<<"$a"; then ok "P2-batch $role"
  else fail "P2-batch $role" "a batch row told the batteries apart: '${a:0:110}' / '${b:0:110}'"; fi
done
# P2-lot: a lot's custodian (BL032) and kilograms left (BL033): a "processed"
# lot in refiner.test's name, signature of zeros, taking 1,000 kg of a lot
# the refiner holds (100 kg left) and of one the miner holds
psql -X -q -d pp -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<'SQL'
SET search_path = public, battledger, battledger_test;
SELECT add_member(m, r), add_key(m, public_key(seed(m)))
  FROM (VALUES ('miner.test', ARRAY['miner']), ('refiner.test', ARRAY['refiner'])) v(m, r);
CREATE FUNCTION lot(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.lot_event := jsonb_populate_record(NULL::battledger.lot_event, j || jsonb_build_object('ledger_key_id', key_id(public_key(seed(m)))::text));
BEGIN r.ledger_sig := sign(seed(m), signing_bytes(r)); INSERT INTO battledger.lot_event SELECT r.*; END $$;
SELECT lot('miner.test', '{"lot_id": "L-HELD", "event": "extracted", "material": "lithium carbonate", "mass_kg": 100, "occurred_at": "2024-01-05T00:00:00Z"}');
SELECT lot('miner.test', '{"lot_id": "L-MINER", "event": "extracted", "material": "lithium carbonate", "mass_kg": 100, "occurred_at": "2024-01-05T00:00:00Z"}');
SELECT lot('miner.test', '{"lot_id": "L-HELD", "event": "shipped", "material": "lithium carbonate", "mass_kg": 100, "counterparty": "refiner.test", "occurred_at": "2024-01-06T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "L-HELD", "event": "received", "material": "lithium carbonate", "mass_kg": 100, "counterparty": "miner.test", "occurred_at": "2024-01-07T00:00:00Z"}');
SQL
p2l() {   # p2l ROLE LOT
  pq "$1" "INSERT INTO battledger.lot_event (lot_id, event, material, mass_kg, inputs, occurred_at, ledger_key_id, ledger_sig)
    SELECT 'L-OUT', 'processed', 'NMC', 1, '[{\"lot\": \"$2\", \"mass_kg\": 1000}]', now(),
           k.key_id, decode(repeat('00', 64), 'hex') FROM battledger.keys k WHERE k.member = 'refiner.test'"
}
held=$(psql -X -At -d pp -c "SELECT battledger.lot_custodian('L-HELD') || ',' || battledger.lot_available_kg('L-HELD') || ',' || battledger.lot_custodian('L-MINER')")
for role in plain auth; do
  a=$(p2l $role L-HELD); b=$(p2l $role L-MINER)
  ca=$(sed -E 's/^ERROR: +([A-Z0-9]{5}):.*/\1/' <<<"$a"); cb=$(sed -E 's/^ERROR: +([A-Z0-9]{5}):.*/\1/' <<<"$b")
  if [ "$held" = refiner.test,100,miner.test ] && [ "$ca" = "$cb" ] && ! grep -q 'kg left\|custodian\|not held' <<<"$a$b"; then ok "P2-lot $role"
  else fail "P2-lot $role" "lots ($held) told apart by the rules' errors on unsigned rows: '${a:0:110}' / '${b:0:110}'"; fi
done

# ------------------------------------------------------------------ N (rows a superuser stored behind the guards)
# N1: NULL ledger_origin; N2: NULL chain key.  Each in a transaction rolled back.
behind() {   # behind SQL-to-store-the-row QUERY
  qr postgres "BEGIN;
    ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
    ALTER TABLE app.r DISABLE TRIGGER zz_battledger_arrive;
    ALTER TABLE app.r DISABLE ROW LEVEL SECURITY;
    $1;
    SET session_replication_role = replica;
    INSERT INTO app.r (battery, kind, ledger_seq, ledger_prev, ledger_hash, ledger_origin)
      VALUES ($2, 'x', 9, ('\\x' || repeat('00', 32))::bytea::battledger.hash256,
              ('\\x' || repeat('00', 32))::bytea::battledger.hash256, $3);
    SET session_replication_role = origin;
    DO \$\$DECLARE p text; BEGIN
      SELECT string_agg(problem, ',') INTO p FROM battledger.verify('app.r');
      RAISE EXCEPTION 'r16b verify: %', p; END\$\$"
}
r=$(behind "ALTER TABLE app.r ALTER COLUMN ledger_origin DROP NOT NULL" "'B1'" NULL)
case "$r" in
  *"r16b verify: missing_chain_fields"*) ok N1;;
  *"server closed"*|*terminated*) fail N1 "verify() crashed the server on a row without ledger_origin"; wait_up;;
  *) fail N1 "verify() on a row without ledger_origin: $r";;
esac
r=$(behind "ALTER TABLE app.r ALTER COLUMN battery DROP NOT NULL" NULL "''")
case "$r" in
  *"r16b verify: missing_chain_fields"*) ok N2;;
  *"server closed"*|*terminated*) fail N2 "verify() crashed the server on a row without a chain key"; wait_up;;
  *) fail N2 "verify() on a row without a chain key: $r";;
esac

# ------------------------------------------------------------------ Z
c=$(grep -c "terminated by signal" "$LOG")
[ "$c" = 0 ] && ok Z || fail Z "$c backend crash(es) in the server log: $(grep -m3 -A1 'terminated by signal' "$LOG" | tr '\n' ' ' | cut -c1-400)"

echo "# $FAILS FAIL(s)"
exit $FAILS
