-- Authorized access: residents' grants (and the requests that become them), emergency access
-- and its review, the institutions that have read a person's record (for the first-read
-- notice), residents' face verification, and the grant an audit event was decided under.

CREATE TABLE grants (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL,
    institution TEXT NOT NULL,
    department TEXT,
    clinician INTEGER,
    categories TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    valid_from INTEGER NOT NULL,
    valid_until INTEGER NOT NULL,
    requested_by TEXT NOT NULL,
    external_ref TEXT,
    sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    decided_at INTEGER,
    decided_by TEXT,
    code_digest BLOB,
    code_expires INTEGER,
    code_tries INTEGER NOT NULL DEFAULT 0,
    review_status TEXT,
    reviewed_by TEXT,
    reviewed_at INTEGER
);
CREATE INDEX grants_person ON grants(person_id, institution);
CREATE INDEX grants_institution ON grants(institution, id);
CREATE INDEX grants_review ON grants(review_status, institution, id);
CREATE UNIQUE INDEX grants_external ON grants(channel, external_ref);

CREATE TABLE first_reads (
    person_id INTEGER NOT NULL,
    institution TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (person_id, institution)
);

ALTER TABLE accounts ADD COLUMN face_verified_at INTEGER;
ALTER TABLE audit_events ADD COLUMN grant_id INTEGER;
CREATE INDEX audit_events_grant ON audit_events(grant_id) WHERE grant_id IS NOT NULL;
