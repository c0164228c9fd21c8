-- Data governance: returns of what failed quality rules (质控退还), quality figures kept per
-- institution, day and category as data arrives, reconciliation results (对账), rule sets and
-- their re-checks. Entries get an index by source and receipt time for reconciliation (receipt
-- time grows as entries arrive, so the index is appended to, not written all over).

CREATE TABLE returns (
    id INTEGER PRIMARY KEY,
    institution TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    source_id TEXT NOT NULL,
    category INTEGER,
    origin TEXT NOT NULL,
    status TEXT NOT NULL,
    rules TEXT NOT NULL,
    findings TEXT NOT NULL,
    rule_set TEXT NOT NULL,
    first_submission_id INTEGER,
    submission_id INTEGER,
    attempts INTEGER NOT NULL,
    opened_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    closed_at INTEGER,
    closed_submission_id INTEGER,
    correction TEXT
);
-- At most one open return per resource: failing again updates it.
CREATE UNIQUE INDEX returns_open ON returns(institution, resource_type, source_id) WHERE status = 'open';
CREATE INDEX returns_institution ON returns(institution, updated_at, id);
CREATE INDEX returns_status ON returns(status, opened_at);

CREATE TABLE quality_daily (
    institution TEXT NOT NULL,
    day INTEGER NOT NULL,
    category INTEGER NOT NULL,
    city TEXT NOT NULL,
    received INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    returned INTEGER NOT NULL,
    incomplete INTEGER NOT NULL,
    invalid INTEGER NOT NULL,
    inconsistent INTEGER NOT NULL,
    late INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    timed INTEGER NOT NULL,
    lag_seconds INTEGER NOT NULL,
    lag_1h INTEGER NOT NULL,
    lag_1d INTEGER NOT NULL,
    lag_3d INTEGER NOT NULL,
    lag_7d INTEGER NOT NULL,
    lag_30d INTEGER NOT NULL,
    lag_more INTEGER NOT NULL,
    PRIMARY KEY (institution, day, category)
) WITHOUT ROWID;
CREATE INDEX quality_daily_city ON quality_daily(city, day);

CREATE TABLE reconciliations (
    id INTEGER PRIMARY KEY,
    institution TEXT NOT NULL,
    day INTEGER NOT NULL,
    category INTEGER,
    submitted_at INTEGER NOT NULL,
    submitted_by TEXT NOT NULL,
    listed INTEGER NOT NULL,
    held INTEGER NOT NULL,
    matched INTEGER NOT NULL,
    missing INTEGER NOT NULL,
    extra INTEGER NOT NULL,
    differing INTEGER NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX reconciliations_institution ON reconciliations(institution, id);

CREATE TABLE rule_sets (
    version TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    trial TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    activated_at INTEGER,
    recheck_total INTEGER NOT NULL DEFAULT 0,
    recheck_done INTEGER NOT NULL DEFAULT 0,
    recheck_returned INTEGER NOT NULL DEFAULT 0,
    recheck_after INTEGER NOT NULL DEFAULT 0,
    recheck_finished_at INTEGER
);
-- One active rule set, even when two are activated at once.
CREATE UNIQUE INDEX rule_sets_active ON rule_sets(status) WHERE status = 'active';

CREATE INDEX entries_source_received ON entries(institution, collected_at);
