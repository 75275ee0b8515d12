-- test/bench/registry.sh: passport at the legitimate-interest tier (pgbench -D id='<battery id>')
SELECT battledger.passport(:id, 'legitimate_interest');
