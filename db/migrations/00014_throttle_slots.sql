-- +goose Up
-- One limiter for every throttle (db/throttle.go): a row is one slot taken
-- under key until expires_at. Reserve counts and inserts in one write
-- transaction, so concurrent callers, in any process, serialize on SQLite's
-- single writer. It replaces login_failures, whose rows were counted after
-- the work they guarded and had no expiry of their own.
CREATE TABLE throttle_slots (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX throttle_slots_key ON throttle_slots(key, expires_at);
CREATE INDEX throttle_slots_expiry ON throttle_slots(expires_at);
-- Failures of the last 15 minutes keep counting (the sign-in window).
INSERT INTO throttle_slots (key, created_at, expires_at)
    SELECT 'signin:' || key, created_at, created_at + 900 FROM login_failures;
DROP TABLE login_failures;

-- +goose Down
CREATE TABLE login_failures (
    key        TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX login_failures_key ON login_failures(key, created_at);
INSERT INTO login_failures (key, created_at)
    SELECT substr(key, 8), created_at FROM throttle_slots WHERE key LIKE 'signin:%';
DROP TABLE throttle_slots;
