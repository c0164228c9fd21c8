-- Foundation schema (PostgreSQL). Times are microseconds since the Unix epoch (UTC).
-- Person-owned tables have the person id first in their primary key, as distribution by person
-- (Citus) requires; see docs/scale-out.md.

CREATE TABLE institutions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    level TEXT NOT NULL,
    ownership TEXT NOT NULL,
    kind TEXT NOT NULL,
    connection TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    key_hash BYTEA PRIMARY KEY,
    prefix TEXT NOT NULL,
    institution TEXT NOT NULL REFERENCES institutions(code),
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_keys_institution ON api_keys(institution);

CREATE SEQUENCE person_ids START 1000001;
CREATE SEQUENCE entry_ids START 1;
CREATE SEQUENCE resource_ids START 1;
CREATE SEQUENCE submission_ids START 1;

CREATE TABLE persons (
    id BIGINT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE person_identifiers (
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    person_id BIGINT NOT NULL,
    institution TEXT NOT NULL,
    PRIMARY KEY (system, value, person_id)
);
CREATE INDEX person_identifiers_person ON person_identifiers(person_id);
CREATE INDEX person_identifiers_value ON person_identifiers(value);

CREATE TABLE source_keys (
    institution TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    source_id TEXT NOT NULL,
    kind SMALLINT NOT NULL,
    person_id BIGINT,
    target_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    digest BYTEA NOT NULL,
    PRIMARY KEY (institution, resource_type, source_id)
);

CREATE TABLE source_identifiers (
    institution TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    source_id TEXT NOT NULL,
    PRIMARY KEY (institution, resource_type, system, value, source_id)
);

CREATE TABLE patient_records (
    person_id BIGINT NOT NULL,
    id BIGINT NOT NULL,
    institution TEXT NOT NULL,
    source_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    collected_at BIGINT NOT NULL,
    resource BYTEA NOT NULL,
    PRIMARY KEY (person_id, id)
);
CREATE UNIQUE INDEX patient_records_id ON patient_records(id);

CREATE TABLE directory_resources (
    id BIGINT PRIMARY KEY,
    resource_type TEXT NOT NULL,
    institution TEXT NOT NULL,
    source_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    collected_at BIGINT NOT NULL,
    resource BYTEA NOT NULL
);

CREATE TABLE entries (
    person_id BIGINT NOT NULL,
    id BIGINT NOT NULL,
    category SMALLINT NOT NULL,
    resource_type TEXT NOT NULL,
    sort_time BIGINT NOT NULL,
    clinical_time TEXT,
    collected_at BIGINT NOT NULL,
    institution TEXT NOT NULL,
    source_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    status SMALLINT NOT NULL,
    codes TEXT NOT NULL,
    digest BYTEA NOT NULL,
    submission_id BIGINT NOT NULL,
    resource BYTEA NOT NULL,
    PRIMARY KEY (person_id, id)
);
CREATE UNIQUE INDEX entries_id ON entries(id);
CREATE INDEX entries_timeline ON entries(person_id, sort_time DESC, id DESC);

CREATE TABLE entry_history (
    person_id BIGINT NOT NULL,
    entry_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    collected_at BIGINT NOT NULL,
    status SMALLINT NOT NULL,
    digest BYTEA NOT NULL,
    submission_id BIGINT NOT NULL,
    resource BYTEA NOT NULL,
    PRIMARY KEY (person_id, entry_id, version)
);

CREATE TABLE submissions (
    id BIGINT PRIMARY KEY,
    institution TEXT NOT NULL,
    channel TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    read_count BIGINT NOT NULL,
    stored BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    refused BIGINT NOT NULL
);
CREATE INDEX submissions_institution ON submissions(institution, received_at);
