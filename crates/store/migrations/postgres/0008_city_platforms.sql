-- Fused city platforms submit for their member institutions: the submission records the
-- platform it came through (the entries' source stays the member).
ALTER TABLE submissions ADD COLUMN via TEXT;
