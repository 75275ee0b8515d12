-- test/bench/registry.sh: passport at the public tier (pgbench -D id='<battery id>')
SELECT battledger.passport(:id);
