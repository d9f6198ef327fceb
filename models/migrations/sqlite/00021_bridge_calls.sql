-- +goose Up
-- `moby call` places a bridge call: two rows, each its own Call workflow
-- and hold. Twilio rings the owner's verified phone (leg "owner") and, once
-- answered, dials the destination (leg "destination"). bridge_id is the
-- destination leg's call id, on both rows; browser calls keep ''.
ALTER TABLE calls ADD COLUMN bridge_id TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN leg TEXT NOT NULL DEFAULT '';
CREATE INDEX calls_bridge_id ON calls (bridge_id) WHERE bridge_id <> '';

-- +goose Down
DROP INDEX calls_bridge_id;
ALTER TABLE calls DROP COLUMN leg;
ALTER TABLE calls DROP COLUMN bridge_id;
