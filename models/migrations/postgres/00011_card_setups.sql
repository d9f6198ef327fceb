-- +goose Up
-- One row per "save a card" through Stripe Checkout in setup mode. The
-- SaveCard workflow owns the status; the webhook and the sandbox checkout
-- page find the row by id (metadata.setup_id) or by checkout session. The
-- card itself stays at Stripe; brand and last 4 digits are for showing.
CREATE TABLE card_setups (
    id                  TEXT PRIMARY KEY,
    account_id          BIGINT NOT NULL REFERENCES accounts(id),
    user_id             BIGINT NOT NULL REFERENCES users(id),
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'saved', 'expired', 'failed')),
    checkout_session_id TEXT NOT NULL DEFAULT '',
    checkout_url        TEXT NOT NULL DEFAULT '',
    expires_at          TIMESTAMPTZ,
    setup_intent_id     TEXT NOT NULL DEFAULT '',
    card_brand          TEXT NOT NULL DEFAULT '',
    card_last4          TEXT NOT NULL DEFAULT '',
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX card_setups_account_created ON card_setups (account_id, created_at DESC);
CREATE UNIQUE INDEX card_setups_checkout_session ON card_setups (checkout_session_id) WHERE checkout_session_id <> '';

-- +goose Down
DROP TABLE card_setups;
