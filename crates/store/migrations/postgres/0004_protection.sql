-- Protection: the wrapped keys, the sealed copy of each identifier (its value column holds the
-- keyed blind index from now on), the Merkle ledger (a queue, the stored perfect subtrees, the
-- leaves' sources, signed checkpoints), audit events, accounts and sessions.
-- Resources, demographics and identifiers are sealed by the store from this version on; a
-- database written by an earlier version holds plaintext and is refused (re-import it).

CREATE TABLE protection_keys (
    id BIGINT PRIMARY KEY,
    purpose TEXT NOT NULL,
    suite TEXT NOT NULL,
    wrapped BYTEA NOT NULL,
    master TEXT NOT NULL,
    public_key BYTEA,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

ALTER TABLE person_identifiers ADD COLUMN sealed BYTEA;

CREATE TABLE ledger_queue (
    seq BIGSERIAL PRIMARY KEY,
    kind SMALLINT NOT NULL,
    ref_id BIGINT NOT NULL,
    ref_version BIGINT NOT NULL,
    hash BYTEA NOT NULL
);

CREATE TABLE ledger_nodes (
    pos BIGINT NOT NULL,
    level SMALLINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (pos, level)
);

CREATE TABLE ledger_leaves (
    idx BIGINT PRIMARY KEY,
    kind SMALLINT NOT NULL,
    ref_id BIGINT NOT NULL,
    ref_version BIGINT NOT NULL
);
CREATE INDEX ledger_leaves_ref ON ledger_leaves(ref_id, kind, ref_version);

CREATE TABLE ledger_state (
    id SMALLINT PRIMARY KEY,
    size BIGINT NOT NULL
);
INSERT INTO ledger_state (id, size) VALUES (1, 0);

CREATE TABLE ledger_checkpoints (
    size BIGINT PRIMARY KEY,
    root BYTEA NOT NULL,
    at BIGINT NOT NULL,
    key_id BIGINT NOT NULL,
    signature BYTEA NOT NULL,
    note TEXT NOT NULL
);

CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    institution TEXT,
    person_id BIGINT,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_person ON audit_events(person_id, at);
CREATE INDEX audit_events_at ON audit_events(at);

CREATE TABLE accounts (
    id BIGSERIAL PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    sealed BYTEA NOT NULL,
    role TEXT NOT NULL,
    institution TEXT,
    department TEXT,
    person_id BIGINT,
    password_hash TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);

CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    account_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    csrf BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_account ON sessions(account_id);
