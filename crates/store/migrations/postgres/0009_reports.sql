-- Evaluation reports (评估报告): every generated report is kept, rendered; a scheduled one is
-- unique per period and scope so several servers generate it once.
CREATE TABLE reports (
    id BIGSERIAL PRIMARY KEY,
    period TEXT NOT NULL,
    scope TEXT NOT NULL,
    scheduled INTEGER NOT NULL,
    generated_at BIGINT NOT NULL,
    generated_by TEXT NOT NULL,
    summary TEXT NOT NULL,
    html TEXT NOT NULL,
    pdf BYTEA
);
CREATE UNIQUE INDEX reports_scheduled ON reports(period, scope) WHERE scheduled = 1;
CREATE INDEX reports_period ON reports(period, id);

-- Each institution's integration test (联调测试) for the roll-out.
CREATE TABLE integration_tests (
    institution TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    note TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

-- The monitoring pages read the last hour of submissions and grants across institutions.
CREATE INDEX submissions_received ON submissions(received_at);
CREATE INDEX grants_created ON grants(created_at);
