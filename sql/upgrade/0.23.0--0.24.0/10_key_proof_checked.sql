-- Proofs of possession checked once, as they arrive (kproof24; red team
-- r29 C1): the local table the readers of a contested key probe (filled
-- from the proofs already here by 12_key_proof_checked.sql).
CREATE TABLE @extschema@._key_proof_checked (
    key_id    @extschema@.hash256 NOT NULL,
    member    text NOT NULL,
    origin    text NOT NULL,
    first_seq bigint NOT NULL,
    valid     boolean NOT NULL,
    PRIMARY KEY (key_id, member, origin)
);
CREATE INDEX _key_proof_checked_valid ON @extschema@._key_proof_checked (key_id) WHERE valid;
GRANT SELECT ON @extschema@._key_proof_checked TO PUBLIC;
