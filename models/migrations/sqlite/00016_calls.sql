-- +goose Up
-- Calling. A call is authorised (its hold placed), claimed once by Twilio's
-- voice webhook, driven by status callbacks and settled exactly once by its
-- Call workflow. Its status only moves forward (rank).
CREATE TABLE calls (
    id                     TEXT PRIMARY KEY,
    account_id             INTEGER NOT NULL REFERENCES accounts(id),
    user_id                INTEGER NOT NULL REFERENCES users(id),
    seat                   BOOLEAN NOT NULL DEFAULT FALSE,
    identity               TEXT NOT NULL,
    to_e164                TEXT NOT NULL,
    to_national            TEXT NOT NULL DEFAULT '',
    to_country             TEXT NOT NULL DEFAULT '',
    caller_id              TEXT NOT NULL,
    price_per_minute_cents INTEGER NOT NULL CHECK (price_per_minute_cents > 0),
    max_minutes            INTEGER NOT NULL CHECK (max_minutes > 0),
    hold_id                INTEGER,
    status                 TEXT NOT NULL,
    rank                   INTEGER NOT NULL DEFAULT 0,
    twilio_call_sid        TEXT NOT NULL DEFAULT '',
    twilio_child_sid       TEXT NOT NULL DEFAULT '',
    claimed_at             DATETIME,
    answered_at            DATETIME,
    ended_at               DATETIME,
    duration_seconds       INTEGER,
    billed_minutes         INTEGER,
    cost_cents             INTEGER,
    ledger_entry_id        INTEGER,
    reconcile_reason       TEXT NOT NULL DEFAULT '',
    expires_at             DATETIME NOT NULL,
    created_at             DATETIME NOT NULL,
    updated_at             DATETIME NOT NULL
);
CREATE INDEX calls_account_created ON calls (account_id, created_at DESC);
CREATE INDEX calls_user_created ON calls (user_id, created_at DESC);
CREATE INDEX calls_child_sid ON calls (twilio_child_sid);

-- Every status callback Twilio sent, as received: duplicates and late ones
-- included (they are acknowledged, never lost).
CREATE TABLE call_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id          TEXT NOT NULL REFERENCES calls(id),
    call_sid         TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    sequence_number  INTEGER NOT NULL DEFAULT -1,
    duration_seconds INTEGER,
    received_at      DATETIME NOT NULL
);
CREATE INDEX call_events_call ON call_events (call_id, id);

-- A company admin's optional daily spend cap per seat.
ALTER TABLE users ADD COLUMN daily_spend_cap_cents INTEGER;

-- +goose Down
ALTER TABLE users DROP COLUMN daily_spend_cap_cents;
DROP TABLE call_events;
DROP TABLE calls;
