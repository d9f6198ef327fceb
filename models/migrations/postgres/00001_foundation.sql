-- +goose Up
CREATE TABLE accounts (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT   NOT NULL CHECK (kind IN ('individual', 'company')),
    name          TEXT   NOT NULL,
    status        TEXT   NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    balance_cents BIGINT NOT NULL DEFAULT 0,
    held_cents    BIGINT NOT NULL DEFAULT 0 CHECK (held_cents >= 0),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts(id),
    email         TEXT   NOT NULL,
    password_hash TEXT   NOT NULL DEFAULT '',
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    status        TEXT   NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_account_id_idx ON users (account_id);

CREATE TABLE holds (
    id              BIGSERIAL PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES accounts(id),
    amount_cents    BIGINT NOT NULL CHECK (amount_cents > 0),
    status          TEXT   NOT NULL CHECK (status IN ('active', 'captured', 'released')),
    idempotency_key TEXT   NOT NULL UNIQUE,
    reference       TEXT   NOT NULL DEFAULT '',
    entry_id        BIGINT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    settled_at      TIMESTAMPTZ
);
CREATE INDEX holds_active_idx ON holds (account_id) WHERE status = 'active';

CREATE TABLE ledger_entries (
    id              BIGSERIAL PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES accounts(id),
    kind            TEXT   NOT NULL CHECK (kind IN ('topup', 'auto_topup', 'call_charge', 'number_fee', 'refund', 'bonus', 'adjustment')),
    amount_cents    BIGINT NOT NULL CHECK (amount_cents <> 0),
    balance_after   BIGINT NOT NULL,
    idempotency_key TEXT   NOT NULL,
    call_ref        TEXT   NOT NULL DEFAULT '',
    top_up_ref      TEXT   NOT NULL DEFAULT '',
    number_ref      TEXT   NOT NULL DEFAULT '',
    hold_id         BIGINT REFERENCES holds(id),
    actor           TEXT   NOT NULL,
    description     TEXT   NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX ledger_entries_idempotency_key ON ledger_entries (idempotency_key);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id, id);

-- Entries are immutable: corrections are new entries, never edits.
-- +goose StatementBegin
CREATE FUNCTION ledger_entries_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries are immutable: % refused', TG_OP;
END
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER ledger_entries_no_update_delete
    BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_immutable();
CREATE TRIGGER ledger_entries_no_truncate
    BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_immutable();

CREATE TABLE audit_logs (
    id         BIGSERIAL PRIMARY KEY,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    details    TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE rates (
    id               BIGSERIAL PRIMARY KEY,
    prefix           TEXT   NOT NULL UNIQUE,
    iso              TEXT   NOT NULL,
    country          TEXT   NOT NULL,
    destination      TEXT   NOT NULL,
    individual_cents BIGINT NOT NULL CHECK (individual_cents > 0),
    company_cents    BIGINT NOT NULL CHECK (company_cents > 0),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX rates_iso_idx ON rates (iso);

-- +goose Down
DROP TABLE rates;
DROP TABLE audit_logs;
DROP TABLE ledger_entries;
DROP FUNCTION ledger_entries_immutable();
DROP TABLE holds;
DROP TABLE users;
DROP TABLE accounts;
