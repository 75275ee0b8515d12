#!/usr/bin/env bash
# r27 (0.22.0, on main 42f24c7): red team on the lead's 0.22.0 changes so far
# (git log 5c5da96..42f24c7).  Each case prints "ok   - ..." when the
# property holds, "FAIL - ..." for a finding; exit status: the number of
# FAILs.  PG_BIN: the build under test.  R27_PORT (default 56930; one port).
# Results, PostgreSQL 15.20, 2026-12-06 ~23:15 UTC: main 42f24c7 2 FAILs
# (T1f, T1b: not perf22's, 0.21.0 has them too); branch r27 0 FAILs.  The
# "sensitivity" lines show N1 and U1's comparisons failing on a deliberately
# wrong variant; T1 and Q1 fail 9 cases with the pg_type callback of
# 34dc7e2 left unregistered (tried by hand, not kept).
#   N1  _ns_candidates() bounded at 48 characters (d5505d8): over ~3,900
#       keys (every registrable namespace shape from 8 to 48 characters,
#       each followed by '/', '//', nothing, a letter, a digit, 'é', cut at
#       every length 1..48; _text_id_key() spellings; 3,000 random keys of
#       'A9/é/Z0/' around 48 characters after 'iso15459:', 'gs1:' and no
#       prefix), the namespaces matched (n = ANY (candidates) AND
#       _ns_covers(n, key)) are the same with 0.21.0's unbounded loop, and
#       no namespace _ns_covers() admits is outside the candidates.
#   U1  usage_derived()'s round-trip pairs by lag() (20b138b) equal 0.21.0's
#       LATERAL scan on 8,200 adversarial cycles (NULL, unknown and
#       miscased types, impedance rows between, wh NULL, 0, negative, tiny).
#   U2  usage_derived() at 42f24c7 against 0.21.0's (the function text of
#       5c5da96, made a scratch function) row for row: a NASA cell (616
#       reports) and a battery of 300 adversarial reports, as the owner and
#       as a legitimate-interest role; and the legitimate-interest passport's
#       derived values are usage_derived()'s.
#   U3  _usage_derived(battery, made, m): not PUBLIC's, SECURITY INVOKER, no
#       row_security setting; given a forged manufacture (thresholds of the
#       caller's choosing) its counts equal what the role reads directly.
#   T1  the type OID cache (34dc7e2), superuser-only ways of replacing the
#       types (the drop guard must be disabled): DROP + CREATE EXTENSION in
#       one transaction after the session cached the OIDs; the same rolled
#       back to a savepoint; a CREATE EXTENSION rolled back; another session
#       recreating the extension while this one holds the old OIDs.  Each
#       time a battery_id and a hash256 column are encoded (encode.c compares
#       their type OIDs to the cache), and a fresh session's verify(), seal()
#       and verify_log(true) must agree.  A plain role's types named
#       hash256 / battery_id (another schema, pg_temp, search_path first,
#       renamed mid-transaction) must change nothing.
#   T1f, T1b (a finding, pre-existing since 0.18.0's slots, superuser only):
#       the log queue's heap_multi_insert() slots (log_entries.c
#       queue_slots()) are kept for the transaction over a copy of
#       log_pending's descriptor.  A transaction that wrote a batch (a
#       multi-row INSERT) and then replaces the extension (DROP + CREATE
#       EXTENSION, the guards disabled as docs/dba-guide.md says; or a
#       savepoint rolled back over that) writes to another log_pending with
#       the old slots: PostgreSQL 15.20 refuses ("datum attribute "prev" at
#       position 3 does not match deforming descriptor's atttypid"), the
#       transaction fails.  Fixed on r27: slots made for another log_pending
#       are dropped and made again.
#   Q1  chain head under the insert's lock and the lone queue entry
#       (8f0acbf, b408941): 40 single-row transactions, single rows in
#       savepoints rolled back and released, an exception caught in
#       PL/pgSQL, COPY of one row, INSERT ... ON CONFLICT DO NOTHING (one
#       row skipped, one inserted), a row inserted by a trigger of a plain
#       table, MERGE ... WHEN NOT MATCHED THEN INSERT: every row queued once, verify(), seal(), verify_log(true)
#       clean; the chain index's lock is the executor's RowExclusiveLock.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
P=${R27_PORT:-56930}
bl_scratch
bl_start_cluster r27 "$P" "$(bl_test_log_conf battledger.test/r27)"
createdb r27
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d r27 "$@"; }
qas() { local role=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -d r27 -U "$role" "$@"; }
state() { psql -X -q -At -d r27 -U "${2:-postgres}" -c "\\set VERBOSITY sqlstate" -c "$1" >/dev/null 2>"$BL_WORK/err" \
            && echo ok || sed -n 's/^ERROR:  //p' "$BL_WORK/err" | head -1; }
q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
CREATE ROLE li LOGIN IN ROLE battledger_legitimate_interest;
CREATE ROLE plain LOGIN;
SQL

echo "== N1. _ns_candidates() bounded at 48 characters"
git -C "$BL_ROOT" show 5c5da96:sql/install/80_registry.sql \
  | awk '/^CREATE FUNCTION @extschema@._ns_candidates/,/^END \$\$;/' \
  | sed -e 's/@extschema@._ns_candidates/public.r27_old_candidates/' -e 's/ PARALLEL SAFE//' > "$BL_WORK/old_candidates.sql"
q -f "$BL_WORK/old_candidates.sql"
q >/dev/null <<'SQL'
-- a loop stopping one character early (the sensitivity check)
CREATE FUNCTION public.r27_short_candidates(key text) RETURNS text[] LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    candidates text[] := ARRAY[key];
    gs1 boolean := starts_with(key, 'gs1:');
BEGIN
    FOR n IN 0 .. least(length(key) - 1, 47) LOOP
        IF (gs1 AND n >= 4) OR substr(key, n + 1, 1) = '/' THEN
            candidates := candidates || left(key, n);
        END IF;
    END LOOP;
    RETURN candidates;
END $$;
SELECT setseed(0.27);
-- namespaces id_namespace's CHECK admits, 8 .. 48 characters
CREATE TABLE r27_ns AS
SELECT DISTINCT ns FROM (
  SELECT 'iso15459:' || left('AB9', a) || '/' || left(repeat('Z9Y', 12), c) AS ns
    FROM generate_series(1, 3) a, (VALUES (1), (2), (33), (34), (35)) v(c)
  UNION ALL SELECT 'gs1:' || left('012345678901', d) FROM generate_series(4, 12) d
  UNION ALL SELECT 'gs1:' || left('999999999999', d) FROM generate_series(4, 12) d) s;
ALTER TABLE r27_ns ADD CHECK (ns ~ '^(gs1:[0-9]{4,12}|iso15459:[A-Z0-9]{1,3}/[A-Z0-9]{1,35})$');
CREATE TABLE r27_keys AS
SELECT DISTINCT k FROM (
  SELECT ns || s AS k FROM r27_ns,
         unnest(ARRAY['', '/', '//', '/S1', '/S1/', '/A/B/C/', 'A', '9/', 'é', '/é', 'é/x/', '0', '0123', '01234567/89/',
                      '/' || repeat('Q', 60) || '/', repeat('/', 5)]) s
  UNION ALL SELECT left(ns, l) || s FROM r27_ns, generate_series(1, 48) l, unnest(ARRAY['', '/', '/S']) s
  UNION ALL SELECT 'é' || ns || '/x' FROM r27_ns
  UNION ALL SELECT battledger._text_id_key(x) FROM unnest(ARRAY[
        'gs1:01/09506000134352/21/ABC', 'GS1:01/09506000134352', '(01)09506000134352(21)X', 'gs1:01/12345670/10/L1',
        'iso15459:AB9/Z9YZ9YZ9YZ9YZ9YZ9YZ9YZ9YZ9YZ9YZ9Y/LOT', 'ISO15459:ab9/z9y/x', ' iso15459:A/Z/x ', 'urn:x/y/z']) x
  UNION ALL SELECT battledger._id_key(x::battledger.battery_id) FROM unnest(ARRAY[
        'gs1:01/09506000134352/21/ABC', 'https://id.gs1.org/01/09521234567899/21/X']) x
  UNION ALL SELECT p || string_agg(substr('A9/é/Z0/', 1 + floor(random() * 8)::int, 1), '')
    FROM (SELECT i, (ARRAY['iso15459:A/', 'iso15459:AB9/', 'gs1:0123', 'gs1:', ''])[1 + i % 5] AS p, 30 + i % 30 AS len
            FROM generate_series(1, 3000) i) g, generate_series(1, g.len) j
   GROUP BY i, p) s WHERE k IS NOT NULL;
CREATE FUNCTION public.r27_matches(f text) RETURNS TABLE (k text, m text[]) LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT k, ARRAY(SELECT ns FROM r27_ns WHERE ns = ANY (%s(k)) AND battledger._ns_covers(ns, k) ORDER BY ns) FROM r27_keys', f);
END $$;
SQL
n1=$(q -c "SELECT count(*) || ' keys, ' || sum(cardinality(o.m)) || ' matches, ' || count(*) FILTER (WHERE o.m IS DISTINCT FROM n.m) || ' differ'
             FROM r27_matches('public.r27_old_candidates') o JOIN r27_matches('battledger._ns_candidates') n USING (k)")
echo "    $n1"
check "N1: the namespaces matching each key are 0.21.0's" "${n1##*, }" "0 differ"
check "N1: no namespace _ns_covers() admits is outside _ns_candidates()" \
  "$(q -c "SELECT count(*) FROM r27_keys, r27_ns WHERE battledger._ns_covers(ns, k) AND NOT ns = ANY (battledger._ns_candidates(k))")" 0
s1=$(q -c "SELECT count(*) FILTER (WHERE o.m IS DISTINCT FROM n.m) FROM r27_matches('public.r27_old_candidates') o
             JOIN r27_matches('public.r27_short_candidates') n USING (k)")
if [ "$s1" -gt 0 ]; then ok "N1 sensitivity: a loop stopping at 47 differs on $s1 keys"; else fail "N1 sensitivity" "a loop stopping at 47 differs on no key"; fi

echo "== U1. round-trip pairs: lag() against the LATERAL scan"
q >/dev/null <<'SQL'
SELECT setseed(0.5);
CREATE TABLE r27_c AS
SELECT b, row_number() OVER (PARTITION BY b ORDER BY i) AS n, i AS seq, timestamptz '2026-01-01' + i * interval '1 s' AS occurred_at,
       md5(b || ':' || i) AS hash,
       (ARRAY['charge', 'discharge', 'impedance', NULL, 'Charge', 'discharge ', 'charge', 'discharge'])[1 + floor(random() * 8)::int] AS type,
       (ARRAY[NULL, 0, -5, 1e-30, 10, 9.5, 100, NULL, 7])[1 + floor(random() * 9)::int]::numeric AS wh
  FROM generate_series(1, 400) b, generate_series(1, 1 + (b % 40)) i;
CREATE VIEW r27_old_pairs AS
  SELECT x.b, x.n, x.occurred_at, x.seq, x.hash, x.wh / p.wh AS rte
    FROM r27_c x
    CROSS JOIN LATERAL (SELECT y.type, y.wh FROM r27_c y WHERE y.b = x.b AND y.n < x.n AND y.type IN ('charge', 'discharge')
                         ORDER BY y.n DESC LIMIT 1) p
   WHERE x.type = 'discharge' AND x.wh IS NOT NULL AND p.type = 'charge' AND p.wh > 0;
CREATE VIEW r27_new_pairs AS
  SELECT x.b, x.n, x.occurred_at, x.seq, x.hash, x.wh / x.prev_wh AS rte
    FROM (SELECT y.b, y.n, y.occurred_at, y.seq, y.hash, y.type, y.wh,
                 lag(y.type) OVER w AS prev_type, lag(y.wh) OVER w AS prev_wh
            FROM r27_c y WHERE y.type IN ('charge', 'discharge')
          WINDOW w AS (PARTITION BY y.b ORDER BY y.n)) x
   WHERE x.type = 'discharge' AND x.wh IS NOT NULL AND x.prev_type = 'charge' AND x.prev_wh > 0;
-- the sensitivity check: lag() over every row, impedance included
CREATE VIEW r27_wrong_pairs AS
  SELECT x.b, x.n, x.occurred_at, x.seq, x.hash, x.wh / x.prev_wh AS rte
    FROM (SELECT y.b, y.n, y.occurred_at, y.seq, y.hash, y.type, y.wh,
                 lag(y.type) OVER w AS prev_type, lag(y.wh) OVER w AS prev_wh
            FROM r27_c y WINDOW w AS (PARTITION BY y.b ORDER BY y.n)) x
   WHERE x.type = 'discharge' AND x.wh IS NOT NULL AND x.prev_type = 'charge' AND x.prev_wh > 0;
SQL
u1=$(q -c "SELECT (SELECT count(*) FROM r27_old_pairs) || ' pairs, ' ||
                  ((SELECT count(*) FROM (SELECT * FROM r27_old_pairs EXCEPT ALL SELECT * FROM r27_new_pairs) d) +
                   (SELECT count(*) FROM (SELECT * FROM r27_new_pairs EXCEPT ALL SELECT * FROM r27_old_pairs) d)) || ' differ'")
echo "    $u1 (of $(q -c "SELECT count(*) FROM r27_c") cycles)"
check "U1: lag()'s pairs are the LATERAL scan's" "${u1##*, }" "0 differ"
s2=$(q -c "SELECT (SELECT count(*) FROM (SELECT * FROM r27_old_pairs EXCEPT ALL SELECT * FROM r27_wrong_pairs) d) +
                  (SELECT count(*) FROM (SELECT * FROM r27_wrong_pairs EXCEPT ALL SELECT * FROM r27_old_pairs) d)")
if [ "$s2" -gt 0 ]; then ok "U1 sensitivity: lag() over impedance rows too differs on $s2 pairs"; else fail "U1 sensitivity" "no difference"; fi

echo "== U2. usage_derived() against 0.21.0's, row for row"
git -C "$BL_ROOT" show 5c5da96:sql/install/86_derived.sql \
  | awk '/^CREATE FUNCTION @extschema@.usage_derived/,/^END \$\$;/' \
  | sed -e 's/@extschema@.usage_derived(/public.r27_old_usage_derived(/' -e 's/@extschema@/battledger/g' > "$BL_WORK/old_usage.sql"
q -f "$BL_WORK/old_usage.sql"
q -c "GRANT EXECUTE ON FUNCTION public.r27_old_usage_derived(battledger.battery_id) TO li"
q -v nasa_csv="$BL_ROOT/data/nasa/nasa_pcoe_cycle_summary.csv" -v nasa_sql="$BL_ROOT/test/data/nasa_cycles.sql" >/dev/null <<'SQL'
SET search_path = public, battledger, battledger_test;
SELECT add_member(m, r), add_key(m, public_key(seed(m)))
  FROM (VALUES ('cells.test', ARRAY['cell_maker', 'pack_maker']), ('oem.test', ARRAY['oem']),
               ('fleet.test', ARRAY['fleet_operator'])) v(m, r);
CREATE FUNCTION ev(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.battery_event SELECT r.*; END $$;
CREATE FUNCTION model(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_model := jsonb_populate_record(NULL::battledger.battery_model, j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.battery_model SELECT r.*; END $$;
CREATE FUNCTION bid(serial text) RETURNS battledger.battery_id LANGUAGE sql AS $$
    SELECT ('https://id.gs1.org/01/09521234567899/21/' || serial)::battledger.battery_id $$;
\i :nasa_sql
SELECT model('cells.test', '{"model_id": "NASA-18650", "manufacturer": "cells.test", "category": "ev", "chemistry": "LCO",
                             "rated_capacity_ah": 2.0, "rated_energy_kwh": 0.0074, "nominal_voltage_v": 3.7,
                             "min_voltage_v": 2.5, "max_voltage_v": 4.2}');
SELECT ev('cells.test', jsonb_build_object('battery_id', bid(c)::text, 'event', 'manufactured', 'model_id', 'NASA-18650',
          'data', '{"rated": {"overchargeVoltageV": 4.21, "idleTemperatureLowerC": 5, "idleTemperatureUpperC": 40}}'::jsonb,
          'occurred_at', '2009-01-15T00:00:00Z')),
       ev('cells.test', jsonb_build_object('battery_id', bid(c)::text, 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb,
          'occurred_at', '2009-01-20T00:00:00Z')),
       ev('oem.test', jsonb_build_object('battery_id', bid(c)::text, 'event', 'handover_accepted', 'occurred_at', '2009-01-20T00:00:00Z')),
       ev('oem.test', jsonb_build_object('battery_id', bid(c)::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:' || c || ':1',
          'occurred_at', '2009-02-01T00:00:00Z')),
       ev('fleet.test', jsonb_build_object('battery_id', bid(c)::text, 'event', 'installed', 'occurred_at', '2009-02-10T00:00:00Z'))
  FROM unnest(ARRAY['NASA-B0025', 'ADV-1']) c;
SELECT nasa_cycles('fleet.test', 'B0025', 'NASA-B0025');
-- 300 adversarial reports: types NULL, unknown, miscased, impedance between
-- charge and discharge; wh NULL, 0, negative, "NaN", a string, tiny; two
-- reports at one instant (occurred_at ties; the registry order decides)
SELECT setseed(0.3);
CREATE TEMP TABLE adv AS
SELECT i, timestamptz '2009-03-01' + (i / 2) * interval '1 h' AS at,
       jsonb_build_object('cycle', jsonb_strip_nulls(jsonb_build_object(
           'type', (ARRAY['charge', 'discharge', 'impedance', NULL, 'Charge', 'discharge', 'charge', 'discharge'])[1 + floor(random() * 8)::int],
           'wh', (ARRAY['null', '0', '-5', '"NaN"', '"x"', '1e-30', '10', '9.5', '100', '7'])[1 + floor(random() * 10)::int]::jsonb,
           'ah', (ARRAY['null', '1.5', '-1', '"NaN"'])[1 + floor(random() * 4)::int]::jsonb,
           'capacity_ah', (ARRAY['null', '1.9', '0', '"NaN"'])[1 + floor(random() * 4)::int]::jsonb,
           're_ohm', (ARRAY['null', '0.05', '0', '-0.01', '0.07'])[1 + floor(random() * 5)::int]::jsonb,
           'v_min', (ARRAY['null', '2.4', '3.0'])[1 + floor(random() * 3)::int]::jsonb,
           'v_max', (ARRAY['null', '4.3', '4.1'])[1 + floor(random() * 3)::int]::jsonb,
           't_cell_max_c', (ARRAY['null', '45', '20'])[1 + floor(random() * 3)::int]::jsonb,
           'ambient_c', (ARRAY['null', '0', '20'])[1 + floor(random() * 3)::int]::jsonb,
           'duration_s', (ARRAY['null', '600', '"ten"'])[1 + floor(random() * 3)::int]::jsonb))) AS v,
       sha256(convert_to('ADV-1:' || i, 'UTF8')) AS salt   -- TEST ONLY: reproducible salts
  FROM generate_series(1, 300) i;
INSERT INTO battledger.disclosure SELECT DISTINCT ON (commitment(salt, v)) commitment(salt, v), 'legitimate_interest', salt, v FROM adv;
SELECT count(ev('fleet.test', jsonb_build_object('battery_id', bid('ADV-1')::text, 'event', 'soh_reported', 'occurred_at', at,
          'restricted', commitment(salt, v)::text))) FROM (SELECT * FROM adv ORDER BY i) a;
SQL
for who in postgres li; do
  for b in NASA-B0025 ADV-1; do
    u2=$(qas "$who" -c "WITH o AS (SELECT * FROM public.r27_old_usage_derived(public.bid('$b'))),
                             n AS (SELECT * FROM battledger.usage_derived(public.bid('$b')))
                        SELECT (SELECT count(*) FROM o) || ' rows, ' ||
                               ((SELECT count(*) FROM (SELECT * FROM o EXCEPT ALL SELECT * FROM n) d) +
                                (SELECT count(*) FROM (SELECT * FROM n EXCEPT ALL SELECT * FROM o) d)) || ' differ'" 2>&1)
    echo "    $b as $who: $u2"
    check "U2: usage_derived($b) as $who is 0.21.0's" "${u2##*, }" "0 differ"
  done
done
check "U2: ADV-1's round trip values exist (the comparison covers pairs)" \
  "$(q -c "SELECT count(*) FROM battledger.usage_derived(public.bid('ADV-1')) WHERE key IN ('rte_remaining_pct', 'rte_fade_pct')")" 2
for b in NASA-B0025 ADV-1; do
  # the source the legitimate-interest passport is made of (_passport_source(), run as the owner, as here)
  pd=$(q -c "SELECT count(*) || ' values, ' || count(*) FILTER (WHERE (battledger._passport_source(public.bid('$b'), 'legitimate_interest')
                                                                      ->'dynamic'->u.key->>'value')::numeric IS DISTINCT FROM u.value) || ' differ'
              FROM battledger.usage_derived(public.bid('$b')) u JOIN battledger._dynamic_attribute a ON a.key = u.key" 2>&1)
  check "U2: the legitimate-interest passport's derived values of $b are usage_derived()'s ($pd)" "${pd##*, }" "0 differ"
done

echo "== U3. _usage_derived(battery, made, m) as a caller"
sig="battledger._usage_derived(battledger.battery_id, battledger.battery_event, battledger.battery_model)"
check "U3: not PUBLIC's (a plain role: 42501), SECURITY INVOKER, no setting of row_security" \
  "$(state "SELECT * FROM battledger._usage_derived(NULL, NULL, NULL)" plain)|$(q -c "SELECT prosecdef OR coalesce(array_to_string(proconfig, ','), '') LIKE '%row_security%' FROM pg_proc WHERE oid = '$sig'::regprocedure")" \
  "42501|f"
# li forges a manufacture declaring a deep-discharge voltage of 99 V and a
# model of rated capacity 1: every measured discharge is "deep", which li
# counts directly from what it may read
forged=$(qas li -c "SELECT u.value FROM (SELECT jsonb_populate_record(e, '{\"data\": {\"rated\": {\"deepDischargeVoltageV\": 99}}}'::jsonb) AS f
                                         FROM battledger.battery_event e WHERE e.battery_id OPERATOR(battledger.=) public.bid('ADV-1') AND e.event = 'manufactured') x,
                     battledger._usage_derived(public.bid('ADV-1'), x.f, NULL) u WHERE u.key = 'deep_discharge_events'" 2>&1)
direct=$(qas li -c "SELECT count(*) FROM battledger.battery_event e JOIN battledger.disclosure d ON d.commitment OPERATOR(battledger.=) e.restricted
                     WHERE e.battery_id OPERATOR(battledger.=) public.bid('ADV-1') AND e.event = 'soh_reported'
                       AND d.value->'cycle'->>'type' = 'discharge' AND battledger._json_num(d.value->'cycle'->'v_min') < 99" 2>&1)
check "U3: a forged threshold counts only what the role reads itself" "$forged" "$direct"

echo "== T1. type OIDs cached across the extension's replacement"
q >/dev/null <<'SQL'
CREATE FUNCTION public.mk() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CREATE TABLE public.t (battery battledger.battery_id NOT NULL, h battledger.hash256, n int);
    PERFORM battledger.enable_ledger('public.t', 'battery');
    GRANT INSERT, SELECT ON public.t TO plain;
END $$;
SELECT public.mk();
SQL
# retire(): the dba-guide's way of dropping the extension (superuser only)
RETIRE="SET client_min_messages = warning;
CREATE FUNCTION pg_temp.retire() RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
    ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
    ALTER EVENT TRIGGER battledger_drop_guard DISABLE;
    DROP TABLE IF EXISTS public.t;
    DROP EXTENSION battledger_test_signer;
    DROP EXTENSION battledger CASCADE;
END \$\$;"
INS="INSERT INTO public.t VALUES ('gs1:01/09506000134352/21/A', NULL, 1), ('gs1:01/09506000134352/21/B', repeat('ab', 32)::battledger.hash256, 2);"
# the whole log is checked by a fresh session (each table's rows, the queue, the tree)
logcheck() {
  q -c "SELECT (SELECT count(*) FROM battledger.verify('public.t')) || '/' || (battledger.seal() IS NOT NULL) || '/' ||
               (SELECT count(*) FROM battledger.verify_log(true)) || '/' || (SELECT count(*) FROM public.t)" 2>&1 | tail -1
}
recreate="SELECT pg_temp.retire(); CREATE EXTENSION battledger; CREATE EXTENSION battledger_test_signer; SELECT public.mk();"
out=$(q 2>&1 <<SQL
$RETIRE
$INS
BEGIN;
$recreate
$INS
COMMIT;
SQL
)
check "T1a: DROP + CREATE EXTENSION in the transaction after the session cached the OIDs ($out)" "$(logcheck)|$(grep -c ERROR <<<"$out")" "0/true/0/2|0"
out=$(q 2>&1 <<SQL
$RETIRE
BEGIN;
$INS
$recreate
$INS
COMMIT;
SQL
)
check "T1f: DROP + CREATE EXTENSION in a transaction that wrote a batch of queue entries before ($out)" "$(logcheck)|$(grep -c ERROR <<<"$out")" "0/true/0/2|0"
out=$(q 2>&1 <<SQL
$RETIRE
$INS
BEGIN;
$INS
SAVEPOINT s;
$recreate
$INS
ROLLBACK TO SAVEPOINT s;
$INS
COMMIT;
SQL
)
check "T1b: the same rolled back to a savepoint, rows after it ($out)" "$(logcheck)|$(grep -c ERROR <<<"$out")" "0/true/0/8|0"
out=$(q 2>&1 <<SQL
$RETIRE
$INS
BEGIN;
SELECT pg_temp.retire();
COMMIT;
BEGIN;
CREATE EXTENSION battledger;
SELECT public.mk();
$INS
ROLLBACK;
CREATE EXTENSION battledger; CREATE EXTENSION battledger_test_signer; SELECT public.mk();
$INS
SQL
)
check "T1c: a CREATE EXTENSION rolled back after use, then made again ($out)" "$(logcheck)|$(grep -c ERROR <<<"$out")" "0/true/0/2|0"
# session A caches the OIDs, session B replaces the extension, A inserts again
printf '%s\n%s\n' "$RETIRE" "$recreate" > "$BL_WORK/replace.sql"
out=$(q 2>&1 <<SQL
$INS
\! psql -X -q -At -v ON_ERROR_STOP=1 -d r27 -f $BL_WORK/replace.sql >/dev/null 2>&1
$INS
SQL
)
check "T1d: another session replaced the extension while this one held the OIDs ($out)" "$(logcheck)|$(grep -c ERROR <<<"$out")" "0/true/0/2|0"
q -c "GRANT CREATE ON DATABASE r27 TO plain"
out=$(qas plain 2>&1 <<SQL
CREATE SCHEMA p AUTHORIZATION plain;
CREATE TYPE p.hash256 AS (a int);
CREATE DOMAIN p.battery_id AS text;
CREATE TYPE pg_temp.hash256 AS (b int);
SET search_path = p, pg_temp, public;
$INS
BEGIN;
$INS
ALTER TYPE p.hash256 RENAME TO h2;
CREATE TYPE p.hash256 AS ENUM ('x');
$INS
DROP TYPE p.hash256;
ALTER TYPE p.h2 RENAME TO hash256;
COMMIT;
$INS
SQL
)
check "T1e: a plain role's types named hash256 and battery_id (its schema first, pg_temp, renamed mid-transaction) ($out)" \
  "$(logcheck)|$(grep -c ERROR <<<"$out")" "0/true/0/10|0"

echo "== Q1. single-row transactions, savepoints, COPY, ON CONFLICT, a trigger's INSERT"
q >/dev/null <<'SQL'
CREATE TABLE public.q (battery text NOT NULL, kind text NOT NULL, n int);
SELECT battledger.enable_ledger('public.q', 'battery');
CREATE UNIQUE INDEX q_once ON public.q (battery, kind) WHERE kind = 'once';
CREATE TABLE public.feed (battery text, n int);
CREATE FUNCTION public.feed_q() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.q VALUES (NEW.battery, 'fed', NEW.n); RETURN NEW; END $$;
CREATE TRIGGER feed_q AFTER INSERT ON public.feed FOR EACH ROW EXECUTE FUNCTION public.feed_q();
SQL
for i in $(seq 1 40); do echo "INSERT INTO public.q VALUES ('S$((i % 3))', 'single', $i);"; done | q
q <<'SQL'
BEGIN; SAVEPOINT a; INSERT INTO public.q VALUES ('S1', 'rolled back', 1); ROLLBACK TO SAVEPOINT a; COMMIT;
BEGIN; SAVEPOINT a; INSERT INTO public.q VALUES ('S1', 'released', 1); RELEASE SAVEPOINT a; COMMIT;
BEGIN; INSERT INTO public.q VALUES ('S2', 'before', 1); SAVEPOINT a; INSERT INTO public.q VALUES ('S2', 'rolled back', 2);
       ROLLBACK TO SAVEPOINT a; COMMIT;
BEGIN; SAVEPOINT a; INSERT INTO public.q VALUES ('S0', 'rolled back', 1); ROLLBACK TO SAVEPOINT a;
       INSERT INTO public.q VALUES ('S0', 'after', 2); COMMIT;
DO $$ BEGIN INSERT INTO public.q VALUES ('S1', 'caught', 1); RAISE EXCEPTION 'x'; EXCEPTION WHEN raise_exception THEN NULL; END $$;
DO $$ BEGIN BEGIN INSERT INTO public.q VALUES ('S1', 'caught', 1); RAISE EXCEPTION 'x'; EXCEPTION WHEN raise_exception THEN NULL; END;
            INSERT INTO public.q VALUES ('S1', 'kept', 2); END $$;
COPY public.q (battery, kind, n) FROM STDIN;
S2	copied	1
\.
INSERT INTO public.q VALUES ('S0', 'once', 1) ON CONFLICT DO NOTHING;
INSERT INTO public.q VALUES ('S0', 'once', 2) ON CONFLICT DO NOTHING;
INSERT INTO public.feed VALUES ('S1', 1);
MERGE INTO public.q USING (VALUES ('S2', 'merged', 1), ('S0', 'merged', 2)) v(b, k, n) ON false
  WHEN NOT MATCHED THEN INSERT VALUES (v.b, v.k, v.n);
SQL
locks=$(q <<'SQL'
BEGIN;
INSERT INTO public.q VALUES ('S2', 'locked', 1);
SELECT string_agg(mode, ',' ORDER BY mode) FROM pg_locks WHERE pid = pg_backend_pid() AND relation = 'public.q_ledger_chain'::regclass;
COMMIT;
SQL
)
qs=$(q -c "WITH e AS (SELECT seq, row_hash FROM battledger.log_pending WHERE tbl = 'public.q'
                      UNION ALL SELECT seq, row_hash FROM battledger.log_leaf WHERE tbl = 'public.q')
           SELECT (SELECT count(*) FROM e) || ' ' || (SELECT count(*) FROM public.q) || ' ' ||
                  (SELECT count(*) FROM public.q x WHERE (SELECT count(*) FROM e WHERE e.seq = x.ledger_seq AND e.row_hash::text = x.ledger_hash::text) = 1)")
check "Q1: every row queued once, nothing else (entries rows matched: $qs)" "$(awk '{print ($1 == $2 && $2 == $3) ? "yes" : "no"}' <<<"$qs")" yes
check "Q1: the rows that landed" "$(q -c "SELECT count(*) FROM public.q")" 50
check "Q1: verify(), seal(), verify_log(true) clean" \
  "$(q -c "SELECT (SELECT count(*) FROM battledger.verify('public.q')) || '/' || (battledger.seal() IS NOT NULL) || '/' || (SELECT count(*) FROM battledger.verify_log(true))")" \
  "0/true/0"
check "Q1: the chain index's lock after a single-row INSERT is the executor's (q_ledger_chain)" "$locks" "RowExclusiveLock"

# the paths where an insert might not hold the chain index: a ledger table
# cannot be a partition (reached through its parent) nor be made of one
check "Q1: a ledger table is attached as no partition, a partition made no ledger table" \
  "$(q -c "CREATE TABLE public.pp (battery text NOT NULL, kind text NOT NULL, n int) PARTITION BY LIST (n)" >/dev/null; \
     state "ALTER TABLE public.pp ATTACH PARTITION public.q FOR VALUES IN (1)")/$(q -c "CREATE TABLE public.pp1 PARTITION OF public.pp FOR VALUES IN (1)" >/dev/null; \
     state "SELECT battledger.enable_ledger('public.pp1', 'battery')")" "BL002/42809"

echo "$FAILS FAIL(s)"
exit $FAILS
