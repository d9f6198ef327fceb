-- +goose Up
-- Calling. A call is authorised (its hold placed), claimed once by Twilio's
-- voice webhook, driven by status callbacks and settled exactly once by its
-- Call workflow. Its status only moves forward (rank).
CREATE TABLE calls (
    id                     TEXT PRIMARY KEY,
    account_id             BIGINT NOT NULL REFERENCES accounts(id),
    user_id                BIGINT NOT NULL REFERENCES users(id),
    seat                   BOOLEAN NOT NULL DEFAULT FALSE,
    identity               TEXT NOT NULL,
    to_e164                TEXT NOT NULL,
    to_national            TEXT NOT NULL DEFAULT '',
    to_country             TEXT NOT NULL DEFAULT '',
    caller_id              TEXT NOT NULL,
    price_per_minute_cents BIGINT NOT NULL CHECK (price_per_minute_cents > 0),
    max_minutes            BIGINT NOT NULL CHECK (max_minutes > 0),
    hold_id                BIGINT,
    status                 TEXT NOT NULL,
    rank                   BIGINT NOT NULL DEFAULT 0,
    twilio_call_sid        TEXT NOT NULL DEFAULT '',
    twilio_child_sid       TEXT NOT NULL DEFAULT '',
    claimed_at             TIMESTAMPTZ,
    answered_at            TIMESTAMPTZ,
    ended_at               TIMESTAMPTZ,
    duration_seconds       BIGINT,
    billed_minutes         BIGINT,
    cost_cents             BIGINT,
    ledger_entry_id        BIGINT,
    reconcile_reason       TEXT NOT NULL DEFAULT '',
    expires_at             TIMESTAMPTZ NOT NULL,
    created_at             TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL
);
CREATE INDEX calls_account_created ON calls (account_id, created_at DESC);
CREATE INDEX calls_user_created ON calls (user_id, created_at DESC);
CREATE INDEX calls_child_sid ON calls (twilio_child_sid);

-- Every status callback Twilio sent, as received: duplicates and late ones
-- included (they are acknowledged, never lost).
CREATE TABLE call_events (
    id               BIGSERIAL PRIMARY KEY,
    call_id          TEXT NOT NULL REFERENCES calls(id),
    call_sid         TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    sequence_number  BIGINT NOT NULL DEFAULT -1,
    duration_seconds BIGINT,
    received_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX call_events_call ON call_events (call_id, id);

-- A company admin's optional daily spend cap per seat.
ALTER TABLE users ADD COLUMN daily_spend_cap_cents BIGINT;

-- +goose Down
ALTER TABLE users DROP COLUMN daily_spend_cap_cents;
DROP TABLE call_events;
DROP TABLE calls;
