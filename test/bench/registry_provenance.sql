-- test/bench/registry.sh: the battery's material lots back to the mine (pgbench -D id='<battery id>')
SELECT * FROM battledger.material_provenance(:id);
