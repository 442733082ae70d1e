-- +goose Up
-- Re-authentication ("sudo mode", db/sudo.go) is kept with the session it
-- was given to, on the server: sudo_at is when this session last proved
-- its person again (NULL: never), and a new session starts without it.
-- A person without a password proves it with a code mailed to the account
-- email: its hash, expiry and wrong tries sit on the session that asked.
ALTER TABLE sessions ADD COLUMN sudo_at INTEGER;
ALTER TABLE sessions ADD COLUMN sudo_code_hash BLOB;
ALTER TABLE sessions ADD COLUMN sudo_code_expires_at INTEGER;
ALTER TABLE sessions ADD COLUMN sudo_code_attempts INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE sessions DROP COLUMN sudo_code_attempts;
ALTER TABLE sessions DROP COLUMN sudo_code_expires_at;
ALTER TABLE sessions DROP COLUMN sudo_code_hash;
ALTER TABLE sessions DROP COLUMN sudo_at;
