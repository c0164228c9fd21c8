-- Protection: the wrapped keys, the sealed copy of each identifier (its value column holds the
-- keyed blind index from now on), the Merkle ledger (a queue, the stored perfect subtrees, the
-- leaves' sources, signed checkpoints), audit events, accounts and sessions.
-- Resources, demographics and identifiers are sealed by the store from this version on; a
-- database written by an earlier version holds plaintext and is refused (re-import it).

CREATE TABLE protection_keys (
    id INTEGER PRIMARY KEY,
    purpose TEXT NOT NULL,
    suite TEXT NOT NULL,
    wrapped BLOB NOT NULL,
    master TEXT NOT NULL,
    public_key BLOB,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

ALTER TABLE person_identifiers ADD COLUMN sealed BLOB;

CREATE TABLE ledger_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind INTEGER NOT NULL,
    ref_id INTEGER NOT NULL,
    ref_version INTEGER NOT NULL,
    hash BLOB NOT NULL
);

CREATE TABLE ledger_nodes (
    pos INTEGER NOT NULL,
    level INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (pos, level)
) WITHOUT ROWID;

CREATE TABLE ledger_leaves (
    idx INTEGER PRIMARY KEY,
    kind INTEGER NOT NULL,
    ref_id INTEGER NOT NULL,
    ref_version INTEGER NOT NULL
);
CREATE INDEX ledger_leaves_ref ON ledger_leaves(ref_id, kind, ref_version);

CREATE TABLE ledger_state (
    id INTEGER PRIMARY KEY,
    size INTEGER NOT NULL
);
INSERT INTO ledger_state (id, size) VALUES (1, 0);

CREATE TABLE ledger_checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    at INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    signature BLOB NOT NULL,
    note TEXT NOT NULL
);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    institution TEXT,
    person_id INTEGER,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_person ON audit_events(person_id, at);
CREATE INDEX audit_events_at ON audit_events(at);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    sealed BLOB NOT NULL,
    role TEXT NOT NULL,
    institution TEXT,
    department TEXT,
    person_id INTEGER,
    password_hash TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    created_at INTEGER NOT NULL,
    disabled_at INTEGER
);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    account_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    csrf BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) WITHOUT ROWID;
CREATE INDEX sessions_account ON sessions(account_id);
