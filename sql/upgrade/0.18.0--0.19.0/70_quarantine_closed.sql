-- ops21: a quarantine that can never be released can be closed
-- (close_quarantine()); before the functions that read the new columns
ALTER TABLE @extschema@.quarantine ADD COLUMN closed_at timestamptz, ADD COLUMN closed_reason text;
