-- +goose Up
-- The sandbox's authentication page, and operators, find an auto top-up
-- attempt by the PaymentIntent it created.
CREATE INDEX auto_top_up_attempts_payment_intent_idx ON auto_top_up_attempts (payment_intent_id);

-- +goose Down
DROP INDEX auto_top_up_attempts_payment_intent_idx;
