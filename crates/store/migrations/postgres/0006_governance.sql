-- Data governance: returns of what failed quality rules (质控退还), quality figures kept per
-- institution, day and category as data arrives, reconciliation results (对账), rule sets and
-- their re-checks. Entries get an index by source and receipt time for reconciliation (receipt
-- time grows as entries arrive, so the index is appended to, not written all over).

CREATE TABLE returns (
    id BIGSERIAL PRIMARY KEY,
    institution TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    source_id TEXT NOT NULL,
    category SMALLINT,
    origin TEXT NOT NULL,
    status TEXT NOT NULL,
    rules TEXT NOT NULL,
    findings TEXT NOT NULL,
    rule_set TEXT NOT NULL,
    first_submission_id BIGINT,
    submission_id BIGINT,
    attempts INTEGER NOT NULL,
    opened_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    closed_at BIGINT,
    closed_submission_id BIGINT,
    correction TEXT
);
-- At most one open return per resource: failing again updates it.
CREATE UNIQUE INDEX returns_open ON returns(institution, resource_type, source_id) WHERE status = 'open';
CREATE INDEX returns_institution ON returns(institution, updated_at, id);
CREATE INDEX returns_status ON returns(status, opened_at);

CREATE TABLE quality_daily (
    -- Byte order, whatever the cluster's locale: the cities' rollup rows are the range
    -- 'city:' to 'city;', which a linguistic collation would not keep together.
    institution TEXT COLLATE "C" NOT NULL,
    day INTEGER NOT NULL,
    category SMALLINT NOT NULL,
    city TEXT NOT NULL,
    received BIGINT NOT NULL,
    accepted BIGINT NOT NULL,
    returned BIGINT NOT NULL,
    incomplete BIGINT NOT NULL,
    invalid BIGINT NOT NULL,
    inconsistent BIGINT NOT NULL,
    late BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    timed BIGINT NOT NULL,
    lag_seconds BIGINT NOT NULL,
    lag_1h BIGINT NOT NULL,
    lag_1d BIGINT NOT NULL,
    lag_3d BIGINT NOT NULL,
    lag_7d BIGINT NOT NULL,
    lag_30d BIGINT NOT NULL,
    lag_more BIGINT NOT NULL,
    PRIMARY KEY (institution, day, category)
);
CREATE INDEX quality_daily_city ON quality_daily(city, day);

CREATE TABLE reconciliations (
    id BIGSERIAL PRIMARY KEY,
    institution TEXT NOT NULL,
    day INTEGER NOT NULL,
    category SMALLINT,
    submitted_at BIGINT NOT NULL,
    submitted_by TEXT NOT NULL,
    listed BIGINT NOT NULL,
    held BIGINT NOT NULL,
    matched BIGINT NOT NULL,
    missing BIGINT NOT NULL,
    extra BIGINT NOT NULL,
    differing BIGINT NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX reconciliations_institution ON reconciliations(institution, id);

CREATE TABLE rule_sets (
    version TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    trial TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    activated_at BIGINT,
    recheck_total BIGINT NOT NULL DEFAULT 0,
    recheck_done BIGINT NOT NULL DEFAULT 0,
    recheck_returned BIGINT NOT NULL DEFAULT 0,
    recheck_after BIGINT NOT NULL DEFAULT 0,
    recheck_finished_at BIGINT
);
-- One active rule set, even when two are activated at once.
CREATE UNIQUE INDEX rule_sets_active ON rule_sets(status) WHERE status = 'active';

CREATE INDEX entries_source_received ON entries(institution, collected_at);
