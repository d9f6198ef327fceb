-- +goose Up
-- A company's rented phone numbers, moved through their states by each
-- number's MonthlyNumberFee workflow, and the number each user calls with.
CREATE TABLE phone_numbers (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id        INTEGER NOT NULL REFERENCES accounts(id),
    e164              TEXT NOT NULL,
    country           TEXT NOT NULL DEFAULT '',
    twilio_sid        TEXT NOT NULL DEFAULT '',
    state             TEXT NOT NULL,
    monthly_fee_cents INTEGER NOT NULL CHECK (monthly_fee_cents > 0),
    anchor_at         DATETIME,
    paid_through      DATETIME,
    next_charge_at    DATETIME,
    suspended_at      DATETIME,
    grace_ends_at     DATETIME,
    released_at       DATETIME,
    last_error        TEXT NOT NULL DEFAULT '',
    bought_by         INTEGER NOT NULL REFERENCES users(id),
    created_at        DATETIME NOT NULL,
    updated_at        DATETIME NOT NULL
);
CREATE UNIQUE INDEX phone_numbers_live_e164 ON phone_numbers (e164) WHERE state IN ('purchasing', 'active', 'suspended');
CREATE INDEX phone_numbers_account_state ON phone_numbers (account_id, state);
ALTER TABLE users ADD COLUMN phone_number_id INTEGER REFERENCES phone_numbers(id);

-- +goose Down
ALTER TABLE users DROP COLUMN phone_number_id;
DROP TABLE phone_numbers;
