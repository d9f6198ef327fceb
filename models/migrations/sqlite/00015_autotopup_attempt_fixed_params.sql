-- +goose Up
-- An attempt fixes what it charges when it is created: the card and
-- customer beside the amount. A retry, or the reconciliation of an outcome
-- nobody heard, repeats exactly that request under the same Idempotency-Key,
-- whatever the owner changed in the settings since.
ALTER TABLE auto_top_up_attempts ADD COLUMN customer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE auto_top_up_attempts ADD COLUMN payment_method_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE auto_top_up_attempts DROP COLUMN payment_method_id;
ALTER TABLE auto_top_up_attempts DROP COLUMN customer_id;
