-- +goose Up
-- Device user codes are stored as their SHA-256, like every other secret.
-- Codes live ten minutes; those in flight at upgrade become unusable (their
-- CLI shows "expired" and the person runs `moby auth login` again).
ALTER TABLE device_authorizations RENAME COLUMN user_code TO user_code_hash;
UPDATE device_authorizations SET user_code_hash = 'retired-' || id;

-- +goose Down
UPDATE device_authorizations SET user_code_hash = 'retired-' || id;
ALTER TABLE device_authorizations RENAME COLUMN user_code_hash TO user_code;
