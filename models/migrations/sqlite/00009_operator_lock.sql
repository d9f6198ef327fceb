-- +goose Up
-- Who disabled a user ("admin:7", "operator:ana", "user:42"). A company
-- admin may not re-enable a seat that Mobayilo's operators disabled.
ALTER TABLE users ADD COLUMN disabled_by TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN disabled_by;
