-- Identifiers belong to the source record that carried them, so a corrected Patient replaces
-- them instead of adding to them; entries keep their category codings apart from their codes.

ALTER TABLE entries ADD COLUMN category_codes TEXT NOT NULL DEFAULT '
';

CREATE TABLE person_identifiers_v2 (
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    person_id INTEGER NOT NULL,
    institution TEXT NOT NULL,
    source_id TEXT NOT NULL,
    PRIMARY KEY (system, value, person_id, institution, source_id)
) WITHOUT ROWID;
INSERT INTO person_identifiers_v2 (system, value, person_id, institution, source_id)
    SELECT p.system, p.value, p.person_id, p.institution,
           COALESCE((SELECT k.source_id FROM source_keys k
                     WHERE k.institution = p.institution AND k.resource_type = 'Patient' AND k.person_id = p.person_id
                     ORDER BY k.source_id LIMIT 1), '')
    FROM person_identifiers p;
DROP TABLE person_identifiers;
ALTER TABLE person_identifiers_v2 RENAME TO person_identifiers;
CREATE INDEX person_identifiers_person ON person_identifiers(person_id);
CREATE INDEX person_identifiers_value ON person_identifiers(value);
CREATE INDEX person_identifiers_source ON person_identifiers(institution, source_id);
