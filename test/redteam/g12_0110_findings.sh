#!/bin/bash
# Red team g12 on 0.11.0's G1 (fold_inputs counter) and G2 (_id_owners by prefix).
# Each case prints "ok <case>" or "FAIL <case>: ..."; exit status = number of FAILs.
#
# No open finding.  Held (kept as regression checks):
#  K1 (G1, malicious member): every key, member or namespace row UPDATEs the
#     single fold_inputs row; one transaction adding N keys (as a remote
#     transaction applied in one go) could walk N dead versions per UPDATE
#     (PITFALLS: one head row updated thousands of times in one transaction).
#     Measured 2000 -> 0.8 s, 8000 -> 4.1 s (about linear; bound 8x for 4x keys).
#  S1 (G1): a key added in a savepoint rolled back leaves the counter as it was
#     (the counter's UPDATE rolls back with the row); the next key still counts.
#  E1 (G2): _id_owners() gives the same owners as testing every registration
#     with _ns_covers(), for namespaces inserted bypassing the CHECK (empty,
#     trailing '/', 'gs1:', lower case, multibyte) and ids of both schemes.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
fails=0
ok() { echo "ok $1"; }
bad() { echo "FAIL $1: $2"; fails=$((fails+1)); }
bl_scratch
bl_start_cluster g12 57511 "$(bl_test_log_conf g12.test/log)"
createdb g12
q() { timeout 900 psql -X -q -At -v ON_ERROR_STOP=1 -d g12 "$@"; }
q -c "CREATE EXTENSION battledger" -c "ALTER DATABASE g12 SET search_path = public, battledger, battledger_test" >/dev/null
sed -n '1,52p' "$BL_ROOT/sql/registry.sql" | q >/dev/null

# --- K1: N keys in one transaction, quadratic?
keys_ms() { # N TAG
  q -c "DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN
          PERFORM battledger.add_key('oem.test', battledger_test.public_key(battledger_test.seed('$2/' || i))) FROM generate_series(1, $1) i;
          RAISE NOTICE '%', round(extract(epoch FROM clock_timestamp() - t0) * 1000);
        END \$\$" 2>&1 | sed -n 's/^NOTICE: *//p'
}
a=$(keys_ms 2000 k1a); b=$(keys_ms 8000 k1b)
echo "# keys in one transaction: 2000 -> $a ms, 8000 -> $b ms"
if awk -v a="$a" -v b="$b" 'BEGIN { exit !(b <= 8 * a) }'; then ok K1; else bad K1 "8000 keys in one transaction took $b ms, 2000 took $a ms (linear ~4x; quadratic ~16x)"; fi
echo "# fold_inputs pages after: $(q -c "SELECT pg_relation_size('battledger.fold_inputs')/8192")"

# --- S1: savepoints
c0=$(q -c "SELECT changes FROM battledger.fold_inputs")
q -c "BEGIN" -c "SAVEPOINT s" -c "SELECT battledger.add_key('oem.test', battledger_test.public_key(battledger_test.seed('s1/a')))" \
  -c "ROLLBACK TO s" -c "SELECT battledger.add_key('oem.test', battledger_test.public_key(battledger_test.seed('s1/b')))" -c "COMMIT" >/dev/null
c1=$(q -c "SELECT changes FROM battledger.fold_inputs")
if [ "$c1" = $((c0 + 1)) ]; then ok S1; else bad S1 "counter $c0 -> $c1 after one kept key and one rolled back"; fi

# --- E1: G2 agrees with the full scan
res=$(q <<'SQL'
SET search_path = public, battledger, battledger_test;
CREATE TEMP TABLE ns(n text);
INSERT INTO ns VALUES (''), ('/'), ('gs1:'), ('gs1'), ('GS1:4012'), ('iso15459:UN/'), ('iso15459:UN/123456/'),
  ('iso15459:UN'), ('iso15459:un/123456'), ('iso15459:UN/123456'), ('iso15459:UN/1234'), ('gs1:40123'), ('gs1:4012345678901'), ('é/');
CREATE TEMP TABLE ids(k text);
INSERT INTO ids VALUES ('iso15459:UN/123456/'), ('iso15459:UN/12345/'), ('gs1:401234567890'), (''), ('/'), ('iso15459:UN//'), ('é//');
SELECT count(*) FROM ids i, LATERAL (
  SELECT ARRAY(SELECT n FROM ns WHERE battledger._ns_covers(n, i.k) ORDER BY n) AS old,
         ARRAY(SELECT n FROM ns WHERE n = ANY (ARRAY(SELECT left(i.k, m) FROM generate_series(0, length(i.k)) m
                                WHERE (m >= 4 AND starts_with(i.k, 'gs1:')) OR m = length(i.k) OR substr(i.k, m + 1, 1) = '/'))
                        AND battledger._ns_covers(n, i.k) ORDER BY n) AS new) x
 WHERE x.old IS DISTINCT FROM x.new;
SQL
)
if [ "$res" = 0 ]; then ok E1; else bad E1 "$res keys where the candidate lookup and the full scan differ"; fi
bl_cleanup 2>/dev/null || true
exit $fails
