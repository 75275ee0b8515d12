-- Writers of a lot, battery or passport id take turns by a row lock in
-- subject_lock, which only the (now SECURITY DEFINER) rule triggers can
-- take, instead of an advisory lock any role could hold (red team F9).
CREATE UNLOGGED TABLE @extschema@.subject_lock (
    kind text NOT NULL,
    id   text NOT NULL,
    PRIMARY KEY (kind, id)
);
REVOKE ALL ON @extschema@.subject_lock FROM PUBLIC;
