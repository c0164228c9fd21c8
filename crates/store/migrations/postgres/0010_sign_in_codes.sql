-- Residents sign in with their phone and a code sent by SMS: one pending code per account,
-- kept as an Argon2id hash until it is used, tried too often, or expires. The row stays (its
-- code spent) to count the day's sends.
CREATE TABLE sign_in_codes (
    account_id BIGINT PRIMARY KEY,
    code_hash TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    count_day INTEGER NOT NULL,
    sent_count INTEGER NOT NULL DEFAULT 1
);
