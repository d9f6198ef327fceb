-- +goose Up
-- A company's rented phone numbers, moved through their states by each
-- number's MonthlyNumberFee workflow, and the number each user calls with.
CREATE TABLE phone_numbers (
    id                BIGSERIAL PRIMARY KEY,
    account_id        BIGINT NOT NULL REFERENCES accounts(id),
    e164              TEXT NOT NULL,
    country           TEXT NOT NULL DEFAULT '',
    twilio_sid        TEXT NOT NULL DEFAULT '',
    state             TEXT NOT NULL,
    monthly_fee_cents BIGINT NOT NULL CHECK (monthly_fee_cents > 0),
    anchor_at         TIMESTAMPTZ,
    paid_through      TIMESTAMPTZ,
    next_charge_at    TIMESTAMPTZ,
    suspended_at      TIMESTAMPTZ,
    grace_ends_at     TIMESTAMPTZ,
    released_at       TIMESTAMPTZ,
    last_error        TEXT NOT NULL DEFAULT '',
    bought_by         BIGINT NOT NULL REFERENCES users(id),
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
-- One live row per number: a released or never-bought number may be
-- bought again.
CREATE UNIQUE INDEX phone_numbers_live_e164 ON phone_numbers (e164) WHERE state IN ('purchasing', 'active', 'suspended');
CREATE INDEX phone_numbers_account_state ON phone_numbers (account_id, state);
ALTER TABLE users ADD COLUMN phone_number_id BIGINT REFERENCES phone_numbers(id);

-- +goose Down
ALTER TABLE users DROP COLUMN phone_number_id;
DROP TABLE phone_numbers;
