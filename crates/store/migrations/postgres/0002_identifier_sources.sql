-- Identifiers belong to the source record that carried them, so a corrected Patient replaces
-- them instead of adding to them; entries keep their category codings apart from their codes.

ALTER TABLE entries ADD COLUMN category_codes TEXT NOT NULL DEFAULT E'\n';

ALTER TABLE person_identifiers ADD COLUMN source_id TEXT NOT NULL DEFAULT '';
UPDATE person_identifiers p SET source_id = k.source_id
    FROM source_keys k
    WHERE k.institution = p.institution AND k.resource_type = 'Patient' AND k.person_id = p.person_id;
ALTER TABLE person_identifiers DROP CONSTRAINT person_identifiers_pkey;
ALTER TABLE person_identifiers ADD PRIMARY KEY (system, value, person_id, institution, source_id);
CREATE INDEX person_identifiers_source ON person_identifiers(institution, source_id);
