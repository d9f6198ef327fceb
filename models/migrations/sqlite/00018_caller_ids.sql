-- +goose Up
-- An individual's own caller IDs: one row per account and number, moved
-- through its states by that number's CallerIDVerification workflow. A
-- verified row is the caller ID the account's calls go out with.
CREATE TABLE caller_ids (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    user_id          INTEGER NOT NULL REFERENCES users(id),
    e164             TEXT NOT NULL,
    country          TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL,
    -- verification_sid is Twilio Verify's reference of the SMS code sent.
    verification_sid TEXT NOT NULL DEFAULT '',
    attempts         INTEGER NOT NULL DEFAULT 0,
    verified_at      DATETIME,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL,
    UNIQUE (account_id, e164)
);
CREATE INDEX caller_ids_account_state ON caller_ids (account_id, state);

-- +goose Down
DROP TABLE caller_ids;
