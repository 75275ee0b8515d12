-- settle_member_host() (0.24.0) finds the leaves of member_event rows in
-- the other members' logs by position (sql/install/91_host_witnessed.sql)
CREATE INDEX peer_leaf_member_event ON @extschema@.peer_leaf (origin, seq)
    WHERE tbl = 'battledger.member_event';
