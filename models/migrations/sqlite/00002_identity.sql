-- +goose Up
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'seat'));
ALTER TABLE users ADD COLUMN last_sign_in_at DATETIME;
ALTER TABLE users ADD COLUMN sign_in_count INTEGER NOT NULL DEFAULT 0;

-- A company's allowed email domains: a sign-in from one creates a seat.
CREATE TABLE company_domains (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    domain     TEXT   NOT NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX company_domains_domain_key ON company_domains (lower(domain));
CREATE INDEX company_domains_account_idx ON company_domains (account_id);

-- Web sessions. id is the SHA-256 of the cookie's secret, never the secret.
CREATE TABLE sessions (
    id           TEXT   PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at   DATETIME NOT NULL,
    last_seen_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    ip           TEXT   NOT NULL DEFAULT '',
    user_agent   TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Magic links and password resets: single use, short-lived, bound to an email.
CREATE TABLE login_tokens (
    token_hash TEXT   PRIMARY KEY,
    purpose    TEXT   NOT NULL CHECK (purpose IN ('magic_link', 'password_reset')),
    email      TEXT   NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at DATETIME NOT NULL,
    used_at    DATETIME
);
CREATE INDEX login_tokens_user_idx ON login_tokens (user_id);

-- Personal access tokens (CLI and scripts). Only the SHA-256 is stored.
CREATE TABLE personal_access_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    name         TEXT   NOT NULL,
    token_hash   TEXT   NOT NULL UNIQUE,
    display_hint TEXT   NOT NULL,
    scopes       TEXT   NOT NULL DEFAULT '',
    source       TEXT   NOT NULL DEFAULT 'web' CHECK (source IN ('web', 'device')),
    created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_used_at DATETIME,
    expires_at   DATETIME,
    revoked_at   DATETIME
);
CREATE INDEX personal_access_tokens_user_idx ON personal_access_tokens (user_id);

-- Device authorizations index the DeviceLogin workflows by user code; the
-- workflow holds the state. device_code_hash is the SHA-256 of the code.
CREATE TABLE device_authorizations (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    device_code_hash TEXT NOT NULL UNIQUE,
    user_code        TEXT NOT NULL UNIQUE,
    workflow_id      TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    device_name      TEXT NOT NULL DEFAULT '',
    ip               TEXT NOT NULL DEFAULT '',
    created_at       DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at       DATETIME NOT NULL
);

CREATE TABLE subscribers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    email      TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'invited')),
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    invited_at DATETIME
);
CREATE UNIQUE INDEX subscribers_email_key ON subscribers (lower(email));

-- Fixed-window rate-limit counters shared by every API process.
CREATE TABLE rate_limit_counters (
    key        TEXT   PRIMARY KEY,
    count      BIGINT NOT NULL,
    -- Unix milliseconds: compared as numbers on both databases.
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE rate_limit_counters;
DROP TABLE subscribers;
DROP TABLE device_authorizations;
DROP TABLE personal_access_tokens;
DROP TABLE login_tokens;
DROP TABLE sessions;
DROP TABLE company_domains;
-- SQLite (3.35+) drops columns without constraints only; role keeps its CHECK.
ALTER TABLE users DROP COLUMN sign_in_count;
ALTER TABLE users DROP COLUMN last_sign_in_at;
