-- test/bench/registry.sh: the battery's whole history, every row sent to the client (pgbench -D id='<battery id>')
SELECT * FROM battledger.battery_history(:id);
