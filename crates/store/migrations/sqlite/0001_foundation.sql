-- Foundation schema (SQLite). Times are microseconds since the Unix epoch (UTC).

CREATE TABLE institutions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    level TEXT NOT NULL,
    ownership TEXT NOT NULL,
    kind TEXT NOT NULL,
    connection TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    key_hash BLOB PRIMARY KEY,
    prefix TEXT NOT NULL,
    institution TEXT NOT NULL REFERENCES institutions(code),
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) WITHOUT ROWID;
CREATE INDEX api_keys_institution ON api_keys(institution);

CREATE TABLE id_sequences (
    name TEXT PRIMARY KEY,
    next_id INTEGER NOT NULL
);
INSERT INTO id_sequences (name, next_id) VALUES ('person', 1000001), ('entry', 1), ('resource', 1), ('submission', 1);

CREATE TABLE persons (
    id INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL
);

-- Every identifier submitted for a person; strong identifiers link submissions to one person.
CREATE TABLE person_identifiers (
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    person_id INTEGER NOT NULL,
    institution TEXT NOT NULL,
    PRIMARY KEY (system, value, person_id)
) WITHOUT ROWID;
CREATE INDEX person_identifiers_person ON person_identifiers(person_id);
CREATE INDEX person_identifiers_value ON person_identifiers(value);

-- The write side's index of every resource an institution submitted: idempotence, versions,
-- and reference resolution in the institution's namespace.
CREATE TABLE source_keys (
    institution TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    source_id TEXT NOT NULL,
    kind INTEGER NOT NULL,
    person_id INTEGER,
    target_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    digest BLOB NOT NULL,
    PRIMARY KEY (institution, resource_type, source_id)
) WITHOUT ROWID;

CREATE TABLE source_identifiers (
    institution TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    source_id TEXT NOT NULL,
    PRIMARY KEY (institution, resource_type, system, value, source_id)
) WITHOUT ROWID;

CREATE TABLE patient_records (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL,
    institution TEXT NOT NULL,
    source_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    collected_at INTEGER NOT NULL,
    resource BLOB NOT NULL
);
CREATE INDEX patient_records_person ON patient_records(person_id);

CREATE TABLE directory_resources (
    id INTEGER PRIMARY KEY,
    resource_type TEXT NOT NULL,
    institution TEXT NOT NULL,
    source_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    collected_at INTEGER NOT NULL,
    resource BLOB NOT NULL
);

CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL,
    category INTEGER NOT NULL,
    resource_type TEXT NOT NULL,
    sort_time INTEGER NOT NULL,
    clinical_time TEXT,
    collected_at INTEGER NOT NULL,
    institution TEXT NOT NULL,
    source_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    status INTEGER NOT NULL,
    codes TEXT NOT NULL,
    digest BLOB NOT NULL,
    submission_id INTEGER NOT NULL,
    resource BLOB NOT NULL
);
CREATE INDEX entries_timeline ON entries(person_id, sort_time DESC, id DESC);

-- Superseded versions; the current one is in entries.
CREATE TABLE entry_history (
    entry_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    person_id INTEGER NOT NULL,
    collected_at INTEGER NOT NULL,
    status INTEGER NOT NULL,
    digest BLOB NOT NULL,
    submission_id INTEGER NOT NULL,
    resource BLOB NOT NULL,
    PRIMARY KEY (entry_id, version)
);

CREATE TABLE submissions (
    id INTEGER PRIMARY KEY,
    institution TEXT NOT NULL,
    channel TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    read_count INTEGER NOT NULL,
    stored INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    refused INTEGER NOT NULL
);
CREATE INDEX submissions_institution ON submissions(institution, received_at);
