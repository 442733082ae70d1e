-- +goose Up
-- An account may require two-factor authentication of its members
-- (db/accounts.go SetRequireTwoFactor): a member without a second factor
-- (db.Factors.Any) cannot open the account until they turn one on.
ALTER TABLE accounts ADD COLUMN require_two_factor INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE accounts DROP COLUMN require_two_factor;
