#!/usr/bin/env bash
# The battledger passport document assembled in C (0.26.0,
# src/pg/passport_doc.c; issue 15) is 0.25.0's, byte for byte:
#  1. every passport of test/shell/derived_values.sh's database (its checks
#     run first and must pass), at every tier and in every format, equals
#     the one 0.25.0's _passport() and _passport_battledger() make
#     (swapped in from the frozen sql/upgrade/battledger--0.25.0.sql, in a
#     transaction rolled back);
#  2. so does the document of each of those passports' sources with one of
#     about 30 changes (JSON nulls at every depth, fields of the wrong
#     JSON type, an empty or unknown usage value, a rated value as a
#     string, "ceased" as a string, no second-life section, ...) and of
#     those changes alone, of NULL, an array and a string;
#  3. a rated value or "ceased" that does not cast fails with 0.25.0's
#     message;
#  4. who may call it: no tier, no member, not PUBLIC;
#  5. _usage_value() (src/pg/usage_value.c, 0.26.0) is jsonb_build_object()
#     of its fields, byte for byte, for both signatures on values at the
#     edges of their types (NULLs, scales, exponents, NaN, infinities,
#     timestamps with and without fractions and years, in three time
#     zones) and the usage values of the database's batteries; 6. it too
#     is no tier's, no member's and not PUBLIC's.
# Port: PASSPORT_DOC_PORT (default 55499).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
W=$BL_WORK
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
BL_WORK=$W DV_PORT=${PASSPORT_DOC_PORT:-55499} bash "$BL_ROOT/test/shell/derived_values.sh" > "$W/derived_values.out" 2>&1 ||
  { tail -20 "$W/derived_values.out"; echo "derived_values.sh failed" >&2; exit 1; }
export PGHOST=$W PGPORT=${PASSPORT_DOC_PORT:-55499} PGUSER=postgres
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d dv "$@"; }
# 0.25.0's two functions, as CREATE OR REPLACE
awk -v names="_passport_source _passport_derived _passport_battledger _passport" -f "$BL_ROOT/sql/upgrade/replace_functions.awk" \
    "$BL_ROOT/sql/upgrade/battledger--0.25.0.sql" | sed 's/@extschema@/battledger/g' > "$W/old.sql"
grep -q "LANGUAGE plpgsql IMMUTABLE" "$W/old.sql" || { echo "no 0.25.0 _passport_battledger() found" >&2; exit 1; }

cat > "$W/srcs.sql" <<'SQL'
SET search_path = public, battledger, battledger_test;
-- every battery's source at every tier, as _passport() gives it to the format
CREATE TEMP TABLE src AS
SELECT b.battery_id::text AS b, t.tier, x.src
  FROM (SELECT DISTINCT e.battery_id FROM battledger.battery_event e WHERE e.event = 'manufactured') b
 CROSS JOIN unnest(ARRAY['public', 'legitimate_interest', 'authority']) t(tier)
 CROSS JOIN LATERAL (
       SELECT (s - 'responsibleOperator') || jsonb_build_object('secondLife',
                  CASE WHEN jsonb_typeof(s->'responsibleOperator') = 'object'
                       THEN l || jsonb_build_object('responsibleOperator', s->'responsibleOperator') ELSE l END) AS src
         FROM battledger._passport_source(b.battery_id, t.tier) s,
              battledger._passport_second_life(b.battery_id, t.tier) l) x;
CREATE TEMP TABLE change (n serial, c jsonb);
INSERT INTO change (c) VALUES ('{}'), ('{"model": null}'), ('{"model": [1, 2]}'), ('{"model": "x"}'),
 ('{"model": {"mass_kg": "12.50", "rated_capacity_ah": 2.000, "min_voltage_v": null,
              "chemistry": {"a": null, "b": [null, {"c": null, "d": 1}]}, "recycled_content": null}}'),
 ('{"dynamic": null}'), ('{"dynamic": []}'), ('{"dynamic": {}}'), ('{"dynamic": {"nokey": {"value": 1}}}'),
 ('{"dynamic": {"soh_pct": null, "re_ohm": [1], "full_cycles": {"value": null, "at": null, "event": "x", "extra": 1,
                                                               "basis": {"q": null}, "leafIndex": [null]}}}'),
 ('{"ceased": "yes"}'), ('{"ceased": "off"}'), ('{"ceased": true}'), ('{"ceased": null}'), ('{"ceased": false}'),
 ('{"negativeEvents": [null, 1, {"a": null}]}'), ('{"negativeEvents": {}}'), ('{"negativeEvents": []}'), ('{"negativeEvents": 3}'),
 ('{"history": [null, {"passportId": null, "x": {"y": null}}], "materials": {"a": null}, "testReports": [null, []]}'),
 ('{"manufactured": {"data": {"manufacturer": {"id": null, "n": "m"}, "facility": null}, "at": null, "facility": {"a": null}}}'),
 ('{"manufactured": [1]}'), ('{"issued": {"data": "s"}}'), ('{"issued": null}'),
 ('{"secondLife": null}'), ('{"secondLife": {"a": null, "b": [null]}}'),
 ('{"tier": null, "status": null, "passportId": 5, "battery": [null], "digitalLink": {}}'),
 ('{"inService": "2020-01-01", "materials": null}'), ('{"model": {"carbon_footprint_kg_co2e_per_kwh": 1e3, "original_power_w": "-0.0"}}');
CREATE TEMP TABLE input AS
SELECT s.b || '/' || s.tier || '/' || c.n AS name, s.src || c.c AS x FROM src s, change c
UNION ALL SELECT 'change ' || c.n, c.c - 'secondLife' FROM change c
UNION ALL SELECT 'change ' || c.n || ' as it is', c.c FROM change c
UNION ALL SELECT 'NULL', NULL UNION ALL SELECT 'array', '[1, null]' UNION ALL SELECT 'string', '"s"';
SQL
# passports: every battery, tier and format (a ceased passport fails in the standards' formats: its message)
cat > "$W/docs.sql" <<'SQL'
DO $$ DECLARE r record; d text; BEGIN
  FOR r IN SELECT b.b, t.tier, f.format FROM (SELECT DISTINCT s.b FROM src s) b,
           unnest(ARRAY['public', 'legitimate_interest', 'authority']) t(tier),
           unnest(ARRAY['battledger', 'batterypass', 'catenax']) f(format) ORDER BY 1, 2, 3 LOOP
    BEGIN
      d := battledger.passport(r.b::battledger.battery_id, r.tier, r.format)::text;
    EXCEPTION WHEN OTHERS THEN d := 'ERROR ' || SQLERRM;
    END;
    RAISE NOTICE '% % %: %', r.b, r.tier, r.format, md5(d);
  END LOOP;
END $$;
SQL
q > "$W/counts" <<SQL
\i $W/srcs.sql
SELECT count(*) FROM src;
SELECT count(*) FROM input;
-- this version's documents (C)
CREATE TEMP TABLE got AS SELECT i.name, battledger._passport_battledger(i.x)::text AS doc FROM input i;
BEGIN;
\i $W/old.sql
-- 0.25.0's: its expression, then _passport()'s concatenation of the second-life section
CREATE TEMP TABLE want AS
SELECT i.name, (battledger._passport_battledger(i.x)
                || CASE WHEN i.x ? 'secondLife' AND jsonb_typeof(i.x) = 'object'
                        THEN jsonb_build_object('secondLife', i.x->'secondLife') ELSE '{}' END)::text AS doc
  FROM input i;
SELECT count(*) FROM want w JOIN got g USING (name) WHERE w.doc = g.doc;
SELECT coalesce(string_agg(w.name, ', ' ORDER BY w.name), '') FROM want w LEFT JOIN got g USING (name)
 WHERE g.doc IS DISTINCT FROM w.doc;
ROLLBACK;
SQL
mapfile -t C < "$W/counts"
n_src=${C[0]}; n_in=${C[1]}; n_same=${C[2]}; differ=${C[3]:-}
echo "    $n_src sources (batteries x tiers), $n_in documents compared, $n_same identical${differ:+; differ: $differ}"
# (psql writes NOTICEs to stderr: compare them there)
q 2> "$W/this.notices" >/dev/null <<SQL
\i $W/srcs.sql
\i $W/docs.sql
SQL
q 2> "$W/old.notices" >/dev/null <<SQL
\i $W/srcs.sql
BEGIN;
\i $W/old.sql
\i $W/docs.sql
ROLLBACK;
SQL
n_docs=$(grep -c 'NOTICE' "$W/this.notices" || true)
check "1: every passport (every battery, 3 tiers, 3 formats: $n_docs) is 0.25.0's" \
  test "$n_docs" -ge 54 -a "$(md5sum < "$W/this.notices")" = "$(md5sum < "$W/old.notices")"
[ "$(md5sum < "$W/this.notices")" = "$(md5sum < "$W/old.notices")" ] || diff "$W/old.notices" "$W/this.notices" | head -5
check "2: the document of every source, changed or not, is 0.25.0's ($n_in)" \
  test "$n_src" -ge 18 -a "$n_same" = "$n_in"
err() { { q -c "SELECT battledger._passport_battledger('$1')" 2>&1 || true; } | sed -n 's/^ERROR: *//p' | head -1; }
for bad in '{"model": {"mass_kg": "abc"}}' '{"model": {"capacity_threshold_pct": {"a": 1}}}' '{"ceased": "maybe"}' '{"ceased": 1.5}'; do
  mine=$(err "$bad")
  theirs=$({ q -c "BEGIN" -f "$W/old.sql" -c "SELECT battledger._passport_battledger('$bad')" -c "ROLLBACK" 2>&1 || true; } | sed -n 's/^ERROR: *//p' | head -1)
  check "3: $bad fails as in 0.25.0 ($mine)" test -n "$mine" -a "$mine" = "$theirs"
done
check "4: _passport_battledger(): no tier, no member, not PUBLIC" \
  test "$(q -c "SELECT count(*) FROM unnest(ARRAY['battledger_legitimate_interest', 'battledger_authority', 'battledger_member']) r
                 WHERE has_function_privilege(r, 'battledger._passport_battledger(jsonb)', 'EXECUTE')")" = 0 \
       -a "$(q -c "SELECT count(*) FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                    WHERE p.oid = 'battledger._passport_battledger(jsonb)'::regprocedure AND a.grantee = 0")" = 0
# 5: _usage_value() against jsonb_build_object(), field for field
same_uv() {
  q <<'SQL'
SET search_path = public, battledger, battledger_test;
CREATE TEMP TABLE uv AS
SELECT v.value, t.at, ev.event, n.seq, h.hash, n2.leaf, b.basis, m.method, n3.reports
  FROM unnest(ARRAY[NULL, 0, -0.0, 1, -1.5, 0.000001, 1e-20, 12345678901234567890.123456789, 1e300, 'NaN', 'Infinity', '-Infinity',
                    round(2.675, 2), 100.10]::numeric[]) v(value)
 CROSS JOIN unnest(ARRAY[NULL, '2009-01-15T00:00:00Z', '2026-12-07 12:34:56.789012+05:30', '0044-03-15 BC', 'infinity', '-infinity',
                         '99999-12-31 23:59:59.999999Z']::timestamptz[]) t(at)
 CROSS JOIN unnest(ARRAY[NULL, 'soh_reported', '', 'a"b\c', E'tab\there ünï']::text[]) ev(event)
 CROSS JOIN unnest(ARRAY[NULL, 0, -9223372036854775808, 9223372036854775807]::bigint[]) n(seq)
 CROSS JOIN unnest(ARRAY[NULL, repeat('ab', 32)]) h(hash)
 CROSS JOIN unnest(ARRAY[NULL, 7]::bigint[]) n2(leaf)
 CROSS JOIN unnest(ARRAY['reported', NULL]) b(basis)
 CROSS JOIN unnest(ARRAY[NULL, 'sum of charged and discharged Ah']) m(method)
 CROSS JOIN unnest(ARRAY[NULL, 42]::bigint[]) n3(reports);
SELECT count(*) FILTER (WHERE a.x IS DISTINCT FROM a.y OR a.x::text IS DISTINCT FROM a.y::text
                          OR jsonb_send(a.x) IS DISTINCT FROM jsonb_send(a.y)) || ' ' || count(*)
  FROM (SELECT battledger._usage_value(value, at, event, seq, hash, leaf, basis) AS x,
               jsonb_build_object('value', value, 'at', at, 'event', event, 'sequence', seq, 'ledgerHash', hash,
                                  'leafIndex', leaf, 'basis', basis) AS y FROM uv
        UNION ALL
        SELECT battledger._usage_value(value, at, event, seq, hash, leaf, basis, method, reports),
               jsonb_build_object('value', value, 'at', at, 'event', event, 'sequence', seq, 'ledgerHash', hash,
                                  'leafIndex', leaf, 'basis', basis, 'method', method, 'reports', reports) FROM uv) a;
SQL
}
for tz in UTC Asia/Kolkata America/St_Johns; do
  r=$(PGTZ=$tz same_uv) || r="error (no _usage_value()?) 0"
  check "5: _usage_value() is jsonb_build_object() of its fields, TimeZone $tz (${r#* } pairs; differing: ${r%% *})" \
    test "${r%% *}" = 0 -a "${r#* }" -gt 100000
done
check "6: _usage_value(): no tier, no member, not PUBLIC" \
  test "$(q -c "SELECT count(*) FROM unnest(ARRAY['battledger_legitimate_interest', 'battledger_authority', 'battledger_member']) r,
                      pg_proc p WHERE p.proname = '_usage_value' AND p.pronamespace = 'battledger'::regnamespace
                       AND has_function_privilege(r, p.oid, 'EXECUTE')")" = 0 \
       -a "$(q -c "SELECT count(*) FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                    WHERE p.proname = '_usage_value' AND p.pronamespace = 'battledger'::regnamespace AND a.grantee = 0")" = 0 \
       -a "$(q -c "SELECT count(*) FROM pg_proc p WHERE p.proname = '_usage_value' AND p.pronamespace = 'battledger'::regnamespace")" = 2
exit $fail
