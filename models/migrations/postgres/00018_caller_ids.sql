-- +goose Up
-- An individual's own caller IDs: one row per account and number, moved
-- through its states by that number's CallerIDVerification workflow. A
-- verified row is the caller ID the account's calls go out with.
CREATE TABLE caller_ids (
    id               BIGSERIAL PRIMARY KEY,
    account_id       BIGINT NOT NULL REFERENCES accounts(id),
    user_id          BIGINT NOT NULL REFERENCES users(id),
    e164             TEXT NOT NULL,
    country          TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL,
    -- verification_sid is Twilio Verify's reference of the SMS code sent.
    verification_sid TEXT NOT NULL DEFAULT '',
    attempts         BIGINT NOT NULL DEFAULT 0,
    verified_at      TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, e164)
);
CREATE INDEX caller_ids_account_state ON caller_ids (account_id, state);

-- +goose Down
DROP TABLE caller_ids;
