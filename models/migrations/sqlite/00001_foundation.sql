-- +goose Up
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL CHECK (kind IN ('individual', 'company')),
    name          TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    balance_cents INTEGER NOT NULL DEFAULT 0,
    held_cents    INTEGER NOT NULL DEFAULT 0 CHECK (held_cents >= 0),
    created_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL DEFAULT '',
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_account_id_idx ON users (account_id);

CREATE TABLE holds (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    amount_cents    INTEGER NOT NULL CHECK (amount_cents > 0),
    status          TEXT    NOT NULL CHECK (status IN ('active', 'captured', 'released')),
    idempotency_key TEXT    NOT NULL UNIQUE,
    reference       TEXT    NOT NULL DEFAULT '',
    entry_id        INTEGER,
    created_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    settled_at      DATETIME
);
CREATE INDEX holds_active_idx ON holds (account_id) WHERE status = 'active';

CREATE TABLE ledger_entries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    kind            TEXT    NOT NULL CHECK (kind IN ('topup', 'auto_topup', 'call_charge', 'number_fee', 'refund', 'bonus', 'adjustment')),
    amount_cents    INTEGER NOT NULL CHECK (amount_cents <> 0),
    balance_after   INTEGER NOT NULL,
    idempotency_key TEXT    NOT NULL,
    call_ref        TEXT    NOT NULL DEFAULT '',
    top_up_ref      TEXT    NOT NULL DEFAULT '',
    number_ref      TEXT    NOT NULL DEFAULT '',
    hold_id         INTEGER REFERENCES holds(id),
    actor           TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX ledger_entries_idempotency_key ON ledger_entries (idempotency_key);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id, id);

-- Entries are immutable: corrections are new entries, never edits.
-- +goose StatementBegin
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries are immutable: UPDATE refused');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries are immutable: DELETE refused');
END;
-- +goose StatementEnd

CREATE TABLE audit_logs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    details    TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE rates (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    prefix           TEXT    NOT NULL UNIQUE,
    iso              TEXT    NOT NULL,
    country          TEXT    NOT NULL,
    destination      TEXT    NOT NULL,
    individual_cents INTEGER NOT NULL CHECK (individual_cents > 0),
    company_cents    INTEGER NOT NULL CHECK (company_cents > 0),
    updated_at       DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX rates_iso_idx ON rates (iso);

-- +goose Down
DROP TABLE rates;
DROP TABLE audit_logs;
DROP TABLE ledger_entries;
DROP TABLE holds;
DROP TABLE users;
DROP TABLE accounts;
