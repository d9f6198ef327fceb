-- +goose Up
-- A self-service sign-up whose owner has not yet opened a link sent to the
-- address. Until then the password chosen at sign-up is refused and a
-- company's domain is not allowlisted, so nobody can squat an address or a
-- domain they do not read mail for. Users made by operators start confirmed.
ALTER TABLE users ADD COLUMN pending_confirmation BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE users DROP COLUMN pending_confirmation;
