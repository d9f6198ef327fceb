-- +goose Up
-- One row per top-up through Stripe Checkout. The TopUp workflow owns the
-- status; the receipt columns are filled once, when the payment is credited.
CREATE TABLE top_ups (
    id                  TEXT PRIMARY KEY,
    account_id          INTEGER NOT NULL REFERENCES accounts(id),
    user_id             INTEGER NOT NULL REFERENCES users(id),
    amount_cents        INTEGER NOT NULL CHECK (amount_cents > 0),
    status              TEXT NOT NULL DEFAULT 'awaiting_payment'
                        CHECK (status IN ('awaiting_payment', 'succeeded', 'expired', 'failed')),
    save_card           BOOLEAN NOT NULL DEFAULT FALSE,
    checkout_session_id TEXT NOT NULL DEFAULT '',
    checkout_url        TEXT NOT NULL DEFAULT '',
    expires_at          DATETIME,
    payment_intent_id   TEXT NOT NULL DEFAULT '',
    card_brand          TEXT NOT NULL DEFAULT '',
    card_last4          TEXT NOT NULL DEFAULT '',
    ledger_entry_id     INTEGER,
    failure_reason      TEXT NOT NULL DEFAULT '',
    receipt_emailed_at  DATETIME,
    paid_at             DATETIME,
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME NOT NULL
);
CREATE INDEX top_ups_account_created ON top_ups (account_id, created_at DESC);
CREATE UNIQUE INDEX top_ups_checkout_session ON top_ups (checkout_session_id) WHERE checkout_session_id <> '';
-- A PaymentIntent pays for one top-up, never two.
CREATE UNIQUE INDEX top_ups_payment_intent ON top_ups (payment_intent_id) WHERE payment_intent_id <> '';

-- Every Stripe event id we accepted; a redelivery finds its row and does
-- no work.
CREATE TABLE stripe_events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    object_id   TEXT NOT NULL DEFAULT '',
    received_at DATETIME NOT NULL
);

-- The Stripe customer of each account, made once.
CREATE TABLE stripe_customers (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts(id),
    customer_id TEXT NOT NULL UNIQUE,
    created_at  DATETIME NOT NULL
);

-- +goose Down
DROP TABLE stripe_customers;
DROP TABLE stripe_events;
DROP TABLE top_ups;
