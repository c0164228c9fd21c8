-- The master patient index: each Patient record's demographics in matching form and its
-- blocking keys, the review queue of possible matches, link/merge history, and the matching
-- parameters. A person merged into another keeps its row and points at the survivor.

ALTER TABLE persons ADD COLUMN merged_into BIGINT;

-- The Patient record an entry's subject named, so entries follow their record when it is
-- linked to another person. An entry stored before this migration gets its institution's
-- record of its person when there is exactly one (references resolve within an institution);
-- otherwise it stays unattributed: a merge moves it with its person, a link or unlink does not.
ALTER TABLE entries ADD COLUMN patient_record BIGINT;
UPDATE entries e SET patient_record = (SELECT CASE WHEN COUNT(*) = 1 THEN MIN(p.id) END FROM patient_records p
                                     WHERE p.person_id = e.person_id AND p.institution = e.institution);

CREATE TABLE match_records (
    record_id BIGINT PRIMARY KEY,
    person_id BIGINT NOT NULL,
    demographics TEXT NOT NULL
);
CREATE INDEX match_records_person ON match_records(person_id);

CREATE TABLE match_keys (
    key BIGINT NOT NULL,
    record_id BIGINT NOT NULL,
    PRIMARY KEY (key, record_id)
);
CREATE INDEX match_keys_record ON match_keys(record_id);

CREATE SEQUENCE mpi_ids;

CREATE TABLE mpi_reviews (
    id BIGINT PRIMARY KEY DEFAULT nextval('mpi_ids'),
    record_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    candidate_person BIGINT NOT NULL,
    weight DOUBLE PRECISION NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by TEXT,
    note TEXT
);
CREATE INDEX mpi_reviews_status ON mpi_reviews(status, id);

CREATE TABLE mpi_events (
    id BIGINT PRIMARY KEY DEFAULT nextval('mpi_ids'),
    kind TEXT NOT NULL,
    person_id BIGINT NOT NULL,
    other_person BIGINT,
    records TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL,
    undone_by BIGINT
);
CREATE INDEX mpi_events_person ON mpi_events(person_id);
CREATE INDEX mpi_events_other ON mpi_events(other_person);

CREATE TABLE match_parameters (
    id BIGINT PRIMARY KEY DEFAULT nextval('mpi_ids'),
    created_at BIGINT NOT NULL,
    parameters TEXT NOT NULL
);
