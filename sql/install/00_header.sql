-- battledger 0.2.0: hash256 type, canonical row encoding, append-only hash-chained ledger tables,
-- signatures, the transparency log, the battery registry and the consortium.
\echo Use "CREATE EXTENSION battledger" to load this file. \quit

-- Applications use the types and functions; internal functions are revoked below.
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

