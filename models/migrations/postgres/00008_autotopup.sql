-- +goose Up
-- One row per account: the owner's opt-in, limits and saved card for off-
-- session auto top-ups. The card itself stays at Stripe; we keep its id,
-- brand and last 4 digits to show it.
CREATE TABLE auto_top_up_settings (
    id                BIGSERIAL PRIMARY KEY,
    account_id        BIGINT  NOT NULL REFERENCES accounts(id),
    enabled           BOOLEAN NOT NULL DEFAULT FALSE,
    threshold_cents   BIGINT  NOT NULL DEFAULT 200 CHECK (threshold_cents >= 0),
    amount_cents      BIGINT  NOT NULL DEFAULT 2000 CHECK (amount_cents > 0),
    daily_max_count   INTEGER NOT NULL DEFAULT 3 CHECK (daily_max_count > 0),
    daily_max_cents   BIGINT  NOT NULL DEFAULT 6000 CHECK (daily_max_cents > 0),
    customer_id       TEXT    NOT NULL DEFAULT '',
    payment_method_id TEXT    NOT NULL DEFAULT '',
    card_brand        TEXT    NOT NULL DEFAULT '',
    card_last4        TEXT    NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Enabled needs a card: the database refuses an opt-in with nothing to charge.
    CHECK (NOT enabled OR payment_method_id <> '')
);
CREATE UNIQUE INDEX auto_top_up_settings_account_key ON auto_top_up_settings (account_id);

-- One row per off-session charge attempt. attempt_id is derived from the
-- AutoTopUp workflow's state and is also Stripe's Idempotency-Key, so a
-- retried activity finds its row and Stripe returns the same PaymentIntent.
CREATE TABLE auto_top_up_attempts (
    id                BIGSERIAL PRIMARY KEY,
    attempt_id        TEXT   NOT NULL,
    account_id        BIGINT NOT NULL REFERENCES accounts(id),
    amount_cents      BIGINT NOT NULL CHECK (amount_cents > 0),
    status            TEXT   NOT NULL CHECK (status IN ('charging', 'succeeded', 'soft_decline', 'hard_decline', 'needs_authentication', 'error')),
    decline_code      TEXT   NOT NULL DEFAULT '',
    message           TEXT   NOT NULL DEFAULT '',
    payment_intent_id TEXT   NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX auto_top_up_attempts_attempt_key ON auto_top_up_attempts (attempt_id);
CREATE INDEX auto_top_up_attempts_account_idx ON auto_top_up_attempts (account_id, id);

-- +goose Down
DROP TABLE auto_top_up_attempts;
DROP TABLE auto_top_up_settings;
