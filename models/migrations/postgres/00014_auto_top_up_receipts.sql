-- +goose Up
-- The receipt of each credited auto top-up, one per PaymentIntent (the key
-- its ledger credit uses too). Top-up receipts live on their top_ups row.
CREATE TABLE auto_top_up_receipts (
    id                TEXT PRIMARY KEY,
    account_id        BIGINT NOT NULL REFERENCES accounts(id),
    attempt_id        TEXT NOT NULL,
    payment_intent_id TEXT NOT NULL UNIQUE CHECK (payment_intent_id <> ''),
    amount_cents      BIGINT NOT NULL CHECK (amount_cents > 0),
    card_brand        TEXT NOT NULL DEFAULT '',
    card_last4        TEXT NOT NULL DEFAULT '',
    paid_at           TIMESTAMPTZ NOT NULL,
    emailed_at        TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX auto_top_up_receipts_account_paid ON auto_top_up_receipts (account_id, paid_at DESC);

-- +goose Down
DROP TABLE auto_top_up_receipts;
