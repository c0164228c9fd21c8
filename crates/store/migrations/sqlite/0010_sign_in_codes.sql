-- Residents sign in with their phone and a code sent by SMS: one pending code per account,
-- kept as an Argon2id hash until it is used or expires. Wrong codes count as failed sign-ins.
CREATE TABLE sign_in_codes (
    account_id INTEGER PRIMARY KEY,
    code_hash TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
