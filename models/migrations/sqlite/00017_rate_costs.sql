-- +goose Up
-- What Twilio charges us per minute for each destination prefix, recorded
-- by `mobayilo rates sync` (Twilio's Pricing API) next to our sell prices,
-- which the sync never changes. Millicents (1/1000 cent): Twilio quotes
-- sub-cent prices such as $0.0085. NULL: no Twilio price known yet.
ALTER TABLE rates ADD COLUMN twilio_cost_millicents INTEGER;
ALTER TABLE rates ADD COLUMN twilio_cost_synced_at DATETIME;

-- +goose Down
ALTER TABLE rates DROP COLUMN twilio_cost_synced_at;
ALTER TABLE rates DROP COLUMN twilio_cost_millicents;
