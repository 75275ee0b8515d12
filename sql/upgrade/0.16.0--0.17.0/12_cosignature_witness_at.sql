-- The cosignature trigger reads a witness's last signed second at each
-- cosignature of a member with two witness keys pinned or more (its era,
-- witness_era() in src/pg/witness.c): served by an index, not by reading
-- the whole of battledger.cosignature (red team r19 F2).
CREATE INDEX cosignature_witness_at ON @extschema@.cosignature (witness, cosigned_at);
