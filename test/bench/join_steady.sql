-- test/bench/join_steady.sql — pgbench script for test/bench/join.sh's
-- steady catch-up window: one usage report, signed by the client
-- (TEST-ONLY signer), per durable transaction, on a random battery of 1..:nbat.
\set b random(1, :nbat)
SELECT bench_join.ev('fleet.join', jsonb_build_object('battery_id', bench_join.bid(:b)::text,
       'event', 'soh_reported', 'occurred_at', clock_timestamp(),
       'data', jsonb_build_object('soh_pct', 95, 'cycles', :b)));
