-- Authorized access: residents' grants (and the requests that become them), emergency access
-- and its review, the institutions that have read a person's record (for the first-read
-- notice), residents' face verification, and the grant an audit event was decided under.

CREATE TABLE grants (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL,
    institution TEXT NOT NULL,
    department TEXT,
    clinician BIGINT,
    categories TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    requested_by TEXT NOT NULL,
    external_ref TEXT,
    sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by TEXT,
    code_digest BYTEA,
    code_expires BIGINT,
    code_tries BIGINT NOT NULL DEFAULT 0,
    review_status TEXT,
    reviewed_by TEXT,
    reviewed_at BIGINT
);
CREATE INDEX grants_person ON grants(person_id, institution);
CREATE INDEX grants_institution ON grants(institution, id);
CREATE INDEX grants_review ON grants(review_status, institution, id);
CREATE UNIQUE INDEX grants_external ON grants(channel, external_ref);

CREATE TABLE first_reads (
    person_id BIGINT NOT NULL,
    institution TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (person_id, institution)
);

ALTER TABLE accounts ADD COLUMN face_verified_at BIGINT;
ALTER TABLE audit_events ADD COLUMN grant_id BIGINT;
CREATE INDEX audit_events_grant ON audit_events(grant_id) WHERE grant_id IS NOT NULL;
